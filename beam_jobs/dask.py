"""Running the jobs on Dask: Beam's DaskRunner, on a given scheduler or a local cluster.

``--runner dask`` (``curate run``) passes ``--runner=DASK_RUNNER`` and
``--dask_client_address=<scheduler>`` to Beam. Without an address, :func:`local_cluster`
starts a ``distributed.LocalCluster`` of worker processes bound to 127.0.0.1 (no dashboard)
for the duration of the run. Workers reach the store through its filesystem layer, so with an
object-store ``--store`` they share no disk with the driver.

Beam 2.77's DaskRunner runs a ParDo per Dask partition and collects its outputs *before*
calling ``finish_bundle``, so whatever a DoFn emits there is dropped without an error. Every
writing DoFn of the jobs emits its files and counts in ``finish_bundle`` (after closing its
files), so :func:`keep_finish_bundle_outputs` installs a bundle function that collects after
``finish_bundle``; it is applied when a pipeline is built for the DaskRunner.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def dask_beam_args(address: str, partitions: int = 16) -> list[str]:
    """The Beam options that run a pipeline on the Dask scheduler at ``address``, its first
    elements (inputs, language pairs) spread over up to ``partitions`` Dask partitions."""
    return [
        f"--runner={DASK_RUNNER}",
        f"--dask_client_address={address}",
        f"--dask_npartitions={partitions}",
    ]


def is_dask(runner: str | None) -> bool:
    return (runner or "") in (DASK_RUNNER, "DaskRunner")


@contextmanager
def local_cluster(workers: int = 2, directory: str | None = None) -> Iterator[str]:
    """A local Dask cluster of ``workers`` processes on 127.0.0.1; yields the scheduler address."""
    from distributed import LocalCluster

    with (
        tempfile.TemporaryDirectory(prefix="curate-dask-", dir=directory) as local,
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            local_directory=local,
        ) as cluster,
    ):
        yield cluster.scheduler_address


@contextmanager
def closing_runner_client() -> Iterator[None]:
    """Close the client the DaskRunner opens for a pipeline run within the block.

    The runner leaves it open, and once its cluster stops it retries and logs connection
    errors until the process ends. A client that was the default before the block (one of the
    caller's own) is left alone.
    """
    before = _default_client()
    try:
        yield
    finally:
        after = _default_client()
        if after is not None and after is not before:
            after.close()


def _default_client() -> Any:
    import distributed

    try:
        return distributed.default_client()
    except ValueError:  # no client
        return None


def _apply_dofn_to_bundle(
    items: Any, do_fn_invoker_args: Any, do_fn_invoker_kwargs: Any, tagged_receivers: Any
) -> list[Any]:
    """Beam's ``apply_dofn_to_bundle``, collecting the outputs after ``finish_bundle``."""
    from apache_beam.runners.common import DoFnInvoker

    invoker = DoFnInvoker.create_invoker(*do_fn_invoker_args, **do_fn_invoker_kwargs)
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()
    invoker.invoke_teardown()
    return [v.value for v in tagged_receivers.values]


def keep_finish_bundle_outputs() -> None:
    """Make Beam's DaskRunner keep what DoFns emit in ``finish_bundle`` (see module doc)."""
    from apache_beam.runners.dask import transform_evaluator

    transform_evaluator.apply_dofn_to_bundle = _apply_dofn_to_bundle
