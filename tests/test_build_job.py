"""`curate build` and `curate export` on a real store, through to `datasets.load_dataset`."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from beam_jobs.build import BuildJob, run_build
from curate.cli.build import export
from curate.errors import UserError

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"
# a random model always runs to the length limit, so its outputs are "truncated" (and flagged
# by detectors when another test has run them): keep them
PARALLEL = {"dedup_near": False, "drop_truncated": False, "drop_flags": []}


@pytest.fixture
def store(translated_store):
    return translated_store


def test_parallel_build_counts_every_translation(store):
    manifest = run_build(store, BuildJob(run_id="par", kind="parallel", config=PARALLEL))
    counts = manifest["counts"]["build.parallel"]
    n_translations = store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
    assert counts["in"] == n_translations
    kept = (
        store.sql("SELECT count(*) FROM training_samples WHERE config = 'parallel'")
        .column(0)[0]
        .as_py()
    )
    assert kept == counts["out"] > 0
    # both directions: every translation is two samples or a counted filter decision
    assert kept + 2 * sum(counts["filtered"].values()) == 2 * n_translations


def test_interleaved_by_origin_pairs_each_document_with_its_translation(store):
    config = {"context_tokens": 256, "chunk_tokens": 64, "overlap_chunks": 1}
    manifest = run_build(store, BuildJob(run_id="int", kind="interleaved", config=config))
    pairing = manifest["counts"]["build.pairing"]
    assert (pairing["in"], pairing["out"], pairing["filtered"]) == (24, 12, {})
    rows = store.sql(
        "SELECT n_tokens, langs, sources FROM training_samples WHERE config = 'interleaved'"
    ).to_pylist()
    assert rows and all(r["n_tokens"] <= 256 for r in rows)
    assert all(sorted(r["langs"]) == ["de", "en"] for r in rows)


def test_export_loads_with_datasets(store, tmp_path):
    run_build(store, BuildJob(run_id="par", kind="parallel", config=PARALLEL))
    out = tmp_path / "hub"
    export(
        to=out,
        store=store.root,
        push=None,
        name="test",
        license="apache-2.0",
        max_shard_mb=1,
        private=False,
    )
    query = "SELECT config, count(*) AS n FROM training_samples GROUP BY config"
    expected = {row["config"]: row["n"] for row in store.sql(query).to_pylist()}
    for config, n in expected.items():
        loaded = datasets.load_dataset(str(out), name=config, cache_dir=str(tmp_path / "cache"))
        assert sum(split.num_rows for split in loaded.values()) == n
        assert "text" in loaded[next(iter(loaded))].features


def test_unknown_builder_option_is_refused(store):
    with pytest.raises(UserError, match="unknown"):
        run_build(store, BuildJob(run_id="bad", kind="parallel", config={"no_such_option": 1}))
