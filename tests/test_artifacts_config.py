"""Detection settings are validated early, thresholds apply per language pair, and the tags
table fits the artifact_tags schema with one row per translation and detector."""

from __future__ import annotations

import dataclasses

import pytest

from curate.artifacts import DetectConfig, detect, detector_names, get_detector, register
from curate.artifacts.registry import Scores
from curate.errors import UserError
from curate.records import content_id, load_schema

ROWS = [
    {
        "id": "a",
        "src_lang": "en",
        "tgt_lang": "de",
        "source_text": "He is 54.",
        "text": "Er ist 34.",
    },
    {
        "id": "b",
        "src_lang": "en",
        "tgt_lang": "fr",
        "source_text": "He is 54.",
        "text": "Il a 34 ans.",
    },
    {"id": "c", "src_lang": "en", "tgt_lang": "ru", "source_text": "He is 54.", "text": ""},
]


def test_unknown_detectors_and_options_are_errors():
    with pytest.raises(UserError, match="unknown detector"):
        DetectConfig.from_dict({"only": ["no_such_detector"]})
    with pytest.raises(UserError, match="unknown detector or option"):
        DetectConfig.from_dict({"lenght_ratio": {"threshold": 3}})
    with pytest.raises(UserError, match="unknown option"):
        DetectConfig.from_dict({"length_ratio": {"treshold": 3}})
    with pytest.raises(UserError, match="bad settings"):
        DetectConfig.from_dict({"length_ratio": {"threshold": "high"}})


def test_thresholds_apply_per_language_pair():
    config = DetectConfig.from_dict(
        {"only": ["number_mismatch"], "number_mismatch": {"threshold": 5, "per_pair": {"en-fr": 1}}}
    )
    tags = detect(ROWS, config).to_pylist()
    by_id = {t["translation_id"]: t for t in tags}
    assert by_id["a"]["threshold"] == 5 and not by_id["a"]["flag"]
    assert by_id["b"]["threshold"] == 1 and by_id["b"]["flag"]


def test_detector_parameters_come_from_the_settings():
    config = DetectConfig.from_dict({"untranslated": {"min_letters": 50}})
    setting = config.params(get_detector("untranslated"))
    assert setting.min_letters == 50
    assert config.to_dict()["untranslated"]["min_letters"] == 50


def test_only_and_skip_select_detectors():
    only = DetectConfig.from_dict({"only": ["empty", "repetition"]})
    assert [d.name for d in only.selected(["source_text", "text"])] == ["empty", "repetition"]
    skip = DetectConfig.from_dict({"skip": ["empty"], "repetition": {"enabled": False}})
    names = [d.name for d in skip.selected(["source_text", "text"])]
    assert "empty" not in names and "repetition" not in names and "untranslated" in names


def test_tags_fit_the_schema_one_row_per_translation_and_detector():
    config = DetectConfig.from_dict({"skip": ["wrong_language"]})
    tags = detect(ROWS, config, run_id="r1", dataset="demo")
    load_schema("artifact_tags").validate(tags)
    selected = config.selected(["source_text", "text"])
    assert tags.num_rows == len(ROWS) * len(selected)
    rows = tags.to_pylist()
    assert {(r["translation_id"], r["detector"]) for r in rows} == {
        (t["id"], d.name) for t in ROWS for d in selected
    }
    empty = next(r for r in rows if r["translation_id"] == "c" and r["detector"] == "empty")
    assert empty["flag"] and empty["detail"] and empty["detector_version"] == "1"
    assert empty["id"] == content_id("c", "empty", "1")
    assert {r["run_id"] for r in rows} == {"r1"} and {r["stage"] for r in rows} == {"detect"}
    # scores that could not be computed are nulls, never NaN, and never flag
    for r in rows:
        assert r["score"] is None or r["score"] == r["score"]
        if r["score"] is None:
            assert not r["flag"]


def test_registry_names_versions_and_refuses_duplicates():
    names = detector_names()
    assert {"empty", "untranslated", "wrong_language", "length_ratio", "misalignment"} <= set(names)
    assert all(get_detector(n).version for n in names)
    with pytest.raises(ValueError, match="registered twice"):

        @register("empty", version="9", threshold=1.0)
        def again(pairs, params, ctx):  # pragma: no cover - never called
            return Scores(score=None)

    with pytest.raises(KeyError, match="unknown detector"):
        get_detector("nope")


def test_every_detector_documents_its_score():
    for name in detector_names():
        detector = get_detector(name)
        assert detector.description, name
        assert detector.direction in ("high", "low", "both")
        assert dataclasses.is_dataclass(detector.params)


def test_translations_records_go_in_directly_with_their_lineage():
    rows = [
        {
            "id": "t1",
            "src_lang": "en",
            "tgt_lang": "de",
            "source_kind": "segments",
            "source_text": "The report is ready.",
            "text": "Der Bericht ist fertig.",
            "origin": "mt",
            "score": -0.2,
            "truncated": False,
            "dataset": "news",
            "source_id": "s1",
            "run_id": "translate-1",
            "stage": "translate",
        }
    ]
    tags = detect(load_schema("translations").table(rows), run_id="detect-1")
    names = set(tags.column("detector").to_pylist())
    assert {"low_confidence", "truncation"} <= names  # engine columns switch them on
    assert set(tags.column("dataset").to_pylist()) == {"news"}
    assert set(tags.column("source_id").to_pylist()) == {"t1"}
    assert tags.num_rows == len(names)
    assert detect(load_schema("translations").table([])).num_rows == 0
