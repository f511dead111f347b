"""Signals from earlier stages: the engine's confidence and the span projection's outcome."""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.artifacts.registry import Context, Scores, register


@register("low_confidence", version="1", threshold=-1.5, direction="low", requires=("score",))
def low_confidence(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """The engine was unsure: low length-normalised log-probability of the translation.

    Score: the engine's own ``score`` column (average log-probability per target token, <= 0);
    flagged at or below the threshold (default -1.5; fluent outputs of a good model are usually
    above -0.8, hallucinations far below). NaN for rows without a score (human references).
    """
    score = pairs["score"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return Scores(score, explain=lambda i: f"log-prob per token {score[i]:.2f}")


@register(
    "projection_trouble",
    version="1",
    threshold=0.5,
    requires=("n_source_spans", "n_projected"),
)
def projection_trouble(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Labelled spans lost or duplicated when projected onto the translation.

    Score: |spans projected - spans in the source| / spans in the source (0 = every span
    carried over once, 1 = all lost); 1 when the projection stage dropped the example
    (``projection_status`` = ``dropped``). NaN for rows without a projection or without spans.
    """
    frame = pairs.select(
        pl.col("n_source_spans").cast(pl.Float64).alias("n"),
        pl.col("n_projected").cast(pl.Float64).alias("p"),
        (
            pl.col("projection_status") == "dropped"
            if "projection_status" in pairs.columns
            else pl.lit(False)
        ).alias("dropped"),
    )
    n = frame["n"].fill_null(np.nan).to_numpy()
    p = frame["p"].fill_null(np.nan).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(n > 0, np.abs(p - n) / n, np.nan)
    dropped = frame["dropped"].fill_null(False).to_numpy()
    score = np.where(dropped, 1.0, score)

    def explain(i: int) -> str:
        if dropped[i]:
            return "projection dropped the example"
        return f"{p[i]:.0f} of {n[i]:.0f} spans projected"

    return Scores(score, explain=explain)
