"""Secrets and names: the Hub token never appears in anything curate writes or prints, and
dataset/config names never become paths outside their folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from beam_jobs.build import BuildJob, run_build

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "hf_SENTINELtoken0123456789abcdefABCDEF"


def curate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from curate.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_token_never_leaks_into_output_files_or_tracebacks(translated_store, tmp_path):
    store = translated_store
    run_build(
        store,
        BuildJob(
            run_id="sec", kind="parallel", config={"drop_truncated": False, "dedup_near": False}
        ),
    )
    env = {**os.environ, "HF_TOKEN": SENTINEL, "HF_HUB_OFFLINE": "1"}
    outputs = []
    for extra in ([], ["--debug"]):
        out = tmp_path / f"hub{len(extra)}"
        proc = curate(
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
    from curate.export.hub import sanitize_name

    for hostile in ("../../etc", "/abs/path", "a/b", "..", "con fig\x00"):
        try:
            name = sanitize_name(hostile)
        except UserError:
            continue  # refused outright is fine too
        assert "/" not in name and "\x00" not in name and name not in ("", ".", "..")
