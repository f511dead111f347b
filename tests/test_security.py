"""Secrets and names: the Hub token never appears in anything curate writes or prints, and
dataset/config names never become paths outside their folder."""

from __future__ import annotations

import os
from pathlib import Path

from beam_jobs.build import BuildJob, run_build
from testkit.cli import cli_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "hf_SENTINELtoken0123456789abcdefABCDEF"


def test_token_never_leaks_into_output_files_or_tracebacks(translated_store, tmp_path):
    store = translated_store
    run_build(
        store,
        BuildJob(
            run_id="sec", kind="parallel", config={"drop_truncated": False, "dedup_near": False}
        ),
    )
    env = cli_env(HF_TOKEN=SENTINEL)
    outputs = []
    for extra in ([], ["--debug"]):
        out = tmp_path / f"hub{len(extra)}"
        proc = run_cli(
            *extra,
            "export",
            "--to",
            str(out),
            "--store",
            str(store.root),
            "--push",
            "me/data",
            env=env,
        )
        assert proc.returncode == (1 if extra else 2), proc.stderr  # --debug: the traceback
        outputs += [proc.stdout, proc.stderr]
        assert (out / "README.md").exists()  # the local folder is complete despite the failed push
        if not extra:
            errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert not any(SENTINEL in text for text in outputs)
    for folder in (store.root, tmp_path):
        for path in folder.rglob("*"):
            if path.is_file():
                assert SENTINEL.encode() not in path.read_bytes(), path


def test_config_names_are_sanitised_before_they_become_paths(tmp_path):
    from curate.errors import UserError
    from curate.export.names import sanitize_name

    for hostile in ("../../etc", "/abs/path", "a/b", "..", "con fig\x00"):
        try:
            name = sanitize_name(hostile)
        except UserError:
            continue  # refused outright is fine too
        assert "/" not in name and "\x00" not in name and name not in ("", ".", "..")


# -- object stores: read-only SQL and credentials ------------------------------------------------
READ_ONLY_VIOLATIONS = [
    "CREATE TABLE t AS SELECT 1",
    "COPY (SELECT 1) TO '/tmp/curate-escape.csv'",
    "ATTACH '/tmp/curate-escape.db' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SELECT 1; DROP VIEW documents",
    "SELECT * FROM read_csv('/etc/hostname')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_parquet('s3://curate/*/documents/*/*.parquet')",
    "SELECT * FROM glob('/tmp/*')",
]


def _s3_store(uri: str):
    from curate.records import load_schema
    from curate.store import StageCounts, Store

    store = Store(uri)
    rows = [{"id": "1", "lang": "en", "text": "x", "dataset": "d", "source_id": "1", "run_id": "a"}]
    rows[0]["stage"] = "ingest"
    with store.open_run("test", "a") as run:
        run.write("documents", load_schema("documents").table(rows))
        run.count("documents", StageCounts(1, 1))
    return store


def test_sql_on_an_object_store_stays_read_only(s3_store_uri):
    import pytest

    from curate.errors import UserError

    store = _s3_store(s3_store_uri)
    for statement in READ_ONLY_VIOLATIONS:
        with pytest.raises(UserError):
            store.sql(statement)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for statement in ("COPY (SELECT 1) TO '/tmp/curate-escape.csv'", READ_ONLY_VIOLATIONS[-2]):
        proc = run_cli("sql", "--store", store.uri, statement, env=env)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
    assert not Path("/tmp/curate-escape.csv").exists()
    assert store.sql("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 1}]


def test_object_store_credentials_never_leak(seaweed, s3_store_uri, tmp_path, random_model):
    from tests.seaweed import SECRET_KEY

    store = _s3_store(s3_store_uri)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    texts = []
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "1", "text": "Hello there, this is a test."}\n')
    fast = ["--beam-size", "1", "--max-decoding-length", "8", "--quiet"]
    for extra in ([], ["--debug"]):
        runs = [
            ["ingest", str(source), "--store", store.uri, "--lang", "en", "--dataset", "t"],
            ["translate", "--store", store.uri, "--to", "de", "--model", str(random_model), *fast],
            ["sql", "--store", store.uri, "SELECT * FROM runs"],
            ["stats", "--store", store.uri],
            ["doctor", "--store", store.uri],
            ["sql", "--store", store.uri, "SELECT no_such_column FROM documents"],
            ["sql", "--store", "s3://no-such-bucket/x", "SELECT 1"],
        ]
        for i, args in enumerate(runs):
            proc = run_cli(*extra, *args, env=env)
            assert (proc.returncode == 0) == (i < 5), (args, proc.stderr[-2000:])
            texts += [proc.stdout, proc.stderr]
        # a wrong secret: the error says so without the secret
        wrong = {**env, "AWS_SECRET_ACCESS_KEY": SECRET_KEY[::-1]}
        proc = run_cli(*extra, "sql", "--store", store.uri, "SELECT 1", env=wrong)
        assert proc.returncode != 0
        texts += [proc.stdout, proc.stderr]
    assert texts and not any(SECRET_KEY in t or SECRET_KEY[::-1] in t for t in texts)
    fs = seaweed.filesystem()
    from pyarrow.fs import FileSelector

    objects = fs.get_file_info(FileSelector(s3_store_uri.removeprefix("s3://"), recursive=True))
    assert any(o.path.endswith(".json") for o in objects)
    assert any("/memory/" in o.path for o in objects)  # translate's memory is in the bucket
    for info in objects:
        if info.type.name == "File":
            with fs.open_input_stream(info.path) as stream:
                assert SECRET_KEY.encode() not in stream.read(), info.path


def test_a_store_uri_with_credentials_is_refused_without_repeating_them():
    import pytest

    from curate.errors import UserError
    from curate.store import Store

    secret = "SENTINELsecret0123456789"
    for uri in (
        f"s3://AKIAEXAMPLE:{secret}@bucket/prefix",
        f"s3://bucket/prefix?access_key=AKIAEXAMPLE&secret_key={secret}",
    ):
        with pytest.raises(UserError) as info:
            Store(uri)
        assert secret not in str(info.value) and secret not in (info.value.hint or "")
        proc = run_cli("sql", "--store", uri, "SELECT 1", env={**os.environ})
        assert proc.returncode == 2 and secret not in proc.stdout + proc.stderr
