"""Token tags (IOB1, IOB2) to character spans and back.

``tags_to_spans`` reads either scheme (an ``I-X`` that starts a span is accepted, as IOB1 writes
it); ``detect_scheme`` says which one a sentence was written in, and ``spans_to_tags`` writes
that scheme again, so a valid sentence goes tags -> spans -> tags unchanged.
"""

from __future__ import annotations

from curate.records import Span


class TagError(ValueError):
    """A tag that is neither ``O`` nor ``B-X``/``I-X``."""


def parse_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[0] in "BI" and tag[1] in "-_":
        return tag[0], tag[2:]
    raise TagError(f"bad tag {tag!r}: expected O, B-TYPE or I-TYPE")


def token_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """``(first_token, last_token_exclusive, label)`` for each entity."""
    spans: list[tuple[int, int, str]] = []
    start: int | None = None
    label: str | None = None
    for i, tag in enumerate(tags):
        prefix, typ = parse_tag(tag)
        continues = prefix == "I" and start is not None and typ == label
        if start is not None and not continues:
            spans.append((start, i, label or ""))
            start, label = None, None
        if prefix != "O" and not continues:
            start, label = i, typ
    if start is not None:
        spans.append((start, len(tags), label or ""))
    return spans


def detect_scheme(tags: list[str]) -> str:
    """``iob1`` if some span starts with ``I-``, else ``iob2``."""
    previous: str | None = None
    for tag in tags:
        prefix, typ = parse_tag(tag)
        if prefix == "I" and previous != typ:
            return "iob1"
        previous = typ
    return "iob2"


def tags_from_token_spans(
    n_tokens: int, spans: list[tuple[int, int, str]], scheme: str = "iob2"
) -> list[str]:
    tags = ["O"] * n_tokens
    previous_end, previous_label = -1, None
    for start, end, label in sorted(spans):
        for i in range(start, end):
            tags[i] = f"I-{label}"
        if scheme == "iob2" or (previous_end == start and previous_label == label):
            tags[start] = f"B-{label}"
        previous_end, previous_label = end, label
    return tags


def char_spans(offsets: list[tuple[int, int]], tags: list[str]) -> list[Span]:
    """Character spans of the entities, given each token's character range."""
    return [
        Span(offsets[first][0], offsets[last - 1][1], label)
        for first, last, label in token_spans(tags)
    ]


def spans_to_tags(
    offsets: list[tuple[int, int]], spans: list[Span], scheme: str = "iob2"
) -> list[str]:
    """Tags for tokens at ``offsets``: a token is inside a span if its range overlaps it."""
    token_level: list[tuple[int, int, str]] = []
    for span in spans:
        inside = [i for i, (s, e) in enumerate(offsets) if s < span.end and e > span.start]
        if inside:
            token_level.append((inside[0], inside[-1] + 1, span.label))
    return tags_from_token_spans(len(offsets), token_level, scheme)
