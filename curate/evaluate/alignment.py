"""Word-alignment quality against human gold: AER, precision, recall and F1.

Gold and predictions are Pharaoh files (read by :mod:`curate.align.pharaoh`), with sure and
possible links. Following Och and Ney (2003), with ``A`` the
predicted links, ``S`` the sure and ``P`` the possible gold links (``S`` is a subset of ``P``):

    precision = |A & P| / |A|      recall = |A & S| / |S|
    AER = 1 - (|A & S| + |A & P|) / (|A| + |S|)

F1 is the harmonic mean of that precision and recall. Counts are summed over the corpus before
dividing (micro average), the usual convention of published AER tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from curate.align.pharaoh import GoldAlignment, Link, read_pharaoh


@dataclass(frozen=True)
class AlignmentScores:
    aer: float
    precision: float
    recall: float
    f1: float
    n_pairs: int
    n_predicted: int
    n_sure: int
    n_possible: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def score_alignments(
    predicted: Sequence[Iterable[Link]], gold: Sequence[GoldAlignment]
) -> AlignmentScores:
    """Corpus-level AER/precision/recall/F1; ``predicted`` and ``gold`` are line-parallel."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted alignments but {len(gold)} gold ones")
    n_a = n_s = n_p = a_s = a_p = 0
    for pred, g in zip(predicted, gold, strict=True):
        a = set(pred)
        n_a += len(a)
        n_s += len(g.sure)
        n_p += len(g.possible)
        a_s += len(a & g.sure)
        a_p += len(a & g.possible)
    precision = a_p / n_a if n_a else 0.0
    recall = a_s / n_s if n_s else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    aer = 1.0 - (a_s + a_p) / (n_a + n_s) if n_a + n_s else 0.0
    return AlignmentScores(aer, precision, recall, f1, len(gold), n_a, n_s, n_p)


def evaluate_alignment_files(
    pred_path: str | Path,
    gold_path: str | Path,
    one_based: bool = False,
    pred_one_based: bool | None = None,
) -> AlignmentScores:
    """Score a predicted Pharaoh file against a gold one (``curate eval align``).

    ``one_based`` applies to the gold file and, unless ``pred_one_based`` says otherwise, to
    the predictions too.
    """
    gold = read_pharaoh(gold_path, one_based)
    pred_based = one_based if pred_one_based is None else pred_one_based
    predicted = [g.possible for g in read_pharaoh(pred_path, pred_based)]
    return score_alignments(predicted, gold)
