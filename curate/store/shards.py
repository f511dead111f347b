"""Shards of a committed stage: the unit of work of the jobs after translation.

The driver plans shards from the store's committed files (the files its run manifests list)
and their Parquet footers only: it never reads a row. A shard is a few row ranges of files of
one hive partition (for ``translations``: one language pair), at most ``max_rows`` rows in all,
so a large file is cut at row-group (or, for small shard sizes, row) boundaries and small files
are packed together. Workers read their shard with :func:`read_shard`; memory per worker
follows from the shard size, not from the size of the stage or of a language pair.

Within a partition, pieces come in the order of the committed files and of their rows, so the
same store always gives the same shards.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curate.records import load_schema
from curate.store.fs import resolve

if TYPE_CHECKING:
    from curate.store.store import Store


@dataclass(frozen=True)
class Piece:
    """Rows ``[offset, offset + rows)`` of row groups ``row_groups`` (read together) of a file."""

    path: str
    row_groups: tuple[int, ...]
    offset: int
    rows: int


@dataclass(frozen=True)
class Shard:
    """Pieces of files of one partition of ``stage``; ``index`` numbers the shards of a plan."""

    stage: str
    index: int
    partition: tuple[tuple[str, str], ...]  # e.g. (("src_lang", "en"), ("tgt_lang", "de"))
    pieces: tuple[Piece, ...]
    store: str = ""  # the store's URI (how a worker reaches its filesystem); "": local paths

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.pieces)

    @property
    def key(self) -> tuple[str, ...]:
        """The partition values, e.g. ``("en", "de")``."""
        return tuple(v for _, v in self.partition)


def partition_of(relpath: str) -> tuple[tuple[str, str], ...]:
    """The hive partition ``((key, value), ...)`` named in a file's path."""
    parts = [p.split("=", 1) for p in PurePosixPath(relpath).parent.parts if "=" in p]
    return tuple((k, v) for k, v in parts)


@functools.lru_cache(maxsize=8)
def filesystem(store: str) -> pafs.FileSystem | None:
    """The filesystem of a store URI, once per process (None: local paths)."""
    return resolve(store).fs if store else None


def _pieces(path: str, max_rows: int, meta: pq.FileMetaData) -> Iterator[Piece]:
    """Cut one file (its footer: ``meta``) into pieces of at most ``max_rows`` rows."""
    starts = [0]
    for g in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(g).num_rows)
    for a in range(0, starts[-1], max_rows):
        b = min(a + max_rows, starts[-1])
        groups = [g for g in range(meta.num_row_groups) if starts[g] < b and starts[g + 1] > a]
        yield Piece(path, tuple(groups), a - starts[groups[0]], b - a)


def plan_shards(
    files: list[str],
    stage: str,
    max_rows: int,
    keep: Callable[[Mapping[str, str]], bool] | None = None,
    store: str = "",
) -> list[Shard]:
    """Shards of at most ``max_rows`` rows over ``files`` (committed files of ``stage``, paths
    on the filesystem of the store at URI ``store``; "" for local paths).

    ``keep(partition)`` chooses partitions (e.g. one language pair). Pieces of one partition
    are packed into shards in file order; a shard never mixes partitions. The shards of a
    partition are of even sizes (the fewest shards of at most ``max_rows``), so that no shard
    is a small remainder: 250,000 rows in shards of at most 100,000 are three of at most
    83,334 rows, not 100,000, 100,000 and 50,000.
    """
    fs = filesystem(store)
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    by_partition: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for path in files:
        part = partition_of(path)
        if keep is None or keep(dict(part)):
            by_partition.setdefault(part, []).append(path)
    shards: list[Shard] = []
    for part in sorted(by_partition):
        footers = {p: pq.ParquetFile(p, filesystem=fs).metadata for p in by_partition[part]}
        total = sum(meta.num_rows for meta in footers.values())
        size = math.ceil(total / math.ceil(total / max_rows)) if total else max_rows
        pending: list[Piece] = []
        room = size
        for path in by_partition[part]:
            for piece in _pieces(path, size, footers[path]):
                while piece.rows:
                    take = min(piece.rows, room)
                    pending.append(Piece(piece.path, piece.row_groups, piece.offset, take))
                    piece = dataclasses.replace(
                        piece, offset=piece.offset + take, rows=piece.rows - take
                    )
                    room -= take
                    if room == 0:
                        shards.append(Shard(stage, len(shards), part, tuple(pending), store))
                        pending, room = [], size
        if pending:
            shards.append(Shard(stage, len(shards), part, tuple(pending), store))
    return shards


def store_shards(
    store: Store,
    stage: str,
    max_rows: int,
    keep: Callable[[Mapping[str, str]], bool] | None = None,
) -> list[Shard]:
    """:func:`plan_shards` over the committed files of ``stage`` in ``store``."""
    files = [p.as_posix() for p in store.stage_files(stage)]
    return plan_shards(files, stage, max_rows, keep, store.uri)


def read_piece(
    piece: Piece, columns: list[str] | None = None, fs: pafs.FileSystem | None = None
) -> pa.Table:
    parquet = pq.ParquetFile(piece.path, filesystem=fs)
    table = parquet.read_row_groups(list(piece.row_groups), columns=columns)
    return table.slice(piece.offset, piece.rows)


def read_shard(shard: Shard, columns: list[str] | None = None) -> pa.Table:
    """A shard's rows with the stage's columns (partition columns filled in), in piece order.

    ``columns`` selects columns (partition columns included by name).
    """
    schema = load_schema(shard.stage).arrow
    partition = dict(shard.partition)
    file_columns = None
    if columns is not None:
        file_columns = [c for c in columns if c not in partition]
    tables = []
    for piece in shard.pieces:
        table = read_piece(piece, file_columns, filesystem(shard.store))
        for key, value in shard.partition:
            if columns is None or key in columns:
                table = table.append_column(
                    pa.field(key, pa.string()), pa.array([value] * table.num_rows, pa.string())
                )
        tables.append(table)
    names = columns if columns is not None else schema.names
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.select([n for n in names if n in table.column_names])
