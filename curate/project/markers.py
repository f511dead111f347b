"""Marker-based span projection (EasyProject style, Chen et al. 2023) for translate-train.

Labelled spans are wrapped in markers (``[`` and ``]`` by default) before translation; a model
that keeps markers returns the translation with the spans still marked. After translation the
markers are parsed out, mangled markers are repaired, and labels are given back to the marked
spans: in order when every span has the same label (or when asked), otherwise by matching each
marked span to a separate translation of each source span's text, exactly first and then by
fuzzy similarity (rapidfuzz). When the number of marked spans does not equal the number of
source spans, the example's projection is dropped with a reason; nothing is guessed.

The translation step is any callable ``list[str] -> list[str]`` (for example curate's
CTranslate2 engine), called once per batch with the marked texts, and once more with the span
texts of the examples that need them.

Repairs (each recorded as a reason): look-alike brackets (``［``, ``【`` ...) and HTML entities
read as markers; doubled markers (``[[``) collapse; nested markers keep the outer pair; markers
without a partner and empty marker pairs are removed. Whitespace that a marker leaves behind is
removed so the text reads as if it had never been marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import regex

from curate.align.tokenize import Tokens, tokenize
from curate.project.alignment import (
    COMPLETE,
    DROPPED,
    LabelledText,
    ProjectionResult,
    Tokenizer,
)
from curate.records import Span
from curate.text.tags import char_spans_to_token, spans_to_tags

#: an MT call: one output per input, ``None`` where the engine failed
Translate = Callable[[list[str]], "list[str] | list[str | None]"]

#: characters machine translation tends to substitute for ``[`` and ``]``
_OPEN_VARIANTS = ("［", "【", "〔", "〖", "⟦", "&#91;", "&lsqb;", "&lbrack;")
_CLOSE_VARIANTS = ("］", "】", "〕", "〗", "⟧", "&#93;", "&rsqb;", "&rbrack;")


@dataclass(frozen=True)
class MarkerConfig:
    """Options of marker-based projection."""

    open: str = "["
    close: str = "]"
    #: how labels find their spans: "auto" (in order when there is only one label type in the
    #: example, else by matching span translations), "order", or "match"
    label_matching: str = "auto"
    #: below this rapidfuzz ratio (0-100) a fuzzy span match is reported as weak
    min_similarity: float = 50.0
    #: read look-alike brackets and HTML entities as markers (only for the default markers)
    repair_lookalikes: bool = True

    def __post_init__(self) -> None:
        if not self.open or not self.close or self.open == self.close:
            raise ValueError("open and close markers must be two different non-empty strings")
        if self.label_matching not in ("auto", "order", "match"):
            raise ValueError("label_matching must be 'auto', 'order' or 'match'")


@dataclass
class ParsedMarkers:
    """A translation with its markers taken out."""

    text: str
    spans: list[tuple[int, int]]  # unlabelled character ranges into ``text``, in order
    repairs: list[str] = field(default_factory=list)


def insert_markers(text: str, spans: Sequence[Span], config: MarkerConfig = MarkerConfig()) -> str:
    """``text`` with every span wrapped as ``open + surface + close`` (spaces around).

    Raises ``ValueError`` if spans overlap or the text already contains a marker string.
    """
    if config.open in text or config.close in text:
        raise ValueError("the text already contains a marker string")
    out, pos = [], 0
    for span in sorted(spans):
        if span.start < pos:
            raise ValueError(f"span {span} overlaps the previous span")
        out.append(text[pos : span.start])
        out.append(f"{config.open} {text[span.start : span.end]} {config.close}")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _normalise_lookalikes(text: str, config: MarkerConfig, repairs: list[str]) -> str:
    if not config.repair_lookalikes or (config.open, config.close) != ("[", "]"):
        return text
    for variants, marker in ((_OPEN_VARIANTS, "["), (_CLOSE_VARIANTS, "]")):
        for v in variants:
            if v in text:
                text = text.replace(v, marker)
                repairs.append(f"read {v!r} as marker {marker!r}")
    return text


def parse_markers(translated: str, config: MarkerConfig = MarkerConfig()) -> ParsedMarkers:
    """Take markers out of a translation, repairing what can be repaired."""
    repairs: list[str] = []
    text = _normalise_lookalikes(translated, config, repairs)
    o, c = regex.escape(config.open), regex.escape(config.close)
    # Directly repeated markers ("[[", "]]") are one marker; spaced ones are paired below.
    collapsed = regex.sub(rf"(?:{o}){{2,}}", config.open, text)
    collapsed = regex.sub(rf"(?:{c}){{2,}}", config.close, collapsed)
    if collapsed != text:
        repairs.append("collapsed doubled markers")
    text = collapsed
    # Find marker positions and pair them with a stack (outermost pair wins).
    events = [
        (m.start(), m.end(), m.group() == config.open) for m in regex.finditer(f"{o}|{c}", text)
    ]
    pairs: list[tuple[int, int, int, int]] = []  # open start, open end, close start, close end
    stack: list[tuple[int, int]] = []
    unmatched: list[tuple[int, int]] = []
    for start, end, is_open in events:
        if is_open:
            stack.append((start, end))
        elif stack:
            o_start, o_end = stack.pop()
            if stack:
                repairs.append("removed a nested (or doubled) marker pair")
                unmatched.extend([(o_start, o_end), (start, end)])
            elif not text[o_end:start].strip():
                repairs.append("removed an empty marker pair")
                unmatched.append((o_start, end))
            else:
                pairs.append((o_start, o_end, start, end))
        else:
            unmatched.append((start, end))
            repairs.append("removed a closing marker without an opening one")
    for start, end in stack:
        unmatched.append((start, end))
        repairs.append("removed an opening marker without a closing one")
    # Characters to remove: every marker, plus the space the marking put next to it. Markers
    # are handled left to right, looking past what was already removed.
    removed: set[int] = set()

    def neighbour(k: int, step: int) -> int:
        while 0 <= k < len(text) and k in removed:
            k += step
        return k

    def char(k: int) -> str:
        return text[k] if 0 <= k < len(text) else ""

    markers = [(st, en, "drop") for st, en in unmatched]
    markers += [(a, b, "open") for a, b, _, _ in pairs] + [
        (c0, c1, "close") for _, _, c0, c1 in pairs
    ]
    for start, end, kind in sorted(markers):
        removed.update(range(start, end))
        before, after = neighbour(start - 1, -1), neighbour(end, 1)
        if kind == "open" and char(after) == " " and not char(before).isalnum():
            removed.add(after)
        elif kind == "close" and char(before) == " " and not char(after).isalnum():
            removed.add(before)
        elif kind == "drop" and char(before) in ("", " ") and char(after) in ("", " "):
            if char(before) == " ":
                removed.add(before)
            elif char(after) == " ":
                removed.add(after)
    new_pos = []
    kept = []
    for k, ch in enumerate(text):
        new_pos.append(len(kept))
        if k not in removed:
            kept.append(ch)
    new_pos.append(len(kept))
    clean = "".join(kept)
    spans = []
    for _, o_end, c_start, _ in sorted(pairs):
        s, e = new_pos[o_end], new_pos[c_start]
        while s < e and clean[s].isspace():
            s += 1
        while e > s and clean[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        else:
            repairs.append("removed an empty marker pair")
    return ParsedMarkers(clean, spans, repairs)


def _norm(text: str) -> str:
    return " ".join(regex.sub(r"[^\p{L}\p{N}]+", " ", text.casefold()).split())


def match_spans(
    source_spans: Sequence[Span],
    target_surfaces: Sequence[str],
    span_translations: Sequence[str] | None,
    min_similarity: float = 50.0,
) -> tuple[list[int], list[str]]:
    """For each target span, the index of the source span it renders; and notes.

    Both lists have the same length. Without ``span_translations`` spans match in order.
    Otherwise exact (normalised) matches of a target span to a source span's separate
    translation come first, the rest by the best total rapidfuzz similarity, ties by order.
    """
    n = len(source_spans)
    if len(target_surfaces) != n:
        raise ValueError(f"{n} source spans but {len(target_surfaces)} target spans")
    if span_translations is None:
        return list(range(n)), []
    import numpy as np
    from rapidfuzz import fuzz
    from scipy.optimize import linear_sum_assignment

    src = [_norm(t) for t in span_translations]
    tgt = [_norm(t) for t in target_surfaces]
    score = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            exact = bool(src[i]) and src[i] == tgt[j]
            score[i, j] = 1000.0 if exact else fuzz.ratio(src[i], tgt[j])
            score[i, j] += 0.01 * (i == j)  # prefer the original order on ties
    rows, cols = linear_sum_assignment(score, maximize=True)
    origin = [0] * n
    notes = []
    for i, j in zip(rows, cols, strict=True):
        origin[j] = int(i)
        if score[i, j] < min_similarity and source_spans[i].label != source_spans[j].label:
            notes.append(
                f"span {i} ({source_spans[i].label}): weak match ({score[i, j]:.0f}) "
                f"to marked span {j}"
            )
    return origin, notes


def project_with_markers(
    examples: Sequence[LabelledText],
    translate: Translate,
    *,
    tgt_lang: str | None = None,
    config: MarkerConfig = MarkerConfig(),
    tokenizer: Tokenizer = tokenize,
) -> list[ProjectionResult]:
    """translate-train by markers: one result per example.

    ``result.text`` is the translation with the markers taken out; spans and tags label it.
    """
    marked: list[str | None] = []
    problems: dict[int, str] = {}
    for k, ex in enumerate(examples):
        try:
            marked.append(insert_markers(ex.text, ex.spans, config))
        except ValueError as exc:
            marked.append(None)
            problems[k] = f"cannot mark spans: {exc}"
    to_translate = [m for m in marked if m is not None]
    outputs = iter(translate(to_translate)) if to_translate else iter(())
    translated = [next(outputs) if m is not None else None for m in marked]
    for k, (m, t) in enumerate(zip(marked, translated, strict=True)):
        if m is not None and t is None:
            problems[k] = "the translation failed"
    parsed = [parse_markers(t, config) if t is not None else None for t in translated]
    # Which examples need span translations to tell labels apart.
    need = []
    for k, (ex, p) in enumerate(zip(examples, parsed, strict=True)):
        several = len({s.label for s in ex.spans}) > 1
        wanted = config.label_matching == "match" or (config.label_matching == "auto" and several)
        if wanted and p is not None and ex.spans and len(p.spans) == len(ex.spans):
            need.append(k)
    span_texts = [s.surface(examples[k].text) for k in need for s in sorted(examples[k].spans)]
    span_out = iter(translate(span_texts)) if span_texts else iter(())
    span_translations = {k: [next(span_out) for _ in examples[k].spans] for k in need}
    results = []
    for k, (ex, p) in enumerate(zip(examples, parsed, strict=True)):
        results.append(
            _result(ex, p, problems.get(k), span_translations.get(k), config, tokenizer, tgt_lang)
        )
    return results


def _result(
    ex: LabelledText,
    parsed: ParsedMarkers | None,
    problem: str | None,
    span_translations: list[str] | None,
    config: MarkerConfig,
    tokenizer: Tokenizer,
    tgt_lang: str | None,
) -> ProjectionResult:
    n = len(ex.spans)
    if parsed is None:
        return ProjectionResult(
            [], [], [], DROPPED, [problem or "not translated"], n, method="marker"
        )
    toks: Tokens = tokenizer(parsed.text, tgt_lang)
    reasons = [f"repair: {r}" for r in parsed.repairs]
    if len(parsed.spans) != n:
        reasons.append(f"count mismatch: {n} spans marked, {len(parsed.spans)} in translation")
        return ProjectionResult(
            [],
            [],
            ["O"] * len(toks.tokens),
            DROPPED if n else COMPLETE,
            reasons,
            n,
            text=parsed.text,
            tokens=toks.tokens,
            offsets=toks.offsets,
            method="marker",
        )
    order = sorted(range(n), key=lambda k: ex.spans[k])  # markers were inserted in text order
    source_sorted = [ex.spans[k] for k in order]
    surfaces = [parsed.text[s:e] for s, e in parsed.spans]
    origin, notes = match_spans(source_sorted, surfaces, span_translations, config.min_similarity)
    reasons.extend(notes)
    spans = [
        Span(s, e, source_sorted[i].label) for (s, e), i in zip(parsed.spans, origin, strict=True)
    ]
    token_spans = [t for t in char_spans_to_token(spans, toks.offsets) if t is not None]
    try:
        tags = spans_to_tags(len(toks.tokens), token_spans)
    except ValueError:
        tags = ["O"] * len(toks.tokens)
        reasons.append("spans share a word; no tags written")
    return ProjectionResult(
        spans=spans,
        token_spans=token_spans,
        tags=tags,
        status=COMPLETE,
        reasons=reasons,
        n_source_spans=n,
        source_index=[order[i] for i in origin],
        text=parsed.text,
        tokens=toks.tokens,
        offsets=toks.offsets,
        method="marker",
    )
