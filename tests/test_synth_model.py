"""The shipped en-qsy CTranslate2 model translates held-out synthetic sentences exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ctranslate2
import pytest
import sentencepiece as spm

from curate.synth import generate

MODEL_DIR = Path(__file__).resolve().parent.parent / "datasets" / "models" / "en-qsy"
#: Seeds 1 and 2 are the training data and the held-out set used while training.
TEST_SEED = 3
MARKED = re.compile(r"\[ (.*?) \]")


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads((MODEL_DIR / "curate_model.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def translations(meta: dict) -> tuple[list, list[str]]:
    translator = ctranslate2.Translator(
        str(MODEL_DIR), device="cpu", compute_type="int8", intra_threads=1
    )
    src_sp = spm.SentencePieceProcessor(model_file=str(MODEL_DIR / meta["tokenizer"]["source"]))
    tgt_sp = spm.SentencePieceProcessor(model_file=str(MODEL_DIR / meta["tokenizer"]["target"]))
    pairs = generate(300, seed=TEST_SEED, markers=0.3)
    batch = [src_sp.encode(p.src, out_type=str) + meta["source_suffix"] for p in pairs]
    results = translator.translate_batch(batch, max_batch_size=64, beam_size=1)
    return pairs, [tgt_sp.decode(r.hypotheses[0]) for r in results]


def test_metadata_describes_the_model(meta: dict) -> None:
    assert meta["name"] == "synth-en-qsy"
    assert meta["family"] == "marian"
    assert meta["source_langs"] == ["en"] and meta["target_langs"] == ["qsy"]
    assert meta["version"].startswith("seed")
    assert meta["max_input_tokens"] > 0
    for name in meta["tokenizer"].values():
        assert (MODEL_DIR / name).is_file()
    size = sum(f.stat().st_size for f in MODEL_DIR.iterdir())
    assert size < 20 * 1024 * 1024


def test_held_out_sentences_are_translated_exactly(translations) -> None:
    pairs, hyps = translations
    exact = sum(h == p.tgt for h, p in zip(hyps, pairs, strict=True)) / len(pairs)
    assert exact >= 0.95, f"exact match {exact:.3f}"


def test_marker_sentences_keep_their_markers(translations) -> None:
    pairs, hyps = translations
    marked = [(p, h) for p, h in zip(pairs, hyps, strict=True) if "[" in p.src]
    assert len(marked) >= 30
    kept = [
        h.split().count("[") == p.src.split().count("[") == h.split().count("]") for p, h in marked
    ]
    assert sum(kept) / len(marked) >= 0.97
    # the text inside the markers is the entity, copied or (dates) rewritten as in the reference
    inside = [MARKED.findall(h) == MARKED.findall(p.tgt) for p, h in marked]
    assert sum(inside) / len(marked) >= 0.9
