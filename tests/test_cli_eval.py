"""`curate eval align` and `curate eval projection` on small files with known answers."""

from __future__ import annotations

import pytest

from curate.cli.evaluate import eval_align, eval_projection
from curate.errors import UserError


def test_eval_align_scores_sure_and_possible_links(tmp_path, capsys):
    gold = tmp_path / "gold"
    pred = tmp_path / "pred"
    gold.write_text("1-1 2p2\n1-1\n")
    pred.write_text("1-1 2-2 3-3\n2-2\n")
    eval_align(pred=pred, gold=gold, one_based=True, as_json=False)
    out = capsys.readouterr().out
    # |A|=4, |S|=2, |A&S|=1, |A&P|=2: P=0.5, R=0.5, AER=1-(1+2)/(4+2)=0.5
    assert "precision 0.5000  recall 0.5000  f1 0.5000  aer 0.5000" in out


def test_eval_projection_from_conll(tmp_path, capsys):
    gold = tmp_path / "gold.conll"
    pred = tmp_path / "pred.conll"
    gold.write_text("Anna\tB-PER\nLind\tI-PER\nin\tO\nRom\tB-LOC\n\n")
    pred.write_text("Anna\tB-PER\nLind\tO\nin\tO\nRom\tB-LOC\n\n")
    eval_projection(gold=gold, pred=pred, store=None, run_id=None, as_json=False)
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "macro_f1 0.5000"  # LOC right, PER wrong


def test_eval_needs_exactly_one_prediction_source(tmp_path):
    gold = tmp_path / "g.conll"
    gold.write_text("a\tO\n\n")
    with pytest.raises(UserError, match="either"):
        eval_projection(gold=gold, pred=None, store=None, run_id=None, as_json=False)
