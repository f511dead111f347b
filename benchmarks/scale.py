"""Cost per record of every stage after translation, from small to large, for one language pair.

For each size the grammar generator (``curate.synth``) makes that many English sentences with
entity spans and their Synthetic (``qsy``) translations. The English side is ingested as
labelled examples (CoNLL); the generated translations are written to the store as the machine
translations of those examples (the shipped model is not run: translation is not timed here).
Then every stage runs in its own process on that store: ``align``, ``project``, ``detect``,
``build parallel``, ``export``. Printed per stage and size: seconds per 1,000 records, and the
peak RSS of the largest process of the stage (the stage's process or one of its Beam workers).
At ``--workers-size`` every stage also runs with ``--workers 2``; the speedup is printed.

The last line is ``scale_ratio X``: the largest, over stages, of seconds per record at the
largest size over seconds per record at the size below it.

    nice -n 10 .venv/bin/python benchmarks/scale.py --sizes 10000 100000 1000000 \\
        --workers-size 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("align", "project", "detect", "build-parallel", "export")


def prepare(store_path: Path, n: int) -> None:
    """Examples ingested from CoNLL, and their generated translations as machine output."""
    from beam_jobs.ingest import InputSpec, run_ingest
    from curate.ingest import IngestConfig
    from curate.records import content_id, load_schema
    from curate.store import StageCounts, Store
    from curate.synth import generate, write_conll

    pairs = generate(n, seed=11)
    conll = store_path.parent / "examples.conll"
    write_conll(pairs, conll)
    store = Store(store_path)
    run_ingest(store, [InputSpec(str(conll), "conll")], IngestConfig("synth", "ingest", lang="en"))
    target = {p.src: p.tgt for p in pairs}
    examples = store.sql("SELECT id, text FROM examples").to_pylist()
    rows = [
        {
            "id": content_id(ex["id"], "qsy", "generated"),
            "src_lang": "en",
            "tgt_lang": "qsy",
            "source_kind": "examples",
            "source_text": ex["text"],
            "text": target[ex["text"]],
            "origin": "mt",
            "score": -0.1,
            "truncated": False,
            "from_memory": False,
            "dataset": "synth",
            "source_id": ex["id"],
            "run_id": "tr",
            "stage": "translate",
            "model_id": "generated",
        }
        for ex in examples
    ]
    with store.open_run("translate", "tr") as run:
        run.write("translations", load_schema("translations").table(rows))
        run.count("translate", StageCounts(records_in=len(rows), records_out=len(rows)))


def run_stage(stage: str, store_path: str, workers: int) -> None:
    """Child process: run one stage on the store."""
    from curate.store import Store

    store = Store(store_path)
    run_id = f"{stage}-w{workers}"
    if stage == "align":
        from beam_jobs.project import ProjectJob, run_align

        run_align(store, ProjectJob(run_id), workers=workers)
    elif stage == "project":
        from beam_jobs.project import ProjectJob, run_project

        run_project(store, ProjectJob(run_id), workers=workers)
    elif stage == "detect":
        from beam_jobs.detect import DetectJob, run_detect

        run_detect(store, DetectJob(run_id), workers=workers)
    elif stage == "build-parallel":
        from beam_jobs.build import BuildJob, run_build

        run_build(store, BuildJob(run_id, "parallel"), workers=workers)
    elif stage == "export":  # one process whatever the workers
        from curate.cli import main

        to = str(Path(store_path).parent / f"export-w{workers}")
        sys.argv = ["curate", "export", "--store", store_path, "--to", to]
        main()


def timed(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of the largest process of a child and its descendants."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{args} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers-size", type=int, default=100_000)
    parser.add_argument("--stages", nargs="+", default=list(STAGES))
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "STORE", "WORKERS"))
    parser.add_argument("--prepare", nargs=2, metavar=("STORE", "N"))
    args = parser.parse_args()
    if args.child:
        run_stage(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]))
        return
    per_record: dict[tuple[str, int], float] = {}
    results = []
    with tempfile.TemporaryDirectory(prefix="curate-scale-") as tmp:
        for n in args.sizes:
            store = Path(tmp) / f"n{n}" / "store"
            store.parent.mkdir(parents=True)
            seconds, rss = timed(["--prepare", str(store), str(n)])
            print(f"{n:>9,} prepare        {seconds:8.1f} s  peak RSS {rss:7.0f} MiB", flush=True)
            for stage in args.stages:
                seconds, rss = timed(["--child", stage, str(store), "1"])
                per_record[(stage, n)] = seconds / n
                line = {"stage": stage, "n": n, "workers": 1, "seconds": seconds, "rss_mb": rss}
                text = f"{n:>9,} {stage:14s} {1000 * seconds / n:8.3f} s/1k"
                text += f"  peak RSS {rss:7.0f} MiB"
                if n == args.workers_size:
                    two, rss2 = timed(["--child", stage, str(store), "2"])
                    line.update(seconds_w2=two, rss_mb_w2=rss2, speedup=seconds / two)
                    text += f"  workers 2: {1000 * two / n:.3f} s/1k, speedup {seconds / two:.2f}"
                results.append(line)
                print(text, flush=True)
    print(json.dumps(results))
    sizes = sorted(args.sizes)
    ratio = max(
        per_record[(stage, sizes[-1])] / per_record[(stage, sizes[-2])] for stage in args.stages
    )
    print(f"scale_ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
