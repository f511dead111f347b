"""Beam building blocks over store shards: read them, key them, join them by hash buckets.

The driver plans shards (:mod:`curate.store.shards`) and creates one element per shard; the
rows are read by the workers. Elements that carry rows are Arrow tables of at most a shard's
rows, so Beam's per-element cost is paid per shard, not per record; where they cross from one
fused step to the next they travel as spill files (:mod:`beam_jobs.spill`).

Joins between stages (translations with their examples, with their projections, with the
reference translation of the same source text) go through Beam's shuffle: each side cuts its
tables into ``buckets`` by a stable hash of the join key, :class:`beam.GroupByKey` brings one
bucket of both sides to one worker, and the join is a pyarrow join of that bucket. The number
of buckets is chosen from the row counts so that a bucket holds about one shard of rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from curate.store.shards import Shard, read_shard, store_shards

if TYPE_CHECKING:
    from curate.store import Store


def read_shards(
    p: beam.Pipeline, label: str, shards: Sequence[Shard], columns: list[str] | None = None
) -> beam.PCollection:
    """``(shard, table)`` for every shard, read by the workers (spread first: the driver's
    list is one bundle)."""
    return (
        p
        | f"{label}Plan" >> beam.Create(list(shards))
        | f"{label}Spread" >> beam.Reshuffle()
        | f"{label}Read" >> beam.Map(lambda shard: (shard, read_shard(shard, columns)))
    )


def bucket_count(rows: int, rows_per_bucket: int, parallelism: int = 1) -> int:
    """Buckets for a join of ``rows`` rows so that one holds about ``rows_per_bucket``.

    With ``parallelism`` workers sharing the buckets (:func:`beam_jobs.common.parallelism`),
    the count is rounded up to a multiple of it, so that each worker gets as many: 100,000
    rows in buckets of 20,000 are 6 buckets for 2 workers (3 each), not 5 (3 and 2).
    """
    buckets = max(1, math.ceil(rows / max(1, rows_per_bucket)))
    if parallelism > 1:
        buckets = math.ceil(buckets / parallelism) * parallelism
    return buckets


def even_shards(store: Store, stage: str, rows_per_shard: int, parallelism: int = 1) -> list[Shard]:
    """Shards of ``stage`` of at most ``rows_per_shard`` rows, at least as many as
    :func:`bucket_count` gives for ``parallelism`` workers (a multiple of them), so that the
    workers reading them get as many each."""
    shards = store_shards(store, stage, rows_per_shard)
    rows = sum(s.rows for s in shards)
    wanted = bucket_count(rows, rows_per_shard, parallelism)
    if rows and len(shards) < wanted:
        shards = store_shards(store, stage, max(1, math.ceil(rows / wanted)))
    return shards


def bucket_count_below(rows: int, limit: int) -> int:
    """Buckets for a join of ``rows`` rows so that a bucket rarely holds more than ``limit``.

    Hash buckets are not equal: a bucket of ``m`` expected rows varies by about ``sqrt(m)``.
    Aiming at ``limit`` less four of those keeps buckets below ``limit`` but for about one in
    30,000; a bucket above it is still cut in even chunks (:func:`even_slices`), never into a
    full chunk and a small remainder.
    """
    if rows <= limit:  # one bucket holds every row: nothing varies
        return 1
    aim = max(limit // 2, int(limit - 4 * math.sqrt(limit)), 1)
    return bucket_count(rows, aim)


def buckets_of(values: pa.ChunkedArray | pa.Array, buckets: int) -> np.ndarray:
    """A stable bucket number in ``[0, buckets)`` per value (xxh64 of its text; null: 0)."""
    out = np.zeros(len(values), dtype=np.int64)
    if buckets == 1:
        return out
    for i, value in enumerate(values.to_pylist()):
        if value is not None:
            out[i] = xxhash.xxh64_intdigest(str(value).encode()) % buckets
    return out


def split_buckets(table: pa.Table, key: str, buckets: int) -> Iterator[tuple[int, pa.Table]]:
    """``(bucket, rows)`` for every bucket that has rows of ``table`` (by column ``key``)."""
    if table.num_rows == 0:
        return
    numbers = buckets_of(table.column(key), buckets)
    for b in np.unique(numbers):
        yield int(b), table.filter(pa.array(numbers == b))


def tag_side(side: str, key: str, buckets: int) -> Any:
    """A FlatMap function: a table (or a ``(shard, table)`` read) -> ``(bucket, (side, rows))``
    for a bucketed join."""

    def split(item: pa.Table | tuple[Shard, pa.Table]) -> Iterator[tuple[int, tuple]]:
        table = item if isinstance(item, pa.Table) else item[1]
        for b, rows in split_buckets(table, key, buckets):
            yield b, (side, rows)

    return split


def sides(grouped: Iterable[tuple[str, pa.Table]], names: Sequence[str]) -> dict[str, list]:
    """The tables of one bucket by side (every side in ``names`` present, maybe empty)."""
    out: dict[str, list[pa.Table]] = {name: [] for name in names}
    for side, table in grouped:
        out[side].append(table)
    return out


def concat(tables: list[pa.Table], schema: pa.Schema | None = None) -> pa.Table:
    """One table from a bucket's pieces (``schema``'s empty table when there are none)."""
    if not tables:
        assert schema is not None
        return schema.empty_table()
    return pa.concat_tables(tables, promote_options="permissive")


def slices(table: pa.Table, rows: int) -> Iterator[pa.Table]:
    """``table`` in consecutive slices of at most ``rows`` rows."""
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)


def even_slices(table: pa.Table, rows: int) -> Iterator[pa.Table]:
    """``table`` in the fewest consecutive slices of at most ``rows`` rows, of even sizes (a
    chunk aligned on its own is never a small remainder)."""
    if table.num_rows == 0:
        return
    size = math.ceil(table.num_rows / math.ceil(table.num_rows / rows))
    yield from slices(table, size)


def by_partition(table: pa.Table, keys: Sequence[str]) -> Iterator[tuple[tuple, pa.Table]]:
    """``(values, rows)`` per distinct value of the ``keys`` columns, in sorted order."""
    if table.num_rows == 0:
        return
    groups = table.group_by(list(keys)).aggregate([])
    for values in sorted(zip(*(groups.column(k).to_pylist() for k in keys), strict=True)):
        mask = None
        for k, v in zip(keys, values, strict=True):
            m = pc.equal(table.column(k), v) if v is not None else pc.is_null(table.column(k))
            mask = m if mask is None else pc.and_(mask, m)
        yield tuple(values), table.filter(mask)


def join_tables(
    left: pa.Table, right: pa.Table, left_key: str, right_key: str, how: str = "inner"
) -> pa.Table:
    """``left`` joined with ``right`` (``how``: ``inner`` or ``left outer``), all columns of both.

    Arrow's join refuses list and struct columns, so the join runs on the keys and row numbers
    and the rows are taken afterwards. Row order is unspecified.
    """
    keys_left = pa.table(
        {"k": left.column(left_key), "_l": pa.array(range(left.num_rows), pa.int64())}
    )
    keys_right = pa.table(
        {"k": right.column(right_key), "_r": pa.array(range(right.num_rows), pa.int64())}
    )
    matched = keys_left.join(keys_right, "k", join_type=how)
    out = left.take(matched.column("_l"))
    taken = right.take(matched.column("_r"))
    for name in taken.column_names:
        out = out.append_column(taken.schema.field(name), taken.column(name))
    return out
