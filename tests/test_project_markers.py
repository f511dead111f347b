"""Marker-based projection: parsing, repair of mangled markers, label matching, drops."""

from __future__ import annotations

import pytest

from curate.project.alignment import COMPLETE, DROPPED, LabelledText
from curate.project.markers import (
    MarkerConfig,
    insert_markers,
    match_spans,
    parse_markers,
    project_with_markers,
)
from curate.records import Span


def _surfaces(translated: str, config: MarkerConfig = MarkerConfig()) -> tuple[str, list[str]]:
    parsed = parse_markers(translated, config)
    return parsed.text, [parsed.text[s:e] for s, e in parsed.spans]


def test_insert_markers_wraps_spans_in_order() -> None:
    text = "John met Mary in Paris."
    spans = [Span(17, 22, "LOC"), Span(0, 4, "PER")]
    assert insert_markers(text, spans) == "[ John ] met Mary in [ Paris ]."
    with pytest.raises(ValueError, match="overlaps"):
        insert_markers(text, [Span(0, 8, "PER"), Span(5, 8, "PER")])
    with pytest.raises(ValueError, match="marker"):
        insert_markers("see [1]", [Span(0, 3, "X")])


@pytest.mark.parametrize(
    ("translated", "text", "surfaces"),
    [
        ("Ich habe [ John ] gesehen.", "Ich habe John gesehen.", ["John"]),
        ("[ John ] kam.", "John kam.", ["John"]),
        ("Er sah [ John ].", "Er sah John.", ["John"]),
        ("Er sah [John] und [ Mary ]", "Er sah John und Mary", ["John", "Mary"]),
        # doubled markers collapse
        ("la [[ Commissione ]] e [ Prodi ]", "la Commissione e Prodi", ["Commissione", "Prodi"]),
        ("[ [ Berlin ] ] liegt", "Berlin liegt", ["Berlin"]),
        # nested markers keep the outer pair
        ("[ [ New ] York ] ist groß", "New York ist groß", ["New York"]),
        # look-alike brackets and HTML entities
        ("x 【 Berlin 】 y", "x Berlin y", ["Berlin"]),
        ("x ［Berlin］ y", "x Berlin y", ["Berlin"]),
        ("x &#91; Berlin &#93; y", "x Berlin y", ["Berlin"]),
        # unbalanced markers are removed, not guessed
        ("a [ b c", "a b c", []),
        ("a ] b [ c ]", "a b c", ["c"]),
        # empty pairs are removed
        ("x [ ] y", "x y", []),
        # a marker glued to a word keeps the words apart
        ("la[ Commissione ]e", "la Commissione e", ["Commissione"]),
    ],
)
def test_parse_and_repair(translated: str, text: str, surfaces: list[str]) -> None:
    assert _surfaces(translated) == (text, surfaces)


def test_repairs_are_reported() -> None:
    parsed = parse_markers("a ] b [[ c ]] 【 d 】")
    assert any("closing marker without an opening" in r for r in parsed.repairs)
    assert any("doubled" in r for r in parsed.repairs)
    assert any("as marker" in r for r in parsed.repairs)


def test_custom_markers() -> None:
    config = MarkerConfig(open="<<", close=">>")
    text = "see [1] and <<Berlin>> now"
    assert _surfaces(text, config) == ("see [1] and Berlin now", ["Berlin"])
    assert insert_markers("Berlin [1]", [Span(0, 6, "LOC")], config) == "<< Berlin >> [1]"


def test_match_spans_exact_then_fuzzy() -> None:
    source = [Span(0, 4, "PER"), Span(10, 15, "LOC"), Span(20, 30, "ORG")]
    # The translation reordered the spans: ORG, PER, LOC.
    target = ["Vereinte Nationen", "Johann", "Paris"]
    span_translations = ["Johann", "Paris", "Vereinten Nationen"]
    origin, notes = match_spans(source, target, span_translations)
    assert [source[i].label for i in origin] == ["ORG", "PER", "LOC"]
    assert notes == []
    # Without span translations, labels follow the order.
    assert match_spans(source, target, None)[0] == [0, 1, 2]


def _dictionary_translator(table: dict[str, str]):
    """A stand-in for an MT engine: word-for-word from a dictionary, markers kept."""

    def translate(texts: list[str]) -> list[str]:
        return [" ".join(table.get(w, w) for w in t.split(" ")) for t in texts]

    return translate


def test_project_with_markers_end_to_end() -> None:
    table = {"met": "traf", "in": "in", "John": "Johann", "Vienna": "Wien", "the": "die"}
    translate = _dictionary_translator(table)
    examples = [
        LabelledText("John met Mary in Vienna", [Span(0, 4, "PER"), Span(17, 23, "LOC")]),
        LabelledText("John met Mary", [Span(0, 4, "PER"), Span(9, 13, "PER")]),
        LabelledText("no entities here", []),
    ]
    results = project_with_markers(examples, translate, tgt_lang="de")
    first, second, third = results
    assert first.status == COMPLETE
    assert first.text == "Johann traf Mary in Wien"
    assert [(first.text[s.start : s.end], s.label) for s in first.spans] == [
        ("Johann", "PER"),
        ("Wien", "LOC"),
    ]
    assert first.tags == ["B-PER", "O", "O", "O", "B-LOC"]
    assert [s.label for s in second.spans] == ["PER", "PER"]
    assert third.status == COMPLETE and third.spans == []


def test_count_mismatch_drops_the_example_with_a_reason() -> None:
    def lose_a_marker(texts: list[str]) -> list[str]:
        return [t.replace("[ Mary ]", "Mary") for t in texts]

    examples = [LabelledText("John met Mary", [Span(0, 4, "PER"), Span(9, 13, "PER")])]
    (result,) = project_with_markers(examples, lose_a_marker)
    assert result.status == DROPPED
    assert result.spans == []
    assert any("count mismatch: 2 spans marked, 1 in translation" in r for r in result.reasons)


def test_text_that_already_has_markers_is_dropped_with_a_reason() -> None:
    examples = [LabelledText("see [1] for John", [Span(12, 16, "PER")])]
    (result,) = project_with_markers(examples, lambda texts: texts)
    assert result.status == DROPPED
    assert "marker" in result.reasons[0]


def test_a_failed_translation_is_dropped_with_a_reason() -> None:
    examples = [LabelledText("John left", [Span(0, 4, "PER")])]
    (result,) = project_with_markers(examples, lambda texts: [None for _ in texts])
    assert result.status == DROPPED
    assert result.reasons == ["the translation failed"]
