"""Export a result set as a Hugging Face Hub dataset folder (and push it: :mod:`.push`).

:func:`export_folder` writes, atomically (:func:`curate.export.folder.replaced_folder`)::

    DIR/README.md                                   dataset card: YAML header + body
    DIR/data/<config>/<split>-00000-of-00002-<hash>.parquet   zstd Parquet shards, size-bounded

Rows may come as a stream of record batches: each batch is split by (config, split) and
appended to that group's current shard (:mod:`curate.export.shards`), a new shard starting at
``max_shard_rows`` rows or about ``max_shard_bytes`` bytes, so an export holds one batch at a
time, never the whole set; the card's statistics are added up batch by batch. Rows are grouped
by their ``config`` and ``split`` columns (``training_samples`` has both; other record kinds get
``default_config`` / ``train``), whose names are sanitised before they become paths
(:mod:`curate.export.names`). The card (:mod:`curate.export.card`) lists every config with its
``data_files``, so that ``datasets.load_dataset(DIR, name=CONFIG)`` loads each config.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.errors import UserError
from curate.export.card import CardInfo, CardStats, render_card
from curate.export.folder import replaced_folder
from curate.export.names import ConfigNames
from curate.export.push import push
from curate.export.shards import ShardWriter, group_rows

__all__ = [
    "CardInfo",
    "ExportResult",
    "export_folder",
    "plain_columns",
    "push",
    "with_class_labels",
]

DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_SHARD_ROWS = 100_000
_BATCH_ROWS = 10_000  # rows of an in-memory table written at a time


@dataclass
class ExportResult:
    folder: Path
    #: ``{config: {split: {"rows": n, "files": [relative paths]}}}``
    configs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return [f for splits in self.configs.values() for s in splits.values() for f in s["files"]]


def plain_columns(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns (hive partitions read back from the store) as their plain
    type, so that `datasets` sees plain features."""
    fields = [
        pa.field(f.name, f.type.value_type, f.nullable) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def with_class_labels(table: pa.Table, labels: dict[str, list[str]]) -> pa.Table:
    """``table`` with Hugging Face feature metadata that names the classes of its integer label
    columns (a list column becomes a sequence of ``ClassLabel``), so that `datasets` loads them
    as ``ClassLabel`` features, as token-classification training scripts expect."""
    import datasets

    features = datasets.Features.from_arrow_schema(table.schema)
    for column, names in labels.items():
        label = datasets.ClassLabel(names=names)
        is_list = pa.types.is_list(table.schema.field(column).type)
        features[column] = datasets.Sequence(label) if is_list else label
    return table.replace_schema_metadata(features.arrow_schema.metadata)


def _as_table(rows: pa.Table | Iterable[dict[str, Any]]) -> pa.Table:
    if isinstance(rows, pa.Table):
        return plain_columns(rows)
    rows = list(rows)
    if rows and "kind" in rows[0] and "n_tokens" in rows[0]:
        from curate.records import load_schema

        return load_schema("training_samples").table(rows)
    return pa.Table.from_pylist(rows)


def export_folder(
    rows: pa.Table | pa.RecordBatchReader | Iterable[dict[str, Any]],
    folder: str | Path,
    card: CardInfo,
    *,
    default_config: str = "default",
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    max_shard_rows: int = DEFAULT_MAX_SHARD_ROWS,
) -> ExportResult:
    """Write a Hub-ready dataset folder (see the module docstring); returns what was written.

    ``rows`` may be a stream of record batches (:func:`curate.export.stages.export_reader`):
    batches are written as they come, so memory follows the batch, not the export. A shard
    holds at most ``max_shard_rows`` rows and, unless one row alone is larger, rows of about
    ``max_shard_bytes`` uncompressed bytes. ``folder`` must not exist, be empty, or hold an
    earlier export (which is replaced whole).
    """
    folder = Path(folder)
    if max_shard_bytes < 1 or max_shard_rows < 1:
        raise UserError("max_shard_bytes and max_shard_rows must be positive")
    names = ConfigNames(default_config)
    total = CardStats()
    schema = rows.schema if isinstance(rows, pa.Table | pa.RecordBatchReader) else None
    with replaced_folder(folder) as tmp:
        writers: dict[tuple[str, str], ShardWriter] = {}
        stats: dict[tuple[str, str], CardStats] = {}
        for table in _batches(rows):
            schema = table.schema
            total.add(table, provenance=True)
            for (config, split), part in group_rows(table, default_config).items():
                key = names(config, split)
                if key not in writers:
                    writers[key] = ShardWriter(tmp, *key, max_shard_rows, max_shard_bytes)
                    stats[key] = CardStats()
                writers[key].write(part)
                stats[key].add(part)
        result = ExportResult(folder=folder)
        groups = {key: stats[key] for key in sorted(writers)}
        for (config, split), group in groups.items():
            result.configs.setdefault(config, {})[split] = {
                "rows": group.rows,
                "files": writers[config, split].finish(),
            }
        schema = schema if schema is not None else pa.schema([])
        text = render_card(schema, total, groups, result.configs, card)
        (tmp / "README.md").write_text(text, "utf-8")
    return result


def _batches(rows: pa.Table | pa.RecordBatchReader | Iterable[dict[str, Any]]) -> Iterator:
    """Tables of at most ``_BATCH_ROWS`` rows, plain columns, from what :func:`export_folder`
    takes."""
    if isinstance(rows, pa.RecordBatchReader):
        for batch in rows:
            if batch.num_rows:
                yield plain_columns(pa.Table.from_batches([batch]))
        return
    table = _as_table(rows)
    for start in range(0, table.num_rows, _BATCH_ROWS):
        yield table.slice(start, _BATCH_ROWS)
