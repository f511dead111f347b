"""Artifact detection accuracy and speed on NTREX-128 with artifacts injected on purpose.

NTREX-128 gives 1,997 English news segments with human translations into de, es, fr and ro
(7,988 pairs). A seeded random 30% of the pairs are corrupted, an equal share per artifact:

  copy_source     the output is the English source
  swap_language   the output is the same line in another of the four languages
  truncate        the output is cut at a word boundary after 30-70% of its words
  repeat_phrase   a 1-4 word phrase is repeated back to back (1-3 extra copies; 2-4 for one word)
  change_number   one number of the output gets a different value
  drop_clause     one clause (between , ; : or dashes) of the output is removed
  shuffle         the output belongs to another source segment (pairing shuffled)

and 70% stay clean. Every detector runs over all pairs (lengths and the like are learned from
this mixed data, as they would be in use). Each pair is then named by its first flagged detector
in a fixed order (most specific first), mapped to an artifact; per-artifact precision, recall and
F1 follow from that naming, and "caught" is the share flagged by any detector at all.

Usage: python benchmarks/artifacts_ntrex.py [--data ../shared/data/ntrex128] [--seed 13]
The last line is ``macro_f1 <value>`` (macro F1 over the seven artifacts).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import polars as pl

from curate.artifacts import DetectConfig, score_pairs
from curate.artifacts.registry import detector_names, get_detector

LANGS = {"de": "deu", "es": "spa", "fr": "fra", "ro": "ron"}
ARTIFACTS = (
    "copy_source",
    "swap_language",
    "truncate",
    "repeat_phrase",
    "change_number",
    "drop_clause",
    "shuffle",
)
#: Detectors in the order that names a flagged pair, and the artifact each name stands for.
#: Detectors whose findings are not among the injected artifacts map to "other".
NAMING = (
    ("empty", "other"),
    ("untranslated", "copy_source"),
    ("wrong_language", "swap_language"),
    ("repetition", "repeat_phrase"),
    ("truncation", "truncate"),
    ("semantic_misalignment", "shuffle"),
    ("misalignment", "shuffle"),
    ("number_mismatch", "change_number"),
    ("semantic_omission", "drop_clause"),
    ("omission", "drop_clause"),
    ("length_ratio", "drop_clause"),  # only when too short; too long is "other"
)
_NUMBER = re.compile(r"\d+")
_CLAUSE_CUT = re.compile(r"(?<=[,;:])\s+|\s+[–—-]\s+")


def load(data: Path) -> pl.DataFrame:
    src = (data / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    rows = []
    for lang, code in LANGS.items():
        tgt = (data / f"newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()
        for i, (s, t) in enumerate(zip(src, tgt, strict=True)):
            rows.append(
                {
                    "id": f"{lang}:{i}",
                    "line": i,
                    "src_lang": "en",
                    "tgt_lang": lang,
                    "source_text": s,
                    "text": t,
                }
            )
    return pl.DataFrame(rows)


def _truncate(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    keep = max(1, round(len(words) * rng.uniform(0.3, 0.7)))
    return " ".join(words[:keep]).rstrip(",;:-–")


def _repeat(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    k = int(rng.integers(1, min(4, len(words)) + 1))
    start = int(rng.integers(0, len(words) - k + 1))
    extra = int(rng.integers(2, 5)) if k == 1 else int(rng.integers(1, 4))
    phrase = words[start : start + k]
    return " ".join(words[: start + k] + phrase * extra + words[start + k :])


def _change_number(text: str, rng: np.random.Generator) -> str:
    found = list(_NUMBER.finditer(text))
    m = found[int(rng.integers(0, len(found)))]
    digits = list(m.group(0))
    pos = int(rng.integers(0, len(digits)))
    choices = [d for d in "0123456789" if d != digits[pos] and not (pos == 0 and d == "0")]
    digits[pos] = choices[int(rng.integers(0, len(choices)))] if choices else "1"
    return text[: m.start()] + "".join(digits) + text[m.end() :]


def _drop_clause(text: str, rng: np.random.Generator) -> str:
    chunks = _CLAUSE_CUT.split(text)
    drop = int(rng.integers(0, len(chunks)))
    kept = chunks[:drop] + chunks[drop + 1 :]
    if drop == len(chunks) - 1:  # the last clause went: end the sentence like the original did
        end = text.rstrip()[-1] if text.rstrip()[-1] in '.!?…»“”"' else ""
        kept[-1] = kept[-1].rstrip(",;: ") + end
    if drop == 0:
        kept[0] = kept[0][:1].upper() + kept[0][1:]
    return " ".join(kept)


def _eligible(artifact: str, text: str) -> bool:
    if artifact == "change_number":
        return bool(_NUMBER.search(text))
    if artifact == "drop_clause":
        chunks = _CLAUSE_CUT.split(text)
        return len(chunks) >= 2 and all(len(c.split()) >= 2 for c in chunks)
    return len(text.split()) >= 4


def corrupt(pairs: pl.DataFrame, seed: int, share: float = 0.3) -> pl.DataFrame:
    """Corrupt ``share`` of the pairs (equal parts per artifact); add an ``artifact`` column."""
    rng = np.random.default_rng(seed)
    texts = pairs["text"].to_list()
    sources = pairs["source_text"].to_list()
    lines = pairs["line"].to_list()
    langs = pairs["tgt_lang"].to_list()
    by_line_lang = {(ln, lg): t for ln, lg, t in zip(lines, langs, texts, strict=True)}
    n = len(texts)
    per_type = round(n * share / len(ARTIFACTS))
    order = rng.permutation(n)
    label = ["clean"] * n
    out = list(texts)
    taken: set[int] = set()
    # Strictest eligibility first, so every artifact gets its full share.
    for artifact in ("drop_clause", "change_number", *ARTIFACTS):
        if artifact in {label[i] for i in taken}:
            continue
        chosen = [
            int(i) for i in order if int(i) not in taken and _eligible(artifact, texts[int(i)])
        ][:per_type]
        taken.update(chosen)
        for i in chosen:
            label[i] = artifact
        if artifact == "shuffle":  # a derangement within each target language
            for lang in LANGS:
                group = [i for i in chosen if langs[i] == lang]
                perm = rng.permutation(len(group))
                while len(group) > 1 and np.any(perm == np.arange(len(group))):
                    perm = rng.permutation(len(group))
                for i, j in zip(group, perm, strict=True):
                    out[i] = texts[group[int(j)]]
            continue
        for i in chosen:
            if artifact == "copy_source":
                out[i] = sources[i]
            elif artifact == "swap_language":
                other = [lg for lg in LANGS if lg != langs[i]]
                out[i] = by_line_lang[(lines[i], other[int(rng.integers(0, len(other)))])]
            elif artifact == "truncate":
                out[i] = _truncate(texts[i], rng)
            elif artifact == "repeat_phrase":
                out[i] = _repeat(texts[i], rng)
            elif artifact == "change_number":
                out[i] = _change_number(texts[i], rng)
            elif artifact == "drop_clause":
                out[i] = _drop_clause(texts[i], rng)
    return pairs.with_columns(pl.Series("text", out), pl.Series("artifact", label))


def name_pairs(runs: dict, n: int) -> list[str]:
    names = ["clean"] * n
    for detector, artifact in reversed(NAMING):  # earlier entries overwrite later ones
        if detector not in runs:
            continue
        run = runs[detector]
        for i in np.flatnonzero(run.flag):
            too_long = detector == "length_ratio" and run.score[i] > 0
            names[int(i)] = "other" if too_long else artifact
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntrex128"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--show", type=int, default=0, help="print N misnamed pairs per artifact")
    args = parser.parse_args()

    original = load(args.data)
    original_length = original["text"].str.len_chars().to_numpy()
    pairs = corrupt(original, args.seed)
    n = pairs.height
    truth = pairs["artifact"].to_list()
    _, runs = score_pairs(pairs, DetectConfig())
    predicted = name_pairs(runs, n)
    any_flag = np.zeros(n, dtype=bool)
    for run in runs.values():
        any_flag |= run.flag
    truth_a = np.array(truth)
    pred_a = np.array(predicted)

    print(f"pairs {n}  corrupted {int((truth_a != 'clean').sum())}  seed {args.seed}")
    print(f"{'artifact':15} {'n':>5} {'prec':>6} {'recall':>6} {'f1':>6} {'caught':>6}")
    f1s = []
    for artifact in ARTIFACTS:
        t = truth_a == artifact
        p = pred_a == artifact
        tp = int((t & p).sum())
        prec = tp / p.sum() if p.sum() else 0.0
        rec = tp / t.sum() if t.sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        caught = any_flag[t].mean()
        print(f"{artifact:15} {int(t.sum()):5d} {prec:6.3f} {rec:6.3f} {f1:6.3f} {caught:6.3f}")
        if args.show:
            for i in np.flatnonzero(t & ~p)[: args.show]:
                print(f"   missed as {pred_a[i]}: {pairs['source_text'][int(i)][:90]!r}")
                print(f"      -> {pairs['text'][int(i)][:90]!r}")
    dropped = truth_a == "drop_clause"
    share = 1 - pairs["text"].str.len_chars().to_numpy() / original_length
    for lo, hi in ((0.0, 0.3), (0.3, 1.0)):
        band = dropped & (share >= lo) & (share < hi)
        print(
            f"  drop_clause removing {lo:.0%}-{hi:.0%} of the text: n={int(band.sum())} "
            f"recall {(pred_a[band] == 'drop_clause').mean():.3f}"
        )
    clean = truth_a == "clean"
    n_fp, n_clean = int(any_flag[clean].sum()), int(clean.sum())
    print(f"false positives on clean pairs: {n_fp / n_clean:.4f} ({n_fp} of {n_clean})")
    for name, run in runs.items():
        fp = run.flag[clean].sum()
        ms = run.seconds * 1000
        print(f"  {name:24} flags {int(run.flag.sum()):5d}  on clean {int(fp):4d}  {ms:7.1f} ms")
        if args.show and fp:
            for i in np.flatnonzero(run.flag & clean)[: args.show]:
                src, out = pairs["source_text"][int(i)][:70], pairs["text"][int(i)][:70]
                print(f"      {run.detail[int(i)]}: {src!r} -> {out!r}")

    # every model-free detector that applies, including those a model detector replaces
    model_free = tuple(
        name
        for name in detector_names()
        if get_detector(name).model is None and get_detector(name).applies_to(pairs.columns)
    )
    # misalignment and omission learn a classifier / a word translation model from the batch:
    # counted as model detectors for the speed figure
    cheap = tuple(name for name in model_free if name not in ("misalignment", "omission"))
    for label, config in (
        (f"model-free detectors without misalignment ({len(cheap)})", DetectConfig(only=cheap)),
        (
            f"model-free detectors ({len(model_free)}, + misalignment, omission)",
            DetectConfig(only=model_free),
        ),
        ("all detectors incl. language id and sentence vectors", DetectConfig()),
    ):
        wall = cpu = float("inf")
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            score_pairs(pairs, config)
            wall = min(wall, time.perf_counter() - w0)
            cpu = min(cpu, time.process_time() - c0)
        print(f"{label}: {n / wall:,.0f} pairs/s wall, {n / cpu:,.0f} pairs per CPU-second")
    print(f"macro_f1 {np.mean(f1s):.4f}")


if __name__ == "__main__":
    main()
