"""Batch-level consistency of projections: the same source name usually has the same translation.

Labelled corpora repeat their entities (``Member States``, ``Structural Funds``, ``Sri Lanka``).
Word alignment is noisy per sentence but right most of the time, so across a batch the most
frequent projection of a source span's surface is very likely its translation. This pass
corrects the outliers: when a span's projection differs from the dominant projection of the
same source surface, and the dominant target words occur in the sentence overlapping or touching
the current projection, the projection moves there. A span that was not projected at all is
recovered when the dominant target words occur exactly once in the sentence and are free.

By default only spans of the batch itself are used; a job that projects a language pair in
several batches counts the projections of every batch first and passes the sum
(:func:`projection_counts`, :func:`add_tables`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from curate.text.tags import TokenSpan

Key = tuple[str, ...]


@dataclass(frozen=True)
class ConsistencyConfig:
    """Options of the consistency pass."""

    #: the dominant projection must have been seen at least this often ...
    min_count: int = 2
    #: ... and be at least this share of the projections of the same source surface
    min_share: float = 0.5
    #: also recover spans that were not projected
    recover: bool = True


@dataclass
class Example:
    """What the pass needs of one example (token level)."""

    labelled_tokens: Sequence[str]
    spans: Sequence[TokenSpan]  # labelled token spans
    other_tokens: Sequence[str]
    projected: dict[int, TokenSpan]  # index in ``spans`` -> projected span (edited in place)


def _key(tokens: Sequence[str]) -> Key:
    return tuple(t.casefold() for t in tokens)


Table = dict[Key, Counter[Key]]


def projection_counts(examples: Sequence[Example]) -> Table:
    """How often each source surface was projected onto each target surface in ``examples``;
    tables of several batches add up (:func:`add_tables`)."""
    table: Table = defaultdict(Counter)
    for ex in examples:
        for i, proj in ex.projected.items():
            src = ex.spans[i]
            table[_key(ex.labelled_tokens[src.start : src.end])][
                _key(ex.other_tokens[proj.start : proj.end])
            ] += 1
    return dict(table)


def add_tables(tables: Iterable[Table]) -> Table:
    total: Table = defaultdict(Counter)
    for table in tables:
        for key, counts in table.items():
            total[key].update(counts)
    return dict(total)


def harmonize(
    examples: Sequence[Example],
    config: ConsistencyConfig = ConsistencyConfig(),
    table: Table | None = None,
) -> dict[int, list[tuple[int, str]]]:
    """Correct projections in place; return ``{example index: [(span index, note)]}``.

    The usual translations come from ``table`` (e.g. counted over a whole language pair in
    several batches) or, by default, from ``examples`` themselves."""
    if table is None:
        table = projection_counts(examples)
    notes: dict[int, list[tuple[int, str]]] = {}
    for n, ex in enumerate(examples):
        low = _key(ex.other_tokens)
        for i, src in enumerate(ex.spans):
            counts = table.get(_key(ex.labelled_tokens[src.start : src.end]))
            if not counts:
                continue
            best, count = counts.most_common(1)[0]
            if count < config.min_count or count < config.min_share * sum(counts.values()):
                continue
            current = ex.projected.get(i)
            if current is not None and low[current.start : current.end] == best:
                continue
            width = len(best)
            found = [j for j in range(len(low) - width + 1) if low[j : j + width] == best]
            others = [s for j, s in ex.projected.items() if j != i]

            def free(j: int, width: int = width, others: list[TokenSpan] = others) -> bool:
                return all(j + width <= s.start or j >= s.end for s in others)

            if current is not None:
                near = [
                    j for j in found if j <= current.end and j + width >= current.start and free(j)
                ]
                label, what = current.label, "moved to the batch's usual translation"
            elif config.recover and len(found) == 1 and free(found[0]):
                near, label, what = found, src.label, "recovered from the batch's usual translation"
            else:
                continue
            if len(near) != 1:
                continue
            ex.projected[i] = TokenSpan(near[0], near[0] + width, label)
            notes.setdefault(n, []).append((i, what))
    return notes
