"""The batch every detector reads: one row per (source, translation) pair, as a polars DataFrame.

Base columns come from the ``translations`` record kind: ``id`` (or ``translation_id``),
``src_lang``, ``tgt_lang``, ``source_text``, ``text``. Optional columns switch on the detectors
that need them:

==========================  ======================================================================
``score``                   engine's length-normalised log-probability (``translations.score``)
``truncated``               the engine hit its length limit (``translations.truncated``)
``reference_text``          a human translation of ``source_text`` (for ``reference_disagreement``)
``paired_source_text``      the other field of an NLI-style pair, before translation
``paired_text``             the same field after translation (for ``paired_overlap_shift``)
``projection_status``       ``complete`` / ``partial`` / ``dropped`` from the projection stage
``n_source_spans``          spans on the labelled side (``projections.n_source_spans``)
``n_projected``             spans carried over (``projections.n_projected``)
==========================  ======================================================================

Any other column (``dataset``, ``source_id``, ``run_id`` ...) is carried along untouched.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from curate.errors import UserError

BASE_COLUMNS = ("translation_id", "src_lang", "tgt_lang", "source_text", "text")
OPTIONAL_COLUMNS: dict[str, pl.DataType] = {
    "score": pl.Float64(),
    "truncated": pl.Boolean(),
    "reference_text": pl.String(),
    "paired_source_text": pl.String(),
    "paired_text": pl.String(),
    "projection_status": pl.String(),
    "n_source_spans": pl.Int64(),
    "n_projected": pl.Int64(),
}


def pair_frame(data: pa.Table | pl.DataFrame | list[dict[str, Any]]) -> pl.DataFrame:
    """Normalise a batch to the detector frame: base columns present, texts never null.

    A null ``source_text``/``text`` becomes ``""`` (so ``empty`` flags it instead of a detector
    failing); an ``id`` column is taken as ``translation_id`` when that is absent.
    """
    if isinstance(data, pl.DataFrame):
        frame = data
    elif isinstance(data, pa.Table):
        frame = pl.from_arrow(data)
    else:
        frame = pl.DataFrame(data, infer_schema_length=None)
    assert isinstance(frame, pl.DataFrame)
    if "translation_id" not in frame.columns and "id" in frame.columns:
        frame = frame.rename({"id": "translation_id"})
    missing = [c for c in BASE_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(
            f"artifact detection needs columns {', '.join(missing)}",
            hint="give translations rows: id, src_lang, tgt_lang, source_text, text",
        )
    casts = [pl.col(c).cast(pl.String).fill_null("") for c in ("source_text", "text")] + [
        pl.col(c).cast(pl.String) for c in ("translation_id", "src_lang", "tgt_lang")
    ]
    casts += [pl.col(c).cast(t) for c, t in OPTIONAL_COLUMNS.items() if c in frame.columns]
    return frame.with_columns(casts)


def pair_keys(frame: pl.DataFrame) -> pl.Series:
    """The language-pair key of every row, ``"src-tgt"`` (how thresholds and stats are keyed)."""
    return frame.select(pl.concat_str("src_lang", pl.lit("-"), "tgt_lang").alias("pair"))["pair"]
