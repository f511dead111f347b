"""Small text helpers shared by the detectors (script-aware words, sentence-final punctuation)."""

from __future__ import annotations

import re

# Scripts written without spaces between words: every character counts as a word.
_UNSPACED = (
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana, CJK ideographs
)
WORD_RE = re.compile(rf"[{_UNSPACED}]|[^\W_{_UNSPACED}]+")

#: polars (Rust regex) pattern of a character that carries content: a letter or a digit.
CONTENT_CHAR = r"[\p{L}\p{N}]"

#: Sentence-final punctuation across scripts (Latin, CJK full width, Arabic, Devanagari, ...).
FINAL_PUNCT = ".!?…:;。！？｡؟۔।॥።"
#: Closing quotes and brackets that may follow the final punctuation.
CLOSERS = "\"'”’»›“‘)]}）」』】》〉\u00a0\u202f "


def words(text: str) -> list[str]:
    """Lower-cased words; characters of unspaced scripts (CJK, Thai, ...) are one word each."""
    return WORD_RE.findall(text.lower())
