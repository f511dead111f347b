"""Translation artifact detection: detectors that tag (score + flag), and the HTML report.

    from curate.artifacts import DetectConfig, detect, fit_stats
    config = DetectConfig.from_dict(recipe.get("detect"))
    stats = fit_stats(sample_of_translations, config)     # optional first pass
    tags = detect(translations_table, config, stats=stats, run_id=..., dataset=...)

    from curate.artifacts.report import write_report
    write_report(tags_joined_with_texts, "report.html", "report.json")

Detectors never drop or change anything; filtering on their flags is a later, explicit step.
"""

from curate.artifacts.config import DetectConfig
from curate.artifacts.detect import (
    DetectorRun,
    detect,
    fit_stats,
    flags_wide,
    score_pairs,
    tags_table,
)
from curate.artifacts.registry import Detector, Scores, detector_names, get_detector, register

__all__ = [
    "DetectConfig",
    "Detector",
    "DetectorRun",
    "Scores",
    "detect",
    "detector_names",
    "fit_stats",
    "flags_wide",
    "get_detector",
    "register",
    "score_pairs",
    "tags_table",
]
