"""Token tags (IOB1, IOB2, BIOES, BILOU) to spans and back: the one tag rule of the project.

Ingest, projection, evaluation and export all read tags here, so a file that one accepts the
others accept too. The rule:

* A tag is ``O`` or ``P-TYPE`` (``P_TYPE`` too) with the prefix ``P`` one of ``B`` and ``I``
  (IOB1, IOB2), ``E`` and ``S`` (BIOES) or ``L`` and ``U`` (BILOU). Anything else (a bare
  ``PER``, ``X-PER``, an empty tag) raises :class:`TagError`: a typo is reported, not read as
  an entity or as nothing.
* A sequence is read leniently, the way conlleval reads it: ``B``/``S``/``U`` start a span,
  ``E``/``S``/``L``/``U`` end one, and an ``I``/``E``/``L`` that does not continue a span of its
  type starts a new one (as IOB1 writes it). So IOB1, IOB2 and BIOES files of the same
  entities give the same spans.
* :func:`detect_scheme` says which scheme a sentence was written in and :func:`spans_to_tags`
  writes that scheme again, so a valid sentence goes tags -> spans -> tags unchanged.

Token spans are ``(start, end, label)`` over token indices, ``end`` exclusive; character spans
are :class:`curate.records.Span`. CoNLL sentence text is the tokens joined by single spaces
(:func:`join_tokens`, :func:`tagged_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from curate.records import Span

#: schemes :func:`detect_scheme` names, from the one a sentence without entities reads as to the
#: most specific: a file's scheme is the highest its sentences show (:func:`most_specific_scheme`)
SCHEMES = ("iob2", "iob1", "bioes", "bilou")
_PREFIXES = "BIESLU"
#: the letters a scheme writes for (begin, inside, end, single)
_LETTERS = {"bioes": "BIES", "bilou": "BILU"}


class TagError(ValueError):
    """A tag that is neither ``O`` nor ``B-``/``I-``/``E-``/``S-``/``L-``/``U-`` and a type."""


class TokenSpan(NamedTuple):
    """A labelled range ``[start, end)`` of token indices."""

    start: int
    end: int
    label: str


class TaggedText(NamedTuple):
    """A CoNLL sentence as text: tokens joined by spaces, each token's range, entity spans."""

    text: str
    offsets: list[tuple[int, int]]
    spans: list[Span]


def parse_tag(tag: str) -> tuple[str, str | None]:
    """``(prefix, type)`` of a tag; ``("O", None)`` for ``O``. Raises :class:`TagError`."""
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[0] in _PREFIXES and tag[1] in "-_":
        return tag[0], tag[2:]
    raise TagError(f"bad tag {tag!r}: expected O or B-, I-, E-, S- (BIOES), L-, U- and a type")


def tags_to_spans(tags: Sequence[str]) -> list[TokenSpan]:
    """Token spans of a tag sequence in any of the schemes, read leniently (see the module)."""
    spans: list[TokenSpan] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, typ = parse_tag(tag)
        lab = typ or ""
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


def detect_scheme(tags: Sequence[str]) -> str:
    """The scheme a sentence is written in: ``bilou`` if it has an ``L-`` or ``U-`` tag,
    ``bioes`` if an ``E-`` or ``S-``, ``iob1`` if some span starts with ``I-``, else ``iob2``.
    Raises :class:`TagError` on a malformed tag."""
    prefixes = {parse_tag(t)[0] for t in tags}
    if prefixes & set("LU"):
        return "bilou"
    if prefixes & set("ES"):
        return "bioes"
    previous: str | None = None
    for tag in tags:
        prefix, typ = parse_tag(tag)
        if prefix == "I" and previous != typ:
            return "iob1"
        previous = typ
    return "iob2"


def most_specific_scheme(schemes: Iterable[str]) -> str:
    """The scheme of a file from its sentences' :func:`detect_scheme`: the most specific one
    (a sentence without entities, or with ``B-`` starts only, fits every scheme)."""
    return max(schemes, key=SCHEMES.index, default="iob2")


def spans_to_tags(
    n_tokens: int, spans: Iterable[tuple[int, int, str]], scheme: str = "iob2"
) -> list[str]:
    """Tags of ``n_tokens`` tokens in ``scheme``; spans must not overlap (``ValueError``).

    IOB1 writes ``B-`` only where a span follows one of the same type directly.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}: choose from {', '.join(SCHEMES)}")
    tags = ["O"] * n_tokens
    previous_end, previous_label = -1, None
    for start, end, label in sorted(spans):
        if not 0 <= start < end <= n_tokens:
            raise ValueError(f"span ({start}, {end}) outside 0..{n_tokens}")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"span ({start}, {end}, {label}) overlaps another span")
        begin, inside, last, single = _LETTERS.get(scheme, "BIIB")
        for k in range(start, end):
            tags[k] = f"{inside}-{label}"
        if scheme == "iob1" and not (previous_end == start and previous_label == label):
            begin = single = "I"
        tags[start] = f"{begin}-{label}"
        if end - start == 1:
            tags[start] = f"{single}-{label}"
        elif scheme in _LETTERS:
            tags[end - 1] = f"{last}-{label}"
        previous_end, previous_label = end, label
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


def tags_to_char_spans(tags: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[Span]:
    """Character spans of the entities, given each token's character range."""
    return token_spans_to_char(tags_to_spans(tags), offsets)


def char_spans_to_tags(
    spans: Iterable[Span | tuple[int, int, str]],
    offsets: Sequence[tuple[int, int]],
    scheme: str = "iob2",
) -> list[str]:
    """Tags for tokens at ``offsets``: a token is inside a span if its range overlaps it."""
    token_level = [s for s in char_spans_to_token(spans, offsets) if s is not None]
    return spans_to_tags(len(offsets), token_level, scheme)


def join_tokens(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens with single spaces; return the text and each token's offsets in it."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    for token in tokens:
        offsets.append((pos, pos + len(token)))
        pos += len(token) + 1
    return " ".join(tokens), offsets


def tagged_text(tokens: Sequence[str], tags: Sequence[str]) -> TaggedText:
    """A CoNLL sentence's text (tokens joined by single spaces), token offsets and entity
    character spans: what ingest stores and what gold spans are scored against."""
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    text, offsets = join_tokens(tokens)
    return TaggedText(text, offsets, tags_to_char_spans(tags, offsets))
