"""Artifact detection as a Beam pipeline: translations -> artifact_tags, per language pair.

Each language pair is read from the store with what the detectors can use joined on
(projection status and counts, a human reference for the same source, the paired field of NLI
examples), the learning detectors are fitted once on a sample of the pair, and the pair's rows
are tagged in chunks that all share that fit. Detectors only tag; nothing is filtered here.
"""

from __future__ import annotations

import copy
from collections import Counter
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
    translation_pairs,
    upstream_fingerprints,
)
from curate.artifacts.config import DetectConfig
from curate.artifacts.detect import detect, fit_stats
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.records import content_id
from curate.store import StageCounts, Store

STAGE = "detect"
CHUNK_ROWS = 5000
SAMPLE_ROWS = 20000

#: One query per language pair: the translations plus the optional columns detectors use.
_PAIR_QUERY = """
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
WHERE t.src_lang = $src AND t.tgt_lang = $tgt
ORDER BY t.id
"""


@dataclass(frozen=True)
class DetectJob:
    run_id: str
    config: dict[str, Any] = field(default_factory=dict)  # the recipe's detect section


def pair_chunks(pair: tuple[str, str], store_root: str, job: DetectJob) -> Any:
    """``(rows, stats)`` chunks of one language pair, all judged against one fit."""
    con = Store(store_root).connect()
    table = con.sql(_PAIR_QUERY, params={"src": pair[0], "tgt": pair[1]}).to_arrow_table()
    rows = _drop_empty_optional(table)
    config = DetectConfig.from_dict(job.config)
    stats = fit_stats(rows.slice(0, SAMPLE_ROWS), config)
    for start in range(0, rows.num_rows, CHUNK_ROWS):
        yield rows.slice(start, CHUNK_ROWS), stats


def _drop_empty_optional(table: pa.Table) -> pa.Table:
    """Optional columns that are all null would switch detectors on for nothing: drop them."""
    optional = ("projection_status", "n_source_spans", "n_projected", "reference_text")
    keep = [
        c
        for c in table.column_names
        if c not in optional or table.column(c).null_count < len(table)
    ]
    return table.select(keep)


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


def tag_chunk(item: tuple[pa.Table, dict[str, Any]], job: DetectJob) -> Any:
    rows, stats = item
    config = DetectConfig.from_dict(job.config)
    tags = detect(rows, config, stats=copy.deepcopy(stats), run_id=job.run_id)
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
    pairs = translation_pairs(store)
    if not pairs:
        raise UserError(
            "the store has no translations to check", hint="run `curate translate` first"
        )
    options = {**asdict(job), "effective": config.to_dict()}
    fingerprint = content_id(
        repr(options), *upstream_fingerprints(store, ("ingest", "translate", "project"))
    )

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        return (
            p
            | "Pairs" >> beam.Create(pairs)
            | "Chunks" >> beam.FlatMap(pair_chunks, store_root=store.uri, job=job)
            | "Spread" >> beam.Reshuffle()
            | "Tag" >> beam.Map(tag_chunk, job=job)
            | "Write" >> beam.ParDo(WriteStagesFn(already_tables, staging, job.run_id))
        )

    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    expected = Expected(_count_translations(store))
    return run_job(
        store, STAGE, job.run_id, options, fingerprint, build, execution, expected=expected
    )


def _count_translations(store: Store) -> int:
    return int(store.sql("SELECT count(*) FROM translations").column(0)[0].as_py())
