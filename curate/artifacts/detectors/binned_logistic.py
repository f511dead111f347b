"""A logistic regression on weight-of-evidence binned features, whose fitted model is JSON.

Each feature is cut at the quantiles of its known values, plus one bin for missing values (NaN:
e.g. no anchors on that side), and each bin is replaced by its weight of evidence, the log odds
of label 1 in that bin against all rows (0.5 pseudo-counts), so each feature can act
non-linearly (a steep tail, a missing-value bin). scikit-learn's ``LogisticRegression`` (L2,
Newton's method) then weighs the features against each other. The fitted model keeps only the
bin edges, the weights of evidence and the coefficients, so it travels as JSON between the
passes of a job and scores rows without scikit-learn objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


def quantile_edges(column: np.ndarray, bins: int) -> list[float]:
    """Inner bin edges at the quantiles of the known values of ``column``; a repeated quantile
    is one edge, so a value that fills the top bins (a miss share of 1: nothing found on the
    other side) keeps a bin of its own (none when nothing is known).

    Not ``KBinsDiscretizer``: it drops zero-width bins with their upper edge, which merges such
    a value into the bin below it and weakens the strongest evidence of a re-pairing.
    """
    known = column[~np.isnan(column)]
    if len(known) == 0:
        return []
    return np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])).tolist()


def bin_index(column: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin of each value (values equal to an edge go above it); NaN gets the last bin,
    ``len(edges) + 1``."""
    known = ~np.isnan(column)
    inner = np.searchsorted(edges, np.nan_to_num(column), side="right")
    return np.where(known, inner, len(edges) + 1)


def _woe(index: np.ndarray, y: np.ndarray, n_bins: int) -> list[float]:
    """Weight of evidence of each bin: log share of label-1 rows minus log share of label-0."""
    pos = np.bincount(index[y == 1], minlength=n_bins) + 0.5
    neg = np.bincount(index[y == 0], minlength=n_bins) + 0.5
    return (np.log(pos / pos.sum()) - np.log(neg / neg.sum())).tolist()


def _encode(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    columns = [np.asarray(b["woe"])[bin_index(x[:, j], b["edges"])] for j, b in enumerate(model)]
    return np.c_[columns].T if columns else np.zeros((len(x), 0))


def fit_binned_logistic(x: np.ndarray, y: np.ndarray, bins: int, ridge: float) -> dict[str, Any]:
    """Fit on rows ``x`` (NaN = missing) with 0/1 labels ``y``; L2 penalty ``ridge`` on the
    coefficients (not the intercept). Returns ``{"bins": [{"edges", "woe"}], "coef":
    [intercept, one per feature]}``."""
    binned = []
    for j in range(x.shape[1]):
        edges = quantile_edges(x[:, j], bins)
        binned.append({"edges": edges, "woe": _woe(bin_index(x[:, j], edges), y, len(edges) + 2)})
    regression = LogisticRegression(C=1.0 / ridge, solver="newton-cholesky", tol=1e-8)
    regression.fit(_encode(binned, x), y)
    return {
        "bins": binned,
        "coef": [float(regression.intercept_[0]), *regression.coef_[0].tolist()],
    }


def binned_logit(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Log-odds of label 1 for rows ``x`` under a model of :func:`fit_binned_logistic`."""
    return model["coef"][0] + _encode(model["bins"], x) @ np.asarray(model["coef"][1:])
