"""What the engine returns for one input: :class:`Translation`, and the one made from memory."""

from __future__ import annotations

from dataclasses import dataclass

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


def remembered_translation(source: str, entry: MemoryEntry) -> Translation:
    """The translation of ``source`` that the memory holds (``entry``), without a model."""
    return Translation(
        source,
        entry.text,
        entry.score,
        entry.truncated,
        entry.pieces,
        from_memory=True,
        input_truncated=entry.input_truncated,
    )
