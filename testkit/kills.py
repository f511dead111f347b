"""Kill-and-resume of the pipeline's commands: a prepared chain of stores, commands killed at
chosen moments, and the content of a store as hashes to compare against an uninterrupted run.

``prepare_chain`` runs ingest and translate on the shipped samples with the shipped en-qsy
model, then each later command once, uninterrupted, keeping a copy of the store before every
command and what the command wrote. ``kill_at`` runs a command and SIGKILLs it while a stage
file is being written (an ``.inprogress`` file under ``<store>/_staging``), once complete files
wait for the commit, or after a delay. Commands run as forked children of one process that
imported the CLI once (``Forker``): each is a fresh ``curate ...`` process without ~2 s of
imports. Used by ``tests/test_reliability_stages.py`` and ``benchmarks/faults.py``.

eflomal samples at random and cannot be seeded, so for ``align`` and ``project`` the columns
that depend on the sampled links are left out of the row hashes (``IGNORED``), and
``from_memory`` of a translation too: a resumed run finds what its killed attempt already stored
in the translation memory, which is the memory's purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from curate.store import Store
from testkit.cli import ROOT, cli_env

MODEL = ROOT / "datasets" / "models" / "en-qsy"
SAMPLES = ROOT / "datasets" / "samples"
#: views whose rows are not run output (the memory is a cache; runs hold timestamps)
NOT_CONTENT = {"memory", "runs"}
#: columns that legitimately differ between two uninterrupted runs (see the module docstring)
IGNORED = {
    "translations": {"from_memory"},
    "alignments": {"links"},
    "projections": {"spans", "tags", "status", "reasons", "n_projected"},
}
#: fast eflomal settings for align and project (one sampler, one run, fewer iterations)
ALIGNER_OPTIONS = "prefix_lengths: [4]\nn_samplers: 1\nrel_iterations: 0.3\n"


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
            env=cli_env(OMP_NUM_THREADS="1"),
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


def prepare_chain(work: Path, forker: Forker) -> Chain:
    """The whole chain run once, uninterrupted, snapshotting the store before each command."""
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
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # it ended (and was reaped) between the poll and the stop
                forker.wait()
                return "finished"
            writing, complete = staged_files(staging, old)
            os.kill(pid, signal.SIGKILL)
            if forker.wait() != -signal.SIGKILL:  # it ended between the poll and the stop
                return "finished"
            return "writing" if writing else "staged" if complete else "running"
        time.sleep(0.002)
    return "finished"
