"""Sentence segmentation of documents, with character offsets and paragraph numbers.

Sentences come from ``sentencex`` (Wikimedia's segmenter: rules for about 300 languages, with a
fallback chain for the rest), applied paragraph by paragraph so a sentence never spans a blank
line. Offsets index the (normalised) document text, and the whitespace after each sentence is
kept, so ``"".join(s.text + s.ws_after for s in sentences)`` restores the document exactly.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import regex
from sentencex import segment as _sentencex_segment

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Every character at which sentencex ends a sentence in some language: Unicode's
# Sentence_Terminal, plus ":" and ";" (Greek's question mark after NFC), "՜" and "၏". Found by
# trying every punctuation and symbol character in every language langid knows; a test checks
# the set against sentencex. A text with none of them, or whose first one begins its final run
# of terminators (then only spaces), is one sentence and sentencex need not be asked (a test
# compares this shortcut with sentencex on random texts; quotes or brackets after the end already
# make sentencex split differently, so those texts take the long way): for some
# languages (ca, oc, it, ru, da, no, bg, af) it spends milliseconds on each candidate boundary.
_TERMINATORS = r"\p{Sentence_Terminal}:;\u055C\u104F"
_TERMINATOR = regex.compile(f"[{_TERMINATORS}]")
_WORD = regex.compile(r"[\p{L}\p{N}]")
_END = regex.compile(r"\p{Sentence_Terminal}*\s*")  # what may follow a text's only sentence end
# The same three patterns for ASCII text, with the standard library's lighter engine.
_ASCII_TERMINATOR = re.compile(r"[.!?:;]")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_ASCII_END = re.compile(r"[.!?]*[\t\n\x0b\x0c\r ]*")


class Sentence(NamedTuple):
    """One sentence: its text, ``[start, end)`` in the document, paragraph number, and the
    whitespace that follows it."""

    text: str
    start: int
    end: int
    paragraph: int
    ws_after: str


def split_sentences(text: str, lang: str) -> list[Sentence]:
    """Sentences of ``text`` in language ``lang`` (ISO 639 code; unknown codes fall back)."""
    if "\n" not in text:
        return _single_paragraph(text, lang)
    pieces: list[tuple[int, int, int]] = []  # (start, end, paragraph)
    paragraph_start = 0
    paragraph = 0
    bounds = [(m.start(), m.end()) for m in _PARAGRAPH_BREAK.finditer(text)] + [
        (len(text), len(text))
    ]
    for brk_start, brk_end in bounds:
        block = text[paragraph_start:brk_start]
        for start, end in _sentence_spans(block, lang):
            pieces.append((paragraph_start + start, paragraph_start + end, paragraph))
        if block.strip():
            paragraph += 1
        paragraph_start = brk_end
    sentences = []
    for i, (start, end, par) in enumerate(pieces):
        next_start = pieces[i + 1][0] if i + 1 < len(pieces) else len(text)
        sentences.append(Sentence(text[start:end], start, end, par, text[end:next_start]))
    return sentences


def _single_paragraph(text: str, lang: str) -> list[Sentence]:
    """The common case of a text without line breaks, without the paragraph bookkeeping."""
    if text.isascii():
        terminator, word, end = _ASCII_TERMINATOR, _ASCII_WORD, _ASCII_END
    else:
        terminator, word, end = _TERMINATOR, _WORD, _END
    first = terminator.search(text)
    if first is None or (
        end.fullmatch(text, first.start()) and word.search(text, 0, first.start())
    ):
        return _one_sentence(text)
    spans = _sentence_spans(text, lang)
    return [
        Sentence(
            text[start:end],
            start,
            end,
            0,
            text[end : spans[i + 1][0] if i + 1 < len(spans) else len(text)],
        )
        for i, (start, end) in enumerate(spans)
    ]


def _sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence sentencex finds in ``text``, without surrounding spaces."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in _sentencex_segment(lang or "en", text):
        stripped = sentence.strip()
        if not stripped:
            continue
        found = text.find(stripped, cursor)
        if found < 0:  # the segmenter changed the text; fall back to the rest of the text
            found, stripped = cursor, text[cursor:].strip()
        spans.append((found, found + len(stripped)))
        cursor = found + len(stripped)
    return spans


def _one_sentence(text: str) -> list[Sentence]:
    stripped = text.strip()
    if not stripped:
        return []
    start = text.index(stripped)
    end = start + len(stripped)
    return [Sentence(stripped, start, end, 0, text[end:])]
