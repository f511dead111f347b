"""Projected span labels as CoNLL files, the layout most NER trainers and evaluators read.

:func:`export_conll` writes ``DIR/<config>/<split>.conll`` (configs and splits as
:func:`curate.export.stages.export_rows` gives them: ``en-de/train.conll``), one
``word<TAB>IOB2 tag`` line per word and a blank line after each sentence, plus a README.md
that says what each file holds. Sentences keep the rows' order (the corpus order, from
:func:`~curate.export.stages.export_rows`). Whitespace inside a word (which would split the
column) is written as ``_``. The folder is replaced whole, like a Hub export
(:func:`curate.export.hub.replaced_folder`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from curate.errors import UserError
from curate.export.hub import CARD_MARKER, replaced_folder, sanitize_name

_WHITESPACE = re.compile(r"\s")


def export_conll(table: pa.Table, folder: str | Path) -> dict[str, dict[str, int]]:
    """Write the rows' ``tokens`` and ``tags`` as CoNLL files; returns sentences per config
    and split. Rows without words are left out (counted in the README)."""
    for column in ("tokens", "tags", "config", "split"):
        if column not in table.column_names:
            raise UserError(f"CoNLL export needs a {column!r} column (export projections)")
    rows = table.select(["config", "split", "tokens", "tags"]).to_pylist()
    written: dict[str, dict[str, int]] = {}
    skipped = 0
    folder = Path(folder)
    with replaced_folder(folder) as tmp:
        files: dict[Path, list[str]] = {}
        for row in rows:
            tokens, tags = row["tokens"] or [], row["tags"] or []
            if not tokens or len(tokens) != len(tags):
                skipped += 1
                continue
            config = sanitize_name(row["config"])
            split = sanitize_name(row["split"], kind="split")
            lines = files.setdefault(tmp / config / f"{split}.conll", [])
            lines.extend(
                f"{_WHITESPACE.sub('_', w)}\t{t}\n" for w, t in zip(tokens, tags, strict=True)
            )
            lines.append("\n")
            written.setdefault(config, {}).setdefault(split, 0)
            written[config][split] += 1
        for path, lines in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(lines), encoding="utf-8")
        (tmp / "README.md").write_text(_readme(written, skipped), encoding="utf-8")
    return written


def _readme(written: dict[str, dict[str, int]], skipped: int) -> str:
    lines = [
        CARD_MARKER,
        "",
        "# Projected span labels (CoNLL)",
        "",
        "One `word<TAB>IOB2 tag` line per word, a blank line after each sentence.",
        "",
        "| file | sentences |",
        "|---|---:|",
    ]
    for config, splits in sorted(written.items()):
        for split, n in sorted(splits.items()):
            lines.append(f"| {config}/{split}.conll | {n:,} |")
    if skipped:
        lines += ["", f"{skipped} row(s) without words (or with a tag per word missing) left out."]
    return "\n".join(lines) + "\n"
