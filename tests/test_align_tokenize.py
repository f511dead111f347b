"""Alignment tokenisation: tokens map back to the exact characters they came from."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from curate.align.tokenize import tokenize, tokens_to_offsets


def _check_offsets(text: str, lang: str | None = None) -> list[str]:
    tokens, offsets = tokenize(text, lang)
    assert len(tokens) == len(offsets)
    for token, (start, end) in zip(tokens, offsets, strict=True):
        assert text[start:end] == token
    return tokens


@given(st.text(max_size=80))
@example(" \u0e31")  # a combining mark right after a space
def test_offsets_always_point_at_the_token(text: str) -> None:
    tokens = _check_offsets(text)
    # Nothing but whitespace is lost.
    assert "".join(tokens) == "".join(text.split())


def test_punctuation_is_split_from_words_and_numbers_stay_whole() -> None:
    tokens = _check_offsets('He paid 1,000.50 euros (in cash), "twice".', "en")
    assert tokens == [
        "He",
        "paid",
        "1,000.50",
        "euros",
        "(",
        "in",
        "cash",
        ")",
        ",",
        '"',
        "twice",
        '"',
        ".",
    ]


def test_hyphenated_words_stay_together() -> None:
    assert _check_offsets("a well-known anti-EU party") == ["a", "well-known", "anti-EU", "party"]


def test_elision_splits_after_the_apostrophe_in_romance_languages() -> None:
    assert _check_offsets("dell'Unione e l'Italia", "it") == [
        "dell'",
        "Unione",
        "e",
        "l'",
        "Italia",
    ]


def test_elision_follows_the_language_in_any_code_form() -> None:
    expected = ["l'", "Italie"]
    assert _check_offsets("l'Italie", "fra") == _check_offsets("l'Italie", "fra_Latn") == expected
    assert _check_offsets("l'Italie", "FR-ca") == expected


def test_english_clitics_split_before_the_apostrophe() -> None:
    assert _check_offsets("John's car", "en") == ["John", "'s", "car"]


def test_chinese_is_cut_per_character() -> None:
    assert _check_offsets("我爱北京。") == ["我", "爱", "北", "京", "。"]


def test_japanese_mixed_scripts_are_cut_per_character_and_latin_stays_whole() -> None:
    assert _check_offsets("東京でiPhoneを買った") == [
        "東",
        "京",
        "で",
        "iPhone",
        "を",
        "買",
        "っ",
        "た",
    ]


def test_thai_combining_marks_stay_with_their_base_character() -> None:
    tokens = _check_offsets("ภาษาไทยง่าย")
    assert "ง่" in tokens  # consonant + tone mark is one grapheme
    assert all(len(t) <= 2 for t in tokens)


def test_a_segmenter_replaces_per_character_splitting() -> None:
    words = {"去北京天安门": ["去", "北京", "天安门"]}
    tokens, offsets = tokenize("Tom 去北京天安门!", segmenter=lambda run: words[run])
    assert tokens == ["Tom", "去", "北京", "天安门", "!"]
    assert offsets == [(0, 3), (4, 5), (5, 7), (7, 10), (10, 11)]


def test_a_segmenter_returning_foreign_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in"):
        tokenize("北京", segmenter=lambda run: ["上海"])


def test_tokens_to_offsets_locates_given_tokens() -> None:
    text = "Ich  erkläre , dem 17. Dezember"
    tokens = ["Ich", "erkläre", ",", "dem", "17.", "Dezember"]
    offsets = tokens_to_offsets(text, tokens)
    assert [text[s:e] for s, e in offsets] == tokens
    with pytest.raises(ValueError):
        tokens_to_offsets(text, ["Ich", "Dezember", "erkläre"])
