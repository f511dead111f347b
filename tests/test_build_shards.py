"""Building in shards: mixing in buckets of samples and interleaving by document pair.

Tiny bucket sizes force the samples over many buckets; the jobs must keep every record
(drawn, or counted as not drawn) and, with one bucket, give the rows of the library called on
all samples at once.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import beam_jobs.build as job
from beam_jobs.ingest import InputSpec, run_ingest
from curate.ingest import IngestConfig
from curate.store import Store
from curate.synth import generate
from curate.trainsets.interleave import InterleaveConfig, build_interleaved
from curate.trainsets.mixing import MixConfig, available_tokens, mix, plan_mix
from curate.trainsets.pairing import pair_by_key

MIX = {"strategy": "temperature", "temperature": 2.0}


def _samples(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store.sql(f"SELECT * FROM training_samples WHERE run_id = '{run_id}' ORDER BY id")
    return [{k: v for k, v in r.items() if k != "run_id"} for r in rows.to_pylist()]


@pytest.fixture(scope="module")
def two_pairs(tmp_path_factory) -> Store:
    """Bitext of two language pairs of different sizes (en-qsy 90 pairs, en-qsz 30)."""
    folder = tmp_path_factory.mktemp("mix")
    store = Store(folder / "store")
    for lang, n, seed in (("qsy", 90, 3), ("qsz", 30, 4)):
        lines = [f"{p.src} ||| {p.tgt}" for p in generate(n, seed=seed)]
        (folder / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        run_ingest(
            store,
            [InputSpec(str(folder / f"{lang}.txt"), "bitext")],
            IngestConfig(f"synth-{lang}", f"ingest-{lang}", lang="en", target_lang=lang),
        )
    return store


def test_mixing_in_one_bucket_draws_the_rows_of_the_library(two_pairs, monkeypatch):
    """One bucket: the rows of `mix` over every built sample (in id order)."""
    config = {"dedup_near": False}
    job.run_build(two_pairs, job.BuildJob("unmixed", "parallel", config=config))
    built = _samples(two_pairs, "unmixed")
    expected = mix(built, MixConfig.from_dict(MIX))
    assert expected.report.filtered["not_sampled"] > 0
    manifest = job.run_build(two_pairs, job.BuildJob("mixed", "parallel", config=config, mix=MIX))
    got = _samples(two_pairs, "mixed")
    assert [(s["id"], s["text"]) for s in got] == sorted(
        (s["id"], s["text"]) for s in expected.samples
    )
    assert manifest["counts"]["build.mix"] == expected.report.to_counts()


def test_mixing_in_tiny_buckets_keeps_every_sample_and_the_quotas(two_pairs, monkeypatch):
    """Buckets of 7 samples: each takes its share of every group's quota, so the groups get
    their planned tokens (within a few samples), and every sample is drawn or counted."""
    config = {"dedup_near": False}
    job.run_build(two_pairs, job.BuildJob("unmixed-7", "parallel", config=config))
    built = _samples(two_pairs, "unmixed-7")
    mix_config = MixConfig.from_dict(MIX)
    plan = plan_mix(available_tokens(built, mix_config), mix_config)
    monkeypatch.setattr(job, "MIX_ROWS", 7)
    manifest = job.run_build(two_pairs, job.BuildJob("mixed-7", "parallel", config=config, mix=MIX))
    got = _samples(two_pairs, "mixed-7")
    counts = manifest["counts"]["build.mix"]
    assert counts["in"] == len(built) and counts["out"] == len(got)
    assert counts["in"] == len(got) + counts["filtered"]["not_sampled"]
    assert len({s["id"] for s in got}) == len(got)
    assert {s["id"] for s in got} <= {s["id"] for s in built}
    assert job._mix_buckets(len(built)) >= len(built) // 7
    for group, tokens in available_tokens(got, mix_config).items():
        # each bucket misses or passes its share by less than one sample: 35 buckets here,
        # a few samples in all
        assert abs(tokens - plan.quotas[group]) <= 0.05 * plan.quotas[group]
    assert set(available_tokens(got, mix_config)) == set(plan.quotas)


def test_shard_quotas_add_up_to_the_group_quota_in_proportion_to_the_tokens_held():
    from curate.trainsets.mixing import MixPlan, shard_plan

    plan = MixPlan({"de-en": 0.5, "en-fr": 0.5}, 200, {"de-en": 100, "en-fr": 100})
    held = {0: {"de-en": 10, "en-fr": 5}, 1: {"de-en": 20}, 2: {"de-en": 3, "en-fr": 5}}
    quotas = [shard_plan(plan, held, s).quotas for s in held]
    assert sum(q["de-en"] for q in quotas) == 100 and sum(q["en-fr"] for q in quotas) == 100
    assert [q["de-en"] for q in quotas] == [30, 61, 9]  # 30.3, 60.6, 9.1: the largest rest
    assert [q["en-fr"] for q in quotas] == [50, 0, 50]


# -- interleaved ------------------------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"


def _library(store: Store, pair_by: str, config: dict[str, Any]) -> Any:
    """The interleaved builder called on the whole pair, as the job read it before sharding."""
    docs = job._documents(store, "link")
    if pair_by == "origin":
        pairing = pair_by_key(
            [d for d in docs if d["lang"] == "en"],
            list(job._translated_documents(store, "de").values()),
            src_key="id",
            tgt_key="source_id",
            method="origin",
        )
    else:
        pairing = pair_by_key(
            [d for d in docs if d["lang"] == "en"], [d for d in docs if d["lang"] == "de"]
        )
    return pairing, build_interleaved(pairing.pairs, InterleaveConfig.from_dict(config), run_id="x")


def _comparable(samples: list[dict[str, Any]]) -> list[tuple]:
    return sorted((s["id"], s["text"], s["n_tokens"], s["split"]) for s in samples)


@pytest.fixture(scope="module")
def origin_store(translated_store, tmp_path_factory) -> Store:
    """A copy of the translated news sample (the session's store is shared by other tests)."""
    copy = tmp_path_factory.mktemp("origin") / "store"
    shutil.copytree(translated_store.root, copy)
    return Store(copy)


@pytest.fixture(scope="module")
def linked_store(tmp_path_factory) -> Store:
    """English news documents and German documents that share their links: some paired, one
    link twice, one document without a link, some English ones without a German partner."""
    folder = tmp_path_factory.mktemp("links")
    news = [json.loads(line) for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()]
    german = []
    for i, doc in enumerate(news[:9]):
        sentences = [f"Satz {k} des Dokuments {i} über {doc['link']} ." for k in range(3 + i % 4)]
        german.append({"id": f"de-{i}", "text": " ".join(sentences), "link": doc["link"]})
    german.append(
        {"id": "de-again", "text": "Noch einmal dieselbe Geschichte .", "link": news[0]["link"]}
    )
    german.append({"id": "de-none", "text": "Ein Dokument ohne Verweis ."})
    (folder / "de.jsonl").write_text("\n".join(json.dumps(d) for d in german) + "\n")
    store = Store(folder / "store")
    for path, lang in ((SAMPLES / "news_en.jsonl", "en"), (folder / "de.jsonl", "de")):
        run_ingest(
            store,
            [InputSpec(str(path), "jsonl")],
            IngestConfig(f"news-{lang}", f"ingest-{lang}", lang=lang, identify_language=False),
        )
    return store


@pytest.mark.parametrize("pair_by", ["origin", "link"])
def test_interleaving_in_tiny_buckets_equals_the_library_on_the_whole_pair(
    pair_by, origin_store, linked_store, monkeypatch
):
    """Documents rebuilt and paired in buckets (of 3 segments' worth of documents, then of
    links) give the pairs and counts of one call on the whole pair; unpacked samples are the
    same rows, and packed ones too when everything is one bucket."""
    store = origin_store if pair_by == "origin" else linked_store
    base = {"context_tokens": 256, "chunk_tokens": 64, "overlap_chunks": 1}
    for pack, shard_rows in ((True, 20_000), (False, 3), (True, 3)):
        config = {**base, "pack_pairs": pack}
        pairing, expected = _library(store, pair_by, config)
        monkeypatch.setattr(job, "SHARD_ROWS", shard_rows)
        run_id = f"int-{pair_by}-{pack}-{shard_rows}"
        manifest = job.run_build(
            store, job.BuildJob(run_id, "interleaved", config=config, pair_by=pair_by)
        )
        counts = manifest["counts"]
        assert counts["build.pairing"] == pairing.report.to_counts()
        got = _samples(store, run_id)
        if shard_rows == 3 and pack:
            # packing happens within a bucket: the same pairs, every one of them
            assert counts["build.interleaved"]["in"] == expected.report.n_in
            pair_ids = {p["pair_id"] for s in got for p in json.loads(s["meta"])["pairs"]}
            assert pair_ids == {p.pair_id for p in pairing.pairs}
        else:
            assert counts["build.interleaved"] == expected.report.to_counts()
            assert _comparable(got) == _comparable(expected.samples)
    if pair_by == "link":
        assert {"duplicate_key", "no_key", "unpaired"} <= set(pairing.report.filtered)


def test_retrieval_pairing_still_reads_the_pair_whole(linked_store):
    """Retrieval needs every document of the pair (its index, one-to-one linking): the
    German documents have no English translation here, so each is counted without pivot text."""
    manifest = job.run_build(
        linked_store, job.BuildJob("int-ret", "interleaved", pair_by="retrieval")
    )
    docs = job._documents(linked_store, "link")
    n_de = sum(d["lang"] == "de" for d in docs)
    n_en = sum(d["lang"] == "en" for d in docs)
    pairing = manifest["counts"]["build.pairing"]
    assert pairing["in"] == n_en + n_de and pairing["out"] == 0
    assert pairing["filtered"] == {"no_pivot_text": n_de, "unpaired": n_en}
