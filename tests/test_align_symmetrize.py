"""Symmetrisation heuristics combine two directional alignments as Moses does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curate.align.symmetrize import SYMMETRIZERS, symmetrize

links = st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20)


def test_intersection_and_union() -> None:
    fwd = {(0, 0), (1, 1), (2, 1)}
    rev = {(0, 0), (1, 1), (2, 2)}
    assert symmetrize(fwd, rev, "intersection") == [(0, 0), (1, 1)]
    assert symmetrize(fwd, rev, "union") == [(0, 0), (1, 1), (2, 1), (2, 2)]


def test_grow_diag_adds_neighbouring_union_links_of_unaligned_words() -> None:
    # Intersection has (0,0) and (2,2); the union link (1,1) is a diagonal neighbour of both and
    # aligns two unaligned words; (3,0) is far from everything.
    fwd = {(0, 0), (1, 1), (2, 2)}
    rev = {(0, 0), (2, 2), (3, 0)}
    assert symmetrize(fwd, rev, "grow-diag") == [(0, 0), (1, 1), (2, 2)]


def test_final_and_adds_links_only_between_two_unaligned_words() -> None:
    fwd = {(0, 0), (3, 3)}
    rev = {(0, 0), (4, 0)}
    # (3, 3): source 3 and target 3 both unaligned after growing -> added by final-and.
    # (4, 0): target 0 is already aligned -> only the plain "final" adds it.
    assert symmetrize(fwd, rev, "grow-diag-final-and") == [(0, 0), (3, 3)]
    assert symmetrize(fwd, rev, "grow-diag-final") == [(0, 0), (3, 3), (4, 0)]


@given(links, links)
def test_every_heuristic_lies_between_intersection_and_union(fwd, rev) -> None:
    inter, uni = fwd & rev, fwd | rev
    for method in SYMMETRIZERS:
        result = set(symmetrize(fwd, rev, method))
        assert result <= uni
        if method not in ("forward", "reverse"):
            assert inter <= result


def test_unknown_method_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown symmetrisation"):
        symmetrize(set(), set(), "diag")
