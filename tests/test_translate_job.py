"""`curate translate`: the Beam job over a real (random) CTranslate2 model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beam_jobs.ingest import InputSpec, run_ingest
from beam_jobs.translate import TranslateJob, run_translate
from curate.errors import UserError
from curate.ingest import IngestConfig
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import MemoryEntry, TranslationMemory, normalize_text
from curate.mt.random_model import random_ct2_model
from curate.mt.stage import translate_rows
from curate.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    texts = [
        json.loads(line)["text"] for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()
    ]
    return random_ct2_model(
        tmp_path_factory.mktemp("model") / "random-en-de", texts, src="en", tgt="de"
    )


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest-news", lang="en"),
    )
    return store


def job(model: Path, run_id: str = "tr") -> TranslateJob:
    config = TranslateConfig(beam_size=1, max_decoding_length=16)
    return TranslateJob(run_id=run_id, targets=("de",), model=str(model), config=config)


def test_translates_every_segment_with_scores_and_lineage(store, model):
    manifest = run_translate(store, job(model))
    rows = store.sql(
        "SELECT t.source_id, t.source_text, s.text AS segment, t.text, t.score, t.model_id, "
        "t.src_lang, t.tgt_lang FROM translations t JOIN segments s ON s.id = t.source_id"
    ).to_pylist()
    n_segments = store.sql("SELECT count(*) FROM segments").column(0)[0].as_py()
    assert len(rows) == n_segments == manifest["counts"]["translate"]["in"]
    assert all(r["source_text"] == r["segment"] for r in rows)  # order restored after sorting
    assert all(r["score"] is not None and r["score"] <= 0 for r in rows)
    assert {(r["src_lang"], r["tgt_lang"]) for r in rows} == {("en", "de")}
    assert manifest["versions"]["model"].startswith("random-marian@")


def test_second_run_is_served_by_the_memory(store, model):
    run_translate(store, job(model))
    run_translate(store, job(model, run_id="tr2"))
    fresh = (
        store.sql("SELECT count(*) FROM translations WHERE run_id = 'tr' AND from_memory")
        .column(0)[0]
        .as_py()
    )
    again = (
        store.sql("SELECT count(*) FROM translations WHERE run_id = 'tr2' AND NOT from_memory")
        .column(0)[0]
        .as_py()
    )
    assert fresh == 0 and again == 0
    same = (
        store.sql(
            "SELECT count(*) FROM translations a JOIN translations b ON a.source_id = b.source_id "
            "WHERE a.run_id = 'tr' AND b.run_id = 'tr2' AND a.text = b.text"
        )
        .column(0)[0]
        .as_py()
    )
    assert same == store.sql("SELECT count(*) FROM segments").column(0)[0].as_py()
    assert store.sql("SELECT count(*) FROM memory").column(0)[0].as_py() > 0


def test_unsupported_language_is_refused_before_any_work(store, model):
    with pytest.raises(UserError, match="fr"):
        run_translate(store, TranslateJob(run_id="bad", targets=("fr",), model=str(model)))
    assert store.manifest("bad") is None


def test_small_batches_each_submitted_before_the_last_is_collected_give_the_same_rows(store, model):
    run_translate(store, job(model, run_id="whole"))
    rows = "SELECT source_id, text, score, from_memory FROM translations WHERE run_id = '{}'"
    whole = store.sql(rows.format("whole") + " ORDER BY source_id").to_pylist()
    again = Store(store.root.parent / "again")
    run_ingest(
        again,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest-news", lang="en"),
    )
    small = TranslateJob(**{**job(model, run_id="small").__dict__, "batch_tokens": 40})
    manifest = run_translate(again, small)
    batched = again.sql(rows.format("small") + " ORDER BY source_id").to_pylist()
    assert manifest["counts"]["translate"]["in"] == len(whole) > 10
    assert [r["text"] for r in batched] == [r["text"] for r in whole]
    assert [r["score"] for r in batched] == pytest.approx([r["score"] for r in whole])
    assert not any(r["from_memory"] for r in batched)


def test_one_file_in_tiny_shards_over_two_workers_gives_the_rows_of_one_shard(
    store, model, tmp_path, monkeypatch
):
    """A stage committed as one file is still cut into shards that every worker reads a part
    of; the rows are those of one shard on one worker."""
    import beam_jobs.translate as translate

    assert len(store.stage_files("segments")) == 1
    run_translate(store, job(model, run_id="whole"))
    rows = "SELECT source_id, text, score FROM translations WHERE run_id = '{}' ORDER BY source_id"
    whole = store.sql(rows.format("whole")).to_pylist()
    again = Store(tmp_path / "again")
    run_ingest(
        again,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest-news", lang="en"),
    )
    monkeypatch.setattr(translate, "SHARD_ROWS", 7)
    manifest = run_translate(again, job(model, run_id="sharded"), workers=2)
    sharded = again.sql(rows.format("sharded")).to_pylist()
    assert manifest["counts"]["translate"]["in"] == len(whole) > 2 * 7
    assert [(r["source_id"], r["text"]) for r in sharded] == [
        (r["source_id"], r["text"]) for r in whole
    ]
    assert [r["score"] for r in sharded] == pytest.approx([r["score"] for r in whole], abs=0.01)


def test_an_object_store_gets_the_same_translations_and_memory_as_a_local_disk(
    store, model, s3_store_uri
):
    run_translate(store, job(model))
    remote = Store(s3_store_uri)
    run_ingest(
        remote,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest-news", lang="en"),
    )
    manifest = run_translate(remote, job(model))
    rows = "SELECT source_id, source_text, text, score, from_memory FROM translations "
    local = store.sql(rows + "ORDER BY source_id").to_pylist()
    s3 = remote.sql(rows + "ORDER BY source_id").to_pylist()
    assert manifest["counts"]["translate"]["in"] == len(s3) == len(local) > 10
    assert [r["text"] for r in s3] == [r["text"] for r in local]
    assert [r["score"] for r in s3] == pytest.approx([r["score"] for r in local])
    assert not any(r["from_memory"] for r in s3)
    # the memory lives in the bucket, compacted to one file, and serves the next run
    memory = TranslationMemory(remote.uri)
    assert len(memory.files("en", "de")) == 1
    run_translate(remote, job(model, run_id="tr2"))
    again = remote.sql(rows + "WHERE run_id = 'tr2' ORDER BY source_id").to_pylist()
    assert all(r["from_memory"] for r in again)
    assert [r["text"] for r in again] == [r["text"] for r in local]
    assert remote.sql("SELECT count(*) FROM memory").column(0)[0].as_py() == len(
        {r["source_text"] for r in local}
    )


def _plant(memory: TranslationMemory, texts: list[str], model_id: str, version: str) -> None:
    """Entries for ``texts`` (recognisable translations), three to a file, plus entries under
    another decoding that must never be found."""
    decoding = job(Path()).config.decoding_key()
    for i in range(0, len(texts), 3):
        chunk = {t: MemoryEntry(f"MEM {t[:20]}", -0.5, pieces=2) for t in texts[i : i + 3]}
        memory.add(model_id, version, "en", "de", chunk, decoding=decoding)
        memory.add(model_id, version, "en", "de", chunk, decoding="other")
        memory.flush()


def test_memory_joined_by_key_in_tiny_shards_gives_the_rows_of_a_lookup(store, model, tmp_path):
    # every text twice (a second dataset), a third of the distinct texts in the memory
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news2", "ingest-news2", lang="en"),
    )
    segments = store.sql("SELECT id, text, lang FROM segments ORDER BY id").to_pylist()
    distinct = sorted({normalize_text(r["text"]) for r in segments if r["text"].strip()})
    planted = distinct[::3]
    engine = TranslationEngine.load(str(model), config=job(model).config, download=False)
    key = (engine.model.model_id, engine.model.version)
    _plant(TranslationMemory(store.location), planted, *key)
    _plant(TranslationMemory(tmp_path / "reference"), planted, *key)
    # the per-call lookup of the library: one call over every row
    reference = translate_rows(
        engine,
        segments,
        "en",
        "de",
        run_id="tr",
        memory=TranslationMemory(tmp_path / "reference"),
        config=job(model).config,
    )
    expected = sorted(reference.translations, key=lambda r: r["source_id"])

    assert len(TranslationMemory(store.location).shards("en", "de", max_rows=1)) > 3
    tiny = TranslateJob(**{**job(model).__dict__, "batch_tokens": 40, "memory_shard_rows": 1})
    manifest = run_translate(store, tiny)
    got = store.sql("SELECT * FROM translations ORDER BY source_id").to_pylist()
    assert manifest["counts"]["translate"]["in"] == len(segments) == len(got) > 20
    columns = ("id", "source_id", "source_text", "text", "from_memory", "source_line", "meta")
    assert [[r[c] for c in columns] for r in got] == [[r[c] for c in columns] for r in expected]
    assert [r["score"] for r in got] == pytest.approx([r["score"] for r in expected])
    hits = [r for r in got if r["from_memory"]]
    assert {normalize_text(r["source_text"]) for r in hits} == set(planted)
    assert len(hits) == sum(normalize_text(r["text"]) in set(planted) for r in segments)
    assert all(r["text"].startswith("MEM ") for r in hits) and len(hits) < len(got)
    # every miss was learned: a second run is served by the memory alone
    run_translate(store, job(model, run_id="again"))
    again = store.sql("SELECT from_memory, text FROM translations WHERE run_id = 'again'")
    assert all(again.column("from_memory").to_pylist())
    assert sorted(again.column("text").to_pylist()) == sorted(r["text"] for r in got)


def test_the_job_starts_without_torch():
    # Beam's RunInference would import torch (2 s of start-up) for a model manager the job does
    # not need; worker processes import this module too
    code = "import sys, beam_jobs.translate; assert 'torch' not in sys.modules, 'torch imported'"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
