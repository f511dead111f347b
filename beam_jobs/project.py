"""Alignment and label projection as Beam pipelines, one element per language pair.

A statistical aligner is good when it trains on all of a pair's text at once, so each language
pair is one element: ``curate align`` writes word links for every translation (``alignments``);
``curate project`` carries the spans of translated ``examples`` onto their translations (curate's
machine translations, or translations ingested with the examples: human references and other
systems' outputs, each projection recording the translation's ``origin``), by
word alignment (eflomal by default, trained along with the store's human bitext of the pair and
any extra parallel files) or by markers (the examples are translated again with their spans
wrapped in markers by the same model, and the markers parsed back). The row building is
``curate.project.stage``; every example gets a projection row with a status and reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from beam_jobs.common import (
    Execution,
    Expected,
    per_pair,
    run_job,
    translation_pairs,
    upstream_fingerprints,
)
from curate.align.bitext import read_bitext_pairs
from curate.align.registry import get_aligner
from curate.align.tokenize import tokenize
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.project.alignment import ProjectionConfig
from curate.project.markers import MarkerConfig
from curate.project.stage import align_rows, project_marker_rows, project_translate_train_rows
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store

STAGE = "project"
METHODS = ("alignment", "marker")

_PAIR_QUERY = """
SELECT t.id AS translation_id, t.text AS translation, t.tokens AS translation_tokens,
       t.origin, t.model_id, t.model_version,
       e.id AS example_id, e.text, e.spans, e.tokens, e.token_offsets, e.dataset
FROM translations t JOIN examples e ON e.id = t.source_id
WHERE t.source_kind = 'examples' AND {origins} AND t.src_lang = $src AND t.tgt_lang = $tgt
ORDER BY e.id, t.id
"""

#: Every example a projection run reads: the progress total.
_COUNT_QUERY = """
SELECT count(*) FROM translations t JOIN examples e ON e.id = t.source_id
WHERE t.source_kind = 'examples' AND {origins}
"""


def _origins(method: str, prefix: str = "t.") -> str:
    """Which translations a method projects onto: alignment onto every translation of an
    example (curate's MT, ingested human references and system outputs), markers only where
    curate's own model translates (it translates the marked text again)."""
    return f"{prefix}origin = 'mt'" if method == "marker" else "TRUE"


@dataclass(frozen=True)
class ProjectJob:
    run_id: str
    method: str = "alignment"  # alignment | marker
    aligner: str = "eflomal"
    aligner_options: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # ProjectionConfig / MarkerConfig
    extra_bitext: tuple[str, ...] = ()  # "src ||| tgt" files to train the aligner on
    model: str | None = None  # marker projection: the translation model


def _extra_pairs(
    store: Store, src: str, tgt: str, job: ProjectJob, from_store: bool = True
) -> list[Any]:
    """Tokenised parallel text to train the aligner along: the store's human bitext of the
    pair (plain parallel text; references of labelled examples are aligned themselves), plus
    the job's extra files."""
    query = (
        "SELECT source_text, text FROM translations WHERE origin = 'reference' "
        "AND source_kind = 'bitext' AND src_lang = $src AND tgt_lang = $tgt"
    )
    rows = store.connect().execute(query, {"src": src, "tgt": tgt}).to_arrow_table().to_pylist()
    texts = [(r["source_text"], r["text"]) for r in rows] if from_store else []
    for path in job.extra_bitext:
        texts += read_bitext_pairs(path)
    return [(tokenize(a, src).tokens, tokenize(b, tgt).tokens) for a, b in texts]


def _aligner(store: Store, src: str, tgt: str, job: ProjectJob, from_store: bool = True) -> Any:
    options = dict(job.aligner_options)
    if job.aligner == "eflomal":
        options["extra"] = _extra_pairs(store, src, tgt, job, from_store)
    return get_aligner(job.aligner, **options)


def _lineage(job: ProjectJob, stage: str) -> dict[str, Any]:
    return {"run_id": job.run_id, "stage": stage}


def project_pair(pair: tuple[str, str], store_root: str, job: ProjectJob) -> Any:
    """Projections of every translated example of one language pair."""
    src, tgt = pair
    store = Store(store_root)
    query = store.connect().sql(
        _PAIR_QUERY.format(origins=_origins(job.method)), params={"src": src, "tgt": tgt}
    )
    rows = query.to_arrow_table().to_pylist()
    if job.method == "alignment":
        pairs = [(_example(r), _translation(r, src, tgt)) for r in rows]
        out = project_translate_train_rows(
            pairs,
            _aligner(store, src, tgt, job),
            ProjectionConfig(**job.options),
            _lineage(job, STAGE),
        )
    else:
        from curate.mt.engine import TranslationEngine

        engine = TranslationEngine.load(job.model, download=False)
        out = project_marker_rows(
            [{**_example(r), "lang": src} for r in rows],
            lambda texts: [t.text or "" for t in engine.translate_texts(texts, src, tgt)],
            tgt,
            MarkerConfig(**job.options),
            _lineage(job, STAGE),
        )
    for row, source in zip(out, rows, strict=True):
        row.update(dataset=source["dataset"], model_id=source["model_id"])
        row.update(model_version=source["model_version"])
        row["origin"] = source["origin"] if job.method == "alignment" else "mt"
    counts = StageCounts(records_in=len(rows), records_out=len(out))
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


def align_pair(pair: tuple[str, str], store_root: str, job: ProjectJob) -> Any:
    """Word alignments for every translation of one language pair (``curate align``)."""
    src, tgt = pair
    store = Store(store_root)
    rows = (
        store.connect()
        .execute(
            "SELECT id, src_lang, tgt_lang, source_text, text, tokens, dataset, model_id, "
            "model_version FROM translations WHERE src_lang = $src AND tgt_lang = $tgt "
            "ORDER BY id",
            {"src": src, "tgt": tgt},
        )
        .to_arrow_table()
        .to_pylist()
    )
    # The store's bitext of the pair is among the rows aligned here: not trained on twice.
    aligner = _aligner(store, src, tgt, job, from_store=False)
    out = align_rows(rows, aligner, _lineage(job, "align"))
    for row, source in zip(out, rows, strict=True):
        row.update(dataset=source["dataset"], model_id=source["model_id"])
        row.update(model_version=source["model_version"])
    counts = StageCounts(records_in=len(rows), records_out=len(out))
    return {"alignments": load_schema("alignments").table(out)}, {"align": counts}


def run_align(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Align every translation in ``store`` (machine or human), per language pair."""
    get_aligner(job.aligner, **job.aligner_options)
    pairs = translation_pairs(store)
    if not pairs:
        raise UserError(
            "the store has no translations to align", hint="ingest bitext or translate first"
        )
    expected = Expected(_count(store, "SELECT count(*) FROM translations"))
    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    return _run_pairs(store, job, pairs, align_pair, "align", execution, expected)


def _run_pairs(
    store: Store,
    job: ProjectJob,
    pairs: list[tuple[str, str]],
    fn: Any,
    name: str,
    execution: Execution,
    expected: Expected,
) -> dict[str, Any]:
    options = asdict(job)
    fingerprint = content_id(
        name, repr(options), *upstream_fingerprints(store, ("ingest", "translate"))
    )
    return run_job(
        store,
        name,
        job.run_id,
        options,
        fingerprint,
        lambda p, staging: per_pair(
            p, pairs, fn, staging, job.run_id, store_root=store.uri, job=job
        ),
        execution,
        expected=expected,
    )


def _count(store: Store, query: str) -> int:
    return int(store.sql(query).column(0)[0].as_py())


def run_project(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Project the labels of every translated example in ``store``; returns the manifest."""
    if job.method not in METHODS:
        raise UserError(
            f"unknown projection method {job.method!r}", hint=f"one of {', '.join(METHODS)}"
        )
    try:  # every option is checked before any work starts
        (ProjectionConfig if job.method == "alignment" else MarkerConfig)(**job.options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"projection options: {exc}") from None
    if job.method == "alignment":
        get_aligner(job.aligner, **job.aligner_options)
    pairs = translation_pairs(store, f"source_kind = 'examples' AND {_origins(job.method, '')}")
    if not pairs:
        raise UserError(
            "the store has no translated examples to project",
            hint="ingest labelled data (CoNLL, or --spans-field) and translate the examples "
            "stage, or ingest it with its translations (--target-file, --target-field)",
        )
    expected = Expected(_count(store, _COUNT_QUERY.format(origins=_origins(job.method))))
    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    return _run_pairs(store, job, pairs, project_pair, STAGE, execution, expected)
