"""Ingest as a Beam pipeline: read files in batches, run curate's ingest stage, write the store.

``run_ingest`` is what ``curate ingest`` calls; the same pipeline runs on Dataflow, Flink or Spark
when Beam options name those runners (the store path must then be shared storage).

With several workers (or a distributed runner), JSON Lines files are cut into line-aligned byte
ranges before anything is read, and the ranges are spread over the workers: each worker reads,
ingests and writes its own ranges, so no record crosses a process boundary (only the ranges do).
Other formats are read whole, one file per worker.

Progress is counted in input bytes against the input files' sizes (records of Parquet inputs
against their row counts), with the whitespace tokens of the texts read.

Before the pipeline starts the driver checks what would otherwise lose data silently: folders
are expanded to their files, a file that is mostly not UTF-8 (without ``--encoding``) and a
two-file bitext of unequal line counts are refused, a run id that holds other inputs is not
replaced, and the languages of a bitext's sides are detected on the file, not line by line.
A run that writes no record is not committed (a clear error with its quarantine counts).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from beam_jobs.common import Execution, Expected, WriteStagesFn, run_job
from curate.errors import UserError
from curate.ingest import IngestConfig, ingest_batch, pair_languages
from curate.io import (
    SHARD_READERS,
    FieldMap,
    ReadBatch,
    Shard,
    expand_input,
    line_shards,
    read_input,
    tag_split,
)
from curate.io.bitext import check_line_counts
from curate.io.encoding import check_encoding, check_encoding_name, encoding_of
from curate.io.parallel import check_paired
from curate.languages import store_language
from curate.progress import ProgressCallback, whitespace_tokens
from curate.records import content_id
from curate.store import Run, StageCounts, Store

#: formats read as lines of text (checked for their encoding before anything runs)
TEXT_FORMATS = ("jsonl", "csv", "tsv", "conll", "bitext")


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


def read_part(part: tuple[InputSpec, Shard | None], config: IngestConfig) -> Any:
    """``(batch, config)`` for each batch of the part; the config declares the languages that
    were detected for a bitext's whole file (:func:`input_config`)."""
    spec, shard = part
    config = input_config(spec, config)
    if shard is None:
        batches = read_input(spec.path, spec.format, spec.fields, spec.options)
    else:
        reader = SHARD_READERS[spec.format]
        batches = tag_split(reader(shard, spec.fields, encoding_of(spec.options)), spec.path)
    for batch in batches:
        yield batch, config


def input_config(spec: InputSpec, config: IngestConfig) -> IngestConfig:
    """The run's config for one input: a bitext's detected languages where none is declared."""
    detected = spec.options.get("pair_languages")
    if not detected:
        return config
    return dataclasses.replace(
        config,
        lang=config.lang or detected[0],
        target_lang=config.target_lang or detected[1],
    )


def ingest_tables(
    item: tuple[ReadBatch, IngestConfig],
) -> tuple[dict[str, Any], dict[str, StageCounts]]:
    batch, config = item
    result = ingest_batch(batch, config)
    return result.tables, {"ingest": result.counts}


def batch_work(item: tuple[ReadBatch, IngestConfig], tables: dict[str, Any]) -> tuple[int, int]:
    """Progress of one read batch: (whitespace tokens of its texts, input bytes it came from).

    Bytes are the records' raw payloads plus one line end each, so they track the file size of
    line-based formats closely (other formats only roughly; progress clamps at the total).
    """
    batch = item[0]
    tokens = whitespace_tokens(r.text for r in batch.records)
    tokens += whitespace_tokens(r.text_b for r in batch.records)
    tokens += whitespace_tokens(r.target for r in batch.records)
    nbytes = sum(len(r.payload) + 1 for r in batch.records)
    nbytes += sum(len(q.payload) + 1 for q in batch.quarantined) + batch.skipped
    nbytes += 11 * batch.filtered.total()  # "-DOCSTART-" lines
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
    batches = parts | "Read" >> beam.FlatMap(read_part, config=config)
    write = WriteStagesFn(ingest_tables, staging_dir, config.run_id, measure=batch_work)
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
    ``progress`` is called with the work done while the pipeline runs. Raises a UserError,
    before anything is written, for inputs that would be lost or mangled (see the module
    docstring), and after the pipeline, instead of committing, when nothing was written.
    """
    config = dataclasses.replace(
        config,
        lang=store_language(config.lang, "lang") if config.lang else None,
        target_lang=store_language(config.target_lang, "target_lang")
        if config.target_lang
        else None,
    )
    named = input_paths(inputs)
    check_same_inputs(store, config.run_id, named)
    inputs = [checked(spec, config) for i in inputs for spec in expand(i)]
    options = {
        "inputs": [
            {"path": i.path, "format": i.format, "fields": asdict(i.fields), **i.options}
            for i in inputs
        ],
        "input_paths": named,
        "input_files": input_files(inputs),
        "config": asdict(config),
        "workers": workers,
    }
    fingerprint = content_id(repr(options))
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
        check=lambda run: refuse_empty(run, inputs),
    )


def expand(spec: InputSpec) -> list[InputSpec]:
    """The input's files with their formats (a folder stands for its files)."""
    return [
        InputSpec(path, fmt, spec.fields, spec.options)
        for path, fmt in expand_input(spec.path, spec.format or None)
    ]


def checked(spec: InputSpec, config: IngestConfig) -> InputSpec:
    """``spec`` once its file is known to decode and, for a bitext, to pair line by line; with
    the languages of a bitext's sides detected on the file where none is declared."""
    encoding = spec.options.get("encoding")
    if encoding:
        check_encoding_name(str(encoding))
    target = spec.options.get("target_file")
    if spec.format in TEXT_FORMATS:
        for path in [spec.path] + ([str(target)] if target else []):
            check_encoding(path, encoding)
    if spec.format == "bitext" and target:
        check_line_counts(spec.path, str(target), spec.options)
    if spec.format == "conll" and target:  # labelled sentences and their translations
        check_paired(spec.path, spec.options)
    pairs = (spec.format in ("bitext", "conll") and target) or spec.fields.target
    if not pairs or not config.identify_language or (config.lang and config.target_lang):
        return spec
    detected = pair_languages(read_input(spec.path, spec.format, spec.fields, spec.options))
    if not any(detected):
        return spec
    return dataclasses.replace(spec, options={**spec.options, "pair_languages": list(detected)})


def _all_paths(inputs: list[InputSpec]) -> list[str]:
    return [i.path for i in inputs] + [
        str(i.options["target_file"]) for i in inputs if i.options.get("target_file")
    ]


def input_paths(inputs: list[InputSpec]) -> list[str]:
    """What identifies a run's inputs: the resolved paths of the files and folders named."""
    return sorted({os.path.realpath(p) for p in _all_paths(inputs)})


def input_files(inputs: list[InputSpec]) -> list[dict[str, Any]]:
    """The files read (a folder's expanded), with their sizes and times, for the manifest."""
    found = []
    for path in _all_paths(inputs):
        st = os.stat(path)
        found.append(
            {"path": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        )
    return found


def check_same_inputs(store: Store, run_id: str, named: list[str]) -> None:
    """Refuse to replace a committed run made from other inputs: re-running the same files (or
    folder) replaces the run, another file under the same run id would silently drop the first.
    """
    previous = store.manifest(run_id)
    if previous is None:
        return
    before = previous.get("options", {}).get("input_paths")
    if previous.get("job") == "ingest" and before is None:
        return  # a run recorded before inputs were identified
    if previous.get("job") == "ingest" and before == named:
        return
    held = ", ".join(before) if before else f"a {previous.get('job')} run"
    raise UserError(
        f"run {run_id!r} already holds other input ({held}); not replacing it with "
        f"{', '.join(named)}",
        hint="give this input its own --dataset NAME or --run-id ID (recipe: `dataset:`); "
        "re-running the same files replaces their run",
    )


def refuse_empty(run: Run, inputs: list[InputSpec]) -> None:
    """A run that wrote no record is an error, not a success (it is then not committed)."""
    counts = run.counts.get("ingest", StageCounts())
    asked = any(i.options.get("on_misaligned") == "quarantine" for i in inputs)
    if counts.records_out or (asked and counts.quarantined.get("bitext_length_mismatch")):
        return  # written, or quarantined whole because the user asked for it
    files = ", ".join(i.path for i in inputs)
    formats = ", ".join(sorted({i.format for i in inputs}))
    if not counts.records_in:
        raise UserError(f"nothing to ingest: {files} holds no records (empty)")
    details = [
        f"{sum(counts.quarantined.values())} quarantined" + _reasons(counts.quarantined),
        f"{sum(counts.filtered.values())} filtered" + _reasons(counts.filtered),
    ]
    raise UserError(
        f"nothing ingested from {files}: {counts.records_in} read as {formats}, 0 written, "
        f"{', '.join(details)}; nothing was committed",
        hint="check --format, --encoding and the field options (--text-field, ...)",
    )


def _reasons(counter: dict[str, int]) -> str:
    return f" ({', '.join(f'{k}={v}' for k, v in sorted(counter.items()))})" if counter else ""
