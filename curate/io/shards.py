"""Cutting line-based input files into byte ranges that can be read independently.

A large JSON Lines file read by one process is a serial bottleneck however many workers parse
and ingest. :func:`line_shards` cuts a file into ranges of about ``shard_bytes`` that start and
end on line boundaries, and numbers the first line of each, so a reader given one range reports
the same line numbers (for quarantine) as a reader of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass

_BLOCK = 1 << 22  # bytes read at a time while counting lines


@dataclass(frozen=True)
class Shard:
    """Bytes ``[start, end)`` of ``path`` (``end`` None: to the end), whose first line is
    number ``first_line`` (1-based)."""

    path: str
    start: int = 0
    end: int | None = None
    first_line: int = 1


def line_shards(path: str, shard_bytes: int) -> list[Shard]:
    """Ranges of about ``shard_bytes`` each, cut after a line end; one shard for a small file.

    One pass over the file counts the lines before each cut.
    """
    if shard_bytes <= 0:
        raise ValueError("shard_bytes must be positive")
    shards: list[Shard] = []
    start, first_line = 0, 1
    position, lines = 0, 0  # bytes and line ends seen so far
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                break
            offset = 0
            while position + len(block) >= start + shard_bytes:
                # the first line end at or after byte start + shard_bytes - 1 closes the shard
                cut = block.find(b"\n", max(offset, start + shard_bytes - 1 - position))
                if cut < 0:
                    break
                lines += block.count(b"\n", offset, cut + 1)
                end = position + cut + 1
                shards.append(Shard(path, start, end, first_line))
                start, first_line = end, lines + 1
                offset = cut + 1
            lines += block.count(b"\n", offset)
            position += len(block)
    if position > start or not shards:
        shards.append(Shard(path, start, None, first_line))
    return shards
