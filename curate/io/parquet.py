"""Parquet reader, streaming row groups in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq

from curate.io.base import (
    BATCH_SIZE,
    FieldMap,
    Quarantined,
    ReadBatch,
    json_bytes,
    record_from_mapping,
)


def read_parquet(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    row_number = 0
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_SIZE):
        yield rows_to_batch(record_batch.to_pylist(), fields, path, row_number)
        row_number += record_batch.num_rows


def rows_to_batch(
    rows: list[dict[str, Any]], fields: FieldMap, path: str, offset: int
) -> ReadBatch:
    """Map already-parsed rows (Parquet, Hugging Face datasets) into a batch; rows are 1-based."""
    batch = ReadBatch()
    for i, row in enumerate(rows, start=offset + 1):
        result = record_from_mapping(row, fields, path, i, json_bytes(row))
        if isinstance(result, Quarantined):
            batch.quarantined.append(result)
        else:
            batch.records.append(result)
    return batch
