"""Span projection per language family: synthetic variants with exact gold, and real NTREX spans.

Two kinds of data, neither of them used elsewhere to choose a default:

* Synthetic variants (:mod:`curate.synth.variants`): ``qsc`` (no spaces, CJK-like characters),
  ``qsp`` (prefixing clitics), ``qsa`` (agglutinating suffixes), ``qsn`` (Georgian letters,
  names transliterated), plus the base ``qsy``. English gold spans are projected onto the
  variant with curate's translate-train projection (language treatment chosen from the code)
  and compared with the generator's exact gold. Candidate treatments per family are scored on
  the *dev* seed; the table's choice is reported on the *test* seed (other sentences).
  Sentences are joined into paragraphs of 1 to 5 sentences (``--paragraphs``), so the
  sentence-by-sentence alignment of long texts is measured too.
* NTREX-128 (``../shared/data/ntrex128``): numbers and Latin-script names that appear verbatim
  on both sides of an English segment and its human translation (ja, ko, th, fa, he, el, uk,
  vi, and de, es as the European reference) are real spans with a known place in the
  translation. Nothing was tuned on them.

Scores per span: exact match (offsets and label) and character-overlap F1 (0 for a dropped
span), averaged over gold spans; ``dropped`` is the share of spans not projected at all.

Usage: python benchmarks/projection_families.py [--data ../shared/data] [--n 400]
       [--skip-ntrex] [--skip-synthetic] [--compare]
The last line is ``families_heldout_f1 <mean char F1 over the test variants and NTREX>``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from curate.align import languages
from curate.align.registry import get_aligner
from curate.align.tokenize import Tokens, tokenize
from curate.project.alignment import (
    LabelledText,
    ProjectionConfig,
    ProjectionResult,
    project_translate_train,
)
from curate.records import Span
from curate.synth.variants import TREATMENTS, VariantPair, generate_variant

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NTREX = {
    "ja": "jpn", "ko": "kor", "th": "tha", "fa": "fas", "he": "heb",
    "el": "ell", "uk": "ukr", "vi": "vie", "de": "deu", "es": "spa",
}  # fmt: skip
DEV_SEED, TEST_SEED = 101, 202


@dataclass
class Example:
    src: str
    tgt: str
    src_spans: list[Span]
    tgt_spans: list[Span]  # tgt_spans[i] is the gold of src_spans[i]


@dataclass
class Score:
    n: int = 0
    exact: float = 0.0
    f1: float = 0.0
    dropped: int = 0

    def line(self) -> str:
        n = max(self.n, 1)
        return (
            f"spans {self.n:5d}  exact {self.exact / n:.3f}  char-F1 {self.f1 / n:.3f}  "
            f"dropped {self.dropped / n:.3f}"
        )

    @property
    def mean_f1(self) -> float:
        return self.f1 / max(self.n, 1)


def score(examples: Sequence[Example], results: Sequence[ProjectionResult]) -> Score:
    out = Score()
    for ex, res in zip(examples, results, strict=True):
        got = dict(zip(res.source_index, res.spans, strict=True))
        for i, gold in enumerate(ex.tgt_spans):
            out.n += 1
            pred = got.get(i)
            if pred is None:
                out.dropped += 1
                continue
            if (pred.start, pred.end, pred.label) == (gold.start, gold.end, gold.label):
                out.exact += 1
            overlap = max(0, min(pred.end, gold.end) - max(pred.start, gold.start))
            if overlap:
                p, r = overlap / (pred.end - pred.start), overlap / (gold.end - gold.start)
                out.f1 += 2 * p * r / (p + r)
    return out


def paragraphs(pairs: Sequence[VariantPair], variant: str, seed: int, most: int) -> list[Example]:
    """Join consecutive pairs into paragraphs of 1..``most`` sentences (spans shifted)."""
    rng = random.Random(seed)
    sep = "" if variant == "qsc" else " "
    out, k = [], 0
    while k < len(pairs):
        group = pairs[k : k + rng.randint(1, most)]
        k += len(group)
        ex = Example("", "", [], [])
        for p in group:
            s_off = len(ex.src) + (1 if ex.src else 0)
            t_off = len(ex.tgt) + (len(sep) if ex.tgt else 0)
            ex.src = f"{ex.src} {p.src}" if ex.src else p.src
            ex.tgt = f"{ex.tgt}{sep}{p.tgt}" if ex.tgt else p.tgt
            ex.src_spans += [
                s._replace(start=s.start + s_off, end=s.end + s_off) for s in p.src_spans
            ]
            ex.tgt_spans += [
                s._replace(start=s.start + t_off, end=s.end + t_off) for s in p.tgt_spans
            ]
        out.append(ex)
    return out


BY_SENTENCE = True


def project(
    examples: Sequence[Example],
    tgt_lang: str,
    extra: Sequence[tuple[list[str], list[str]]] = (),
    tokenizer: Callable[[str, str | None], Tokens] = tokenize,
) -> list[ProjectionResult]:
    aligner = get_aligner("eflomal", extra=extra)
    results = project_translate_train(
        [LabelledText(e.src, e.src_spans) for e in examples],
        [e.tgt for e in examples],
        aligner,
        src_lang="en",
        tgt_lang=tgt_lang,
        config=ProjectionConfig(by_sentence=BY_SENTENCE),
        tokenizer=tokenizer,
    )
    several = sum(r.sentence_pairs > 1 for r in results)
    fallback = sum(r.sentence_fallback for r in results)
    print(f"    [{several} examples aligned per sentence pair, {fallback} fell back to whole]")
    return results


# --- synthetic variants ------------------------------------------------------------------


def candidates(variant: str) -> dict[str, languages.Treatment]:
    """The table's treatment and the alternatives it was chosen against."""
    t = TREATMENTS.get(variant, languages.Treatment())
    out = {"table": t}
    if variant == "qsp":
        out["no clitic stripping"] = replace(t, clitics=())
        out["suffix stems"] = replace(t, clitics=(), stem=languages.SUFFIX)
        out["clitics, suffix stems"] = replace(t, stem=languages.SUFFIX)
        out["whole words"] = replace(t, clitics=(), stem=languages.WHOLE)
    elif variant == "qsa":
        out["no particle split"] = replace(t, particles=())
    elif variant in ("qsn", "qsy"):
        out["whole words"] = replace(t, stem=languages.WHOLE)
    elif variant == "qsc":
        out["prefix stems"] = replace(t, stem=languages.PREFIX)
    return out


def synthetic(args: argparse.Namespace) -> list[float]:
    heldout = []
    for variant in args.variants.split(","):
        print(f"\n{variant}: {languages.family(variant)}")
        splits = (("dev", DEV_SEED), ("test", TEST_SEED))
        for split, seed in splits[1:] if args.test_only else splits:
            pairs = (
                generate_variant(variant, args.n, seed)
                if variant != "qsy"
                else _base_pairs(args.n, seed)
            )
            examples = paragraphs(pairs, variant, seed, args.paragraphs)
            tries = candidates(variant) if (split == "dev" or args.compare) else {}
            tries = tries or {"table": candidates(variant)["table"]}
            for name, treatment in tries.items():
                languages.register_treatment(variant, treatment)
                start = time.perf_counter()
                result = score(examples, project(examples, variant))
                print(
                    f"  {split:4s} {name:22s} {result.line()}  "
                    f"({len(examples)} paragraphs, {time.perf_counter() - start:.0f} s)"
                )
                if split == "test" and name == "table":
                    heldout.append(result.mean_f1)
            languages.register_treatment(variant, candidates(variant)["table"])
    return heldout


def _base_pairs(n: int, seed: int) -> list[VariantPair]:
    from curate.synth import generate

    return [
        VariantPair(p.src, p.tgt, (), p.alignment, p.src_spans, p.tgt_spans)
        for p in generate(n, seed)
    ]


# --- NTREX real spans --------------------------------------------------------------------

_CANDIDATE = re.compile(r"\b(?:\d+(?:[.,:]\d+)*|[A-Z][A-Za-z]+(?: [A-Z][A-Za-z]+)*)\b")


def ntrex_examples(src_lines: Sequence[str], tgt_lines: Sequence[str]) -> list[Example]:
    """English segments with their numbers and Latin names that appear once, verbatim, in the
    translation and once in the source, on both sides not inside a longer Latin word, number
    or hyphenated or elided word (``13-year-old``, ``KSWB-TV``, ``L'Oreal``)."""
    out = []
    for src, tgt in zip(src_lines, tgt_lines, strict=True):
        ex = Example(src, tgt, [], [])
        for m in _CANDIDATE.finditer(src):
            surface = m.group()
            if len(surface) < 2 or src.count(surface) != 1 or tgt.count(surface) != 1:
                continue
            at = tgt.index(surface)
            around = (
                src[m.start() - 1 : m.start()]
                + src[m.end() : m.end() + 1]
                + tgt[at - 1 : at]
                + tgt[at + len(surface) : at + len(surface) + 1]
            )
            if any((c.isascii() and c.isalnum()) or c in "-'\u2019" for c in around):
                continue
            label = "NUM" if surface[0].isdigit() else "NAME"
            ex.src_spans.append(Span(m.start(), m.end(), label))
            ex.tgt_spans.append(Span(at, at + len(surface), label))
        out.append(ex)
    return out


def ntrex_paragraphs(
    root: Path, src: Sequence[str], tgt: Sequence[str], most: int
) -> tuple[list[str], list[str]]:
    """Consecutive segments of the same document joined into paragraphs of up to ``most``
    segments (no space between segments in Japanese, Chinese and Thai)."""
    docs = (root / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    sep = "" if any("\u3040" <= c <= "\u30ff" or "\u0e00" <= c <= "\u0e7f" for c in tgt[0]) else " "
    out_src, out_tgt, k = [], [], 0
    while k < len(src):
        j = k + 1
        while j < len(src) and j - k < most and docs[j] == docs[k]:
            j += 1
        out_src.append(" ".join(src[k:j]))
        out_tgt.append(sep.join(tgt[k:j]))
        k = j
    return out_src, out_tgt


def ntrex(args: argparse.Namespace) -> list[float]:
    root = args.data / "ntrex128"
    src_lines = (root / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    heldout = []
    print("\nNTREX-128: numbers and Latin names found verbatim on both sides")
    for lang, code in NTREX.items():
        if args.languages and lang not in args.languages.split(","):
            continue
        path = root / f"newstest2019-ref.{code}.txt"
        if not path.exists():
            continue
        tgt_lines = path.read_text(encoding="utf-8").splitlines()
        src_par, tgt_par = src_lines, tgt_lines
        if args.ntrex_paragraphs > 1:
            src_par, tgt_par = ntrex_paragraphs(root, src_lines, tgt_lines, args.ntrex_paragraphs)
        examples = ntrex_examples(src_par, tgt_par)
        start = time.perf_counter()
        result = score(examples, project(examples, lang))
        print(
            f"  {lang} ({languages.family(lang):13s}) {result.line()}  "
            f"({time.perf_counter() - start:.0f} s)"
        )
        heldout.append(result.mean_f1)
    return heldout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=400, help="sentences per variant and split")
    parser.add_argument("--paragraphs", type=int, default=1, help="most sentences per example")
    parser.add_argument("--skip-ntrex", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--compare", action="store_true", help="alternatives on test too")
    parser.add_argument("--test-only", action="store_true", help="skip the dev split")
    parser.add_argument(
        "--no-treatment", action="store_true", help="every language as suffixing (old default)"
    )
    parser.add_argument("--whole", action="store_true", help="align examples whole")
    parser.add_argument("--languages", default="", help="NTREX languages (default: all)")
    parser.add_argument("--variants", default="qsy,qsc,qsp,qsa,qsn")
    parser.add_argument(
        "--ntrex-paragraphs", type=int, default=1, help="join up to N segments of a document"
    )
    args = parser.parse_args()
    global BY_SENTENCE
    BY_SENTENCE = not args.whole
    if args.no_treatment:
        for code in [*NTREX, *TREATMENTS]:
            languages.register_treatment(code, languages.Treatment())
        TREATMENTS.update({code: languages.Treatment() for code in TREATMENTS})
    heldout: list[float] = []
    if not args.skip_synthetic:
        heldout += synthetic(args)
    if not args.skip_ntrex:
        heldout += ntrex(args)
    print()
    print(f"families_heldout_f1 {sum(heldout) / max(len(heldout), 1):.4f}")


if __name__ == "__main__":
    main()
