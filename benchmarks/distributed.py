"""The scale-out stage set with the store on a real S3 server (SeaweedFS): the local in-process
runner against Beam's DaskRunner on a Dask cluster of one and of two worker processes.

The data are those of ``benchmarks/scale.py`` (``--size`` English sentences with entity spans
from the grammar generator, ingested as labelled examples and as documents, with their
generated Synthetic translations as machine output), made once in two local stores and copied
to fresh prefixes of a ``weed mini`` server on 127.0.0.1 for each configuration. Then the stages
of ``scale.py`` (``align``, ``project``, ``detect``, ``build parallel``, ``build interleaved``
on the documents, ``export``, ``translate`` of the examples with the shipped model, no memory)
run in this process, one after the other, on those prefixes: in-process, then on a Dask
cluster (``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own folder)
of one worker and of two (one thread each). ``export`` reads the store in the driver whatever
the runner (it runs no Beam job).

Printed per stage: the seconds of each configuration, Dask with one worker over in-process,
and the kilobytes per second the stage wrote to the store (its committed files over its seconds)
and read from it (those files read back whole, timed), and the load average (``os.getloadavg``)
before and after each configuration, so that a run says whether the machine was quiet. Every
configuration must commit the same number of rows per stage, but for the stages in
:data:`SAMPLED`, whose counts follow eflomal's sampling (a difference there is printed with its
reason). The last line is
``dask_speedup X``: the whole set's seconds with one worker over those with two.

    nice -n 10 .venv/bin/python benchmarks/distributed.py --size 100000 [--partitions 16]

(Run as a script, this file's folder would come first on ``sys.path`` and its name would hide
the ``distributed`` package: the folder is taken off the path first.)
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from beam_jobs.dask import dask_beam_args  # noqa: E402
from benchmarks.scale import SHIPPED_MODEL, STAGES, prepare  # noqa: E402
from curate.store import Store  # noqa: E402
from tests.dask_cluster import DaskCluster  # noqa: E402
from tests.seaweed import SeaweedS3  # noqa: E402


def run_stage(
    stage: str, stores: dict[str, Store], beam_args: list[str], work: Path, name: str
) -> str:
    """Run ``stage`` on its store (``examples``, or ``documents`` for an interleaved build);
    its run id."""
    run_id = f"{stage}-{name}"
    store = stores["examples"]
    if stage == "align":
        from beam_jobs.project import ProjectJob, run_align

        run_align(store, ProjectJob(run_id), beam_args)
    elif stage == "project":
        from beam_jobs.project import ProjectJob, run_project

        run_project(store, ProjectJob(run_id), beam_args)
    elif stage == "detect":
        from beam_jobs.detect import DetectJob, run_detect

        run_detect(store, DetectJob(run_id), beam_args)
    elif stage == "build-parallel":
        from beam_jobs.build import BuildJob, run_build

        run_build(store, BuildJob(run_id, "parallel"), beam_args)
    elif stage == "build-interleaved":
        from beam_jobs.build import BuildJob, run_build

        run_build(stores["documents"], BuildJob(run_id, "interleaved"), beam_args)
    elif stage == "translate":  # the shipped model over the examples, as in scale.py
        from beam_jobs.translate import TranslateJob, run_translate

        job = TranslateJob(
            run_id, ("qsy",), model=SHIPPED_MODEL, source_stage="examples", use_memory=False
        )
        run_translate(store, job, beam_args)
    elif stage == "export":
        from curate.cli import main

        argv = sys.argv
        sys.argv = ["curate", "--quiet", "export", "--store", store.uri, "--to"]
        sys.argv.append(str(work / f"export-{name}"))
        try:
            main()
        finally:
            sys.argv = argv
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return run_id


def committed(stores: dict[str, Store], run_id: str) -> tuple[int, list[str]]:
    """Rows and file paths a run committed (none for export, which writes outside the store)."""
    for store in stores.values():
        manifest = store.manifest(run_id)
        if manifest is not None:
            files = [store.path(f) for paths in dict(manifest["files"]).values() for f in paths]
            return sum(manifest["rows"].values()), files
    return 0, []


def read_back(store: Store, files: list[str]) -> float:
    started = time.perf_counter()
    for path in files:
        pq.read_table(path, filesystem=store.fs)
    return time.perf_counter() - started


def measure(
    name: str, stores: dict[str, Store], beam_args: list[str], work: Path
) -> dict[str, Any]:
    """Every stage on ``store``: seconds, rows, bytes written and read-back seconds, and the
    load average before and after the configuration (under ``"load"``)."""
    out: dict[str, Any] = {}
    before = os.getloadavg()
    print(f"{name:<8} load before    {load(before)}", flush=True)
    for stage in STAGES:
        started = time.perf_counter()
        run_id = run_stage(stage, stores, beam_args, work, name)
        seconds = time.perf_counter() - started
        rows, files = committed(stores, run_id)
        fs = stores["examples"].fs  # both stores are on the one S3 server
        size = sum(i.size for i in fs.get_file_info(files)) if files else 0
        read_s = read_back(stores["examples"], files) if files else 0.0
        out[stage] = {"seconds": seconds, "rows": rows, "bytes": size, "read_s": read_s}
        print(f"{name:<8} {stage:<15} {seconds:8.1f} s  {rows:>9,} rows", flush=True)
    after = os.getloadavg()
    print(f"{name:<8} load after     {load(after)}", flush=True)
    out["load"] = (before, after)
    return out


def load(average: tuple[float, float, float]) -> str:
    """A load average as ``1 min / 5 min / 15 min``."""
    return " / ".join(f"{x:.2f}" for x in average)


#: stages whose committed row count may differ between two runs of the same data, and why
SAMPLED = {
    "build-parallel": (
        "its filter drops pairs flagged projection_trouble, and the projections follow word "
        "alignments that eflomal samples afresh in every run (the eflomal binary takes no seed)"
    ),
}


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e3:8.1f}" if seconds and nbytes else "       -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="generated sentence pairs")
    parser.add_argument(
        "--partitions", type=int, default=16, help="Dask partitions of a job's first elements"
    )
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="curate-distributed-") as tmp:
        work = Path(tmp)
        prepared = work / "prepared"
        prepared.mkdir(parents=True)
        started = time.perf_counter()
        prepare(prepared, args.size)  # prepared / "store" (examples), prepared / "documents"
        print(f"prepared {args.size:,} pairs in {time.perf_counter() - started:.1f} s", flush=True)
        print(f"load before: {os.getloadavg()}", flush=True)
        with SeaweedS3(work / "s3") as server:

            def fresh(name: str) -> dict[str, Store]:
                stores = {}
                for kind, folder in (("examples", "store"), ("documents", "documents")):
                    target = f"{server.bucket}/{name}/{kind}"
                    pafs.copy_files(
                        str(prepared / folder),
                        target,
                        source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=server.filesystem(),
                    )
                    stores[kind] = Store(f"s3://{target}")
                return stores

            results["local"] = measure("local", fresh("local"), [], work)
            for workers in (1, 2):
                name = f"dask{workers}"
                with DaskCluster(work / name, workers=workers) as cluster:
                    beam_args = dask_beam_args(cluster.address, args.partitions)
                    results[name] = measure(name, fresh(name), beam_args, work)
        print(f"load after: {os.getloadavg()}", flush=True)
    for stage in STAGES:
        counts = {name: r[stage]["rows"] for name, r in results.items()}
        if len(set(counts.values())) == 1:
            continue
        if stage not in SAMPLED:
            raise SystemExit(f"{stage}: the configurations committed different row counts")
        print(f"{stage}: rows differ between configurations {counts}: {SAMPLED[stage]}")
    print(
        f"{'stage':<15} {'local s':>8} {'dask1 s':>8} {'dask2 s':>8} {'d1/local':>8} "
        f"{'speedup':>8}  kB/s written (local dask1 dask2)  kB/s read back"
    )
    total = {name: 0.0 for name in results}
    for stage in STAGES:
        s = {name: r[stage]["seconds"] for name, r in results.items()}
        for name in total:
            total[name] += s[name]
        written = " ".join(rate(r[stage]["bytes"], r[stage]["seconds"]) for r in results.values())
        read = " ".join(rate(r[stage]["bytes"], r[stage]["read_s"]) for r in results.values())
        print(
            f"{stage:<15} {s['local']:8.1f} {s['dask1']:8.1f} {s['dask2']:8.1f} "
            f"{s['dask1'] / s['local']:8.2f} {s['dask1'] / s['dask2']:8.2f}  {written}  {read}"
        )
    print(
        f"{'whole set':<15} {total['local']:8.1f} {total['dask1']:8.1f} {total['dask2']:8.1f} "
        f"{total['dask1'] / total['local']:8.2f} {total['dask1'] / total['dask2']:8.2f}"
    )
    print(f"load average (1 / 5 / 15 min) on {os.cpu_count()} cores, before -> after:")
    for name, r in results.items():
        print(f"  {name:<8} {load(r['load'][0])} -> {load(r['load'][1])}")
    print(f"dask_1_over_in_process {total['dask1'] / total['local']:.2f}")
    print(f"dask_speedup {total['dask1'] / total['dask2']:.2f}")


if __name__ == "__main__":
    main()
