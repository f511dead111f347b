"""Translations taken instead of made: from the translation memory, and from an earlier
submission that is still translating the same text.

:class:`MemoryScope` is where a segment is remembered (memory, model, language pair, decoding
options): :meth:`~MemoryScope.recall` looks a submission's texts up and
:meth:`~MemoryScope.learn` keeps what the model translated. :class:`InFlight` holds, until they
are collected, which submission is translating which text, so that a submission made before
the last one is collected does not translate the same text again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from curate.mt.batching import Outcome
from curate.mt.memory import MemoryEntry, TranslationMemory


@dataclass(frozen=True)
class MemoryScope:
    """A memory, and the model, languages and decoding options its entries must match."""

    memory: TranslationMemory
    model_id: str
    model_version: str
    src: str
    tgt: str
    decoding: str

    @property
    def key(self) -> tuple[int, str, str, str]:
        """What two submissions must share to use each other's translations."""
        return (id(self.memory), self.src, self.tgt, self.decoding)

    def recall(self, texts: Iterable[str]) -> dict[str, MemoryEntry]:
        """Remembered translations of the normalised ``texts`` (misses absent)."""
        return self.memory.lookup(
            self.model_id, self.model_version, self.src, self.tgt, texts, decoding=self.decoding
        )

    def learn(self, outcomes: Mapping[str, Outcome]) -> None:
        """Remember the model's translations of the normalised texts (failures are not kept)."""
        learned = {
            text: MemoryEntry(o.text, o.score, o.truncated, o.pieces, o.input_truncated)
            for text, o in outcomes.items()
            if o.error is None and o.text is not None
        }
        if learned:
            self.memory.add(
                self.model_id,
                self.model_version,
                self.src,
                self.tgt,
                learned,
                decoding=self.decoding,
            )


class InFlight:
    """Which submission is translating which text in a scope, until it is collected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[tuple[Any, ...], Any] = {}

    def claim(
        self, scope: MemoryScope, todo: dict[str, list[int]], submission: Any
    ) -> tuple[dict[str, tuple[Any, list[int]]], list[tuple[Any, ...]]]:
        """Take out of ``todo`` the texts an earlier submission is translating (returned with
        that submission and their positions) and claim the rest for ``submission``; the claims
        are returned for :meth:`release`."""
        borrowed: dict[str, tuple[Any, list[int]]] = {}
        with self._lock:
            for text in list(todo):
                earlier = self._owners.get((*scope.key, text))
                if earlier is not None:
                    borrowed[text] = (earlier, todo.pop(text))
                else:
                    self._owners[(*scope.key, text)] = submission
        return borrowed, [(*scope.key, text) for text in todo]

    def release(self, claims: Iterable[tuple[Any, ...]], submission: Any) -> None:
        """``submission`` is done with its claims: its texts are in the memory now (or failed)."""
        with self._lock:
            for claim in claims:
                if self._owners.get(claim) is submission:
                    del self._owners[claim]
