"""The artifact report: one self-contained HTML page whose numbers equal SQL counts over the
tags, in the HTML itself and as rendered by headless Chromium; the same numbers as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest

from curate.artifacts import DetectConfig, detect
from curate.artifacts.registry import get_detector
from curate.artifacts.report import render_html, summarize, write_report

SOURCES = [
    "The committee met in Paris on 12 May.",
    "Prices rose by 4 percent last year.",
    "See https://example.org for details.",
    "She said the bridge is 1,200 metres long.",
    "Why did the council leave the city?",
]
OUTPUTS = {
    "de": [
        "Der Ausschuss traf sich am 12. Mai in Paris.",
        "Die Preise stiegen im letzten Jahr um 7 Prozent.",  # changed number
        "Siehe https://example.org für Details.",
        "Sie sagte, die Brücke sei 1.200 Meter lang.",
        "",  # empty
    ],
    "ru": [
        "Комитет собрался в Париже 12 мая.",
        "Prices rose by 4 percent last year.",  # untranslated
        "Подробности на https://example.com.",  # URL changed
        "Она сказала, что мост длиной 1200 метров.",
        "Почему совет покинул город? <e1>город</e1>",  # leaked markers
    ],
}


@pytest.fixture(scope="module")
def joined() -> pl.DataFrame:
    rows = [
        {"id": f"{lang}{i}", "src_lang": "en", "tgt_lang": lang, "source_text": s, "text": t}
        for lang, outputs in OUTPUTS.items()
        for i, (s, t) in enumerate(zip(SOURCES, outputs, strict=True))
    ]
    tags = detect(rows, DetectConfig.from_dict({"skip": ["wrong_language"]}), run_id="t")
    texts = pl.DataFrame(rows).select(pl.col("id").alias("translation_id"), "source_text", "text")
    return pl.from_arrow(tags).join(texts, on="translation_id")


def sql_counts(joined: pl.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    tags = joined.to_arrow()  # noqa: F841 - queried by name below
    out = {}
    query = """
        SELECT detector, src_lang || '-' || tgt_lang AS pair, count(*), sum(flag::INT)
        FROM tags GROUP BY ALL
        UNION ALL
        SELECT detector, '*', count(*), sum(flag::INT) FROM tags GROUP BY ALL
    """
    for detector, pair, n, flagged in duckdb.sql(query).fetchall():
        out[(detector, pair)] = (int(n), int(flagged))
    return out


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[int, int]] = {}
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "td" and "data-flagged" in a:
            self.cells[(a["data-detector"], a["data-pair"])] = (
                int(a["data-n"]),
                int(a["data-flagged"]),
            )
        for key in ("src", "href"):
            if a.get(key):
                self.urls.append(a[key])


def parse(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser


def test_page_numbers_equal_sql_counts(joined):
    page = render_html(summarize(joined))
    cells = parse(page).cells
    expected = sql_counts(joined)
    assert {k: v for k, v in cells.items() if k[0] != "*"} == expected
    n_flagged = joined.filter(pl.col("flag"))["translation_id"].n_unique()
    assert cells[("*", "*")] == (len(SOURCES) * len(OUTPUTS), n_flagged)


def test_page_is_self_contained_and_links_resolve(joined):
    page = render_html(summarize(joined))
    parsed = parse(page)
    assert "link" not in parsed.tags and "img" not in parsed.tags
    assert "<script src" not in page
    assert all(url.startswith("#") for url in parsed.urls)
    ids = set(__import__("re").findall(r'id="([^"]+)"', page))
    assert {url[1:] for url in parsed.urls} <= ids


def test_worst_examples_and_thresholds_are_shown(joined):
    summary = summarize(joined)
    by_name = {d["name"]: d for d in summary["detectors"]}
    worst = by_name["number_mismatch"]["worst"]
    assert [w["translation_id"] for w in worst] == ["de1"]
    assert worst[0]["source_text"] == SOURCES[1]
    threshold = get_detector("length_ratio").threshold  # |z| >= threshold: both sides shown
    assert by_name["length_ratio"]["histogram"]["thresholds"] == [threshold, -threshold]
    leaked = by_name["leaked_markers"]["worst"][0]
    page = render_html(summary)
    assert f'data-translation-id="{leaked["translation_id"]}"' in page
    assert "&lt;e1&gt;" in page and "<e1>" not in page.split('id="summary-data"')[0]


def test_json_has_the_same_numbers(joined, tmp_path: Path):
    summary = write_report(joined, tmp_path / "r.html", tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(summary)
    )
    expected = sql_counts(joined)
    for det in summary["detectors"]:
        assert (det["n"], det["flagged"]) == expected[(det["name"], "*")]
        for b in det["by_pair"]:
            assert (b["n"], b["flagged"]) == expected[(det["name"], b["pair"])]


def chromium() -> str:
    """The browser's path. Without one the test is skipped, except under ``CI=true``, where
    ``make test`` installs it and a missing browser fails the run."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (make system-deps installs it)")
        pytest.skip("chromium is not installed")
    return path


def test_chromium_renders_the_page_with_the_sql_numbers(joined, tmp_path: Path):
    browser = chromium()
    write_report(joined, tmp_path / "report.html")
    profile = tmp_path / "profile"
    profile.mkdir()
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rendered = parse(result.stdout)
    assert "svg" in rendered.tags and "rect" in rendered.tags
    assert {k: v for k, v in rendered.cells.items() if k[0] != "*"} == sql_counts(joined)
