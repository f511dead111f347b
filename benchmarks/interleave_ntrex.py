"""Interleaved (CrossIC-PT) set building on NTREX-128: invariants and throughput.

NTREX-128 has 1,997 English news segments in 123 documents (DOCUMENT_IDS.tsv gives each line's
document) with human translations into de, es, fr and ro. Each document in each language is
segmented into sentences with sentencex (line by line: a line is never split across documents),
English documents are paired with their de/es/fr/ro translations by document id (492 pairs), and
interleaved samples are built at context lengths 512, 2048 and 8192 with a SentencePiece model
trained at the start on the NTREX text itself (or ``--spm`` to give one).

Timed, as a user runs it: counting every sentence of every document once (batched
SentencePiece), then the three builds (chunk, interleave, pack, render text and provenance).
Not timed: reading, sentence segmentation, training the tokenizer, and the checks afterwards.
The checks (``curate.trainsets.checks``) verify every sample of every build: no sentence split
unless it alone exceeds the chunk budget, windows within budget (also re-tokenising every
window's text with the real tokenizer), overlap exactly as configured, every chunk of every
pair present. The baseline is re-tokenising the output text, which is what packing by
re-tokenising joined text would cost at the least.

Usage: python benchmarks/interleave_ntrex.py [--data ../shared/data/ntrex128] [--repeats 3]
The last line is ``tokens_per_s <value>`` (output tokens over timed seconds, best of repeats).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sentencex import segment

from curate.trainsets.checks import check_interleaved
from curate.trainsets.interleave import InterleaveConfig, build_interleaved, count_sentences
from curate.trainsets.pairing import pair_by_key
from curate.trainsets.tokens import SentencePieceCounter, train_sentencepiece

LANGS = {"en": "src.eng", "de": "ref.deu", "es": "ref.spa", "fr": "ref.fra", "ro": "ref.ron"}
CONTEXTS = (512, 2048, 8192)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntrex128"


def load_documents(data: Path) -> dict[str, list[dict]]:
    """Documents per language: ``{"id", "lang", "sentences"}``, sentences from sentencex."""
    doc_ids = (data / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    out: dict[str, list[dict]] = {}
    for lang, stem in LANGS.items():
        lines = (data / f"newstest2019-{stem}.txt").read_text(encoding="utf-8").splitlines()
        if len(lines) != len(doc_ids):
            raise SystemExit(f"{stem}: {len(lines)} lines, DOCUMENT_IDS.tsv has {len(doc_ids)}")
        docs: dict[str, dict] = {}
        for doc_id, line in zip(doc_ids, lines, strict=True):
            doc = docs.setdefault(doc_id, {"id": doc_id, "lang": lang, "sentences": []})
            doc["sentences"] += [s.strip() for s in segment(lang, line) if s.strip()]
        out[lang] = list(docs.values())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--spm", type=Path, help="a SentencePiece model (default: train one)")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--overlap", type=int, default=2, help="overlap_chunks")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not (args.data / "DOCUMENT_IDS.tsv").is_file():
        print(f"NTREX-128 not found under {args.data}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    documents = load_documents(args.data)
    n_sentences = {lang: sum(len(d["sentences"]) for d in docs) for lang, docs in documents.items()}
    print(f"documents: {len(documents['en'])} per language; sentences: {n_sentences}")
    print(f"read + sentencex segmentation: {time.perf_counter() - t0:.2f} s (not timed below)")

    if args.spm:
        counter = SentencePieceCounter(args.spm)
    else:
        t0 = time.perf_counter()
        texts = [s for docs in documents.values() for d in docs for s in d["sentences"]]
        model = Path(tempfile.mkdtemp()) / "ntrex.model"
        counter = train_sentencepiece(texts, vocab_size=args.vocab_size, output=model)
        took = time.perf_counter() - t0
        print(
            f"trained SentencePiece unigram on NTREX ({len(texts)} sentences, "
            f"vocab {args.vocab_size}): {took:.2f} s (not timed)"
        )
    print(f"tokenizer: {counter.name}")

    configs = [
        InterleaveConfig(
            name=f"ntrex-{context}",
            context_tokens=context,
            chunk_tokens=min(256, context // 4),
            overlap_chunks=args.overlap,
            separator="\n",
            pair_separator="\n\n",
        )
        for context in CONTEXTS
    ]

    runs: list[dict] = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        flat = [d for lang in LANGS for d in documents[lang]]
        counted = count_sentences(flat, counter)
        t_count = time.perf_counter() - t0
        by_lang: dict[str, list[dict]] = {}
        for d in counted:
            by_lang.setdefault(d["lang"], []).append(d)
        pairs = []
        for lang in ("de", "es", "fr", "ro"):
            result = pair_by_key(by_lang["en"], by_lang[lang], src_key="id", tgt_key="id")
            pairs += result.pairs
        builds = []
        for config in configs:
            t1 = time.perf_counter()
            result = build_interleaved(pairs, config, counter=counter)
            builds.append((config, result, time.perf_counter() - t1))
        runs.append({"count_s": t_count, "pairs": pairs, "builds": builds})

    # Checks on the last run's output (not timed).
    last = runs[-1]
    pairs = last["pairs"]
    print(f"pairs: {len(pairs)} (en with de, es, fr, ro by document id)")
    all_ok = True
    recount_s = 0.0
    output_tokens_by_tokenizer = 0
    worst_excess = 0
    for config, result, _ in last["builds"]:
        t0 = time.perf_counter()
        counts = counter.count_batch([s["text"] for s in result.samples])
        recount_s += time.perf_counter() - t0
        output_tokens_by_tokenizer += sum(counts)
        report = check_interleaved(result.samples, pairs, config, counter, recount=True)
        worst_excess = max(worst_excess, report.max_recount_excess)
        all_ok &= report.ok and report.recount_over_budget == 0
        stats = result.report.stats
        n_tokens = [s["n_tokens"] for s in result.samples]
        print(
            f"context {config.context_tokens:>5}: chunk_tokens {config.chunk_tokens}, "
            f"{len(result.samples)} samples, {stats['tokens_out']:,} tokens "
            f"(overlap {stats['overlap_tokens'] / max(stats['tokens_out'], 1):.1%}), "
            f"fill {statistics.mean(n_tokens) / config.context_tokens:.1%}, "
            f"max {max(n_tokens)}, split sentences {stats['split_sentences']}; "
            f"checks: {'ok' if report.ok else report.problems[:3]}, "
            f"recount == n_tokens for {report.recounted - report.recount_mismatches}/"
            f"{report.recounted}, over budget {report.recount_over_budget}"
        )

    # Throughput: best repeat; per build and overall (counting once + three builds).
    def total(run: dict) -> float:
        return run["count_s"] + sum(seconds for _, _, seconds in run["builds"])

    best = min(runs, key=total)
    tokens = sum(r.report.stats["tokens_out"] for _, r, _ in best["builds"])
    mbytes = sum(len(s["text"].encode()) for _, r, _ in best["builds"] for s in r.samples) / 1e6
    seconds = total(best)
    for config, result, build_s in best["builds"]:
        out_tokens = result.report.stats["tokens_out"]
        out_mb = sum(len(s["text"].encode()) for s in result.samples) / 1e6
        print(
            f"build {config.context_tokens:>5}: {build_s:.3f} s, "
            f"{out_tokens / build_s:,.0f} tokens/s, {out_mb / build_s:.1f} MB/s"
        )
    print(f"sentence counting (once, all 615 documents): {best['count_s']:.3f} s")
    median = statistics.median(total(r) for r in runs)
    print(
        f"timed total: {seconds:.3f} s for {tokens:,} output tokens, {mbytes:.1f} MB of text "
        f"(best of {len(runs)}; median {median:.3f} s)"
    )
    baseline = output_tokens_by_tokenizer / recount_s
    print(
        f"baseline, re-tokenising the output text: {baseline:,.0f} tokens/s "
        f"-> builder is {tokens / seconds / baseline:.1f}x faster"
    )
    print(f"largest recount excess over n_tokens: {worst_excess} tokens")
    print(f"MB_per_s {mbytes / seconds:.2f}")
    print(f"invariants {'ok' if all_ok else 'FAILED'}")
    print(f"tokens_per_s {tokens / seconds:.0f}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
