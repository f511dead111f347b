"""Word aligners found by name, each with a version recorded in the output's ``method``.

An aligner is built from its name and options (``get_aligner("eflomal",
symmetrize="grow-diag-final-and")``); unknown names and unknown options are errors, not
silently ignored. Every aligner has the same batch API::

    aligner.align(pairs: list[tuple[list[str], list[str]]]) -> list[list[tuple[int, int]]]

returning 0-based ``(source word, target word)`` links per pair, and a ``method`` string such
as ``eflomal-v1/grow-diag-final-and`` that goes into the ``alignments.method`` column. A change
of behaviour of an aligner gets a new version so earlier outputs stay identifiable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from curate.errors import UserError

Link = tuple[int, int]
TokenPair = tuple[Sequence[str], Sequence[str]]


@runtime_checkable
class WordAligner(Protocol):
    """What every registered aligner provides."""

    name: str
    version: str

    @property
    def method(self) -> str: ...

    def align(self, pairs: Sequence[TokenPair]) -> list[list[Link]]: ...


_REGISTRY: dict[str, tuple[str, Callable[..., WordAligner], type | None]] = {}


def register_aligner(name: str, version: str, config: type | None = None):
    """Class decorator: make an aligner available as ``name``.

    ``config`` is the aligner's options dataclass; ``get_aligner`` checks option names against
    its fields before constructing anything.
    """

    def wrap(factory: Callable[..., WordAligner]) -> Callable[..., WordAligner]:
        _REGISTRY[name] = (version, factory, config)
        return factory

    return wrap


def available_aligners() -> dict[str, str]:
    """Registered aligner names and their current versions."""
    _load_builtin()
    return {name: version for name, (version, _, _) in sorted(_REGISTRY.items())}


def _load_builtin() -> None:
    # Import for the registration side effect; simalign's module imports torch only when used.
    from curate.align import eflomal, simalign_batched  # noqa: F401


def get_aligner(name: str, **options: Any) -> WordAligner:
    """Build the aligner registered as ``name`` with ``options`` (its config's fields)."""
    _load_builtin()
    try:
        _, factory, config = _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown aligner {name!r}", hint=f"choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    if config is not None:
        known = {f.name for f in dataclasses.fields(config)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UserError(
                f"unknown option(s) for aligner {name!r}: {', '.join(unknown)}",
                hint=f"known options: {', '.join(sorted(known))}",
            )
        return factory(config(**options))
    return factory(**options)


def for_languages(aligner: WordAligner, src_lang: str | None, tgt_lang: str | None) -> WordAligner:
    """``aligner`` set up for the language pair (per-side stemming, see
    :mod:`curate.align.languages`) where it supports that, else ``aligner`` itself."""
    adapt = getattr(aligner, "for_languages", None)
    return adapt(src_lang, tgt_lang) if callable(adapt) else aligner
