"""What `curate run` and single-stage commands show while jobs run: bars, JSON events, quiet."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from rich.filesize import decimal

from testkit.cli import cli_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "datasets" / "samples"


def curate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``curate <args>`` run in ``cwd`` with a wide terminal (progress lines are not cut)."""
    return run_cli(*args, env=cli_env(COLUMNS="200"), cwd=cwd, check=True)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture
def recipe(tmp_path, random_model) -> Path:
    (tmp_path / "news.jsonl").write_text((SAMPLES / "news_en.jsonl").read_text())
    data = {
        "name": "p",
        "store": "store",
        "allow_absolute_paths": True,
        "inputs": [{"path": "news.jsonl", "lang": "en"}],
        "translate": {
            "model": str(random_model),
            "targets": ["de"],
            "batch_tokens": 64,
            "options": {"beam_size": 1, "max_decoding_length": 4},
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_run_json_emits_progress_events_per_stage_then_the_summary(recipe):
    out = events(curate("run", str(recipe), "--json", cwd=recipe.parent).stdout)
    assert out[0]["event"] == "start"
    assert out[-1]["event"] == "summary"
    for step in ("ingest news", "translate segments"):
        mine = [e for e in out if e.get("step") == step]
        assert mine[0]["event"] == "start" and mine[-1]["event"] == "done"
        progress = [e for e in mine if e["event"] == "progress"]
        assert progress and progress[-1]["done"]
        records = [e["records"] for e in progress]
        assert records == sorted(records)
        stage = progress[-1]["stage"]
        assert records[-1] == mine[-1]["counts"][stage]["in"] > 0
        assert progress[-1]["tokens"] > 0
    translate = [e for e in out if e.get("step") == "translate segments"]
    assert translate[1]["total"] == translate[-1]["counts"]["translate"]["in"]
    ingest_progress = [e for e in out if e["event"] == "progress" and e["job"] == "ingest"]
    assert ingest_progress[-1]["unit"] == "bytes"
    assert ingest_progress[-1]["bytes"] == ingest_progress[-1]["total"]


def test_run_quiet_prints_only_the_final_line(recipe):
    proc = curate("run", str(recipe), "--quiet", cwd=recipe.parent)
    assert proc.stdout.splitlines() == [
        f"p: 2 stage(s) ran, 0 unchanged; store {recipe.parent / 'store'}"
    ]
    assert proc.stderr == ""


def test_single_stage_commands_show_a_bar_json_events_or_only_their_result(tmp_path):
    source = str(SAMPLES / "news_en.jsonl")
    shown = curate("ingest", source, "--store", "s", "--lang", "en", cwd=tmp_path)
    # the bar's last frame: input bytes of the file, records and tokens
    size = decimal(Path(source).stat().st_size)
    assert f"{size}/{size} read, 12 records" in shown.stderr
    assert "tokens" in shown.stderr

    as_json = curate("ingest", source, "--store", "s", "--lang", "en", "--json", cwd=tmp_path)
    out = events(as_json.stdout)
    assert [e["event"] for e in (out[0], out[-1])] == ["start", "done"]
    assert out[-2]["event"] == "progress" and out[-2]["done"] and out[-2]["records"] == 12
    assert out[-1]["counts"]["ingest"]["in"] == 12

    quiet = curate("ingest", source, "--store", "s", "--lang", "en", "--quiet", cwd=tmp_path)
    assert quiet.stdout == ""
    assert quiet.stderr.startswith("ingest-news_en: 12 read, 12 written")
    assert "records" not in quiet.stderr and "━" not in quiet.stderr


def test_worker_processes_keep_their_logs_off_the_terminal(tmp_path):
    """With --workers 2 the terminal shows the progress and the result, not the chatter of
    Beam's worker processes (their start-up, channels and shutdown at INFO); --debug shows it."""
    (tmp_path / "news.jsonl").write_text((SAMPLES / "news_en.jsonl").read_text())
    args = ("ingest", "news.jsonl", "--store", "store", "--lang", "en", "--workers", "2")
    quiet = curate(*args, cwd=tmp_path)
    assert "12 read, 12 written" in quiet.stderr + quiet.stdout
    assert "apache_beam" not in quiet.stderr and "INFO" not in quiet.stderr, quiet.stderr
    debug = curate("--debug", *args, cwd=tmp_path)
    assert "INFO:apache_beam.runners.worker" in debug.stderr
