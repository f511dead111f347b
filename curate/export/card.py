"""The dataset card of an export: README.md with a YAML header that `datasets` and the Hub read
(configs with their data files, languages, license, task and size categories) and a body with
per-config statistics, provenance, the recipe and the column documentation.

:class:`CardStats` adds up what the card says about the rows, batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

import curate
from curate.errors import UserError
from curate.export.folder import CARD_MARKER
from curate.languages import store_form

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


def size_category(n_rows: int) -> str:
    for limit, label in SIZE_CATEGORIES:
        if n_rows < limit:
            return label
    return "n>1T"


def _hub_language(code: str) -> str:
    """The shortest standard tag for a code (``deu`` -> ``de``), the store's form; codes that
    are none stay as they are."""
    return store_form(code) or code


def _unique(table: pa.Table, column: str) -> list[str]:
    if column not in table.column_names:
        return []
    values = pc.unique(table.column(column).combine_chunks()).to_pylist()
    return sorted(str(v) for v in values if v not in (None, ""))


#: columns whose distinct values the card lists, with their labels
PROVENANCE = [
    ("Source datasets", "dataset"),
    ("Runs", "run_id"),
    ("Stages", "stage"),
    ("Record kinds", "kind"),
    ("Models", "model_id"),
    ("Tokenizers (token counts)", "tokenizer"),
]


def table_languages(table: pa.Table) -> list[str]:
    codes: set[str] = set()
    for column in ("langs", "lang", "src_lang", "tgt_lang"):
        if column not in table.column_names:
            continue
        values = table.column(column)
        if pa.types.is_list(values.type):
            values = pc.list_flatten(values.combine_chunks())
        codes.update(str(v) for v in pc.unique(values).to_pylist() if v)
    return sorted({_hub_language(c) for c in codes})


@dataclass
class CardStats:
    """What the card says about a set of rows, added up batch by batch."""

    rows: int = 0
    tokens: int = 0
    languages: set[str] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, table: pa.Table, provenance: bool = False) -> None:
        self.rows += table.num_rows
        if "n_tokens" in table.column_names:
            self.tokens += int(pc.sum(table.column("n_tokens")).as_py() or 0)
        self.languages.update(table_languages(table))
        if provenance:
            for _, column in PROVENANCE:
                self.values.setdefault(column, set()).update(_unique(table, column))


def render_card(
    schema: pa.Schema,
    total: CardStats,
    groups: dict[tuple[str, str], CardStats],
    configs: dict[str, dict[str, dict[str, Any]]],
    card: CardInfo,
) -> str:
    """The README.md of an export: ``total`` and per-(config, split) ``groups`` statistics,
    ``configs`` as :attr:`ExportResult.configs <curate.export.hub.ExportResult.configs>` lists
    them (rows and files), the rows' ``schema`` and what ``card`` says."""
    configs_yaml = []
    for i, config in enumerate(configs):
        entry: dict[str, Any] = {
            "config_name": config,
            "data_files": [
                {"split": split, "path": configs[config][split]["files"]}
                for split in configs[config]
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
        n_files = len(configs[config][split]["files"])
        token_cell = f"{tokens:,}" if has_tokens else "-"
        lines.append(
            f"| {config} | {split} | {part.rows:,} | {token_cell} | {mean} | {languages} "
            f"| {n_files} |"
        )
    lines += ["", "## Provenance", ""]
    for label, column in PROVENANCE:
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
    first = next(iter(configs), "default")
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
    docs = column_docs(card.schema)
    for f in schema:
        doc = f": {docs[f.name]}" if f.name in docs else ""
        lines.append(f"- `{f.name}` ({f.type}){doc}")
    return "\n".join(lines) + "\n"


def column_docs(schema: str) -> dict[str, str]:
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


def read_card_header(folder: str | Path) -> dict[str, Any]:
    """The YAML header of an exported folder's README.md."""
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise UserError(f"{folder}/README.md has no YAML header")
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)])
