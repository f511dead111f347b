"""Word-alignment error rate of the default aligner on the Romanian-English gold set.

248 ro-en sentence pairs (Mihalcea & Pedersen 2003, as shipped with awesome-align) with
human sure links in 1-based Pharaoh format, Romanian on the left. The pairs are aligned by
curate's eflomal aligner, with NTREX-128 ro-en news text (1,997 pairs, tokenised by curate)
aligned along as extra training text, and scored with AER/precision/recall/F1. Every
symmetrisation is reported from the same eflomal runs, the configured one last.

Usage: python benchmarks/align_roen.py [--data ../shared/data] [--prefixes 4,4,5]
       [--symmetrize grow-diag-final-and] [--cognate-prior 0] [--no-extra]
The last line is ``aer <value>``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from curate.align.anchors import add_anchor_links
from curate.align.eflomal import EflomalConfig, run_eflomal
from curate.align.symmetrize import SYMMETRIZERS, symmetrize
from curate.align.tokenize import tokenize
from curate.evaluate.alignment import read_pharaoh, score_alignments

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--prefixes", default="4,4,5", help="eflomal runs (prefix lengths)")
    parser.add_argument("--symmetrize", default="grow-diag-final-and", choices=SYMMETRIZERS)
    parser.add_argument("--cognate-prior", type=float, default=0.0)
    parser.add_argument("--anchors", action="store_true", help="add anchor links afterwards")
    parser.add_argument("--no-extra", action="store_true", help="align the 248 pairs alone")
    args = parser.parse_args()

    root = args.data / "wordalign_roen"
    pairs = []
    with open(root / "roen.src-tgt", encoding="utf-8") as f:
        for line in f:
            ro, en = line.split("|||")
            pairs.append((ro.split(), en.split()))
    gold = read_pharaoh(root / "roen.gold", one_based=True)
    extra = []
    if not args.no_extra:
        ntrex = args.data / "ntrex128"
        with (
            open(ntrex / "newstest2019-ref.ron.txt", encoding="utf-8") as fr,
            open(ntrex / "newstest2019-src.eng.txt", encoding="utf-8") as fe,
        ):
            extra = [
                (tokenize(r.strip(), "ro").tokens, tokenize(e.strip(), "en").tokens)
                for r, e in zip(fr, fe, strict=True)
            ]
    config = EflomalConfig(
        symmetrize=args.symmetrize,
        prefix_lengths=tuple(int(p) for p in args.prefixes.split(",")),
        cognate_prior=args.cognate_prior,
        extra=extra,
    )
    print(f"{len(pairs)} gold pairs, {len(extra)} extra pairs; {config}")
    start = time.perf_counter()
    fwd, rev = run_eflomal(pairs, config)
    print(f"eflomal: {time.perf_counter() - start:.1f} s")
    methods = [m for m in SYMMETRIZERS if m != args.symmetrize] + [args.symmetrize]
    for method in methods:
        links = [symmetrize(f, r, method) for f, r in zip(fwd, rev, strict=True)]
        if args.anchors:
            links = [add_anchor_links(s, t, lk) for (s, t), lk in zip(pairs, links, strict=True)]
        s = score_alignments(links, gold)
        print(f"{method:22s} AER {s.aer:.4f}  P {s.precision:.4f}  R {s.recall:.4f}  F1 {s.f1:.4f}")
    print(f"aer {s.aer:.4f}")


if __name__ == "__main__":
    main()
