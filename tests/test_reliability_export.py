"""Loading an export after exporting again to the same folder gives the new rows.

``datasets.load_dataset(folder, name=config)`` on a folder whose card lists its configs keys
its cache on the card's YAML and the data-file names, not on the files' contents or times: a
second export to the same folder (or to another folder of the same name) was served from the
cache of the first, and the user silently got the old rows. Shard names now carry a hash of their
content, so different rows mean different names and a fresh load.
"""

from __future__ import annotations

import datasets
import pyarrow as pa

from curate.export.card import CardInfo
from curate.export.hub import export_folder


def test_a_re_export_loads_the_new_rows(tmp_path):
    folder = tmp_path / "hub"
    for n in (3, 5):
        export_folder(pa.table({"text": [f"row {i}" for i in range(n)]}), folder, CardInfo("t"))
        assert datasets.load_dataset(str(folder), name="default", split="train").num_rows == n


def test_exports_of_the_same_name_in_other_folders_load_their_own_rows(tmp_path):
    """The same bug across folders; loading by data files (no card) is the workaround."""
    for n in (3, 5):
        folder = tmp_path / f"run{n}" / "hub"
        export_folder(pa.table({"text": [f"row {i}" for i in range(n)]}), folder, CardInfo("t"))
        files = [str(p) for p in sorted(folder.glob("data/default/*.parquet"))]
        loaded = datasets.load_dataset("parquet", data_files=files, split="train")
        assert loaded.num_rows == n
