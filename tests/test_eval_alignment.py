"""AER, precision, recall and F1 against Pharaoh gold with sure and possible links."""

from __future__ import annotations

import pytest

from curate.align.pharaoh import format_pharaoh, parse_pharaoh
from curate.evaluate.alignment import evaluate_alignment_files, score_alignments


def test_scores_follow_och_and_ney() -> None:
    gold = [parse_pharaoh("0-0 1-1 2p2")]
    # A = {0-0, 2-2, 3-3}: |A&S| = 1, |A&P| = 2, |A| = 3, |S| = 2.
    s = score_alignments([{(0, 0), (2, 2), (3, 3)}], gold)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(1 / 2)
    assert s.aer == pytest.approx(1 - (1 + 2) / (3 + 2))
    assert s.f1 == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    perfect = score_alignments([{(0, 0), (1, 1)}], gold)
    assert perfect.aer == 0.0 and perfect.recall == 1.0


def test_counts_are_summed_over_the_corpus() -> None:
    gold = [parse_pharaoh("0-0"), parse_pharaoh("0-0 1-1 2-2 3-3")]
    s = score_alignments([{(0, 0)}, {(0, 0)}], gold)
    assert s.recall == pytest.approx(2 / 5)  # micro, not the mean of 1.0 and 0.25


def test_files_with_one_based_gold(tmp_path) -> None:
    gold = tmp_path / "gold"
    pred = tmp_path / "pred"
    gold.write_text("1-1 2-2\n1-2\n", encoding="utf-8")
    pred.write_text(format_pharaoh([(0, 0), (1, 1)]) + "\n" + "0-0\n", encoding="utf-8")
    s = evaluate_alignment_files(pred, gold, one_based=True, pred_one_based=False)
    assert s.n_pairs == 2
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="predicted alignments"):
        pred.write_text("0-0\n", encoding="utf-8")
        evaluate_alignment_files(pred, gold, one_based=True, pred_one_based=False)
