"""Projection rules per script: brackets of other scripts, function words without case,
spans that a segmenter joined into one word."""

from __future__ import annotations

from dataclasses import replace

from curate.project.alignment import (
    ProjectionConfig,
    convention_for_labels,
    frequent_function_words,
    project_token_spans,
)
from curate.text.tags import TokenSpan

PLAIN = ProjectionConfig(anchors=False, trim_function_words=False)


def test_full_width_brackets_are_closed() -> None:
    other = ["欧洲", "标准化", "委员会", "（", "CEN", "）", "说"]
    links = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
    kept, _ = project_token_spans([TokenSpan(0, 6, "ORG")], links, other, PLAIN)
    assert kept == [(0, TokenSpan(0, 6, "ORG"))]  # the full-width bracket is closed


def test_a_quoted_title_keeps_its_quotes_except_under_ner_rules() -> None:
    labelled = ["he", "read", "“", "Three-Body", "”"]
    other = ["他", "读", "了", "『", "三体", "』"]
    span, links = [TokenSpan(2, 5, "TITLE")], [(0, 0), (1, 1), (3, 4)]
    for convention, expected in (("qa", (3, 6)), ("generic", (3, 6)), ("ner", (4, 5))):
        config = replace(PLAIN, convention=convention)
        kept, _ = project_token_spans(span, links, other, config, labelled)
        assert kept == [(0, TokenSpan(*expected, "TITLE"))], convention
    assert convention_for_labels(["PER", "LOC"]) == "ner"
    assert convention_for_labels(["answer"]) == "qa"
    assert convention_for_labels(["ARG0", "ARG1"]) == "generic"


def test_function_words_are_learnt_in_scripts_without_case_but_not_without_spaces() -> None:
    texts = [["في", "مدينة", "عمان", "의", "서울", "的", "中国", "は", "der"]] * 4
    learnt = frequent_function_words(texts)
    assert {"في", "의", "der"} <= learnt  # Arabic preposition, Korean particle, German article
    assert not {"中国", "的", "は", "مدينة", "서울"} & learnt  # no-space words never, nouns not


def test_spans_segmented_into_one_word_share_it_or_say_why() -> None:
    spans = [TokenSpan(0, 1, "LOC"), TokenSpan(2, 3, "LOC")]  # "China and America"
    chars = ["中", "美", "关", "系"]  # the same two names, written as two characters
    kept, why = project_token_spans(spans, [(0, 0), (0, 1), (2, 0), (2, 1)], chars, PLAIN)
    assert kept == [(0, TokenSpan(0, 1, "LOC")), (1, TokenSpan(1, 2, "LOC"))]
    assert why == []
    words = ["中美", "关系"]  # a segmenter made one word of them: one span stays, one says why
    kept, why = project_token_spans(spans, [(0, 0), (2, 0)], words, PLAIN)
    assert len(kept) == 1
    assert "segmented as one word" in why[0][1]


def test_an_answer_keeps_its_article_where_ner_trims_it() -> None:
    labelled = ["the", "Eiffel", "Tower"]
    other = ["la", "tour", "Eiffel"]
    span, links = [TokenSpan(0, 3, "ANSWER")], [(0, 0), (1, 2), (2, 1)]
    base = replace(PLAIN, trim_words=frozenset({"la"}), labelled_function_words=frozenset({"the"}))
    for convention, expected in (("qa", (0, 3)), ("ner", (1, 3)), ("generic", (0, 3))):
        config = replace(base, convention=convention)
        kept, _ = project_token_spans(span, links, other, config, labelled)
        assert kept == [(0, TokenSpan(*expected, "ANSWER"))], convention


def test_names_in_scripts_without_case_are_not_taken_for_adjectives() -> None:
    config = replace(PLAIN, adjective_label="MISC")
    for other in (["北京", "很", "大"], ["في", "القاهرة"], ["finnischen", "Wald"]):
        kept, _ = project_token_spans([TokenSpan(0, 1, "LOC")], [(0, 0)], other, config)
        expected = "MISC" if other[0] == "finnischen" else "LOC"
        assert kept[0][1].label == expected, other
