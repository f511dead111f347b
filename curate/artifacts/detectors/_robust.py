"""Robust location and scale (median and normal-consistent MAD) shared by learning detectors."""

from __future__ import annotations

import numpy as np
from scipy.stats import median_abs_deviation


def robust_fit(
    values: np.ndarray, min_scale: float, trim_above: float | None = None
) -> tuple[float, float]:
    """Median of ``values`` and their MAD scaled to a normal SD, at least ``min_scale``.

    ``trim_above``: set aside the values more than that many scales above the first fit and fit
    again on the rest (one trimming step), so a batch where many rows are damaged on that side
    does not widen the usual spread that clean rows are judged against.
    """
    median = float(np.median(values))
    scale = max(float(median_abs_deviation(values, scale="normal")), min_scale)
    if trim_above is not None:
        kept = values[values <= median + trim_above * scale]
        if len(kept):
            return robust_fit(kept, min_scale)
    return median, scale
