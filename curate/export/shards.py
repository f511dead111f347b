"""Parquet shards of an export: rows grouped by (config, split), each group written to zstd
Parquet files bounded in rows and in estimated bytes, named by count and content hash.

Only the rows being written are held: a writer appends each batch to its current file and starts
a new one at ``max_rows`` rows or about ``max_bytes`` uncompressed bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def row_bytes(table: pa.Table) -> np.ndarray:
    """Uncompressed size estimate of each row: string lengths plus the rest spread evenly."""
    n = table.num_rows
    sizes = np.zeros(n, dtype=np.int64)
    rest = 0
    for column in table.columns:
        if (
            pa.types.is_string(column.type)
            or pa.types.is_binary(column.type)
            or pa.types.is_large_string(column.type)
        ):
            lengths = pc.fill_null(pc.binary_length(column), 0)
            sizes += np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            rest += column.nbytes
    return sizes + (rest // max(n, 1)) + 8


def group_rows(table: pa.Table, default_config: str) -> dict[tuple[str, str], pa.Table]:
    """Split rows by their (config, split) values (in order of first appearance)."""
    n = table.num_rows
    configs = (
        table.column("config").to_pylist()
        if "config" in table.column_names
        else [default_config] * n
    )
    splits = table.column("split").to_pylist() if "split" in table.column_names else ["train"] * n
    keys: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(configs, splits, strict=True)):
        keys.setdefault(key, []).append(i)
    return {key: table.take(pa.array(idx, type=pa.int64())) for key, idx in keys.items()}


class ShardWriter:
    """The Parquet shards of one (config, split): a new file when the current one holds
    ``max_rows`` rows or its rows' estimated size would pass ``max_bytes``. Only the rows
    being written are held; files are named (count and content hash) when all are written."""

    def __init__(
        self, folder: Path, config: str, split: str, max_rows: int, max_bytes: int
    ) -> None:
        self.folder, self.config, self.split = folder, config, split
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.paths: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = self.bytes = 0

    def write(self, table: pa.Table) -> None:
        sizes = row_bytes(table)
        start = 0
        while start < table.num_rows:
            if self.writer is None:
                path = self.folder / f"data/{self.config}/{self.split}-{len(self.paths):05d}.tmp"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                self.paths.append(path)
                self.rows = self.bytes = 0
            room = sizes[start : start + self.max_rows - self.rows]
            take = int(np.searchsorted(np.cumsum(room), self.max_bytes - self.bytes, "right"))
            if take == 0 and self.rows == 0:
                take = 1  # a row larger than a shard is a shard of its own
            if take:
                self.writer.write_table(table.slice(start, take))
                self.rows += take
                self.bytes += int(room[:take].sum())
                start += take
            if take < len(room) or self.rows == self.max_rows:
                self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> list[str]:
        """Name the shards ``<split>-<k>-of-<n>-<hash>.parquet``; their paths in the folder."""
        self.close()
        files = []
        for k, path in enumerate(self.paths):
            # the content's hash in the name: `datasets` caches a folder by its card and file
            # names, so a re-export with the same names would load the old rows
            named = path.with_name(
                f"{self.split}-{k:05d}-of-{len(self.paths):05d}-{file_digest(path)}.parquet"
            )
            path.rename(named)
            files.append(named.relative_to(self.folder).as_posix())
        return files


def file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=6)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
