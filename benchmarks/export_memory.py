"""Peak memory of `curate export` as the exported stage grows.

Writes N generated ``training_samples`` rows (two configs, three splits, about 600 bytes of
text each) into a store in files of 20,000 rows, then runs ``curate export`` on it in a child
process and reports the child's peak RSS and wall time per size. An export that streams the
stage keeps its peak flat as N grows; one that reads the stage whole grows with it.

    PYTHONPATH=$PWD python benchmarks/export_memory.py --sizes 50000 200000 600000

The last line is ``export_peak_rss_ratio X``: peak RSS at the largest size over the smallest.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curate.records import load_schema
from curate.store import Store

WORDS = "the river bridge old town market north south water stone light road".split()


def make_store(path: Path, n: int) -> Store:
    store = Store(path)
    schema = load_schema("training_samples")
    with store.open_run("build-parallel", "build-1") as run:
        for start in range(0, n, 20_000):
            rows = []
            for i in range(start, min(n, start + 20_000)):
                text = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(100))
                rows.append(
                    {
                        "id": f"s{i:09d}",
                        "config": ("parallel", "interleaved")[i % 2],
                        "split": ("train", "train", "train", "validation", "test")[i % 5],
                        "kind": "parallel",
                        "langs": ["en", "de"],
                        "text": f"{i} {text}",
                        "n_tokens": 101,
                        "tokenizer": "whitespace",
                        "sources": [],
                        "dataset": "generated",
                        "source_id": f"t{i}",
                        "run_id": "build-1",
                        "stage": "build.parallel",
                    }
                )
            run.write("training_samples", schema.table(rows))
    return store


def export_peak(store: Path, to: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `curate export` child process."""
    command = [sys.executable, "-c", "from curate.cli import main; main()"]
    command += ["export", "--store", str(store), "--to", str(to)]
    start = time.perf_counter()
    # outside the checkout: `python -c` would put the working directory first on the path
    done = subprocess.run(command, capture_output=True, text=True, cwd=to.parent)
    if done.returncode:
        sys.exit(f"export failed: {done.stderr.strip()[-2000:]}")
    seconds = time.perf_counter() - start
    # the largest of the children waited for so far: run the sizes from small to large
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    args = parser.parse_args()
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            store = make_store(Path(tmp) / f"store-{n}", n)
            seconds, peak = export_peak(store.root, Path(tmp) / f"export-{n}")
            peaks.append(peak)
            print(f"rows {n} seconds {seconds:.1f} peak_rss_mb {peak:.0f}", flush=True)
    print(f"export_peak_rss_ratio {peaks[-1] / peaks[0]:.2f}")


if __name__ == "__main__":
    main()
