"""Word-alignment error rate of the default aligner on the Romanian-English gold set.

248 ro-en sentence pairs (Mihalcea & Pedersen 2003, as shipped with awesome-align) with
human sure links in 1-based Pharaoh format, Romanian on the left. The pairs are aligned by
curate's eflomal aligner, with NTREX-128 ro-en news text (1,997 pairs, tokenised by curate)
aligned along as extra training text, and scored with AER/precision/recall/F1.

The library's defaults (``EflomalConfig``: three runs on 4-, 4- and 5-character prefixes,
majority vote, grow-diag-final-and) were chosen by looking at these 248 pairs' gold, so the
AER of the defaults here is not held out. The held-out figure comes from two-fold
cross-validation: the pairs are split in two halves at random (``--splits`` seeded splits);
on each half the setting (prefix lengths of the runs and symmetrisation, a grid that contains
the defaults) with the lowest AER is chosen and the other half is aligned with it; the AER of
all 248 pairs, each aligned with a setting chosen without it, is the held-out AER of a split.
Gold is used only to choose: eflomal itself learns without labels, so every setting's links
come from one set of eflomal runs over all pairs.

eflomal seeds its sampler from ``/dev/urandom`` and the pinned eflomal 2.0.0 takes no seed
(neither its Python API nor its binary's options), so two runs differ. ``--repeats N`` runs the
whole measurement N times and prints each figure's mean and spread (max - min).

Usage: python benchmarks/align_roen.py [--data /work/shared/data] [--splits 10] [--no-extra]
       [--repeats 1]
The last line is ``aer <held-out AER, median over the splits; mean over the repeats>``.

``--through-jobs`` aligns the pairs the way ``curate align`` does instead: the 248 pairs are
ingested as a ro-en bitext into a temporary store, NTREX ro-en is the job's extra bitext, and
the align job (sharded reads, chunks of ``align.chunk_pairs``, the languages' treatments,
tokenisation by curate) writes the links; those are mapped back to the gold tokens by
character offsets and scored. Only the defaults are scored this way (the grid of the held-out
figure needs the separate runs of the library path); the library path's defaults figure is
printed beside it. The last line is then ``aer_jobs <AER of the defaults through the jobs>``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from ntrex_pairs import ntrex_tokens
from repeats import repeated

from curate.align.eflomal import EflomalConfig, run_eflomal, vote
from curate.align.pharaoh import GoldAlignment, read_pharaoh
from curate.align.registry import Link
from curate.align.symmetrize import SYMMETRIZERS, symmetrize
from curate.evaluate.alignment import score_alignments

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: eflomal runs (name: prefix length); two runs of the same length differ by their sampling
RUNS = {"0": 0, "3": 3, "4a": 4, "4b": 4, "5a": 5, "5b": 5, "6": 6}
#: settings of the grid: the runs whose links are voted on
PREFIXES = {
    "0": ("0",),
    "3": ("3",),
    "4": ("4a",),
    "5": ("5a",),
    "6": ("6",),
    "3,4,5": ("3", "4a", "5a"),
    "4,4,5": ("4a", "4b", "5a"),
    "4,5,5": ("4a", "5a", "5b"),
    "4,5,6": ("4a", "5a", "6"),
}


def read_pairs(data: Path) -> tuple[list[tuple[list[str], list[str]]], list[GoldAlignment]]:
    root = data / "wordalign_roen"
    pairs = []
    with open(root / "roen.src-tgt", encoding="utf-8") as f:
        for line in f:
            ro, en = line.split("|||")
            pairs.append((ro.split(), en.split()))
    return pairs, read_pharaoh(root / "roen.gold", one_based=True)


def ntrex_roen(data: Path) -> list[tuple[list[str], list[str]]]:
    """NTREX ro-en pairs, Romanian first as in the gold file."""
    return [(ro, en) for en, ro in ntrex_tokens(data, "ro")]


def run_eflomal_defaults(
    pairs: list[tuple[list[str], list[str]]], extra: list[tuple[list[str], list[str]]]
) -> list[set[Link]]:
    """The library path with the defaults: eflomal runs voted, symmetrised."""
    config = EflomalConfig(extra=extra)
    fwd, rev = run_eflomal(pairs, config)
    return [symmetrize(f, r, config.symmetrize) for f, r in zip(fwd, rev, strict=True)]


def jobs_links(data: Path, extra: bool, chunk_pairs: int | None) -> list[set[Link]]:
    """The gold pairs' links from ``curate align``'s job on a temporary store."""
    from through_jobs import gold_links, to_gold_tokens, token_starts

    from beam_jobs.ingest import InputSpec, run_ingest
    from beam_jobs.project import ProjectJob, run_align
    from curate.ingest import IngestConfig
    from curate.store import Store

    root = data / "wordalign_roen"
    with tempfile.TemporaryDirectory(prefix="curate-roen-") as tmp:
        store = Store(Path(tmp) / "store")
        config = IngestConfig("roen", "ingest", lang="ro", target_lang="en")
        run_ingest(store, [InputSpec(str(root / "roen.src-tgt"), "bitext")], config)
        extra_files: tuple[str, ...] = ()
        if extra:
            path = Path(tmp) / "ntrex.ro-en"
            ntrex = data / "ntrex128"
            with (
                open(ntrex / "newstest2019-ref.ron.txt", encoding="utf-8") as fr,
                open(ntrex / "newstest2019-src.eng.txt", encoding="utf-8") as fe,
                open(path, "w", encoding="utf-8") as out,
            ):
                for r, e in zip(fr, fe, strict=True):
                    out.write(f"{r.strip()} ||| {e.strip()}\n")
            extra_files = (str(path),)
        job = ProjectJob("align", extra_bitext=extra_files)
        if chunk_pairs:
            job = ProjectJob("align", extra_bitext=extra_files, chunk_pairs=chunk_pairs)
        run_align(store, job)
        rows = store.sql(
            "SELECT t.source_line, t.source_text, t.text, a.links, a.src_token_offsets, "
            "a.tgt_token_offsets FROM alignments a JOIN translations t ON t.id = a.translation_id "
            "ORDER BY t.source_line"
        ).to_pylist()
    pairs, _ = read_pairs(data)
    if len(rows) != len(pairs):
        raise SystemExit(f"the job aligned {len(rows)} of {len(pairs)} pairs")
    out = []
    for (ro, en), row in zip(pairs, rows, strict=True):
        src_map = to_gold_tokens(token_starts(row["source_text"], ro), row["src_token_offsets"])
        tgt_map = to_gold_tokens(token_starts(row["text"], en), row["tgt_token_offsets"])
        out.append(gold_links(row["links"], src_map, tgt_map))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--splits", type=int, default=10, help="random two-fold splits")
    parser.add_argument("--no-extra", action="store_true", help="align the 248 pairs alone")
    parser.add_argument(
        "--through-jobs", action="store_true", help="align through `curate align`'s job too"
    )
    parser.add_argument("--chunk-pairs", type=int, help="the job's chunk size (default: its own)")
    parser.add_argument("--repeats", type=int, default=1, help="whole runs (eflomal samples)")
    args = parser.parse_args()

    pairs, gold = read_pairs(args.data)
    if args.through_jobs:
        start = time.perf_counter()
        s = score_alignments(jobs_links(args.data, not args.no_extra, args.chunk_pairs), gold)
        print(
            f"through the jobs ({time.perf_counter() - start:.1f} s): AER {s.aer:.4f} "
            f"P {s.precision:.4f} R {s.recall:.4f} F1 {s.f1:.4f}"
        )
        library = score_alignments(
            run_eflomal_defaults(pairs, [] if args.no_extra else ntrex_roen(args.data)), gold
        )
        print(f"library path, defaults: AER {library.aer:.4f}")
        print(f"aer_library {library.aer:.4f}")
        print(f"aer_jobs {s.aer:.4f}")
        return
    extra = [] if args.no_extra else ntrex_roen(args.data)
    print(f"{len(pairs)} gold pairs, {len(extra)} extra pairs")
    repeated(lambda: measure(pairs, gold, extra, args.splits), args.repeats)


def measure(
    pairs: list[tuple[list[str], list[str]]],
    gold: list[GoldAlignment],
    extra: list[tuple[list[str], list[str]]],
    splits: int,
) -> dict[str, float]:
    """One run of every eflomal setting: AER of the defaults, the tuned and the held-out."""
    start = time.perf_counter()
    runs = {
        name: run_eflomal(pairs, EflomalConfig(prefix_lengths=(length,), extra=extra))
        for name, length in RUNS.items()
    }
    print(f"eflomal: {len(runs)} runs, {time.perf_counter() - start:.1f} s")
    links: dict[tuple[str, str], list[set[Link]]] = {}
    for prefixes, names in PREFIXES.items():
        fwd = vote([runs[n][0] for n in names]) if len(names) > 1 else runs[names[0]][0]
        rev = vote([runs[n][1] for n in names]) if len(names) > 1 else runs[names[0]][1]
        for method in SYMMETRIZERS:
            links[prefixes, method] = [
                symmetrize(f, r, method) for f, r in zip(fwd, rev, strict=True)
            ]

    def aer(setting: tuple[str, str], index: list[int]) -> float:
        return score_alignments([links[setting][i] for i in index], [gold[i] for i in index]).aer

    everything = list(range(len(pairs)))
    config = EflomalConfig()
    default = (",".join(str(p) for p in config.prefix_lengths), config.symmetrize)
    tuned = min(links, key=lambda s: aer(s, everything))
    for name, setting in (("defaults", default), ("tuned on all 248", tuned)):
        s = score_alignments(links[setting], gold)
        print(
            f"{name:<18} prefixes={setting[0]} {setting[1]}: AER {s.aer:.4f} "
            f"P {s.precision:.4f} R {s.recall:.4f} F1 {s.f1:.4f}"
        )
    held = []
    for seed in range(splits):
        order = everything[:]
        random.Random(seed).shuffle(order)
        halves = (sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :]))
        predicted: dict[int, set[Link]] = {}
        chosen = []
        for choose_on, report_on in (halves, halves[::-1]):
            setting = min(links, key=lambda s: aer(s, choose_on))
            chosen.append(f"{setting[0]}/{setting[1]}")
            predicted.update((i, links[setting][i]) for i in report_on)
        s = score_alignments([predicted[i] for i in everything], gold)
        held.append(s.aer)
        print(
            f"split {seed}: held-out AER {s.aer:.4f} P {s.precision:.4f} R {s.recall:.4f} "
            f"(chosen: {' and '.join(chosen)})"
        )
    d = score_alignments(links[default], gold).aer
    t = score_alignments(links[tuned], gold).aer
    print(
        f"\ndefaults {d:.4f} (not held out), tuned {t:.4f} (not held out), held out "
        f"{statistics.median(held):.4f} (median of {len(held)} splits, "
        f"range {min(held):.4f}-{max(held):.4f})"
    )
    return {"aer_defaults": d, "aer_tuned": t, "aer": statistics.median(held)}


if __name__ == "__main__":
    main()
