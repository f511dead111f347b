"""What aligning in chunks costs: eflomal AER on a synthetic en-qsy corpus, chunked vs whole.

eflomal learns from the corpus it aligns, so ``curate align`` and ``curate project`` split a
language pair into chunks of at most ``align.chunk_pairs`` sentence pairs and align each on its
own (the way they spread a pair over workers with bounded memory). This script generates
``--pairs`` sentence pairs with the grammar generator (``curate.synth``, seed ``--seed``), whose
gold links are known, aligns them once whole and once per chunk size in ``--chunks`` (consecutive
chunks, like the job's shards), and prints AER / precision / recall against the gold links.

    python benchmarks/align_chunks.py --pairs 200000 --seed 2 --chunks 100000

The last line is ``chunk_aer_delta X``: AER with the last chunk size minus AER unchunked.
"""

from __future__ import annotations

import argparse
import resource
import time

from curate.align.eflomal import EflomalAligner
from curate.align.pharaoh import GoldAlignment
from curate.evaluate.alignment import score_alignments
from curate.synth import generate


def align_chunked(pairs: list, chunk: int) -> list:
    links = []
    for start in range(0, len(pairs), chunk):
        links += EflomalAligner().align(pairs[start : start + chunk])
    return links


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    data = generate(args.pairs, args.seed)
    pairs = [(p.src.split(" "), p.tgt.split(" ")) for p in data]
    gold = [GoldAlignment(frozenset(p.alignment), frozenset(p.alignment)) for p in data]
    results = {}
    for chunk in [args.pairs, *args.chunks]:
        start = time.perf_counter()
        links = align_chunked(pairs, chunk)
        seconds = time.perf_counter() - start
        s = score_alignments(links, gold)
        results[chunk] = s.aer
        name = "unchunked" if chunk == args.pairs else f"chunks of {chunk}"
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(
            f"{name:18s} AER {s.aer:.4f}  P {s.precision:.4f}  R {s.recall:.4f}  "
            f"{seconds:.0f} s  peak RSS {rss} MiB",
            flush=True,
        )
    print(f"chunk_aer_delta {results[args.chunks[-1]] - results[args.pairs]:.4f}")


if __name__ == "__main__":
    main()
