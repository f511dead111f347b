"""The commit protocol on both backends, a local directory and a real S3 server (SeaweedFS):
a reader sees all of a run or none of it, concurrent writers never lose a run, a killed writer
leaves nothing visible, and ``curate doctor`` finds and clears what it left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from curate.errors import UserError
from curate.records import load_schema
from curate.store import StageCounts, Store
from testkit.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["en", "de", "fr", "es", "it"]


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Store:
    if request.param == "local":
        return Store(tmp_path / "store")
    return Store(request.getfixturevalue("s3_store_uri"))


def docs(run_id: str, n: int, lang: str) -> object:
    rows = [
        {
            "id": f"{run_id}-{lang}-{i}",
            "lang": lang,
            "text": f"text {i} of {run_id}",
            "dataset": "d",
            "source_id": str(i),
            "run_id": run_id,
            "stage": "ingest",
        }
        for i in range(n)
    ]
    return load_schema("documents").table(rows)


def write_run(store: Store, run_id: str, per_lang: int, pause: float = 0.0) -> None:
    """One run of ``per_lang`` documents in each of five languages: five files."""
    with store.open_run("test", run_id) as run:
        for lang in LANGS:
            run.write("documents", docs(run_id, per_lang, lang))
            time.sleep(pause)
        run.count("documents", StageCounts(per_lang * len(LANGS), per_lang * len(LANGS)))


def visible(store: Store, run_id: str) -> int:
    query = f"SELECT count(*) AS n FROM documents WHERE run_id = '{run_id}'"
    return store.sql(query).to_pylist()[0]["n"]


def test_rerun_replaces_its_own_files_and_keeps_other_runs(store):
    write_run(store, "a", 3)
    write_run(store, "b", 2)
    write_run(store, "a", 1)
    assert visible(store, "a") == 5 and visible(store, "b") == 10
    assert store.manifest("a")["rows"] == {"documents": 5}
    names = {p.name.split("--")[0] for p in store.stage_files("documents")}
    assert names == {"a", "b"} and len(store.stage_files("documents")) == 10
    langs = store.sql("SELECT DISTINCT lang FROM documents ORDER BY 1").column(0).to_pylist()
    assert langs == sorted(LANGS)  # the partition column is read back from the paths


def test_a_reader_sees_all_of_a_run_or_none(store):
    write_run(store, "r", 2)
    seen: list[int] = []
    errors: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(visible(Store(store.uri), "r"))
            except Exception as exc:  # any failure to read fails the test
                errors.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for per_lang in (7, 4, 9):  # three re-runs of "r", each written file by file
            write_run(store, "r", per_lang, pause=0.1)
    finally:
        done.set()
        reader.join()
    assert not errors, errors[:3]
    assert len(seen) > 3, "the reader never ran while the runs were written"
    assert set(seen) <= {10, 35, 20, 45}, sorted(set(seen))
    assert visible(store, "r") == 45


def test_concurrent_writers_on_one_stage_never_lose_a_run(store):
    def writer(name: str) -> None:
        for round_ in range(3):
            write_run(store, f"{name}-{round_}", 2)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = sorted(m["run_id"] for m in store.manifests())
    assert runs == [f"{w}-{r}" for w in ("w1", "w2") for r in range(3)]
    assert store.sql("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": 60}]


def test_a_second_writer_of_one_run_id_is_refused(store):
    script = (
        "import sys\nfrom curate.store import Store\nfrom curate.errors import UserError\n"
        "try:\n    with Store(sys.argv[1]).open_run('t', 'a'):\n        pass\n"
        "except UserError as e:\n    print(e)\n    sys.exit(3)\n"
    )
    with store.open_run("test", "a"):
        with pytest.raises(UserError, match="being written"), store.open_run("test", "a"):
            pass
        other = subprocess.run(
            [sys.executable, "-c", script, store.uri],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert other.returncode == 3 and "being written" in other.stdout, other.stderr
    with store.open_run("test", "a"):  # free again once the first writer is done
        pass


#: commits run "k" (first version), then starts a second version of it: one file uploaded,
#: one being written, and waits to be killed
KILLED_WRITER = """
import sys, time
from curate.store import Store, StageCounts
sys.path.insert(0, sys.argv[2])
from tests.test_store_protocol import docs, write_run
store = Store(sys.argv[1])
write_run(store, "k", 2)
with store.open_run("test", "k") as run:
    run.write("documents", docs("k", 50, "en"))
    writer = run.writer("documents")
    writer.write(docs("k", 50, "de"))
    print("writing", flush=True)
    time.sleep(600)
"""


def test_a_killed_writer_leaves_nothing_visible_and_doctor_clears_it(store):
    write_run(store, "other", 1)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, store.uri, str(ROOT)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert visible(store, "k") == 10  # the first version, whole; nothing of the killed one
    assert visible(store, "other") == 5
    checked = run_cli("doctor", "--store", store.uri)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    kinds = {line.split(":", 1)[0] for line in checked.stdout.splitlines()[:-1]}
    # local: the staged files sit in _staging; S3: the uploaded file is an orphan key
    assert kinds == ({"stale_staging"} if store.local else {"orphan"}), checked.stdout
    assert "damaged" not in checked.stdout
    fixed = run_cli("doctor", "--store", store.uri, "--fix")
    assert fixed.returncode == 0, fixed.stderr
    healthy = run_cli("doctor", "--store", store.uri)
    assert healthy.returncode == 0 and "0 problem(s)" in healthy.stdout, healthy.stdout
    write_run(store, "k", 3)  # the run id is free again at once: its writer died
    assert visible(store, "k") == 15 and visible(store, "other") == 5


def test_doctor_finds_a_damaged_file_and_sets_it_aside(store):
    write_run(store, "a", 2)
    victim = str(store.stage_files("documents")[0])
    with store.fs.open_input_stream(victim) as stream:
        head = stream.read(100)
    with store.fs.open_output_stream(victim) as out:
        out.write(head)  # truncated
    with pytest.raises(UserError, match=r"doctor|SQL error"):
        visible(store, "a")
    checked = run_cli("doctor", "--store", store.uri)
    assert checked.returncode == 1 and checked.stdout.startswith("damaged:"), checked.stdout
    assert run_cli("doctor", "--store", store.uri, "--fix").returncode == 0
    assert visible(store, "a") == 8
    assert store.manifest("a")["damaged_files"] == [
        str(Path(victim).relative_to(store.location.path))
    ]
    moved = store.path("_damaged", store.manifest("a")["damaged_files"][0])
    assert store.fs.get_file_info(moved).size == 100


def test_sql_and_stats_on_the_store(store):
    write_run(store, "a", 2)
    query = "SELECT count(*) AS n FROM documents"
    out = run_cli("sql", "--store", store.uri, "--format", "json", query)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"n": 10}
    stats = run_cli("stats", "--store", store.uri, "--json")
    assert json.loads(stats.stdout)["records"]["documents"] == dict.fromkeys(sorted(LANGS), 2)
    assert json.loads(stats.stdout)["store"] == store.uri


def test_the_s3_server_listens_on_loopback_only_and_reports_nowhere(seaweed):
    listening = seaweed.listening()
    assert len(listening) >= 5, listening  # master, volume, filer, s3, admin (and their gRPC)
    for line in listening:
        assert line.split()[3].startswith("127.0.0.1:"), line
    assert "-master.telemetry=false" in seaweed.command_line
    done = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=True)
    pids = {seaweed.process.pid, *seaweed.children()}
    for line in done.stdout.splitlines():  # established connections: none leaves the host
        if any(f"pid={p}," in line for p in pids):
            local, peer = line.split()[3:5]
            assert local.startswith("127.0.0.1:") and peer.startswith("127.0.0.1:"), line
