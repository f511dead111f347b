"""Training-set building as a Beam pipeline: one builder call per language pair, then mixing.

Parallel sets are built per ``(src_lang, tgt_lang)`` partition of ``translations`` (with the
``artifact_tags`` of the same pair for filtering); interleaved sets per language pair from
document pairs made by curate's pairing (document of origin, a shared link, or retrieval over
pivot translations). Each pair is an element, so pairs build in parallel; mixing, which needs
every sample, is one final step. Filter decisions are counted by reason in the manifest.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow as pa

from beam_jobs.common import (
    Execution,
    Expected,
    WriteStagesFn,
    run_job,
    translation_pairs,
    upstream_fingerprints,
)
from curate.build.common import BuildReport
from curate.build.interleave import InterleaveConfig, build_interleaved
from curate.build.mixing import MixConfig, mix
from curate.build.pairing import documents_from_segments, pair_by_key, pair_by_retrieval
from curate.build.parallel import ParallelConfig, build_parallel
from curate.build.tokens import load_token_counter
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store

PAIRINGS = ("origin", "link", "retrieval")


@dataclass(frozen=True)
class BuildJob:
    run_id: str
    kind: str  # parallel | interleaved
    config: dict[str, Any] = field(default_factory=dict)  # the builder's recipe section
    mix: dict[str, Any] | None = None  # the mixing section; None: no mixing
    tokenizer: str | None = None  # SentencePiece file or HF tokenizer directory
    pair_by: str = "origin"  # interleaved: origin | link | retrieval
    link_field: str = "link"
    pivot: str = "en"
    retrieval_method: str = "tfidf"
    threshold: float = 0.3


def _report_counts(stage: str, report: BuildReport) -> dict[str, StageCounts]:
    c = report.to_counts()
    return {stage: StageCounts(c["in"], c["out"], filtered=c["filtered"])}


def _samples_table(samples: list[dict[str, Any]]) -> pa.Table:
    return load_schema("training_samples").table(samples)


# -- parallel ---------------------------------------------------------------------------------
def build_parallel_pair(pair: tuple[str, str], store_root: str, job: BuildJob) -> Any:
    src, tgt = pair
    store = Store(store_root)
    where = f"src_lang = '{src}' AND tgt_lang = '{tgt}'"
    rows = store.sql(f"SELECT * FROM translations WHERE {where}").to_pylist()
    tags = store.sql(f"SELECT * FROM artifact_tags WHERE {where}").to_pylist()
    result = build_parallel(
        rows,
        ParallelConfig.from_dict(job.config),
        tags=tags,
        counter=load_token_counter(job.tokenizer),
        run_id=job.run_id,
    )
    return result.samples, _report_counts("build.parallel", result.report)


# -- interleaved ------------------------------------------------------------------------------
def _translated_documents(store: Store, tgt: str) -> dict[str, dict[str, Any]]:
    """Documents rebuilt from the translations of their segments into ``tgt``, by origin id."""
    rows = store.sql(
        "SELECT s.doc_id, s.seg_index, t.text, t.dataset FROM translations t "
        "JOIN segments s ON s.id = t.source_id "
        f"WHERE t.source_kind = 'segments' AND t.tgt_lang = '{tgt}' ORDER BY s.doc_id, s.seg_index"
    ).to_pylist()
    docs: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = docs.setdefault(
            row["doc_id"],
            {
                "id": content_id(row["doc_id"], tgt),
                "source_id": row["doc_id"],
                "lang": tgt,
                "sentences": [],
                "dataset": row["dataset"],
            },
        )
        doc["sentences"].append(row["text"])
    return docs


def _documents(store: Store, link_field: str) -> list[dict[str, Any]]:
    docs = documents_from_segments(
        store.sql("SELECT doc_id, seg_index, text, lang, dataset FROM segments").to_pylist()
    )
    meta = {
        r["id"]: json.loads(r["meta"]) if r["meta"] else {}
        for r in store.sql("SELECT id, meta FROM documents").to_pylist()
    }
    for doc in docs:
        doc[link_field] = meta.get(doc["id"], {}).get(link_field)
    return docs


def build_interleaved_pair(pair: tuple[str, str], store_root: str, job: BuildJob) -> Any:
    src, tgt = pair
    store = Store(store_root)
    if job.pair_by == "origin":
        src_docs = [d for d in _documents(store, job.link_field) if d["lang"] == src]
        tgt_docs = list(_translated_documents(store, tgt).values())
        pairing = pair_by_key(
            src_docs, tgt_docs, src_key="id", tgt_key="source_id", method="origin"
        )
    else:
        docs = _documents(store, job.link_field)
        src_docs = [d for d in docs if d["lang"] == src]
        tgt_docs = [d for d in docs if d["lang"] == tgt]
        if job.pair_by == "link":
            pairing = pair_by_key(
                src_docs, tgt_docs, src_key=job.link_field, tgt_key=job.link_field
            )
        else:
            pivots = {
                origin: " ".join(doc["sentences"])
                for origin, doc in _translated_documents(store, src).items()
            }
            pairing = pair_by_retrieval(
                src_docs,
                tgt_docs,
                pivot_texts=pivots,
                method=job.retrieval_method,
                threshold=job.threshold,
            )
    result = build_interleaved(
        pairing.pairs,
        InterleaveConfig.from_dict(job.config),
        counter=load_token_counter(job.tokenizer),
        run_id=job.run_id,
    )
    counts = _report_counts("build.pairing", pairing.report)
    counts.update(_report_counts("build.interleaved", result.report))
    return result.samples, counts


# -- shared -----------------------------------------------------------------------------------
def to_tables(item: Any) -> tuple[dict[str, pa.Table], dict[str, StageCounts]]:
    samples, counts = item
    return {"training_samples": _samples_table(samples)}, counts


def mix_all(items: list[Any], config: dict[str, Any]) -> Any:
    samples = [s for part, _ in items for s in part]
    counts: dict[str, StageCounts] = defaultdict(StageCounts)
    for _, part_counts in items:
        for stage, c in part_counts.items():
            counts[stage].add(c)
    result = mix(samples, MixConfig.from_dict(config))
    counts.update(_report_counts("build.mix", result.report))
    return result.samples, dict(counts)


def language_pairs(store: Store, job: BuildJob) -> list[tuple[str, str]]:
    if job.kind == "parallel":
        return translation_pairs(store)
    if job.pair_by not in PAIRINGS:
        raise UserError(f"unknown pairing {job.pair_by!r}", hint=f"one of {', '.join(PAIRINGS)}")
    if job.pair_by == "origin":
        rows = store.sql(
            "SELECT DISTINCT s.lang AS src, t.tgt_lang AS tgt FROM translations t "
            "JOIN segments s ON s.id = t.source_id WHERE t.source_kind = 'segments' ORDER BY 1, 2"
        )
        return [(r["src"], r["tgt"]) for r in rows.to_pylist()]
    langs = [
        r["lang"] for r in store.sql("SELECT DISTINCT lang FROM segments ORDER BY 1").to_pylist()
    ]
    return [(job.pivot, lang) for lang in langs if lang != job.pivot]


def run_build(
    store: Store,
    job: BuildJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Build training samples from ``store``; returns the run manifest.

    With ``force=False`` an earlier run with the same options over the same upstream runs is
    kept as it is.
    """
    if job.kind not in ("parallel", "interleaved"):
        raise UserError(f"unknown builder {job.kind!r}", hint="parallel or interleaved")
    # validate every option before any work starts
    (ParallelConfig if job.kind == "parallel" else InterleaveConfig).from_dict(job.config)
    if job.mix is not None:
        MixConfig.from_dict(job.mix)
    load_token_counter(job.tokenizer)
    pairs = language_pairs(store, job)
    if not pairs:
        source = "translations" if job.kind == "parallel" else "documents to pair"
        raise UserError(f"the store has no {source}", hint="run `curate translate` first")
    builder = build_parallel_pair if job.kind == "parallel" else build_interleaved_pair
    options = asdict(job)
    fingerprint = content_id(
        repr(options), *upstream_fingerprints(store, ("ingest", "translate", "project", "detect"))
    )

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        built = (
            p
            | "Pairs" >> beam.Create(pairs)
            | "Build" >> beam.Map(builder, store_root=store.uri, job=job)
        )
        if job.mix is not None:
            built = (
                built
                | "Gather" >> beam.combiners.ToList()
                | "Mix" >> beam.Map(mix_all, config=job.mix)
            )
        return built | "Write" >> beam.ParDo(WriteStagesFn(to_tables, staging, job.run_id))

    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    expected = None  # interleaved: documents are paired inside the job, no cheap count
    if job.kind == "parallel":
        rows = store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
        expected = Expected(int(rows))
    return run_job(
        store,
        f"build-{job.kind}",
        job.run_id,
        options,
        fingerprint,
        build,
        execution,
        expected=expected,
    )
