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
from curate.export.hub import CardInfo, plain_columns, with_class_labels
from curate.store import Store
from curate.text.bio import parse_tag

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
ORDER BY p.src_lang, p.tgt_lang, e.source_file NULLS LAST, e.source_line, p.id
"""


def export_rows(
    store: Store, stage: str = "training_samples", statuses: Sequence[str] = ("complete",)
) -> pa.Table:
    """The rows of ``stage`` ready for :func:`curate.export.hub.export_folder`.

    Raises :class:`UserError` for a stage that cannot be exported, an unknown status, or when
    nothing is left to export (saying what the store has instead).
    """
    if stage not in EXPORTABLE:
        raise UserError(
            f"cannot export the stage {stage!r}", hint=f"choose one of {', '.join(EXPORTABLE)}"
        )
    table = store.sql(_CORPUS_ORDER) if stage == "projections" else store.read(stage)
    if table.num_rows == 0:
        raise UserError(
            f"the store has no {stage.replace('_', ' ')}",
            hint=f"run `{EXPORTABLE[stage].made_by}` first",
        )
    if stage == "training_samples":
        return table
    return _projection_rows(table, statuses)


def _projection_rows(table: pa.Table, statuses: Sequence[str]) -> pa.Table:
    unknown = sorted(set(statuses) - set(PROJECTION_STATUSES))
    if unknown or not statuses:
        raise UserError(
            f"unknown projection status {', '.join(unknown) or '(none given)'}",
            hint=f"choose from {', '.join(PROJECTION_STATUSES)}",
        )
    kept = table.filter(pc.is_in(table.column("status"), pa.array(list(statuses))))
    if kept.num_rows == 0:
        found = ", ".join(
            f"{row['values']} {row['counts']}"
            for row in pc.value_counts(table.column("status")).to_pylist()
        )
        raise UserError(
            f"no projections with status {', '.join(statuses)} (the store has {found})",
            hint="widen --status, e.g. --status complete,partial",
        )
    kept = plain_columns(kept)
    config = pc.binary_join_element_wise(kept.column("src_lang"), kept.column("tgt_lang"), "-")
    split = pc.if_else(pc.equal(kept.column("direction"), "translate-test"), "test", "train")
    tags = kept.column("tags").to_pylist()
    names = tag_names(tags)
    index = {name: i for i, name in enumerate(names)}
    ner_tags = pa.array(
        [None if row is None else [index[t] for t in row] for row in tags], pa.list_(pa.int64())
    )
    kept = kept.append_column("ner_tags", ner_tags)
    kept = kept.append_column("config", config).append_column("split", split)
    return with_class_labels(kept, {"ner_tags": names})


def tag_names(tags: Sequence[Sequence[str] | None]) -> list[str]:
    """The IOB2 tag set of ``tags`` in the usual order: ``O``, then ``B-`` and ``I-`` of each
    label, labels sorted."""
    labels = {parse_tag(t)[1] for row in tags if row for t in row} - {None}
    return ["O", *(f"{prefix}-{label}" for label in sorted(labels) for prefix in "BI")]
