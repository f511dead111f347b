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
``finish_bundle``; it is applied when a pipeline is built for the DaskRunner. That bundle
function also keeps large buffers on the heap in the worker (:mod:`curate.allocator`): Dask's
nanny starts workers with a fixed malloc trim threshold, under which translation ran 2.7x
slower there, and gives the worker its share of its machine's cores (:mod:`curate.cores`): two
workers on one host each started a translator replica per core of the host.

Its ParDo also hands every side input to the DoFn as a Dask bag that each bundle computes on
its own (``list(bag)`` inside the task): the side input's whole upstream graph ran again in
every bundle of every consumer. ``curate project`` on the demo's 120 translated NER examples,
in 4 partitions, read its translations shards 14 times instead of 4 and its examples shards 8
times instead of 2, and ran 16 chunk alignments instead of 2 (``benchmarks/RESULTS.md``).
:func:`compute_side_inputs_once` makes a side input one node of the pipeline's graph (all of
its partitions gathered once) on which the consumer's bundles depend, so Dask computes it once
and shares what it shares with the main path. A collection consumed as a main input by several
transforms was already computed once (one graph, shared keys).

A node every bundle depends on pulls the bundles to the worker that holds it (the scheduler
places a task where its inputs' bytes are), so one worker ran all of a consumer's bundles. A
second node, run once the side input is computed and before any bundle can start, copies it to
every worker (the scheduler's ``replicate``): each bundle then finds the side input wherever
it runs, and is placed by its main input and the workers' load as without side inputs.

Its GroupByKey is Dask's task shuffle of the input bag into as many partitions as the input
has, with a split task per input and output partition, and a Flatten's partitions are those of
all its inputs added up. So the partitions grew along a pipeline, and every grouping cost the
square of them in tasks: ``build parallel`` at 20,000 translations with their artifact tags (16
tags shards) ran 5,374 tasks, 3,961 of them splits, and one worker sat idle for half the run
(about 0.85 ms of scheduling per task). :func:`bounded_shuffles` merges a grouping's input into
at most ``--dask_npartitions`` partitions first (1,930 tasks there; 12.9 s -> 8.3 s, in-process
5.5 s), and sends an int key, the jobs' bucket number, to partition ``key`` modulo their number,
so that distinct buckets get distinct partitions instead of sharing one by hash.
"""

from __future__ import annotations

import functools
import itertools
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from curate.allocator import keep_large_buffers_on_heap
from curate.cores import WORKER_CORES_VARIABLE, available_cores

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

    keep_large_buffers_on_heap()  # the nanny started this worker with a fixed trim threshold
    share_cores_with_host_workers()
    invoker = DoFnInvoker.create_invoker(*do_fn_invoker_args, **do_fn_invoker_kwargs)
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()
    invoker.invoke_teardown()
    return [v.value for v in tagged_receivers.values]


@functools.cache
def share_cores_with_host_workers() -> int | None:
    """Give this Dask worker its share of its machine's cores (:mod:`curate.cores`), in
    proportion to its threads among those of all workers on the same host; the share, or None
    outside a Dask worker. Asked once per worker process, at its first bundle: workers that join
    later do not change the share of those already running. A share the deployment set in the
    worker's environment is kept."""
    from distributed import get_client, get_worker
    from distributed.comm import get_address_host

    try:
        worker = get_worker()
    except ValueError:  # not in a task on a distributed worker
        return None
    if WORKER_CORES_VARIABLE in os.environ:  # the deployment gave this worker its share
        return available_cores()
    client = get_client()
    workers = client.sync(client.scheduler.identity, n_workers=-1)["workers"]
    host = get_address_host(worker.address)
    threads_on_host = sum(w["nthreads"] for w in workers.values() if w["host"] == host)
    cores = max(1, available_cores() * worker.state.nthreads // max(1, threads_on_host))
    os.environ[WORKER_CORES_VARIABLE] = str(cores)
    return cores


def keep_finish_bundle_outputs() -> None:
    """Make Beam's DaskRunner keep what DoFns emit in ``finish_bundle`` (see module doc)."""
    from apache_beam.runners.dask import transform_evaluator

    transform_evaluator.apply_dofn_to_bundle = _apply_dofn_to_bundle


def _apply_dofn_with_side_inputs(
    items: Any,
    bundle: Any,
    do_fn_invoker_args: Any,
    do_fn_invoker_kwargs: Any,
    tagged_receivers: Any,
    specs: Sequence[tuple[Any, Any, Any]],
    spread: list[None],
    *values: list[Any],
) -> list[Any]:
    """One bundle of a ParDo whose side inputs (``values``, each a whole collection) were
    computed as graph dependencies, and copied to every worker before the bundle started
    (``spread``, only a dependency); ``bundle`` is the runner's bundle function."""
    from apache_beam.runners.dask.transform_evaluator import get_windowed_value
    from apache_beam.transforms.sideinputs import SideInputMap

    side_inputs = [
        SideInputMap(view, options, [get_windowed_value(v, window_fn) for v in collection])
        for (view, options, window_fn), collection in zip(specs, values, strict=True)
    ]
    kwargs = {**do_fn_invoker_kwargs, "side_inputs": side_inputs}
    return bundle(items, do_fn_invoker_args, kwargs, tagged_receivers)


def _whole(*partitions: list[Any]) -> list[Any]:
    return list(itertools.chain.from_iterable(partitions))


def _side_input_node(bag: Any) -> Any:
    """All of ``bag`` as one Delayed value; its keys stay those of the graph (not optimised),
    so that the main path and the side input share what they compute."""
    import dask

    return dask.delayed(_whole, pure=True)(*bag.to_delayed(optimize_graph=False))


def _on_every_worker(key: str, value: Any) -> None:
    """Copy the computed side input ``value`` (stored under ``key``) to every worker of the
    cluster, so that no worker is preferred for the bundles that read it."""
    from distributed import get_client, get_worker

    try:
        get_worker()
    except ValueError:  # not in a task on a distributed worker: nothing to copy
        return
    client = get_client()
    client.sync(client.scheduler.replicate, keys=[key])


def _spread_node(node: Any) -> Any:
    """A node that completes once ``node`` is on every worker (see module doc)."""
    import dask

    return dask.delayed(_on_every_worker, pure=True)(node.key, node)


def _key(item: tuple[Any, Any]) -> Any:
    return item[0]


def _key_hash(key: Any) -> int:
    """Where the task shuffle sends ``key``: an int (a job's bucket number) to partition ``key``
    modulo the partitions, so that distinct buckets get distinct partitions; any other key by
    Dask's own token (the same in every process)."""
    if type(key) is int:
        return key
    from dask.base import tokenize

    return int(tokenize(key), 16)


def _grouped(item: tuple[Any, list[Any]]) -> tuple[Any, list[Any]]:
    from apache_beam.runners.dask.transform_evaluator import defenestrate

    key, items = item
    return key, [defenestrate(value) for _, value in items]


def bounded_shuffles() -> None:
    """Make Beam's DaskRunner shuffle each GroupByKey into at most ``--dask_npartitions``
    partitions, int keys dealt in turn (see module doc)."""
    from apache_beam.runners.dask import transform_evaluator
    from apache_beam.runners.dask.overrides import _GroupByKeyOnly

    if transform_evaluator.TRANSLATIONS[_GroupByKeyOnly] is transform_evaluator.GroupByKey:
        transform_evaluator.TRANSLATIONS[_GroupByKeyOnly] = _bounded_group_by_key()


def group_by_key(bag: Any, partitions: int | None) -> Any:
    """``(key, [value, ...])`` of a bag of ``(key, value)``: Dask's task shuffle into at most
    ``partitions`` partitions (neighbouring input partitions merged first), an int key to
    partition ``key`` modulo their number."""
    from dask.bag.core import groupby_tasks

    if partitions and bag.npartitions > partitions:
        bag = bag.repartition(npartitions=partitions)
    return groupby_tasks(bag, _key, hash=_key_hash).map(_grouped)


def _bounded_group_by_key() -> type:
    """Beam 2.77's GroupByKey translation (``transform_evaluator.GroupByKey.apply``: Dask's task
    shuffle of the input's partitions), its input first merged into at most the pipeline's
    ``npartitions`` partitions, and int keys dealt to partitions in turn."""
    from apache_beam.runners.dask import transform_evaluator as te

    class GroupByKey(te.GroupByKey):  # type: ignore[misc, valid-type]
        def apply(self, input_bag: Any, side_inputs: Any = None) -> Any:
            return group_by_key(input_bag, self.bag_kwargs.get("npartitions"))

    return GroupByKey


def compute_side_inputs_once() -> None:
    """Make Beam's DaskRunner compute every side input once per pipeline (see module doc)."""
    import apache_beam
    from apache_beam.runners.dask import transform_evaluator

    if transform_evaluator.TRANSLATIONS[apache_beam.ParDo] is transform_evaluator.ParDo:
        transform_evaluator.TRANSLATIONS[apache_beam.ParDo] = _side_inputs_once_pardo()


def _side_inputs_once_pardo() -> type:
    """Beam 2.77's ParDo translation (``transform_evaluator.ParDo.apply``), its side inputs
    passed to the bundles' tasks as graph dependencies instead of bags each task computes."""
    from apache_beam import DoFn
    from apache_beam.runners.common import DoFnContext, DoFnSignature, _OutputHandler
    from apache_beam.runners.dask import transform_evaluator as te

    class ParDo(te.ParDo):  # type: ignore[misc, valid-type]
        def apply(self, input_bag: Any, side_inputs: Any = None) -> Any:
            if not side_inputs:
                return super().apply(input_bag, side_inputs)
            transform = self.transform
            args, kwargs = transform.raw_side_inputs
            main_input = next(iter(self.applied.main_inputs.values()))
            window_fn = getattr(main_input, "windowing", None)
            window_fn = window_fn.windowfn if window_fn is not None else None
            receivers = te.OneReceiver()
            invoker_args = [
                DoFnSignature(transform.fn),
                _OutputHandler(
                    window_fn=window_fn,
                    main_receivers=receivers[None],
                    tagged_receivers=receivers,
                    per_element_output_counter=None,
                    output_batch_converter=None,
                    process_yields_batches=False,
                    process_batch_yields_elements=False,
                ),
            ]
            invoker_kwargs = {
                "context": DoFnContext(transform.label, state=None),
                "side_inputs": None,
                "input_args": list(args),
                "input_kwargs": kwargs,
                "user_state_context": None,
                "bundle_finalizer_param": DoFn.BundleFinalizerParam(),
            }
            specs, nodes = [], []
            for side in side_inputs:  # SideInputMaps over DaskBagWindowedIterators
                specs.append((side._view_class, side._view_options, side._iterable.window_fn))
                nodes.append(_side_input_node(side._iterable.bag))
            spread = [_spread_node(node) for node in nodes]
            return input_bag.map(te.get_windowed_value, window_fn).map_partitions(
                _apply_dofn_with_side_inputs,
                te.apply_dofn_to_bundle,  # the driver's: keep_finish_bundle_outputs's
                invoker_args,
                invoker_kwargs,
                receivers,
                specs,
                spread,
                *nodes,
                token="apply_dofn_to_bundle",  # the task names of Beam's ParDo
            )

    return ParDo
