"""What the quality benchmarks share to run through the Beam jobs instead of the library.

A benchmark's data is ingested into a temporary store (``curate ingest``'s job), the stage runs
as its job (sharded reads, chunked alignment), and the benchmark scores what the job committed.
Word indices of the job's own tokenisation are mapped back to the benchmark's gold tokens by
character offsets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from curate.align.registry import Link


def token_starts(text: str, tokens: Sequence[str]) -> list[int]:
    """The character offset of each of ``tokens`` in ``text`` (found left to right)."""
    starts, at = [], 0
    for token in tokens:
        found = text.find(token, at)
        if found < 0:
            raise ValueError(f"token {token!r} not found in {text!r} after {at}")
        starts.append(found)
        at = found + len(token)
    return starts


def to_gold_tokens(starts: Sequence[int], offsets: Iterable[dict]) -> list[int]:
    """For each of a job's tokens (``{"start", "end"}`` offsets), the gold token it starts in."""
    return [max(0, bisect.bisect_right(starts, o["start"]) - 1) for o in offsets]


def gold_links(links: Iterable[dict], src_map: Sequence[int], tgt_map: Sequence[int]) -> set[Link]:
    """A job's links (its token indices) as links between gold tokens."""
    return {(src_map[link["src"]], tgt_map[link["tgt"]]) for link in links}
