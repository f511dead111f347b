"""JSON Lines reader: one JSON object per line, read as bytes so bad UTF-8 is caught per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, ReadBatch, record_from_mapping


def read_jsonl(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    batch = ReadBatch()
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                batch.skipped += 1
            else:
                _parse_line(line, fields, path, number, batch)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = ReadBatch()
    if len(batch):
        yield batch


def _parse_line(line: bytes, fields: FieldMap, path: str, number: int, batch: ReadBatch) -> None:
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        batch.quarantined.append(
            Quarantined("invalid_utf8", f"invalid UTF-8 at byte {exc.start}", path, number, line)
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
