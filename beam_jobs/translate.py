"""Translation as a Beam pipeline: store stage -> batches -> CTranslate2 -> translations.

Rows of a committed stage (``segments`` or ``examples``; a document's translation is its
segments' translations joined with their ``ws_after``) are read by the workers in shards of
at most ``SHARD_ROWS`` rows (row ranges of the committed files, planned in the driver from their
footers, so one large file is still spread over every worker) and paired with every requested
target language. With the translation memory, they are joined with it by key
(:func:`join_memory`): the memory is read as shards of row groups by the workers, which keep
only the entries whose text hash some row has (a side input of 64-bit hash prefixes, 8 bytes
a distinct text), and grouped with the rows by (languages, hash of the normalised text) with
``CoGroupByKey``, so no worker holds the whole memory; rows whose key the memory holds become
translations there (``from_memory``), without the model, and the rows of each other key go on
as one group, which the model translates once. Groups are batched by an estimate of their
token count (``BatchElements``), and translated by :class:`TranslateBatchesFn`: one engine per
worker process, shared by its threads, which submits each batch to the model (curate's
``submit_groups``) before collecting the previous one, so the model never waits for Python
between batches. Failed inputs are quarantined, never
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils import shared
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from beam_jobs.common import Execution, Expected, WriteStagesFn, already_tables, run_job
from curate.errors import UserError
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import (
    ROW_GROUP_ROWS,
    MemoryEntry,
    MemoryShard,
    TranslationMemory,
    normalize_text,
    text_hash,
)
from curate.mt.stage import TranslateResult, remembered_rows, submit_groups
from curate.progress import ProgressCallback, whitespace_tokens
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store
from curate.store.fs import resolve as resolve_location
from curate.store.shards import Shard, plan_shards, read_shard

STAGE = "translate"
SOURCE_STAGES = ("segments", "examples")
_COLUMNS = ("id", "text", "lang", "dataset", "source_file", "source_line")
_CHARS_PER_TOKEN = 4
_HIT_BATCH = 4096  # memory hits turned into translation rows at once
#: source rows per element a worker reads: the unit that spreads translation over workers
#: (about 12 CPU seconds with the shipped en-qsy model, minutes with NLLB-200 on a CPU)
SHARD_ROWS = 5_000


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
    memory_shard_rows: int = ROW_GROUP_ROWS  # memory rows (whole row groups) a worker reads at once
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


@dataclass(frozen=True)
class MemoryJoin:
    """What the pipeline needs to join rows with the memory, planned in the driver: the model
    key of the entries, each ``(row language, target)``'s memory partition, and the shards of
    the memory to read (file row groups; no entry is read in the driver)."""

    model_id: str
    model_version: str
    decoding: str
    tags: tuple[tuple[tuple[str, str], tuple[str, str]], ...]  # (lang, target) -> (src, tgt)
    shards: tuple[MemoryShard, ...]


def _is_blank(element: tuple[str, dict[str, Any]]) -> bool:
    return not (element[1]["text"] or "").strip()


def blank_groups(element: tuple[str, dict[str, Any]]) -> Iterator[tuple[str, list]]:
    """A blank text (never remembered, passed through unchanged) as a group of one."""
    if _is_blank(element):
        yield element[0], [element[1]]


class KeyRowsFn(beam.DoFn):
    """``(target, row)`` -> ``(memory key, (target, row))`` for every row with a text (blank
    ones go through :func:`blank_groups`: one output per transform, since Beam's DaskRunner
    mixes the tagged outputs of a multi-output ParDo)."""

    def __init__(self, tags: dict[tuple[str, str], tuple[str, str]]) -> None:
        self.tags = tags

    def process(self, element: tuple[str, dict[str, Any]]) -> Iterator[Any]:
        if _is_blank(element):
            return
        target, row = element
        src, tgt = self.tags[(row["lang"], target)]
        yield f"{src}\t{tgt}\t{text_hash(normalize_text(row['text']))}", element


class WantedHashesFn(beam.CombineFn):
    """The sorted, distinct 64-bit prefixes of the rows' text hashes (8 bytes a distinct text):
    what a memory shard reader needs to leave out entries no row asks for."""

    def create_accumulator(self) -> list[int]:
        return []

    def add_input(self, accumulator: list[int], key: str) -> list[int]:
        accumulator.append(int(key.rsplit("\t", 1)[1][:16], 16))
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[list[int]]) -> list[int]:
        return [prefix for accumulator in accumulators for prefix in accumulator]

    def extract_output(self, accumulator: list[int]) -> np.ndarray:
        return np.unique(np.fromiter(accumulator, dtype=np.uint64, count=len(accumulator)))


def read_memory_shard(
    shard: MemoryShard, wanted: np.ndarray, store_root: str, join: MemoryJoin
) -> Iterator[Any]:
    """``(memory key, entry tuple)`` for the entries of one shard under the job's model key
    whose text hash some row has (by its prefix in ``wanted``)."""
    memory = TranslationMemory(resolve_location(store_root))
    key = (join.model_id, join.model_version, join.decoding)
    for h, entry in memory.read_shard(shard, *key, wanted=wanted):
        yield f"{shard.src}\t{shard.tgt}\t{h}", entry


def memory_hits(item: tuple[str, dict[str, list[Any]]]) -> Iterator[Any]:
    """One key's rows and memory entries -> a hit ``(target, row, entry)`` per row when the
    memory has an entry for the key."""
    _, grouped = item
    entries = list(grouped["memory"])
    if entries:
        entry = min(entries, key=repr)  # several (uncompacted) entries: one, deterministically
        for target, row in grouped["rows"]:
            yield target, row, entry


def miss_groups(item: tuple[str, dict[str, list[Any]]]) -> Iterator[Any]:
    """One key's rows, when the memory has no entry for the key -> one group ``(target,
    rows)`` per target, translated once."""
    _, grouped = item
    if list(grouped["memory"]):
        return
    by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for target, row in grouped["rows"]:
        by_target[target].append(row)
    for target, group in sorted(by_target.items()):
        group.sort(key=lambda r: str(r.get("id") or ""))
        yield target, group


def remembered_tables(
    hits: Sequence[tuple[str, dict[str, Any], tuple[Any, ...]]],
    job: TranslateJob,
    join: MemoryJoin,
) -> tuple[dict[str, Any], dict[str, StageCounts]]:
    """A batch of memory hits as translation rows (``from_memory``), and their counts."""
    tags = dict(join.tags)
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], MemoryEntry]]] = defaultdict(list)
    for target, row, entry in hits:
        groups[tags[(row["lang"], target)]].append((row, MemoryEntry(*entry)))
    tables = []
    for (src, tgt), items in groups.items():
        result = remembered_rows(
            [row for row, _ in items],
            [entry for _, entry in items],
            model_id=join.model_id,
            model_version=join.model_version,
            src_tag=src,
            tgt_tag=tgt,
            run_id=job.run_id,
            source_kind=job.source_stage,
        )
        tables.append(result.tables()[0])
    translations = pa.concat_tables(tables)
    counts = StageCounts(records_in=len(hits), records_out=translations.num_rows)
    return {"translations": translations}, {STAGE: counts}


def join_memory(
    pairs: beam.PCollection, join: MemoryJoin, store_root: str
) -> tuple[beam.PCollection, beam.PCollection]:
    """Join ``(target, row)`` with the memory by key: ``(hits, miss groups)``."""
    p = pairs.pipeline
    keyed = pairs | "KeyRows" >> beam.ParDo(KeyRowsFn(dict(join.tags)))
    blank = pairs | "BlankRows" >> beam.FlatMap(blank_groups)
    # only entries some row asks for enter the shuffle: the memory's shards are filtered by
    # the rows' hash prefixes (a side input of 8 bytes a distinct text, not the memory)
    wanted = (
        keyed | "RowKeys" >> beam.Keys() | "WantedHashes" >> beam.CombineGlobally(WantedHashesFn())
    )
    remembered = (
        p
        | "MemoryShards" >> beam.Create(list(join.shards))
        | "ReadMemory"
        >> beam.FlatMap(
            read_memory_shard,
            wanted=beam.pvalue.AsSingleton(wanted),
            store_root=store_root,
            join=join,
        )
    )
    joined = {"rows": keyed, "memory": remembered} | "JoinMemory" >> beam.CoGroupByKey()
    hits = joined | "Hits" >> beam.FlatMap(memory_hits)
    misses = (
        blank,
        joined | "MissGroups" >> beam.FlatMap(miss_groups),
    ) | "Misses" >> beam.Flatten()
    return hits, misses


class TranslateBatchesFn(beam.DoFn):
    """Translates batches of ``(target, rows)`` into ``(tables, counts)``, one per batch.

    The rows of one element share one normalised text (a memory miss) and are translated once.

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

    def process(self, batch: Sequence[tuple[str, list[dict[str, Any]]]]) -> Iterator[Any]:
        self._pending.append(self._submit(batch))
        while len(self._pending) > 1:
            yield self._collect(self._pending.popleft())

    def finish_bundle(self) -> Iterator[WindowedValue]:
        while self._pending:
            yield WindowedValue(
                self._collect(self._pending.popleft()), MIN_TIMESTAMP, [GlobalWindow()]
            )

    def _submit(self, batch: Sequence[tuple[str, list[dict[str, Any]]]]) -> _Pending:
        groups: dict[tuple[str, str], list[list[dict[str, Any]]]] = defaultdict(list)
        for target, rows in batch:
            groups[(rows[0]["lang"], target)].append(rows)
        return [
            (
                sum(len(rows) for rows in same),
                submit_groups(
                    self._loaded.engine,
                    same,
                    src,
                    tgt,
                    run_id=self.job.run_id,
                    source_kind=self.job.source_stage,
                    memory=self._loaded.memory,  # taught new translations, never looked up
                    config=self.job.config,
                ),
            )
            for (src, tgt), same in groups.items()
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


def _token_estimate(element: tuple[str, list[dict[str, Any]]]) -> int:
    return len(element[1][0]["text"] or "") // _CHARS_PER_TOKEN + 1


def read_shard_rows(shard: Shard, targets: tuple[str, ...]) -> Iterator[Any]:
    """``(target, row)`` for each row of a shard of the source stage and each requested target
    language."""
    lang = dict(shard.partition).get("lang", "und")
    names = load_schema(shard.stage).arrow.names
    table = read_shard(shard, [c for c in _COLUMNS if c in names and c != "lang"])
    for batch in table.to_batches(max_chunksize=2048):
        for row in batch.to_pylist():
            row["lang"] = lang
            for target in targets:
                if target != lang:
                    yield target, row


def expected_pairs(shards: list[Shard], targets: tuple[str, ...]) -> int:
    """How many ``(target, row)`` elements :func:`read_shard_rows` yields over ``shards`` (from
    the plan: no file is read again)."""
    return sum(
        shard.rows * sum(t != dict(shard.partition).get("lang", "und") for t in targets)
        for shard in shards
    )


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
    p: beam.Pipeline,
    shards: list[Shard],
    job: TranslateJob,
    store_root: str,
    staging: str,
    join: MemoryJoin | None = None,
) -> beam.PCollection:
    """The pipeline; with ``join``, rows are joined with the translation memory first."""
    pairs = (
        p
        | "Shards" >> beam.Create(shards)  # spread over the workers (Create reshuffles)
        | "Read" >> beam.FlatMap(read_shard_rows, targets=job.targets)
    )
    outputs = []
    if join is None:
        todo = pairs | "Groups" >> beam.Map(lambda e: (e[0], [e[1]]))
    else:
        hits, todo = join_memory(pairs, join, store_root)
        outputs.append(
            hits
            | "BatchHits"
            >> beam.BatchElements(min_batch_size=_HIT_BATCH, max_batch_size=_HIT_BATCH)
            | "Remembered" >> beam.Map(remembered_tables, job=job, join=join)
        )
    # a fixed batch size: Beam's adaptive batching starts tiny and grows slowly, which left
    # CTranslate2's replicas idle on small batches (measured: 26 sentences a batch, 0.45x)
    batches = todo | "Batch" >> beam.BatchElements(
        min_batch_size=job.batch_tokens,
        max_batch_size=job.batch_tokens,
        element_size_fn=_token_estimate,
    )
    outputs.append(batches | "Translate" >> beam.ParDo(TranslateBatchesFn(job, store_root)))
    results = outputs[0] if len(outputs) == 1 else tuple(outputs) | "Results" >> beam.Flatten()
    write = WriteStagesFn(already_tables, staging, job.run_id, measure=source_tokens)
    return results | "Write" >> beam.ParDo(write)


def plan_memory_join(
    store: Store, job: TranslateJob, engine: TranslationEngine, pairs: list[tuple[str, str]]
) -> MemoryJoin:
    """The memory join of a run: language tags per pair and the memory's shards (metadata)."""
    tags = {
        (src, tgt): tuple(lang.tag for lang in engine.languages(src, tgt)) for src, tgt in pairs
    }
    memory = TranslationMemory(store.location)
    shards = [
        shard
        for src, tgt in sorted(set(tags.values()))
        for shard in memory.shards(src, tgt, job.memory_shard_rows)
    ]
    return MemoryJoin(
        engine.model.model_id,
        engine.model.version,
        job.config.decoding_key(),
        tuple(sorted(tags.items())),  # type: ignore[arg-type]
        tuple(shards),
    )


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
    join = plan_memory_join(store, job, engine, pairs) if job.use_memory else None
    shards = plan_shards(
        files,
        job.source_stage,
        SHARD_ROWS,
        keep=lambda part: not job.source_langs or part.get("lang", "und") in job.source_langs,
        store=store.uri,
    )
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
            lambda p, staging: build(p, shards, job, store.uri, staging, join),
            Execution(tuple(beam_args or ()), workers, force, progress),
            models={"model": model_version},
            expected=Expected(expected_pairs(shards, job.targets)),
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
