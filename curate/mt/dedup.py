"""De-duplication of one submission's inputs: what the model is asked to translate.

Blank inputs (empty or whitespace only) are not translated at all. With a translation memory,
inputs that are equal after :func:`~curate.mt.memory.normalize_text` are one key, translated
once and given to every position; without one, every input is its own key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from curate.mt.memory import normalize_text


@dataclass
class DistinctInputs:
    """The inputs of a submission, grouped: ``blank`` positions, and key -> positions."""

    blank: list[int]
    todo: dict[str, list[int]]
    merged: bool  # keys are normalised texts (repeats merged) rather than one per position

    def text_of(self, key: str) -> str:
        """The normalised text a key stands for (what the model translates)."""
        return key if self.merged else key.split("\x00", 1)[1]

    @property
    def repeats(self) -> int:
        """Inputs that share their key with an earlier one (translated once for all)."""
        return sum(len(positions) - 1 for positions in self.todo.values())


def distinct_inputs(texts: Sequence[str], *, merge_repeats: bool) -> DistinctInputs:
    """Group ``texts``: blank ones apart; repeats merged into one key when ``merge_repeats``."""
    blank: list[int] = []
    todo: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        if not text or not text.strip():
            blank.append(i)
            continue
        normalized = normalize_text(text)
        if merge_repeats:
            todo.setdefault(normalized, []).append(i)
        else:
            todo[f"{i}\x00{normalized}"] = [i]  # every input is translated
    return DistinctInputs(blank, todo, merge_repeats)
