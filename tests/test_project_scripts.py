"""Projection rules per script: brackets of other scripts, function words without case,
spans that a segmenter joined into one word."""

from __future__ import annotations

from dataclasses import replace

from curate.align.registry import Link
from curate.align.tokenize import tokenize
from curate.project.alignment import (
    ProjectionConfig,
    convention_for_labels,
    frequent_function_words,
    project_spans,
    project_token_spans,
)
from curate.records import Span
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


def _segmented(en: str, other: str, lang: str, names: list[str], links: list[Link]):
    """Spans ``names`` of ``en`` projected onto ``other`` as cut by ``lang``'s segmenter."""
    a, b = tokenize(en, "en"), tokenize(other, lang)
    spans = [Span(en.index(n), en.index(n) + len(n), "LOC") for n in names]
    result = project_spans(spans, a.offsets, b.tokens, b.offsets, links, PLAIN, a.tokens)
    return a, b, result


def test_names_a_segmenter_joined_into_one_word_are_projected_onto_its_characters() -> None:
    # jieba makes one word of "China-US relations"; fugashi one of "Japan-US"
    text = "中美关系很重要。"
    _, words, result = _segmented(
        "China and the US matter.", text, "zh", ["China", "US"], [(0, 0), (3, 0)]
    )
    assert words.tokens[0] == "中美关系"  # the segmenter's word, both names inside
    assert result.status == "complete"
    assert [text[s.start : s.end] for s in result.spans] == ["中", "美"]
    assert result.tokens[:4] == ["中", "美", "关", "系"]  # the word split, offsets kept
    assert result.tags[:5] == ["B-LOC", "B-LOC", "O", "O", "O"]
    assert all("projected onto its characters" in r for r in result.reasons)
    text = "日米首脳会談が東京で行われた。"
    _, words, result = _segmented(
        "Japan and the US held a summit in Tokyo.",
        text,
        "ja",
        ["Japan", "US", "Tokyo"],
        [(0, 0), (3, 0), (6, 2), (8, 4)],
    )
    assert words.tokens[0] == "日米"
    assert [text[s.start : s.end] for s in result.spans] == ["日", "米", "東京"]
    assert result.status == "complete"
    assert len(result.tags) == len(result.tokens) == len(result.offsets)


def test_three_names_in_one_word_and_more_names_than_characters() -> None:
    text = "英法德三国领导人会晤。"
    _, _, result = _segmented(
        "Britain, France and Germany met.",
        text,
        "zh",
        ["Britain", "France", "Germany"],
        [(0, 0), (2, 0), (4, 0)],
    )
    assert [text[s.start : s.end] for s in result.spans] == ["英", "法", "德"]
    # "Hong Kong and Macau" onto the two characters of one word: shared, none dropped
    a, b = tokenize("Hong Kong and Macau", "en"), tokenize("港澳", "zh")
    assert b.tokens == ["港澳"]
    spans = [Span(0, 9, "LOC"), Span(14, 19, "LOC")]
    result = project_spans(spans, a.offsets, b.tokens, b.offsets, [(0, 0), (1, 0), (3, 0)], PLAIN)
    assert ["港澳"[s.start : s.end] for s in result.spans] == ["港", "澳"]
