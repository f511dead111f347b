"""Omission: the translation leaves out part of the source (a clause, a phrase).

Two pieces of evidence, each measured against what is usual for the language pair in the data
itself (robust statistics, no labels):

* the output is shorter than usual: the robust z of the log character-length ratio learned by
  ``length_ratio`` (only its negative side counts);
* a stretch of source words has no counterpart in the output: the ``gap`` of the word
  translation model learned from the batch (:mod:`curate.artifacts.detectors.lexical`), as a
  robust z against the language pair's median and MAD (only its positive side counts).

A dropped clause usually moves both a little; a translation that is merely terse moves only the
length, a free rendering only the word evidence. The score adds the two one-sided z values
(the word evidence with weight ``gap_weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.detectors._robust import robust_fit
from curate.artifacts.detectors.length import LengthParams, length_z
from curate.artifacts.detectors.lexical import LexicalParams, lexical_features
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register


@dataclass(frozen=True)
class OmissionParams:
    #: Weight of the word-model gap z against the length z.
    gap_weight: float = 0.5
    #: Rows a language pair needs before the usual gap is learned.
    min_fit: int = 100
    #: Lower bound of the gap's scale.
    min_scale: float = 0.05
    #: Gaps more than this many scales above the pair's first fit are set aside and the fit is
    #: repeated (None: one fit over every row).
    trim: float | None = None
    lexical: LexicalParams = field(default_factory=LexicalParams)

    def __post_init__(self) -> None:
        if isinstance(self.lexical, dict):
            object.__setattr__(self, "lexical", LexicalParams(**self.lexical))


def fit_gap_model(
    keys: np.ndarray, gap: np.ndarray, params: OmissionParams
) -> dict[str, dict[str, Any]]:
    """Median and scaled MAD of the gap per language pair (pairs with enough rows only),
    after setting aside the values above ``params.trim`` scales when that is set."""
    models = {}
    for key in np.unique(keys).tolist():
        values = gap[(keys == key) & ~np.isnan(gap)]
        if len(values) >= params.min_fit:
            med, scale = robust_fit(values, params.min_scale, params.trim)
            models[key] = {"n": len(values), "median": med, "scale": scale}
    return models


def robust_z(
    keys: np.ndarray, values: np.ndarray, models: dict[str, Any], params: OmissionParams
) -> np.ndarray:
    """``values`` as a robust z against their language pair's median and MAD; pairs missing
    from ``models`` are fitted here (when they have ``min_fit`` values). 0 where unknown."""
    missing = [k for k in np.unique(keys).tolist() if k not in models]
    if missing:
        rows = np.isin(keys, missing)
        models.update(fit_gap_model(keys[rows], values[rows], params))
    out = np.zeros(len(values))
    for key, model in models.items():
        rows = keys == key
        if rows.any():
            out[rows] = (values[rows] - model["median"]) / model["scale"]
    return np.nan_to_num(out, nan=0.0)


def omission_evidence(
    pairs: pl.DataFrame, params: OmissionParams, ctx: Context, models: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The length z (NaN without a length model) and the word-model gap z of every row."""
    z = length_z(pairs, LengthParams(), ctx)
    gap = lexical_features(pairs, params.lexical, ctx).gap
    return z, robust_z(pair_keys(pairs).to_numpy(), gap, models, params)


@register(
    "omission",
    version="2",
    threshold=3.0,
    params=OmissionParams,
    learns=True,
)
def omission(pairs: pl.DataFrame, params: OmissionParams, ctx: Context) -> Scores:
    """Part of the source is missing from the output (a left-out clause or phrase).

    Score: max(0, -length z) + ``gap_weight`` * max(0, gap z), where the length z is that of
    ``length_ratio`` and the gap z measures the longest stretch of source words without a
    counterpart under a word translation model learned from the batch (both against the
    language pair's usual values); flagged at 3.0 or more (about 1 clean pair in 150 on news
    bitext). NaN for pairs without a length model.
    """
    z, gap_z = omission_evidence(pairs, params, ctx, ctx.stats.setdefault("omission", {}))
    score = np.maximum(-z, 0.0) + params.gap_weight * np.maximum(gap_z, 0.0)

    def explain(i: int) -> str:
        return f"output shorter than usual (length z={z[i]:+.1f}), source words uncovered " + (
            f"(gap z={gap_z[i]:+.1f})"
        )

    return Scores(score, explain=explain)
