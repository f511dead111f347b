"""Line-aligned bitext: two files (line i of one translates line i of the other), or one file
of ``source ||| target`` lines (Moses / fast_align style).

Unequal files pair up to the shorter one; every extra line is quarantined with
``bitext_length_mismatch``, so no line is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest
from typing import Any

from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, RawRecord, ReadBatch

SEPARATOR = " ||| "


def read_bitext(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    target_path = options.get("target_file")
    batch = ReadBatch()
    with open(path, "rb") as src_fh:
        if target_path:
            with open(target_path, "rb") as tgt_fh:
                yield from _pairs_two_files(path, target_path, src_fh, tgt_fh, batch)
        else:
            yield from _pairs_one_file(path, src_fh, batch)


def _pairs_two_files(
    path: str, target_path: str, src_fh: Any, tgt_fh: Any, batch: ReadBatch
) -> Iterator[ReadBatch]:
    counts = [0, 0]
    for number, (src, tgt) in enumerate(zip_longest(src_fh, tgt_fh), start=1):
        if src is not None:
            counts[0] += 1
        if tgt is not None:
            counts[1] += 1
        if src is None or tgt is None:
            lone, name = (tgt, target_path) if src is None else (src, path)
            batch.quarantined.append(
                Quarantined(
                    "bitext_length_mismatch",
                    f"line {number} of {name} has no counterpart in the other file",
                    name,
                    number,
                    lone.rstrip(b"\r\n"),
                )
            )
        else:
            _add_pair(src.rstrip(b"\r\n"), tgt.rstrip(b"\r\n"), path, number, batch)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    if len(batch):
        yield batch


def _pairs_one_file(path: str, fh: Any, batch: ReadBatch) -> Iterator[ReadBatch]:
    for number, raw in enumerate(fh, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            batch.skipped += 1
        elif b"|||" not in line:
            batch.quarantined.append(
                Quarantined(
                    "missing_separator", "no '|||' between source and target", path, number, line
                )
            )
        else:
            src, tgt = line.split(b"|||", 1)
            _add_pair(src.strip(), tgt.strip(), path, number, batch, payload=line)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    if len(batch):
        yield batch


def _add_pair(
    src: bytes, tgt: bytes, path: str, number: int, batch: ReadBatch, payload: bytes | None = None
) -> None:
    payload = payload if payload is not None else src + SEPARATOR.encode() + tgt
    try:
        src_text, tgt_text = src.decode("utf-8"), tgt.decode("utf-8")
    except UnicodeDecodeError:
        batch.quarantined.append(
            Quarantined("invalid_utf8", "invalid UTF-8", path, number, payload)
        )
        return
    if not src_text.strip() and not tgt_text.strip():
        batch.skipped += 1
        return
    batch.records.append(
        RawRecord(
            kind="pair",
            source_file=path,
            source_line=number,
            payload=payload,
            text=src_text,
            target=tgt_text,
        )
    )
