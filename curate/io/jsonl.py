"""JSON Lines reader: one JSON object per line, read as bytes so bad UTF-8 is caught per line.

A file can also be read a byte range at a time (:func:`read_jsonl_shard`, ranges from
:func:`curate.io.shards.line_shards`), so several workers can read one large file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, ReadBatch, record_from_mapping
from curate.io.encoding import encoding_of
from curate.io.shards import Shard


def read_jsonl(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    return read_jsonl_shard(Shard(path), fields, encoding_of(options))


def read_jsonl_shard(
    shard: Shard, fields: FieldMap, encoding: str = "utf-8"
) -> Iterator[ReadBatch]:
    """The records of the lines in ``shard``, numbered as lines of the whole file."""
    path = shard.path
    remaining = None if shard.end is None else shard.end - shard.start
    batch = ReadBatch()
    size = 0  # lines in the batch
    with open(path, "rb") as fh:
        fh.seek(shard.start)
        for number, raw in enumerate(fh, start=shard.first_line):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                batch.skipped += 1
            else:
                _parse_line(line, fields, path, number, batch, encoding)
            size += 1
            if size >= BATCH_SIZE:
                yield batch
                batch, size = ReadBatch(), 0
            if remaining is not None:
                remaining -= len(raw)
                if remaining <= 0:
                    break
    if len(batch):
        yield batch


def _parse_line(
    line: bytes, fields: FieldMap, path: str, number: int, batch: ReadBatch, encoding: str
) -> None:
    try:
        decoded = line.decode(encoding)
    except UnicodeDecodeError as exc:
        batch.quarantined.append(
            Quarantined(
                "invalid_utf8", f"invalid {encoding} at byte {exc.start}", path, number, line
            )
        )
        return
    try:
        obj = json.loads(decoded)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nesting too deep"
        batch.quarantined.append(Quarantined("malformed_json", detail, path, number, line))
        return
    if not isinstance(obj, dict):
        batch.quarantined.append(
            Quarantined(
                "not_an_object",
                f"a JSON {type(obj).__name__}, expected an object",
                path,
                number,
                line,
            )
        )
        return
    result = record_from_mapping(obj, fields, path, number, line)
    if isinstance(result, Quarantined):
        batch.quarantined.append(result)
    else:
        batch.records.append(result)
