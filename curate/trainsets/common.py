"""Pieces shared by the training-set builders: counts by reason, splits, configs.

- :class:`BuildReport` counts what came in, what went out and what was filtered by reason, in the
  shape of the run manifest's ``counts`` (``{in, out, quarantined, filtered}``).
- :func:`assign_split` puts a unit (a translation pair, a document pair) in train, validation or
  test by hashing a stable key, so both directions or all windows of one pair share a split.
- :func:`config_from_dict` builds a config dataclass from a recipe mapping and rejects unknown
  keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from curate.errors import UserError

SPLITS = ("train", "validation", "test")


@dataclass
class BuildReport:
    """Counts of one builder call. ``n_in == n_kept + sum(filtered.values())`` always holds."""

    stage: str
    n_in: int = 0
    n_kept: int = 0
    n_out: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    stats: dict[str, Any] = field(default_factory=dict)

    def filter(self, reason: str, n: int = 1) -> None:
        self.filtered[reason] += n

    def check(self) -> None:
        """Raise if an input was neither kept nor counted as filtered (a builder bug)."""
        accounted = self.n_kept + sum(self.filtered.values())
        if accounted != self.n_in:
            raise AssertionError(
                f"{self.stage}: {self.n_in} in, but {self.n_kept} kept + "
                f"{sum(self.filtered.values())} filtered"
            )

    def to_counts(self) -> dict[str, Any]:
        """The run manifest's ``counts`` entry for this stage."""
        return {
            "in": self.n_in,
            "out": self.n_out,
            "quarantined": {},
            "filtered": dict(sorted(self.filtered.items())),
        }


@dataclass
class BuildResult:
    """Samples (``training_samples`` rows), filter decisions (``id``, ``reason``) and counts."""

    samples: list[dict[str, Any]]
    filtered: list[dict[str, Any]]
    report: BuildReport


def assign_split(key: str, validation_fraction: float, test_fraction: float, seed: int = 0) -> str:
    """``train``, ``validation`` or ``test`` for ``key``, stable across runs and machines."""
    if validation_fraction <= 0 and test_fraction <= 0:
        return "train"
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + validation_fraction:
        return "validation"
    return "train"


def check_split_fractions(validation_fraction: float, test_fraction: float) -> None:
    if not (0 <= validation_fraction < 1 and 0 <= test_fraction < 1):
        raise UserError("split fractions must be in [0, 1)")
    if validation_fraction + test_fraction >= 1:
        raise UserError("validation_fraction + test_fraction must be below 1")


C = TypeVar("C")


def config_from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
    """Build the dataclass ``cls`` from a recipe mapping; unknown keys are an error."""
    data = dict(data or {})
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise UserError(
            f"unknown option(s) for {cls.__name__}: {', '.join(unknown)}",
            hint=f"known options: {', '.join(sorted(names))}",
        )
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data and isinstance(data[f.name], list):
            data[f.name] = tuple(data[f.name])
    try:
        return cls(**data)
    except TypeError as exc:
        raise UserError(f"bad options for {cls.__name__}: {exc}") from None
