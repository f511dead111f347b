"""Label projection as a Beam pipeline: labelled examples + their translations -> projections.

One element per language pair (the aligner trains on all of a pair's text at once, which is what
makes a statistical aligner good). For ``alignment`` projection, the pair's translations of
``examples`` are tokenised, aligned (eflomal by default, trained along with the store's human
bitext of the same pair and any extra parallel files) and the spans projected; the word links go
to ``alignments``. For ``marker`` projection, the examples are translated again with their spans
wrapped in markers by the same model (loaded once per worker) and the markers parsed back.
Every example gets a projection row with a status (complete, partial, dropped) and reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from beam_jobs.common import Execution, per_pair, run_job, upstream_fingerprints
from curate.align.registry import get_aligner
from curate.align.tokenize import tokenize
from curate.errors import UserError
from curate.project.alignment import TRANSLATE_TRAIN, LabelledText, ProjectionConfig, project_batch
from curate.project.markers import MarkerConfig, project_with_markers
from curate.records import content_id, load_schema, spans_from_column, spans_to_column
from curate.store import StageCounts, Store

STAGE = "project"
METHODS = ("alignment", "marker")

_PAIR_QUERY = """
SELECT t.id AS translation_id, t.text AS translation, t.model_id, t.model_version,
       e.id AS example_id, e.text, e.spans, e.dataset
FROM translations t JOIN examples e ON e.id = t.source_id
WHERE t.source_kind = 'examples' AND t.origin = 'mt' AND t.src_lang = $src AND t.tgt_lang = $tgt
ORDER BY e.id
"""


@dataclass(frozen=True)
class ProjectJob:
    run_id: str
    method: str = "alignment"  # alignment | marker
    aligner: str = "eflomal"
    aligner_options: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # ProjectionConfig / MarkerConfig
    extra_bitext: tuple[str, ...] = ()  # "src ||| tgt" files to train the aligner on
    model: str | None = None  # marker projection: the translation model


def read_bitext_pairs(path: str) -> list[tuple[str, str]]:
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "|||" in line:
                src, tgt = line.split("|||", 1)
                if src.strip() and tgt.strip():
                    pairs.append((src.strip(), tgt.strip()))
    return pairs


def _extra_pairs(store: Store, src: str, tgt: str, job: ProjectJob) -> list[Any]:
    """Tokenised parallel text to train the aligner along: the store's human bitext of the
    pair, plus the job's extra files."""
    texts = [
        (r["source_text"], r["text"])
        for r in store.connect()
        .execute(
            "SELECT source_text, text FROM translations "
            "WHERE origin = 'reference' AND src_lang = $src AND tgt_lang = $tgt",
            {"src": src, "tgt": tgt},
        )
        .to_arrow_table()
        .to_pylist()
    ]
    for path in job.extra_bitext:
        texts += read_bitext_pairs(path)
    return [(tokenize(a, src).tokens, tokenize(b, tgt).tokens) for a, b in texts]


def project_pair(pair: tuple[str, str], store_root: str, job: ProjectJob) -> Any:
    src, tgt = pair
    store = Store(store_root)
    rows = (
        store.connect().execute(_PAIR_QUERY, {"src": src, "tgt": tgt}).to_arrow_table().to_pylist()
    )
    examples = [LabelledText(r["text"], spans_from_column(r["spans"])) for r in rows]
    alignments: list[dict[str, Any]] = []
    if job.method == "alignment":
        options = dict(job.aligner_options)
        if job.aligner == "eflomal":
            options["extra"] = _extra_pairs(store, src, tgt, job)
        aligner = get_aligner(job.aligner, **options)
        results = project_batch(
            examples,
            [r["translation"] for r in rows],
            aligner,
            labelled_is_source=True,
            labelled_lang=src,
            other_lang=tgt,
            config=ProjectionConfig(**job.options),
        )
        for row, result in zip(rows, results, strict=True):
            alignments.append(_alignment_row(row, result, src, tgt, job))
    else:
        from curate.mt.engine import TranslationEngine

        engine = TranslationEngine.load(job.model, download=False)
        results = project_with_markers(
            examples,
            lambda texts: [t.text or "" for t in engine.translate_texts(texts, src, tgt)],
            tgt_lang=tgt,
            config=MarkerConfig(**job.options),
        )
    projections = [
        _projection_row(r, res, src, tgt, job) for r, res in zip(rows, results, strict=True)
    ]
    counts = StageCounts(records_in=len(rows), records_out=len(projections))
    tables = {"projections": load_schema("projections").table(projections)}
    if alignments:
        tables["alignments"] = load_schema("alignments").table(alignments)
    return tables, {STAGE: counts}


def _lineage(row: dict[str, Any], job: ProjectJob) -> dict[str, Any]:
    return {
        "dataset": row["dataset"],
        "source_id": row["example_id"],
        "run_id": job.run_id,
        "stage": STAGE,
        "model_id": row.get("model_id"),
        "model_version": row.get("model_version"),
    }


def _alignment_row(row: dict[str, Any], result: Any, src: str, tgt: str, job: ProjectJob) -> dict:
    source = tokenize(row["text"], src)
    return {
        "id": content_id("alignment", row["translation_id"], job.aligner),
        "translation_id": row["translation_id"],
        "src_lang": src,
        "tgt_lang": tgt,
        "src_tokens": list(source.tokens),
        "tgt_tokens": list(result.tokens),
        "src_token_offsets": [{"start": s, "end": e} for s, e in source.offsets],
        "tgt_token_offsets": [{"start": s, "end": e} for s, e in result.offsets],
        "links": [{"src": s, "tgt": t} for s, t in result.links],
        "method": result.method.removeprefix("alignment/"),
        **_lineage(row, job),
    }


def _projection_row(row: dict[str, Any], result: Any, src: str, tgt: str, job: ProjectJob) -> dict:
    return {
        "id": content_id("projection", row["translation_id"], job.method),
        "example_id": row["example_id"],
        "translation_id": row["translation_id"],
        "src_lang": src,
        "tgt_lang": tgt,
        "direction": TRANSLATE_TRAIN,
        "method": result.method or job.method,
        "text": result.text or row["translation"],
        "spans": spans_to_column(list(result.spans)),
        "tokens": list(result.tokens),
        "tags": list(result.tags),
        "status": result.status,
        "reasons": list(result.reasons),
        "n_source_spans": result.n_source_spans,
        "n_projected": len(result.spans),
        **_lineage(row, job),
    }


def align_pair(pair: tuple[str, str], store_root: str, job: ProjectJob) -> Any:
    """Word alignments for every translation of one language pair (``curate align``)."""
    src, tgt = pair
    store = Store(store_root)
    rows = (
        store.connect()
        .execute(
            "SELECT id AS translation_id, source_text AS text, text AS translation, model_id, "
            "model_version, dataset, source_id AS example_id FROM translations "
            "WHERE src_lang = $src AND tgt_lang = $tgt ORDER BY id",
            {"src": src, "tgt": tgt},
        )
        .to_arrow_table()
        .to_pylist()
    )
    options = dict(job.aligner_options)
    if job.aligner == "eflomal":
        options["extra"] = [
            (tokenize(a, src).tokens, tokenize(b, tgt).tokens)
            for path in job.extra_bitext
            for a, b in read_bitext_pairs(path)
        ]
    aligner = get_aligner(job.aligner, **options)
    sources = [tokenize(r["text"], src) for r in rows]
    targets = [tokenize(r["translation"], tgt) for r in rows]
    links = aligner.align([(s.tokens, t.tokens) for s, t in zip(sources, targets, strict=True)])
    out = []
    for row, source, target, pair_links in zip(rows, sources, targets, links, strict=True):
        out.append(
            {
                "id": content_id("alignment", row["translation_id"], job.aligner),
                "translation_id": row["translation_id"],
                "src_lang": src,
                "tgt_lang": tgt,
                "src_tokens": list(source.tokens),
                "tgt_tokens": list(target.tokens),
                "src_token_offsets": [{"start": s, "end": e} for s, e in source.offsets],
                "tgt_token_offsets": [{"start": s, "end": e} for s, e in target.offsets],
                "links": [{"src": s, "tgt": t} for s, t in pair_links],
                "method": aligner.method,
                **_lineage(row, job),
                "stage": "align",
            }
        )
    counts = StageCounts(records_in=len(rows), records_out=len(out))
    return {"alignments": load_schema("alignments").table(out)}, {"align": counts}


def run_align(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
) -> dict[str, Any]:
    """Align every translation in ``store`` (machine or human), per language pair."""
    get_aligner(job.aligner, **job.aligner_options)
    pairs = [
        (r["src_lang"], r["tgt_lang"])
        for r in store.sql(
            "SELECT DISTINCT src_lang, tgt_lang FROM translations ORDER BY 1, 2"
        ).to_pylist()
    ]
    if not pairs:
        raise UserError(
            "the store has no translations to align", hint="ingest bitext or translate first"
        )
    return _run_pairs(store, job, pairs, align_pair, "align", beam_args, workers, force)


def _run_pairs(
    store: Store,
    job: ProjectJob,
    pairs: list[tuple[str, str]],
    fn: Any,
    name: str,
    beam_args: list[str] | None,
    workers: int,
    force: bool,
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
            p, pairs, fn, staging, job.run_id, store_root=str(store.root), job=job
        ),
        Execution(tuple(beam_args or ()), workers, force),
    )


def run_project(
    store: Store,
    job: ProjectJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
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
    pairs = [
        (r["src_lang"], r["tgt_lang"])
        for r in store.sql(
            "SELECT DISTINCT src_lang, tgt_lang FROM translations "
            "WHERE source_kind = 'examples' AND origin = 'mt' ORDER BY 1, 2"
        ).to_pylist()
    ]
    if not pairs:
        raise UserError(
            "the store has no translated examples to project",
            hint="ingest labelled data (CoNLL, or --spans-field) and translate the examples stage",
        )
    return _run_pairs(store, job, pairs, project_pair, STAGE, beam_args, workers, force)
