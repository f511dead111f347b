"""CSV and TSV readers (header row required; the delimiter comes from the format)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from typing import Any

from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, ReadBatch, record_from_mapping
from curate.io.encoding import encoding_of

csv.field_size_limit(sys.maxsize)


def read_csv(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    return _read(path, fields, ",", encoding_of(options))


def read_tsv(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    return _read(path, fields, "\t", encoding_of(options))


def _read(path: str, fields: FieldMap, delimiter: str, encoding: str) -> Iterator[ReadBatch]:
    batch = ReadBatch()
    with open(path, encoding=encoding, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [h.lstrip("\ufeff") for h in header]
        for row in reader:
            number = reader.line_num
            payload = delimiter.join(row).encode("utf-8", "surrogateescape")
            if not row or not any(cell.strip() for cell in row):
                batch.skipped += 1
            elif any(_has_surrogate(cell) for cell in row):
                batch.quarantined.append(
                    Quarantined("invalid_utf8", "row contains invalid UTF-8", path, number, payload)
                )
            elif len(row) != len(header):
                batch.quarantined.append(
                    Quarantined(
                        "wrong_column_count",
                        f"{len(row)} columns, header has {len(header)}",
                        path,
                        number,
                        payload,
                    )
                )
            else:
                result = record_from_mapping(
                    dict(zip(header, row, strict=True)), fields, path, number, payload
                )
                if isinstance(result, Quarantined):
                    batch.quarantined.append(result)
                else:
                    batch.records.append(result)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = ReadBatch()
    if len(batch):
        yield batch


def _has_surrogate(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)
