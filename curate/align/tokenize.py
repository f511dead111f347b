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
  are cut into words by the segmenter of the language (:mod:`curate.align.languages`: jieba for
  ``zh``, fugashi + unidic-lite for ``ja``, pythainlp for ``th``), or into grapheme clusters (one
  character plus its combining marks) where the language has none or is not given; a segmenter
  callable overrides that choice (:func:`graphemes` forces characters). It receives each such
  run and returns its words in order;
- Korean particles are split off the words they attach to (``서울에서`` -> ``서울`` ``에서``).

:func:`tokens_to_offsets` does the reverse job for text that arrives already tokenised (CoNLL):
it finds each token in the text and returns the offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import regex

from curate.align.languages import particle_starts, segmenter_for, suffix_cuts, treatment
from curate.languages import base_language

#: Scripts that do not separate words with spaces.
NO_SPACE_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")

#: Languages where an apostrophe ends an elided word (``l'``, ``dell'``, ``qu'``).
ELISION_LANGS = frozenset({"fr", "it", "ca", "pt", "oc", "wa", "lb"})

_NOSPACE = "".join(rf"\p{{{s}}}" for s in NO_SPACE_SCRIPTS)
_NOSPACE_RUN = rf"(?:[{_NOSPACE}\u30fc\u3005][\p{{M}}]*)+"
_LETTER = rf"[^\W{_NOSPACE}\u30fc\u3005]"  # word characters outside no-space scripts
_NUMBER = r"\d+(?:[.,]\d+)+"
_APOS = "'\u2019"
# Hebrew geresh/gershayim (or ASCII quotes standing for them) between Hebrew letters: צה״ל
_GERSH = r"""(?<=\p{Hebrew})["'\u05F3\u05F4](?=\p{Hebrew})"""
# A word: letters/digits/marks, joined by hyphens; apostrophes handled by the two variants.
_INNER = rf"(?:{_LETTER}|\p{{M}}|{_GERSH})"
_WORD_APOS_BEFORE = rf"[{_APOS}]?{_LETTER}[\p{{M}}]*{_INNER}*(?:-{_INNER}+)*"
_WORD_ELISION = rf"{_LETTER}{_INNER}*(?:-{_INNER}+)*(?:[{_APOS}](?=\w))?"

_TOKEN_DEFAULT = regex.compile(
    rf"(?P<ns>{_NOSPACE_RUN})|{_NUMBER}|{_WORD_APOS_BEFORE}|\X", regex.V1
)
_TOKEN_ELISION = regex.compile(rf"(?P<ns>{_NOSPACE_RUN})|{_NUMBER}|{_WORD_ELISION}|\X", regex.V1)
_GRAPHEME = regex.compile(r"\X")

Segmenter = Callable[[str], Sequence[str]]
_HANGUL = regex.compile(r"\p{Hangul}")


def graphemes(run: str) -> list[str]:
    """A segmenter that cuts a run into grapheme clusters (characters with their marks)."""
    return _GRAPHEME.findall(run)


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

    ``lang`` (ISO 639-1/3 code, optional) chooses the apostrophe rule for elision languages,
    the word segmenter of no-space scripts and the splitting of Korean particles;
    ``segmenter`` (e.g. ``jieba.lcut``, or :func:`graphemes`) replaces the language's choice
    for no-space scripts.
    """
    pattern = _TOKEN_ELISION if base_language(lang) in ELISION_LANGS else _TOKEN_DEFAULT
    if segmenter is None:
        segmenter = segmenter_for(lang)
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
    how = treatment(lang)
    if how.split_particles and _HANGUL.search(text):
        return _split_at(out, particle_starts(text))
    if how.particles:
        cuts = {s + c for t, (s, _) in zip(*out, strict=True) for c in suffix_cuts(t, how)}
        return _split_at(out, cuts)
    if how.clitics:  # a clitic written with a hyphen is a word of its own (``ב-2019``)
        cuts = set()
        for t, (s, _) in zip(*out, strict=True):
            head = t.split("-", 1)[0]
            if len(t) > len(head) + 1 and any(head in prefixes for _, prefixes in how.clitics):
                cuts |= {s + len(head), s + len(head) + 1}
        return _split_at(out, cuts)
    return out


def _split_at(tokens: Tokens, cuts: set[int]) -> Tokens:
    """Cut tokens at the character offsets in ``cuts`` that fall strictly inside them."""
    out = Tokens([], [])
    for token, (start, end) in zip(tokens.tokens, tokens.offsets, strict=True):
        pos = start
        for cut in [*sorted(c for c in cuts if start < c < end), end]:
            out.tokens.append(token[pos - start : cut - start])
            out.offsets.append((pos, cut))
            pos = cut
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
