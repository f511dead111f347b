"""Human-vs-machine inconsistency: a human and a machine translation of one source disagree.

For each row with a ``reference_text`` (human translation) next to the machine ``text``, chrF
(sacrebleu) measures their agreement. Agreement varies by language pair, so the score is the
robust z of chrF against the pair's median and MAD, learned from the data itself; rows that
disagree far more than is usual for the pair are flagged. Agrawal et al. (2024) used this
signal to find bad human translations in XNLI: either side may be the broken one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sacrebleu.metrics import CHRF

from curate.artifacts.detectors._robust import robust_fit
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register


@dataclass(frozen=True)
class ReferenceParams:
    #: Rows a language pair needs before its typical chrF is learned.
    min_fit: int = 30
    #: Lower bound of the chrF scale (chrF points).
    min_scale: float = 2.0


def chrf_scores(texts: list[str], references: list[str | None]) -> np.ndarray:
    metric = CHRF()
    return np.array(
        [
            metric.sentence_score(t, [r]).score if r is not None else np.nan
            for t, r in zip(texts, references, strict=True)
        ]
    )


def fit_chrf_model(
    keys: np.ndarray, chrf: np.ndarray, params: ReferenceParams
) -> dict[str, dict[str, Any]]:
    """Median and scaled MAD of chrF per language pair (pairs with enough rows only)."""
    models = {}
    for key in np.unique(keys):
        values = chrf[(keys == key) & ~np.isnan(chrf)]
        if len(values) >= params.min_fit:
            med, scale = robust_fit(values, params.min_scale)
            models[str(key)] = {"n": len(values), "median": med, "scale": scale}
    return models


@register(
    "reference_disagreement",
    version="1",
    threshold=-3.0,
    direction="low",
    params=ReferenceParams,
    requires=("reference_text",),
    learns=True,
)
def reference_disagreement(pairs: pl.DataFrame, params: ReferenceParams, ctx: Context) -> Scores:
    """Machine output and human reference disagree far more than usual for the language pair.

    Score: robust z of chrF(text, reference_text) against the pair's median chrF; flagged at or
    below the threshold (default -3). NaN without a reference or a fitted pair.
    """
    chrf = chrf_scores(pairs["text"].to_list(), pairs["reference_text"].to_list())
    keys = pair_keys(pairs).to_numpy()
    models = ctx.stats.setdefault("reference_disagreement", {})
    missing = [k for k in np.unique(keys) if k not in models]
    if missing:
        rows = np.isin(keys, missing)
        models.update(fit_chrf_model(keys[rows], chrf[rows], params))
    score = np.full(len(chrf), np.nan)
    for key, model in models.items():
        rows = keys == key
        score[rows] = (chrf[rows] - model["median"]) / model["scale"]

    def explain(i: int) -> str:
        return f"chrF vs reference {chrf[i]:.1f} (pair median {models[keys[i]]['median']:.1f})"

    return Scores(score, explain=explain)
