"""The engine with the model that ships (English -> synthetic qsy): real translations, exact.

Skipped when ``datasets/models/en-qsy`` is absent (it is built by ``curate.synth.train``).
"""

from __future__ import annotations

import pytest

from curate.errors import UserError
from curate.mt.documents import translate_documents
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.registry import REGISTRY, resolve_model

SHIPPED = REGISTRY["en-qsy"].local_path
pytestmark = pytest.mark.skipif(
    SHIPPED is None or not (SHIPPED / "model.bin").exists(), reason="shipped model not built"
)
#: Seeds 1-3 are the synthetic training, development and model-test sets.
SEED = 11


@pytest.fixture(scope="module")
def pairs():
    from curate.synth import generate

    return generate(120, seed=SEED)


@pytest.fixture(scope="module")
def engine() -> TranslationEngine:
    return TranslationEngine.load("en-qsy", device="cpu", config=TranslateConfig(beam_size=1))


def test_the_shipped_model_is_found_by_name_with_its_pair(engine: TranslationEngine) -> None:
    info = resolve_model("en-qsy")
    assert info.family_name == "marian"
    assert engine.languages("eng", "qsy")[1].tag == "qsy"
    with pytest.raises(UserError, match="target language 'de'"):
        engine.languages("en", "de")


def test_held_out_sentences_translate_exactly_in_input_order(engine, pairs) -> None:
    cfg = TranslateConfig(beam_size=1, max_batch_tokens=64, batch_call_tokens=200)
    results = engine.translate_texts([p.src for p in pairs], "en", "qsy", config=cfg)
    exact = sum(r.text == p.tgt for r, p in zip(results, pairs, strict=True)) / len(pairs)
    assert exact >= 0.9, f"exact match {exact:.3f}"
    assert all(r.ok and r.score is not None and r.score > -2.0 for r in results)


def test_documents_translate_sentence_by_sentence_keeping_layout(engine, pairs) -> None:
    a, b, c = pairs[0], pairs[1], pairs[2]
    doc = f"{a.src}  {b.src}\n\n{c.src}\n"
    (result,) = translate_documents(engine, [doc], "en", "qsy")
    got = [s.text for s in result.segments]
    assert result.text == f"{got[0]}  {got[1]}\n\n{got[2]}\n"
    assert sum(g == p.tgt for g, p in zip(got, (a, b, c), strict=True)) >= 2
