"""Ingest with the store on a real S3 server (SeaweedFS): the local in-process runner against
Beam's DaskRunner on a local cluster of one and of two worker processes.

A generated JSONL corpus (5% malformed lines, as in ``benchmarks/ingest.py``) is ingested into
a fresh prefix of a ``weed mini`` server on 127.0.0.1 three times: on the local runner in this
process (the input read whole), and on Dask with one and with two workers (the input read in
``--parts`` byte ranges spread over as many Dask partitions). Prints per configuration the
seconds, the overhead of Dask with one worker over in-process, and the bytes per second
written to the store (committed Parquet) and read back (a full scan of the committed stages);
every run must commit the same row counts. The last line is ``dask_speedup X`` (two workers
over one). (Not named ``distributed.py``: run as a script, that file would shadow the
``distributed`` package.) Only ingest is measured: the later stages do not run on an object
store yet (translate needs a local store).

    .venv/bin/python benchmarks/dask_s3.py [--records 100000] [--parts 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from beam_jobs.dask import dask_beam_args, local_cluster
from beam_jobs.ingest import InputSpec, run_ingest
from benchmarks.ingest import generate
from curate.ingest import IngestConfig
from curate.store import Store
from tests.seaweed import SeaweedS3

STAGES = ("documents", "segments", "quarantine")


def committed_bytes(store: Store) -> int:
    paths = [str(p) for stage in STAGES for p in store.stage_files(stage)]
    return sum(info.size for info in store.fs.get_file_info(paths))


def read_back(store: Store) -> float:
    """Seconds to read every committed row of the ingest stages."""
    started = time.perf_counter()
    for stage in STAGES:
        store.sql(f'SELECT * FROM "{stage}"')
    return time.perf_counter() - started


def measure(name: str, store: Store, corpus: Path, parts: int, beam_args: list[str]) -> dict:
    """Ingest ``corpus`` into ``store`` (``parts`` > 1: read in byte ranges); what it took."""
    started = time.perf_counter()
    manifest = run_ingest(
        store,
        [InputSpec(str(corpus), "jsonl")],
        IngestConfig("bench", "ingest-bench", lang="en"),
        beam_args=beam_args,
        workers=parts,
    )
    seconds = time.perf_counter() - started
    written = committed_bytes(store)
    read_s = read_back(store)
    result = {
        "name": name,
        "seconds": seconds,
        "rows": manifest["rows"],
        "write_Bps": written / seconds,
        "read_Bps": written / read_s,
        "bytes": written,
    }
    print(
        f"{name:<16} {seconds:7.1f} s  rows {manifest['rows']}  "
        f"written {written / 1e6:.1f} MB at {result['write_Bps'] / 1e6:.2f} MB/s  "
        f"read back at {result['read_Bps'] / 1e6:.2f} MB/s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=8, help="byte ranges the input is read in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curate-dist-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        generate(corpus, args.records)
        print(f"load before: {os.getloadavg()}", flush=True)
        with SeaweedS3(work / "s3") as server:
            uri = f"s3://{server.bucket}"
            results = [measure("in-process", Store(f"{uri}/local"), corpus, 1, [])]
            for workers in (1, 2):
                with local_cluster(workers, str(work)) as address:
                    results.append(
                        measure(
                            f"dask {workers} worker(s)",
                            Store(f"{uri}/dask{workers}"),
                            corpus,
                            args.parts,
                            dask_beam_args(address, args.parts),
                        )
                    )
        print(f"load after: {os.getloadavg()}", flush=True)
    if len({str(r["rows"]) for r in results}) != 1:
        raise SystemExit("the runs committed different rows")
    local, one, two = results
    print(f"dask_1_over_in_process {one['seconds'] / local['seconds']:.2f}")
    print(f"dask_speedup {one['seconds'] / two['seconds']:.2f}")


if __name__ == "__main__":
    main()
