"""Ingest as a Beam pipeline: read files in batches, run curate's ingest stage, write the store.

``run_ingest`` is what ``curate ingest`` calls; the same pipeline runs on Dataflow, Flink or Spark
when Beam options name those runners (the store path must then be shared storage).

With several workers (or a distributed runner), JSON Lines files are cut into line-aligned byte
ranges before anything is read, and the ranges are spread over the workers: each worker reads,
ingests and writes its own ranges, so no record crosses a process boundary (only the ranges do).
Other formats are read whole, one file per worker.

Progress is counted in input bytes against the input files' sizes (records of Parquet inputs
against their row counts), with the whitespace tokens of the texts read.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from beam_jobs.common import Execution, Expected, WriteStagesFn, run_job
from curate.ingest import IngestConfig, ingest_batch
from curate.io import (
    READERS,
    SHARD_READERS,
    FieldMap,
    ReadBatch,
    Shard,
    line_shards,
    resolve_format,
)
from curate.progress import ProgressCallback, whitespace_tokens
from curate.records import content_id
from curate.store import StageCounts, Store


@dataclass(frozen=True)
class InputSpec:
    path: str
    format: str
    fields: FieldMap = field(default_factory=FieldMap)
    options: dict[str, Any] = field(default_factory=dict)


#: Shards are at most this many bytes, and at least MIN_SHARD_BYTES (small files stay whole).
MAX_SHARD_BYTES = 64 << 20
MIN_SHARD_BYTES = 1 << 20
SHARDS_PER_WORKER = 4  # a few per worker, so one slow shard does not leave a worker idle


def input_parts(inputs: list[InputSpec], workers: int) -> list[tuple[InputSpec, Shard | None]]:
    """What the workers read: byte ranges of splittable files, other inputs whole."""
    parts: list[tuple[InputSpec, Shard | None]] = []
    for spec in inputs:
        if spec.format not in SHARD_READERS or not os.path.isfile(spec.path):
            parts.append((spec, None))
            continue
        size = os.path.getsize(spec.path)
        target = min(MAX_SHARD_BYTES, size // (workers * SHARDS_PER_WORKER) + 1)
        parts.extend((spec, s) for s in line_shards(spec.path, max(MIN_SHARD_BYTES, target)))
    return parts


def read_part(part: tuple[InputSpec, Shard | None]) -> Any:
    spec, shard = part
    if shard is None:
        yield from READERS[spec.format](spec.path, spec.fields, spec.options)
    else:
        yield from SHARD_READERS[spec.format](shard, spec.fields)


def ingest_tables(
    batch: ReadBatch, config: IngestConfig
) -> tuple[dict[str, Any], dict[str, StageCounts]]:
    result = ingest_batch(batch, config)
    return result.tables, {"ingest": result.counts}


def batch_work(batch: ReadBatch, tables: dict[str, Any]) -> tuple[int, int]:
    """Progress of one read batch: (whitespace tokens of its texts, input bytes it came from).

    Bytes are the records' raw payloads plus one line end each, so they track the file size of
    line-based formats closely (other formats only roughly; progress clamps at the total).
    """
    tokens = whitespace_tokens(r.text for r in batch.records)
    tokens += whitespace_tokens(r.text_b for r in batch.records)
    tokens += whitespace_tokens(r.target for r in batch.records)
    nbytes = sum(len(r.payload) + 1 for r in batch.records)
    nbytes += sum(len(q.payload) + 1 for q in batch.quarantined) + batch.skipped
    return tokens, nbytes


def expected_work(inputs: list[InputSpec]) -> Expected | None:
    """Parquet inputs: their rows (from metadata); other files: their size in bytes."""
    if all(i.format == "parquet" for i in inputs):
        return Expected(sum(pq.ParquetFile(i.path).metadata.num_rows for i in inputs))
    paths = [i.path for i in inputs] + [
        str(i.options["target_file"]) for i in inputs if i.options.get("target_file")
    ]
    if any(not os.path.isfile(p) for p in paths):
        return None  # a dataset folder: no cheap measure
    return Expected(sum(os.path.getsize(p) for p in paths), "bytes")


def build(
    p: beam.Pipeline,
    inputs: list[InputSpec],
    config: IngestConfig,
    staging_dir: str,
    workers: int,
) -> beam.PCollection:
    """``workers``: how many processes share the work (1: read every input whole, in order)."""
    parts = input_parts(inputs, workers) if workers > 1 else [(i, None) for i in inputs]
    parts = p | "Inputs" >> beam.Create(parts)
    if workers > 1:
        parts = parts | "Spread" >> beam.Reshuffle()
    batches = parts | "Read" >> beam.FlatMap(read_part)
    stage_fn = functools.partial(ingest_tables, config=config)
    write = WriteStagesFn(stage_fn, staging_dir, config.run_id, measure=batch_work)
    return batches | "Ingest" >> beam.ParDo(write)


def run_ingest(
    store: Store,
    inputs: list[InputSpec],
    config: IngestConfig,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Ingest ``inputs`` into ``store`` as run ``config.run_id``; returns the run manifest.

    With ``force=False`` an identical earlier run (same files, options) is kept as it is.
    ``progress`` is called with the work done while the pipeline runs.
    """
    inputs = [
        InputSpec(i.path, resolve_format(i.path, i.format or None), i.fields, i.options)
        for i in inputs
    ]
    options = {
        "inputs": [
            {"path": i.path, "format": i.format, "fields": asdict(i.fields), **i.options}
            for i in inputs
        ],
        "config": asdict(config),
        "workers": workers,
    }
    fingerprint = content_id(repr(options), *(_file_stamp(i.path) for i in inputs))
    split = max(workers, 8) if beam_args else workers  # other runners: assume several workers
    return run_job(
        store,
        "ingest",
        config.run_id,
        options,
        fingerprint,
        lambda p, staging: build(p, inputs, config, staging, split),
        Execution(tuple(beam_args or ()), workers, force, progress),
        expected=expected_work(inputs),
    )


def _file_stamp(path: str) -> str:
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"
