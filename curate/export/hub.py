"""Export a result set as a Hugging Face Hub dataset folder, and push that folder to the Hub.

:func:`export_folder` writes, atomically (a temporary folder, then a rename)::

    DIR/README.md                                   dataset card: YAML header + body
    DIR/data/<config>/<split>-00000-of-00002-<hash>.parquet   zstd Parquet shards, size-bounded

Rows may come as a stream of record batches: each batch is split by (config, split) and
appended to that group's current shard, a new shard starting at ``max_shard_rows`` rows or about
``max_shard_bytes`` bytes, so an export holds one batch at a time, never the whole set; the
card's statistics are added up batch by batch. Rows are grouped by their ``config`` and
``split`` columns (``training_samples`` has both; other record kinds get ``default_config`` /
``train``). Config and split names are sanitised
before they become paths. The card's YAML lists every config with its ``data_files``, the
languages, license, task categories and size category, so that
``datasets.load_dataset(DIR, name=CONFIG)`` loads each config; the body gives provenance
(datasets, runs, stages, models, tokenizers), per-config statistics and the recipe used.

:func:`push` uploads a folder with ``huggingface_hub``. The token is read from the environment
(``HF_TOKEN``) and never printed, written, or put into an exception: any failure (offline,
unreachable, refused) becomes a one-line :class:`~curate.errors.UserError`, and the local folder
is left as it was, complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

import curate
from curate.errors import UserError

CARD_MARKER = "<!-- written by curate export; edit the recipe, not this file -->"
DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_SHARD_ROWS = 100_000
_BATCH_ROWS = 10_000  # rows of an in-memory table written at a time
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
]


@dataclass
class CardInfo:
    """What the dataset card says beyond what the data shows."""

    pretty_name: str
    license: str = "other"
    task_categories: tuple[str, ...] = ("translation", "text-generation")
    description: str = ""
    provenance: str = ""
    recipe: dict[str, Any] | str | None = None
    tags: tuple[str, ...] = ("curate",)
    schema: str = "training_samples"  # the record kind exported: its column docs go on the card


@dataclass
class ExportResult:
    folder: Path
    #: ``{config: {split: {"rows": n, "files": [relative paths]}}}``
    configs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return [f for splits in self.configs.values() for s in splits.values() for f in s["files"]]


def sanitize_name(name: str, *, kind: str = "config") -> str:
    """A safe file and config name: ASCII letters, digits, ``.``, ``_``, ``-``; 64 chars at most.

    Split names may only hold letters, digits and ``_`` (the ``datasets`` split-name rule).
    """
    decomposed = unicodedata.normalize("NFKD", str(name))
    # Accents go (é -> e); any other non-ASCII character becomes a separator.
    text = "".join(
        c if c.isascii() else ("" if unicodedata.combining(c) else "_") for c in decomposed
    )
    allowed = r"[^A-Za-z0-9_]+" if kind == "split" else r"[^A-Za-z0-9._-]+"
    text = re.sub(allowed, "_", text).strip("._-")
    text = re.sub(r"\.{2,}", ".", text)[:64].strip("._-")
    if not text:
        raise UserError(f"{kind} name {name!r} has no usable characters")
    return text


def size_category(n_rows: int) -> str:
    for limit, label in SIZE_CATEGORIES:
        if n_rows < limit:
            return label
    return "n>1T"


def _hub_language(code: str) -> str:
    """The shortest standard tag for a code (``deu`` -> ``de``), the store's form; codes that
    are none stay as they are."""
    from curate.languages import store_form

    return store_form(code.replace("_", "-")) or code


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


def _row_bytes(table: pa.Table) -> np.ndarray:
    """Uncompressed size estimate of each row: string lengths plus the rest spread evenly."""
    n = table.num_rows
    sizes = np.zeros(n, dtype=np.int64)
    rest = 0
    for column in table.columns:
        if (
            pa.types.is_string(column.type)
            or pa.types.is_binary(column.type)
            or pa.types.is_large_string(column.type)
        ):
            lengths = pc.fill_null(pc.binary_length(column), 0)
            sizes += np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            rest += column.nbytes
    return sizes + (rest // max(n, 1)) + 8


def _unique(table: pa.Table, column: str) -> list[str]:
    if column not in table.column_names:
        return []
    values = pc.unique(table.column(column).combine_chunks()).to_pylist()
    return sorted(str(v) for v in values if v not in (None, ""))


#: columns whose distinct values the card lists, with their labels
_PROVENANCE = [
    ("Source datasets", "dataset"),
    ("Runs", "run_id"),
    ("Stages", "stage"),
    ("Record kinds", "kind"),
    ("Models", "model_id"),
    ("Tokenizers (token counts)", "tokenizer"),
]


def _languages(table: pa.Table) -> list[str]:
    codes: set[str] = set()
    for column in ("langs", "lang", "src_lang", "tgt_lang"):
        if column not in table.column_names:
            continue
        values = table.column(column)
        if pa.types.is_list(values.type):
            values = pc.list_flatten(values.combine_chunks())
        codes.update(str(v) for v in pc.unique(values).to_pylist() if v)
    return sorted({_hub_language(c) for c in codes})


def _group_rows(table: pa.Table, default_config: str) -> dict[tuple[str, str], pa.Table]:
    """Split rows by their (config, split) values (in order of first appearance)."""
    n = table.num_rows
    configs = (
        table.column("config").to_pylist()
        if "config" in table.column_names
        else [default_config] * n
    )
    splits = table.column("split").to_pylist() if "split" in table.column_names else ["train"] * n
    keys: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(configs, splits, strict=True)):
        keys.setdefault(key, []).append(i)
    return {key: table.take(pa.array(idx, type=pa.int64())) for key, idx in keys.items()}


class _Names:
    """Sanitised (config, split) names; two raw names that become one are an error."""

    def __init__(self, default_config: str) -> None:
        self.default_config = default_config
        self.seen: dict[tuple[str, str], tuple[str, str]] = {}
        self.safe: dict[tuple[str, str], tuple[str, str]] = {}

    def __call__(self, config: str | None, split: str | None) -> tuple[str, str]:
        raw = (config, split)
        if raw in self.safe:
            return self.safe[raw]
        safe = (
            sanitize_name(config or self.default_config),
            sanitize_name(split or "train", kind="split"),
        )
        if safe in self.seen and self.seen[safe] != raw:
            raise UserError(f"config/split names {self.seen[safe]} and {raw} both become {safe}")
        self.seen[safe] = raw
        self.safe[raw] = safe
        return safe


@dataclass
class _Stats:
    """What the card says about a set of rows, added up batch by batch."""

    rows: int = 0
    tokens: int = 0
    languages: set[str] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, table: pa.Table, provenance: bool = False) -> None:
        self.rows += table.num_rows
        if "n_tokens" in table.column_names:
            self.tokens += int(pc.sum(table.column("n_tokens")).as_py() or 0)
        self.languages.update(_languages(table))
        if provenance:
            for _, column in _PROVENANCE:
                self.values.setdefault(column, set()).update(_unique(table, column))


class _GroupWriter:
    """The Parquet shards of one (config, split): a new file when the current one holds
    ``max_rows`` rows or its rows' estimated size would pass ``max_bytes``. Only the rows
    being written are held; files are named (count and content hash) when all are written."""

    def __init__(
        self, folder: Path, config: str, split: str, max_rows: int, max_bytes: int
    ) -> None:
        self.folder, self.config, self.split = folder, config, split
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.paths: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = self.bytes = 0
        self.stats = _Stats()

    def write(self, table: pa.Table) -> None:
        self.stats.add(table)
        sizes = _row_bytes(table)
        start = 0
        while start < table.num_rows:
            if self.writer is None:
                path = self.folder / f"data/{self.config}/{self.split}-{len(self.paths):05d}.tmp"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                self.paths.append(path)
                self.rows = self.bytes = 0
            room = sizes[start : start + self.max_rows - self.rows]
            take = int(np.searchsorted(np.cumsum(room), self.max_bytes - self.bytes, "right"))
            if take == 0 and self.rows == 0:
                take = 1  # a row larger than a shard is a shard of its own
            if take:
                self.writer.write_table(table.slice(start, take))
                self.rows += take
                self.bytes += int(room[:take].sum())
                start += take
            if take < len(room) or self.rows == self.max_rows:
                self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> list[str]:
        """Name the shards ``<split>-<k>-of-<n>-<hash>.parquet``; their paths in the folder."""
        self.close()
        files = []
        for k, path in enumerate(self.paths):
            # the content's hash in the name: `datasets` caches a folder by its card and file
            # names, so a re-export with the same names would load the old rows
            named = path.with_name(
                f"{self.split}-{k:05d}-of-{len(self.paths):05d}-{_file_digest(path)}.parquet"
            )
            path.rename(named)
            files.append(named.relative_to(self.folder).as_posix())
        return files


def _card(
    schema: pa.Schema, total: _Stats, groups: dict, result: ExportResult, card: CardInfo
) -> str:
    configs_yaml = []
    for i, config in enumerate(result.configs):
        entry: dict[str, Any] = {
            "config_name": config,
            "data_files": [
                {"split": split, "path": result.configs[config][split]["files"]}
                for split in result.configs[config]
            ],
        }
        if i == 0:
            entry["default"] = True
        configs_yaml.append(entry)
    header = {
        "pretty_name": card.pretty_name,
        "license": card.license,
        "language": sorted(total.languages),
        "task_categories": list(card.task_categories),
        "size_categories": [size_category(total.rows)],
        "tags": list(card.tags),
        "configs": configs_yaml,
    }
    if not header["language"]:
        del header["language"]
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        CARD_MARKER,
        "",
        f"# {card.pretty_name}",
        "",
    ]
    if card.description:
        lines += [card.description.strip(), ""]
    lines += ["## Configs and statistics", ""]
    has_tokens = "n_tokens" in schema.names
    lines.append("| config | split | rows | tokens | mean tokens/row | languages | files |")
    lines.append("|---|---|---:|---:|---:|---|---:|")
    for (config, split), part in groups.items():
        tokens = part.tokens
        mean = f"{tokens / part.rows:.1f}" if has_tokens and part.rows else "-"
        languages = ", ".join(sorted(part.languages)) or "-"
        n_files = len(result.configs[config][split]["files"])
        token_cell = f"{tokens:,}" if has_tokens else "-"
        lines.append(
            f"| {config} | {split} | {part.rows:,} | {token_cell} | {mean} | {languages} "
            f"| {n_files} |"
        )
    lines += ["", "## Provenance", ""]
    for label, column in _PROVENANCE:
        values = sorted(total.values.get(column, ()))
        if values:
            shown = ", ".join(f"`{v}`" for v in values[:20])
            more = f" and {len(values) - 20} more" if len(values) > 20 else ""
            lines.append(f"- {label}: {shown}{more}")
    lines.append(f"- Built with curate {curate.__version__}.")
    if card.provenance:
        lines += ["", card.provenance.strip()]
    if card.recipe is not None:
        recipe = (
            card.recipe
            if isinstance(card.recipe, str)
            else yaml.safe_dump(card.recipe, sort_keys=False, allow_unicode=True)
        )
        lines += ["", "## Recipe", "", "```yaml", recipe.rstrip(), "```"]
    first = next(iter(result.configs), "default")
    lines += [
        "",
        "## Usage",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("<this repository or folder>", name="{first}")',
        "```",
        "",
        "## Columns",
        "",
    ]
    docs = _column_docs(card.schema)
    for f in schema:
        doc = f": {docs[f.name]}" if f.name in docs else ""
        lines.append(f"- `{f.name}` ({f.type}){doc}")
    return "\n".join(lines) + "\n"


def _column_docs(schema: str) -> dict[str, str]:
    """Column descriptions from the exported record kind's schema and the lineage columns."""
    import json

    from curate.records import SCHEMA_DIR

    docs: dict[str, str] = {}
    for name in ("_lineage", schema):
        path = SCHEMA_DIR / f"{name}.json"
        if path.is_file():
            for column in json.loads(path.read_text(encoding="utf-8"))["columns"]:
                docs[column["name"]] = column.get("doc", "")
    docs.setdefault("config", "the dataset config this row belongs to")
    docs.setdefault("split", "the split this row belongs to")
    return docs


def _file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=6)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_previous_export(folder: Path) -> bool:
    readme = folder / "README.md"
    return readme.is_file() and CARD_MARKER in readme.read_text(encoding="utf-8", errors="replace")


@contextmanager
def replaced_folder(folder: Path) -> Iterator[Path]:
    """A temporary folder to write an export into; on success it takes ``folder``'s place whole
    (an earlier export there is replaced), on failure it is removed and ``folder`` is untouched.

    ``folder`` must not exist, be empty, or hold an earlier export (a README.md with the card
    marker).
    """
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not _is_previous_export(folder))
    ):
        raise UserError(
            f"{folder} exists and is not an earlier export; choose an empty or new folder"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


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
    names = _Names(default_config)
    total = _Stats()
    schema = rows.schema if isinstance(rows, pa.Table | pa.RecordBatchReader) else None
    with replaced_folder(folder) as tmp:
        writers: dict[tuple[str, str], _GroupWriter] = {}
        for table in _batches(rows):
            schema = table.schema
            total.add(table, provenance=True)
            for (config, split), part in _group_rows(table, default_config).items():
                key = names(config, split)
                if key not in writers:
                    writers[key] = _GroupWriter(tmp, *key, max_shard_rows, max_shard_bytes)
                writers[key].write(part)
        result = ExportResult(folder=folder)
        groups = dict(sorted(writers.items()))
        for (config, split), writer in groups.items():
            files = writer.finish()
            result.configs.setdefault(config, {})[split] = {
                "rows": writer.stats.rows,
                "files": files,
            }
        stats = {key: writer.stats for key, writer in groups.items()}
        schema = schema if schema is not None else pa.schema([])
        (tmp / "README.md").write_text(_card(schema, total, stats, result, card), "utf-8")
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


def read_card_header(folder: str | Path) -> dict[str, Any]:
    """The YAML header of an exported folder's README.md."""
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise UserError(f"{folder}/README.md has no YAML header")
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)])


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)
    text = " ".join(text.split())
    return text[:300]


def _upload(folder: Path, repo_id: str, private: bool, message: str, token_env: str) -> str:
    """The Hub calls; the token lives only in this frame and in ``HfApi``."""
    from huggingface_hub import HfApi

    api = HfApi(token=os.environ[token_env])
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type="dataset", commit_message=message
    )
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/datasets/{repo_id}")


def push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token_env: str = "HF_TOKEN",
    commit_message: str = "Upload dataset exported by curate",
) -> str:
    """Upload an exported folder to the dataset repository ``repo_id``; returns the commit URL.

    Raises a one-line :class:`UserError` for a missing token, a bad repo id, or any Hub failure
    (offline, unreachable, refused); the token is never part of a message or of the error's
    chained exceptions, and the local folder is not touched.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise UserError(f"{folder} is not an exported dataset folder (no README.md)")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
        bad_id = "/" not in repo_id
    except HFValidationError:
        bad_id = True
    if bad_id:
        raise UserError(f"invalid Hub repository id {repo_id!r}", hint="use namespace/name")
    if not os.environ.get(token_env):
        raise UserError(
            f"{token_env} is not set", hint=f"export {token_env}=<a write token> and run again"
        )
    failure: str | None = None
    try:
        return _upload(folder, repo_id, private, commit_message, token_env)
    except Exception as exc:  # any Hub failure is reported as one line
        failure = _scrub(f"{type(exc).__name__}: {exc}", os.environ.get(token_env))
    # Raised outside the except block so the Hub exception (and its frames) are not chained.
    raise UserError(
        f"could not push {folder} to {repo_id}: {failure}",
        hint=f"the local folder {folder} is complete; push it again when the Hub is reachable",
    )
