"""Alignment and label projection as Beam pipelines over shards of a language pair.

A statistical aligner learns from the text it aligns, but a language pair can be larger than
one worker's memory. So a pair is aligned in chunks of at most ``chunk_pairs`` sentence pairs,
each on its own, every chunk trained along with the same extra parallel text: the job's extra
parallel files and, for ``curate project``, a sample of at most ``chunk_pairs`` pairs of the
store's plain human bitext of the pair (``Sample.FixedSizePerKey``, a side input).
``curate align`` writes word links for every translation (``alignments``): its chunks are the
shards of ``translations``. ``curate project`` carries the spans of labelled ``examples`` onto
their translations (curate's machine translations, or translations ingested with the examples:
human references and other systems' outputs, each projection recording the translation's
``origin``), by word alignment (eflomal by default) or by markers (the examples are translated
again with their spans wrapped in markers by the same model, and the markers parsed back).
Translations and examples are joined by hash buckets (:mod:`beam_jobs.shards`), and each
bucket's rows of a pair are cut into chunks. What projection learns from a whole pair is a
first pass whose result reaches every chunk as a side input: the function words trimmed off
projection edges (counts combined per pair), and the usual translations of the consistency
pass (each chunk is drafted first, their projection counts are combined per pair, then every
chunk is finished with the sum). The row building is ``curate.project.stage``; every example
gets a projection row with a status and reasons.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
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
    bucket_count_below,
    by_partition,
    concat,
    even_slices,
    join_tables,
    read_shards,
    sides,
    tag_side,
)
from beam_jobs.spill import SpilledGroupByKey, restore, spill
from curate.align.bitext import read_bitext_pairs
from curate.align.chunks import CHUNK_PAIRS
from curate.align.registry import get_aligner
from curate.align.sentences import aligned_as_counts
from curate.align.tokenize import tokenize
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.project.alignment import (
    ADJECTIVE_AUTO,
    ADJECTIVE_LABEL,
    ProjectionConfig,
    function_word_counts,
    function_words_from_counts,
)
from curate.project.consistency import add_tables
from curate.project.options import projection_config
from curate.project.stage import (
    align_rows,
    draft_translate_train_rows,
    finish_translate_train_rows,
    given_words,
    project_marker_rows,
)
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store
from curate.store.shards import Shard, store_shards

STAGE = "project"

#: Columns of ``translations`` the jobs read.
_ALIGN_COLUMNS = [
    "id", "src_lang", "tgt_lang", "source_text", "text", "tokens", "origin", "dataset",
    "model_id", "model_version",
]  # fmt: skip
_REFERENCE_COLUMNS = ["src_lang", "tgt_lang", "source_text", "text", "origin", "source_kind"]
_PROJECT_COLUMNS = [
    "id", "src_lang", "tgt_lang", "text", "tokens", "origin", "source_kind", "source_id",
    "model_id", "model_version",
]  # fmt: skip
_EXAMPLE_COLUMNS = ["id", "text", "spans", "tokens", "token_offsets", "dataset"]


@dataclass(frozen=True)
class ProjectJob:
    run_id: str
    method: str = "alignment"  # alignment | marker
    aligner: str = "eflomal"
    aligner_options: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # ProjectionConfig / MarkerConfig
    extra_bitext: tuple[str, ...] = ()  # "src ||| tgt" files to train the aligner on
    model: str | None = None  # marker projection: the translation model
    chunk_pairs: int = CHUNK_PAIRS  # sentence pairs aligned together at most


Pair = tuple[str, str]


def reference_texts(item: tuple[Shard, pa.Table]) -> Iterator[tuple[Pair, tuple[str, str]]]:
    """``(pair, (source text, text))`` of the plain human bitext in a shard of translations
    (references of labelled examples are projected onto, and aligned, themselves)."""
    _, table = item
    refs = table.filter(
        pc.and_(
            pc.equal(table.column("origin"), "reference"),
            pc.equal(table.column("source_kind"), "bitext"),
        )
    )
    for row in refs.select(["src_lang", "tgt_lang", "source_text", "text"]).to_pylist():
        yield (row["src_lang"], row["tgt_lang"]), (row["source_text"], row["text"])


def reference_sample(p: beam.Pipeline, shards: list[Shard], size: int) -> beam.PCollection:
    """At most ``size`` pairs of human bitext per language pair (what every chunk of
    ``curate project`` trains along)."""
    return (
        read_shards(p, "References", shards, _REFERENCE_COLUMNS)
        | "ReferenceTexts" >> beam.FlatMap(reference_texts)
        | "SampleReferences" >> beam.combiners.Sample.FixedSizePerKey(size)
    )


def _aligner(pair: Pair, job: ProjectJob, references: dict[Pair, list]) -> Any:
    """The job's aligner; eflomal trains along with the pair's reference sample and the extra
    parallel files."""
    options = dict(job.aligner_options)
    if job.aligner == "eflomal":
        texts = sorted(references.get(pair, []))
        for path in job.extra_bitext:
            texts += read_bitext_pairs(path)
        src, tgt = pair
        options["extra"] = [(tokenize(a, src).tokens, tokenize(b, tgt).tokens) for a, b in texts]
    return get_aligner(job.aligner, **options)


def _lineage(job: ProjectJob, stage: str) -> dict[str, Any]:
    return {"run_id": job.run_id, "stage": stage}


def _with_model(out: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    for row, source in zip(out, rows, strict=True):
        row.update(dataset=source["dataset"], model_id=source["model_id"])
        row.update(model_version=source["model_version"])


# -- align ------------------------------------------------------------------------------------
def align_chunk(item: tuple[Shard, pa.Table], job: ProjectJob, references: dict[Pair, list]) -> Any:
    """Word alignments for one chunk (a shard) of translations of one language pair."""
    shard, table = item
    pair = (shard.key[0], shard.key[1])
    rows = table.sort_by("id").to_pylist()
    out = align_rows(rows, _aligner(pair, job, references), _lineage(job, "align"))
    _with_model(out, rows)
    counts = StageCounts(records_in=len(rows), records_out=len(out))
    counts.notes = aligned_as_counts([r["aligned_as"] for r in out])
    return {"alignments": load_schema("alignments").table(out)}, {"align": counts}


def run_align(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Align every translation in ``store`` (machine or human), in chunks of each pair."""
    _check_chunk(job)
    get_aligner(job.aligner, **job.aligner_options)
    shards = store_shards(store, "translations", job.chunk_pairs)
    if not shards:
        raise UserError(
            "the store has no translations to align", hint="ingest bitext or translate first"
        )

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        # the store's bitext is among the translations aligned here: not trained on twice
        return (
            read_shards(p, "Translations", shards, _ALIGN_COLUMNS)
            | "Align" >> beam.Map(align_chunk, job=job, references={})
            | "Write" >> beam.ParDo(WriteStagesFn(already_tables, staging, job.run_id))
        )

    expected = Expected(sum(s.rows for s in shards))
    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    return _run(store, job, "align", build, execution, expected)


def _check_chunk(job: ProjectJob) -> None:
    if job.chunk_pairs < 1:
        raise UserError(f"chunk_pairs must be at least 1, got {job.chunk_pairs}")


def _run(
    store: Store,
    job: ProjectJob,
    name: str,
    build: Any,
    execution: Execution,
    expected: Expected,
) -> dict[str, Any]:
    options = asdict(job)
    fingerprint = content_id(
        name, repr(options), *upstream_fingerprints(store, ("ingest", "translate"))
    )
    return run_job(
        store, name, job.run_id, options, fingerprint, build, execution, expected=expected
    )


# -- project ----------------------------------------------------------------------------------
def _translated_examples(table: pa.Table, method: str) -> pa.Table:
    """The translations of examples in a shard of translations that ``method`` projects onto:
    alignment onto every translation of an example (curate's MT, ingested human references
    and system outputs), markers only where curate's own model translates (it translates the
    marked text again)."""
    keep = pc.equal(table.column("source_kind"), "examples")
    if method == "marker":
        keep = pc.and_(keep, pc.equal(table.column("origin"), "mt"))
    return table.filter(pc.fill_null(keep, False))


def function_word_stats(
    item: tuple[Shard, pa.Table], method: str
) -> Iterator[tuple[Pair, tuple[int, Counter[str]]]]:
    """First pass: ``(pair, (texts, function-word counts))`` of a shard's translated examples
    (words as projection sees them: given ones where the translation came tokenised)."""
    shard, table = item
    rows = _translated_examples(table, method)
    if rows.num_rows:
        tgt = shard.key[1]
        texts = [
            (given_words(text or "", tokens) or tokenize(text or "", tgt)).tokens
            for text, tokens in zip(
                rows.column("text").to_pylist(), rows.column("tokens").to_pylist(), strict=True
            )
        ]
        yield (shard.key[0], tgt), (len(texts), function_word_counts(texts))


def add_stats(items: Any) -> tuple[int, Counter[str]]:
    """Combine ``(texts, counts)`` of several shards."""
    n, total = 0, Counter()
    for texts, counts in items:
        n += texts
        total.update(counts)
    return n, total


def join_examples(bucket: tuple[int, Any], chunk_pairs: int) -> Iterator[tuple[Pair, pa.Table]]:
    """One bucket of translations and examples joined, cut into chunks of one pair each."""
    _, grouped = bucket
    parts = sides(grouped, ("translations", "examples"))
    if not parts["translations"] or not parts["examples"]:
        return
    translations = concat(parts["translations"]).rename_columns(
        {"id": "translation_id", "text": "translation", "tokens": "translation_tokens"}
    )
    examples = concat(parts["examples"]).rename_columns({"id": "example_id"})
    joined = join_tables(translations, examples, "source_id", "example_id")
    joined = joined.sort_by([("example_id", "ascending"), ("translation_id", "ascending")])
    for (src, tgt), rows in by_partition(joined, ["src_lang", "tgt_lang"]):
        for chunk in even_slices(rows, chunk_pairs):
            yield (src, tgt), chunk


def span_labels(item: tuple[Pair, pa.Table]) -> tuple[Pair, set[str]]:
    """The labels of a chunk's example spans (``adjective_label: auto`` decides on the pair's)."""
    pair, table = item
    return pair, {s["label"] for spans in table.column("spans").to_pylist() for s in spans or ()}


def union(sets: Any) -> set[str]:
    return set().union(*sets)


def _projection_config(
    job: ProjectJob,
    pair: Pair,
    function_words: dict[Pair, tuple[int, Counter[str]]],
    labels: dict[Pair, set[str]],
) -> ProjectionConfig:
    """The job's options, with what is learnt from the whole pair: the function words, and
    whether ``adjective_label: auto`` relabels (the pair's labels include it)."""
    config = projection_config("alignment", job.options)
    if config.adjective_label == ADJECTIVE_AUTO:
        found = ADJECTIVE_LABEL if ADJECTIVE_LABEL in labels.get(pair, set()) else None
        config = dataclasses.replace(config, adjective_label=found)
    if not config.trim_function_words:
        return config
    n, counts = function_words.get(pair, (0, Counter()))
    learnt = frozenset()
    if n >= config.min_texts_for_function_words:
        learnt = function_words_from_counts(counts, n)
    return dataclasses.replace(
        config, trim_function_words=False, trim_words=config.trim_words | learnt
    )


def draft_chunk(
    item: tuple[Pair, pa.Table],
    job: ProjectJob,
    references: dict[Pair, list],
    function_words: dict[Pair, tuple[int, Counter[str]]],
    labels: dict[Pair, set[str]],
) -> tuple[Pair, pa.Table, Any]:
    """Align and project one chunk of translated examples (maybe spilled), up to the
    consistency pass."""
    (src, tgt), table = restore(item)
    pairs = [(_example(r), _translation(r, src, tgt)) for r in table.to_pylist()]
    batch = draft_translate_train_rows(
        pairs,
        _aligner((src, tgt), job, references),
        _projection_config(job, (src, tgt), function_words, labels),
    )
    return (src, tgt), table, batch


def finish_chunk(
    item: tuple[Pair, pa.Table, Any],
    job: ProjectJob,
    function_words: dict[Pair, tuple[int, Counter[str]]],
    usual: dict[Pair, Any],
    labels: dict[Pair, set[str]],
) -> Any:
    """Projections of one drafted chunk (maybe spilled); the consistency pass learns from the
    whole pair."""
    pair, table, batch = restore(item)
    rows = table.to_pylist()
    pairs = [(_example(r), _translation(r, *pair)) for r in rows]
    config = _projection_config(job, pair, function_words, labels)
    out = finish_translate_train_rows(
        pairs, batch, config, _lineage(job, STAGE), usual.get(pair, {})
    )
    return _projection_tables(out, rows)


def marker_chunk(item: tuple[Pair, pa.Table], job: ProjectJob) -> Any:
    """Projections of one chunk by markers (the examples translated again, marked)."""
    from curate.mt.engine import TranslationEngine

    (src, tgt), table = item
    rows = table.to_pylist()
    engine = TranslationEngine.load(job.model, download=False)
    out = project_marker_rows(
        [{**_example(r), "lang": src} for r in rows],
        lambda texts: [t.text or "" for t in engine.translate_texts(texts, src, tgt)],
        tgt,
        projection_config("marker", job.options),
        _lineage(job, STAGE),
    )
    return _projection_tables(out, rows, origin="mt")


def _projection_tables(
    out: list[dict[str, Any]], rows: list[dict[str, Any]], origin: str | None = None
) -> Any:
    """Tables and counts of projected rows; each records the origin of its translation."""
    _with_model(out, rows)
    for row, source in zip(out, rows, strict=True):
        row["origin"] = origin or source["origin"]
    counts = StageCounts(records_in=len(rows), records_out=len(out))
    counts.notes = aligned_as_counts([r.get("aligned_as") for r in out])
    return {"projections": load_schema("projections").table(out)}, {STAGE: counts}


def _example(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("text", "spans", "tokens", "token_offsets")
    return {"id": row["example_id"], **{k: row[k] for k in keys}}


def _translation(row: dict[str, Any], src: str, tgt: str) -> dict[str, Any]:
    return {
        "id": row["translation_id"],
        "text": row["translation"],
        "tokens": row["translation_tokens"],
        "src_lang": src,
        "tgt_lang": tgt,
    }


def run_project(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Project the labels of every translated example in ``store``; returns the manifest."""
    projection_config(job.method, job.options)  # every option is checked before any work
    _check_chunk(job)
    if job.method == "alignment":
        get_aligner(job.aligner, **job.aligner_options)
    origins = "t.origin = 'mt'" if job.method == "marker" else "TRUE"
    expected = Expected(_count(store, _COUNT_QUERY.format(origins=origins)))
    if not expected.total:
        raise UserError(
            "the store has no translated examples to project",
            hint="ingest labelled data (CoNLL, or --spans-field) and translate the examples "
            "stage, or ingest it with its translations (--target-file, --target-field)",
        )
    translations = store_shards(store, "translations", job.chunk_pairs)
    examples = store_shards(store, "examples", job.chunk_pairs)
    rows = max(sum(s.rows for s in translations), sum(s.rows for s in examples))
    buckets = bucket_count_below(rows, job.chunk_pairs)

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        read = read_shards(p, "Translations", translations, _PROJECT_COLUMNS)
        function_words = beam.pvalue.AsDict(
            read
            | "FunctionWords" >> beam.FlatMap(function_word_stats, method=job.method)
            | "AddFunctionWords" >> beam.CombinePerKey(add_stats)
        )
        references = beam.pvalue.AsDict(reference_sample(p, translations, job.chunk_pairs))
        left = (
            read
            | "TranslatedExamples"
            >> beam.Map(lambda item: _translated_examples(item[1], job.method))
            | "BucketTranslations" >> beam.FlatMap(tag_side("translations", "source_id", buckets))
        )
        right = read_shards(
            p, "Examples", examples, _EXAMPLE_COLUMNS
        ) | "BucketExamples" >> beam.FlatMap(tag_side("examples", "id", buckets))
        chunks = (
            (left, right)
            | "Join" >> SpilledGroupByKey(staging)
            | "Chunks" >> beam.FlatMap(join_examples, chunk_pairs=job.chunk_pairs)
        )
        if job.method == "marker":
            projected = chunks | "Markers" >> beam.Map(marker_chunk, job=job)
        else:
            labels = beam.pvalue.AsDict(
                chunks
                | "Labels" >> beam.Map(span_labels)
                | "AllLabels" >> beam.CombinePerKey(union)
            )
            # drafting needs the labels of the whole pair: the chunks wait as spill files
            drafted = (
                chunks
                | "SpillChunks" >> beam.Map(spill, staging=staging)
                | "Draft"
                >> beam.Map(
                    draft_chunk,
                    job=job,
                    references=references,
                    function_words=function_words,
                    labels=labels,
                )
            )
            usual = beam.pvalue.AsDict(
                drafted
                | "UsualCounts" >> beam.Map(lambda d: (d[0], d[2].projection_counts()))
                | "AddUsual" >> beam.CombinePerKey(add_tables)
            )
            # finishing needs the usual translations of the whole pair: drafts wait as files
            projected = (
                drafted
                | "SpillDrafts" >> beam.Map(spill, staging=staging)
                | "Finish"
                >> beam.Map(
                    finish_chunk,
                    job=job,
                    function_words=function_words,
                    usual=usual,
                    labels=labels,
                )
            )
        return projected | "Write" >> beam.ParDo(WriteStagesFn(already_tables, staging, job.run_id))

    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    return _run(store, job, STAGE, build, execution, expected)


#: Every example a projection run reads: the progress total.
_COUNT_QUERY = """
SELECT count(*) FROM translations t JOIN examples e ON e.id = t.source_id
WHERE t.source_kind = 'examples' AND {origins}
"""


def _count(store: Store, query: str) -> int:
    return int(store.sql(query).column(0)[0].as_py())
