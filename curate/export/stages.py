"""Which store stages can be exported to the Hub, and how their rows become a dataset.

``training_samples`` export as they are stored: the builders already give each sample its
``config`` (the builder's name) and ``split``.

``projections`` export as token-classification data in the projected language: one config per
language pair, ``<src_lang>-<tgt_lang>``, with split ``train`` for translate-train rows (source
labels carried onto translations, what a model is trained on) and ``test`` for translate-test
rows (labels predicted on a translation carried back onto the original text). Only rows whose
projection status is among ``statuses`` are exported, ``complete`` alone by default: a
``partial`` row lacks some of its source's entities, so in training data its missing ones
would read as "no entity". ``dropped`` rows carry no labels and are never exported. Rows keep
the order of the corpus their examples were read from.

An export holds one run per job (:func:`export_runs`): the latest ``project`` run, or the latest
``build-parallel`` and ``build-interleaved`` runs, unless runs are named. Two projection runs
(alignment and markers) over the same examples would otherwise export every sentence twice,
with conflicting tags.

Beside the IOB2 ``tags`` as strings, ``ner_tags`` holds them as class ids, which `datasets`
loads as a sequence of ``ClassLabel`` (``O`` first, then ``B-``/``I-`` of each label), the form
Hugging Face's token-classification scripts train on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import UserError
from curate.export.card import CardInfo
from curate.export.hub import plain_columns, with_class_labels
from curate.store import Store
from curate.store.run import check_run_id
from curate.text.tags import parse_tag

PROJECTION_STATUSES = ("complete", "partial")


@dataclass(frozen=True)
class Exportable:
    """A stage that can be exported: the card's task categories, the jobs its rows come from
    and the command that makes them."""

    task_categories: tuple[str, ...]
    upstream_jobs: tuple[str, ...]
    made_by: str


EXPORTABLE = {
    "training_samples": Exportable(
        ("translation", "text-generation"), ("build",), "curate build parallel|interleaved"
    ),
    "projections": Exportable(("token-classification",), ("project",), "curate project"),
}


def export_card(stage: str, **info: Any) -> CardInfo:
    """The dataset card of an export of ``stage``: its task categories and the column docs of
    its schema, with ``info`` (name, license, provenance, recipe)."""
    return CardInfo(task_categories=EXPORTABLE[stage].task_categories, schema=stage, **info)


#: projections in the order of the corpus their examples came from (file, then line), so that
#: sentence k of an export is sentence k of the labelled input
_CORPUS_ORDER = """
SELECT p.* FROM projections p LEFT JOIN examples e ON e.id = p.example_id
WHERE p.run_id IN ({runs}) AND p.status IN ({statuses})
ORDER BY p.src_lang, p.tgt_lang, e.source_file NULLS LAST, e.source_line, p.id
"""
#: rows read (and written) at a time by an export
BATCH_ROWS = 10_000


def _check_stage(stage: str) -> None:
    if stage not in EXPORTABLE:
        raise UserError(
            f"cannot export the stage {stage!r}", hint=f"choose one of {', '.join(EXPORTABLE)}"
        )


def export_runs(store: Store, stage: str, run_ids: Sequence[str] = ()) -> list[str]:
    """The runs an export of ``stage`` holds: ``run_ids`` (checked), else the latest committed
    run of each job that writes the stage. A UserError when there is none, or for a named run
    that did not write the stage (listing those that did)."""
    _check_stage(stage)
    runs = [m for m in store.manifests() if m.get("files", {}).get(stage)]
    if run_ids:
        known = {m["run_id"] for m in runs}
        unknown = [r for r in run_ids if r not in known]
        if unknown:
            raise UserError(
                f"no {stage.replace('_', ' ')} of run {', '.join(map(repr, unknown))}",
                hint=f"runs with {stage.replace('_', ' ')}: {', '.join(sorted(known)) or 'none'}",
            )
        return list(dict.fromkeys(run_ids))
    latest: dict[str, dict[str, Any]] = {}
    for manifest in sorted(runs, key=lambda m: _committed_at(store, m)):
        latest[manifest["job"]] = manifest
    return sorted(m["run_id"] for m in latest.values())


def _committed_at(store: Store, manifest: dict[str, Any]) -> tuple[str, int]:
    """When a run was committed: its finish time, then its manifest file's time (finer)."""
    return str(manifest.get("finished_at") or ""), store.committed_ns(manifest["run_id"])


def export_rows(
    store: Store,
    stage: str = "training_samples",
    statuses: Sequence[str] = ("complete",),
    run_ids: Sequence[str] = (),
) -> pa.Table:
    """All rows of :func:`export_reader` in one table (for small exports and CoNLL files)."""
    return export_reader(store, stage, statuses, run_ids).read_all()


def export_reader(
    store: Store,
    stage: str = "training_samples",
    statuses: Sequence[str] = ("complete",),
    run_ids: Sequence[str] = (),
    batch_rows: int = BATCH_ROWS,
) -> pa.RecordBatchReader:
    """The rows of ``stage`` ready for :func:`curate.export.hub.export_folder`, from the runs
    :func:`export_runs` chooses (``run_ids``, else the latest run of each job), streamed in
    batches of at most ``batch_rows`` rows: what is known before the first row (that there are
    rows, the tag set of projections) comes from aggregate queries, so no step holds the stage.

    Raises :class:`UserError` for a stage that cannot be exported, an unknown status, or when
    nothing is left to export (saying what the store has instead).
    """
    _check_stage(stage)
    chosen = export_runs(store, stage, run_ids)
    runs = ", ".join(f"'{check_run_id(r)}'" for r in chosen) or "NULL"
    counts = store.sql(
        f"SELECT status, count(*) AS n FROM {stage} WHERE run_id IN ({runs}) GROUP BY ALL"
        if stage == "projections"
        else f"SELECT count(*) AS n FROM {stage} WHERE run_id IN ({runs})"
    )
    if sum(counts.column("n").to_pylist()) == 0:
        raise UserError(
            f"the store has no {stage.replace('_', ' ')}",
            hint=f"run `{EXPORTABLE[stage].made_by}` first",
        )
    if stage == "training_samples":
        return store.sql_batches(f"SELECT * FROM {stage} WHERE run_id IN ({runs})", batch_rows)
    return _projection_reader(store, runs, statuses, counts, batch_rows)


def _projection_reader(
    store: Store, runs: str, statuses: Sequence[str], counts: pa.Table, batch_rows: int
) -> pa.RecordBatchReader:
    unknown = sorted(set(statuses) - set(PROJECTION_STATUSES))
    if unknown or not statuses:
        raise UserError(
            f"unknown projection status {', '.join(unknown) or '(none given)'}",
            hint=f"choose from {', '.join(PROJECTION_STATUSES)}",
        )
    by_status = {row["status"]: row["n"] for row in counts.to_pylist()}
    if not sum(by_status.get(s, 0) for s in statuses):
        found = ", ".join(f"{status} {n}" for status, n in sorted(by_status.items()))
        raise UserError(
            f"no projections with status {', '.join(statuses)} (the store has {found})",
            hint="widen --status, e.g. --status complete,partial",
        )
    kept = ", ".join(f"'{s}'" for s in statuses)
    tags = store.sql(
        f"SELECT DISTINCT unnest(tags) AS tag FROM projections "
        f"WHERE run_id IN ({runs}) AND status IN ({kept})"
    )
    names = tag_names([tags.column("tag").to_pylist()])
    reader = store.sql_batches(_CORPUS_ORDER.format(runs=runs, statuses=kept), batch_rows)

    def label(batch: pa.RecordBatch | pa.Table) -> pa.Table:
        return _label_projections(
            pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch, names
        )

    schema = label(reader.schema.empty_table()).schema
    batches = (b for t in map(label, reader) for b in t.to_batches())
    return pa.RecordBatchReader.from_batches(schema, batches)


def _label_projections(table: pa.Table, names: list[str]) -> pa.Table:
    """Projection rows as a token-classification dataset: plain columns, ``ner_tags`` (class
    ids of ``names``), ``config`` (the language pair) and ``split``."""
    kept = plain_columns(table)
    config = pc.binary_join_element_wise(kept.column("src_lang"), kept.column("tgt_lang"), "-")
    split = pc.if_else(pc.equal(kept.column("direction"), "translate-test"), "test", "train")
    index = {name: i for i, name in enumerate(names)}
    ner_tags = pa.array(
        [
            None if row is None else [index[t] for t in row]
            for row in kept.column("tags").to_pylist()
        ],
        pa.list_(pa.int64()),
    )
    kept = kept.append_column("ner_tags", ner_tags)
    kept = kept.append_column("config", config).append_column("split", split)
    return with_class_labels(kept, {"ner_tags": names})


def tag_names(tags: Sequence[Sequence[str] | None]) -> list[str]:
    """The IOB2 tag set of ``tags`` in the usual order: ``O``, then ``B-`` and ``I-`` of each
    label, labels sorted."""
    labels = {parse_tag(t)[1] for row in tags if row for t in row} - {None}
    return ["O", *(f"{prefix}-{label}" for label in sorted(labels) for prefix in "BI")]
