"""Rows between fused steps travel as files of the run's staging area, not through the runner.

Beam's local runner keeps every collection passed between fused steps (the input of each
:class:`beam.GroupByKey`, each multi-input :class:`beam.Flatten`, each collection read by a step
that also needs a side input computed from it) in the driver's memory until the pipeline ends,
and sends it to the workers and back over gRPC. So a step that hands rows on to another
writes them to a spill file, ``<staging>/_spill/<uuid>.arrow`` (Arrow IPC, uncompressed: the
fastest to write and read back, and a sliced table is written as its slice only) or
``.pickle`` (any other large value), and the element carries a :class:`Spilled` reference; the
consuming step reads it back. The driver then holds references only, whatever the data.

Values smaller than :data:`INLINE_BYTES` stay inline (one file per tiny table would cost more
than it saves). :class:`SpilledGroupByKey`, the shuffle, goes further: a bundle appends all its
tables of one schema, small ones too, to one shared Arrow file, and each reference names its
range of record batches there. A shuffle cuts each shard into a piece per key, so the pieces get
smaller as the data grows (MinHash band pieces of a million pairs are a few kilobytes each) and
would otherwise all stay inline in the runner's buffers. Every read and write goes through the
store's filesystem layer (:mod:`curate.store.fs`), so spill files work on an object store with
workers on other machines. They live in the run's staging directory, which the run deletes
when it commits or fails (:class:`curate.store.Run`); they are never data of the store.
"""

from __future__ import annotations

import functools
import pickle
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa

from curate.store.fs import Location, ensure_parent, read_bytes
from curate.store.fs import resolve as resolve_location

SPILL_DIR = "_spill"
#: values (Arrow bytes, or pickled bytes) below this size stay inline in the element
INLINE_BYTES = 64 * 1024
_SCALARS = (str, int, float, bool, bytes, type(None))


@dataclass(frozen=True)
class Spilled:
    """A value written to ``<staging>/_spill/<name>``: what an element carries instead."""

    staging: str  # the run's staging location (a local path or a URI)
    name: str  # ``<uuid>.arrow`` (a table) or ``<uuid>.pickle`` (any other value)
    batches: tuple[int, int] | None = None  # (first, count) of a shared file's record batches


@functools.lru_cache(maxsize=8)
def _spill_location(staging: str) -> Location:
    return resolve_location(staging).child(SPILL_DIR)


def _new_file(staging: str, suffix: str) -> tuple[str, Any]:
    """The name of a new spill file ``<uuid><suffix>`` and its open output stream."""
    where = _spill_location(staging)
    name = f"{uuid.uuid4().hex}{suffix}"
    path = where.join(name)
    ensure_parent(where.fs, path)
    return name, where.fs.open_output_stream(path)


def _write(staging: str, suffix: str, write: Any) -> Spilled:
    """A new spill file, its content written by ``write(stream)``."""
    name, out = _new_file(staging, suffix)
    with out:
        write(out)
    return Spilled(staging, name)


def _write_table(table: pa.Table, staging: str) -> Spilled:
    def write(out: Any) -> None:
        with pa.ipc.new_file(out, table.schema) as writer:
            writer.write_table(table)

    return _write(staging, ".arrow", write)


def _write_object(data: bytes, staging: str) -> Spilled:
    return _write(staging, ".pickle", lambda out: out.write(data))


def spill(value: Any, staging: str) -> Any:
    """``value`` with every large part written to a spill file and replaced by its reference.

    Tuples are walked (their small parts, such as a join side's name, stay as they are); a
    table of at least :data:`INLINE_BYTES` becomes an Arrow file, any other value whose pickle
    is that large a pickle file.
    """
    if isinstance(value, tuple):
        return tuple(spill(v, staging) for v in value)
    if isinstance(value, (*_SCALARS, Spilled)):
        return value
    if isinstance(value, pa.Table):
        return value if value.nbytes < INLINE_BYTES else _write_table(value, staging)
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return value if len(data) < INLINE_BYTES else _write_object(data, staging)


def restore(value: Any) -> Any:
    """``value`` with every :class:`Spilled` reference in it (tuples are walked) read back."""
    if isinstance(value, tuple):
        return tuple(restore(v) for v in value)
    if not isinstance(value, Spilled):
        return value
    if value.batches is not None:
        return _read_batches(value.staging, value.name, *value.batches)
    where = _spill_location(value.staging)
    path = where.join(value.name)
    if value.name.endswith(".arrow"):
        with where.fs.open_input_file(path) as f:
            return pa.ipc.open_file(f).read_all()
    data = read_bytes(where.fs, path)
    if data is None:
        raise FileNotFoundError(f"spill file {path} is gone")
    return pickle.loads(data)


_readers_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _shared_file(staging: str, name: str) -> pa.ipc.RecordBatchFileReader:
    """An open reader of a shared spill file: a grouping reads many ranges of the same files."""
    where = _spill_location(staging)
    return pa.ipc.open_file(where.fs.open_input_file(where.join(name)))


def _read_batches(staging: str, name: str, first: int, count: int) -> pa.Table:
    with _readers_lock:
        reader = _shared_file(staging, name)
        batches = [reader.get_batch(i) for i in range(first, first + count)]
    return pa.Table.from_batches(batches, reader.schema)


class _SharedFile:
    """An Arrow file of one bundle's tables of one schema, each a range of record batches."""

    def __init__(self, staging: str, schema: pa.Schema) -> None:
        self.staging = staging
        self.schema = schema
        self.name, self._out = _new_file(staging, ".arrow")
        self._writer = pa.ipc.new_file(self._out, schema)
        self._batches = 0

    def append(self, table: pa.Table) -> Spilled:
        batches = table.to_batches()
        for batch in batches:
            self._writer.write_batch(batch)
        first, self._batches = self._batches, self._batches + len(batches)
        return Spilled(self.staging, self.name, (first, len(batches)))

    def close(self) -> None:
        self._writer.close()
        self._out.close()


class _SpillBundle(beam.DoFn):
    """``(key, value)`` with the value's tables appended to the bundle's shared spill files.

    The references are emitted at once and the files completed in ``finish_bundle``: what
    reads them is after the ``GroupByKey``, which waits for every bundle of its input.
    """

    def __init__(self, staging: str) -> None:
        self.staging = staging
        self._files: list[_SharedFile] = []

    def start_bundle(self) -> None:
        self._files = []

    def process(self, item: tuple[Any, Any]) -> Iterable[tuple[Any, Any]]:
        key, value = item
        yield key, self._spill(value)

    def finish_bundle(self) -> None:
        files, self._files = self._files, []
        for file in files:
            file.close()

    def _spill(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(self._spill(v) for v in value)
        if isinstance(value, pa.Table) and value.num_rows:
            return self._file(value.schema).append(value)
        return spill(value, self.staging)

    def _file(self, schema: pa.Schema) -> _SharedFile:
        for file in self._files:
            if file.schema.equals(schema, check_metadata=True):
                return file
        self._files.append(_SharedFile(self.staging, schema))
        return self._files[-1]


def _restore_group(item: tuple[Any, Iterable[Any]]) -> tuple[Any, list[Any]]:
    key, values = item
    return key, [restore(v) for v in values]


class SpilledGroupByKey(beam.PTransform):
    """``GroupByKey`` of ``(key, value)`` elements whose values travel as spill files.

    Applied to one collection, or to a tuple of them (flattened after spilling, so the
    flatten does not carry the rows either); every table, however small, is appended to its
    bundle's shared spill file of that schema. The output is ``(key, [value, ...])`` with every
    value read back, as consumers of a ``GroupByKey`` expect.
    """

    def __init__(self, staging: str) -> None:
        super().__init__()
        self.staging = staging

    def expand(self, pcolls: Any) -> beam.PCollection:
        inputs = pcolls if isinstance(pcolls, tuple | list) else (pcolls,)
        spilled = [
            pcoll | f"Spill{i}" >> beam.ParDo(_SpillBundle(self.staging))
            for i, pcoll in enumerate(inputs)
        ]
        merged = spilled[0] if len(spilled) == 1 else tuple(spilled) | "Sides" >> beam.Flatten()
        return merged | "Group" >> beam.GroupByKey() | "Restore" >> beam.Map(_restore_group)
