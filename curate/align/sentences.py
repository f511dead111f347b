"""Long texts aligned sentence by sentence: sentence pairing and links back to the whole text.

Word aligners degrade on long inputs (eflomal worst of all with characters as tokens), so a
multi-sentence example (a paragraph, a QA context, a document) is cut into sentences on both
sides (:func:`curate.text.segment.split_sentences`), its sentences are paired, each pair is
aligned on its own, and the links are shifted back to the example's word indices.

Pairing: equal sentence counts pair in order; otherwise a small dynamic programme (Gale &
Church style) pairs them in order with 1-1, 1-2 and 2-1 beads, scored by how far each bead's
length ratio is from the example's overall ratio and rewarded for numbers and look-alike words
(names) found on both sides. A side with a single sentence makes the example one bead (aligned
whole). An example with several sentences on both sides that cannot be paired (more than twice
as many on one side) is aligned whole too: the paragraph is the fallback, and
:class:`SentencePlan` says which examples used it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import regex

from curate.align.registry import Link, TokenPair
from curate.align.tokenize import Tokens
from curate.text.segment import split_sentences

Range = tuple[int, int]  # [start, end) of word indices
#: how an example was aligned (:meth:`SentencePlan.aligned_as`)
SENTENCES, WHOLE, FALLBACK = "sentences", "whole", "fallback"
ALIGNED_AS = (SENTENCES, WHOLE, FALLBACK)
_LOOKALIKE = regex.compile(r"^(?:\p{N}+(?:[.,:]\p{N}+)*|\p{Lu}\p{L}{2,})$")


@dataclass
class SentencePlan:
    """For each example, the paired word ranges ``(labelled, other)`` aligned separately;
    ``fallback[k]`` is true when example ``k`` had several sentences on both sides but was
    aligned whole because they could not be paired (one sentence on a side is one bead, the
    whole example, and no fallback)."""

    ranges: list[list[tuple[Range, Range]]]
    fallback: list[bool]

    @property
    def n_fallback(self) -> int:
        return sum(self.fallback)

    @property
    def n_split(self) -> int:
        return sum(len(r) > 1 for r in self.ranges)

    def aligned_as(self, k: int) -> str:
        """``sentences`` (several sentence pairs), ``fallback`` (several sentences on both
        sides, aligned whole) or ``whole`` (one sentence on a side) for example ``k``."""
        if self.fallback[k]:
            return FALLBACK
        return SENTENCES if len(self.ranges[k]) > 1 else WHOLE


def aligned_as_counts(values: Sequence[str | None]) -> Counter[str]:
    """``aligned_as`` values tallied under the names a run's counts use
    (``aligned_by_sentence``, ``aligned_whole``, ``sentence_fallback``); None not counted."""
    names = {
        SENTENCES: "aligned_by_sentence",
        WHOLE: "aligned_whole",
        FALLBACK: "sentence_fallback",
    }
    return Counter(names[v] for v in values if v is not None)


def aligned_as_summary(notes: Mapping[str, int]) -> str:
    """``by sentence 12 (3.0%), paragraph fallback 1 (0.3%), whole 387`` of a run's counts
    (empty when nothing was aligned)."""
    split, fallback = notes.get("aligned_by_sentence", 0), notes.get("sentence_fallback", 0)
    total = split + fallback + notes.get("aligned_whole", 0)
    if not total:
        return ""
    return (
        f"aligned by sentence {split} ({split / total:.1%}), paragraph fallback {fallback} "
        f"({fallback / total:.1%}), whole {total - split - fallback}"
    )


def sentence_ranges(text: str, tokens: Tokens, lang: str | None) -> list[Range]:
    """Word index ranges of the sentences of ``text`` (every word in exactly one range)."""
    if not tokens.tokens:
        return []
    sentences = split_sentences(text, lang or "en")
    if len(sentences) < 2:
        return [(0, len(tokens.tokens))]
    ranges: list[Range] = []
    k = 0
    for i, sent in enumerate(sentences):
        last = i == len(sentences) - 1
        start = k
        while k < len(tokens.offsets) and (last or tokens.offsets[k][0] < sent.end):
            k += 1
        if k > start:
            ranges.append((start, k))
    return ranges or [(0, len(tokens.tokens))]


def _lookalikes(tokens: Sequence[str]) -> set[str]:
    return {t.casefold() for t in tokens if _LOOKALIKE.match(t)}


def pair_sentences(
    a: Sequence[Range], b: Sequence[Range], a_tokens: Sequence[str], b_tokens: Sequence[str]
) -> list[tuple[Range, Range]] | None:
    """In-order pairing of sentences ``a`` and ``b`` (word ranges), or None if impossible."""
    if len(a) == len(b):
        return list(zip(a, b, strict=True))
    if min(len(a), len(b)) < 2 or max(len(a), len(b)) > 2 * min(len(a), len(b)):
        return None
    ratio = max(len(b_tokens), 1) / max(len(a_tokens), 1)

    def cost(ai: Range, bi: Range) -> float:
        la, lb = ai[1] - ai[0], bi[1] - bi[0]
        length = abs(math.log((lb + 1) / ((la + 1) * ratio)))
        shared = _lookalikes(a_tokens[ai[0] : ai[1]]) & _lookalikes(b_tokens[bi[0] : bi[1]])
        return length - 0.5 * len(shared)

    inf = float("inf")
    best = [[inf] * (len(b) + 1) for _ in range(len(a) + 1)]
    back: dict[tuple[int, int], tuple[int, int]] = {}
    best[0][0] = 0.0
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if best[i][j] == inf:
                continue
            for di, dj, penalty in ((1, 1, 0.0), (1, 2, 0.3), (2, 1, 0.3)):
                ni, nj = i + di, j + dj
                if ni > len(a) or nj > len(b):
                    continue
                ra, rb = (a[i][0], a[ni - 1][1]), (b[j][0], b[nj - 1][1])
                c = best[i][j] + cost(ra, rb) + penalty
                if c < best[ni][nj]:
                    best[ni][nj] = c
                    back[(ni, nj)] = (i, j)
    if best[len(a)][len(b)] == inf:
        return None
    out: list[tuple[Range, Range]] = []
    i, j = len(a), len(b)
    while (i, j) != (0, 0):
        pi, pj = back[(i, j)]
        out.append(((a[pi][0], a[i - 1][1]), (b[pj][0], b[j - 1][1])))
        i, j = pi, pj
    return out[::-1]


def plan(
    texts: Sequence[tuple[str, str]],
    tokens: Sequence[tuple[Tokens, Tokens]],
    langs: tuple[str | None, str | None],
) -> SentencePlan:
    """Sentence pairs of each ``(first, second)`` text pair (word ranges of each side)."""
    ranges: list[list[tuple[Range, Range]]] = []
    fallback: list[bool] = []
    for (ta, tb), (ka, kb) in zip(texts, tokens, strict=True):
        whole = [((0, len(ka.tokens)), (0, len(kb.tokens)))]
        sa = sentence_ranges(ta, ka, langs[0])
        sb = sentence_ranges(tb, kb, langs[1])
        if len(sa) < 2 or len(sb) < 2:  # one sentence on a side: one bead, the whole text
            ranges.append(whole)
            fallback.append(False)
            continue
        paired = pair_sentences(sa, sb, ka.tokens, kb.tokens)
        ranges.append(paired or whole)
        fallback.append(paired is None)
    return SentencePlan(ranges, fallback)


def split_pairs(pairs: Sequence[TokenPair], plan_: SentencePlan) -> list[TokenPair]:
    """The sentence pairs to align, example after example."""
    out: list[TokenPair] = []
    for (sa, sb), ranges in zip(pairs, plan_.ranges, strict=True):
        out += [(sa[a0:a1], sb[b0:b1]) for (a0, a1), (b0, b1) in ranges]
    return out


def merge_links(links: Sequence[Sequence[Link]], plan_: SentencePlan) -> list[list[Link]]:
    """Sentence-pair links shifted back to each example's word indices."""
    out: list[list[Link]] = []
    k = 0
    for ranges in plan_.ranges:
        merged: list[Link] = []
        for (a0, _), (b0, _) in ranges:
            merged += [(i + a0, j + b0) for i, j in links[k]]
            k += 1
        out.append(sorted(merged))
    return out
