"""Hugging Face ``datasets`` reader: a dataset saved with ``save_to_disk``, or a local folder.

Nothing is downloaded: a saved dataset is opened with ``load_from_disk``; any other folder is read
with ``load_dataset(folder)`` (local files only; set ``HF_HUB_OFFLINE=1`` offline).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.errors import UserError
from curate.io.base import BATCH_SIZE, FieldMap, ReadBatch
from curate.io.parquet import rows_to_batch


def read_hf(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    import datasets

    split = options.get("split")
    loaded = _load(Path(path), split)
    if loaded is None:
        return
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded.keys())
        chosen = split or ("train" if "train" in names else names[0])
        if chosen not in loaded:
            raise UserError(f"{path}: no split {chosen!r}", hint=f"splits: {', '.join(names)}")
        loaded = loaded[chosen]
    offset = 0
    for rows in loaded.iter(batch_size=BATCH_SIZE):
        as_rows = [
            dict(zip(rows.keys(), values, strict=True))
            for values in zip(*rows.values(), strict=True)
        ]
        yield rows_to_batch(as_rows, fields, path, offset)
        offset += len(as_rows)


def _load(folder: Path, split: str | None) -> Any:
    """The dataset (or dataset dict) in ``folder``; None for a saved dataset without rows.

    Of a saved dataset dict only the split to read is loaded. ``datasets`` raises many kinds of
    errors for files it cannot load (a broken JSON line, a lone surrogate escape, columns whose
    types differ between rows): they become one clear error.
    """
    import datasets

    if (folder / "dataset_dict.json").exists():
        names = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        chosen = split or ("train" if "train" in names else names[0] if names else "train")
        if chosen not in names:
            raise UserError(f"{folder}: no split {chosen!r}", hint=f"splits: {', '.join(names)}")
        folder = folder / chosen
    saved = (folder / "state.json").exists()
    if saved and not json.loads((folder / "state.json").read_text(encoding="utf-8")).get(
        "_data_files"
    ):
        return None  # datasets cannot load a saved dataset of zero shards
    try:
        if saved:
            return datasets.load_from_disk(str(folder))
        return datasets.load_dataset(str(folder))
    except Exception as exc:
        cause = exc.__cause__ or exc
        message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        raise UserError(
            f"cannot load {folder} as a Hugging Face dataset: {type(cause).__name__}"
            + (f": {message[:300]}" if message else ""),
            hint="read its files with --format jsonl, csv or parquet instead: bad lines are "
            "then quarantined one by one",
        ) from None
