"""Tokenisation for word alignment, reversible to character offsets.

Aligners work on words; projections must come back to character offsets of the original text.
:func:`tokenize` therefore returns every token with its ``(start, end)`` range in the input, so
``text[start:end] == token`` always holds and a span over tokens maps back to characters exactly.

Rules (Unicode-aware, language-independent unless noted):

- runs of letters, marks and digits form words; numbers keep inner ``.``/``,`` (``1,000.5``);
  hyphens and apostrophes between letters stay inside hyphenated words, except elisions:
  ``l'Europa`` splits after the apostrophe in Romance languages (fr, it, ca, pt, ...) and
  ``John's`` splits before it elsewhere (``John`` ``'s``; ``don't`` gives ``don`` ``'t``: the
  aligners only need the pieces to be consistent);
- every other non-space character is a token of its own (punctuation, symbols);
- scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan)
  are cut into grapheme clusters (one character plus its combining marks) unless a segmenter
  callable is given, which receives each such run and returns its words in order.

:func:`tokens_to_offsets` does the reverse job for text that arrives already tokenised (CoNLL):
it finds each token in the text and returns the offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import regex

#: Scripts that do not separate words with spaces.
NO_SPACE_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")

#: Languages where an apostrophe ends an elided word (``l'``, ``dell'``, ``qu'``).
ELISION_LANGS = frozenset({"fr", "it", "ca", "pt", "oc", "wa", "lb"})

_NOSPACE = "".join(rf"\p{{{s}}}" for s in NO_SPACE_SCRIPTS)
_NOSPACE_RUN = rf"(?:[{_NOSPACE}\u30fc\u3005][\p{{M}}]*)+"
_LETTER = rf"[^\W{_NOSPACE}\u30fc\u3005]"  # word characters outside no-space scripts
_NUMBER = r"\d+(?:[.,]\d+)+"
_APOS = "'\u2019"
# A word: letters/digits/marks, joined by hyphens; apostrophes handled by the two variants.
_WORD_APOS_BEFORE = (
    rf"[{_APOS}]?{_LETTER}[\p{{M}}]*(?:{_LETTER}|\p{{M}})*(?:-(?:{_LETTER}|\p{{M}})+)*"
)
_WORD_ELISION = rf"{_LETTER}(?:{_LETTER}|\p{{M}})*(?:-(?:{_LETTER}|\p{{M}})+)*(?:[{_APOS}](?=\w))?"

_TOKEN_DEFAULT = regex.compile(
    rf"(?P<ns>{_NOSPACE_RUN})|{_NUMBER}|{_WORD_APOS_BEFORE}|\X", regex.V1
)
_TOKEN_ELISION = regex.compile(rf"(?P<ns>{_NOSPACE_RUN})|{_NUMBER}|{_WORD_ELISION}|\X", regex.V1)
_GRAPHEME = regex.compile(r"\X")

Segmenter = Callable[[str], Sequence[str]]


class Tokens(NamedTuple):
    """Words of a text and the ``[start, end)`` character range of each."""

    tokens: list[str]
    offsets: list[tuple[int, int]]


def _segment_run(run: str, base: int, segmenter: Segmenter | None, out: Tokens) -> None:
    if segmenter is None:
        for m in _GRAPHEME.finditer(run):
            out.tokens.append(m.group())
            out.offsets.append((base + m.start(), base + m.end()))
        return
    pos = 0
    for word in segmenter(run):
        word = word.strip()
        if not word:
            continue
        found = run.find(word, pos)
        if found < 0:
            raise ValueError(f"segmenter returned {word!r}, which is not in {run!r} after {pos}")
        # Anything the segmenter skipped (it should not) becomes graphemes so nothing is lost.
        if found > pos:
            _segment_run(run[pos:found], base + pos, None, out)
        out.tokens.append(word)
        out.offsets.append((base + found, base + found + len(word)))
        pos = found + len(word)
    if pos < len(run):
        _segment_run(run[pos:], base + pos, None, out)


def tokenize(text: str, lang: str | None = None, segmenter: Segmenter | None = None) -> Tokens:
    """Split ``text`` into alignment tokens with their character offsets.

    ``lang`` (ISO 639-1/3 code, optional) only switches the apostrophe rule for elision
    languages; ``segmenter`` (e.g. ``jieba.lcut``) replaces per-character splitting of
    no-space scripts.
    """
    code = (lang or "").lower().split("_")[0].split("-")[0]
    pattern = _TOKEN_ELISION if code in ELISION_LANGS else _TOKEN_DEFAULT
    out = Tokens([], [])
    for m in pattern.finditer(text):
        piece = m.group()
        if m.group("ns") is not None:
            _segment_run(piece, m.start(), segmenter, out)
            continue
        # A grapheme cluster can start with a space (a combining mark after it): keep the rest.
        stripped = piece.strip()
        if not stripped:
            continue
        start = m.start() + piece.index(stripped)
        out.tokens.append(stripped)
        out.offsets.append((start, start + len(stripped)))
    return out


def tokens_to_offsets(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Locate already-made tokens in ``text`` (in order); raise ``ValueError`` if one is absent.

    Whitespace between tokens is skipped; a token must appear verbatim at or after the end of
    the previous one.
    """
    offsets: list[tuple[int, int]] = []
    pos = 0
    for token in tokens:
        found = text.find(token, pos)
        if found < 0 or text[pos:found].strip():
            raise ValueError(f"token {token!r} not found in text at or after offset {pos}")
        offsets.append((found, found + len(token)))
        pos = found + len(token)
    return offsets


def join_tokens(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens with single spaces; return the text and each token's offsets in it."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    for token in tokens:
        offsets.append((pos, pos + len(token)))
        pos += len(token) + 1
    return " ".join(tokens), offsets
