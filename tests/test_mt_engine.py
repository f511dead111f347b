"""The translation engine on a real (random-weight) CTranslate2 model: order, batching, memory,
poison isolation, long inputs, documents and the translate stage.

The model is built once (a random Marian, converted to int8) and kept in pytest's cache
directory, so only the first run pays for torch and the conversion.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from curate.errors import UserError
from curate.mt.documents import split_document, translate_documents
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import TranslationMemory
from curate.mt.random_model import RandomMarianConfig, random_ct2_model
from curate.mt.stage import translate_rows
from curate.records import load_schema

SENTENCES = [
    "The committee met on Monday to discuss the budget.",
    "Rain is expected across the north of the country tomorrow.",
    "She bought three apples, two pears and a melon at the market.",
    "The new bridge will open to traffic in March 2027.",
    "Scientists found water on a small moon of Saturn.",
    "Prices rose by 4.5 percent in the last quarter.",
    "He said the decision was final and could not be appealed.",
    "A poison warning was issued for the river near the factory.",
    "The museum is closed on public holidays.",
    "Our team won the match after extra time.",
    "Please send the report before Friday evening.",
    "The train to Zurich leaves from platform seven.",
    "Children under twelve travel for free.",
    "The company hired two hundred new workers this year.",
    "Heavy snow closed the mountain pass overnight.",
    "The minister resigned after the vote.",
]
CONFIG = TranslateConfig(beam_size=1, max_decoding_length=24)


@pytest.fixture(scope="module")
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = RandomMarianConfig()
    key = hashlib.blake2b(json.dumps([SENTENCES, repr(cfg)]).encode(), digest_size=6).hexdigest()
    try:
        root = request.config.cache.mkdir("curate-mt-models")  # type: ignore[union-attr]
    except AttributeError:  # cache plugin disabled
        root = tmp_path_factory.mktemp("models")
    return random_ct2_model(root / f"random-marian-{key}", SENTENCES * 4, cfg)


@pytest.fixture(scope="module")
def engine(model_dir: Path) -> TranslationEngine:
    return TranslationEngine.load(model_dir, device="cpu", config=CONFIG)


class Recorder:
    """Wraps the CTranslate2 translator and records what each call was given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[list[str]]] = []

    def translate_batch(self, source: list[list[str]], **kwargs: Any) -> list[Any]:
        self.calls.append(source)
        return self.inner.translate_batch(source, **kwargs)


class Poisoned(Recorder):
    """Raises on any batch holding a source whose text contains ``marker``."""

    def __init__(self, inner: Any, marker: str) -> None:
        super().__init__(inner)
        self.marker = marker

    def translate_batch(self, source: list[list[str]], **kwargs: Any) -> list[Any]:
        self.calls.append(source)
        for tokens in source:
            if self.marker in "".join(tokens).replace("▁", " "):
                raise RuntimeError(f"cannot translate {self.marker!r}")
        return self.inner.translate_batch(source, **kwargs)


def one_by_one(engine: TranslationEngine, texts: list[str]) -> list[str | None]:
    return [engine.translate_texts([t], "en", "de")[0].text for t in texts]


# --------------------------------------------------------------------------------------------


def test_results_come_back_in_input_order_after_length_sorting(model_dir: Path) -> None:
    texts = [*sorted(SENTENCES, key=len, reverse=True), "Yes.", "It is done now."]
    small_calls = TranslateConfig(
        beam_size=1, max_decoding_length=24, max_batch_tokens=32, batch_call_tokens=40
    )
    recorder: list[Recorder] = []

    def wrap(inner: Any) -> Recorder:
        recorder.append(Recorder(inner))
        return recorder[0]

    engine = TranslationEngine.load(model_dir, device="cpu", config=small_calls, wrap_backend=wrap)
    results = engine.translate_texts(texts, "en", "de")

    assert [r.source for r in results] == texts
    assert [r.text for r in results] == one_by_one(engine, texts)
    calls = recorder[0].calls[: len(recorder[0].calls) - len(texts)]  # the batched run only
    assert len(calls) > 1
    lengths = [len(tokens) for call in calls for tokens in call]
    assert lengths == sorted(lengths)  # shortest first, across calls


def test_scores_are_length_normalised_log_probabilities(engine: TranslationEngine) -> None:
    results = engine.translate_texts(SENTENCES[:4], "en", "de")
    for r in results:
        assert r.score is not None and r.score < 0
    # Changing the length penalty changes the search, not the meaning of the score.
    plain = engine.translate_texts(SENTENCES[:1], "en", "de")[0]
    other = engine.translate_texts(
        SENTENCES[:1],
        "en",
        "de",
        config=TranslateConfig(beam_size=1, max_decoding_length=24, length_penalty=0.0),
    )[0]
    assert other.text == plain.text
    assert other.score == pytest.approx(plain.score, abs=1e-4)


def test_empty_and_whitespace_inputs_pass_through_without_a_model_call(
    engine: TranslationEngine,
) -> None:
    before = engine.stats.model_segments
    results = engine.translate_texts(["", "   ", "\n\t"], "en", "de")
    assert [r.text for r in results] == ["", "   ", "\n\t"]
    assert all(r.passthrough and r.ok for r in results)
    assert engine.stats.model_segments == before


def test_second_run_with_memory_makes_no_model_call(
    engine: TranslationEngine, tmp_path: Path
) -> None:
    texts = SENTENCES + SENTENCES[:5] + ["  The museum   is closed on public holidays. "]
    start = engine.stats.model_segments
    with TranslationMemory(tmp_path) as memory:
        first = engine.translate_texts(texts, "en", "de", memory=memory)
    first_calls = engine.stats.model_segments - start
    assert first_calls == len(SENTENCES)  # repeats (and a whitespace variant) translated once

    mid = engine.stats.model_segments
    with TranslationMemory(tmp_path) as memory:  # a new process would see the same files
        second = engine.translate_texts(texts, "en", "de", memory=memory)
    assert engine.stats.model_segments == mid
    assert all(r.from_memory for r in second)
    assert [r.text for r in second] == [r.text for r in first]
    assert [r.score for r in second] == pytest.approx([r.score for r in first])

    files = sorted((tmp_path / "memory" / "src_lang=en" / "tgt_lang=de").glob("*.parquet"))
    assert len(files) == 1
    file_schema = load_schema("translation_memory").file_schema
    assert pq.read_schema(files[0]).remove_metadata().equals(file_schema.remove_metadata())
    count = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM read_parquet('{tmp_path}/memory/**/*.parquet', "
            "hive_partitioning = true) WHERE tgt_lang = 'de'"
        )
        .fetchone()
    )
    assert count == (len(SENTENCES),)


def test_memory_is_keyed_by_decoding_options(engine: TranslationEngine, tmp_path: Path) -> None:
    with TranslationMemory(tmp_path) as memory:
        engine.translate_texts(SENTENCES[:3], "en", "de", memory=memory)
        before = engine.stats.model_segments
        beam = TranslateConfig(beam_size=2, max_decoding_length=24)
        results = engine.translate_texts(SENTENCES[:3], "en", "de", memory=memory, config=beam)
    assert engine.stats.model_segments == before + 3
    assert not any(r.from_memory for r in results)


def test_a_poison_record_is_isolated_and_the_rest_translated(model_dir: Path) -> None:
    wrappers: list[Poisoned] = []

    def wrap(inner: Any) -> Poisoned:
        wrappers.append(Poisoned(inner, "poison"))
        return wrappers[0]

    engine = TranslationEngine.load(model_dir, device="cpu", config=CONFIG, wrap_backend=wrap)
    results = engine.translate_texts(SENTENCES, "en", "de")

    bad = [i for i, r in enumerate(results) if not r.ok]
    assert bad == [SENTENCES.index("A poison warning was issued for the river near the factory.")]
    assert "RuntimeError: cannot translate 'poison'" in (results[bad[0]].error or "")
    assert results[bad[0]].text is None
    clean = [t for t in SENTENCES if "poison" not in t]
    assert [r.text for r in results if r.ok] == one_by_one(engine, clean)
    assert engine.stats.failures == 1


def test_an_input_the_model_itself_rejects_is_isolated(engine: TranslationEngine) -> None:
    # Claiming a longer limit than the model's 128 positions makes CTranslate2 raise, inside
    # its worker threads, for the one long input only.
    cfg = TranslateConfig(beam_size=1, max_decoding_length=8, max_input_tokens=100_000)
    long_text = " ".join(SENTENCES * 3)
    results = engine.translate_texts(
        [SENTENCES[0], long_text, SENTENCES[1]], "en", "de", config=cfg
    )
    assert [r.ok for r in results] == [True, False, True]
    assert "position" in (results[1].error or "")


def test_long_input_is_split_at_punctuation_and_never_cut_silently(
    engine: TranslationEngine,
) -> None:
    cfg = TranslateConfig(beam_size=1, max_decoding_length=24, max_input_tokens=24)
    long_text = " ".join(SENTENCES[:4])
    no_spaces = "x" * 200
    results = engine.translate_texts([long_text, no_spaces, "Short."], "en", "de", config=cfg)
    split, cut, short = results
    assert split.ok and split.pieces >= 2 and not split.input_truncated
    assert cut.ok and cut.input_truncated and cut.truncated  # cut, and says so
    assert short.pieces == 1 and not short.input_truncated


def test_output_reaching_the_decoding_limit_is_flagged(engine: TranslationEngine) -> None:
    cfg = TranslateConfig(beam_size=1, max_decoding_length=3)
    result = engine.translate_texts([SENTENCES[0]], "en", "de", config=cfg)[0]
    assert result.truncated and not result.input_truncated


def test_unsupported_language_pair_is_refused(engine: TranslationEngine) -> None:
    with pytest.raises(UserError, match="target language 'fr'"):
        engine.translate_texts(["Hello."], "en", "fr")


def test_documents_keep_whitespace_and_paragraph_breaks(engine: TranslationEngine) -> None:
    doc = (
        "  The committee met on Monday. Prices rose by 4.5 percent!\n\n\n"
        "Heavy snow closed the pass.\nThe minister resigned.  \n"
    )
    parts = split_document(doc, "en")
    assert "".join(p.text for p in parts) == doc
    sentences = [p.text for p in parts if p.translate]
    assert sentences == [
        "The committee met on Monday.",
        "Prices rose by 4.5 percent!",
        "Heavy snow closed the pass.",
        "The minister resigned.",
    ]
    result = translate_documents(engine, [doc, ""], "en", "de")
    t = [s.text for s in result[0].segments]
    assert result[0].text == f"  {t[0]} {t[1]}\n\n\n{t[2]}\n{t[3]}  \n"
    assert result[1].text == "" and result[1].ok


def test_a_document_with_a_failed_sentence_is_not_returned_with_a_hole(model_dir: Path) -> None:
    engine = TranslationEngine.load(
        model_dir, device="cpu", config=CONFIG, wrap_backend=lambda t: Poisoned(t, "poison")
    )
    docs = ["Rain is expected. A poison warning was issued.", "The museum is closed."]
    first, second = translate_documents(engine, docs, "en", "de")
    assert first.text is None and "poison" in (first.error or "")
    assert second.ok and second.text


def test_translate_stage_writes_translations_and_quarantine(model_dir: Path) -> None:
    engine = TranslationEngine.load(
        model_dir, device="cpu", config=CONFIG, wrap_backend=lambda t: Poisoned(t, "poison")
    )
    rows = [
        {"id": f"s{i}", "text": t, "dataset": "news", "source_file": "a.jsonl", "source_line": i}
        for i, t in enumerate(SENTENCES[:9])
    ]
    result = translate_rows(engine, rows, "en", "de", run_id="r1")
    translations, quarantine = result.tables()
    assert translations.num_rows + quarantine.num_rows == len(rows)
    assert quarantine.num_rows == 1
    load_schema("translations").validate(translations)
    load_schema("quarantine").validate(quarantine)
    q = quarantine.to_pylist()[0]
    assert q["reason"] == "translation_failed" and json.loads(q["payload"])["id"] == "s7"
    row = translations.to_pylist()[0]
    assert (row["src_lang"], row["tgt_lang"], row["origin"]) == ("en", "de", "mt")
    assert row["model_version"] == engine.model.version and row["source_id"] == "s0"


def test_a_batch_submitted_before_the_previous_is_collected_gets_the_same_results(
    model_dir: Path, tmp_path: Path
) -> None:
    first, second = SENTENCES[:6], [SENTENCES[2], *SENTENCES[6:], SENTENCES[4]]
    reference = TranslationEngine.load(model_dir, device="cpu", config=CONFIG)
    with TranslationMemory(tmp_path / "sequential") as memory:
        expected = [
            reference.translate_texts(b, "en", "de", memory=memory) for b in (first, second)
        ]

    engine = TranslationEngine.load(model_dir, device="cpu", config=CONFIG)
    with TranslationMemory(tmp_path / "pipelined") as memory:
        pending = [engine.submit_texts(b, "en", "de", memory=memory) for b in (first, second)]
        got = [p.result() for p in pending]
    assert got == expected  # texts, scores and flags, in order
    # the repeats in the second batch came from the first one's translation, as from the memory
    assert [r.from_memory for r in got[1]] == [True] + [False] * (len(second) - 2) + [True]
    assert engine.stats.model_segments == reference.stats.model_segments == len(SENTENCES)
    assert engine.stats.memory_hits == 2


def test_a_repeat_of_a_poison_record_in_a_later_batch_is_isolated_there_too(
    model_dir: Path, tmp_path: Path
) -> None:
    poison = "A poison warning was issued for the river near the factory."
    engine = TranslationEngine.load(
        model_dir, device="cpu", config=CONFIG, wrap_backend=lambda t: Poisoned(t, "poison")
    )
    with TranslationMemory(tmp_path) as memory:
        pending = [
            engine.submit_texts(b, "en", "de", memory=memory)
            for b in ([poison, *SENTENCES[:3]], [SENTENCES[5], poison, SENTENCES[1]])
        ]
        second = pending[1].result()  # collected in any order
        first = pending[0].result()
    assert [r.ok for r in first] == [False, True, True, True]
    assert [r.ok for r in second] == [True, False, True]
    assert "cannot translate 'poison'" in (second[1].error or "")
    assert second[2].from_memory and second[2].text == first[2].text
