"""`models convert` from a local Hugging Face directory, and `models fetch` without a network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.errors import UserError
from curate.mt.convert import convert, fetch
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.random_model import RandomMarianConfig, build_random_marian, build_random_nllb
from curate.mt.registry import list_models, load_model_info, model_cache_dir, resolve_model

TEXTS = [
    "The river flooded the old town after three days of rain.",
    "Two ministers met in Brussels on Tuesday.",
    "The library opens at nine and closes at six.",
    "Tickets cost twelve euros for adults.",
] * 5


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hf") / "marian"
    return build_random_marian(out, TEXTS, RandomMarianConfig())


def test_convert_writes_a_loadable_model_with_tokenizer_and_metadata(
    hf_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ct2"
    info = convert(
        hf_dir, out, "int8", name="tiny-en-de", source_languages=["en"], target_languages=["de"]
    )
    files = {p.name for p in out.iterdir()}
    assert {"model.bin", "config.json", "source.spm", "target.spm", "curate_model.json"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left over
    meta = json.loads((out / "curate_model.json").read_text())
    assert meta["family"] == "marian" and meta["quantization"] == "int8"
    assert meta["source_languages"] == ["en"] and meta["target_languages"] == ["de"]
    assert meta["max_input_tokens"] == RandomMarianConfig().max_position_embeddings
    assert info.version == meta["version"] and len(info.version) == 16
    assert load_model_info(out).name == "tiny-en-de"


def test_converted_model_translates_like_the_pytorch_model(hf_dir: Path, tmp_path: Path) -> None:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    info = convert(
        hf_dir, tmp_path / "ct2", "float32", source_languages=["en"], target_languages=["de"]
    )
    engine = TranslationEngine.load(
        info,
        device="cpu",
        compute_type="float32",  # as converted; "auto" would quantise to int8 on load
        config=TranslateConfig(beam_size=1, max_decoding_length=8),
    )
    sources = TEXTS[:4]
    ours = [t.text for t in engine.translate_texts(sources, "en", "de")]

    tokenizer = MarianTokenizer.from_pretrained(hf_dir)
    model = MarianMTModel.from_pretrained(hf_dir).eval()
    with torch.no_grad():
        ids = model.generate(
            **tokenizer(sources, return_tensors="pt", padding=True),
            num_beams=1,
            do_sample=False,
            max_new_tokens=8,
            forced_eos_token_id=None,
        )
    theirs = tokenizer.batch_decode(ids, skip_special_tokens=True)
    assert ours == [t.strip() for t in theirs]


def test_convert_refuses_to_overwrite_and_needs_a_marian_pair(hf_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ct2"
    out.mkdir()
    with pytest.raises(UserError, match="already exists"):
        convert(hf_dir, out, source_languages=["en"], target_languages=["de"])
    with pytest.raises(UserError, match="one language pair"):
        convert(hf_dir, tmp_path / "other")
    with pytest.raises(UserError, match="not a Hugging Face model directory"):
        convert(tmp_path, tmp_path / "x")


def test_a_hugging_face_directory_given_as_model_says_to_convert(hf_dir: Path) -> None:
    with pytest.raises(UserError) as err:
        resolve_model(hf_dir)
    assert "curate models convert" in (err.value.hint or "")


def test_fetch_offline_is_one_line_naming_the_model_and_the_local_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(UserError) as err:
        fetch("opus-mt-en-fr", cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert "opus-mt-en-fr" in message and "Helsinki-NLP/opus-mt-en-fr" in message
    assert "\n" not in message
    assert "--model PATH" in (err.value.hint or "")
    assert "curate models convert" in (err.value.hint or "")
    with pytest.raises(UserError, match="nllb-200-distilled-600M"):
        resolve_model(None, cache_dir=tmp_path / "cache")  # the default model


def test_cached_models_are_found_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATE_MODEL_CACHE", str(tmp_path / "cache"))
    assert model_cache_dir() == tmp_path / "cache"
    rows = {r["name"]: r for r in list_models()}
    assert rows["nllb-200-distilled-600M"]["default"]
    assert rows["nllb-200-distilled-600M"]["path"] is None
    with pytest.raises(UserError, match="unknown model"):
        resolve_model("no-such-model")


def test_nllb_model_converts_and_translates_like_pytorch_with_language_codes(
    tmp_path: Path,
) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    hf = build_random_nllb(tmp_path / "hf", TEXTS)
    info = convert(hf, tmp_path / "ct2", "float32", name="tiny-nllb")
    assert info.family_name == "nllb" and info.tokenizer_spec["type"] == "huggingface"
    sources_table, _ = info.language_tables()
    assert len(sources_table) == 202  # FLORES-200 codes found in the vocabulary

    seen: list[list[str]] = []

    class Spy:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def translate_batch(self, source: list[list[str]], **kwargs: object) -> list:
            seen.extend(source)
            return self.inner.translate_batch(source, **kwargs)  # type: ignore[attr-defined]

    engine = TranslationEngine.load(
        info,
        device="cpu",
        compute_type="float32",
        config=TranslateConfig(beam_size=1, max_decoding_length=6),
        wrap_backend=Spy,
    )
    text = TEXTS[1]
    ours = engine.translate_texts([text], "en", "de")[0].text

    tokenizer = AutoTokenizer.from_pretrained(hf, src_lang="eng_Latn")
    encoded = tokenizer([text], return_tensors="pt")
    assert seen == [tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])]
    model = AutoModelForSeq2SeqLM.from_pretrained(hf).eval()
    with torch.no_grad():
        ids = model.generate(
            **encoded,
            forced_bos_token_id=tokenizer.convert_tokens_to_ids("deu_Latn"),
            num_beams=1,
            do_sample=False,
            max_new_tokens=6,  # decoder start + 6 = CTranslate2's prefix + 5
            forced_eos_token_id=None,
        )
    assert ours == tokenizer.batch_decode(ids, skip_special_tokens=True)[0]
