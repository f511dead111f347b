"""ISO 639 codes map to each model family's own convention; unsupported languages are refused."""

from __future__ import annotations

import pytest

from curate.errors import UserError
from curate.mt.families import get_family
from curate.mt.langtables import FLORES200

MADLAD_VOCAB = ["<pad>", "</s>", "<unk>", "<2de>", "<2en>", "<2fr>", "<2zh>", "<2yue>", "▁the"]


def nllb_tables():
    return get_family("nllb").tables("nllb-test", FLORES200, {})


@pytest.mark.parametrize(
    ("code", "native", "tag"),
    [
        ("de", "deu_Latn", "de"),
        ("deu", "deu_Latn", "de"),
        ("ger", "deu_Latn", "de"),  # ISO 639-2/B
        ("German", "deu_Latn", "de"),
        ("eng_Latn", "eng_Latn", "en"),  # native codes pass through
        ("ar", "arb_Arab", "ar"),  # macrolanguage -> Modern Standard Arabic
        ("fa", "pes_Arab", "fa"),  # Iranian Persian, not Dari
        ("fa-AF", "prs_Arab", "fa-AF"),
        ("zh", "zho_Hans", "zh-Hans"),  # default script of the language
        ("zh-TW", "zho_Hant", "zh-Hant"),
        ("sr", "srp_Cyrl", "sr"),
        ("no", "nob_Latn", "no"),
        ("tl", "tgl_Latn", "fil"),
        ("pt-BR", "por_Latn", "pt"),
    ],
)
def test_nllb_maps_iso_codes_to_flores_codes(code: str, native: str, tag: str) -> None:
    _, targets = nllb_tables()
    resolved = targets.resolve(code, "target")
    assert (resolved.native, resolved.tag) == (native, tag)


def test_nllb_frames_the_source_code_and_forces_the_target_code() -> None:
    framing = get_family("nllb").framing("eng_Latn", "deu_Latn")
    assert framing.before == ("eng_Latn",)
    assert framing.after == ("</s>",)
    assert framing.target_prefix == ("deu_Latn",)
    tokens = get_family("nllb").strip_output(["deu_Latn", "▁Hallo"], framing)
    assert tokens == ["▁Hallo"]


def test_m2m100_uses_its_own_two_letter_codes_and_underscored_tokens() -> None:
    family = get_family("m2m100")
    sources, _ = family.tables("m2m-test", [], {})
    assert sources.resolve("deu").native == "de"
    assert sources.resolve("arb").native == "ar"  # individual language -> macrolanguage
    assert sources.resolve("nso").native == "ns"  # M2M-100's own code for Northern Sotho
    framing = family.framing("en", "de")
    assert (framing.before, framing.target_prefix) == (("__en__",), ("__de__",))


def test_madlad_reads_languages_from_the_vocabulary_and_tags_the_source() -> None:
    family = get_family("madlad")
    _, targets = family.tables("madlad-test", MADLAD_VOCAB, {})
    assert targets.resolve("fra").native == "fr"
    framing = family.framing(targets.resolve("en").native, targets.resolve("de").native)
    assert framing.before == ("<2de>",)
    assert framing.target_prefix == ()
    with pytest.raises(UserError, match="does not support target language 'ja'"):
        targets.resolve("ja", "target")


def test_marian_takes_its_pair_from_metadata_and_adds_nothing() -> None:
    family = get_family("marian")
    sources, targets = family.tables(
        "opus-mt-en-de", [], {"source_languages": ["en"], "target_languages": ["de"]}
    )
    assert sources.resolve("eng").native == "en"
    assert targets.resolve("ger").native == "de"
    framing = family.framing("en", "de")
    assert framing.before == () and framing.target_prefix == ()


def test_multi_target_marian_model_gets_target_tags() -> None:
    vocab = ["</s>", "<unk>", ">>deu<<", ">>fra<<", "▁the"]
    family = get_family("marian", vocab)
    _, targets = family.tables("opus-mt-en-mul", vocab, {"source_languages": ["en"]})
    native = targets.resolve("de").native
    assert family.framing("en", native).before == (">>deu<<",)


def test_unsupported_language_is_refused_by_name_with_close_matches() -> None:
    _, targets = nllb_tables()
    with pytest.raises(UserError) as err:
        targets.resolve("gsw", "target")  # Swiss German is not in NLLB-200
    assert "Swiss German" in str(err.value)
    assert "de (German)" in (err.value.hint or "")


def test_small_models_list_everything_they_support() -> None:
    sources, targets = get_family("marian").tables(
        "en-qsy", [], {"source_languages": ["en"], "target_languages": ["qsy"]}
    )
    with pytest.raises(UserError) as err:
        targets.resolve("fr", "target")
    assert "French" in str(err.value)
    assert "qsy" in (err.value.hint or "")
    assert "de" not in sources


def test_explicit_script_the_model_lacks_is_refused() -> None:
    _, targets = nllb_tables()
    with pytest.raises(UserError, match="script Latn"):
        targets.resolve("zh-Latn")


def test_text_that_is_not_a_language_code_is_refused() -> None:
    _, targets = nllb_tables()
    with pytest.raises(UserError, match="not a language code"):
        targets.resolve("xx")


def test_the_family_code_lists_are_the_ones_transformers_ships() -> None:
    # langtables keeps copies so that resolving a code does not import transformers (seconds);
    # this keeps the copies equal to the maintained source.
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES as M2M
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB

    from curate.mt.langtables import M2M100

    assert tuple(NLLB) == FLORES200
    assert tuple(M2M["m2m100"]) == M2M100
