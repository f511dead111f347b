"""Projected span labels as CoNLL files, the layout most NER trainers and evaluators read.

:func:`export_conll` writes ``DIR/<config>/<split>.conll`` (configs and splits as
:func:`curate.export.stages.export_reader` gives them: ``en-de/train.conll``), one
``word<TAB>IOB2 tag`` line per word and a blank line after each sentence, plus a README.md
that says what each file holds. Sentences keep the rows' order (the corpus order, from
:func:`~curate.export.stages.export_reader`, streamed batch by batch). Whitespace inside a
word (which would split the column) is written as ``_``. The folder is replaced whole, like a
Hub export (:func:`curate.export.folder.replaced_folder`).
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import pyarrow as pa

from curate.errors import UserError
from curate.export.folder import CARD_MARKER, replaced_folder
from curate.export.names import sanitize_name

_WHITESPACE = re.compile(r"\s")


def export_conll(
    rows: pa.Table | pa.RecordBatchReader, folder: str | Path
) -> dict[str, dict[str, int]]:
    """Write the rows' ``tokens`` and ``tags`` as CoNLL files; returns sentences per config
    and split. Rows without words are left out (counted in the README). ``rows`` may be a
    stream of record batches (:func:`~curate.export.stages.export_reader`): each batch is
    appended to its files as it comes, so memory follows the batch."""
    for column in ("tokens", "tags", "config", "split"):
        if column not in rows.schema.names:
            raise UserError(f"CoNLL export needs a {column!r} column (export projections)")
    batches = rows.to_batches() if isinstance(rows, pa.Table) else rows
    written: dict[str, dict[str, int]] = {}
    skipped = 0
    folder = Path(folder)
    with replaced_folder(folder) as tmp, ExitStack() as files:
        handles: dict[Path, TextIO] = {}
        for batch in batches:
            part = pa.Table.from_batches([batch]).select(["config", "split", "tokens", "tags"])
            for row in part.to_pylist():
                tokens, tags = row["tokens"] or [], row["tags"] or []
                if not tokens or len(tokens) != len(tags):
                    skipped += 1
                    continue
                config = sanitize_name(row["config"])
                split = sanitize_name(row["split"], kind="split")
                path = tmp / config / f"{split}.conll"
                if path not in handles:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    handles[path] = files.enter_context(path.open("w", encoding="utf-8"))
                handles[path].writelines(
                    f"{_WHITESPACE.sub('_', w)}\t{t}\n" for w, t in zip(tokens, tags, strict=True)
                )
                handles[path].write("\n")
                written.setdefault(config, {}).setdefault(split, 0)
                written[config][split] += 1
        files.close()
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
