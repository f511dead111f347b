"""Run the detectors over a batch of translation pairs and write ``artifact_tags`` rows.

``score_pairs`` is the scoring step (one :class:`DetectorRun` per detector: scores, thresholds,
flags, details); ``detect`` turns it into the long ``artifact_tags`` table, one row per
translation and detector. Nothing is dropped: every input row gets a row from every detector
that applies to the batch (score NaN/null when the detector could not judge it, flag False).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from curate.artifacts.config import DetectConfig
from curate.artifacts.frame import pair_frame, pair_keys
from curate.artifacts.registry import Context, Detector
from curate.records import content_id, load_schema

STAGE = "detect"


@dataclass
class DetectorRun:
    detector: Detector
    score: np.ndarray
    threshold: np.ndarray
    flag: np.ndarray
    detail: list[str | None]
    seconds: float


def score_pairs(
    data: pa.Table | pl.DataFrame | list[dict[str, Any]],
    config: DetectConfig | None = None,
    stats: dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, DetectorRun]]:
    """Score a batch with every selected detector that applies to its columns.

    ``stats`` holds what learning detectors fitted per language pair (``length_ratio``,
    ``reference_disagreement``); pairs missing from it are fitted on this batch and added to it,
    so passing the same dict to later batches reuses the fit.
    """
    config = config or DetectConfig()
    stats = {} if stats is None else stats
    pairs = pair_frame(data)
    keys = pair_keys(pairs)
    ctx = Context(stats=stats)
    runs: dict[str, DetectorRun] = {}
    for detector in config.selected(pairs.columns):
        start = time.perf_counter()
        result = detector.fn(pairs, config.params(detector), ctx)
        score = np.asarray(result.score, dtype=np.float64)
        if score.shape != (pairs.height,):
            raise RuntimeError(f"detector {detector.name} returned {score.shape} scores")
        threshold = config.thresholds(detector, keys)
        flag = detector.flags(score, threshold)
        if result.detail is not None:
            detail = list(result.detail)
        else:
            detail = [None] * pairs.height
            if result.explain is not None:
                for i in np.flatnonzero(flag):
                    detail[int(i)] = result.explain(int(i))
        runs[detector.name] = DetectorRun(
            detector, score, threshold, flag, detail, time.perf_counter() - start
        )
    return pairs, runs


def tags_table(
    pairs: pl.DataFrame,
    runs: Mapping[str, DetectorRun],
    *,
    run_id: str,
    dataset: str | None = None,
) -> pa.Table:
    """The ``artifact_tags`` rows (schema-exact) for scored pairs; lineage from the pair rows."""
    schema = load_schema("artifact_tags")
    n = pairs.height
    tid = pairs["translation_id"].to_list()
    tid_array = pa.array(tid, pa.string())
    src = pairs["src_lang"].to_arrow().cast(pa.string())
    tgt = pairs["tgt_lang"].to_arrow().cast(pa.string())
    if "dataset" in pairs.columns:
        datasets = pairs["dataset"].cast(pl.String).fill_null(dataset or "").to_arrow()
    else:
        datasets = pa.repeat(pa.scalar(dataset or "", pa.string()), n)
    parts: list[pa.Table] = []
    for run in runs.values():
        d = run.detector
        columns = {
            "id": pa.array([content_id(t, d.name, d.version) for t in tid], pa.string()),
            "translation_id": tid_array,
            "src_lang": src,
            "tgt_lang": tgt,
            "detector": pa.repeat(pa.scalar(d.name, pa.string()), n),
            "detector_version": pa.repeat(pa.scalar(d.version, pa.string()), n),
            "score": pa.array(run.score, pa.float64(), from_pandas=True),
            "flag": pa.array(run.flag, pa.bool_()),
            "threshold": pa.array(run.threshold, pa.float64()),
            "detail": pa.array(run.detail, pa.string()),
            "dataset": datasets,
            "source_id": tid_array,
            "run_id": pa.repeat(pa.scalar(run_id, pa.string()), n),
            "stage": pa.repeat(pa.scalar(STAGE, pa.string()), n),
            "model_id": pa.repeat(pa.scalar(d.model, pa.string()), n),
            "model_version": pa.nulls(n, pa.string()),
        }
        parts.append(pa.Table.from_pydict(columns, schema=schema.arrow))
    if not parts:
        return schema.table([])
    return pa.concat_tables(parts)


def detect(
    data: pa.Table | pl.DataFrame | list[dict[str, Any]],
    config: DetectConfig | None = None,
    *,
    stats: dict[str, Any] | None = None,
    run_id: str = "detect",
    dataset: str | None = None,
) -> pa.Table:
    """Tag a batch: the ``artifact_tags`` table, one row per translation and detector."""
    pairs, runs = score_pairs(data, config, stats)
    return tags_table(pairs, runs, run_id=run_id, dataset=dataset)


def fit_stats(
    data: pa.Table | pl.DataFrame | list[dict[str, Any]],
    config: DetectConfig | None = None,
) -> dict[str, Any]:
    """What the learning detectors learn per language pair from ``data`` (JSON-serialisable).

    For a job in two passes: fit on a sample of each language pair (a few thousand rows per
    pair is plenty), then give every batch a copy of the result as ``stats=``, so that small
    batches are judged like large ones and every batch uses the same expectations.
    """
    config = config or DetectConfig()
    pairs = pair_frame(data)
    learning = tuple(d.name for d in config.selected(pairs.columns) if d.learns)
    only = tuple(dict.fromkeys(("length_ratio", *learning)))  # the others need length z
    stats: dict[str, Any] = {}
    score_pairs(pairs, dataclasses.replace(config, only=only, skip=()), stats)
    return stats


def flags_wide(pairs: pl.DataFrame, runs: Mapping[str, DetectorRun]) -> pl.DataFrame:
    """One row per translation: ``<detector>_score`` and ``<detector>_flag`` columns."""
    columns: dict[str, Any] = {"translation_id": pairs["translation_id"]}
    for name, run in runs.items():
        columns[f"{name}_score"] = run.score
        columns[f"{name}_flag"] = run.flag
    return pl.DataFrame(columns)
