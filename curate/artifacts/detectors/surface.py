"""Surface detectors: empty output and untranslated copies of the source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from curate.artifacts.detectors._text import CONTENT_CHAR
from curate.artifacts.registry import Context, Scores, register


@register("empty", version="1", threshold=0.5)
def empty(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Empty or whitespace/punctuation-only output for a source that has content.

    Score 1 when the translation has no letter or digit while the source has one, else 0.
    """
    score = pairs.select(
        (
            ~pl.col("text").str.contains(CONTENT_CHAR)
            & pl.col("source_text").str.contains(CONTENT_CHAR)
        ).cast(pl.Float64)
    ).to_series()
    return Scores(score.to_numpy(), explain=lambda i: "no letters or digits in the output")


@dataclass(frozen=True)
class UntranslatedParams:
    #: Sources with fewer letters than this are not judged (names, numbers, "OK").
    min_letters: int = 4


@register("untranslated", version="1", threshold=0.9, params=UntranslatedParams)
def untranslated(pairs: pl.DataFrame, params: UntranslatedParams, ctx: Context) -> Scores:
    """The output is (nearly) a copy of the source.

    Score in [0, 1]: 1 for an identical text, else the rapidfuzz Indel similarity of the two
    texts reduced to lower-case letters (so copies that differ in spaces, punctuation, digits or
    case still score 1). NaN when source and target language are the same or the source has
    fewer than ``min_letters`` letters.
    """
    letters = pairs.select(
        pl.col("source_text").str.replace_all(r"[^\p{L}]+", "").str.to_lowercase().alias("s"),
        pl.col("text").str.replace_all(r"[^\p{L}]+", "").str.to_lowercase().alias("t"),
        (pl.col("source_text").str.strip_chars() == pl.col("text").str.strip_chars()).alias("same"),
        (pl.col("src_lang") == pl.col("tgt_lang")).alias("same_lang"),
    )
    s = letters["s"].to_list()
    t = letters["t"].to_list()
    score = process.cpdist(s, t, scorer=fuzz.ratio, dtype=np.float64, workers=1) / 100.0
    score = np.where(letters["same"].to_numpy(), 1.0, score)
    short = letters["s"].str.len_chars().to_numpy() < params.min_letters
    score = np.where(short | letters["same_lang"].to_numpy(), np.nan, score)

    def explain(i: int) -> str:
        if letters["same"][i]:
            return "identical to the source"
        return f"letters {score[i]:.0%} similar to the source"

    return Scores(score, explain=explain)
