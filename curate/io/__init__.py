"""Readers, found by name or by file extension (``READERS``, :func:`resolve_format`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from curate.errors import UserError
from curate.io.base import FieldMap, Quarantined, RawRecord, ReadBatch, Reader
from curate.io.bitext import read_bitext
from curate.io.conll import read_conll
from curate.io.delimited import read_csv, read_tsv
from curate.io.hf import read_hf
from curate.io.jsonl import read_jsonl, read_jsonl_shard
from curate.io.parquet import read_parquet
from curate.io.shards import Shard, line_shards

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "tsv": read_tsv,
    "parquet": read_parquet,
    "conll": read_conll,
    "bitext": read_bitext,
    "hf": read_hf,
}

#: Formats whose files can be cut into line ranges (:func:`line_shards`) read independently.
SHARD_READERS: dict[str, Callable[[Shard, FieldMap], Iterator[ReadBatch]]] = {
    "jsonl": read_jsonl_shard,
}

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".conll": "conll",
    ".conll02": "conll",
    ".conll03": "conll",
    ".conllu": "conll",
    ".bio": "conll",
    ".iob": "conll",
}


def resolve_format(path: str, fmt: str | None = None) -> str:
    """The reader name for ``path``: ``fmt`` if given, else from the extension."""
    if not Path(path).exists():
        raise UserError(f"input not found: {path}")
    if fmt:
        if fmt not in READERS:
            raise UserError(f"unknown format {fmt!r}", hint=f"formats: {', '.join(READERS)}")
        return fmt
    if Path(path).is_dir():
        return "hf"
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise UserError(
            f"cannot tell the format of {path} from its extension",
            hint=f"pass --format, one of: {', '.join(READERS)}",
        )
    return found


__all__ = [
    "READERS",
    "SHARD_READERS",
    "FieldMap",
    "Quarantined",
    "RawRecord",
    "ReadBatch",
    "Shard",
    "line_shards",
    "resolve_format",
]
