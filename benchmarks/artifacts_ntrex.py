"""Artifact detection accuracy, false positives and speed on NTREX-128 in twelve languages.

NTREX-128 gives 1,997 English news segments (123 documents) with human translations; this
benchmark reads twelve of them (de, es, fr, ro, el, fa, he, ja, ko, th, uk, vi: 23,964 pairs).
A seeded random 30% of the pairs are corrupted, an equal share per kind:

  copy_source     the output is the English source
  swap_language   the output is the same line in another of the twelve languages
  truncate        the output is cut at a word boundary after 30-70% of its words
  cut_word        the output is cut inside a word after 30-70% of its characters
  repeat_phrase   a 1-4 word phrase is repeated back to back (1-3 extra copies; 2-4 for one word)
  change_number   one number of the output gets a different value (same digit system)
  drop_clause     one clause (between , ; : 、 ، or dashes) of the output is removed
  shuffle         the output belongs to another source segment (pairing shuffled)
  off_by_one      the output belongs to the next (or previous) segment of the same document
  partial_copy    the output's second half (or first half) is the English source's

"Words" are spaced words, or characters where a text has fewer than four spaced words
(Japanese; Thai separates phrases, not words, by spaces). 70% of the pairs stay clean. Every
detector runs with its defaults over all pairs (lengths and the like are learned from this mixed
data, as they would be in use). Each pair is then named by its first flagged detector in a fixed
order (most specific first), mapped to an artifact class (cut_word is a truncation; shuffle and
off_by_one are both misaligned pairs); per-class precision, recall and F1 follow, and "caught"
is the share flagged by any detector at all.

Held out: the thresholds and weights of the detectors were chosen on the TUNED languages (the
four that earlier versions were tuned on, and fa, ja, uk); the headline is the macro F1 on the
HELD_OUT languages (el, he, ko, th, vi), printed beside the tuned one. Per language, the share
of clean pairs flagged by any detector and by the worst single detector is printed.

Speed: pairs per second of the default detector set a user runs, per stage (model-free
detectors, language identification, sentence vectors: each stage's detectors' summed time in
that run), and of the set without sentence vectors (where ``misalignment`` and ``omission``,
which learn a word model from the batch, run in their place).

Usage: python benchmarks/artifacts_ntrex.py [--data ../shared/data/ntrex128] [--seed 13]
[--clean] (``--clean``: no corruption, only the clean pairs' false positives per language).
The last line is ``macro_f1 <held-out value>`` (macro F1 over the eight artifact classes).

``--through-jobs`` runs the default detector set the way ``curate detect`` does as well: the
corrupted pairs are written as machine translations (no model score, not marked truncated)
of twelve language pairs into a temporary store, the detect job (sharded reads, each pair's
statistics fitted in a first pass and given to every chunk) writes ``artifact_tags``, and the
pairs are named from those flags exactly as from the library's. Both macro F1 figures are
printed; the last line is then ``macro_f1_jobs <held-out value through the jobs>``.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import polars as pl

from curate.artifacts import DetectConfig, score_pairs

LANGS = {
    "de": "deu", "es": "spa", "fr": "fra", "ro": "ron", "el": "ell", "fa": "fas",
    "he": "heb", "ja": "jpn", "ko": "kor", "th": "tha", "uk": "ukr", "vi": "vie",
}  # fmt: skip
TUNED = ("de", "es", "fr", "ro", "fa", "ja", "uk")
HELD_OUT = ("el", "he", "ko", "th", "vi")
KINDS = (
    "copy_source",
    "swap_language",
    "truncate",
    "cut_word",
    "repeat_phrase",
    "change_number",
    "drop_clause",
    "shuffle",
    "off_by_one",
    "partial_copy",
)
#: The class each corruption kind is named as.
CLASS_OF = {k: k for k in KINDS} | {"cut_word": "truncate", "off_by_one": "misaligned"}
CLASS_OF["shuffle"] = "misaligned"
CLASSES = tuple(dict.fromkeys(CLASS_OF.values()))
#: Detectors in the order that names a flagged pair, and the class each name stands for.
#: Detectors whose findings are not among the injected artifacts map to "other".
NAMING = (
    ("empty", "other"),
    ("untranslated", "copy_source"),
    ("partial_copy", "partial_copy"),
    ("wrong_language", "swap_language"),
    ("repetition", "repeat_phrase"),
    ("truncation", "truncate"),
    ("semantic_misalignment", "misaligned"),
    ("misalignment", "misaligned"),
    ("number_mismatch", "change_number"),
    ("semantic_omission", "drop_clause"),
    ("omission", "drop_clause"),
    ("length_ratio", "drop_clause"),  # only when too short; too long is "other"
)
#: Detectors per stage of the default set: model-free, langid.py, sentence vectors.
STAGES = {
    "language id (langid.py)": ("wrong_language",),
    "sentence vectors (USE)": ("semantic_misalignment", "semantic_omission"),
}
_NUMBER = re.compile(r"\d+")
_CLAUSE_CUT = re.compile(r"(?<=[,;:،؛])\s+|(?<=[、，；：])\s*|\s+[–—-]\s+")


def load(data: Path) -> pl.DataFrame:
    src = (data / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    docs = (data / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    rows = []
    for lang, code in LANGS.items():
        tgt = (data / f"newstest2019-ref.{code}.txt").read_text(encoding="utf-8").splitlines()
        for i, (s, t) in enumerate(zip(src, tgt, strict=True)):
            rows.append(
                {
                    "id": f"{lang}:{i}",
                    "line": i,
                    "doc": docs[i],
                    "src_lang": "en",
                    "tgt_lang": lang,
                    "source_text": s,
                    "text": t,
                }
            )
    return pl.DataFrame(rows)


def _units(text: str) -> tuple[list[str], str]:
    """Spaced words, or characters where there are fewer than four (Japanese)."""
    words = text.split()
    return (words, " ") if len(words) >= 4 else (list(text), "")


def _truncate(text: str, rng: np.random.Generator) -> str:
    units, sep = _units(text)
    keep = max(1, round(len(units) * rng.uniform(0.3, 0.7)))
    return sep.join(units[:keep]).rstrip(",;:-–、，")


def _cut_word(text: str, rng: np.random.Generator) -> str:
    """Cut after 30-70% of the characters, inside a word (between two letters)."""
    lo, hi = int(len(text) * 0.3), int(len(text) * 0.7)
    inside = [i for i in range(max(lo, 1), hi) if text[i - 1].isalpha() and text[i].isalpha()]
    cut = inside[int(rng.integers(0, len(inside)))] if inside else hi
    return text[:cut]


def _repeat(text: str, rng: np.random.Generator) -> str:
    units, sep = _units(text)
    if sep:
        k = int(rng.integers(1, min(4, len(units)) + 1))
        extra = int(rng.integers(2, 5)) if k == 1 else int(rng.integers(1, 4))
    else:  # characters: a 2-8 character phrase
        k = int(rng.integers(2, min(8, len(units)) + 1))
        extra = int(rng.integers(1, 4))
    start = int(rng.integers(0, len(units) - k + 1))
    phrase = units[start : start + k]
    return sep.join(units[: start + k] + phrase * extra + units[start + k :])


def _change_number(text: str, rng: np.random.Generator) -> str:
    found = list(_NUMBER.finditer(text))
    m = found[int(rng.integers(0, len(found)))]
    digits = list(m.group(0))
    pos = int(rng.integers(0, len(digits)))
    zero = ord(digits[pos]) - unicodedata.digit(digits[pos])  # the digit system's zero
    old = unicodedata.digit(digits[pos])
    choices = [d for d in range(10) if d != old and not (pos == 0 and d == 0)]
    digits[pos] = chr(zero + (choices[int(rng.integers(0, len(choices)))] if choices else 1))
    return text[: m.start()] + "".join(digits) + text[m.end() :]


def _drop_clause(text: str, rng: np.random.Generator) -> str:
    chunks = [c for c in _CLAUSE_CUT.split(text) if c]
    drop = int(rng.integers(0, len(chunks)))
    kept = chunks[:drop] + chunks[drop + 1 :]
    sep = "" if not _units(text)[1] else " "
    if drop == len(chunks) - 1:  # the last clause went: end the sentence like the original did
        end = text.rstrip()[-1] if text.rstrip()[-1] in '.!?…»“”"。！？؟」' else ""
        kept[-1] = kept[-1].rstrip(",;:、，،؛ ") + end
    if drop == 0:
        kept[0] = kept[0][:1].upper() + kept[0][1:]
    return sep.join(kept)


def _partial_copy(text: str, source: str, rng: np.random.Generator) -> str:
    """The output's head and the source's tail (or the source's head and the output's tail)."""
    units, sep = _units(text)
    words = source.split()
    share = rng.uniform(0.4, 0.6)
    k_out, k_src = round(len(units) * share), round(len(words) * share)
    if rng.random() < 0.5:  # tail left untranslated
        return sep.join(units[:k_out]).rstrip(",;:、，") + " " + " ".join(words[k_src:])
    return " ".join(words[:k_src]).rstrip(",;:") + " " + sep.join(units[k_out:])


def _eligible(kind: str, text: str) -> bool:
    if kind == "change_number":
        return bool(_NUMBER.search(text))
    if kind == "drop_clause":
        chunks = [c for c in _CLAUSE_CUT.split(text) if c]
        return len(chunks) >= 2 and all(len(_units(c)[0]) >= 2 for c in chunks)
    return len(_units(text)[0]) >= 4


def corrupt(pairs: pl.DataFrame, seed: int, share: float = 0.3) -> pl.DataFrame:
    """Corrupt ``share`` of the pairs (equal parts per kind); add an ``artifact`` column."""
    rng = np.random.default_rng(seed)
    texts = pairs["text"].to_list()
    sources = pairs["source_text"].to_list()
    lines = pairs["line"].to_list()
    docs = pairs["doc"].to_list()
    langs = pairs["tgt_lang"].to_list()
    by_line_lang = {(ln, lg): t for ln, lg, t in zip(lines, langs, texts, strict=True)}
    doc_of_line = dict(zip(lines, docs, strict=True))
    n = len(texts)
    per_kind = round(n * share / len(KINDS))
    order = rng.permutation(n)
    label = ["clean"] * n
    out = list(texts)
    taken: set[int] = set()

    def neighbour(i: int) -> int | None:
        for step in (1, -1) if rng.random() < 0.5 else (-1, 1):
            j = lines[i] + step
            if doc_of_line.get(j) == docs[i]:
                return j
        return None

    # Strictest eligibility first, so every kind gets its full share.
    for kind in ("drop_clause", "change_number", "off_by_one", *KINDS):
        if kind in {label[i] for i in taken}:
            continue
        chosen = [
            int(i)
            for i in order
            if int(i) not in taken
            and _eligible(kind, texts[int(i)])
            and (kind != "off_by_one" or neighbour(int(i)) is not None)
        ][:per_kind]
        taken.update(chosen)
        for i in chosen:
            label[i] = kind
        if kind == "shuffle":  # a derangement within each target language
            for lang in LANGS:
                group = [i for i in chosen if langs[i] == lang]
                perm = rng.permutation(len(group))
                while len(group) > 1 and np.any(perm == np.arange(len(group))):
                    perm = rng.permutation(len(group))
                for i, j in zip(group, perm, strict=True):
                    out[i] = texts[group[int(j)]]
            continue
        for i in chosen:
            if kind == "copy_source":
                out[i] = sources[i]
            elif kind == "swap_language":
                other = [lg for lg in LANGS if lg != langs[i]]
                out[i] = by_line_lang[(lines[i], other[int(rng.integers(0, len(other)))])]
            elif kind == "truncate":
                out[i] = _truncate(texts[i], rng)
            elif kind == "cut_word":
                out[i] = _cut_word(texts[i], rng)
            elif kind == "repeat_phrase":
                out[i] = _repeat(texts[i], rng)
            elif kind == "change_number":
                out[i] = _change_number(texts[i], rng)
            elif kind == "drop_clause":
                out[i] = _drop_clause(texts[i], rng)
            elif kind == "off_by_one":
                out[i] = by_line_lang[(neighbour(i), langs[i])]
            elif kind == "partial_copy":
                out[i] = _partial_copy(texts[i], sources[i], rng)
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


def class_f1(truth: np.ndarray, pred: np.ndarray, rows: np.ndarray) -> dict[str, tuple]:
    """Per class: (n, precision, recall, F1) over the rows selected by the mask ``rows``."""
    out = {}
    for cls in CLASSES:
        t = (truth == cls) & rows
        p = (pred == cls) & rows
        tp = int((t & p).sum())
        prec = tp / p.sum() if p.sum() else 0.0
        rec = tp / t.sum() if t.sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[cls] = (int(t.sum()), prec, rec, f1)
    return out


def clean_only(pairs: pl.DataFrame) -> None:
    """Every pair clean, in one batch: the share flagged per language, by any detector and by
    each. The learned statistics see clean text only, so the rates are higher than in the
    mixed batch of the benchmark."""
    _, runs = score_pairs(pairs, DetectConfig())
    lang = np.array(pairs["tgt_lang"].to_list())
    any_flag = np.zeros(pairs.height, dtype=bool)
    for run in runs.values():
        any_flag |= run.flag
    print("lang   any  " + " ".join(f"{d[:10]:>10}" for d in runs))
    for lg in LANGS:
        rows = lang == lg
        cells = " ".join(f"{runs[d].flag[rows].mean():10.2%}" for d in runs)
        print(f"{lg:4} {any_flag[rows].mean():6.2%} {cells}")
    print(f"false_positives {any_flag.mean():.4f}")


def print_stages(runs: dict, n: int) -> None:
    """Pairs per second of each stage: the sum of its detectors' times in one run."""
    staged = {d for names in STAGES.values() for d in names}
    stages = {"model-free": tuple(d for d in runs if d not in staged), **STAGES}
    for stage, names in stages.items():
        ran = [d for d in names if d in runs]
        if not ran:
            continue
        seconds = sum(runs[d].seconds for d in ran)
        rate = n / seconds
        print(f"  {stage:26} {len(ran):2d} detectors {rate:10,.0f} pairs/s ({seconds:.1f} s)")


@dataclass
class TagRun:
    """A detector's flags and scores read back from ``artifact_tags`` (as a DetectorRun)."""

    flag: np.ndarray
    score: np.ndarray


def job_runs(pairs: pl.DataFrame) -> dict[str, TagRun]:
    """The default detector set through ``curate detect``'s job, per detector in pair order."""
    import tempfile

    from beam_jobs.detect import DetectJob, run_detect
    from curate.records import load_schema
    from curate.store import StageCounts, Store

    rows = [
        {
            "id": row["id"],
            "src_lang": row["src_lang"],
            "tgt_lang": row["tgt_lang"],
            "source_kind": "segments",
            "source_text": row["source_text"],
            "text": row["text"],
            "origin": "mt",
            "truncated": False,
            "from_memory": False,
            "dataset": "ntrex",
            "source_id": row["id"],
            "source_file": "ntrex",
            "source_line": line,  # the pairs' order, which the library path reads too
            "run_id": "tr",
            "stage": "translate",
        }
        for line, row in enumerate(
            pairs.select(["id", "src_lang", "tgt_lang", "source_text", "text"]).to_dicts()
        )
    ]
    with tempfile.TemporaryDirectory(prefix="curate-ntrex-") as tmp:
        store = Store(Path(tmp) / "store")
        with store.open_run("translate", "tr") as run:
            run.write("translations", load_schema("translations").table(rows))
            run.count("translate", StageCounts(records_in=len(rows), records_out=len(rows)))
        run_detect(store, DetectJob("detect"))
        tags = store.sql("SELECT translation_id, detector, flag, score FROM artifact_tags")
        tags = pl.from_arrow(tags)
    index = {pid: i for i, pid in enumerate(pairs["id"].to_list())}
    out: dict[str, TagRun] = {}
    for (detector,), part in tags.group_by(["detector"]):
        run = TagRun(np.zeros(pairs.height, dtype=bool), np.zeros(pairs.height))
        rows_of = np.array([index[t] for t in part["translation_id"].to_list()])
        run.flag[rows_of] = np.array(part["flag"].to_list(), dtype=bool)
        run.score[rows_of] = np.nan_to_num(np.array(part["score"].to_list(), dtype=float))
        out[str(detector)] = run
    return out


def macro_f1(truth: np.ndarray, pred: np.ndarray, lang: np.ndarray) -> dict[str, float]:
    return {
        label: float(np.mean([s[3] for s in class_f1(truth, pred, np.isin(lang, langs)).values()]))
        for label, langs in (("tuned", TUNED), ("held out", HELD_OUT))
    }


def through_jobs(pairs: pl.DataFrame) -> None:
    """The default detector set through the library and through the detect job, side by side."""
    n = pairs.height
    truth = np.array([CLASS_OF.get(k, k) for k in pairs["artifact"].to_list()])
    lang = np.array(pairs["tgt_lang"].to_list())
    _, runs = score_pairs(pairs, DetectConfig())
    library = macro_f1(truth, np.array(name_pairs(runs, n)), lang)
    start = time.perf_counter()
    tagged = job_runs(pairs)
    jobs = macro_f1(truth, np.array(name_pairs(tagged, n)), lang)
    print(f"detect job: {time.perf_counter() - start:.0f} s, {len(tagged)} detectors tagged")
    for name in sorted(set(runs) | set(tagged)):
        a = int(runs[name].flag.sum()) if name in runs else "-"
        b = int(tagged[name].flag.sum()) if name in tagged else "-"
        print(f"  {name:24} flags: library {a!s:>5}  jobs {b!s:>5}")
    for label in ("tuned", "held out"):
        print(f"macro F1 {label}: library {library[label]:.4f}, jobs {jobs[label]:.4f}")
    print(f"macro_f1_library {library['held out']:.4f}")
    print(f"macro_f1_jobs {jobs['held out']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntrex128"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--show", type=int, default=0, help="print N misnamed pairs per kind")
    parser.add_argument("--save", type=Path, help="write every score and flag here (Parquet)")
    parser.add_argument(
        "--clean",
        action="store_true",
        help="score only the clean pairs: false positives per language",
    )
    parser.add_argument(
        "--through-jobs", action="store_true", help="detect through `curate detect`'s job too"
    )
    args = parser.parse_args()
    if args.through_jobs:
        through_jobs(corrupt(load(args.data), args.seed))
        return
    if args.clean:
        clean_only(load(args.data))
        return

    pairs = corrupt(load(args.data), args.seed)
    n = pairs.height
    kind = np.array(pairs["artifact"].to_list())
    truth = np.array([CLASS_OF.get(k, k) for k in kind])
    lang = np.array(pairs["tgt_lang"].to_list())
    wall0, cpu0 = time.perf_counter(), time.process_time()
    _, runs = score_pairs(pairs, DetectConfig())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pred = np.array(name_pairs(runs, n))
    any_flag = np.zeros(n, dtype=bool)
    for run in runs.values():
        any_flag |= run.flag
    if args.save:
        columns = {"id": pairs["id"], "artifact": pairs["artifact"]}
        for name, run in runs.items():
            columns[f"{name}_score"] = run.score
            columns[f"{name}_flag"] = run.flag
        pl.DataFrame(columns).write_parquet(args.save)

    clean = kind == "clean"
    print(f"pairs {n}  corrupted {int((~clean).sum())}  seed {args.seed}")
    print("false positives on clean pairs, per language (any detector / worst single detector):")
    for lg in LANGS:
        rows = clean & (lang == lg)
        worst = max(runs, key=lambda d: runs[d].flag[rows].sum())
        split = "tuned" if lg in TUNED else "held out"
        print(
            f"  {lg} ({split:8}) {any_flag[rows].mean():6.2%}  {runs[worst].flag[rows].mean():6.2%}"
            f" {worst}"
        )
    print("recall per kind (named right / caught by any detector), tuned | held out:")
    tuned_rows, held_rows = np.isin(lang, TUNED), np.isin(lang, HELD_OUT)
    for k in KINDS:
        cells = []
        for rows in (tuned_rows, held_rows):
            t = (kind == k) & rows
            cells.append(f"{(pred[t] == CLASS_OF[k]).mean():.3f} / {any_flag[t].mean():.3f}")
        print(f"  {k:15} {cells[0]}  |  {cells[1]}")
        if args.show:
            for i in np.flatnonzero((kind == k) & (pred != CLASS_OF[k]))[: args.show]:
                print(f"     missed as {pred[i]}: {pairs['source_text'][int(i)][:90]!r}")
                print(f"        -> {pairs['text'][int(i)][:90]!r}")
    macro = {}
    for label, rows in (("tuned", tuned_rows), ("held out", held_rows)):
        scores = class_f1(truth, pred, rows)
        print(f"{label}: {'class':14} {'n':>5} {'prec':>6} {'recall':>6} {'f1':>6}")
        for cls, (m, prec, rec, f1) in scores.items():
            print(f"  {cls:22} {m:5d} {prec:6.3f} {rec:6.3f} {f1:6.3f}")
        macro[label] = float(np.mean([s[3] for s in scores.values()]))
    n_fp, n_clean = int(any_flag[clean].sum()), int(clean.sum())
    print(f"false positives on clean pairs, all languages: {n_fp / n_clean:.4f}")
    for name, run in runs.items():
        fp = run.flag[clean].sum()
        print(f"  {name:24} flags {int(run.flag.sum()):5d}  on clean {int(fp):4d}")
        if args.show and fp:
            for i in np.flatnonzero(run.flag & clean)[: args.show]:
                src, out = pairs["source_text"][int(i)][:70], pairs["text"][int(i)][:70]
                print(f"      {run.detail[int(i)]}: {src!r} -> {out!r}")

    # speed of the default detector set, per stage (one run; the load of the machine matters),
    # and of the set without sentence vectors, where misalignment and omission run instead
    print(f"default detector set: {n / wall:,.0f} pairs/s wall, {n / cpu:,.0f} per CPU-second")
    print_stages(runs, n)
    config = DetectConfig(skip=STAGES["sentence vectors (USE)"])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    _, runs = score_pairs(pairs, config)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(
        f"without sentence vectors ({len(runs)} detectors): {n / wall:,.0f} pairs/s wall, "
        f"{n / cpu:,.0f} per CPU-second"
    )
    print_stages(runs, n)
    print(f"macro_f1 tuned {macro['tuned']:.4f} (languages {', '.join(TUNED)})")
    print(f"macro_f1 {macro['held out']:.4f}")


if __name__ == "__main__":
    main()
