"""`curate detect` and `curate report` on a real store: tags for every translation, a page whose
numbers equal SQL counts."""

from __future__ import annotations

import json
import re

import pytest

from beam_jobs.detect import DetectJob, run_detect
from curate.cli.detect import report
from curate.errors import UserError


def test_every_translation_is_tagged_by_every_applicable_detector(translated_store):
    store = translated_store
    manifest = run_detect(store, DetectJob("det"))
    n = store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
    assert manifest["counts"]["detect"] == {"in": n, "out": n, "quarantined": {}, "filtered": {}}
    per_detector = store.sql(
        "SELECT detector, count(*) AS n, count(DISTINCT translation_id) AS ids "
        "FROM artifact_tags GROUP BY 1"
    ).to_pylist()
    assert {"empty", "untranslated", "low_confidence", "truncation"} <= {
        r["detector"] for r in per_detector
    }
    assert all(r["n"] == r["ids"] == n for r in per_detector)
    # the random model always hits the length limit: the engine's flag reaches the detector
    flagged = store.sql("SELECT sum(flag::INT) FROM artifact_tags WHERE detector = 'truncation'")
    assert flagged.column(0)[0].as_py() == n


def test_report_numbers_equal_sql(translated_store, tmp_path):
    store = translated_store
    run_detect(store, DetectJob("det"))
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    report(store=store.root, out=html, json_out=data, run_id=None, examples=3)
    page = html.read_text()
    assert "<script src=" not in page and "http://" not in page.replace("http://www.w3.org", "")
    expected = {
        (r["detector"], r["pair"], r["flagged"], r["n"])
        for r in store.sql(
            "SELECT detector, src_lang || '-' || tgt_lang AS pair, sum(flag::INT) AS flagged, "
            "count(*) AS n FROM artifact_tags GROUP BY 1, 2"
        ).to_pylist()
    }
    cells = re.finditer(
        r'data-detector="([^"]+)" data-pair="([^"]+)" data-flagged="(\d+)" data-n="(\d+)"', page
    )
    shown = {(m.group(1), m.group(2), int(m.group(3)), int(m.group(4))) for m in cells}
    # "*" cells are totals: over all pairs, or over all detectors (any flag)
    assert {row for row in shown if "*" not in row[:2]} == expected
    numbers = json.loads(data.read_text())
    assert (
        numbers["n_translations"]
        == store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
    )


def test_unknown_detector_is_refused(translated_store):
    with pytest.raises(UserError):
        run_detect(translated_store, DetectJob("bad", {"only": ["no_such_detector"]}))


def test_detectors_command_lists_every_registered_detector(capsys):
    """`curate detectors --json`: one object per detector, with what a recipe needs to set it."""
    from curate.artifacts.registry import detector_names
    from curate.cli.detect import detectors

    detectors(as_json=True)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == detector_names()
    by_name = {r["name"]: r for r in rows}
    assert (
        by_name["length_ratio"]["flags_when"] == "|score| >="
        and by_name["length_ratio"]["learns_per_pair"]
    )
    assert by_name["semantic_omission"]["replaces"] == ["omission"]
    assert "threads" in by_name["semantic_omission"]["options"]
    assert all(r["description"] and "  " not in r["description"] for r in rows)
