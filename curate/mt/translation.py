"""What the engine returns for one input: :class:`Translation`, and the one made from memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from curate.mt.memory import MemoryEntry


@dataclass(frozen=True)
class Translation:
    """The translation of one input (``error`` set: it failed and belongs in the quarantine)."""

    source: str
    text: str | None
    score: float | None = None
    truncated: bool = False  # input or output cut at a length limit
    pieces: int = 1
    from_memory: bool = False
    passthrough: bool = False
    error: str | None = None
    input_truncated: bool = False  # the input itself was cut (could not be split)

    @property
    def ok(self) -> bool:
        return self.error is None


class _Result(Protocol):
    """A memory entry or a model outcome: what a :class:`Translation` is made from."""

    text: str | None
    score: float | None
    truncated: bool
    pieces: int
    input_truncated: bool


def translation_of(
    source: str, result: _Result, *, from_memory: bool = False, error: str | None = None
) -> Translation:
    """The translation of ``source`` that ``result`` holds."""
    return Translation(
        source,
        result.text,
        result.score,
        result.truncated,
        result.pieces,
        from_memory=from_memory,
        error=error,
        input_truncated=result.input_truncated,
    )


def remembered_translation(source: str, entry: MemoryEntry) -> Translation:
    """The translation of ``source`` that the memory holds (``entry``), without a model."""
    return translation_of(source, entry, from_memory=True)
