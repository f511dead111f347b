"""Translation memory: every segment is translated once per model, across runs and datasets.

Entries are keyed by (model id, model version, decoding options, source language, target
language, hash of the normalised source text) and kept in the store as Parquet (zstd)::

    <store>/memory/src_lang=en/tgt_lang=de/part-<time>-<uuid>.parquet

one file per flush under a unique name: on a local disk written under a temporary name and
renamed into place, on an object store (``s3://...``) uploaded in one atomic PUT, so a reader
never sees half a file and concurrent writers never collide. Every read, listing, write and
delete goes through the store's filesystem layer (:mod:`curate.store.fs`). The schema is
``schemas/translation_memory.json``; any SQL engine can read it, e.g. in DuckDB::

    SELECT src_lang, tgt_lang, count(*) FROM
    read_parquet('<store>/memory/**/*.parquet', hive_partitioning = true) GROUP BY ALL;

Lookups see entries added earlier in the same process before they are flushed, so repeats
inside one run are also translated once. The object is thread-safe (one lock).
"""

from __future__ import annotations

import hashlib
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from curate.records import load_schema
from curate.store import fs as layer
from curate.store.fs import Location

MEMORY_DIR = "memory"
#: rows per Parquet row group of a memory file: the unit a sharded reader takes at once
ROW_GROUP_ROWS = 65_536


def normalize_text(text: str) -> str:
    """The form a segment is translated and remembered in: NFC, whitespace runs collapsed."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


def text_hash(normalized: str) -> str:
    return hashlib.blake2b(normalized.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def hash_prefixes(hashes: Sequence[str]) -> np.ndarray:
    """The first 64 bits of each :func:`text_hash`, as unsigned integers (8 bytes a text)."""
    raw = bytes.fromhex("".join(h[:16] for h in hashes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


@dataclass(frozen=True)
class MemoryEntry:
    """A remembered translation."""

    text: str
    score: float | None = None
    truncated: bool = False
    pieces: int = 1
    input_truncated: bool = False


def memory_entry(row: Mapping[str, object]) -> MemoryEntry:
    """The entry of a memory row (a dict with the schema's ``text`` ... ``input_truncated``)."""
    return MemoryEntry(
        str(row["text"]),
        row["score"],  # type: ignore[arg-type]
        bool(row["truncated"]),
        int(row["pieces"]),  # type: ignore[call-overload]
        bool(row["input_truncated"]),
    )


#: a memory entry as a plain tuple (text, score, truncated, pieces, input_truncated)
EntryTuple = tuple[str, float | None, bool, int, bool]
_ENTRY_COLUMNS = ("text", "score", "truncated", "pieces", "input_truncated")


@dataclass(frozen=True)
class MemoryShard:
    """Row groups of one memory file: what one worker reads at once."""

    src: str
    tgt: str
    path: str  # on the memory's filesystem
    row_groups: tuple[int, ...]
    rows: int


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``: its columns in order, missing ones as nulls."""
    columns = [
        table[f.name] if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.table(columns, schema=schema) if columns else table


_Partition = tuple[str, str]
_Key = tuple[str, str, str]  # model id, model version, decoding


class TranslationMemory:
    """Parquet-backed translation memory under ``<store>/memory``.

    ``store`` is a local directory, a store URI (``s3://bucket/prefix``) or a resolved
    :class:`~curate.store.fs.Location`.
    """

    def __init__(self, store: str | Path | Location, *, flush_rows: int = 50_000) -> None:
        self.location = layer.resolve(store).child(MEMORY_DIR)
        self.fs = self.location.fs
        self.flush_rows = flush_rows
        self._schema = load_schema("translation_memory")
        self._pending: dict[_Partition, dict[_Key, dict[str, dict[str, object]]]] = {}
        self._pending_rows = 0
        self._lock = threading.RLock()
        self._con = None
        self.lookups = 0
        self.hits = 0

    # ---------------------------------------------------------------------------------------
    @property
    def root(self) -> PurePath:
        """The memory's directory (a ``Path`` locally, a ``bucket/...`` path on object stores)."""
        return self._path(self.location.path)

    def _path(self, path: str) -> PurePath:
        return Path(path) if self.location.local else PurePosixPath(path)

    def partition_dir(self, src: str, tgt: str) -> PurePath:
        return self._path(self.location.join(f"src_lang={src}", f"tgt_lang={tgt}"))

    def files(self, src: str, tgt: str) -> list[PurePath]:
        """The language pair's memory files (complete ones only), in name order."""
        listed = layer.list_files(self.fs, str(self.partition_dir(src, tgt)), recursive=False)
        return [
            self._path(p)
            for p in listed
            if p.endswith(".parquet") and not PurePosixPath(p).name.startswith(".")
        ]

    def lookup(
        self,
        model_id: str,
        model_version: str,
        src: str,
        tgt: str,
        texts: Iterable[str],
        *,
        decoding: str = "",
    ) -> dict[str, MemoryEntry]:
        """Remembered translations of ``texts``, keyed by the text as given (misses absent)."""
        by_hash: dict[str, list[str]] = {}
        for text in texts:
            by_hash.setdefault(text_hash(normalize_text(text)), []).append(text)
        found: dict[str, MemoryEntry] = {}
        with self._lock:
            self.lookups += len(by_hash)
            pending = self._pending.get((src, tgt), {}).get((model_id, model_version, decoding), {})
            for h in list(by_hash):
                if h in pending:
                    entry = memory_entry(pending[h])
                    for text in by_hash.pop(h):
                        found[text] = entry
            if by_hash:
                for h, entry in self._lookup_files(
                    src, tgt, (model_id, model_version, decoding), list(by_hash)
                ).items():
                    for text in by_hash[h]:
                        found[text] = entry
            self.hits += len({text_hash(normalize_text(t)) for t in found})
        return found

    def _lookup_files(
        self, src: str, tgt: str, key: _Key, hashes: list[str]
    ) -> dict[str, MemoryEntry]:
        files = self.files(src, tgt)
        if not files:
            return {}
        if not self.location.local:
            return self._lookup_dataset(files, key, hashes)
        import duckdb

        if self._con is None:
            self._con = duckdb.connect()
        wanted = pa.table({"h": pa.array(hashes, pa.string())})
        self._con.register("wanted", wanted)
        try:
            rows = self._con.execute(
                "SELECT text_hash, text, score, truncated, pieces, input_truncated "
                "FROM read_parquet(?) "
                "WHERE model_id = ? AND model_version = ? AND decoding = ? "
                "AND text_hash IN (SELECT h FROM wanted)",
                [[str(f) for f in files], *key],
            ).fetchall()
        finally:
            self._con.unregister("wanted")
        out: dict[str, MemoryEntry] = {}
        for h, text, score, truncated, pieces, input_truncated in rows:
            entry = MemoryEntry(text, score, bool(truncated), int(pieces), bool(input_truncated))
            out.setdefault(h, entry)
        return out

    def _lookup_dataset(
        self, files: list[PurePath], key: _Key, hashes: list[str]
    ) -> dict[str, MemoryEntry]:
        """:meth:`_lookup_files` on an object store: a filtered ``pyarrow.dataset`` scan."""
        dataset = ds.dataset([str(f) for f in files], format="parquet", filesystem=self.fs)
        wanted = (
            (pc.field("model_id") == key[0])
            & (pc.field("model_version") == key[1])
            & (pc.field("decoding") == key[2])
            & pc.field("text_hash").isin(pa.array(hashes, pa.string()))
        )
        columns = ["text_hash", "text", "score", "truncated", "pieces", "input_truncated"]
        out: dict[str, MemoryEntry] = {}
        for row in dataset.to_table(columns=columns, filter=wanted).to_pylist():
            out.setdefault(row["text_hash"], memory_entry(row))
        return out

    def shards(self, src: str, tgt: str, max_rows: int = ROW_GROUP_ROWS) -> list[MemoryShard]:
        """The language pair's files cut into shards of whole row groups, at most ``max_rows``
        rows each where a row group allows (Parquet metadata only: no row is read here)."""
        out: list[MemoryShard] = []
        for path in self.files(src, tgt):
            meta = pq.ParquetFile(str(path), filesystem=self.fs).metadata
            groups: list[int] = []
            rows = 0
            for i in range(meta.num_row_groups):
                n = meta.row_group(i).num_rows
                if groups and rows + n > max_rows:
                    out.append(MemoryShard(src, tgt, str(path), tuple(groups), rows))
                    groups, rows = [], 0
                groups.append(i)
                rows += n
            if groups:
                out.append(MemoryShard(src, tgt, str(path), tuple(groups), rows))
        return out

    def read_shard(
        self,
        shard: MemoryShard,
        model_id: str,
        model_version: str,
        decoding: str = "",
        wanted: np.ndarray | None = None,
    ) -> Iterator[tuple[str, EntryTuple]]:
        """``(text hash, entry as a tuple)`` for each entry of ``shard`` under this model key
        (``MemoryEntry(*entry)`` turns a tuple back into an entry); one row group at a time.

        ``wanted``: a sorted array of :func:`hash_prefixes`; only entries whose prefix is in it
        are read out (a prefix may match more than one hash: callers match the whole hash).
        """
        parquet = pq.ParquetFile(shard.path, filesystem=self.fs)
        columns = ["model_id", "model_version", "decoding", "text_hash", *_ENTRY_COLUMNS]
        for group in shard.row_groups:
            table = parquet.read_row_group(group, columns=columns)
            keep = pc.and_(
                pc.and_(
                    pc.equal(table["model_id"], model_id),
                    pc.equal(table["model_version"], model_version),
                ),
                pc.equal(table["decoding"], decoding),
            )
            table = table.filter(keep)
            if wanted is not None and table.num_rows:
                prefixes = hash_prefixes(table["text_hash"].to_pylist())
                found = np.searchsorted(wanted, prefixes).clip(max=max(len(wanted) - 1, 0))
                hit = (wanted[found] == prefixes) if len(wanted) else np.zeros(len(prefixes), bool)
                table = table.filter(pa.array(hit))
            hashes = table["text_hash"].to_pylist()
            values = zip(*(table[c].to_pylist() for c in _ENTRY_COLUMNS), strict=True)
            for h, (text, score, truncated, pieces, input_truncated) in zip(
                hashes, values, strict=True
            ):
                yield h, (text, score, bool(truncated), int(pieces), bool(input_truncated))

    def add(
        self,
        model_id: str,
        model_version: str,
        src: str,
        tgt: str,
        entries: Mapping[str, MemoryEntry],
        *,
        decoding: str = "",
    ) -> None:
        """Remember ``{source text: entry}``; written at the next :meth:`flush`."""
        if not entries:
            return
        now = datetime.now(UTC)
        with self._lock:
            bucket = self._pending.setdefault((src, tgt), {}).setdefault(
                (model_id, model_version, decoding), {}
            )
            for source, entry in entries.items():
                normalized = normalize_text(source)
                h = text_hash(normalized)
                if h in bucket:
                    continue
                bucket[h] = {
                    "text_hash": h,
                    "model_id": model_id,
                    "model_version": model_version,
                    "decoding": decoding,
                    "source_text": normalized,
                    "text": entry.text,
                    "score": entry.score,
                    "truncated": entry.truncated,
                    "pieces": entry.pieces,
                    "input_truncated": entry.input_truncated,
                    "created_at": now,
                }
                self._pending_rows += 1
            if self._pending_rows >= self.flush_rows:
                self.flush()

    def flush(self) -> list[PurePath]:
        """Write pending entries: one new file per language pair. Returns the files written."""
        written: list[PurePath] = []
        with self._lock:
            for (src, tgt), buckets in self._pending.items():
                rows = [row for bucket in buckets.values() for row in bucket.values()]
                if rows:
                    written.append(self._write(src, tgt, rows))
            self._pending.clear()
            self._pending_rows = 0
        return written

    def _write(self, src: str, tgt: str, rows: list[dict[str, object]]) -> PurePath:
        table = pa.Table.from_pylist(rows, schema=self._schema.file_schema)
        return self._write_table(src, tgt, table)

    def _write_table(self, src: str, tgt: str, table: pa.Table) -> PurePath:
        return self._write_tables(src, tgt, [table])

    def _write_tables(self, src: str, tgt: str, tables: Iterable[pa.Table]) -> PurePath:
        """One new file of ``tables`` (streamed, one at a time), visible only when complete."""
        directory = self.partition_dir(src, tgt)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.parquet"
        final = directory / name
        if self.location.local:
            Path(directory).mkdir(parents=True, exist_ok=True)
            target = directory / f".{name}.tmp"
        else:  # one upload: the object appears whole when the writer closes, or not at all
            target = final
        schema = self._schema.file_schema
        with pq.ParquetWriter(
            str(target), schema, compression="zstd", filesystem=self.fs
        ) as writer:
            pending: list[pa.Table] = []
            rows = 0
            for table in tables:  # row groups of ROW_GROUP_ROWS, however the tables come
                pending.append(table)
                rows += table.num_rows
                if rows >= ROW_GROUP_ROWS:
                    whole = pa.concat_tables(pending)
                    cut = rows - rows % ROW_GROUP_ROWS
                    writer.write_table(whole.slice(0, cut), row_group_size=ROW_GROUP_ROWS)
                    pending, rows = [whole.slice(cut)], rows - cut
            if rows:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        if self.location.local:
            Path(target).replace(final)
        return final

    def compact(self, src: str, tgt: str) -> PurePath | None:
        """Merge a language pair's files into one (one row per key); returns the new file."""
        with self._lock:
            self.flush()
            files = self.files(src, tgt)
            if len(files) < 2:
                return files[0] if files else None
            # pass 1, the key columns only: the first row of each key, in file order
            keys = ["model_id", "model_version", "decoding", "text_hash"]
            numbered = pa.concat_tables(
                pq.read_table(str(f), columns=keys, filesystem=self.fs) for f in files
            )
            numbered = numbered.append_column("_i", pa.array(range(len(numbered)), pa.int64()))
            first = numbered.group_by(keys, use_threads=False).aggregate([("_i", "min")])
            keep = np.sort(first["_i_min"].to_numpy())
            del numbered, first
            # pass 2: the kept rows, one row group at a time, into one new file
            final = self._write_tables(src, tgt, self._kept_row_groups(files, keep))
            for f in files:
                layer.delete_file(self.fs, str(f))
            return final

    def _kept_row_groups(self, files: list[PurePath], keep: np.ndarray) -> Iterator[pa.Table]:
        """The rows numbered ``keep`` (sorted; numbered across ``files`` in order), row group
        by row group, in the memory's schema (columns a file lacks read as null)."""
        schema = self._schema.file_schema
        offset = 0
        for path in files:
            parquet = pq.ParquetFile(str(path), filesystem=self.fs)
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group)
                lo, hi = np.searchsorted(keep, [offset, offset + table.num_rows])
                offset += table.num_rows
                if hi > lo:
                    taken = table.take(pa.array(keep[lo:hi] - (offset - table.num_rows)))
                    yield _conform(taken, schema)

    def close(self) -> None:
        self.flush()
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> TranslationMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
