"""Ingest as a Beam pipeline: read files in batches, run curate's ingest stage, write the store.

``run_ingest`` is what ``curate ingest`` calls; the same pipeline runs on Dataflow, Flink or Spark
when Beam options name those runners (the store path must then be shared storage).

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
from curate.io import READERS, FieldMap, ReadBatch, resolve_format
from curate.progress import ProgressCallback, whitespace_tokens
from curate.records import content_id
from curate.store import StageCounts, Store


@dataclass(frozen=True)
class InputSpec:
    path: str
    format: str
    fields: FieldMap = field(default_factory=FieldMap)
    options: dict[str, Any] = field(default_factory=dict)


def read_input(spec: InputSpec) -> Any:
    yield from READERS[spec.format](spec.path, spec.fields, spec.options)


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
    reshuffle: bool,
) -> beam.PCollection:
    batches = p | "Inputs" >> beam.Create(inputs) | "Read" >> beam.FlatMap(read_input)
    if reshuffle:
        batches = batches | "Spread" >> beam.Reshuffle()
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
    return run_job(
        store,
        "ingest",
        config.run_id,
        options,
        fingerprint,
        lambda p, staging: build(p, inputs, config, staging, reshuffle=workers > 1),
        Execution(tuple(beam_args or ()), workers, force, progress),
        expected=expected_work(inputs),
    )


def _file_stamp(path: str) -> str:
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"
