"""Interleaved (CrossIC-PT style) training sets: related bilingual documents in one context window.

For each :class:`~curate.trainsets.pairing.DocPair`:

1. **Count** every sentence once with the token counter (one batched call for all documents;
   documents that already carry ``sentence_tokens`` from the same counter, as
   :func:`count_sentences` leaves them, are not counted again).
2. **Chunk** each document at sentence boundaries into chunks of at most ``chunk_tokens``
   tokens. A sentence is never split unless it alone exceeds ``chunk_tokens``; then it is cut at
   token boundaries into parts, each its own chunk, marked ``part``/``n_parts``. With
   ``chunking="joint"`` (or ``"auto"`` when both documents have the same number of sentences,
   i.e. they are sentence-aligned) chunk boundaries fall on the same sentence indices on both
   sides, so source chunk k and target chunk k are translations of each other; otherwise each
   side is chunked on its own and chunk k of one side is interleaved with chunk k of the other.
3. **Interleave** the chunks group by group: ``source-first`` (src_k, tgt_k, src_k+1, ...),
   ``target-first``, or ``alternate`` (source-first for even pairs, target-first for odd ones;
   fixed per pair so overlapping windows of one pair repeat the same chunk sequence).
4. **Pack** into windows of ``context_tokens - reserve_tokens``: windows only break between
   chunks, consecutive chunks are joined by ``separator``. A pair longer than one window is cut
   into sliding windows where each next window starts ``overlap_chunks`` chunks before the end
   of the previous one (fewer when a window holds too few chunks to move forward otherwise).
   With ``pack_pairs`` whole pairs that fit are packed together, joined by ``pair_separator``,
   only with pairs of the same language pair and split.

Token counts are integers added up: a window's ``n_tokens`` is the sum of its chunks' tokens
(each chunk's sentences, plus the ``chunk_prefix`` per chunk) plus the in-context cost of each
separator (measured once). With SentencePiece and the fallback counter this equals a recount of
the window text for space/newline separators; for other tokenizers keep a margin with
``reserve_tokens``.

Each sample records its documents and chunk ranges in ``sources``: ``chunk_start`` and
``chunk_end`` index that document's chunk list within its pair (a document paired twice may be
chunked differently each time, e.g. jointly with each sentence-aligned translation). ``meta``
holds the pairs (id, method, score, order, window k of n, overlap, and the ``[start, end)``
range of ``sources`` each owns) and every chunk, in text order, as ``[source, chunk,
sentence_start, sentence_end, part, n_parts]`` (``part`` is null unless a sentence was split).
:mod:`curate.trainsets.checks` verifies all of this.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from curate.errors import UserError
from curate.languages import language_name
from curate.records import content_id
from curate.trainsets.common import (
    BuildReport,
    BuildResult,
    assign_split,
    check_split_fractions,
    config_from_dict,
)
from curate.trainsets.pairing import DocPair
from curate.trainsets.tokens import FallbackCounter, TokenCounter

STAGE = "build.interleaved"
ORDERS = ("source-first", "target-first", "alternate")


@dataclass(frozen=True)
class InterleaveConfig:
    """Options of :func:`build_interleaved` (the ``build.interleaved`` section of a recipe)."""

    name: str = "interleaved"
    context_tokens: int = 2048
    reserve_tokens: int = 0
    chunk_tokens: int = 256
    chunking: str = "auto"
    order: str = "source-first"
    separator: str = "\n"
    pair_separator: str = "\n\n"
    sentence_joiner: str = " "
    chunk_prefix: str = ""
    overlap_chunks: int = 2
    pack_pairs: bool = True
    validation_fraction: float = 0.0
    test_fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.context_tokens < 1 or self.chunk_tokens < 1 or self.reserve_tokens < 0:
            raise UserError("context_tokens and chunk_tokens must be positive")
        if self.chunk_tokens > self.context_tokens - self.reserve_tokens:
            raise UserError(
                f"chunk_tokens ({self.chunk_tokens}) must fit in the context window "
                f"({self.context_tokens} - {self.reserve_tokens} reserved)"
            )
        if self.chunking not in {"auto", "joint", "independent"}:
            raise UserError(f"chunking must be auto, joint or independent, not {self.chunking!r}")
        if self.order not in ORDERS:
            raise UserError(f"order must be one of {', '.join(ORDERS)}, not {self.order!r}")
        if self.overlap_chunks < 0:
            raise UserError("overlap_chunks must be >= 0")
        try:
            self.chunk_prefix.format(lang="xx", lang_name="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise UserError(f"bad chunk_prefix (fields: lang, lang_name): {exc}") from None
        check_split_fractions(self.validation_fraction, self.test_fraction)

    @property
    def window_tokens(self) -> int:
        return self.context_tokens - self.reserve_tokens

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> InterleaveConfig:
        return config_from_dict(cls, data)


class Chunk(NamedTuple):
    """A run of whole sentences ``[sent_start, sent_end)``, or part ``part`` of one sentence."""

    side: int  # 0 source, 1 target
    group: int
    index: int  # position in its document's chunk list
    sent_start: int
    sent_end: int
    part: int | None
    n_parts: int | None
    n_tokens: int  # including the chunk prefix
    text: str  # including the chunk prefix


def count_sentences(
    documents: Iterable[dict[str, Any]], counter: TokenCounter
) -> list[dict[str, Any]]:
    """Copies of ``documents`` with ``sentence_tokens`` filled, counted in one batched call.

    Counts already there are kept only when ``sentence_tokenizer`` names this counter.
    """
    docs = [dict(d) for d in documents]
    todo = [
        d
        for d in docs
        if d.get("sentence_tokens") is None or d.get("sentence_tokenizer") != counter.name
    ]
    flat = [s for d in todo for s in d["sentences"]]
    counts = counter.count_batch(flat)
    position = 0
    for d in todo:
        n = len(d["sentences"])
        d["sentence_tokens"] = counts[position : position + n]
        d["sentence_tokenizer"] = counter.name
        position += n
    return docs


def _separator_cost(counter: TokenCounter, separator: str) -> int:
    """Tokens a separator adds between two texts, measured in context."""
    left, right = "end of the text.", "Start of the next"
    joined, a, b = counter.count_batch([left + separator + right, left, right])
    return max(0, joined - a - b)


def _groups_joint(src: Sequence[int], tgt: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Sentence ranges that fit the budget on both sides at once (sentence-aligned documents)."""
    groups: list[tuple[int, int]] = []
    start, s_sum, t_sum = 0, 0, 0
    for i, (s, t) in enumerate(zip(src, tgt, strict=True)):
        if s > budget or t > budget:
            if i > start:
                groups.append((start, i))
            groups.append((i, i + 1))
            start, s_sum, t_sum = i + 1, 0, 0
            continue
        if i > start and (s_sum + s > budget or t_sum + t > budget):
            groups.append((start, i))
            start, s_sum, t_sum = i, 0, 0
        s_sum += s
        t_sum += t
    if len(src) > start:
        groups.append((start, len(src)))
    return groups


def _groups_single(tokens: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Greedy sentence ranges of one document under the budget (oversized sentences alone)."""
    groups: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, t in enumerate(tokens):
        if t > budget:
            if i > start:
                groups.append((start, i))
            groups.append((i, i + 1))
            start, total = i + 1, 0
            continue
        if i > start and total + t > budget:
            groups.append((start, i))
            start, total = i, 0
        total += t
    if len(tokens) > start:
        groups.append((start, len(tokens)))
    return groups


class _Chunker:
    """Turns a document and its sentence ranges into chunks (text and token counts)."""

    def __init__(self, config: InterleaveConfig, counter: TokenCounter, prefix_cost: dict) -> None:
        self.config = config
        self.counter = counter
        self.prefix_cost = prefix_cost
        self.split_sentences = 0

    def chunks(
        self, doc: dict[str, Any], side: int, ranges: list[tuple[int, int]], groups: list[int]
    ) -> list[Chunk]:
        config = self.config
        sentences, tokens = doc["sentences"], doc["sentence_tokens"]
        prefix = config.chunk_prefix.format(lang=doc["lang"], lang_name=language_name(doc["lang"]))
        prefix_cost = self.prefix_cost[doc["lang"]]
        joiner, budget = config.sentence_joiner, config.chunk_tokens
        out: list[Chunk] = []
        for (a, b), group in zip(ranges, groups, strict=True):
            n = sum(tokens[a:b])
            if b - a == 1 and n > budget:
                pieces = self.counter.split(sentences[a], budget)
                self.split_sentences += 1
                for k, (piece, n_piece) in enumerate(pieces):
                    cost, text = n_piece + prefix_cost, prefix + piece
                    out.append(Chunk(side, group, len(out), a, b, k, len(pieces), cost, text))
                continue
            text = prefix + (sentences[a] if b - a == 1 else joiner.join(sentences[a:b]))
            out.append(Chunk(side, group, len(out), a, b, None, None, n + prefix_cost, text))
        return out


def _windows(costs: Sequence[int], budget: int, sep: int, overlap: int) -> list[tuple[int, int]]:
    """Sliding windows ``[i, j)`` over chunk costs; every chunk must fit the budget alone."""
    # q[k] = cost of the first k chunks plus k separators; cost(i, j) = q[j] - q[i] - sep.
    q = [0]
    for c in costs:
        q.append(q[-1] + c + sep)
    n = len(costs)
    windows: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j = bisect_right(q, q[i] + budget + sep, lo=i + 1) - 1
        j = max(j, i + 1)  # a chunk alone always fits (checked by the caller)
        windows.append((i, j))
        if j >= n:
            break
        i = max(j - overlap, i + 1)
    return windows


@dataclass
class _Sequence:
    """One pair ready to pack: its interleaved chunks and their costs."""

    pair: DocPair
    order: str
    split: str
    chunks: list[Chunk]

    @property
    def costs(self) -> list[int]:
        return [c.n_tokens for c in self.chunks]


@dataclass
class _Part:
    """Chunks ``[start, end)`` of one pair's sequence inside a window (window k of n)."""

    seq: _Sequence
    start: int
    end: int
    window: int = 0
    n_windows: int = 1
    overlap: int = 0


@dataclass
class _SampleWriter:
    """Turns the parts of one window into a ``training_samples`` row."""

    config: InterleaveConfig
    tokenizer: str
    sep_cost: int
    pair_sep_cost: int
    run_id: str
    dataset: str | None

    def __call__(self, parts: list[_Part]) -> dict[str, Any]:
        config = self.config
        sources: list[dict[str, Any]] = []
        chunk_meta: list[list[Any]] = []
        pair_meta: list[dict[str, Any]] = []
        texts: list[str] = []
        n_tokens = self.pair_sep_cost * (len(parts) - 1)
        id_parts: list[str] = [config.name, STAGE]
        for part in parts:
            pair = part.seq.pair
            chunks = part.seq.chunks[part.start : part.end]
            docs = (pair.src, pair.tgt)
            first_source = len(sources)
            source_of_side: dict[int, int] = {}
            for c in chunks:
                if c.side in source_of_side:
                    sources[source_of_side[c.side]]["chunk_end"] = c.index + 1
                else:
                    source_of_side[c.side] = len(sources)
                    doc = docs[c.side]
                    sources.append(
                        {
                            "record_id": doc["id"],
                            "lang": doc["lang"],
                            "chunk_start": c.index,
                            "chunk_end": c.index + 1,
                        }
                    )
                chunk_meta.append(
                    [source_of_side[c.side], c.index, c.sent_start, c.sent_end, c.part, c.n_parts]
                )
                n_tokens += c.n_tokens
            n_tokens += self.sep_cost * (len(chunks) - 1)
            texts.append(config.separator.join(c.text for c in chunks))
            pair_meta.append(
                {
                    "pair_id": pair.pair_id,
                    "method": pair.method,
                    "score": pair.score,
                    "order": part.seq.order,
                    "window": part.window,
                    "n_windows": part.n_windows,
                    "overlap_chunks": part.overlap,
                    "sources": [first_source, len(sources)],
                }
            )
            id_parts += [pair.pair_id, f"{part.start}:{part.end}"]
        first = parts[0].seq
        return {
            "id": content_id(*id_parts),
            "config": config.name,
            "split": first.split,
            "kind": "interleaved",
            "langs": [first.pair.src["lang"], first.pair.tgt["lang"]],
            "text": config.pair_separator.join(texts),
            "n_tokens": n_tokens,
            "tokenizer": self.tokenizer,
            "sources": sources,
            "meta": json.dumps({"pairs": pair_meta, "chunks": chunk_meta}, ensure_ascii=False),
            "dataset": first.pair.src.get("dataset") or self.dataset or "unknown",
            "source_id": first.pair.src["id"],
            "run_id": self.run_id,
            "stage": STAGE,
            "model_id": first.pair.tgt.get("model_id"),
            "model_version": first.pair.tgt.get("model_version"),
        }


def _chunk_pair(src: dict[str, Any], tgt: dict[str, Any], chunker: _Chunker) -> tuple[list, list]:
    """Chunks of both documents; jointly when they are sentence-aligned (see ``chunking``)."""
    config = chunker.config
    n_src, n_tgt = len(src["sentences"]), len(tgt["sentences"])
    joint = config.chunking == "joint" or (config.chunking == "auto" and n_src == n_tgt)
    if joint:
        if n_src != n_tgt:
            raise UserError(
                f"chunking=joint needs sentence-aligned documents: {src['id']} has {n_src} "
                f"sentences, {tgt['id']} has {n_tgt}"
            )
        ranges = _groups_joint(src["sentence_tokens"], tgt["sentence_tokens"], config.chunk_tokens)
        groups = list(range(len(ranges)))
        return chunker.chunks(src, 0, ranges, groups), chunker.chunks(tgt, 1, ranges, groups)
    sides = []
    for side, doc in enumerate((src, tgt)):
        ranges = _groups_single(doc["sentence_tokens"], config.chunk_tokens)
        chunks = chunker.chunks(doc, side, ranges, list(range(len(ranges))))
        # Chunk k of one side goes with chunk k of the other: groups are chunk positions.
        sides.append([c._replace(group=c.index) for c in chunks])
    return sides[0], sides[1]


def build_interleaved(
    pairs: Iterable[DocPair],
    config: InterleaveConfig | None = None,
    *,
    counter: TokenCounter | None = None,
    run_id: str = "local",
    dataset: str | None = None,
) -> BuildResult:
    """Build interleaved samples from document pairs (see the module docstring)."""
    config = config or InterleaveConfig()
    counter = counter or FallbackCounter()
    pair_list = list(pairs)
    report = BuildReport(stage=STAGE, n_in=len(pair_list))
    filtered: list[dict[str, Any]] = []

    # 1. Count the sentences of every distinct document once, and the fixed costs.
    distinct: dict[int, dict[str, Any]] = {}
    for pair in pair_list:
        for doc in (pair.src, pair.tgt):
            distinct.setdefault(id(doc), doc)
    counted = dict(zip(distinct, count_sentences(distinct.values(), counter), strict=True))
    langs = sorted({d["lang"] for d in distinct.values()})
    prefixes = [
        config.chunk_prefix.format(lang=lang, lang_name=language_name(lang)) for lang in langs
    ]
    prefix_cost = dict(zip(langs, counter.count_batch(prefixes), strict=True))
    if max(prefix_cost.values(), default=0) + config.chunk_tokens > config.window_tokens:
        raise UserError("chunk_tokens plus the chunk prefix do not fit in the context window")
    budget = config.window_tokens
    write = _SampleWriter(
        config,
        counter.name,
        _separator_cost(counter, config.separator),
        _separator_cost(counter, config.pair_separator),
        run_id,
        dataset,
    )
    chunker = _Chunker(config, counter, prefix_cost)

    # 2-3. Chunk and interleave each pair.
    sequences: list[_Sequence] = []
    for pair in pair_list:
        src, tgt = counted[id(pair.src)], counted[id(pair.tgt)]
        if not any(s.strip() for s in src["sentences"]) or not any(
            s.strip() for s in tgt["sentences"]
        ):
            report.filter("empty_document")
            filtered.append({"id": pair.pair_id, "reason": "empty_document"})
            continue
        src_chunks, tgt_chunks = _chunk_pair(src, tgt, chunker)
        order = config.order
        if order == "alternate":
            order = "source-first" if len(sequences) % 2 == 0 else "target-first"
        first, second = (src_chunks, tgt_chunks)
        if order == "target-first":
            first, second = second, first
        split = assign_split(
            pair.pair_id, config.validation_fraction, config.test_fraction, config.seed
        )
        sequences.append(_Sequence(pair, order, split, _interleave(first, second)))

    # 4. Pack, within bins of (language pair, split) in order of first appearance.
    bins: dict[tuple[str, str, str], list[_Sequence]] = {}
    for seq in sequences:
        bins.setdefault((seq.pair.src["lang"], seq.pair.tgt["lang"], seq.split), []).append(seq)
    samples: list[dict[str, Any]] = []
    overlap_tokens = 0
    for members in bins.values():
        buffer: list[_Part] = []
        buffer_cost = 0
        for seq in members:
            costs = seq.costs
            windows = _windows(costs, budget, write.sep_cost, config.overlap_chunks)
            if len(windows) == 1 and config.pack_pairs:
                total = sum(costs) + write.sep_cost * (len(costs) - 1)
                if buffer and buffer_cost + write.pair_sep_cost + total <= budget:
                    buffer.append(_Part(seq, 0, len(costs)))
                    buffer_cost += write.pair_sep_cost + total
                    continue
                if buffer:
                    samples.append(write(buffer))
                buffer, buffer_cost = [_Part(seq, 0, len(costs))], total
                continue
            if buffer:
                samples.append(write(buffer))
                buffer, buffer_cost = [], 0
            previous_end = 0
            for w, (i, j) in enumerate(windows):
                overlap = max(0, previous_end - i) if w else 0
                overlap_tokens += sum(costs[i : i + overlap])
                previous_end = j
                samples.append(write([_Part(seq, i, j, w, len(windows), overlap)]))
        if buffer:
            samples.append(write(buffer))

    report.n_kept = len(sequences)
    report.n_out = len(samples)
    report.stats = {
        "tokenizer": counter.name,
        "chunks": sum(len(seq.chunks) for seq in sequences),
        "split_sentences": chunker.split_sentences,
        "tokens_out": sum(s["n_tokens"] for s in samples),
        "overlap_tokens": overlap_tokens,
        "separator_tokens": write.sep_cost,
        "pair_separator_tokens": write.pair_sep_cost,
    }
    report.check()
    return BuildResult(samples=samples, filtered=filtered, report=report)


def _interleave(first: list[Chunk], second: list[Chunk]) -> list[Chunk]:
    """Merge two sides group by group: all of ``first``'s chunks of a group, then ``second``'s."""
    out: list[Chunk] = []
    i = j = 0
    while i < len(first) or j < len(second):
        group = min(
            first[i].group if i < len(first) else 1 << 62,
            second[j].group if j < len(second) else 1 << 62,
        )
        while i < len(first) and first[i].group == group:
            out.append(first[i])
            i += 1
        while j < len(second) and second[j].group == group:
            out.append(second[j])
            j += 1
    return out
