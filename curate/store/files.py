"""Writing one stage's records as hive-partitioned, zstd-compressed Parquet files.

On a local store, files are written under the run's staging directory with an ``.inprogress``
suffix and renamed when they are complete, so a file without the suffix is always whole. On an
object store, which has no rename, each file is uploaded straight to its final, unique key in the
store (``<stage>/<k>=<v>/<run_id>--<uuid>.parquet``): an object appears only when its upload
completes. Nothing here makes files visible in the store: :mod:`curate.store.run` commits the list
of complete files in the run manifest. The same writer runs in-process and inside a Beam worker;
it reaches the store through :mod:`curate.store.fs` from the staging location alone.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.records import RecordSchema
from curate.store import fs as layer
from curate.store.fs import Location

ROW_GROUP_ROWS = 65_536  # rows a partition collects before they are written as one row group
MAX_PENDING_BYTES = 32 << 20  # bytes held over all partitions before all are written

_SAFE_VALUE = re.compile(r"[^A-Za-z0-9_.\-]")


def partition_value(value: object) -> str:
    """A partition value that is safe as a directory name (``und`` for a missing value)."""
    text = "und" if value is None or value == "" else str(value)
    return _SAFE_VALUE.sub("_", text)[:64]


@dataclass(frozen=True)
class WrittenFile:
    """A complete Parquet file in a staging directory, ready to be committed."""

    stage: str
    relpath: str  # relative to the staging directory, e.g. "documents/lang=en/part-....parquet"
    rows: int

    def to_json(self) -> dict[str, object]:
        return {"stage": self.stage, "relpath": self.relpath, "rows": self.rows}

    @staticmethod
    def from_json(data: dict[str, object]) -> WrittenFile:
        return WrittenFile(str(data["stage"]), str(data["relpath"]), int(data["rows"]))  # type: ignore[arg-type]


class PartitionedWriter:
    """Streams tables of one stage into one Parquet file per partition.

    Call :meth:`write` any number of times, then :meth:`close`, which returns the complete files.
    """

    def __init__(
        self, staging_dir: str | Path | Location, schema: RecordSchema, prefix: str = "part"
    ) -> None:
        self.target = data_location(layer.resolve(staging_dir))
        self.schema = schema
        self.prefix = prefix
        self._writers: dict[tuple[str, ...], tuple[pq.ParquetWriter, str, str]] = {}
        self._rows: dict[tuple[str, ...], int] = {}
        self._pending: dict[tuple[str, ...], list[pa.Table]] = {}
        self._pending_rows: dict[tuple[str, ...], int] = {}
        self._pending_bytes = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.select(self.schema.arrow.names).cast(self.schema.arrow)
        keys = list(self.schema.partition_by)
        if not keys:
            self._buffer((), table)
            return
        for key in keys:  # a missing partition value is filed under "und"
            index = table.column_names.index(key)
            table = table.set_column(index, key, pc.fill_null(table.column(key), "und"))
        # one sort of the row numbers, then one take per partition (not one filter pass per
        # partition); a take copies its rows, so a partition's pending rows do not hold on to
        # the whole batch they came from, as zero-copy slices would
        order = pc.sort_indices(table, [(k, "ascending") for k in keys])
        values = list(zip(*(table.column(k).take(order).to_pylist() for k in keys), strict=True))
        start = 0
        for value, group in itertools.groupby(values):
            size = sum(1 for _ in group)
            rows = table.take(order.slice(start, size))
            self._buffer(tuple(partition_value(v) for v in value), rows)
            start += size

    def _buffer(self, part: tuple[str, ...], table: pa.Table) -> None:
        """Hold rows per partition and write them as row groups of ``ROW_GROUP_ROWS``.

        Writing every small batch as its own row group made writing the slowest part of ingest
        and left files with thousands of tiny row groups.
        """
        self._pending.setdefault(part, []).append(table)
        self._pending_rows[part] = self._pending_rows.get(part, 0) + table.num_rows
        self._pending_bytes += table.nbytes
        if self._pending_rows[part] >= ROW_GROUP_ROWS:
            self._flush(part)
        elif self._pending_bytes >= MAX_PENDING_BYTES:
            for pending in list(self._pending):
                self._flush(pending)

    def _flush(self, part: tuple[str, ...]) -> None:
        tables = self._pending.pop(part, [])
        self._pending_rows.pop(part, None)
        self._pending_bytes -= sum(t.nbytes for t in tables)
        if tables:
            self._write_part(part, pa.concat_tables(tables))

    def _write_part(self, part: tuple[str, ...], table: pa.Table) -> None:
        if part not in self._writers:
            subdir = "/".join(
                f"{k}={v}" for k, v in zip(self.schema.partition_by, part, strict=True)
            )
            name = f"{self.prefix}--{uuid.uuid4().hex[:12]}.parquet"
            relpath = "/".join(p for p in (self.schema.name, subdir, name) if p)
            path = self.target.join(relpath)
            layer.ensure_parent(self.target.fs, path)
            writer = pq.ParquetWriter(
                self._writing(path),
                self.schema.file_schema,
                compression="zstd",
                filesystem=self.target.fs,
            )
            self._writers[part] = (writer, path, relpath)
            self._rows[part] = 0
        writer = self._writers[part][0]
        writer.write_table(table.drop_columns(list(self.schema.partition_by)))
        self._rows[part] += table.num_rows

    def _writing(self, path: str) -> str:
        """Where a file is while it is written: beside its name on a local disk."""
        return f"{path}.inprogress" if self.target.local else path

    def abort(self) -> None:
        """Close and delete the files in progress (after a failure, e.g. a full disk)."""
        self._pending.clear()
        self._pending_rows.clear()
        self._pending_bytes = 0
        for writer, path, _ in self._writers.values():
            try:
                writer.close()
            except OSError:
                writer.is_open = False  # the disk is full: do not retry the close on deletion
            layer.delete_file(self.target.fs, self._writing(path))
        self._writers.clear()

    def close(self) -> list[WrittenFile]:
        for part in sorted(self._pending):
            self._flush(part)
        done: list[WrittenFile] = []
        for part, (writer, path, relpath) in self._writers.items():
            writer.close()  # on an object store, the upload completes: the object appears
            if self.target.local:
                layer.fsync(self.target.fs, self._writing(path))
                self.target.fs.move(self._writing(path), path)
            done.append(WrittenFile(self.schema.name, relpath, self._rows[part]))
        self._writers.clear()
        return done


def data_location(staging: Location) -> Location:
    """Where a run's data files are written, given its staging location.

    Local stores: the staging directory itself (files are renamed into the store at commit).
    Object stores: the store root, two levels up from ``<root>/_staging/<run_id>``.
    """
    if staging.local:
        return staging
    parent = posixpath.dirname(staging.path)
    if posixpath.basename(parent) != "_staging":
        raise ValueError(f"not a staging location: {staging.uri}")
    base, _, rest = staging.uri.partition("/_staging/")
    query = rest.partition("?")[2]
    return Location(staging.fs, posixpath.dirname(parent), f"{base}?{query}" if query else base)


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    """``{value: rows}`` for one column of a table (used for quarantine reasons)."""
    if table.num_rows == 0:
        return {}
    counts = pc.value_counts(table.column(column)).to_pylist()
    return {str(c["values"]): int(c["counts"]) for c in counts}
