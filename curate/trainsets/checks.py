"""Independent checks of interleaved samples against the documents they claim to come from.

:func:`check_interleaved` rebuilds every sample's text from its ``meta`` chunk list and the
source documents, and verifies the promises of :mod:`curate.trainsets.interleave`:

- the text is exactly the chunks joined by the separators (windows break only between chunks);
- a chunk is whole sentences under ``chunk_tokens``, or one part of a sentence that alone
  exceeds it (no other sentence is ever split);
- ``n_tokens`` is within the window budget (and, with ``recount``, what the tokenizer says about
  the text itself);
- the windows of a pair are numbered 0..n-1, each next window repeats exactly
  ``min(overlap_chunks, chunks in the previous window - 1)`` chunks and then continues;
- every chunk of every pair appears, and the chunks of a document tile all its sentences.

Used by the tests and by ``benchmarks/interleave_ntrex.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curate.languages import language_name
from curate.trainsets.interleave import InterleaveConfig, count_sentences
from curate.trainsets.pairing import DocPair
from curate.trainsets.tokens import TokenCounter

MAX_RECORDED = 20


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0
    windows: int = 0
    recounted: int = 0
    recount_mismatches: int = 0
    recount_over_budget: int = 0
    max_recount_excess: int = 0

    @property
    def ok(self) -> bool:
        return self.n_problems == 0

    def add(self, problem: str) -> None:
        self.n_problems += 1
        if len(self.problems) < MAX_RECORDED:
            self.problems.append(problem)


def check_interleaved(
    samples: Iterable[dict[str, Any]],
    pairs: Iterable[DocPair],
    config: InterleaveConfig,
    counter: TokenCounter,
    *,
    filtered_pair_ids: Iterable[str] = (),
    recount: bool = False,
) -> CheckReport:
    """Check ``samples`` built from ``pairs`` with ``config`` and ``counter``."""
    report = CheckReport()
    sample_list = list(samples)
    pair_list = list(pairs)
    docs = {(d["id"], d["lang"]): d for d in _counted_docs(pair_list, counter)}
    pieces_cache: dict[tuple[str, str, int], list[tuple[str, int]]] = {}
    # pair id -> window number -> [chunk keys in text order];
    # (pair id, doc id, lang) -> chunk index -> shape (a document is chunked per pair).
    windows: dict[str, dict[int, tuple[int, int, list[tuple]]]] = {}
    doc_chunks: dict[tuple[str, str, str], dict[int, tuple]] = {}

    for sample in sample_list:
        report.windows += 1
        sid = sample["id"]
        if sample["n_tokens"] > config.window_tokens:
            report.add(f"{sid}: n_tokens {sample['n_tokens']} > window {config.window_tokens}")
        meta = json.loads(sample["meta"])
        sources = sample["sources"]
        chunk_rows = meta["chunks"]
        cursor = 0
        pair_texts: list[str] = []
        for pair_meta in meta["pairs"]:
            first, last = pair_meta["sources"]
            texts: list[str] = []
            keys: list[tuple] = []
            while cursor < len(chunk_rows) and first <= chunk_rows[cursor][0] < last:
                source, index, s0, s1, part, n_parts = chunk_rows[cursor]
                cursor += 1
                src_row = sources[source]
                key = (src_row["record_id"], src_row["lang"])
                doc = docs.get(key)
                if doc is None:
                    report.add(f"{sid}: unknown source document {key}")
                    continue
                text = _chunk_text(
                    doc, s0, s1, part, n_parts, config, counter, pieces_cache, report, sid
                )
                texts.append(text)
                keys.append((key, index))
                shape = (s0, s1, part, n_parts)
                chunk_key = (pair_meta["pair_id"], *key)
                seen = doc_chunks.setdefault(chunk_key, {}).setdefault(index, shape)
                if seen != shape:
                    report.add(f"{sid}: chunk {index} of {key} differs between windows")
            pair_texts.append(config.separator.join(texts))
            window = windows.setdefault(pair_meta["pair_id"], {})
            if pair_meta["window"] in window:
                report.add(f"{sid}: window {pair_meta['window']} of a pair appears twice")
            window[pair_meta["window"]] = (
                pair_meta["n_windows"],
                pair_meta["overlap_chunks"],
                keys,
            )
        if cursor != len(chunk_rows):
            report.add(f"{sid}: chunks not owned by any pair")
        if config.pair_separator.join(pair_texts) != sample["text"]:
            report.add(f"{sid}: text is not its chunks joined by the separators")
        for i, src_row in enumerate(sources):
            indices = [row[1] for row in chunk_rows if row[0] == i]
            expected = list(range(src_row["chunk_start"], src_row["chunk_end"]))
            if indices != expected:
                report.add(f"{sid}: source {i} chunk range does not match its chunks")

    filtered = set(filtered_pair_ids)
    for pair in pair_list:
        if pair.pair_id in filtered:
            continue
        _check_pair(pair, windows.get(pair.pair_id), doc_chunks, docs, config, report)

    if recount and sample_list:
        counts = counter.count_batch([s["text"] for s in sample_list])
        for sample, n in zip(sample_list, counts, strict=True):
            report.recounted += 1
            if n != sample["n_tokens"]:
                report.recount_mismatches += 1
            if n > config.context_tokens:
                report.recount_over_budget += 1
            report.max_recount_excess = max(report.max_recount_excess, n - sample["n_tokens"])
    return report


def _counted_docs(pairs: list[DocPair], counter: TokenCounter) -> list[dict[str, Any]]:
    distinct: dict[int, dict[str, Any]] = {}
    for pair in pairs:
        for doc in (pair.src, pair.tgt):
            distinct.setdefault(id(doc), doc)
    return count_sentences(distinct.values(), counter)


def _chunk_text(
    doc: dict[str, Any],
    s0: int,
    s1: int,
    part: int | None,
    n_parts: int | None,
    config: InterleaveConfig,
    counter: TokenCounter,
    pieces_cache: dict,
    report: CheckReport,
    sid: str,
) -> str:
    prefix = config.chunk_prefix.format(lang=doc["lang"], lang_name=language_name(doc["lang"]))
    tokens = doc["sentence_tokens"]
    if not 0 <= s0 < s1 <= len(doc["sentences"]):
        report.add(f"{sid}: bad sentence range {s0}:{s1} of {doc['id']}")
        return ""
    if part is None:
        if sum(tokens[s0:s1]) > config.chunk_tokens:
            report.add(f"{sid}: chunk {s0}:{s1} of {doc['id']} exceeds chunk_tokens")
        return prefix + config.sentence_joiner.join(doc["sentences"][s0:s1])
    if s1 != s0 + 1 or tokens[s0] <= config.chunk_tokens:
        report.add(f"{sid}: sentence {s0} of {doc['id']} split without exceeding chunk_tokens")
    key = (doc["id"], doc["lang"], s0)
    if key not in pieces_cache:
        pieces_cache[key] = counter.split(doc["sentences"][s0], config.chunk_tokens)
    pieces = pieces_cache[key]
    if n_parts != len(pieces) or not 0 <= part < len(pieces):
        report.add(f"{sid}: part {part}/{n_parts} of sentence {s0} of {doc['id']} is wrong")
        return ""
    return prefix + pieces[part][0]


def _check_pair(
    pair: DocPair,
    windows: dict[int, tuple[int, int, list[tuple]]] | None,
    doc_chunks: dict[tuple[str, str, str], dict[int, tuple]],
    docs: dict[tuple[str, str], dict[str, Any]],
    config: InterleaveConfig,
    report: CheckReport,
) -> None:
    name = pair.pair_id
    if not windows:
        report.add(f"pair {name}: no window")
        return
    n_windows = {n for n, _, _ in windows.values()}
    if len(n_windows) != 1 or sorted(windows) != list(range(next(iter(n_windows)))):
        report.add(f"pair {name}: windows are not numbered 0..n-1")
        return
    sequence: list[tuple] = []
    previous: list[tuple] = []
    for w in range(len(windows)):
        _, overlap, keys = windows[w]
        if w:
            expected = min(config.overlap_chunks, len(previous) - 1)
            if overlap != expected or keys[:overlap] != previous[len(previous) - overlap :]:
                report.add(f"pair {name}: window {w} overlap is {overlap}, expected {expected}")
            keys_new = keys[overlap:]
        else:
            keys_new = keys
        sequence += keys_new
        previous = keys
    if len(set(sequence)) != len(sequence):
        report.add(f"pair {name}: a chunk appears twice outside the overlap")
    for doc in (pair.src, pair.tgt):
        key = (doc["id"], doc["lang"])
        indices = sorted(index for k, index in sequence if k == key)
        if indices != list(range(len(indices))):
            report.add(f"pair {name}: chunks of {key} are missing or out of order")
            continue
        end, open_part = 0, None  # open_part: (sentence, part) of a split not yet finished
        shapes = doc_chunks.get((name, *key), {})
        for index in indices:
            s0, s1, part, n_parts = shapes[index]
            if open_part is not None:
                ok = part is not None and (s0, part - 1) == open_part
            else:
                ok = s0 == end and part in (None, 0)
            if not ok:
                report.add(f"pair {name}: chunk {index} of {key} does not follow sentence {end}")
            open_part = None if part is None or part == n_parts - 1 else (s0, part)
            end = s1
        if open_part is not None:
            report.add(f"pair {name}: a split sentence of {key} is missing its last part")
        if end != len(docs[key]["sentences"]):
            report.add(f"pair {name}: chunks of {key} end at sentence {end}, not at the end")
