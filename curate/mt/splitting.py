"""Split a text that is too long for the model into pieces that fit, at natural boundaries.

A piece ends preferably after sentence or clause punctuation followed by a space, otherwise at
any whitespace; the split point closest to the middle is taken and both halves are split
again until every piece fits. A piece with no whitespace left that still does not fit (a long
URL, text in a script written without spaces) is truncated to the limit and flagged: nothing
is cut without the caller knowing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_STRONG = re.compile(r"(?<=[.!?;:。！？；：])\s+")
_WEAK = re.compile(r"(?<=[,，、)\]])\s+|\s+")


@dataclass(frozen=True)
class Piece:
    text: str
    tokens: list[str]
    truncated: bool = False


def _best_split(text: str) -> tuple[int, int] | None:
    """(end of left part, start of right part) nearest the middle, punctuation first."""
    middle = len(text) / 2
    for pattern in (_STRONG, _WEAK):
        spans = [m.span() for m in pattern.finditer(text) if m.start() > 0 and m.end() < len(text)]
        # Punctuation boundaries must leave a reasonable share on each side to be preferred.
        if pattern is _STRONG:
            spans = [s for s in spans if len(text) / 5 <= s[0] <= len(text) * 4 / 5]
        if spans:
            return min(spans, key=lambda s: abs(s[0] - middle))
    return None


def split_to_fit(
    text: str,
    tokens: list[str],
    limit: int,
    encode: Callable[[str], list[str]],
) -> list[Piece]:
    """Pieces of ``text`` (already tokenised as ``tokens``) of at most ``limit`` tokens each."""
    if len(tokens) <= limit:
        return [Piece(text, tokens)]
    cut = _best_split(text)
    if cut is None:
        return [Piece(text, tokens[:limit], truncated=True)]
    left, right = text[: cut[0]], text[cut[1] :]
    return split_to_fit(left, encode(left), limit, encode) + split_to_fit(
        right, encode(right), limit, encode
    )
