"""Artifact detection as a Beam pipeline: translations -> artifact_tags, over shards.

Translations are read in shards and joined, through hash buckets (:mod:`beam_jobs.shards`),
with what the detectors can use: projection status and counts, and a human reference for the
same source text. What detectors learn from a whole language pair is a first pass: which
optional columns the pair has at all (counts combined per pair) and the fit of the learning
detectors on a sample of the pair (the ``SAMPLE_ROWS`` smallest ids, combined per pair); both
reach the tagging of every chunk as side inputs, so every chunk of a pair is judged against
the same fit. Chunks are cut in corpus order (blocks of consecutive source lines, brought
together by a shuffle), since a detector may compare a row with its neighbours. Detectors only
tag; nothing is filtered here.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_jobs.common import (
    Execution,
    Expected,
    WriteStagesFn,
    already_tables,
    run_job,
    upstream_fingerprints,
)
from beam_jobs.shards import (
    bucket_count,
    buckets_of,
    by_partition,
    concat,
    join_tables,
    read_shards,
    sides,
    slices,
    tag_side,
)
from beam_jobs.spill import SpilledGroupByKey
from curate.artifacts.config import DetectConfig
from curate.artifacts.detect import detect, fit_stats
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store
from curate.store.shards import store_shards

STAGE = "detect"
SHARD_ROWS = 20_000  # translations read per shard, and rows per join bucket
CHUNK_ROWS = 5000  # rows tagged per detector call
SAMPLE_ROWS = 20000  # rows per language pair the learning detectors fit on

_TRANSLATION_COLUMNS = [
    "id", "src_lang", "tgt_lang", "source_text", "text", "score", "truncated", "dataset", "origin",
    "source_file", "source_line",
]  # fmt: skip
#: Where a row stands in its corpus: chunks are cut in this order, since detectors that compare
#: a row with its neighbours (a pairing shifted by one row) read the chunk's row order.
_POSITION = ("source_file", "source_line")
_PROJECTION_COLUMNS = ["translation_id", "status", "n_source_spans", "n_projected"]
#: Columns detectors may use beyond the translation itself, in the order they are passed.
OPTIONAL = ("projection_status", "n_source_spans", "n_projected", "reference_text")
_COLUMNS = [c for c in _TRANSLATION_COLUMNS if c not in ("origin", *_POSITION)] + list(OPTIONAL)

Pair = tuple[str, str]


@dataclass(frozen=True)
class DetectJob:
    run_id: str
    config: dict[str, Any] = field(default_factory=dict)  # the recipe's detect section


# -- joins ------------------------------------------------------------------------------------
def with_projections(bucket: tuple[int, Any]) -> Iterator[pa.Table]:
    """One bucket's translations with their projections summed (status: any one of them)."""
    _, grouped = bucket
    parts = sides(grouped, ("translations", "projections"))
    if not parts["translations"]:
        return
    rows = concat(parts["translations"])
    projections = concat(parts["projections"], _projection_schema())
    projections = (
        projections.group_by("translation_id", use_threads=False)
        .aggregate([("status", "first"), ("n_source_spans", "sum"), ("n_projected", "sum")])
        .rename_columns(
            {
                "status_first": "projection_status",
                "n_source_spans_sum": "n_source_spans",
                "n_projected_sum": "n_projected",
            }
        )
    )
    joined = join_tables(rows, projections, "id", "translation_id", how="left outer")
    yield joined.drop_columns(["translation_id"])


def _projection_schema() -> pa.Schema:
    schema = load_schema("projections").arrow
    return pa.schema([schema.field(c) for c in _PROJECTION_COLUMNS])


def _text_key(table: pa.Table) -> pa.Array:
    """``src_lang, tgt_lang, source_text`` as one join key (null when the text is null)."""
    return pc.binary_join_element_wise(
        table.column("src_lang"), table.column("tgt_lang"), table.column("source_text"), "\x1f"
    )


def keyed_by_text(table: pa.Table) -> pa.Table:
    return table.append_column("_text_key", _text_key(table))


def with_references(bucket: tuple[int, Any]) -> Iterator[pa.Table]:
    """One bucket (by source text) of translations; machine output (curate's, or another
    system's) gets the text of a human translation of the same source text and pair as
    ``reference_text``."""
    _, grouped = bucket
    rows = concat(sides(grouped, ("rows",))["rows"])
    references = (
        rows.filter(pc.equal(rows.column("origin"), "reference"))
        .group_by("_text_key", use_threads=False)
        .aggregate([("text", "first")])
        .rename_columns({"text_first": "reference_text", "_text_key": "_ref_key"})
    )
    is_mt = pc.fill_null(pc.is_in(rows.column("origin"), pa.array(["mt", "system"])), False)
    mt_key = pc.if_else(is_mt, rows.column("_text_key"), pa.scalar(None, pa.string()))
    rows = rows.set_column(rows.column_names.index("_text_key"), "_text_key", mt_key)
    joined = join_tables(rows, references, "_text_key", "_ref_key", how="left outer")
    yield joined.select(_COLUMNS + list(_POSITION))


#: Why a detector could not judge a translation, by the input it lacked.
WHY_MISSING = {
    "reference_text": "no human reference of the same source text (ingest one with "
    "--target-file; only machine output, origin mt or system, is compared with it)",
    "score": "no model score (only curate's own translations have one)",
    "projection_status": "no projection (run curate project)",
    "n_source_spans": "no projection (run curate project)",
    "n_projected": "no projection (run curate project)",
    "paired_source_text": "no paired field (NLI premise and hypothesis)",
    "paired_text": "no paired field (NLI premise and hypothesis)",
}
#: ``manifest["counts"]`` key of the translations each detector did not score, by reason.
UNSCORED = "detect.unscored"


def unscored(rows: pa.Table, tags: pa.Table, config: DetectConfig) -> StageCounts:
    """Translations each selected detector left without a score, counted as ``detector: why``:
    the input it needs is missing (for the whole chunk, or for those rows), or it could not
    judge them (too short, a pair too small to learn from, ...)."""
    counts: Counter[str] = Counter()
    every = tuple(rows.column_names) + tuple(WHY_MISSING)
    index = {tid: k for k, tid in enumerate(rows.column("id").to_pylist())}
    for detector in config.selected(every):
        missing = [c for c in detector.requires if c not in rows.column_names]
        if missing:
            why = WHY_MISSING.get(missing[0], f"no {missing[0]}")
            counts[f"{detector.name}: {why}"] += rows.num_rows
            continue
        mine = tags.filter(pc.equal(tags.column("detector"), detector.name))
        nan = pc.is_null(mine.column("score"), nan_is_null=True)
        ids = pc.filter(mine.column("translation_id"), nan).to_pylist()
        details = pc.filter(mine.column("detail"), nan).to_pylist()
        for tid, detail in zip(ids, details, strict=True):
            k = index[tid]
            lacking = [c for c in detector.requires if rows.column(c)[k].as_py() is None]
            if lacking:
                why = WHY_MISSING.get(lacking[0], f"no {lacking[0]}")
            else:  # the detector's own word ("too short to judge (12 letters)"), unnumbered
                why = detail.split(" (")[0] if detail else "could not judge"
            counts[f"{detector.name}: {why}"] += 1
    return StageCounts(filtered=counts)


# -- whole-pair statistics --------------------------------------------------------------------
def optional_counts(table: pa.Table) -> Iterator[tuple[Pair, dict[str, int]]]:
    """``(pair, {optional column: non-null rows})`` of one table."""
    for (src, tgt), rows in by_partition(table, ["src_lang", "tgt_lang"]):
        yield (src, tgt), {c: len(rows) - rows.column(c).null_count for c in OPTIONAL}


def add_counts(items: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in items:
        for column, n in counts.items():
            total[column] = total.get(column, 0) + n
    return total


class SmallestIds(beam.CombineFn):
    """The ``size`` rows with the smallest ids (ids are content hashes: an unbiased sample,
    and the same one whatever the shards).

    A row handed in more than once is kept once: Beam 2.77's DaskRunner was seen to feed the
    rows of a collection with several consumers into this combine three times, which changed
    the sample (and so what the learning detectors fit) against the local runner.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def _keep(self, tables: list[pa.Table]) -> pa.Table | None:
        tables = [t for t in tables if t is not None and t.num_rows]
        if not tables:
            return None
        table = pa.concat_tables(tables, promote_options="permissive").sort_by("id")
        ids = table.column("id").to_numpy(zero_copy_only=False)
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        return table.filter(pa.array(first)).slice(0, self.size)

    def create_accumulator(self) -> pa.Table | None:
        return None

    def add_input(self, acc: pa.Table | None, table: pa.Table) -> pa.Table | None:
        return self._keep([acc, table])

    def merge_accumulators(self, accs: Any) -> pa.Table | None:
        return self._keep(list(accs))

    def extract_output(self, acc: pa.Table | None) -> pa.Table | None:
        return acc


def by_pair(table: pa.Table) -> Iterator[tuple[Pair, pa.Table]]:
    yield from by_partition(table, ["src_lang", "tgt_lang"])


def _drop_empty_optional(rows: pa.Table, present: dict[str, int]) -> pa.Table:
    """Optional columns that are null for the whole pair would switch detectors on for
    nothing: drop them."""
    return rows.select([c for c in rows.column_names if c not in OPTIONAL or present.get(c)])


def fit_pair(item: tuple[Pair, pa.Table], job: DetectJob, present: dict) -> tuple[Pair, Any]:
    """What the learning detectors learn from the pair's sample (a side input of tagging)."""
    pair, sample = item
    rows = in_corpus_order(sample)
    rows = _drop_empty_optional(rows, present[pair])
    return pair, fit_stats(rows, DetectConfig.from_dict(job.config))


def in_corpus_order(rows: pa.Table) -> pa.Table:
    """``rows`` sorted by file, line and id, without those position columns."""
    order = [(column, "ascending") for column in (*_POSITION, "id")]
    return rows.sort_by(order).drop_columns(list(_POSITION))


def position_blocks(table: pa.Table, blocks: int) -> Iterator[tuple[tuple, pa.Table]]:
    """One bucket's rows keyed by language pair and block of ``CHUNK_ROWS`` consecutive source
    lines; rows without a line go to ``blocks`` blocks by a hash of their id."""
    lines = table.column("source_line").to_numpy(zero_copy_only=False).astype(float)
    by_id = -1 - buckets_of(table.column("id"), blocks)
    block = np.where(np.isnan(lines), by_id, np.nan_to_num(lines) // CHUNK_ROWS)
    keyed = table.append_column("_block", pa.array(block.astype(np.int64)))
    for (src, tgt, number), rows in by_partition(keyed, ["src_lang", "tgt_lang", "_block"]):
        yield (src, tgt, number), rows.drop_columns(["_block"])


def chunks(item: tuple[tuple, Iterable[pa.Table]]) -> Iterator[tuple[Pair, pa.Table]]:
    """One block's rows in corpus order (file, line, id), in chunks of at most ``CHUNK_ROWS``."""
    (src, tgt, _), tables = item
    rows = in_corpus_order(concat(list(tables)))
    yield from (((src, tgt), chunk) for chunk in slices(rows, CHUNK_ROWS))


def tag_chunk(item: tuple[Pair, pa.Table], job: DetectJob, stats: dict, present: dict) -> Any:
    pair, rows = item
    rows = _drop_empty_optional(rows, present[pair])
    config = DetectConfig.from_dict(job.config)
    tags = detect(rows, config, stats=copy.deepcopy(stats[pair]), run_id=job.run_id)
    counts = StageCounts(records_in=rows.num_rows, records_out=rows.num_rows)
    return {"artifact_tags": tags}, {STAGE: counts, UNSCORED: unscored(rows, tags, config)}


def run_detect(
    store: Store,
    job: DetectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Tag every translation in ``store``; returns the run manifest."""
    config = DetectConfig.from_dict(job.config)  # unknown detectors or options: error now
    if not _count_translations(store):
        raise UserError(
            "the store has no translations to check", hint="run `curate translate` first"
        )
    options = {**asdict(job), "effective": config.to_dict()}
    fingerprint = content_id(
        repr(options), *upstream_fingerprints(store, ("ingest", "translate", "project"))
    )

    translations = store_shards(store, "translations", SHARD_ROWS)
    projections = store_shards(store, "projections", SHARD_ROWS)
    buckets = bucket_count(sum(s.rows for s in translations), SHARD_ROWS)
    blocks = bucket_count(sum(s.rows for s in translations), CHUNK_ROWS)

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        rows = read_shards(p, "Translations", translations, _TRANSLATION_COLUMNS) | (
            "BucketTranslations" >> beam.FlatMap(tag_side("translations", "id", buckets))
        )
        linked = read_shards(p, "Projections", projections, _PROJECTION_COLUMNS) | (
            "BucketProjections" >> beam.FlatMap(tag_side("projections", "translation_id", buckets))
        )
        joined = (
            (rows, linked)
            | "JoinProjections" >> SpilledGroupByKey(staging)
            | "WithProjections" >> beam.FlatMap(with_projections)
            | "KeyByText" >> beam.Map(keyed_by_text)
            | "BucketByText" >> beam.FlatMap(tag_side("rows", "_text_key", buckets))
            | "JoinReferences" >> SpilledGroupByKey(staging)
            | "WithReferences" >> beam.FlatMap(with_references)
        )
        present = beam.pvalue.AsDict(
            joined
            | "OptionalColumns" >> beam.FlatMap(optional_counts)
            | "AddOptional" >> beam.CombinePerKey(add_counts)
        )
        stats = beam.pvalue.AsDict(
            joined
            | "ByPair" >> beam.FlatMap(by_pair)
            | "Sample" >> beam.CombinePerKey(SmallestIds(SAMPLE_ROWS))
            | "Fit" >> beam.Map(fit_pair, job=job, present=present)
        )
        return (
            joined
            | "ByPosition" >> beam.FlatMap(position_blocks, blocks=blocks)
            | "Blocks" >> SpilledGroupByKey(staging)
            | "Chunks" >> beam.FlatMap(chunks)
            | "Tag" >> beam.Map(tag_chunk, job=job, stats=stats, present=present)
            | "Write" >> beam.ParDo(WriteStagesFn(already_tables, staging, job.run_id))
        )

    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    expected = Expected(_count_translations(store))
    return run_job(
        store, STAGE, job.run_id, options, fingerprint, build, execution, expected=expected
    )


def _count_translations(store: Store) -> int:
    return int(store.sql("SELECT count(*) FROM translations").column(0)[0].as_py())
