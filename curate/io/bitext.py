"""Line-aligned bitext: two files (line i of one translates line i of the other), or one file
of ``source ||| target`` lines (Moses / fast_align style).

Two files of unequal line counts are never paired: one missing line shifts every later pair,
so a partial pairing keeps wrong pairs. They are an error (:func:`check_line_counts`), or with
the option ``on_misaligned: quarantine`` every line of both files is quarantined
(``bitext_length_mismatch``), so no line is lost and none is paired. Lines are decoded with the
``encoding`` option (UTF-8 by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from curate.errors import UserError
from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, RawRecord, ReadBatch
from curate.io.encoding import encoding_of

SEPARATOR = " ||| "
#: what to do with two files of unequal line counts
ON_MISALIGNED = ("error", "quarantine")


def read_bitext(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    target_path = options.get("target_file")
    encoding = encoding_of(options)
    batch = ReadBatch()
    if target_path and not check_line_counts(path, str(target_path), options):
        yield from _quarantine_both(path, str(target_path))
        return
    with open(path, "rb") as src_fh:
        if target_path:
            with open(target_path, "rb") as tgt_fh:
                yield from _pairs_two_files(path, src_fh, tgt_fh, batch, encoding)
        else:
            yield from _pairs_one_file(path, src_fh, batch, encoding)


def line_count(path: str) -> int:
    """Lines of a file (a last line without a line end counts)."""
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def check_line_counts(path: str, target_path: str, options: dict[str, Any]) -> bool:
    """True when the two files have as many lines; a UserError when not (False when the option
    ``on_misaligned`` is ``quarantine``: then the whole pair of files is quarantined)."""
    on_misaligned = str(options.get("on_misaligned") or "error")
    if on_misaligned not in ON_MISALIGNED:
        raise UserError(
            f"unknown on_misaligned {on_misaligned!r}", hint=f"one of {', '.join(ON_MISALIGNED)}"
        )
    n_src, n_tgt = line_count(path), line_count(target_path)
    if n_src == n_tgt:
        return True
    if on_misaligned == "quarantine":
        return False
    raise UserError(
        f"bitext files differ in length: {path} has {n_src} lines, {target_path} has "
        f"{n_tgt}; no line was paired",
        hint="line i of one file must translate line i of the other; fix the files, or pass "
        "--on-misaligned quarantine to quarantine both files whole",
    )


def _quarantine_both(path: str, target_path: str) -> Iterator[ReadBatch]:
    """Every line of both files, quarantined: a misaligned pair of files pairs nothing."""
    counts = f"{line_count(path)} source lines, {line_count(target_path)} target lines"
    batch = ReadBatch()
    for name in (path, target_path):
        with open(name, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                detail = f"the bitext files differ in length ({counts}): nothing paired"
                batch.quarantined.append(
                    Quarantined("bitext_length_mismatch", detail, name, number, raw.rstrip(b"\r\n"))
                )
                if len(batch) >= BATCH_SIZE:
                    yield batch
                    batch = ReadBatch()
    if len(batch):
        yield batch


def _pairs_two_files(
    path: str, src_fh: Any, tgt_fh: Any, batch: ReadBatch, encoding: str
) -> Iterator[ReadBatch]:
    for number, (src, tgt) in enumerate(zip(src_fh, tgt_fh, strict=True), start=1):
        _add_pair(src.rstrip(b"\r\n"), tgt.rstrip(b"\r\n"), path, number, batch, encoding)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    if len(batch):
        yield batch


def _pairs_one_file(path: str, fh: Any, batch: ReadBatch, encoding: str) -> Iterator[ReadBatch]:
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
            _add_pair(src.strip(), tgt.strip(), path, number, batch, encoding, payload=line)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    if len(batch):
        yield batch


def _add_pair(
    src: bytes,
    tgt: bytes,
    path: str,
    number: int,
    batch: ReadBatch,
    encoding: str,
    payload: bytes | None = None,
) -> None:
    payload = payload if payload is not None else src + SEPARATOR.encode() + tgt
    try:
        src_text, tgt_text = src.decode(encoding), tgt.decode(encoding)
    except UnicodeDecodeError:
        batch.quarantined.append(
            Quarantined("invalid_utf8", f"invalid {encoding}", path, number, payload)
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
