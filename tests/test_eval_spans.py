"""Typed span precision/recall/F1, per label and micro, from spans or IOB tags."""

from __future__ import annotations

import pytest

from curate.evaluate.spans import (
    evaluate_projection_files,
    score_spans,
    score_tags,
    score_text_spans,
)


def test_exact_boundaries_and_type_are_required() -> None:
    gold = [[(0, 2, "PER"), (5, 6, "LOC")]]
    pred = [[(0, 2, "PER"), (5, 6, "ORG"), (8, 9, "LOC")]]
    s = score_spans(pred, gold)
    assert s.micro.n_correct == 1
    assert s.micro.precision == pytest.approx(1 / 3)
    assert s.micro.recall == pytest.approx(1 / 2)
    assert s.per_label["PER"].f1 == 1.0
    assert s.per_label["LOC"].precision == 0.0 and s.per_label["LOC"].recall == 0.0
    assert s.per_label["ORG"].n_gold == 0
    assert s.macro_f1 == pytest.approx(1 / 3)


def test_tags_of_any_scheme_score_alike() -> None:
    # IOB1 prediction against IOB2 gold: same spans, full score.
    s = score_tags([["I-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])
    assert s.micro.f1 == 1.0
    # BIOES prediction against IOB2 gold, likewise.
    s = score_tags([["S-PER", "O", "B-LOC", "E-LOC"]], [["B-PER", "O", "B-LOC", "I-LOC"]])
    assert s.micro.f1 == 1.0 and s.micro.n_gold == 2
    with pytest.raises(ValueError, match="tags"):
        score_tags([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="bad tag 'PER'"):  # the rule ingest applies
        score_tags([["PER"]], [["B-PER"]])


def test_conll_files(tmp_path) -> None:
    gold = tmp_path / "gold.conll"
    pred = tmp_path / "pred.conll"
    gold.write_text("John\tB-PER\nSmith\tI-PER\nleft\tO\n\nParis\tB-LOC\n", encoding="utf-8")
    pred.write_text("John\tB-PER\nSmith\tO\nleft\tO\n\nParis\tB-LOC\n", encoding="utf-8")
    s = evaluate_projection_files(pred, gold)
    assert s.micro.n_gold == 2 and s.micro.n_correct == 1
    assert "micro" in s.table()
    pred.write_text("Jon\tB-PER\nSmith\tO\nleft\tO\n\nParis\tB-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tokens differ"):
        evaluate_projection_files(pred, gold)
    pred.write_text("John\tB-PER\nSmith\tX-PER\nleft\tO\n\nParis\tB-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pred.conll: line 2: bad tag 'X-PER'"):
        evaluate_projection_files(pred, gold)


def test_conll_files_are_read_by_the_rule_ingest_reads_them_with(tmp_path) -> None:
    # one reader (curate.io.conll) for ingest and evaluation: what ingest quarantines, evaluation
    # refuses with the line, instead of reading it some other way
    gold = tmp_path / "gold.conll"
    gold.write_text("-DOCSTART- O\n\nJohn B-PER\nleft O\n", encoding="utf-8")
    pred = tmp_path / "pred.conll"
    pred.write_text("John\tB-PER\nleft\n", encoding="utf-8")  # a tag is missing
    with pytest.raises(ValueError, match=r"pred.conll: line 2 has 1 columns, expected 2"):
        evaluate_projection_files(pred, gold)
    pred.write_bytes(b"John B-PER\nle\xfft O\n")
    with pytest.raises(ValueError, match=r"pred.conll: invalid UTF-8 on line 2"):
        evaluate_projection_files(pred, gold)
    pred.write_text("John B-PER\nleft O\n", encoding="utf-8")
    assert evaluate_projection_files(pred, gold).micro.f1 == 1.0


GOLD_TWICE = (["Anna", "met", "Anna", "in", "Rom"], ["B-PER", "O", "B-PER", "O", "B-LOC"])


def test_text_spans_are_scored_by_position_and_every_occurrence_counts() -> None:
    text = "Anna met Anna in Rom"
    right = score_text_spans(
        [(text, [(0, 4, "PER"), (9, 13, "PER"), (17, 20, "LOC")])], [GOLD_TWICE]
    )
    assert right.scores.micro.f1 == 1.0 and right.n_text_differs == 0
    # The same surface texts and labels, but one name labelled twice at the first occurrence and
    # the second left out: one PER right of two, not both.
    once = score_text_spans([(text, [(0, 4, "PER"), (17, 20, "LOC")])], [GOLD_TWICE])
    assert once.scores.per_label["PER"].recall == 0.5
    assert once.scores.micro.n_gold == 3


def test_text_spans_on_a_different_translation_are_carried_by_characters() -> None:
    # The translation has one more word; spans on words the gold has are carried to the gold's
    # offsets, a span on a word the gold lacks is wrong.
    text = "Anna met old Anna in Rom"
    spans = [(0, 4, "PER"), (9, 12, "PER"), (13, 17, "PER"), (21, 24, "LOC")]
    result = score_text_spans([(text, spans)], [GOLD_TWICE])
    assert result.n_text_differs == 1
    assert result.scores.micro.n_predicted == 4
    assert result.scores.micro.n_correct == 3
    shifted = score_text_spans([(text, [(0, 3, "PER")])], [GOLD_TWICE])
    assert shifted.scores.micro.n_correct == 0  # "Ann" is not the gold span "Anna"
