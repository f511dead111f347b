"""The Pharaoh word-alignment format: one sentence pair per line, links separated by spaces.

``i-j`` is a sure link, ``ipj`` (or ``i?j``) a possible one. Indices are 0-based unless
``one_based=True``; they are 0-based once read. Aligners write it (:mod:`curate.align.bitext`),
evaluation and benchmarks read gold and predictions with it (:mod:`curate.evaluate.alignment`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex

Link = tuple[int, int]

_LINK = regex.compile(r"^(\d+)([-p?])(\d+)$")


@dataclass(frozen=True)
class GoldAlignment:
    """Gold links of one sentence pair: ``possible`` includes every sure link."""

    sure: frozenset[Link]
    possible: frozenset[Link]


def parse_pharaoh(line: str, one_based: bool = False) -> GoldAlignment:
    """Parse one Pharaoh line; raise ``ValueError`` on a malformed link."""
    sure: set[Link] = set()
    possible: set[Link] = set()
    shift = 1 if one_based else 0
    for item in line.split():
        m = _LINK.match(item)
        if m is None:
            raise ValueError(f"not a Pharaoh link: {item!r}")
        link = (int(m.group(1)) - shift, int(m.group(3)) - shift)
        if link[0] < 0 or link[1] < 0:
            raise ValueError(f"link {item!r} is below 1 but one_based=True")
        possible.add(link)
        if m.group(2) == "-":
            sure.add(link)
    return GoldAlignment(frozenset(sure), frozenset(possible))


def read_pharaoh(path: str | Path, one_based: bool = False) -> list[GoldAlignment]:
    """Read a Pharaoh file: one :class:`GoldAlignment` per line (empty lines are empty pairs)."""
    with open(path, encoding="utf-8") as f:
        out = []
        for lineno, line in enumerate(f, 1):
            try:
                out.append(parse_pharaoh(line, one_based))
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
        return out


def format_pharaoh(links: Iterable[Link], one_based: bool = False) -> str:
    """One Pharaoh line for ``links`` (sorted, sure links only)."""
    shift = 1 if one_based else 0
    return " ".join(f"{i + shift}-{j + shift}" for i, j in sorted(links))


def write_pharaoh(path: str | Path, alignments: Iterable[Iterable[Link]], one_based=False) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for links in alignments:
            f.write(format_pharaoh(links, one_based) + "\n")
