"""Cost per record of every stage, from small to large, for one language pair.

For each size the grammar generator (``curate.synth``) makes that many English sentences with
entity spans and their Synthetic (``qsy``) translations. Two stores are prepared per size:

- the *examples* store: the English side ingested as labelled examples (CoNLL), and the
  generated translations written to the store as the machine translations of those examples
  (at every size, so that every size runs the stages on the same kind of data: the shipped
  model is not run for them). ``align``, ``project``, ``detect``, ``build parallel`` and
  ``export`` run on it; ``translate`` (the shipped en-qsy model over the examples) runs last,
  at the sizes of ``--translate-sizes`` only (default 10k and 100k; ``--translate-sizes`` with
  no value skips it);
- the *documents* store: the same sentences ingested as documents of 10 paragraphs of one
  sentence, their generated translations written as the translations of the segments;
  ``build interleaved`` (documents paired with their translations by origin) runs on it.

Every stage runs in its own process. The sentence-vector detectors (``semantic_misalignment``,
``semantic_omission``) run up to ``--sentence-vectors-max`` records (default 100k) and are
skipped above it (said in the output); every other detector runs at every size.

Printed per stage and size: seconds per 1,000 records (wall clock), CPU seconds per 1,000
records (user + system of the stage's process and the worker processes it waited for), and
the peak RSS of the largest of those processes, and apart: of the stage's own process (the
pipeline's driver; with one worker the runner works in it too) and of the largest process it
waited for (worker processes, eflomal). At ``--workers-size`` every stage also runs
with ``--workers 2``; the speedup (wall clock, one worker over two) is printed. ``export`` is
one process whatever the workers.

The last line is ``scale_ratio X``: the largest, over stages, of seconds per record at the
largest size over seconds per record at the size below it (``translate`` is only in it when it
ran at both sizes).

    nice -n 10 .venv/bin/python benchmarks/scale.py --sizes 10000 100000 1000000 \\
        --workers-size 100000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = (
    "align",
    "project",
    "detect",
    "build-parallel",
    "build-interleaved",
    "export",
    "translate",
)
SENTENCE_VECTOR_DETECTORS = ["semantic_misalignment", "semantic_omission"]
BATCH = 100_000  # rows generated, written and read at a time while preparing
SENTENCES_PER_DOCUMENT = 10
SHIPPED_MODEL = "en-qsy"


def _write_inputs(folder: Path, n: int) -> None:
    """The CoNLL examples, the documents (JSONL) and ``target.tsv`` (source -> generated
    translation), written in batches so that 1M sentences never sit in memory as objects."""
    from curate.synth import generate, write_conll

    pairs = generate(n, seed=11)
    write_conll(pairs, folder / "examples.conll")
    with open(folder / "target.tsv", "w", encoding="utf-8") as out:
        for p in pairs:
            out.write(f"{p.src}\t{p.tgt}\n")
    with open(folder / "documents.jsonl", "w", encoding="utf-8") as out:
        for start in range(0, n, SENTENCES_PER_DOCUMENT):
            text = "\n\n".join(p.src for p in pairs[start : start + SENTENCES_PER_DOCUMENT])
            out.write(json.dumps({"id": f"doc{start}", "text": text}) + "\n")


def _targets(folder: Path) -> dict[str, str]:
    out = {}
    with open(folder / "target.tsv", encoding="utf-8") as f:
        for line in f:
            src, tgt = line.rstrip("\n").split("\t")
            out[src] = tgt
    return out


def _write_translations(store, stage: str, target: dict[str, str]) -> int:
    """The generated translations of ``stage``'s rows, written as machine translations."""
    from curate.records import content_id, load_schema
    from curate.store import StageCounts
    from curate.store.shards import read_shard, store_shards

    schema = load_schema("translations")
    total = missing = 0
    with store.open_run("translate", "tr") as run:
        writer = run.writer("translations")
        for shard in store_shards(store, stage, BATCH):
            table = read_shard(shard, ["id", "text"])
            rows = []
            for sid, text in zip(
                table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True
            ):
                tgt = target.get(text)
                missing += tgt is None
                rows.append(
                    {
                        "id": content_id(sid, "qsy", "generated"),
                        "src_lang": "en",
                        "tgt_lang": "qsy",
                        "source_kind": stage,
                        "source_text": text,
                        "text": tgt if tgt is not None else text,
                        "origin": "mt",
                        "score": -0.1,
                        "truncated": False,
                        "from_memory": False,
                        "dataset": "synth",
                        "source_id": sid,
                        "run_id": "tr",
                        "stage": "translate",
                        "model_id": "generated",
                    }
                )
            writer.write(schema.table(rows))
            total += len(rows)
        run.add_files(writer.close())
        run.count("translate", StageCounts(records_in=total, records_out=total))
    if missing:
        print(f"  {stage}: {missing} of {total} rows got their own text as translation")
    return total


def prepare(folder: Path, n: int) -> None:
    """Both stores of one size (see the module's docstring)."""
    from beam_jobs.ingest import InputSpec, run_ingest
    from curate.ingest import IngestConfig
    from curate.store import Store

    _write_inputs(folder, n)
    target = _targets(folder)
    examples = Store(folder / "store")
    run_ingest(
        examples,
        [InputSpec(str(folder / "examples.conll"), "conll")],
        IngestConfig("synth", "ingest", lang="en", identify_language=False),
    )
    _write_translations(examples, "examples", target)
    documents = Store(folder / "documents")
    run_ingest(
        documents,
        [InputSpec(str(folder / "documents.jsonl"), "jsonl")],
        IngestConfig("synth", "ingest", kind="documents", lang="en", identify_language=False),
    )
    _write_translations(documents, "segments", target)
    for name in ("examples.conll", "documents.jsonl", "target.tsv"):
        (folder / name).unlink()


def run_stage(stage: str, folder: str, workers: int, vectors: bool) -> None:
    """Child process: run one stage on the size's stores."""
    from curate.store import Store

    store_path = str(Path(folder) / "store")
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

        config = {} if vectors else {"skip": SENTENCE_VECTOR_DETECTORS}
        run_detect(store, DetectJob(run_id, config), workers=workers)
    elif stage == "build-parallel":
        from beam_jobs.build import BuildJob, run_build

        run_build(store, BuildJob(run_id, "parallel"), workers=workers)
    elif stage == "build-interleaved":
        from beam_jobs.build import BuildJob, run_build

        documents = Store(Path(folder) / "documents")
        run_build(documents, BuildJob(run_id, "interleaved"), workers=workers)
    elif stage == "export":  # one process whatever the workers
        from curate.cli import main

        to = str(Path(folder) / f"export-w{workers}")
        sys.argv = ["curate", "export", "--store", store_path, "--to", to]
        sys.argv += ["--run-id", "build-parallel-w1"]  # the same samples at every size
        main()
        shutil.rmtree(to)
    elif stage == "translate":  # the shipped model over the examples, into a second language
        from beam_jobs.translate import TranslateJob, run_translate

        job = TranslateJob(
            run_id, ("qsy",), model=SHIPPED_MODEL, source_stage="examples", use_memory=False
        )
        run_translate(store, job, workers=workers)


#: a child writes its own peak RSS and its children's there (see :func:`report_rss`)
RSS_FILE = "CURATE_SCALE_RSS_FILE"


def report_rss() -> None:
    """Child process: peak RSS (MiB) of this process (the pipeline's driver; with one worker
    the runner also works in it) and of the largest process it waited for (worker processes,
    eflomal)."""
    path = os.environ.get(RSS_FILE)
    if path:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        Path(path).write_text(json.dumps({"driver": own, "children": children}))


def timed(args: list[str]) -> tuple[float, float, float, dict[str, float]]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of the largest process of a
    child and the descendants it waited for; and ``{"driver": MiB, "children": MiB}``: the
    child's own peak and that of the largest process it waited for."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory(prefix="curate-rss-") as tmp:
        env[RSS_FILE] = str(Path(tmp) / "rss.json")
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{args} failed with exit code {proc.returncode}")
        rss_file = Path(env[RSS_FILE])
        split = json.loads(rss_file.read_text()) if rss_file.exists() else {}
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, split


def records(stage: str, n: int) -> int:
    """Records a stage handles at size ``n`` (every stage: one per generated pair)."""
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers-size", type=int, default=100_000)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument(
        "--translate-sizes",
        type=int,
        nargs="*",
        default=[10_000, 100_000],
        help="sizes at which the shipped model translates (no value: never)",
    )
    parser.add_argument(
        "--sentence-vectors-max",
        type=int,
        default=100_000,
        help="largest size at which the sentence-vector detectors run",
    )
    parser.add_argument("--workdir", help="folder for the stores (default: a temporary one)")
    parser.add_argument(
        "--keep", action="store_true", help="keep each size's stores (in --workdir)"
    )
    parser.add_argument("--child", nargs=4, metavar=("STAGE", "FOLDER", "WORKERS", "VECTORS"))
    parser.add_argument("--prepare", nargs=2, metavar=("FOLDER", "N"))
    args = parser.parse_args()
    if args.child:
        stage, folder, workers, vectors = args.child
        run_stage(stage, folder, int(workers), vectors == "1")
        report_rss()
        return
    if args.prepare:
        prepare(Path(args.prepare[0]), int(args.prepare[1]))
        return
    print(
        "translations of every stage but translate: generated pairs written as machine "
        "translations (the model is not run for them)",
        flush=True,
    )
    per_record: dict[tuple[str, int], float] = {}
    results = []
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.keep and args.workdir:
        holder = contextlib.nullcontext(args.workdir)
    else:
        holder = tempfile.TemporaryDirectory(prefix="curate-scale-", dir=args.workdir)
    with holder as tmp:
        for n in sorted(args.sizes):
            folder = Path(tmp) / f"n{n}"
            folder.mkdir(parents=True)
            seconds, cpu, rss, _ = timed(["--prepare", str(folder), str(n)])
            print(
                f"{n:>9,} prepare           {seconds:8.1f} s  cpu {cpu:8.1f} s"
                f"  peak RSS {rss:7.0f} MiB",
                flush=True,
            )
            vectors = n <= args.sentence_vectors_max
            for stage in args.stages:
                if stage == "translate" and n not in args.translate_sizes:
                    print(f"{n:>9,} translate         not run at this size", flush=True)
                    continue
                m = records(stage, n)
                child = ["--child", stage, str(folder), "1", "1" if vectors else "0"]
                seconds, cpu, rss, split = timed(child)
                per_record[(stage, n)] = seconds / m
                line = {
                    "stage": stage,
                    "n": n,
                    "workers": 1,
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "rss_mb": rss,
                    "driver_rss_mb": split.get("driver"),
                    "children_rss_mb": split.get("children"),
                }
                text = f"{n:>9,} {stage:17s} {1000 * seconds / m:8.3f} s/1k"
                text += f"  cpu {1000 * cpu / m:8.3f} s/1k  peak RSS {rss:7.0f} MiB"
                text += f" (driver {split.get('driver', 0):.0f}"
                text += f", largest child {split.get('children', 0):.0f})"
                if stage == "detect":
                    line["sentence_vectors"] = vectors
                    text += "" if vectors else "  (sentence-vector detectors skipped)"
                if n == args.workers_size and stage != "export":
                    child[3] = "2"
                    two, cpu2, rss2, split2 = timed(child)
                    line.update(
                        seconds_w2=two, cpu_seconds_w2=cpu2, rss_mb_w2=rss2, speedup=seconds / two
                    )
                    line.update(
                        driver_rss_mb_w2=split2.get("driver"),
                        children_rss_mb_w2=split2.get("children"),
                    )
                    text += f"  workers 2: {1000 * two / m:.3f} s/1k"
                    text += f" (cpu {1000 * cpu2 / m:.3f}), speedup {seconds / two:.2f}"
                    text += f", peak RSS driver {split2.get('driver', 0):.0f}"
                    text += f" largest child {split2.get('children', 0):.0f} MiB"
                results.append(line)
                print(text, flush=True)
            if not args.keep:
                shutil.rmtree(folder)
    print(json.dumps(results))
    sizes = sorted(args.sizes)
    if len(sizes) < 2:
        return
    ratios = [
        per_record[(stage, sizes[-1])] / per_record[(stage, sizes[-2])]
        for stage in args.stages
        if (stage, sizes[-1]) in per_record and (stage, sizes[-2]) in per_record
    ]
    print(f"scale_ratio {max(ratios):.3f}")


if __name__ == "__main__":
    main()
