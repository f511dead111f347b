"""Typed records shared by every stage, and the loading of ``schemas/`` into pyarrow schemas.

A stage works on plain Python values (dicts whose keys are the schema's column names) or on
Arrow tables; this module is the single place that knows what the columns are. Spans are always
character offsets into the text they label: ``text[start:end]`` is the labelled surface.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

#: Lineage columns carried by every record kind (see ARCHITECTURE.md, "Stage contract").
LINEAGE_COLUMNS = ("dataset", "source_id", "run_id", "stage", "model_id", "model_version")


class Span(NamedTuple):
    """A labelled character range ``[start, end)`` of a text."""

    start: int
    end: int
    label: str

    def surface(self, text: str) -> str:
        return text[self.start : self.end]


def spans_from_column(value: list[dict[str, Any]] | None) -> list[Span]:
    """Turn the Arrow/list-of-dicts form of a spans column into :class:`Span` tuples."""
    return [Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in value or []]


def spans_to_column(spans: list[Span]) -> list[dict[str, Any]]:
    return [{"start": s.start, "end": s.end, "label": s.label} for s in spans]


def content_id(*parts: str | None) -> str:
    """A stable 16-hex-digit id from content (blake2b over the parts, NUL-separated)."""
    joined = "\x00".join(part or "" for part in parts)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# --------------------------------------------------------------------------------------------
# Schema files
# --------------------------------------------------------------------------------------------

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "binary": pa.binary(),
    "bool": pa.bool_(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def _arrow_type(spec: Any) -> pa.DataType:
    """``"string"`` | ``{"list": T}`` | ``{"struct": {"name": T, ...}}`` | ``{"map": [K, V]}``."""
    if isinstance(spec, str):
        try:
            return _SCALARS[spec]
        except KeyError as exc:
            raise ValueError(f"unknown type {spec!r} in schema") from exc
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, inner),) = spec.items()
        if kind == "list":
            return pa.list_(_arrow_type(inner))
        if kind == "struct":
            return pa.struct([pa.field(k, _arrow_type(v)) for k, v in inner.items()])
        if kind == "map":
            return pa.map_(_arrow_type(inner[0]), _arrow_type(inner[1]))
    raise ValueError(f"bad type spec {spec!r} in schema")


@dataclass(frozen=True)
class RecordSchema:
    """One record kind: its Arrow schema and the columns its store stage is partitioned by."""

    name: str
    version: int
    description: str
    arrow: pa.Schema
    partition_by: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def file_schema(self) -> pa.Schema:
        """The schema of the Parquet files: partition columns live in the directory names."""
        return pa.schema([f for f in self.arrow if f.name not in self.partition_by])

    def table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Build a table with exactly this schema's columns (missing columns become nulls)."""
        return pa.Table.from_pylist(rows, schema=self.arrow)

    def validate(self, table: pa.Table) -> None:
        """Raise ``ValueError`` naming the first problem if ``table`` does not fit the schema."""
        missing = [f.name for f in self.arrow if f.name not in table.column_names]
        if missing:
            raise ValueError(f"{self.name}: missing columns {missing}")
        extra = [c for c in table.column_names if c not in self.arrow.names]
        if extra:
            raise ValueError(f"{self.name}: unknown columns {extra}")
        for field in self.arrow:
            actual = table.schema.field(field.name).type
            if actual != field.type:
                raise ValueError(f"{self.name}.{field.name}: type {actual}, expected {field.type}")
        for name in self.required:
            if table.column(name).null_count:
                raise ValueError(f"{self.name}.{name}: nulls in a required column")


@cache
def load_schema(name: str) -> RecordSchema:
    """Load ``schemas/<name>.json``; lineage columns are added to every kind."""
    path = SCHEMA_DIR / f"{name}.json"
    if not path.exists():
        raise KeyError(f"no schema named {name!r} in {SCHEMA_DIR}")
    spec = json.loads(path.read_text(encoding="utf-8"))
    fields: list[pa.Field] = []
    required: list[str] = []
    for column in spec["columns"]:
        nullable = not column.get("required")
        fields.append(pa.field(column["name"], _arrow_type(column["type"]), nullable=nullable))
        if column.get("required"):
            required.append(column["name"])
    if spec.get("lineage", True):
        lineage = json.loads((SCHEMA_DIR / "_lineage.json").read_text(encoding="utf-8"))
        for column in lineage["columns"]:
            nullable = not column.get("required")
            fields.append(pa.field(column["name"], _arrow_type(column["type"]), nullable=nullable))
            if column.get("required"):
                required.append(column["name"])
    return RecordSchema(
        name=spec["name"],
        version=int(spec["version"]),
        description=spec["description"],
        arrow=pa.schema(
            fields, metadata={"curate.schema": name, "curate.version": str(spec["version"])}
        ),
        partition_by=tuple(spec.get("partition_by", ())),
        required=tuple(required),
    )


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.json") if not p.stem.startswith("_"))
