"""Label projection quality on Europarl NER: English gold projected onto human de/es/it text.

The Europarl NER evaluation corpus (Agerri et al. 2018) has 799 line-parallel sentences in
en, de, es and it, each with human NER gold (PER/LOC/ORG/MISC, IOB2). The English gold spans
are projected onto each translation with curate's translate-train projection
(``project_translate_train``: tokens as given, eflomal alignment, alignment-based projection)
and scored against that language's own gold: exact-match typed span P/R/F1 (micro), then the
macro average over the three languages.

The aligner is the default one, eflomal (three runs, words cut to 4, 4 and 5 characters,
links kept by majority vote; grow-diag symmetrisation), trained on the 799 pairs plus NTREX-128
news text of the same pair where NTREX has it (de, es; there is no Italian in the NTREX copy
here). Projection uses curate's defaults (anchors, gap merging up to 3 words, function-word
trimming learnt from the batch, batch consistency) plus one option that follows the CoNLL
annotation guidelines this corpus uses: a PER/LOC span that lands on lower-case words only
(``finnischen`` for ``Finland``) is labelled MISC (``--adjective-label ""`` turns it off).

Usage: python benchmarks/projection_europarl.py [--data ../shared/data] [--languages de,es,it]
       [--prefixes 4,4,5] [--symmetrize grow-diag] [--cognate-prior 0] [--max-gap 3]
       [--no-consistency] [--no-anchors] [--no-trim] [--adjective-label MISC] [--no-extra]
The last line is ``projection_f1 <macro F1>``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from curate.align.registry import get_aligner
from curate.align.tokenize import Tokens, join_tokens, tokenize
from curate.evaluate.spans import score_tags
from curate.io.base import FieldMap
from curate.io.conll import read_conll
from curate.project.alignment import LabelledText, ProjectionConfig, project_translate_train
from curate.project.consistency import ConsistencyConfig
from curate.project.iob import tags_to_spans, token_spans_to_char

NTREX = {"de": "deu", "es": "spa", "fr": "fra", "ro": "ron"}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) per sentence, with curate's CoNLL reader; any quarantine is an error."""
    out: list[tuple[list[str], list[str]]] = []
    for batch in read_conll(str(path), FieldMap(), {}):
        if batch.quarantined:
            raise SystemExit(f"{path}: {batch.quarantined[0].detail}")
        out.extend((list(r.tokens or []), list(r.tags or [])) for r in batch.records)
    return out


def whitespace_tokens(text: str, lang: str | None = None) -> Tokens:
    """The CoNLL tokens back from the space-joined sentence (gold is scored on them)."""
    tokens = text.split(" ")
    return Tokens(tokens, join_tokens(tokens)[1])


def ntrex_pairs(data: Path, lang: str) -> list[tuple[list[str], list[str]]]:
    code = NTREX.get(lang)
    src = data / "ntrex128" / "newstest2019-src.eng.txt"
    tgt = data / "ntrex128" / f"newstest2019-ref.{code}.txt"
    if code is None or not tgt.exists():
        return []
    with open(src, encoding="utf-8") as fs, open(tgt, encoding="utf-8") as ft:
        return [
            (tokenize(s.strip(), "en").tokens, tokenize(t.strip(), lang).tokens)
            for s, t in zip(fs, ft, strict=True)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--languages", default="de,es,it")
    parser.add_argument("--prefixes", default="4,4,5", help="eflomal runs (prefix lengths)")
    parser.add_argument("--symmetrize", default="grow-diag")
    parser.add_argument("--cognate-prior", type=float, default=0.0)
    parser.add_argument("--max-gap", type=int, default=3)
    parser.add_argument("--no-consistency", action="store_true")
    parser.add_argument("--no-anchors", action="store_true")
    parser.add_argument("--no-trim", action="store_true")
    parser.add_argument("--adjective-label", default="MISC", help='"" to turn off')
    parser.add_argument("--no-extra", action="store_true", help="align the 799 pairs alone")
    args = parser.parse_args()

    root = args.data / "europarl_ner"
    english = read_sentences(root / "en-europarl.test.conll02")
    examples = []
    for tokens, tags in english:
        text, offsets = join_tokens(tokens)
        examples.append(LabelledText(text, token_spans_to_char(tags_to_spans(tags), offsets)))
    projection = ProjectionConfig(
        max_gap=args.max_gap,
        anchors=not args.no_anchors,
        trim_function_words=not args.no_trim,
        adjective_label=args.adjective_label or None,
        consistency=None if args.no_consistency else ConsistencyConfig(),
    )
    prefixes = tuple(int(p) for p in args.prefixes.split(","))
    print(
        f"aligner: eflomal prefixes={prefixes} symmetrize={args.symmetrize} "
        f"cognate_prior={args.cognate_prior}; projection: {projection}"
    )
    f1s = []
    for lang in args.languages.split(","):
        gold = read_sentences(root / f"{lang}-europarl.test.conll02")
        if len(gold) != len(english):
            raise SystemExit(f"{lang}: {len(gold)} sentences, English has {len(english)}")
        extra = [] if args.no_extra else ntrex_pairs(args.data, lang)
        aligner = get_aligner(
            "eflomal",
            symmetrize=args.symmetrize,
            prefix_lengths=prefixes,
            cognate_prior=args.cognate_prior,
            extra=extra,
        )
        start = time.perf_counter()
        results = project_translate_train(
            examples,
            [" ".join(tokens) for tokens, _ in gold],
            aligner,
            src_lang="en",
            tgt_lang=lang,
            config=projection,
            tokenizer=whitespace_tokens,
        )
        seconds = time.perf_counter() - start
        scores = score_tags([r.tags for r in results], [tags for _, tags in gold])
        statuses = {
            s: sum(r.status == s for r in results) for s in ("complete", "partial", "dropped")
        }
        f1s.append(scores.micro.f1)
        print(
            f"\n{lang}: {len(gold)} sentences (+{len(extra)} NTREX pairs), {seconds:.1f} s, "
            f"status {statuses}"
        )
        print(scores.table())
        print(
            f"{lang} P {scores.micro.precision:.4f} R {scores.micro.recall:.4f} "
            f"F1 {scores.micro.f1:.4f}"
        )
    macro = sum(f1s) / len(f1s)
    print()
    print(f"projection_f1 {macro:.4f}")


if __name__ == "__main__":
    main()
