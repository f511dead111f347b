"""Projection options from a mapping (a recipe's ``project.options``, ``--options`` YAML).

The options are the fields of :class:`~curate.project.alignment.ProjectionConfig` (method
``alignment``) or :class:`~curate.project.markers.MarkerConfig` (``marker``). They are checked
with pydantic against the dataclass's own field types, so a misspelt key or a value of the
wrong type is one readable error before anything runs, and nested options come back as their
types (``consistency: {min_count: 3}`` as a ``ConsistencyConfig``, a list of ``trim_words`` as
a frozenset).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from curate.errors import UserError
from curate.project.alignment import ProjectionConfig
from curate.project.markers import MarkerConfig

CONFIGS: dict[str, type] = {"alignment": ProjectionConfig, "marker": MarkerConfig}


@functools.cache
def _model(cls: type) -> type[BaseModel]:
    """A pydantic model with the fields of the dataclass ``cls`` (unknown keys forbidden)."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = None if f.default is dataclasses.MISSING else f.default
        fields[f.name] = (hints[f.name], default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{cls.__name__}Options", __config__=config, **fields)


def projection_config(method: str, options: dict[str, Any] | None) -> Any:
    """The config of projection ``method`` built from ``options``; a UserError naming the
    option for an unknown key, a wrong type or a value the config refuses."""
    if method not in CONFIGS:
        raise UserError(
            f"unknown projection method {method!r}", hint=f"one of {', '.join(CONFIGS)}"
        )
    cls = CONFIGS[method]
    options = dict(options or {})
    try:
        checked = _model(cls).model_validate(options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            if error["type"] == "extra_forbidden":
                problems.append(f"{where}: unknown option")
            else:
                problems.append(f"{where}: {error['msg']}")
        known = ", ".join(f.name for f in dataclasses.fields(cls))
        raise UserError(
            f"{method} projection options: {'; '.join(problems)}", hint=f"known options: {known}"
        ) from None
    values = {name: getattr(checked, name) for name in options}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{method} projection options: {exc}") from None
