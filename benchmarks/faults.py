"""Faults survived: seeded SIGKILLs during ingest and every later stage, and fuzzed reader inputs.

Ingest cycles kill ``curate ingest`` over a 40k-line corpus. Stage cycles go round translate,
align, project, detect, build parallel and build interleaved (the commands and helpers of
testkit/kills.py, which tests/test_reliability_stages.py uses too): each copies a store
prepared up to the stage, kills the command at a seeded point (while a file is being written,
once complete files wait for the commit, or after a seeded delay), checks that a reader sees
none of the killed run, runs the command again and compares every stage's row hashes with an
uninterrupted run's.

A fault counts as survived only if the kill hit a running process: the process is stopped
(SIGSTOP), what it was doing is looked at (a stage file being written, complete files waiting
in staging for the commit, or neither: running), then killed, and its exit status must say
SIGKILL. A command that had already finished is counted apart (``missed``) and not as a fault.
The kills per phase are printed.

Fuzzed inputs must end as records, quarantine entries or counted filter decisions. The input
units are counted here from the bytes, without the reader (lines of JSONL and bitext; rows of
CSV/TSV after the header, by the standard library's ``csv`` module; CoNLL sentences, plus the
blank and ``-DOCSTART-`` lines the format skips), and compared with ``ingest_batch``'s out +
quarantined + filtered: a reader that silently dropped a line would show as lost. Prints the
counts and, last, ``records_lost <n>`` (must be 0).

    .venv/bin/python benchmarks/faults.py [--kills 6] [--stage-kills 12] [--fuzz 300]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.ingest import IngestConfig, ingest_batch  # noqa: E402
from curate.io import READERS, FieldMap  # noqa: E402
from curate.store import Store  # noqa: E402
from testkit.cli import cli_command, cli_env  # noqa: E402
from testkit.corpora import broken_jsonl, query_hash  # noqa: E402
from testkit.kills import (  # noqa: E402
    Forker,
    kill_at,
    prepare_chain,
    run_view,
    staged_files,
    store_content,
)

ENV = cli_env()


def corpus(path: Path, n: int) -> None:
    broken_jsonl(path, n, seed=5, broken_every=40, words=9, broken="{not json")


def store_hash(store: Store) -> str:
    return query_hash(
        store,
        "SELECT 'd', id, text FROM documents UNION ALL SELECT 'q', id, reason FROM quarantine "
        "UNION ALL SELECT 's', id, text FROM segments ORDER BY 1, 2",
    )


def kill_cycles(work: Path, kills: int, seed: int) -> tuple[int, int, Counter[str]]:
    """Returns (faults survived, records lost, what the killed commands were doing)."""
    data = work / "corpus.jsonl"
    corpus(data, 40_000)
    command = ["ingest", str(data), "--lang", "en", "--run-id", "r"]
    reference = Store(work / "reference")
    subprocess.run(
        cli_command(*command, "--store", str(reference.root)),
        env=ENV,
        check=True,
        capture_output=True,
    )
    expected = store_hash(reference)
    expected_rows = reference.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
    rng = random.Random(seed)
    survived = lost = 0
    doing: Counter[str] = Counter()
    for cycle in range(kills):
        store = Store(work / f"store-{cycle}")
        if cycle % 2:  # half the cycles kill a re-run over an existing version
            subprocess.run(
                cli_command(*command, "--store", str(store.root)),
                env=ENV,
                check=True,
                capture_output=True,
            )
        staging = store.root / "_staging"
        old = {os.path.join(d, n) for d, _, names in os.walk(staging) for n in names}
        proc = subprocess.Popen(
            cli_command(*command, "--store", str(store.root)), env=ENV, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, 10.0))
        # Stopped first, so what it was doing is what the kill interrupts; a process that has
        # already exited (a zombie until waited for) ignores both signals and exits 0.
        proc.send_signal(signal.SIGSTOP)
        writing, complete = staged_files(staging, old)
        proc.send_signal(signal.SIGKILL)
        hit = proc.wait() == -signal.SIGKILL
        outcome = (
            ("writing" if writing else "staged" if complete else "running") if hit else "missed"
        )
        doing[outcome] += 1
        if (store.root / "_runs").exists():
            seen = store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
            if seen not in (0, expected_rows) or (hit and cycle % 2 == 0 and seen):
                print(f"cycle {cycle}: a reader saw {seen} rows of a killed run")
                lost += abs(expected_rows - seen) or 1
                continue
        subprocess.run(
            cli_command(*command, "--store", str(store.root)),
            env=ENV,
            check=True,
            capture_output=True,
        )
        if store_hash(store) == expected:
            survived += hit
        else:
            lost += (
                abs(
                    expected_rows - store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
                )
                or 1
            )
    return survived, lost, doing


def stage_kill_cycles(work: Path, kills: int, seed: int) -> tuple[int, int, Counter[str]]:
    """Returns (faults survived, records lost, what the killed commands were doing)."""
    import shutil

    logs = work / "logs"
    logs.mkdir()
    forker = Forker(logs)
    try:
        chain = prepare_chain(work, forker)
        names = list(chain.commands)
        rng = random.Random(seed)
        survived = lost = 0
        doing: Counter[str] = Counter()
        for cycle in range(kills):
            name = names[cycle % len(names)]
            prepared = chain.prepared[name]
            root = work / f"stage-{cycle}"
            shutil.copytree(prepared.before, root)
            args = [*chain.commands[name], "--store", str(root)]
            point = rng.choice(["write", "staged", "delay"])
            outcome = kill_at(forker, args, root, point, rng.uniform(0.1, 3.0))
            doing["missed" if outcome == "finished" else outcome] += 1
            seen = run_view(Store(root), prepared.run_id, prepared.stages)
            if seen != (prepared.expected_run if outcome == "finished" else prepared.empty_run):
                print(f"cycle {cycle} ({name}): a reader saw part of a killed run")
                lost += 1
            forker.run(args)
            content = store_content(Store(root))
            shutil.rmtree(root)
            if content == prepared.expected:
                survived += outcome != "finished"  # a kill after the end is no fault
                continue
            for stage, digest in prepared.expected.items():
                if stage != "run_ids" and content.get(stage) != digest:
                    want = int(digest.rsplit("/", 1)[1])
                    got = int(content.get(stage, "x/0").rsplit("/", 1)[1])
                    print(f"cycle {cycle} ({name}): {stage} differs ({got} rows, want {want})")
                    lost += max(abs(want - got), 1)
            if content.get("run_ids") != prepared.expected["run_ids"]:
                print(f"cycle {cycle} ({name}): runs differ")
                lost += 1
        return survived, lost, doing
    finally:
        forker.close()


def input_units(fmt: str, data: bytes) -> int:
    """What a reader must account for in ``data``, counted without the reader."""
    lines = data.split(b"\n")
    if lines[-1] == b"":  # a file ending in a line end has no fragment after it
        lines.pop()
    if fmt in ("jsonl", "bitext"):  # every line: a record, a quarantine entry or a blank
        return len(lines)
    if fmt in ("csv", "tsv"):  # every row after the header
        text = io.StringIO(data.decode("utf-8", "surrogateescape"), newline="")
        rows = sum(1 for _ in csv.reader(text, delimiter="," if fmt == "csv" else "\t"))
        return max(rows - 1, 0)
    # CoNLL: each run of token lines is one sentence; a blank line ends a sentence or, outside
    # one, is a skipped line; a -DOCSTART- line ends a sentence and is a skipped line itself
    units, in_sentence = 0, False
    for raw in lines:
        try:
            columns = raw.rstrip(b"\r").decode("utf-8").split()
        except UnicodeDecodeError:
            columns = ["?"]
        if not columns:
            units += 1  # the sentence it ends, or itself
            in_sentence = False
        elif columns[0] == "-DOCSTART-":
            units += 1 + in_sentence
            in_sentence = False
        else:
            in_sentence = True
    return units + in_sentence


def fuzz(work: Path, n: int, seed: int) -> tuple[int, int]:
    """Returns (inputs tried, records lost)."""
    rng = random.Random(seed)
    config = IngestConfig(dataset="fuzz", run_id="fuzz", identify_language=False)
    formats = [
        ("jsonl", "x.jsonl"),
        ("csv", "x.csv"),
        ("tsv", "x.tsv"),
        ("conll", "x.conll"),
        ("bitext", "x.txt"),
    ]
    seeds = [
        b'{"text": "a"}\n',
        b"id,text\n1,hello\n",
        b"A\tB-PER\n\n",
        b"a ||| b\n",
        b"\xff\xfe\x00",
    ]
    lost = 0
    for i in range(n):
        fmt, name = formats[i % len(formats)]
        base = bytearray(rng.choice(seeds) * rng.randint(1, 20))
        for _ in range(rng.randint(0, 30)):
            pos = rng.randrange(len(base) + 1)
            base[pos:pos] = bytes([rng.randrange(256)])
        path = work / name
        path.write_bytes(bytes(base))
        accounted = 0
        for batch in READERS[fmt](str(path), FieldMap(), {}):
            c = ingest_batch(batch, config).counts
            accounted += c.records_out + sum(c.quarantined.values()) + sum(c.filtered.values())
        expected = input_units(fmt, bytes(base))
        if accounted != expected:
            print(f"fuzz {i} ({fmt}): {expected} input units, {accounted} accounted for")
            lost += abs(expected - accounted)
    return n, lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--stage-kills", type=int, default=12)
    parser.add_argument("--fuzz", type=int, default=300)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curate-bench-faults-") as tmp:
        survived, lost_kills, ingest_doing = kill_cycles(Path(tmp), args.kills, args.seed)
        stages = Path(tmp) / "stages"
        stages.mkdir()
        stage_survived, lost_stages, doing = stage_kill_cycles(stages, args.stage_kills, args.seed)
        tried, lost_fuzz = fuzz(Path(tmp), args.fuzz, args.seed)
    print(f"kill_and_resume_cycles {args.kills + args.stage_kills}")
    print(f"ingest_kills_by_phase {json.dumps(dict(ingest_doing), sort_keys=True)}")
    print(f"stage_kills_by_phase {json.dumps(dict(doing), sort_keys=True)}")
    print(f"kills_missed {ingest_doing['missed'] + doing['missed']} (the command had finished)")
    print(f"faults_survived {survived + stage_survived}")
    print(f"fuzzed_inputs {tried}")
    print(f"records_lost {lost_kills + lost_stages + lost_fuzz}")


if __name__ == "__main__":
    main()
