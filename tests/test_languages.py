"""One language-code module: whether a code is a language, its store form, name, script and
macrolanguage, the same answer for ingest, recipes, the builders, alignment and MT."""

from __future__ import annotations

import pytest

from curate.errors import UserError
from curate.languages import (
    base_language,
    canonical_tag,
    is_language,
    language_name,
    likely_script,
    macrolanguage,
    parse_language,
    store_language,
)


@pytest.mark.parametrize(
    ("code", "stored"),
    [
        ("de", "de"),
        ("deu", "de"),
        ("ger", "de"),  # ISO 639-2/B
        ("DE", "de"),
        ("eng_Latn", "en"),  # a FLORES-200 code
        ("de_AT", "de-AT"),  # the region stays
        ("zh-Hant", "zh-Hant"),  # an unusual script stays
        ("arb", "ar"),  # the member the models use -> its macrolanguage
        ("nb", "no"),
        ("yor", "yo"),
        ("qsy", "qsy"),  # private use: the synthetic language
        ("und", "und"),
    ],
)
def test_codes_take_one_store_form(code: str, stored: str) -> None:
    assert store_language(code) == stored
    assert is_language(code)


def test_names_and_non_codes_are_refused_with_the_code_to_give() -> None:
    with pytest.raises(UserError, match="lang: 'english' is not an ISO 639") as err:
        store_language("english", "lang")
    assert "'en' for English" in (err.value.hint or "")
    assert not is_language("xx-unknown") and not is_language("") and not is_language(None)
    assert parse_language("German").language == "de"  # a model's resolver accepts names


def test_base_language_and_macrolanguage() -> None:
    assert base_language("zh-Hant") == base_language("zho") == base_language("ZH_cn") == "zh"
    assert base_language("deu_Latn") == "de" and base_language(None) == ""
    assert base_language("xx-foo") == "xx"  # not a code: lower-cased, first part
    assert macrolanguage("yue") == macrolanguage("wuu") == "zh"
    assert macrolanguage("arz") == "ar"
    assert macrolanguage("de") is None


def test_language_names_come_from_langcodes_and_qsy_is_synthetic() -> None:
    assert language_name("de") == "German"
    assert language_name("ron") == "Romanian"
    assert language_name("qsy") == "Synthetic"
    assert language_name("xx-unknown") == "xx-unknown"


def test_scripts_are_recorded_only_where_they_matter() -> None:
    assert likely_script("de") == "Latn" and likely_script("ru") == "Cyrl"
    assert canonical_tag("deu", "Latn") == "de"
    assert canonical_tag("zho", "Hant") == "zh-Hant"
    assert canonical_tag("arb", "Arab") == "ar"
    assert canonical_tag("srp", "Cyrl", keep_script=True) == "sr-Cyrl"
