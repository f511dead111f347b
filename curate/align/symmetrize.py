"""Symmetrisation of two directional word alignments into one.

Directional aligners (IBM/HMM models such as eflomal) link each word of one side to at most one
word of the other. Running both directions and combining the two link sets is the standard fix
(Koehn et al. 2003, the Moses heuristics): ``intersection`` is precise, ``union`` recalls more,
``grow-diag-final-and`` starts from the intersection and adds union links next to existing ones
and then links between still unaligned words.

Links are ``(src_index, tgt_index)`` pairs, 0-based, in both inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Link = tuple[int, int]

_NEIGHBOURS_DIAG = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1))


def _grow(
    fwd: set[Link], rev: set[Link], neighbours: tuple[Link, ...]
) -> tuple[set[Link], set[int], set[int]]:
    union = fwd | rev
    links = fwd & rev
    src_aligned = {i for i, _ in links}
    tgt_aligned = {j for _, j in links}
    added = True
    while added:
        added = False
        for i, j in sorted(links):
            for di, dj in neighbours:
                cand = (i + di, j + dj)
                if cand in links or cand not in union:
                    continue
                if cand[0] not in src_aligned or cand[1] not in tgt_aligned:
                    links.add(cand)
                    src_aligned.add(cand[0])
                    tgt_aligned.add(cand[1])
                    added = True
    return links, src_aligned, tgt_aligned


def _final(
    links: set[Link],
    src_aligned: set[int],
    tgt_aligned: set[int],
    fwd: set[Link],
    rev: set[Link],
    both_unaligned: bool,
) -> set[Link]:
    for directional in (fwd, rev):
        for i, j in sorted(directional):
            if (i, j) in links:
                continue
            free_i, free_j = i not in src_aligned, j not in tgt_aligned
            if (free_i and free_j) if both_unaligned else (free_i or free_j):
                links.add((i, j))
                src_aligned.add(i)
                tgt_aligned.add(j)
    return links


def intersection(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return fwd & rev


def union(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return fwd | rev


def grow_diag(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return _grow(fwd, rev, _NEIGHBOURS_DIAG)[0]


def grow_diag_final(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return _final(*_grow(fwd, rev, _NEIGHBOURS_DIAG), fwd, rev, both_unaligned=False)


def grow_diag_final_and(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return _final(*_grow(fwd, rev, _NEIGHBOURS_DIAG), fwd, rev, both_unaligned=True)


def grow_final_and(fwd: set[Link], rev: set[Link]) -> set[Link]:
    """Like grow-diag-final-and, but growing only to horizontal and vertical neighbours."""
    return _final(*_grow(fwd, rev, _NEIGHBOURS), fwd, rev, both_unaligned=True)


def forward(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return set(fwd)


def reverse(fwd: set[Link], rev: set[Link]) -> set[Link]:
    return set(rev)


SYMMETRIZERS: dict[str, Callable[[set[Link], set[Link]], set[Link]]] = {
    "forward": forward,
    "reverse": reverse,
    "intersection": intersection,
    "union": union,
    "grow-diag": grow_diag,
    "grow-diag-final": grow_diag_final,
    "grow-diag-final-and": grow_diag_final_and,
    "grow-final-and": grow_final_and,
}


def symmetrize(fwd: Iterable[Link], rev: Iterable[Link], method: str) -> list[Link]:
    """Combine a forward and a reverse alignment of one sentence pair; sorted links."""
    try:
        fn = SYMMETRIZERS[method]
    except KeyError:
        raise ValueError(
            f"unknown symmetrisation {method!r}; choose one of {', '.join(SYMMETRIZERS)}"
        ) from None
    return sorted(fn(set(fwd), set(rev)))
