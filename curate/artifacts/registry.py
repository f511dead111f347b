"""The detector registry: every artifact detector is found by name and carries a version.

A detector is a function ``(pairs, params, ctx) -> Scores`` over a whole batch (a polars
DataFrame with the columns of :mod:`curate.artifacts.frame`). It only scores: the flag is derived
centrally from the score, the detector's direction and the threshold of the row's language pair
(:mod:`curate.artifacts.config`), so thresholds can be tuned later without re-scoring.

Register one with :func:`register`; bump ``version`` whenever its behaviour changes, the version
is written next to every score (``artifact_tags.detector_version``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

#: ``high``: flag when score >= threshold; ``low``: flag when score <= threshold;
#: ``both``: flag when |score| >= threshold (a signed score such as a robust z).
Direction = Literal["high", "low", "both"]


@dataclass
class Scores:
    """What a detector returns for a batch of n pairs.

    ``score`` holds one float per pair, NaN where the detector does not apply (a missing input,
    a text too short to judge); NaN never flags. ``detail`` is optional per-pair evidence;
    ``explain(i)`` computes it lazily and is called only for rows that end up flagged.
    """

    score: np.ndarray
    detail: list[str | None] | None = None
    explain: Callable[[int], str | None] | None = None


@dataclass
class Context:
    """What a detector may read besides the batch and its parameters.

    ``stats``: what learning detectors fitted per language pair (JSON-serialisable; reused by
    later batches when the caller passes the same dict). ``cache``: values computed once per
    batch and shared between detectors (e.g. the length z used by two detectors).
    """

    stats: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoParams:
    """Parameters of a detector that has none besides its threshold."""


@dataclass(frozen=True)
class Detector:
    name: str
    version: str
    fn: Callable[[pl.DataFrame, Any, Context], Scores]
    threshold: float
    direction: Direction
    params: type = NoParams
    requires: tuple[str, ...] = ()
    model: str | None = None
    description: str = ""
    learns: bool = False
    replaces: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, columns: list[str] | tuple[str, ...]) -> bool:
        """Whether a batch with these columns has every input this detector needs."""
        return all(c in columns for c in self.requires)

    def flags(self, score: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if self.direction == "high":
                flag = score >= threshold
            elif self.direction == "low":
                flag = score <= threshold
            else:
                flag = np.abs(score) >= threshold
        return flag & ~np.isnan(score)

    def badness(self, score: np.ndarray) -> np.ndarray:
        """A sort key where larger means more suspicious (for "worst examples")."""
        if self.direction == "high":
            return score
        if self.direction == "low":
            return -score
        return np.abs(score)


_REGISTRY: dict[str, Detector] = {}


def register(
    name: str,
    *,
    version: str,
    threshold: float,
    direction: Direction = "high",
    params: type = NoParams,
    requires: tuple[str, ...] = (),
    model: str | None = None,
    learns: bool = False,
    replaces: tuple[str, ...] = (),
) -> Callable[[Callable[..., Scores]], Callable[..., Scores]]:
    """Class-free registration (dolma's ``@add_tagger``): ``@register("empty", version="1", ...)``.

    ``requires`` names optional input columns (beyond the base pair columns) the detector needs;
    it is skipped for batches without them. ``model`` names a model the detector uses (recorded
    as lineage; model-free detectors leave it None). ``learns`` marks detectors whose expected
    values are learned per language pair from data (see :mod:`curate.artifacts.stats`).
    ``replaces`` names detectors whose evidence this one includes and refines (with a model):
    while it runs, they do not, unless named in ``only`` (skip it to get them back).
    """

    def wrap(fn: Callable[..., Scores]) -> Callable[..., Scores]:
        if name in _REGISTRY:
            raise ValueError(f"detector {name!r} registered twice")
        _REGISTRY[name] = Detector(
            name=name,
            version=version,
            fn=fn,
            threshold=threshold,
            direction=direction,
            params=params,
            requires=requires,
            model=model,
            description=" ".join((fn.__doc__ or "").strip().split("\n\n")[0].split()),
            learns=learns,
            replaces=replaces,
        )
        return fn

    return wrap


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from curate.artifacts import detectors  # noqa: F401


def get_detector(name: str) -> Detector:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown detector {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def detector_names() -> list[str]:
    """Registered detector names, in registration order (cheap, general checks first)."""
    _load_builtin()
    return list(_REGISTRY)
