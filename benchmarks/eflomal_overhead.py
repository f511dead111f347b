"""The fixed cost of the default aligner: eflomal on a small job (50 NTREX en-de pairs).

A small job is dominated by eflomal's set-up and its three runs (prefix lengths 4, 4, 5), each
a process of eflomal's binary; curate writes the input files once per distinct prefix length and
starts the runs together. The script times ``run_eflomal`` on the first ``--pairs`` NTREX pairs
(tokenised by curate), ``--repeat`` times, and prints the median.

Usage: python benchmarks/eflomal_overhead.py [--data ../shared/data] [--pairs 50] [--repeat 5]
The last line is ``eflomal_small_job_s <median seconds>``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ntrex_pairs import ntrex_en_de_tokens

from curate.align.eflomal import EflomalConfig, run_eflomal

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pairs = ntrex_en_de_tokens(args.data, args.pairs)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        run_eflomal(pairs, EflomalConfig())
        times.append(time.perf_counter() - start)
    print(f"{len(pairs)} pairs, runs: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"eflomal_small_job_s {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
