"""Conversions between tag sequences, token spans and character spans.

Token spans are ``(start, end, label)`` with ``end`` exclusive, over token indices. Reading is
lenient in the way of conlleval: IOB1, IOB2, BIOES/BILOU are all understood, and an ``I-X`` that
does not continue an ``X`` span starts a new one. Writing is always IOB2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from curate.records import Span


class TokenSpan(NamedTuple):
    """A labelled range ``[start, end)`` of token indices."""

    start: int
    end: int
    label: str


def _split_tag(tag: str) -> tuple[str, str]:
    if tag in ("O", "", "_"):
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESLU":
        return tag[0], tag[2:]
    return "I", tag  # a bare label (``PER``) reads as inside that label


def tags_to_spans(tags: Sequence[str]) -> list[TokenSpan]:
    """Token spans of a tag sequence (IOB1/IOB2/BIOES, read leniently)."""
    spans: list[TokenSpan] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, lab = _split_tag(tag)
        begins = prefix in "BSU" or (prefix in "IEL" and (start < 0 or lab != label))
        if start >= 0 and (prefix == "O" or begins):
            spans.append(TokenSpan(start, i, label))
            start, label = -1, ""
        if prefix == "O":
            continue
        if begins:
            start, label = i, lab
        if prefix in "ESLU":
            spans.append(TokenSpan(start, i + 1, label))
            start, label = -1, ""
    if start >= 0:
        spans.append(TokenSpan(start, len(tags), label))
    return spans


def spans_to_tags(n_tokens: int, spans: Iterable[tuple[int, int, str]]) -> list[str]:
    """IOB2 tags for ``n_tokens`` tokens; spans must not overlap (raise ``ValueError``)."""
    tags = ["O"] * n_tokens
    for start, end, label in sorted(spans):
        if not 0 <= start < end <= n_tokens:
            raise ValueError(f"span ({start}, {end}) outside 0..{n_tokens}")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"span ({start}, {end}, {label}) overlaps another span")
        tags[start] = f"B-{label}"
        for k in range(start + 1, end):
            tags[k] = f"I-{label}"
    return tags


def token_spans_to_char(
    spans: Iterable[tuple[int, int, str]], offsets: Sequence[tuple[int, int]]
) -> list[Span]:
    """Character spans from token spans: from the first token's start to the last one's end."""
    return [Span(offsets[s][0], offsets[e - 1][1], label) for s, e, label in spans]


def char_spans_to_token(
    spans: Iterable[Span | tuple[int, int, str]], offsets: Sequence[tuple[int, int]]
) -> list[TokenSpan | None]:
    """Token spans covering each character span: every token that overlaps it.

    A span that overlaps no token (only whitespace, or outside the text) maps to ``None``;
    callers decide what to report.
    """
    out: list[TokenSpan | None] = []
    for start, end, label in spans:
        idx = [k for k, (s, e) in enumerate(offsets) if s < end and e > start]
        out.append(TokenSpan(idx[0], idx[-1] + 1, label) if idx else None)
    return out
