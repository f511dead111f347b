"""Artifact detection as a Beam pipeline: translations -> artifact_tags, per language pair.

Each language pair is read from the store with what the detectors can use joined on
(projection status and counts, a human reference for the same source, the paired field of NLI
examples), the learning detectors are fitted once on a sample of the pair, and the pair's rows
are tagged in chunks that all share that fit. Detectors only tag; nothing is filtered here.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow as pa

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
       ON t.origin = 'mt' AND r.source_text = t.source_text
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


def tag_chunk(item: tuple[pa.Table, dict[str, Any]], job: DetectJob) -> Any:
    rows, stats = item
    tags = detect(
        rows, DetectConfig.from_dict(job.config), stats=copy.deepcopy(stats), run_id=job.run_id
    )
    counts = StageCounts(records_in=rows.num_rows, records_out=rows.num_rows)
    return {"artifact_tags": tags}, {STAGE: counts}


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
            | "Chunks" >> beam.FlatMap(pair_chunks, store_root=str(store.root), job=job)
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
