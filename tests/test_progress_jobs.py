"""Progress within real Beam jobs: what a progress callback sees while ingest and translate run."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from beam_jobs.build import BuildJob, run_build
from beam_jobs.detect import DetectJob, run_detect
from beam_jobs.ingest import InputSpec, run_ingest
from beam_jobs.project import ProjectJob, run_align
from beam_jobs.translate import TranslateJob, run_translate
from curate.ingest import IngestConfig
from curate.mt.engine import TranslateConfig
from curate.progress import ProgressUpdate
from curate.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"


def write_jsonl(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = f"Record {i} says five words. Then one more sentence."
            fh.write(json.dumps({"id": f"r{i}", "text": text}) + "\n")
        fh.write("\n")  # a blank line: filtered, still read
        fh.write("{not json\n")  # quarantined, still read
    return path


def assert_monotonic(updates: list[ProgressUpdate]) -> None:
    for before, after in itertools.pairwise(updates):
        assert after.records >= before.records
        assert after.tokens >= before.tokens
        assert after.bytes >= before.bytes


def ingest(tmp_path: Path, n: int, workers: int) -> tuple[dict, list[ProgressUpdate], Path]:
    source = write_jsonl(tmp_path / "in.jsonl", n)
    updates: list[ProgressUpdate] = []
    manifest = run_ingest(
        Store(tmp_path / "store"),
        [InputSpec(str(source), "jsonl")],
        IngestConfig("d", "ingest-d", lang="en", identify_language=False),
        workers=workers,
        progress=updates.append,
    )
    return manifest, updates, source


def test_ingest_progress_grows_to_records_in_and_the_file_size(tmp_path):
    manifest, updates, source = ingest(tmp_path, 6000, workers=1)
    records_in = manifest["counts"]["ingest"]["in"]
    assert records_in == 6002
    assert_monotonic(updates)
    first, last = updates[0], updates[-1]
    assert (first.records, first.done) == (0, False)
    assert first.total == source.stat().st_size and first.unit == "bytes"
    assert last.done and last.stage == "ingest"
    assert last.records == records_in
    assert last.bytes == source.stat().st_size  # bytes read, the unit of the total
    assert last.tokens == 6000 * 9  # whitespace tokens of the texts
    assert last.eta_s == 0.0
    # batches of 2048 records: the callback heard of work before the end
    assert len({u.records for u in updates}) >= 2


@pytest.mark.slow
def test_ingest_progress_adds_up_across_worker_processes(tmp_path):
    manifest, updates, source = ingest(tmp_path, 6000, workers=2)
    assert_monotonic(updates)
    assert updates[-1].done
    assert updates[-1].records == manifest["counts"]["ingest"]["in"] == 6002
    assert updates[-1].bytes == source.stat().st_size


def test_translate_progress_counts_pairs_against_the_parquet_total(tmp_path, random_model):
    store = Store(tmp_path / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest-news", lang="en"),
    )
    segments = store.sql("SELECT text FROM segments").column(0).to_pylist()
    updates: list[ProgressUpdate] = []
    job = TranslateJob(
        run_id="tr",
        targets=("de", "en"),  # en -> en is no work: not in the total
        model=str(random_model),
        batch_tokens=64,
        config=TranslateConfig(beam_size=1, max_decoding_length=4),
    )
    manifest = run_translate(store, job, progress=updates.append)
    records_in = manifest["counts"]["translate"]["in"]
    assert records_in == len(segments)
    assert_monotonic(updates)
    assert updates[0].total == records_in and updates[0].unit == "records"
    assert updates[-1].done and updates[-1].records == records_in
    assert updates[-1].stage == "translate"
    assert updates[-1].tokens == sum(len(t.split()) for t in segments)


def test_detect_reports_without_any_job_specific_code(translated_store):
    updates: list[ProgressUpdate] = []
    manifest = run_detect(translated_store, DetectJob("detect-progress"), progress=updates.append)
    assert_monotonic(updates)
    assert updates[-1].done
    assert updates[-1].records == manifest["counts"]["detect"]["in"] > 0
    assert updates[-1].tokens == 0  # detect does not count tokens: records only


def test_a_failing_callback_does_not_stop_the_job(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", 10)

    def broken(update: ProgressUpdate) -> None:
        raise RuntimeError("display gone")

    manifest = run_ingest(
        Store(tmp_path / "store"),
        [InputSpec(str(source), "jsonl")],
        IngestConfig("d", "ingest-d", lang="en", identify_language=False),
        progress=broken,
    )
    assert manifest["counts"]["ingest"]["in"] == 12


@pytest.mark.parametrize("kind", ["align", "build-parallel"])
def test_per_pair_jobs_end_at_their_expected_total(translated_store, kind):
    updates: list[ProgressUpdate] = []
    if kind == "align":
        manifest = run_align(translated_store, ProjectJob("align-p"), progress=updates.append)
    else:
        job = BuildJob("build-p", "parallel")
        manifest = run_build(translated_store, job, progress=updates.append)
    stage = "align" if kind == "align" else "build.parallel"
    translations = translated_store.sql("SELECT count(*) FROM translations").column(0)[0]
    assert_monotonic(updates)
    assert updates[0].total == translations.as_py()
    assert updates[-1].done and updates[-1].stage == stage
    assert updates[-1].records == manifest["counts"][stage]["in"] == updates[-1].total
