"""Export a result set as a Hugging Face Hub dataset folder, and push that folder to the Hub.

:func:`export_folder` writes, atomically (a temporary folder, then a rename)::

    DIR/README.md                                   dataset card: YAML header + body
    DIR/data/<config>/<split>-00000-of-00002-<hash>.parquet   zstd Parquet shards, size-bounded

Rows are grouped by their ``config`` and ``split`` columns (``training_samples`` has both;
other record kinds get ``default_config`` / ``train``). Config and split names are sanitised
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


def _shard_bounds(table: pa.Table, max_bytes: int) -> list[tuple[int, int]]:
    if table.num_rows == 0:
        return [(0, 0)]
    cumulative = np.cumsum(_row_bytes(table))
    bounds, start, base = [], 0, 0
    while start < table.num_rows:
        end = int(np.searchsorted(cumulative, base + max_bytes, side="right"))
        end = max(end, start + 1)
        bounds.append((start, end))
        base = int(cumulative[end - 1])
        start = end
    return bounds


def _unique(table: pa.Table, column: str) -> list[str]:
    if column not in table.column_names:
        return []
    values = pc.unique(table.column(column).combine_chunks()).to_pylist()
    return sorted(str(v) for v in values if v not in (None, ""))


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


def _group(table: pa.Table, default_config: str) -> dict[tuple[str, str], pa.Table]:
    """Split the table by (config, split), with sanitised names; clashes are an error."""
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
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    out: dict[tuple[str, str], pa.Table] = {}
    for (config, split), indices in keys.items():
        safe = (
            sanitize_name(config or default_config),
            sanitize_name(split or "train", kind="split"),
        )
        if safe in seen and seen[safe] != (config, split):
            raise UserError(
                f"config/split names {seen[safe]} and {(config, split)} both become {safe}"
            )
        seen[safe] = (config, split)
        out[safe] = table.take(pa.array(indices, type=pa.int64()))
    return dict(sorted(out.items()))


def _card(table: pa.Table, groups: dict, result: ExportResult, card: CardInfo) -> str:
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
        "language": _languages(table),
        "task_categories": list(card.task_categories),
        "size_categories": [size_category(table.num_rows)],
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
    has_tokens = "n_tokens" in table.column_names
    lines.append("| config | split | rows | tokens | mean tokens/row | languages | files |")
    lines.append("|---|---|---:|---:|---:|---|---:|")
    for (config, split), part in groups.items():
        tokens = int(pc.sum(part.column("n_tokens")).as_py() or 0) if has_tokens else 0
        mean = f"{tokens / part.num_rows:.1f}" if has_tokens and part.num_rows else "-"
        languages = ", ".join(_languages(part)) or "-"
        n_files = len(result.configs[config][split]["files"])
        token_cell = f"{tokens:,}" if has_tokens else "-"
        lines.append(
            f"| {config} | {split} | {part.num_rows:,} | {token_cell} | {mean} | {languages} "
            f"| {n_files} |"
        )
    lines += ["", "## Provenance", ""]
    for label, column in [
        ("Source datasets", "dataset"),
        ("Runs", "run_id"),
        ("Stages", "stage"),
        ("Record kinds", "kind"),
        ("Models", "model_id"),
        ("Tokenizers (token counts)", "tokenizer"),
    ]:
        values = _unique(table, column)
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
    for f in table.schema:
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
    rows: pa.Table | Iterable[dict[str, Any]],
    folder: str | Path,
    card: CardInfo,
    *,
    default_config: str = "default",
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> ExportResult:
    """Write a Hub-ready dataset folder (see the module docstring); returns what was written.

    ``folder`` must not exist, be empty, or hold an earlier export (which is replaced whole).
    """
    folder = Path(folder)
    if max_shard_bytes < 1:
        raise UserError("max_shard_bytes must be positive")
    table = _as_table(rows)
    groups = _group(table, default_config)
    result = ExportResult(folder=folder)
    with replaced_folder(folder) as tmp:
        for (config, split), part in groups.items():
            bounds = _shard_bounds(part, max_shard_bytes)
            files = []
            for k, (a, b) in enumerate(bounds):
                shard = tmp / f"data/{config}/{split}-{k:05d}-of-{len(bounds):05d}.parquet"
                shard.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(part.slice(a, b - a), shard, compression="zstd")
                # the content's hash in the name: `datasets` caches a folder by its card and file
                # names, so a re-export with the same names would load the old rows
                named = shard.with_name(f"{shard.stem}-{_file_digest(shard)}.parquet")
                shard.rename(named)
                files.append(named.relative_to(tmp).as_posix())
            result.configs.setdefault(config, {})[split] = {"rows": part.num_rows, "files": files}
        (tmp / "README.md").write_text(_card(table, groups, result, card), encoding="utf-8")
    return result


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
