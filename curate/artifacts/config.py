"""Detection settings: which detectors run, their thresholds (per language pair) and parameters.

The recipe form (YAML or a dict) is validated early; a misspelt detector or option is an error::

    detect:
      skip: [reference_disagreement]       # or  only: [empty, untranslated, ...]
      length_ratio: {threshold: 4.0, per_pair: {en-ja: 5.0}, min_fit: 50}
      wrong_language: {threshold: 0.95, candidates: [de, en, es, fr, ro]}

Every detector key takes ``enabled``, ``threshold`` (the default for every pair), ``per_pair``
(``{"src-tgt": threshold}``) and the fields of that detector's own parameter dataclass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.registry import Detector, detector_names, get_detector
from curate.errors import UserError

_COMMON_KEYS = ("enabled", "threshold", "per_pair")


@dataclass(frozen=True)
class DetectorSettings:
    enabled: bool = True
    threshold: float | None = None
    per_pair: Mapping[str, float] = field(default_factory=dict)
    params: Any = None


@dataclass(frozen=True)
class DetectConfig:
    """Validated detection settings; ``DetectConfig()`` runs every detector with its defaults."""

    only: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    settings: Mapping[str, DetectorSettings] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | None) -> DetectConfig:
        spec = dict(spec or {})
        known = detector_names()
        only = spec.pop("only", None)
        skip = spec.pop("skip", None) or []
        for name in list(only or []) + list(skip):
            if name not in known:
                raise UserError(f"unknown detector {name!r}", hint=f"known: {', '.join(known)}")
        settings: dict[str, DetectorSettings] = {}
        for name, options in spec.items():
            if name not in known:
                raise UserError(
                    f"unknown detector or option {name!r} in detect settings",
                    hint=f"detectors: {', '.join(known)}; options: only, skip",
                )
            settings[name] = _settings(get_detector(name), options or {})
        return cls(
            only=tuple(only) if only is not None else None,
            skip=tuple(skip),
            settings=settings,
        )

    def selected(self, columns: list[str] | tuple[str, ...]) -> list[Detector]:
        """The detectors to run on a batch with these columns, in registry order.

        A detector that another selected one ``replaces`` is left out unless ``only`` names it.
        """
        out = []
        for name in detector_names():
            if self.only is not None and name not in self.only:
                continue
            if name in self.skip or not self.settings.get(name, DetectorSettings()).enabled:
                continue
            detector = get_detector(name)
            if detector.applies_to(columns):
                out.append(detector)
        replaced = {r for d in out for r in d.replaces} - set(self.only or ())
        return [d for d in out if d.name not in replaced]

    def params(self, detector: Detector) -> Any:
        setting = self.settings.get(detector.name)
        if setting is not None and setting.params is not None:
            return setting.params
        return detector.params()

    def threshold(self, detector: Detector, pair: str | None = None) -> float:
        setting = self.settings.get(detector.name, DetectorSettings())
        if pair is not None and pair in setting.per_pair:
            return float(setting.per_pair[pair])
        return float(setting.threshold if setting.threshold is not None else detector.threshold)

    def thresholds(self, detector: Detector, pairs: pl.Series) -> np.ndarray:
        """One threshold per row, from the row's ``src-tgt`` key."""
        lookup = {p: self.threshold(detector, p) for p in pairs.unique().to_list()}
        return pairs.replace_strict(lookup, return_dtype=pl.Float64).to_numpy()

    def to_dict(self) -> dict[str, Any]:
        """The effective settings (every selected detector, defaults filled in), for manifests."""
        out: dict[str, Any] = {}
        if self.only is not None:
            out["only"] = list(self.only)
        if self.skip:
            out["skip"] = list(self.skip)
        for name in detector_names():
            detector = get_detector(name)
            setting = self.settings.get(name, DetectorSettings())
            entry: dict[str, Any] = {
                "version": detector.version,
                "enabled": setting.enabled,
                "threshold": self.threshold(detector),
            }
            if setting.per_pair:
                entry["per_pair"] = dict(setting.per_pair)
            entry.update(dataclasses.asdict(self.params(detector)))
            out[name] = entry
        return out


def _settings(detector: Detector, options: Mapping[str, Any]) -> DetectorSettings:
    if not isinstance(options, Mapping):
        raise UserError(f"settings of detector {detector.name!r} must be a mapping")
    param_fields = {f.name for f in dataclasses.fields(detector.params)}
    unknown = [k for k in options if k not in _COMMON_KEYS and k not in param_fields]
    if unknown:
        allowed = ", ".join([*_COMMON_KEYS, *sorted(param_fields)])
        raise UserError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for detector {detector.name!r}",
            hint=f"allowed: {allowed}",
        )
    threshold = options.get("threshold")
    per_pair = options.get("per_pair") or {}
    try:
        threshold = None if threshold is None else float(threshold)
        per_pair = {str(k): float(v) for k, v in dict(per_pair).items()}
        params = detector.params(**{k: v for k, v in options.items() if k in param_fields})
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad settings for detector {detector.name!r}: {exc}") from exc
    return DetectorSettings(
        enabled=bool(options.get("enabled", True)),
        threshold=threshold,
        per_pair=per_pair,
        params=params,
    )
