"""Where a stage command runs its Beam job: options shared by ``ingest``, ``translate``,
``align``, ``project``, ``detect`` and ``build``.

Unknown ``--options`` of these commands go to Beam as they are (``--runner=DataflowRunner
--project=...``). ``--dask-address`` is the short way to Beam's DaskRunner on a running
scheduler; ``curate run --runner dask`` can also start a local cluster for a whole recipe.
"""

from __future__ import annotations

import typer

from curate.errors import UserError
from curate.store import Store

STORE = typer.Option(
    "store", "--store", "-s", help="Store: a directory, or s3://bucket/prefix (gs://, az://)."
)
DASK_ADDRESS = typer.Option(
    None,
    "--dask-address",
    help="Run the Beam job on this Dask scheduler (tcp://host:8786) with Beam's DaskRunner.",
)
DASK_PARTITIONS = typer.Option(
    16,
    "--dask-partitions",
    min=1,
    help="With --dask-address: Dask partitions the job's first elements are spread over.",
)


def open_store(store: str) -> Store:
    """The store a stage command writes to; an object store answers a first request (or the
    command stops with one clear line before its job starts)."""
    opened = Store(store)
    opened.check_reachable()
    return opened


def beam_args(extra: list[str], dask_address: str | None, partitions: int = 16) -> list[str]:
    """The Beam options of a command: ``extra`` (passed through), and the DaskRunner's when
    ``dask_address`` is given."""
    if not dask_address:
        return list(extra)
    if any(arg.startswith("--runner") for arg in extra):
        raise UserError(
            "--dask-address runs the job on Dask: give no --runner with it",
            hint="either --dask-address tcp://host:8786, or --runner=... with Beam's options",
        )
    from beam_jobs.dask import dask_beam_args

    return [*dask_beam_args(dask_address, partitions), *extra]
