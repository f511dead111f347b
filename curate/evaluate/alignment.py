"""Word-alignment quality against human gold: AER, precision, recall and F1.

Gold and predictions are in Pharaoh format, one sentence pair per line, links separated by
spaces: ``i-j`` is a sure link, ``ipj`` (or ``i?j``) a possible one. Indices are 0-based unless
``one_based=True``; they are 0-based once read. Following Och and Ney (2003), with ``A`` the
predicted links, ``S`` the sure and ``P`` the possible gold links (``S`` is a subset of ``P``):

    precision = |A & P| / |A|      recall = |A & S| / |S|
    AER = 1 - (|A & S| + |A & P|) / (|A| + |S|)

F1 is the harmonic mean of that precision and recall. Counts are summed over the corpus before
dividing (micro average), the usual convention of published AER tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class AlignmentScores:
    aer: float
    precision: float
    recall: float
    f1: float
    n_pairs: int
    n_predicted: int
    n_sure: int
    n_possible: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def score_alignments(
    predicted: Sequence[Iterable[Link]], gold: Sequence[GoldAlignment]
) -> AlignmentScores:
    """Corpus-level AER/precision/recall/F1; ``predicted`` and ``gold`` are line-parallel."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted alignments but {len(gold)} gold ones")
    n_a = n_s = n_p = a_s = a_p = 0
    for pred, g in zip(predicted, gold, strict=True):
        a = set(pred)
        n_a += len(a)
        n_s += len(g.sure)
        n_p += len(g.possible)
        a_s += len(a & g.sure)
        a_p += len(a & g.possible)
    precision = a_p / n_a if n_a else 0.0
    recall = a_s / n_s if n_s else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    aer = 1.0 - (a_s + a_p) / (n_a + n_s) if n_a + n_s else 0.0
    return AlignmentScores(aer, precision, recall, f1, len(gold), n_a, n_s, n_p)


def evaluate_alignment_files(
    pred_path: str | Path,
    gold_path: str | Path,
    one_based: bool = False,
    pred_one_based: bool | None = None,
) -> AlignmentScores:
    """Score a predicted Pharaoh file against a gold one (``curate eval align``).

    ``one_based`` applies to the gold file and, unless ``pred_one_based`` says otherwise, to
    the predictions too.
    """
    gold = read_pharaoh(gold_path, one_based)
    pred_based = one_based if pred_one_based is None else pred_one_based
    predicted = [g.possible for g in read_pharaoh(pred_path, pred_based)]
    return score_alignments(predicted, gold)
