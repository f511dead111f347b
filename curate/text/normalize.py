"""Unicode and whitespace normalisation that keeps character offsets valid.

What :func:`normalize` does, in order:

* removes control characters (NUL included) other than tab and newline, and the zero-width space
  and byte-order mark; ``\\r\\n`` and lone ``\\r`` become ``\\n``. Zero-width (non-)joiners stay:
  they carry meaning in Persian and Indic scripts;
* composes to Unicode NFC;
* turns tabs and Unicode space separators (no-break space, ideographic space, ...) into one ASCII
  space, collapses runs of spaces, strips spaces at line ends, keeps at most one blank line
  between paragraphs, and strips the text.

It returns the new text and, when anything changed, a map from every original offset to the new
one, so spans given on the original text are carried onto the normalised text
(:meth:`Normalized.map_span`). The original text is kept by the caller (``text_original``), which
makes the step reversible. Clean text takes a fast path and is returned untouched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_REMOVE = {"\u200b", "\ufeff"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\t]")
_EDGES = (" ", "\n")


@dataclass(frozen=True)
class Normalized:
    text: str
    offsets: (
        list[int] | None
    )  # original offset -> new offset (len(original) + 1), None if unchanged

    @property
    def changed(self) -> bool:
        return self.offsets is not None

    def map_offset(self, offset: int) -> int:
        return offset if self.offsets is None else self.offsets[offset]

    def map_span(self, start: int, end: int) -> tuple[int, int]:
        """The new ``[start, end)`` of an original span, shrunk off any whitespace it gained."""
        if self.offsets is None:
            return start, end
        new_start, new_end = self.offsets[start], self.offsets[end]
        while new_start < new_end and self.text[new_start].isspace():
            new_start += 1
        while new_end > new_start and self.text[new_end - 1].isspace():
            new_end -= 1
        return new_start, new_end


def _dirty_ascii(text: str) -> bool:
    """ASCII that normalising would change: control characters, tabs, doubled spaces, spaces
    at line ends, more than one blank line, or a space or line break at either end."""
    return (
        text[:1] in _EDGES
        or text[-1:] in _EDGES
        or "  " in text
        or " \n" in text
        or "\n " in text
        or "\n\n\n" in text
        or _CONTROL.search(text) is not None
    )


def _is_clean(text: str) -> bool:
    if text.isascii():
        return not _dirty_ascii(text)
    if not unicodedata.is_normalized("NFC", text) or _dirty_ascii(text):
        return False
    return not any(_special(c) for c in text if not c.isascii())


def _special(char: str) -> bool:
    return char in _REMOVE or unicodedata.category(char) in ("Zs", "Cc", "Zl", "Zp")


def normalize(text: str) -> Normalized:
    if _is_clean(text):
        return Normalized(text, None)
    # 1. character clean-up, remembering where each kept character came from
    chars: list[str] = []
    origin: list[int] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\r":
            chars.append("\n")
            origin.append(i)
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif c == "\t" or c in ("\u2028", "\u2029"):
            chars.append(" " if c == "\t" else "\n")
            origin.append(i)
        elif c == "\n":
            chars.append(c)
            origin.append(i)
        elif c in _REMOVE or unicodedata.category(c) == "Cc":
            pass
        elif unicodedata.category(c) == "Zs":
            chars.append(" ")
            origin.append(i)
        else:
            chars.append(c)
            origin.append(i)
        i += 1
    # 2. NFC per run of a starter and its combining marks
    composed: list[str] = []
    comp_origin: list[int] = []
    j = 0
    while j < len(chars):
        k = j + 1
        while k < len(chars) and unicodedata.combining(chars[k]):
            k += 1
        run = unicodedata.normalize("NFC", "".join(chars[j:k]))
        for n, c in enumerate(run):
            composed.append(c)
            comp_origin.append(origin[j + min(n, k - j - 1)])
        j = k
    # 3. whitespace: collapse spaces, strip line ends, at most one blank line
    out: list[str] = []
    out_origin: list[int] = []
    for c, o in zip(composed, comp_origin, strict=True):
        if c == " ":
            if not out or out[-1] in (" ", "\n"):
                continue
        elif c == "\n":
            while out and out[-1] == " ":
                out.pop()
                out_origin.pop()
            if not out or (len(out) >= 2 and out[-1] == "\n" and out[-2] == "\n"):
                continue
        out.append(c)
        out_origin.append(o)
    while out and out[-1] in (" ", "\n"):
        out.pop()
        out_origin.pop()
    new_text = "".join(out)
    # original offset -> new offset: the position of the first kept character at or after it
    offsets = [len(new_text)] * (len(text) + 1)
    for new_index in range(len(out_origin) - 1, -1, -1):
        offsets[out_origin[new_index]] = new_index
    # a dropped character maps to the next kept one
    for orig in range(len(text) - 1, -1, -1):
        offsets[orig] = min(offsets[orig], offsets[orig + 1])
    if new_text == text:
        return Normalized(text, None)
    return Normalized(new_text, offsets)
