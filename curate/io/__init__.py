"""Readers, found by name or by file extension (``READERS``, :func:`resolve_format`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from curate.errors import UserError
from curate.io.base import FieldMap, Quarantined, RawRecord, ReadBatch, Reader
from curate.io.bitext import read_bitext
from curate.io.delimited import read_csv, read_tsv
from curate.io.hf import read_hf
from curate.io.inputs import (
    default_dataset,
    folder_files,
    is_saved_hf,
    looks_like_conll,
    split_of,
)
from curate.io.jsonl import read_jsonl, read_jsonl_shard
from curate.io.parallel import read_conll_with_target
from curate.io.parquet import read_parquet
from curate.io.shards import Shard, line_shards

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "tsv": read_tsv,
    "parquet": read_parquet,
    "conll": read_conll_with_target,  # with a target file: paired
    "bitext": read_bitext,
    "hf": read_hf,
}

#: Formats whose files can be cut into line ranges (:func:`line_shards`) read independently
#: (a shard reader takes the shard, the field map and the encoding).
SHARD_READERS: dict[str, Callable[[Shard, FieldMap, str], Iterator[ReadBatch]]] = {
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
    """The reader name for ``path``: ``fmt`` if given, else from the extension (a file with
    another extension that reads as CoNLL is CoNLL); a folder saved by ``datasets`` is ``hf``.
    """
    if not Path(path).exists():
        raise UserError(f"input not found: {path}")
    if fmt:
        if fmt not in READERS:
            raise UserError(f"unknown format {fmt!r}", hint=f"formats: {', '.join(READERS)}")
        return fmt
    if Path(path).is_dir():
        if is_saved_hf(path):
            return "hf"
        raise UserError(
            f"{path} is a folder, not a file",
            hint="curate ingest reads a folder's files one by one; --format hf reads it with "
            "`datasets`",
        )
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found is None and looks_like_conll(path):
        found = "conll"
    if found is None:
        raise UserError(
            f"cannot tell the format of {path} from its extension",
            hint=f"pass --format, one of: {', '.join(READERS)}",
        )
    return found


def expand_input(path: str, fmt: str | None = None) -> list[tuple[str, str]]:
    """``(file, format)`` of each file ``path`` stands for.

    A file is itself. A folder saved by ``datasets`` (or any folder with ``fmt`` ``hf``) is
    read as one Hugging Face dataset; any other folder stands for its data files, each read in
    ``fmt`` or the format its name (or a CoNLL look) says: a MasakhaNER language folder is its
    ``dev.txt``, ``test.txt`` and ``train.txt``, each a CoNLL file.
    """
    if not Path(path).exists():
        raise UserError(f"input not found: {path}")
    if not Path(path).is_dir() or fmt == "hf" or (not fmt and is_saved_hf(path)):
        return [(path, resolve_format(path, fmt or ("hf" if Path(path).is_dir() else None)))]
    if fmt == "bitext":
        raise UserError(
            f"{path} is a folder; a bitext is a file (with --target-file)",
            hint="pass the source file and its --target-file",
        )
    return [(f, resolve_format(f, fmt)) for f in folder_files(path)]


def read_input(
    path: str, fmt: str, fields: FieldMap, options: dict[str, Any]
) -> Iterator[ReadBatch]:
    """The batches of one input with the ``fmt`` reader; a split named by the file's name
    (``dev.txt``, ``esp.testb``) is recorded in each record's ``meta`` as ``split``."""
    return tag_split(READERS[fmt](path, fields, options), path if fmt != "hf" else None)


def tag_split(batches: Iterator[ReadBatch], path: str | None) -> Iterator[ReadBatch]:
    """``batches`` with ``meta["split"]`` set from the file name of ``path`` (where it names a
    split and the record has none of its own)."""
    split = split_of(path) if path else None
    for batch in batches:
        if split:
            for record in batch.records:
                record.meta.setdefault("split", split)
        yield batch


def format_with_target(path: str, fmt: str | None, target_file: str | None) -> str:
    """The reader for ``path`` read with a ``target_file`` of translations: CoNLL stays CoNLL
    (labelled sentences with their translations), anything else is a line-aligned bitext."""
    if not target_file:
        return fmt or ""
    suffix = Path(path).suffix.lower()
    if fmt == "conll" or (
        not fmt
        and (
            _EXTENSIONS.get(suffix) == "conll"
            or (suffix not in _EXTENSIONS and Path(path).is_file() and looks_like_conll(path))
        )
    ):
        return "conll"
    return "bitext"


__all__ = [
    "READERS",
    "SHARD_READERS",
    "FieldMap",
    "Quarantined",
    "RawRecord",
    "ReadBatch",
    "Shard",
    "default_dataset",
    "expand_input",
    "format_with_target",
    "line_shards",
    "read_input",
    "resolve_format",
    "split_of",
    "tag_split",
]
