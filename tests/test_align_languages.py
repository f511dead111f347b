"""Per-language treatment: segmenters, particles and clitics chosen from the language code."""

from __future__ import annotations

import pytest

from curate.align.eflomal import EflomalAligner, EflomalConfig
from curate.align.languages import (
    NO_SPACE,
    PREFIXING,
    alignment_forms,
    base_code,
    family,
    stem_mode,
)
from curate.align.registry import for_languages, get_aligner
from curate.align.tokenize import graphemes, tokenize


def _words(text: str, lang: str) -> list[str]:
    tokens, offsets = tokenize(text, lang)
    for token, (start, end) in zip(tokens, offsets, strict=True):
        assert text[start:end] == token
    return tokens


def test_codes_are_normalised_to_their_base_language() -> None:
    assert base_code("zh-Hant") == base_code("zho") == base_code("ZH_cn") == "zh"
    assert base_code("yue") == "zh" and base_code("arz") == "ar"  # through the macrolanguage
    assert base_code("hr") == "hr"  # its macrolanguage (sh) has no treatment either
    assert family("ja") == family("tha") == NO_SPACE
    assert family("ar-EG") == family("swh") == PREFIXING
    assert family("de") == family(None) == family("qq") == "suffixing"


def test_chinese_is_segmented_into_dictionary_words() -> None:
    assert _words("欧洲议会在布鲁塞尔举行会议。", "zh") == [
        "欧洲议会", "在", "布鲁塞尔", "举行", "会议", "。"
    ]  # fmt: skip


def test_japanese_particles_are_words_of_their_own() -> None:
    words = _words("田中さんは東京でiPhoneを買った。", "ja")
    assert {"田中", "は", "東京", "で", "iPhone", "を"} <= set(words)


def test_thai_is_segmented_into_words() -> None:
    assert _words("ฉันไปกรุงเทพมหานครเมื่อวานนี้", "th") == [
        "ฉัน", "ไป", "กรุงเทพมหานคร", "เมื่อวาน", "นี้"
    ]  # fmt: skip


def test_characters_can_still_be_asked_for() -> None:
    assert tokenize("北京大学", "zh", segmenter=graphemes).tokens == ["北", "京", "大", "学"]
    assert tokenize("北京大学").tokens == ["北", "京", "大", "学"]  # no language: characters


def test_korean_names_do_not_carry_their_particles() -> None:
    words = _words("서울에서 김민수가 삼성전자를 방문했다.", "ko")
    assert words[:6] == ["서울", "에서", "김민수", "가", "삼성전자", "를"]
    # Latin names inside Korean text too
    assert _words("“Twp과 Pwp의 운율", "ko")[1:5] == ["Twp", "과", "Pwp", "의"]


def test_clitics_are_stripped_only_for_the_aligner() -> None:
    tokens = _words("وبالمدينة كتاب ولندن", "ar")
    assert tokens == ["وبالمدينة", "كتاب", "ولندن"]  # the words themselves stay whole
    assert alignment_forms(tokens, "ar") == ["مدينة", "كتاب", "لندن"]
    assert alignment_forms(["ובירושלים", "משה"], "he") == ["ירושלים", "משה"]  # stem too short
    assert alignment_forms(["Paris"], "fr") == ["Paris"]


def test_each_side_is_stemmed_as_its_language_needs() -> None:
    assert (stem_mode("de"), stem_mode("zh"), stem_mode("sw")) == ("prefix", "whole", "suffix")
    aligner = get_aligner("eflomal", prefix_lengths=(4,))
    assert for_languages(aligner, "en", "de") is aligner
    zh = for_languages(aligner, "en", "zh")
    assert isinstance(zh, EflomalAligner)
    assert (zh.config.src_stem, zh.config.tgt_stem) == ("prefix", "whole")
    assert zh.method == "eflomal-v1/p4/tgt-whole/grow-diag-final-and"
    with pytest.raises(ValueError, match="unknown stem"):
        EflomalConfig(src_stem="root")
