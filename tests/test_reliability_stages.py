"""Kill-and-resume for every stage after ingest: translate, align, project, detect, build.

A store is prepared once up to each stage (the module fixture runs the whole chain with the
shipped en-qsy model and keeps a copy of the store before every command, plus what the
uninterrupted command wrote). Each case copies the store as it was before its command, runs the
command in its own process and SIGKILLs it at seeded points: while a stage file is being
written (an ``.inprogress`` file under ``<store>/_staging``), after the files are complete but
before the commit, or after a seeded delay; some commands are also killed while re-running over
their committed version, which must stay whole. While the command runs, a reader thread queries
the store over and over: every query must succeed and see all of the run or none of it. After
the kills ``curate sql`` must still answer; the same command is then run again and the store
must hold exactly the records of the uninterrupted run (sorted row hashes of every stage).
Commands run as forked children of one process that imported the CLI once (``Forker``): each
is a fresh ``curate ...`` process without ~2 s of imports, which keeps the suite short.

eflomal samples at random and cannot be seeded, so for ``align`` and ``project`` the columns
that depend on the sampled links (links, projected spans, tags, status) are left out of the
row hashes; every other column, the row count and the ids are compared. ``from_memory`` of a
translation is left out too: a resumed translate run finds the translations its killed attempt
already stored in the translation memory, which is the memory's purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from curate.store import Store

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "datasets" / "models" / "en-qsy"
SAMPLES = ROOT / "datasets" / "samples"
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
#: views whose rows are not run output (the memory is a cache; runs hold timestamps)
NOT_CONTENT = {"memory", "runs"}
#: columns that legitimately differ between two uninterrupted runs (see the module docstring)
IGNORED = {
    "translations": {"from_memory"},
    "alignments": {"links"},
    "projections": {"spans", "tags", "status", "reasons", "n_projected"},
}
#: commands also killed while re-running over their committed version (the rest to save time)
KILLED_OVER_A_VERSION = {"translate", "project", "build-parallel"}
#: fast eflomal settings for align and project (one sampler, one run, fewer iterations)
ALIGNER_OPTIONS = "prefix_lengths: [4]\nn_samplers: 1\nrel_iterations: 0.3\n"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from curate.cli import main; main()", *args]


#: A process that imports the CLI and the Beam jobs once, then forks one child per command: a
#: child is exactly ``curate <args>`` in a fresh process, without paying ~2 s of imports each.
#: Each stage file write and each writer's close is followed by a 50 ms pause, so the moments
#: the kills aim at (a file in progress, complete files before the commit) last long enough to
#: be seen on a fast machine (there they took less than the 2 ms between polls).
_FORKER = r"""
import json, os, sys, time, traceback
from curate.cli import main
import beam_jobs.build, beam_jobs.detect, beam_jobs.project, beam_jobs.translate
import curate.artifacts.detect, curate.mt.engine
from curate.store.files import PartitionedWriter

def _paused(method):
    def run(*args, **kwargs):
        result = method(*args, **kwargs)
        time.sleep(0.05)
        return result
    return run

PartitionedWriter._write_part = _paused(PartitionedWriter._write_part)
PartitionedWriter.close = _paused(PartitionedWriter.close)
out = os.fdopen(os.dup(1), "w")
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["curate", *request["args"]]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    out.write(f"pid {pid}\n")
    out.flush()
    _, status = os.waitpid(pid, 0)
    out.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
    out.flush()
"""


class Forker:
    """Runs CLI commands as forked children of one pre-imported process (see ``_FORKER``)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _FORKER],
            env=ENV,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=False,
        )
        self._buffer = b""
        self.pid = 0
        self.log = logs / "none.log"

    def start(self, args: list[str]) -> int:
        self.log = self.logs / f"command-{time.monotonic_ns()}.log"
        request = {"args": args, "log": str(self.log)}
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        self.pid = int(self._line(block=True).split()[1])
        return self.pid

    def poll(self) -> int | None:
        """The exit status of the current command, or None while it runs."""
        line = self._line(block=False)
        return None if line is None else int(line.split()[1])

    def wait(self) -> int:
        return int(self._line(block=True).split()[1])

    def run(self, args: list[str]) -> None:
        self.start(args)
        code = self.wait()
        assert code == 0, self.log.read_text()[-3000:]

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def _line(self, block: bool) -> str | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if not block and not select.select([fd], [], [], 0)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("the forking process died")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def commands(work: Path) -> dict[str, list[str]]:
    """The commands under test, in pipeline order (``--store`` is added per case)."""
    aligner = work / "aligner.yaml"
    aligner.write_text(ALIGNER_OPTIONS)
    model = ["--model", str(MODEL), "--beam-size", "1", "--max-decoding-length", "64"]
    return {
        # small token batches: many batches, so the output file stays open for a while
        "translate": [
            *("translate", "--to", "qsy", "--stage", "examples", *model),
            *("--batch-tokens", "64", "--run-id", "tr-examples"),
        ],
        "align": ["align", "--aligner-options", str(aligner)],
        "project": ["project", "--aligner-options", str(aligner)],
        "detect": ["detect"],
        "build-parallel": ["build", "parallel"],
        "build-interleaved": ["build", "interleaved"],
    }


# -- what a store holds --------------------------------------------------------------------------
def row_hashes(con: duckdb.DuckDBPyConnection, stage: str, where: str = "") -> list[str]:
    """Sorted hashes of a stage's rows (columns in ``IGNORED`` left out)."""
    table = con.sql(f'SELECT * FROM "{stage}" {where}').to_arrow_table()
    ignored = IGNORED.get(stage, set())
    rows = table.select([c for c in table.column_names if c not in ignored]).to_pylist()
    return sorted(
        hashlib.sha256(json.dumps(r, sort_keys=True, default=repr).encode()).hexdigest()
        for r in rows
    )


def store_content(store: Store) -> dict[str, str]:
    """``{stage: hash of its sorted row hashes}`` for every stage view, plus the run ids."""
    con = store.connect()
    stages = [s for s in store.stages() if s not in NOT_CONTENT]
    content = {s: _digest(row_hashes(con, s)) for s in stages}
    content["run_ids"] = ",".join(sorted(m["run_id"] for m in store.manifests()))
    return content


def _digest(hashes: list[str]) -> str:
    return hashlib.sha256("".join(hashes).encode()).hexdigest()[:16] + f"/{len(hashes)}"


def run_view(store: Store, run_id: str, stages: list[str]) -> dict[str, str]:
    """What a reader sees of one run: the hashes of its rows in each stage it writes."""
    con = store.connect()  # what `curate sql` and Store.sql open: views over committed files
    where = f"WHERE run_id = '{run_id}'"
    return {s: _digest(row_hashes(con, s, where)) for s in stages}


# -- the prepared chain --------------------------------------------------------------------------
@dataclass
class Prepared:
    before: Path  # the store as it was before the command
    run_id: str
    stages: list[str]  # stages the command writes
    expected: dict[str, str]  # store_content after the uninterrupted command
    expected_run: dict[str, str]  # run_view after it
    empty_run: dict[str, str]  # run_view before it


@dataclass
class Chain:
    work: Path
    commands: dict[str, list[str]]
    prepared: dict[str, Prepared] = field(default_factory=dict)


@pytest.fixture(scope="module")
def forker(tmp_path_factory):
    started = Forker(tmp_path_factory.mktemp("logs"))
    yield started
    started.close()


@pytest.fixture(scope="module")
def chain(tmp_path_factory, forker) -> Chain:
    return prepare_chain(tmp_path_factory.mktemp("chain"), forker)


def prepare_chain(work: Path, forker: Forker) -> Chain:
    """The whole chain run once, uninterrupted, snapshotting the store before each command.

    Also used by benchmarks/faults.py.
    """
    store = Store(work / "store")
    at = ["--store", str(store.root)]
    news, ner = SAMPLES / "news_en.jsonl", SAMPLES / "ner_en.conll"
    forker.run(["ingest", str(news), *at, "--lang", "en", "--dataset", "news"])
    forker.run(["ingest", str(ner), *at, "--lang", "en", "--dataset", "ner"])
    model = ["--model", str(MODEL), "--beam-size", "1", "--max-decoding-length", "64"]
    forker.run(["translate", "--to", "qsy", *model, *at])
    result = Chain(work, commands(work))
    for name, args in result.commands.items():
        before = work / f"before-{name}"
        shutil.copytree(store.root, before)
        known = {m["run_id"] for m in store.manifests()}
        forker.run([*args, *at])
        (run_id,) = {m["run_id"] for m in store.manifests()} - known
        stages = sorted(store.manifest(run_id)["files"])
        result.prepared[name] = Prepared(
            before,
            run_id,
            stages,
            store_content(store),
            run_view(store, run_id, stages),
            run_view(Store(before), run_id, stages),
        )
    return result


# -- killing at seeded points --------------------------------------------------------------------
def staged_files(staging: Path, old: set[str]) -> tuple[bool, bool]:
    """(a file is being written, a complete stage file waits for the commit), ignoring ``old``."""
    writing = complete = False
    for folder, _, names in os.walk(staging):
        for name in names:
            if os.path.join(folder, name) in old:
                continue
            if name.endswith(".inprogress"):
                writing = True
            elif name.endswith(".parquet"):
                complete = True
    return writing, complete


def kill_at(forker: Forker, args: list[str], store_root: Path, point: str, delay: float) -> str:
    """Run ``curate <args>`` and SIGKILL it at ``point``; returns what it was doing then.

    ``write``: as soon as a stage file is in progress; ``staged``: once complete files wait in
    staging; ``delay``: ``delay`` seconds after the start. The process is stopped (SIGSTOP) the
    moment the point is seen, so what it was doing can be checked before the kill. Returns
    ``finished`` if the command ended first. Leftovers of an earlier killed attempt do not count.
    """
    staging = store_root / "_staging"
    old = {os.path.join(d, n) for d, _, names in os.walk(staging) for n in names}
    start = time.monotonic()
    pid = forker.start(args)
    while forker.poll() is None:
        writing, complete = staged_files(staging, old)
        if (
            (point == "write" and writing)
            or (point == "staged" and complete)
            or (point == "delay" and time.monotonic() - start >= delay)
        ):
            os.kill(pid, signal.SIGSTOP)
            writing, complete = staged_files(staging, old)
            os.kill(pid, signal.SIGKILL)
            if forker.wait() != -signal.SIGKILL:  # it ended between the poll and the stop
                return "finished"
            return "writing" if writing else "staged" if complete else "running"
        time.sleep(0.002)
    return "finished"


class Reader(threading.Thread):
    """Queries the store over and over while a command runs; records what each query saw."""

    def __init__(self, root: Path, run_id: str, stages: list[str]) -> None:
        super().__init__(daemon=True)
        self.store, self.run_id, self.stages = Store(root), run_id, stages
        self.seen: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.append(run_view(self.store, self.run_id, self.stages))
            except Exception as exc:  # a partial file, a vanished file: the test fails on it
                self.errors.append(repr(exc))
            self.stop.wait(0.25)


def sql_cli(store_root: Path, query: str) -> list[dict]:
    """``curate sql`` in its own process (the command a user would run)."""
    done = subprocess.run(
        cli("sql", "--store", str(store_root), "--format", "json", query),
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["translate", "align", "project", "detect", "build-parallel", "build-interleaved"]
)
def test_killed_stage_resumes_to_the_uninterrupted_store(chain, forker, tmp_path, name):
    prepared = chain.prepared[name]
    root = tmp_path / "store"
    shutil.copytree(prepared.before, root)
    args = [*chain.commands[name], "--store", str(root)]
    rng = random.Random(f"kill-{name}")
    # one kill while a file is being written, one at a seeded point or delay
    points = [("write", 0.0), (rng.choice(["staged", "delay"]), rng.uniform(0.1, 1.5))]
    outcomes = []
    reader = Reader(root, prepared.run_id, prepared.stages)
    reader.start()
    try:
        for point, delay in points:
            before = run_view(Store(root), prepared.run_id, prepared.stages)
            outcomes.append(kill_at(forker, args, root, point, delay))
            # all of a run or nothing: nothing new while a file is in progress or complete files
            # wait for the commit; all of it when the command ended first; after a delay, the
            # kill may have come before the commit or after it (translate compacts its memory
            # after committing)
            after = run_view(Store(root), prepared.run_id, prepared.stages)
            if outcomes[-1] == "finished":
                assert after == prepared.expected_run, outcomes
            elif outcomes[-1] == "running":
                assert after in (before, prepared.expected_run), outcomes
            else:
                assert after == before, outcomes
        # and `curate sql` still reads the store after the kills, seeing what the reader sees
        counts = " + ".join(
            f"(SELECT count(*) FROM {s} WHERE run_id = '{prepared.run_id}')"
            for s in prepared.stages
        )
        visible = sum(int(v.rsplit("/", 1)[1]) for v in after.values())
        assert sql_cli(root, f"SELECT {counts} AS n") == [{"n": visible}]
        forker.run(args)
        assert not list((root / "_staging").rglob("*.parquet*")), "staging left behind"
        if name in KILLED_OVER_A_VERSION:
            # a re-run replacing the committed version, killed while writing: the old version
            # stays whole (its files are only superseded by the next commit)
            outcomes.append(kill_at(forker, args, root, "write", 0.0))
            assert run_view(Store(root), prepared.run_id, prepared.stages) == prepared.expected_run
    finally:
        reader.stop.set()
        reader.join()
    assert not reader.errors, reader.errors[:3]
    assert len(reader.seen) > 1, "the reader never ran"
    views = {json.dumps(v, sort_keys=True) for v in reader.seen}
    allowed = {json.dumps(v, sort_keys=True) for v in (prepared.empty_run, prepared.expected_run)}
    assert views <= allowed, f"a reader saw part of a run ({outcomes})"
    assert store_content(Store(root)) == prepared.expected, outcomes
    if name == "translate":  # what killed attempts remembered is not remembered twice
        keys = "model_id, model_version, decoding, src_lang, tgt_lang, text_hash"
        query = f"SELECT count(*) - count(DISTINCT ({keys})) AS n FROM memory"
        assert Store(root).sql(query).to_pylist() == [{"n": 0}]
    assert "writing" in outcomes, outcomes
