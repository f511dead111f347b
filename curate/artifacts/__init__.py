"""Translation artifact detection: detectors that tag (score + flag), and the HTML report.

    from curate.artifacts import DetectConfig, detect
    tags = detect(translations_table, DetectConfig.from_dict(recipe.get("detect")), run_id=...)

Detectors never drop or change anything; filtering on their flags is a later, explicit step.
"""

from curate.artifacts.config import DetectConfig
from curate.artifacts.detect import DetectorRun, detect, flags_wide, score_pairs, tags_table
from curate.artifacts.registry import Detector, Scores, detector_names, get_detector, register

__all__ = [
    "DetectConfig",
    "Detector",
    "DetectorRun",
    "Scores",
    "detect",
    "detector_names",
    "flags_wide",
    "get_detector",
    "register",
    "score_pairs",
    "tags_table",
]
