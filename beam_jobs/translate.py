"""Translation as a Beam pipeline: store stage -> batches -> CTranslate2 -> translations.

Rows of a committed stage (``segments`` or ``examples``; a document's translation is its
segments' translations joined with their ``ws_after``) are read file by file, paired with every
requested target language, batched by an estimate of their token count (``BatchElements``), and
translated by :class:`TranslateBatchesFn`: one engine per worker process, shared by its threads,
which submits each batch to the model (curate's ``submit_rows``) before collecting the previous
one, so the model never waits for Python between batches. Failed inputs are quarantined, never
dropped. Beam's RunInference is not used: it runs one batch at a time, and importing it
imports torch (about 2 s of start-up) for a model manager this job does not need.

New translations go to the translation memory after every batch (one small file each); the
driver compacts the memory once the pipeline has finished.

The store may be a local directory or an object store (``s3://bucket/prefix``): sources,
staging, the memory and the commit all go through the store's filesystem layer
(:mod:`curate.store.fs`); workers get the store's URI and resolve it themselves.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils import shared
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from beam_jobs.common import Execution, Expected, WriteStagesFn, already_tables, run_job
from curate.errors import UserError
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import TranslationMemory
from curate.mt.stage import TranslateResult, submit_rows
from curate.progress import ProgressCallback, whitespace_tokens
from curate.records import content_id
from curate.store import StageCounts, Store
from curate.store.fs import resolve as resolve_location

STAGE = "translate"
SOURCE_STAGES = ("segments", "examples")
_COLUMNS = ("id", "text", "lang", "dataset", "source_file", "source_line")
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class TranslateJob:
    """What ``curate translate`` asks for."""

    run_id: str
    targets: tuple[str, ...]
    model: str | None = None  # path or registry name; None: the registry default
    source_stage: str = "segments"
    source_langs: tuple[str, ...] = ()  # only rows in these languages; empty: all
    device: str = "auto"
    strict_device: bool = False
    use_memory: bool = True
    batch_tokens: int = 16384  # estimated tokens per batch submitted to the engine
    config: TranslateConfig = field(default_factory=TranslateConfig)


# Engines the driver already loaded, by job run id: an in-process worker (the default local
# runner) takes it instead of loading the model a second time; other processes load their own.
_PRELOADED: dict[str, TranslationEngine] = {}


class _Loaded:
    """A worker's engine and memory (``shared.Shared`` needs an object it can weak-reference)."""

    def __init__(self, engine: TranslationEngine, memory: TranslationMemory | None) -> None:
        self.engine = engine
        self.memory = memory


def _load(job: TranslateJob, store_root: str) -> _Loaded:
    engine = _PRELOADED.get(job.run_id) or TranslationEngine.load(
        job.model,
        device=job.device,
        strict_device=job.strict_device,
        config=job.config,
        download=False,
    )
    # new entries are written after every batch (flush below), never held back
    memory = TranslationMemory(store_root, flush_rows=10**9) if job.use_memory else None
    return _Loaded(engine, memory)


_Pending = list[tuple[int, Callable[[], TranslateResult]]]


class TranslateBatchesFn(beam.DoFn):
    """Translates batches of ``(target, row)`` into ``(tables, counts)``, one per batch.

    Each batch is submitted to the model before the previous one is collected and written, so
    the translator's replicas never wait for Python between batches (nor idle at the end of a
    batch while the last of its sentences finish): results come out one batch behind, in order,
    and the last one when the bundle ends. The engine and memory are loaded once per worker
    process and shared by its threads.
    """

    def __init__(self, job: TranslateJob, store_root: str) -> None:
        self.job = job
        self.store_root = store_root
        self._shared = shared.Shared()

    def setup(self) -> None:
        self._loaded = self._shared.acquire(
            lambda: _load(self.job, self.store_root), tag=f"translate-{self.job.run_id}"
        )

    def start_bundle(self) -> None:
        self._pending: deque[_Pending] = deque()

    def process(self, batch: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[Any]:
        self._pending.append(self._submit(batch))
        while len(self._pending) > 1:
            yield self._collect(self._pending.popleft())

    def finish_bundle(self) -> Iterator[WindowedValue]:
        while self._pending:
            yield WindowedValue(
                self._collect(self._pending.popleft()), MIN_TIMESTAMP, [GlobalWindow()]
            )

    def _submit(self, batch: Sequence[tuple[str, dict[str, Any]]]) -> _Pending:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for target, row in batch:
            groups[(row["lang"], target)].append(row)
        return [
            (
                len(rows),
                submit_rows(
                    self._loaded.engine,
                    rows,
                    src,
                    tgt,
                    run_id=self.job.run_id,
                    source_kind=self.job.source_stage,
                    memory=self._loaded.memory,
                    config=self.job.config,
                ),
            )
            for (src, tgt), rows in groups.items()
        ]

    def _collect(self, pending: _Pending) -> tuple[dict[str, Any], dict[str, StageCounts]]:
        tables: dict[str, list[Any]] = {"translations": [], "quarantine": []}
        counts = StageCounts()
        for n_rows, result in pending:
            translations, quarantine = result().tables()
            tables["translations"].append(translations)
            tables["quarantine"].append(quarantine)
            counts.records_in += n_rows
            counts.records_out += translations.num_rows
            if quarantine.num_rows:
                counts.quarantined.update(quarantine.column("reason").to_pylist())
        if self._loaded.memory is not None:
            self._loaded.memory.flush()
        merged = {k: pa.concat_tables(v) for k, v in tables.items() if v}
        return merged, {STAGE: counts}


def _token_estimate(element: tuple[str, dict[str, Any]]) -> int:
    return len(element[1]["text"] or "") // _CHARS_PER_TOKEN + 1


@lru_cache(maxsize=8)
def _filesystem(store_uri: str) -> Any:
    """The store's ``pyarrow.fs`` filesystem, resolved once per worker process."""
    return resolve_location(store_uri).fs


def read_rows(
    path: str, langs: tuple[str, ...], targets: tuple[str, ...], store_uri: str
) -> Iterator[Any]:
    """``(target, row)`` for each row of a committed file (a path on the filesystem of
    ``store_uri``) and each requested target language."""
    lang = _partition_value(path, "lang")
    if langs and lang not in langs:
        return
    parquet = pq.ParquetFile(path, filesystem=_filesystem(store_uri))
    columns = [c for c in _COLUMNS if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=2048, columns=columns):
        for row in batch.to_pylist():
            row["lang"] = lang
            for target in targets:
                if target != lang:
                    yield target, row


def expected_pairs(
    files: list[str], langs: tuple[str, ...], targets: tuple[str, ...], store_uri: str
) -> int:
    """How many ``(target, row)`` elements :func:`read_rows` yields (Parquet metadata only)."""
    total = 0
    for path in files:
        lang = _partition_value(path, "lang")
        if not langs or lang in langs:
            rows = pq.ParquetFile(path, filesystem=_filesystem(store_uri)).metadata.num_rows
            total += rows * sum(target != lang for target in targets)
    return total


def source_tokens(element: Any, tables: dict[str, Any]) -> tuple[int, int]:
    """Progress of one batch: whitespace tokens of the source texts it translated."""
    translations = tables.get("translations")
    if translations is None:
        return 0, 0
    return whitespace_tokens(translations.column("source_text").to_pylist()), 0


def _partition_value(path: str, key: str) -> str:
    for part in PurePosixPath(path).parts:
        if part.startswith(f"{key}="):
            return part.split("=", 1)[1]
    return "und"


def build(
    p: beam.Pipeline, files: list[str], job: TranslateJob, store_root: str, staging: str
) -> beam.PCollection:
    pairs = (
        p
        | "Files" >> beam.Create(files)
        | "Read"
        >> beam.FlatMap(
            read_rows, langs=job.source_langs, targets=job.targets, store_uri=store_root
        )
    )
    # a fixed batch size: Beam's adaptive batching starts tiny and grows slowly, which left
    # CTranslate2's replicas idle on small batches (measured: 26 sentences a batch, 0.45x)
    batches = pairs | "Batch" >> beam.BatchElements(
        min_batch_size=job.batch_tokens,
        max_batch_size=job.batch_tokens,
        element_size_fn=_token_estimate,
    )
    results = batches | "Translate" >> beam.ParDo(TranslateBatchesFn(job, store_root))
    write = WriteStagesFn(already_tables, staging, job.run_id, measure=source_tokens)
    return results | "Write" >> beam.ParDo(write)


def run_translate(
    store: Store,
    job: TranslateJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Translate a committed stage of ``store`` into ``job.targets``; returns the run manifest.

    With ``force=False`` an identical earlier run (same input files, model, options) is kept.
    """
    if job.source_stage not in SOURCE_STAGES:
        raise UserError(
            f"cannot translate stage {job.source_stage!r}", hint=f"one of {SOURCE_STAGES}"
        )
    files = [str(f) for f in store.stage_files(job.source_stage)]
    if not files:
        raise UserError(
            f"the store has no {job.source_stage} to translate",
            hint="run `curate ingest` first (documents are split into segments)",
        )
    # load once here: a bad model, device or language pair is one clear error before any work
    engine = TranslationEngine.load(
        job.model,
        device=job.device,
        strict_device=job.strict_device,
        config=job.config,
        download=False,
    )
    sources = sorted({_partition_value(f, "lang") for f in files})
    sources = [s for s in sources if not job.source_langs or s in job.source_langs]
    pairs = [(src, tgt) for src in sources for tgt in job.targets if src != tgt]
    resolved = [engine.languages(src, tgt) for src, tgt in pairs]
    options = {**asdict(job), "config": asdict(job.config), "files": len(files)}
    fingerprint = content_id(repr(options), engine.model.version, *files)
    model_version = f"{engine.model.model_id}@{engine.model.version}"
    if workers == 1 and not beam_args:
        _PRELOADED[job.run_id] = engine  # the in-process worker reuses it
    del engine  # other workers load their own: do not hold a second copy of the model here
    try:
        manifest = run_job(
            store,
            STAGE,
            job.run_id,
            options,
            fingerprint,
            lambda p, staging: build(p, files, job, store.uri, staging),
            Execution(tuple(beam_args or ()), workers, force, progress),
            models={"model": model_version},
            expected=Expected(expected_pairs(files, job.source_langs, job.targets, store.uri)),
        )
    finally:
        _PRELOADED.pop(job.run_id, None)
    if manifest.get("skipped"):
        return manifest
    if job.use_memory:
        memory = TranslationMemory(store.location)
        for src_lang, tgt_lang in resolved:
            memory.compact(src_lang.tag, tgt_lang.tag)
    return manifest
