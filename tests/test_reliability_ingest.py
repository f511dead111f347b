"""Faults during ingest: kills, damaged files, a full disk. Nothing is lost or half-visible."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from curate.errors import UserError
from curate.store import Store
from curate.store.doctor import diagnose, repair
from testkit.cli import cli_command, cli_env
from testkit.corpora import broken_jsonl, query_hash

ROOT = Path(__file__).resolve().parent.parent
ENV = cli_env()


def make_corpus(path: Path, n: int) -> None:
    broken_jsonl(path, n, seed=3, broken_every=50, words=8, broken="{broken")


def ingest_cmd(corpus: Path, store: Path) -> list[str]:
    return cli_command(
        "ingest",
        str(corpus),
        "--store",
        str(store),
        "--lang",
        "en",
        "--run-id",
        "r1",
    )


def content_hash(store: Store) -> str:
    return query_hash(
        store,
        "SELECT id, text, lang FROM documents "
        "UNION ALL SELECT id, reason, stage FROM quarantine ORDER BY 1, 2",
    )


@pytest.mark.slow
def test_killed_runs_resume_to_the_same_store(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    make_corpus(corpus, 30_000)
    reference = Store(tmp_path / "reference")
    subprocess.run(
        ingest_cmd(corpus, reference.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    expected = content_hash(reference)
    expected_rows = reference.sql("SELECT count(*) FROM documents").column(0)[0].as_py()

    store = Store(tmp_path / "store")
    rng = random.Random(11)
    for _ in range(3):
        proc = subprocess.Popen(
            ingest_cmd(corpus, store.root), env=ENV, cwd=ROOT, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(1.0, 8.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (store.root / "_runs").exists():
            # whatever the moment of the kill, readers see all of a run or none of it
            seen = store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
            assert seen in (0, expected_rows)
            assert not [p for p in diagnose(store).problems if p.kind == "damaged"]
    subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    assert content_hash(store) == expected
    report = diagnose(store)
    assert report.healthy, report.problems


def test_damaged_file_is_named_and_set_aside(tmp_path):
    corpus = tmp_path / "c.jsonl"
    make_corpus(corpus, 200)
    store = Store(tmp_path / "store")
    subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    victim = store.stage_files("documents")[0]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    with pytest.raises(UserError) as info:
        store.sql("SELECT count(*) FROM documents")
    assert victim.name in str(info.value) and "doctor" in (info.value.hint or "")
    report = diagnose(store)
    assert [p.kind for p in report.problems] == ["damaged"]
    assert victim.name in report.problems[0].path
    repair(store, report)
    assert diagnose(store).healthy
    assert store.sql("SELECT count(*) FROM documents").column(0)[0].as_py() == 0
    assert (store.root / "_damaged").exists()
    assert store.manifest("r1")["damaged_files"]
    # re-running the run restores it
    subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    assert store.sql("SELECT count(*) FROM documents").column(0)[0].as_py() == 196


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs. Mounting needs root, which CI has: under ``CI=true`` a failed mount
    fails the test instead of skipping it."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        why = f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_up(store: Store, tmp_path: Path, **run: Any) -> tuple[str, subprocess.CompletedProcess]:
    """A small ingest that fits, then the same file grown to 40,000 lines, whose re-run (it
    replaces run r1) cannot: the store's content hash after the first, and the second run."""
    corpus = tmp_path / "corpus.jsonl"
    make_corpus(corpus, 20)
    subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    before = content_hash(store)
    make_corpus(corpus, 40_000)
    return before, subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, capture_output=True, text=True, cwd=ROOT, **run
    )


def test_disk_full_is_a_clear_error_and_the_store_is_unchanged(tmp_path, tiny_disk):
    store = Store(tiny_disk / "store")
    before, proc = _fill_up(store, tmp_path)
    assert proc.returncode == 2
    assert "error: disk full while writing" in proc.stderr and "Traceback" not in proc.stderr
    assert content_hash(store) == before


def _file_size_limit() -> None:
    """In the child before exec: writes past 256 KiB fail with EFBIG instead of a signal."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_refused_write_is_a_clear_error_and_the_store_is_unchanged(tmp_path):
    """The same as a full disk, without root: the ingest runs under a file size limit
    (RLIMIT_FSIZE), so writing its output fails part way as a full disk would."""
    store = Store(tmp_path / "store")
    before, proc = _fill_up(store, tmp_path, preexec_fn=_file_size_limit)
    assert proc.returncode == 2, proc.stderr
    assert "error: file size limit reached while writing" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert content_hash(store) == before
    assert store.sql("SELECT count(*) FROM documents").column(0)[0].as_py() == 19
    assert not any((store.root / "_staging").rglob("*.parquet"))


@pytest.mark.slow
def test_readers_see_the_old_or_the_new_version_never_a_mix(tmp_path):
    corpus = tmp_path / "c.jsonl"
    make_corpus(corpus, 300)
    store = Store(tmp_path / "store")
    subprocess.run(
        ingest_cmd(corpus, store.root), env=ENV, check=True, capture_output=True, cwd=ROOT
    )
    old = store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
    make_corpus(corpus, 20_000)  # the same run id over a bigger file replaces the old version
    proc = subprocess.Popen(
        ingest_cmd(corpus, store.root), env=ENV, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    seen = set()
    while proc.poll() is None:
        seen.add(store.sql("SELECT count(*) FROM documents").column(0)[0].as_py())
        time.sleep(0.05)
    new = store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
    assert proc.returncode == 0 and new > old
    assert seen <= {old, new}
