"""Ingest throughput: a generated JSONL corpus (5% malformed lines) through `curate ingest`'s
Beam job into a store. Prints records/s, peak RSS, the conservation check and, last,
``records_per_s <value>``.

    .venv/bin/python benchmarks/ingest.py [--records 1000000] [--workers <cores>]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from beam_jobs.ingest import InputSpec, run_ingest
from curate.ingest import IngestConfig
from curate.store import Store

WORDS = (
    "the a council city budget new plan river market school road team north south report "
    "people week year said would could water light house music train bridge garden paper "
    "Der die und ist nicht ein eine Stadt Haus el la los de que por una ciudad casa le les "
    "est une pas dans pour avec"
).split()


def generate(path: Path, n: int, seed: int = 7) -> int:
    """Write ``n`` lines, 5% malformed; returns the number of malformed lines."""
    rng = random.Random(seed)
    bad = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            if rng.random() < 0.05:
                bad += 1
                fh.write(f'{{"id": "r{i}", "text": "broken \n')
                continue
            sentences = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))).capitalize() + "."
                for _ in range(rng.randint(1, 3))
            ]
            fh.write(json.dumps({"id": f"r{i}", "text": " ".join(sentences), "n": i}) + "\n")
    return bad


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (Beam's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="curate-bench-ingest-"))
    try:
        corpus = work / "corpus.jsonl"
        malformed = generate(corpus, args.records)
        size_mb = corpus.stat().st_size / 1e6
        print(f"corpus: {args.records} lines ({malformed} malformed), {size_mb:.0f} MB")
        store = Store(work / "store")
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        manifest = run_ingest(
            store,
            [InputSpec(str(corpus), "jsonl")],
            IngestConfig(dataset="bench", run_id="bench"),
            workers=args.workers,
        )
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
        counts = manifest["counts"]["ingest"]
        quarantined = sum(counts["quarantined"].values())
        filtered = sum(counts["filtered"].values())
        stored = store.sql("SELECT count(*) FROM documents").column(0)[0].as_py()
        stored_q = store.sql("SELECT count(*) FROM quarantine").column(0)[0].as_py()
        conserved = counts["in"] == args.records == counts["out"] + quarantined + filtered
        conserved = conserved and stored == counts["out"] and stored_q == quarantined == malformed
        rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        # worker processes run side by side: the driver plus every worker at the largest's peak
        rss_total = rss_self + (args.workers * rss_worker if args.workers > 1 else 0)
        print(f"seconds {seconds:.1f}  workers {args.workers}  load {os.getloadavg()[0]:.1f}")
        print(f"cpu {cpu:.1f} s ({cpu / args.records * 1e6:.0f} us per record, all processes)")
        print(f"in {counts['in']}  out {counts['out']}  quarantined {quarantined}")
        print(f"filtered {filtered}")
        print(f"segments {manifest['rows'].get('segments', 0)}")
        print(f"conservation {'exact' if conserved else 'BROKEN'}")
        print(f"driver {rss_self:.0f} MB, largest worker {rss_worker:.0f} MB")
        print(f"peak_rss_mb {rss_total:.0f}")
        print(f"records_per_s {args.records / seconds:.0f}")
        if not conserved:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
