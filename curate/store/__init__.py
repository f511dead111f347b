"""The Parquet store: runs committed atomically by manifest, and DuckDB views over them."""

from curate.store.files import PartitionedWriter, WrittenFile, count_by, partition_value
from curate.store.run import Run, StageCounts
from curate.store.store import Store, check_read_only

__all__ = [
    "PartitionedWriter",
    "Run",
    "StageCounts",
    "Store",
    "WrittenFile",
    "check_read_only",
    "count_by",
    "partition_value",
]
