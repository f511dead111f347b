"""Span conventions measured on non-NER spans: phrases of the ro-en gold-aligned pairs.

The 248 Romanian-English pairs of ``../shared/data/wordalign_roen`` have gold word links. An
English phrase of 2-6 words whose links stay inside one Romanian phrase (a consistent phrase
pair, as in phrase-based MT) gives a span on each side with exact gold: the Romanian phrase
runs from its first to its last linked word. Three kinds of English spans, one per sentence
and kind, where the sentence has one:

* ``answer``: a noun phrase that starts with an article (``the European Union``) or a number,
  labelled ``ANSWER`` (what an extractive QA answer looks like);
* ``quoted``: a phrase in quotes, quotes included, labelled ``ANSWER``;
* ``phrase``: any consistent phrase of 3-6 words, labelled ``PHRASE`` (an argument or
  free-form span).

Each kind is projected from English onto the Romanian text (translate-train, eflomal trained
on the 248 pairs plus NTREX ro-en) under the conventions ``ner``, ``qa`` and ``generic``,
and scored per span: exact match and token F1 (0 for a dropped span). No default was chosen
on this set; ``auto`` shows what the label set selects.

Usage: python benchmarks/span_conventions.py [--data ../shared/data]
The last line is ``span_conventions_auto_f1 <token F1 of auto, mean over the three kinds>``.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from curate.align.pharaoh import read_pharaoh
from curate.align.registry import get_aligner
from curate.align.tokenize import Tokens, tokenize
from curate.project.alignment import LabelledText, ProjectionConfig, project_translate_train
from curate.text.tags import char_spans_to_token, join_tokens, token_spans_to_char

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ARTICLES = {"the", "a", "an"}
QUOTES = {'"', "``", "''", "“", "”"}


def whitespace_tokens(text: str, lang: str | None = None) -> Tokens:
    tokens = text.split(" ")
    return Tokens(tokens, join_tokens(tokens)[1])


def consistent(links: set[tuple[int, int]], i: int, j: int) -> tuple[int, int] | None:
    """The Romanian range ``[a, b)`` linked to English ``[i, j)``, if no link leaves the box."""
    ro = [r for r, e in links if i <= e < j]
    if not ro:
        return None
    a, b = min(ro), max(ro) + 1
    if any(a <= r < b and not i <= e < j for r, e in links):
        return None
    return a, b


def phrase_spans(ro: list[str], en: list[str], links: set[tuple[int, int]], rng: random.Random):
    """``{kind: (english range, romanian range)}`` for one sentence pair."""
    found: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for i in range(len(en)):
        for j in range(i + 2, min(len(en), i + 6) + 1):
            box = consistent(links, i, j)
            if box is None or not any(w.isalnum() for w in en[i:j]):
                continue
            starts = en[i].lower() in ARTICLES or en[i][0].isdigit()
            if starts and en[j - 1].isalnum():
                found.setdefault("answer", []).append(((i, j), box))
            if en[i] in QUOTES and en[j - 1] in QUOTES:
                found.setdefault("quoted", []).append(((i, j), box))
            if j - i >= 3 and en[i].isalnum() and en[j - 1].isalnum():
                found.setdefault("phrase", []).append(((i, j), box))
    return {kind: rng.choice(options) for kind, options in sorted(found.items())}


class OnceAligner:
    """The default aligner, run once per distinct batch (the conventions share the links)."""

    name, version = "eflomal", "cached"

    def __init__(self, extra) -> None:
        self.inner = get_aligner("eflomal", extra=extra)
        self.method = self.inner.method
        self.cache: dict = {}

    def align(self, pairs):
        key = tuple((tuple(a), tuple(b)) for a, b in pairs)
        if key not in self.cache:
            self.cache[key] = self.inner.align(pairs)
        return self.cache[key]


def token_f1(pred: tuple[int, int] | None, gold: tuple[int, int]) -> float:
    if pred is None:
        return 0.0
    overlap = max(0, min(pred[1], gold[1]) - max(pred[0], gold[0]))
    if not overlap:
        return 0.0
    p, r = overlap / (pred[1] - pred[0]), overlap / (gold[1] - gold[0])
    return 2 * p * r / (p + r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    root = args.data / "wordalign_roen"
    pairs = []
    for line in (root / "roen.src-tgt").read_text(encoding="utf-8").splitlines():
        ro, en = line.split("|||")
        pairs.append((ro.split(), en.split()))
    gold_links = read_pharaoh(root / "roen.gold", one_based=True)
    ntrex = args.data / "ntrex128"
    ro_lines = (ntrex / "newstest2019-ref.ron.txt").read_text(encoding="utf-8").splitlines()
    en_lines = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    extra = [
        (tokenize(e, "en").tokens, tokenize(r, "ro").tokens)
        for e, r in zip(en_lines, ro_lines, strict=True)
    ]
    rng = random.Random(2026)
    chosen = [
        phrase_spans(ro, en, {(r, e) for r, e in g.sure}, rng)
        for (ro, en), g in zip(pairs, gold_links, strict=True)
    ]
    label = {"answer": "ANSWER", "quoted": "ANSWER", "phrase": "PHRASE"}
    auto_f1 = []
    aligner = OnceAligner(extra)
    for kind in ("answer", "quoted", "phrase"):
        idx = [k for k, c in enumerate(chosen) if kind in c]
        examples, golds = [], []
        for k in idx:
            ro, en = pairs[k]
            (i, j), box = chosen[k][kind]
            text, offsets = join_tokens(en)
            span = token_spans_to_char([(i, j, label[kind])], offsets)
            examples.append(LabelledText(text, span))
            golds.append(box)
        print(f"\n{kind}: {len(idx)} spans, label {label[kind]}")
        for convention in ("ner", "qa", "generic", "auto"):
            results = project_translate_train(
                examples,
                [" ".join(pairs[k][0]) for k in idx],
                aligner,
                src_lang="en",
                tgt_lang="ro",
                config=ProjectionConfig(convention=convention, min_texts_for_function_words=20),
                tokenizer=whitespace_tokens,
            )
            exact = f1 = 0.0
            for res, gold in zip(results, golds, strict=True):
                pred = None
                if res.spans:
                    tok = char_spans_to_token(res.spans[:1], res.offsets)[0]
                    pred = (tok.start, tok.end) if tok else None
                exact += pred == gold
                f1 += token_f1(pred, gold)
            n = max(len(idx), 1)
            print(f"  {convention:8s} exact {exact / n:.3f}  token-F1 {f1 / n:.3f}")
            if convention == "auto":
                auto_f1.append(f1 / n)
    print()
    print(f"span_conventions_auto_f1 {sum(auto_f1) / len(auto_f1):.4f}")


if __name__ == "__main__":
    main()
