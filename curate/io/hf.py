"""Hugging Face ``datasets`` reader: a dataset saved with ``save_to_disk``, or a local folder.

Nothing is downloaded: a saved dataset is opened with ``load_from_disk``; any other folder is read
with ``load_dataset(folder)`` (local files only; set ``HF_HUB_OFFLINE=1`` offline).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.errors import UserError
from curate.io.base import BATCH_SIZE, FieldMap, ReadBatch
from curate.io.parquet import rows_to_batch


def read_hf(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    import datasets

    split = options.get("split")
    folder = Path(path)
    if (folder / "state.json").exists() or (folder / "dataset_dict.json").exists():
        loaded = datasets.load_from_disk(str(folder))
    else:
        loaded = datasets.load_dataset(str(folder))
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
