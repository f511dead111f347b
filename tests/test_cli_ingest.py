"""The user's path: `curate ingest` (the Beam job) then `curate sql`, and one-line errors."""

from __future__ import annotations

import csv
import json
from functools import partial
from pathlib import Path

from testkit.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "datasets" / "samples"
#: ``curate <args>`` in a child process; fails the test on a non-zero exit unless ``check=False``
curate = partial(run_cli, check=True)


def test_ingest_samples_then_sql_and_rerun_is_idempotent(tmp_path):
    store = str(tmp_path / "store")
    curate(
        "ingest",
        str(SAMPLES / "news_en.jsonl"),
        "--store",
        store,
        "--lang",
        "en",
        "--dataset",
        "news",
    )
    curate("ingest", str(SAMPLES / "ner_en.conll"), "--store", store, "--dataset", "ner")
    query = "SELECT count(*) AS n FROM documents"
    out = curate("sql", query, "--store", store, "--format", "json").stdout
    assert json.loads(out) == {"n": 12}
    out = curate(
        "sql", "SELECT count(*) AS n FROM examples", "--store", store, "--format", "csv"
    ).stdout
    assert out.splitlines() == ['"n"', "120"]
    # the same command again replaces its run: no duplicates
    curate(
        "ingest",
        str(SAMPLES / "news_en.jsonl"),
        "--store",
        store,
        "--lang",
        "en",
        "--dataset",
        "news",
    )
    again = curate("sql", query, "--store", store, "--format", "json").stdout
    assert json.loads(again) == {"n": 12}
    stats = json.loads(curate("stats", "--store", store, "--json").stdout)
    assert stats["records"]["segments"] == {"en": 72}
    assert stats["counts"]["ingest"]["in"] == 132


def test_bitext_through_the_cli(tmp_path):
    src, tgt = tmp_path / "a.txt", tmp_path / "b.txt"
    src.write_text("Good morning.\nThank you.\n")
    tgt.write_text("Guten Morgen.\nDanke.\n")
    store = str(tmp_path / "store")
    proc = curate(
        "ingest",
        str(src),
        "--target-file",
        str(tgt),
        "--lang",
        "en",
        "--target-lang",
        "deu",
        "--store",
        store,
    )
    assert "2 written, 0 quarantined" in proc.stderr
    rows = curate(
        "sql",
        "SELECT src_lang, tgt_lang, text FROM translations ORDER BY text",
        "--store",
        store,
        "--format",
        "json",
    )
    assert [json.loads(line) for line in rows.stdout.splitlines()] == [
        {"src_lang": "en", "tgt_lang": "de", "text": "Danke."},
        {"src_lang": "en", "tgt_lang": "de", "text": "Guten Morgen."},
    ]


def test_user_errors_are_one_line_without_traceback(tmp_path):
    proc = curate(
        "ingest", str(tmp_path / "missing.jsonl"), "--store", str(tmp_path / "s"), check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: input not found")
    assert "Traceback" not in proc.stderr
    store = str(tmp_path / "store")
    curate("ingest", str(SAMPLES / "ner_en.conll"), "--store", store)
    proc = curate("sql", "DELETE FROM examples", "--store", store, check=False)
    assert proc.returncode == 2 and "read-only" in proc.stderr and "Traceback" not in proc.stderr


def test_sql_csv_writes_list_columns_as_json_and_errors_point_the_right_way(tmp_path):
    store = str(tmp_path / "store")
    curate("ingest", str(SAMPLES / "ner_en.conll"), "--store", store, "--lang", "en", "-q")
    out = curate(
        "sql", "SELECT tokens, spans FROM examples LIMIT 1", "--store", store, "--format", "csv"
    ).stdout
    header, row = out.splitlines()[:2]
    assert header == '"tokens","spans"'
    tokens, spans = next(csv.reader([row]))
    assert isinstance(json.loads(tokens), list) and isinstance(json.loads(spans), list)
    denied = curate(
        "sql", "SELECT * FROM read_parquet('/etc/x.parquet')", "--store", store, check=False
    )
    assert denied.returncode == 2 and "curate doctor" not in denied.stderr
    assert "reads only the store" in denied.stderr
    missing = curate("translate", "--store", str(tmp_path / "nonexist"), "--to", "de", check=False)
    assert missing.returncode == 2 and "no store at" in missing.stderr


def test_usage_errors_show_usage_and_exit_2():
    for args, message in [
        (("ingest",), "Missing argument"),
        (("nosuch",), "No such command"),
        (("stats", "--nope"), "No such option"),
    ]:
        proc = curate(*args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "Usage: " in proc.stderr and message in proc.stderr
        assert "Traceback" not in proc.stderr


def test_beam_options_after_the_inputs_reach_beam_not_the_input_list(tmp_path):
    """`curate ingest FILE --runner=X` (the form docs/scaling.md uses) passes --runner to Beam."""
    store = str(tmp_path / "store")
    sample = str(SAMPLES / "news_en.jsonl")
    wrong = curate(
        "ingest", sample, "--store", store, "--lang", "en", "--runner=NoSuchRunner", check=False
    )
    assert wrong.returncode != 0
    assert "input not found" not in wrong.stderr
    assert "NoSuchRunner" in wrong.stderr
    fn_api = "--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner"
    curate("ingest", sample, "--store", store, "--lang", "en", fn_api)
    out = curate("sql", "SELECT count(*) AS n FROM documents", "--store", store, "--format", "json")
    assert json.loads(out.stdout) == {"n": 12}
