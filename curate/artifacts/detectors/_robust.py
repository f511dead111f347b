"""Robust location and scale (median and normal-consistent MAD) shared by learning detectors."""

from __future__ import annotations

import numpy as np
from scipy.stats import median_abs_deviation


def robust_fit(values: np.ndarray, min_scale: float) -> tuple[float, float]:
    """Median of ``values`` and their MAD scaled to a normal SD, at least ``min_scale``."""
    median = float(np.median(values))
    scale = float(median_abs_deviation(values, scale="normal"))
    return median, max(scale, min_scale)
