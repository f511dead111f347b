"""What readers produce: raw records with their location, and quarantine entries.

A reader turns a file into :class:`ReadBatch` es. It decides nothing about languages or
normalisation; it only parses, applies the field mapping and says, for what it cannot parse, why.
Every physical record of the input ends in exactly one of ``records``, ``quarantined``,
``skipped`` (blank lines) or ``filtered`` (other lines that hold no record, by kind), so
ingest can prove ``in == out + quarantined + filtered``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

BATCH_SIZE = 2048


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold what. Unmapped fields are kept as JSON in ``meta``."""

    text: str = "text"
    id: str | None = "id"  # used when present
    lang: str | None = "lang"  # used when present
    spans: str | None = None
    text_b: str | None = None
    task: str | None = None
    target: str | None = None  # bitext in tabular files: the field with the translation

    def used(self) -> frozenset[str]:
        return _used_fields(self)


@dataclass
class RawRecord:
    """One parsed input record. ``kind`` is ``text``, ``tokens`` (CoNLL) or ``pair`` (bitext).

    A ``tokens`` or ``pair`` record may carry ``spans``/``tags`` and a ``target`` translation at
    once (labelled text with its translation); ``target_tokens`` are the target's words when the
    translation was given tokenised (a CoNLL target file).
    """

    kind: str
    source_file: str
    source_line: int
    payload: bytes
    text: str = ""
    id: str | None = None
    lang: str | None = None
    text_b: str | None = None
    target: str | None = None
    spans: Any = None
    task: str | None = None
    tokens: list[str] | None = None
    tags: list[str] | None = None
    tag_scheme: str | None = None  # CoNLL: the file's scheme (iob1/iob2), decided by the reader
    target_tokens: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Quarantined:
    reason: str
    detail: str
    source_file: str
    source_line: int | None
    payload: bytes


@dataclass
class ReadBatch:
    records: list[RawRecord] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    skipped: int = 0  # blank lines: not records, counted as filtered("blank_line")
    #: other lines that are not records, by what they are (CoNLL ``-DOCSTART-``: "docstart")
    filtered: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.records) + len(self.quarantined) + self.skipped + self.filtered.total()


@cache
def _used_fields(fields: FieldMap) -> frozenset[str]:
    return frozenset(v for v in vars(fields).values() if v)


class Reader(Protocol):
    def __call__(
        self, path: str, fields: FieldMap, options: dict[str, Any]
    ) -> Iterator[ReadBatch]: ...


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")


def record_from_mapping(
    row: dict[str, Any],
    fields: FieldMap,
    source_file: str,
    line: int,
    payload: bytes,
) -> RawRecord | Quarantined:
    """Apply the field mapping to one parsed row (JSON object, CSV row, Parquet row)."""
    text = row.get(fields.text)
    if fields.text not in row or text is None:
        return Quarantined(
            "missing_field",
            f"required field {fields.text!r} is missing",
            source_file,
            line,
            payload,
        )
    if not isinstance(text, str):
        return Quarantined(
            "bad_field_type",
            f"field {fields.text!r} is {type(text).__name__}, expected a string",
            source_file,
            line,
            payload,
        )
    for name in (fields.lang, fields.text_b, fields.target, fields.id, fields.task):
        if name and row.get(name) is not None and not isinstance(row[name], (str, int)):
            return Quarantined(
                "bad_field_type", f"field {name!r} must be a string", source_file, line, payload
            )
    if fields.target and row.get(fields.target) is None:
        return Quarantined(
            "missing_field",
            f"required field {fields.target!r} is missing",
            source_file,
            line,
            payload,
        )
    used = fields.used()
    return RawRecord(
        kind="pair" if fields.target else "text",
        source_file=source_file,
        source_line=line,
        payload=payload,
        text=text,
        id=_opt_str(row.get(fields.id)) if fields.id else None,
        lang=_opt_str(row.get(fields.lang)) if fields.lang else None,
        text_b=_opt_str(row.get(fields.text_b)) if fields.text_b else None,
        target=_opt_str(row.get(fields.target)) if fields.target else None,
        spans=row.get(fields.spans) if fields.spans else None,
        task=_opt_str(row.get(fields.task)) if fields.task else None,
        meta={k: v for k, v in row.items() if k not in used},
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
