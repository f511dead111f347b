"""Anchor links: words that reappear verbatim, or nearly so, on the other side.

Names, numbers, codes and many proper nouns survive translation unchanged (``Nikitin``,
``1999``, ``PPE-DE``) or with a small change (``Europe``/``Europa``, ``Lanka``/``Lanka``).
Statistical aligners trained on little text often miss such pairs because each name is rare.
:func:`add_anchor_links` finds them by string comparison and overrides the aligner for those
words: the anchor link is added and the anchored words' other links are removed.

A source word becomes an anchor when it is "name-like" (contains a digit or an upper-case
letter, or is long) and either

- equals (case-insensitively) exactly one target word and occurs once in the source, or
- has exactly one target word with a common prefix of at least ``min_prefix`` characters and a
  rapidfuzz similarity of at least ``min_similarity``, clearly ahead of the next candidate.

Compound words are matched by their parts too: the parts of ``1985-05-27``, ``PPE-DE`` or
``EU-Bürger`` that equal a word of the other side (``27``, ``1985``, ``PPE``, ``EU``) are linked
to it. Part links are added without removing other links, since the compound may well be
linked to other words too (``Mitgliedstaaten``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from curate.align.registry import Link

_PART_SPLIT = regex.compile(r"[^\p{L}\p{N}]+")


@dataclass(frozen=True)
class AnchorConfig:
    """Options of anchoring."""

    #: also anchor lower-case words of at least this length (0: only capitalised or digits)
    min_length_lowercase: int = 0
    #: fuzzy anchors: common prefix length and rapidfuzz ratio (0-100); ``fuzzy=False`` skips
    fuzzy: bool = True
    min_prefix: int = 4
    min_similarity: float = 75.0
    #: remove the anchored words' other links
    override: bool = True
    #: link parts of compound words (``1985-05-27``, ``EU-Bürger``) to equal words
    parts: bool = True


def _name_like(token: str, config: AnchorConfig) -> bool:
    if not any(c.isalnum() for c in token):
        return False
    if any(c.isdigit() for c in token) or any(c.isupper() for c in token):
        return True
    return bool(config.min_length_lowercase) and len(token) >= config.min_length_lowercase


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def find_anchors(
    src: Sequence[str], tgt: Sequence[str], config: AnchorConfig = AnchorConfig()
) -> list[Link]:
    """Anchor links between ``src`` and ``tgt`` words (see the module docstring)."""
    from rapidfuzz import fuzz

    src_low = [t.casefold() for t in src]
    tgt_low = [t.casefold() for t in tgt]
    src_count = Counter(src_low)
    tgt_count = Counter(tgt_low)
    tgt_pos: dict[str, list[int]] = {}
    for j, t in enumerate(tgt_low):
        tgt_pos.setdefault(t, []).append(j)
    anchors: list[Link] = []
    used_tgt: set[int] = set()
    pending: list[int] = []
    for i, token in enumerate(src):
        if not _name_like(token, config):
            continue
        low = src_low[i]
        if low in tgt_pos:
            if src_count[low] == 1 and tgt_count[low] == 1:
                anchors.append((i, tgt_pos[low][0]))
                used_tgt.add(tgt_pos[low][0])
            continue
        pending.append(i)
    if not config.fuzzy:
        return anchors
    for i in pending:
        low = src_low[i]
        if len(low) < config.min_prefix or src_count[low] > 1:
            continue
        scored = []
        for j, t in enumerate(tgt_low):
            if j in used_tgt or not any(c.isalpha() for c in t):
                continue
            prefix = _common_prefix(low, t)
            if prefix >= max(config.min_prefix, 0.8 * len(low)):
                scored.append((100.0, j))  # a compound or an inflection of the word
            elif prefix >= 3:
                scored.append((fuzz.ratio(low, t), j))
        scored.sort(reverse=True)
        if not scored or scored[0][0] < config.min_similarity:
            continue
        if len(scored) > 1 and scored[1][0] >= scored[0][0] - 5:
            continue  # ambiguous
        anchors.append((i, scored[0][1]))
        used_tgt.add(scored[0][1])
    return sorted(anchors)


def find_part_links(
    src: Sequence[str], tgt: Sequence[str], config: AnchorConfig = AnchorConfig()
) -> list[Link]:
    """Links between parts of compound words and equal words of the other side.

    A part must be name-like, occur once among the words and parts of its side, and equal
    exactly one word of the other side (case-insensitively).
    """
    out: set[Link] = set()
    for a, b, flip in ((src, tgt, False), (tgt, src, True)):
        b_low = [t.casefold() for t in b]
        b_count = Counter(b_low)
        b_pos = {t: j for j, t in enumerate(b_low)}
        parts_of: list[list[str]] = []
        for token in a:
            pieces = [p for p in _PART_SPLIT.split(token) if p]
            parts_of.append(pieces if len(pieces) > 1 else [])
        a_count = Counter(p.casefold() for pieces in parts_of for p in pieces)
        a_count.update(t.casefold() for t in a)
        for i, pieces in enumerate(parts_of):
            for piece in pieces:
                low = piece.casefold()
                if not _name_like(piece, config) or a_count[low] != 1 or b_count[low] != 1:
                    continue
                j = b_pos[low]
                out.add((j, i) if flip else (i, j))
    return sorted(out)


def add_anchor_links(
    src: Sequence[str],
    tgt: Sequence[str],
    links: Sequence[Link],
    config: AnchorConfig = AnchorConfig(),
) -> list[Link]:
    """``links`` with anchors added (and, with ``override``, the anchored words' other links
    removed)."""
    anchors = find_anchors(src, tgt, config)
    parts = find_part_links(src, tgt, config) if config.parts else []
    if not anchors and not parts:
        return sorted(set(links))
    out = set(links)
    if config.override:
        src_anch = {i for i, _ in anchors}
        tgt_anch = {j for _, j in anchors}
        out = {(i, j) for i, j in out if i not in src_anch and j not in tgt_anch}
    out.update(anchors)
    out.update(parts)
    return sorted(out)
