"""Shards of committed stages, and the align and project jobs over them.

Tiny shard and chunk sizes force a language pair over many shards and chunks; the jobs must
give the same rows as with one shard (and as the library called on the whole pair, the way the
jobs worked before they were sharded).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.common import parallelism, pipeline_options
from beam_jobs.dask import dask_beam_args
from beam_jobs.detect import DetectJob, run_detect
from beam_jobs.ingest import InputSpec, run_ingest
from beam_jobs.project import ProjectJob, run_align, run_project
from beam_jobs.shards import bucket_count, bucket_count_below, buckets_of, even_shards, even_slices
from beam_jobs.translate import TranslateJob, run_translate
from curate.align.registry import get_aligner
from curate.artifacts.config import DetectConfig
from curate.artifacts.detect import detect, fit_stats
from curate.ingest import IngestConfig
from curate.mt.engine import TranslateConfig
from curate.project.alignment import ProjectionConfig
from curate.project.stage import project_translate_train_rows
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store
from curate.store.shards import plan_shards, read_shard, store_shards
from curate.synth import generate, write_bitext, write_conll
from curate.trainsets.parallel import ParallelConfig, build_parallel

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"
FAST_EFLOMAL = {"prefix_lengths": [4], "n_samplers": 1, "rel_iterations": 0.3}


def _write(path: Path, ids: list[int], row_group_size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": [f"r{i:04d}" for i in ids], "text": [f"t{i}" for i in ids]})
    pq.write_table(table, path, row_group_size=row_group_size)
    return str(path)


@pytest.mark.parametrize("max_rows", [1, 2, 3, 5, 7, 11, 40])
def test_shards_cover_every_row_once_in_order_and_stay_in_their_partition(tmp_path, max_rows):
    en_de = tmp_path / "translations" / "src_lang=en" / "tgt_lang=de"
    en_fr = tmp_path / "translations" / "src_lang=en" / "tgt_lang=fr"
    files = [
        _write(en_de / "a.parquet", list(range(0, 10)), 4),  # row groups 4, 4, 2
        _write(en_de / "b.parquet", list(range(10, 13)), 1),
        _write(en_fr / "c.parquet", list(range(100, 117)), 5),
    ]
    shards = plan_shards(files, "translations", max_rows)
    assert all(0 < s.rows <= max_rows for s in shards)
    assert [s.index for s in shards] == list(range(len(shards)))
    read = {("en", "de"): [], ("en", "fr"): []}
    for shard in shards:
        table = read_shard(shard, ["id", "src_lang", "tgt_lang"])
        assert table.num_rows == shard.rows
        assert set(table.column("tgt_lang").to_pylist()) == {shard.key[1]}
        read[shard.key] += table.column("id").to_pylist()
    assert read[("en", "de")] == [f"r{i:04d}" for i in range(13)]
    assert read[("en", "fr")] == [f"r{i:04d}" for i in range(100, 117)]
    # one shard per partition when everything fits
    if max_rows >= 17:
        assert len(shards) == 2


def test_a_shard_reads_only_the_row_groups_it_needs(tmp_path):
    path = _write(tmp_path / "translations" / "src_lang=en" / "tgt_lang=de" / "a.parquet",
                  list(range(100)), 10)  # fmt: skip
    shards = plan_shards([path], "translations", 25)
    assert [s.rows for s in shards] == [25, 25, 25, 25]
    assert [p.row_groups for p in shards[1].pieces] == [(2, 3, 4)]


def test_shards_of_a_partition_are_of_even_sizes_never_a_small_remainder(tmp_path):
    folder = tmp_path / "translations" / "src_lang=en" / "tgt_lang=de"
    files = [_write(folder / "a.parquet", list(range(150)), 40),
             _write(folder / "b.parquet", list(range(150, 250)), 40)]  # fmt: skip
    shards = plan_shards(files, "translations", 100)
    assert [s.rows for s in shards] == [84, 84, 82]
    ids = [i for s in shards for i in read_shard(s, ["id"]).column("id").to_pylist()]
    assert ids == [f"r{i:04d}" for i in range(250)]


def test_chunks_of_a_bucket_are_even_and_buckets_stay_below_the_chunk():
    table = pa.table({"id": [f"r{i}" for i in range(101)]})
    assert [t.num_rows for t in even_slices(table, 100)] == [51, 50]
    assert [t.num_rows for t in even_slices(table, 101)] == [101]
    # hash buckets of real ids: none holds more than the chunk (no chunk of a few pairs left)
    ids = pa.array([content_id("synth", str(i)) for i in range(200_000)])
    buckets = bucket_count_below(len(ids), 20_000)
    assert buckets == 11 and bucket_count_below(20_000, 20_000) == 1
    assert max(Counter(buckets_of(ids, buckets).tolist()).values()) <= 20_000


def test_bucket_counts_are_a_multiple_of_the_workers_that_share_them():
    """The local runner deals a grouping's keys to its workers in turn: 5 buckets on 2 workers
    would be 3 and 2, so 2 workers get 6; one worker keeps the count the rows ask for."""
    assert bucket_count(100_000, 20_000) == 5 and bucket_count(100_000, 20_000, 2) == 6
    assert bucket_count(120_000, 20_000, 2) == 6 and bucket_count(100_000, 20_000, 4) == 8
    assert bucket_count(10, 20_000) == 1 and bucket_count(10, 20_000, 2) == 2
    assert parallelism(pipeline_options([])) == 1
    assert parallelism(pipeline_options([], workers=2)) == 2
    assert parallelism(pipeline_options(dask_beam_args("tcp://127.0.0.1:1", 8))) == 1


# -- jobs -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bitext_store(tmp_path_factory) -> Store:
    """200 en-qsy sentence pairs ingested as (human) translations."""
    folder = tmp_path_factory.mktemp("bitext")
    write_bitext(generate(200, seed=5), folder / "en.txt", folder / "qsy.txt")
    store = Store(folder / "store")
    spec = InputSpec(
        str(folder / "en.txt"), "bitext", options={"target_file": str(folder / "qsy.txt")}
    )
    run_ingest(store, [spec], IngestConfig("synth", "ingest", lang="en", target_lang="qsy"))
    return store


def _rows(store: Store, stage: str, run_id: str, drop: set[str]) -> list[dict]:
    rows = store.sql(f"SELECT * FROM {stage} WHERE run_id = '{run_id}' ORDER BY id").to_pylist()
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def test_align_in_chunks_gives_every_translation_one_row(bitext_store):
    whole = run_align(bitext_store, ProjectJob("al-whole", aligner_options=FAST_EFLOMAL))
    chunked = run_align(
        bitext_store, ProjectJob("al-chunks", aligner_options=FAST_EFLOMAL, chunk_pairs=30)
    )
    n = bitext_store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
    assert n == 200
    for manifest in (whole, chunked):
        assert manifest["counts"]["align"]["in"] == manifest["counts"]["align"]["out"] == n
    # eflomal samples at random: everything but the links is the same
    assert _rows(bitext_store, "alignments", "al-whole", {"links", "run_id"}) == _rows(
        bitext_store, "alignments", "al-chunks", {"links", "run_id"}
    )
    links = _rows(bitext_store, "alignments", "al-chunks", set())
    assert sum(len(r["links"]) for r in links) > 200  # every chunk was really aligned


@pytest.fixture(scope="module")
def labelled_store(tmp_path_factory, random_model) -> Store:
    store = Store(tmp_path_factory.mktemp("labelled") / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "ner_en.conll"), "conll")],
        IngestConfig("ner", "ingest", lang="en"),
    )
    config = TranslateConfig(beam_size=1, max_decoding_length=20)
    job = TranslateJob("tr", ("de",), str(random_model), source_stage="examples", config=config)
    run_translate(store, job)
    return store


_TODAY = """
SELECT t.id AS translation_id, t.text AS translation, t.tokens AS translation_tokens,
       e.id AS example_id, e.text, e.spans, e.tokens, e.token_offsets
FROM translations t JOIN examples e ON e.id = t.source_id
WHERE t.source_kind = 'examples' ORDER BY e.id, t.id
"""


def test_projection_in_one_chunk_equals_the_whole_pair_through_the_library(
    labelled_store, tiny_model
):
    """simalign is deterministic: the job's rows equal the library's on the whole pair."""
    options = {"model": tiny_model, "layer": 2}
    run_project(labelled_store, ProjectJob("pr-one", aligner="simalign", aligner_options=options))
    rows = labelled_store.sql(_TODAY).to_pylist()
    assert len(rows) == 120
    expected = project_translate_train_rows(
        [
            (
                {
                    "id": r["example_id"],
                    **{k: r[k] for k in ("text", "spans", "tokens", "token_offsets")},
                },
                {
                    "id": r["translation_id"],
                    "text": r["translation"],
                    "tokens": r["translation_tokens"],
                    "src_lang": "en",
                    "tgt_lang": "de",
                },
            )
            for r in rows
        ],
        get_aligner("simalign", **options),
        ProjectionConfig(),
    )
    got = {r["id"]: r for r in _rows(labelled_store, "projections", "pr-one", set())}
    assert len(got) == len(expected) == 120
    for row in expected:
        mine = got[row["id"]]
        for column in ("spans", "tags", "status", "reasons", "tokens", "text", "n_projected"):
            assert mine[column] == row[column], column


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory) -> Store:
    """Labelled en-qsy examples from the grammar, and their generated translations stored as
    the machine translations of those examples (the shape `curate translate` writes)."""
    folder = tmp_path_factory.mktemp("synth")
    pairs = generate(150, seed=21)
    write_conll(pairs, folder / "en.conll")
    store = Store(folder / "store")
    run_ingest(
        store,
        [InputSpec(str(folder / "en.conll"), "conll")],
        IngestConfig("synth", "ingest", lang="en"),
    )
    target = {p.src: p.tgt for p in pairs}
    rows = [
        {"id": content_id(ex["id"], "qsy"), "src_lang": "en", "tgt_lang": "qsy",
         "source_kind": "examples", "source_text": ex["text"], "text": target[ex["text"]],
         "origin": "mt", "source_id": ex["id"], "dataset": "synth", "run_id": "tr",
         "stage": "translate", "truncated": False, "from_memory": False}
        for ex in store.sql("SELECT id, text FROM examples").to_pylist()
    ]  # fmt: skip
    with store.open_run("translate", "tr") as run:
        run.write("translations", load_schema("translations").table(rows))
        run.count("translate", StageCounts(len(rows), len(rows)))
    return store


def test_projection_in_tiny_chunks_equals_one_chunk(synth_store, tiny_model):
    """Function words and the usual translations of the consistency pass are learnt from the
    whole pair (side inputs), so chunks of 7 give the rows of one chunk (the pass itself over
    summed tables: tests/test_project_alignment.py)."""
    options = {"model": tiny_model, "layer": 2}
    for run_id, chunk in (("pr-a", 100_000), ("pr-b", 7)):
        job = ProjectJob(run_id, aligner="simalign", aligner_options=options, chunk_pairs=chunk)
        manifest = run_project(synth_store, job)
        assert manifest["counts"]["project"]["in"] == manifest["counts"]["project"]["out"] == 150
    whole = _rows(synth_store, "projections", "pr-a", {"run_id"})
    assert sum(r["status"] == "complete" for r in whole) > 50
    assert whole == _rows(synth_store, "projections", "pr-b", {"run_id"})


@pytest.fixture(scope="module")
def detect_store(tmp_path_factory, random_model) -> Store:
    """Translated examples with projections, and human translations of half of their texts."""
    folder = tmp_path_factory.mktemp("detect")
    store = Store(folder / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "ner_en.conll"), "conll")],
        IngestConfig("ner", "ingest", lang="en"),
    )
    config = TranslateConfig(beam_size=1, max_decoding_length=20)
    job = TranslateJob("tr", ("de",), str(random_model), source_stage="examples", config=config)
    run_translate(store, job)
    run_project(store, ProjectJob("pr", aligner_options=FAST_EFLOMAL))
    texts = store.sql("SELECT text FROM examples ORDER BY id LIMIT 60").column(0).to_pylist()
    (folder / "refs.txt").write_text(
        "".join(f"{t} ||| Referenz {i} {t}\n" for i, t in enumerate(texts)), encoding="utf-8"
    )
    run_ingest(
        store,
        [InputSpec(str(folder / "refs.txt"), "bitext")],
        IngestConfig("refs", "ingest-refs", lang="en", target_lang="de"),
    )
    return store


#: How detection read a language pair before it was sharded (one DuckDB query per pair).
_DETECT_TODAY = """
SELECT t.id, t.src_lang, t.tgt_lang, t.source_text, t.text, t.score, t.truncated, t.dataset,
       p.status AS projection_status, p.n_source_spans, p.n_projected,
       r.text AS reference_text
FROM translations t
LEFT JOIN (SELECT translation_id, any_value(status) AS status,
                  sum(n_source_spans) AS n_source_spans, sum(n_projected) AS n_projected
           FROM projections WHERE translation_id IS NOT NULL GROUP BY translation_id) p
       ON p.translation_id = t.id
LEFT JOIN (SELECT source_text, src_lang, tgt_lang, any_value(text) AS text
           FROM translations WHERE origin = 'reference' GROUP BY ALL) r
       ON t.origin IN ('mt', 'system') AND r.source_text = t.source_text
          AND r.src_lang = t.src_lang AND r.tgt_lang = t.tgt_lang
ORDER BY t.source_file, t.source_line, t.id
"""


#: detectors whose score compares a pair with rival pairings in the same chunk (by design)
_CHUNK_LEVEL = {"semantic_misalignment"}


@pytest.mark.parametrize("shard_rows,chunk_rows", [(20_000, 5000), (7, 5)])
def test_detection_in_shards_equals_the_whole_pair_through_the_library(
    detect_store, monkeypatch, shard_rows, chunk_rows
):
    """Shards and join buckets of 7 rows, chunks of 5: the fit (a side input) and every tag
    equal one detect call on the whole pair as it was read before (one chunk: every
    detector; tiny chunks: every detector that judges a pair by itself)."""
    import beam_jobs.detect as job

    monkeypatch.setattr(job, "SHARD_ROWS", shard_rows)
    monkeypatch.setattr(job, "CHUNK_ROWS", chunk_rows)
    run_id = f"det-{shard_rows}"
    manifest = job.run_detect(detect_store, job.DetectJob(run_id))
    table = detect_store.sql(_DETECT_TODAY)
    n = table.num_rows
    assert n == 180  # 120 machine translations, 60 human ones
    assert manifest["counts"]["detect"]["in"] == manifest["counts"]["detect"]["out"] == n
    with_ref = table.filter(pa.compute.is_valid(table.column("reference_text")))
    assert with_ref.num_rows == 60  # the joins are exercised
    rows = job._drop_empty_optional(table, {c: 1 for c in job.OPTIONAL})
    stats = fit_stats(rows, DetectConfig())
    expected = detect(rows, DetectConfig(), stats=stats, run_id=run_id).to_pylist()
    got = _rows(detect_store, "artifact_tags", run_id, set())
    skip = _CHUNK_LEVEL if chunk_rows < n else set()
    assert {r["detector"] for r in got} == {r["detector"] for r in expected} > skip
    columns = ("id", "translation_id", "detector", "score", "flag", "threshold", "detail")

    def comparable(rows: list[dict]) -> list[dict]:
        rows = sorted(rows, key=lambda r: r["id"])
        return [{c: r[c] for c in columns} for r in rows if r["detector"] not in skip]

    assert comparable(got) == comparable(expected)


@pytest.fixture(scope="module")
def duplicates_store(tmp_path_factory) -> Store:
    """en-qsy bitext with exact duplicates (case and spacing only) and near duplicates, tagged
    by a few detectors."""
    folder = tmp_path_factory.mktemp("dups")
    pairs = generate(120, seed=9)
    lines = [f"{p.src} ||| {p.tgt}" for p in pairs]
    lines += [f"{p.src.upper()} |||  {p.tgt}" for p in pairs[:15]]  # exact after normalising
    lines += [f"{p.src} again ||| {p.tgt} ata" for p in pairs[20:35]]  # near duplicates
    lines += ["Call 555 1234 now . ||| Nane 999 ata ."]  # number mismatch: flagged
    (folder / "bitext.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store(folder / "store")
    run_ingest(
        store,
        [InputSpec(str(folder / "bitext.txt"), "bitext")],
        IngestConfig("synth", "ingest", lang="en", target_lang="qsy"),
    )
    only = {"only": ["empty", "number_mismatch", "length_ratio"]}
    run_detect(store, DetectJob("det", only))
    return store


def test_parallel_build_in_tiny_shards_equals_the_library_on_the_whole_pair(
    duplicates_store, monkeypatch
):
    """Shards and buckets of 3 rows: filters, exact duplicates (GroupByKey on the dedup key)
    and near duplicates (GroupByKey on LSH band keys) give the samples and the counts of one
    build_parallel call over the pair as it was read before; also with every value between
    steps written to a spill file (none kept inline), and on two worker processes (bucket
    counts rounded up to a multiple of the workers)."""
    import beam_jobs.build as job
    import beam_jobs.spill as spill

    store = duplicates_store
    rows = store.sql("SELECT * FROM translations WHERE src_lang = 'en' AND tgt_lang = 'qsy'")
    tags = store.sql("SELECT * FROM artifact_tags WHERE src_lang = 'en' AND tgt_lang = 'qsy'")
    expected = build_parallel(rows.to_pylist(), ParallelConfig(), tags=tags.to_pylist(),
                              run_id="bp")  # fmt: skip
    counts = expected.report.to_counts()
    assert {"duplicate_exact", "duplicate_near"} <= set(counts["filtered"])
    # the last: two worker processes, buckets of 60 rows rounded up to a multiple of 2 (4)
    for shard_rows, inline, workers in (
        (20_000, spill.INLINE_BYTES, 1),
        (3, spill.INLINE_BYTES, 1),
        (3, 0, 1),
        (60, spill.INLINE_BYTES, 2),
    ):
        monkeypatch.setattr(job, "SHARD_ROWS", shard_rows)
        monkeypatch.setattr(spill, "INLINE_BYTES", inline)
        run_id = f"bp-{shard_rows}-{inline}-{workers}"
        manifest = job.run_build(store, job.BuildJob(run_id, "parallel"), workers=workers)
        got = manifest["counts"]["build.parallel"]
        assert (got["in"], got["out"], got["filtered"]) == (
            counts["in"], counts["out"], counts["filtered"]
        )  # fmt: skip
        samples = _rows(store, "training_samples", run_id, {"run_id"})
        mine = {(s["source_id"], s["split"], s["text"], s["n_tokens"]) for s in samples}
        assert mine == {
            (s["source_id"], s["split"], s["text"], s["n_tokens"]) for s in expected.samples
        }


def test_shards_of_a_stage_are_a_multiple_of_the_workers(bitext_store):
    """200 rows in shards of at most 70 are 3 shards; for 2 workers, 4 shards of 50."""
    assert [s.rows for s in even_shards(bitext_store, "translations", 70)] == [67, 67, 66]
    shards = even_shards(bitext_store, "translations", 70, parallelism=2)
    assert [s.rows for s in shards] == [50, 50, 50, 50]
    assert [s.rows for s in even_shards(bitext_store, "translations", 100, 2)] == [100, 100]


def test_jobs_read_shards_of_a_store_on_object_storage(s3_store_uri, tmp_path):
    """On an S3 store (a real SeaweedFS server) the driver plans shards from the manifests and
    the workers read them through the store's filesystem layer: align in chunks of 30 and
    build parallel in shards of 3 give every row, as on a local store."""
    import beam_jobs.build as build

    write_bitext(generate(60, seed=5), tmp_path / "en.txt", tmp_path / "qsy.txt")
    store = Store(s3_store_uri)
    spec = InputSpec(
        str(tmp_path / "en.txt"), "bitext", options={"target_file": str(tmp_path / "qsy.txt")}
    )
    run_ingest(store, [spec], IngestConfig("synth", "ingest", lang="en", target_lang="qsy"))
    shards = store_shards(store, "translations", 30)
    assert [s.rows for s in shards] == [30, 30] and shards[0].store == store.uri
    manifest = run_align(store, ProjectJob("al", aligner_options=FAST_EFLOMAL, chunk_pairs=30))
    assert manifest["counts"]["align"]["in"] == manifest["rows"]["alignments"] == 60
    build.SHARD_ROWS, saved = 3, build.SHARD_ROWS
    try:
        manifest = build.run_build(store, build.BuildJob("bp", "parallel"))
    finally:
        build.SHARD_ROWS = saved
    assert manifest["counts"]["build.parallel"]["in"] == 60
