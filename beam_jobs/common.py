"""What every job shares: choosing the runner, writing stage tables, collecting what was written.

Stage DoFns write their output tables with :class:`~curate.store.PartitionedWriter` into the run's
staging directory, one file per partition per bundle, and emit the complete files and their
counts when the bundle finishes. :func:`collect` gathers those into one JSON file that the driver
reads after the pipeline, and commits in the run manifest.

While the pipeline runs, every :class:`WriteStagesFn` reports the records (and, where the job
measures them, tokens and input bytes) it has seen through :mod:`curate.progress` files in
``<staging>/_progress/``; :func:`run_job` polls them for ``Execution.progress``.
"""

from __future__ import annotations

import errno
import json
import logging
import shlex
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from beam_jobs.dask import (
    bounded_shuffles,
    closing_runner_client,
    compute_side_inputs_once,
    is_dask,
    keep_finish_bundle_outputs,
)
from curate.cores import WORKER_CORES_VARIABLE, share_of_cores
from curate.errors import UserError
from curate.progress import (
    PROGRESS_DIR,
    ProgressCallback,
    ProgressPoller,
    ProgressReporter,
    read_reports,
)
from curate.records import load_schema
from curate.store import PartitionedWriter, Run, StageCounts, Store, WrittenFile
from curate.store.fs import resolve as resolve_location
from curate.store.fs import write_bytes

LOCAL_RUNNERS = {None, "", "direct", "directrunner", "fnapirunner", "local"}
RESULT_PREFIX = "_result-"


def pipeline_options(beam_args: list[str] | None = None, workers: int = 1) -> PipelineOptions:
    """Pipeline options from Beam command-line arguments; ``workers > 1`` uses processes (see
    :func:`make_pipeline`)."""
    options = PipelineOptions(beam_args or [], save_main_session=False)
    if workers > 1:
        options.view_as(DirectOptions).direct_num_workers = workers
    return options


def parallelism(options: PipelineOptions) -> int:
    """How many workers share a job's buckets: the local runner's ``direct_num_workers`` (the
    worker processes :func:`make_pipeline` starts); 1 on other runners.

    A job rounds its bucket count up to a multiple of it (:func:`beam_jobs.shards.bucket_count`):
    the local runner deals a grouping's keys to its workers in turn, so 5 buckets on 2 workers
    are 3 and 2 (the stage takes 3 buckets' time), 6 are 3 and 3. On Dask the bucket numbers
    go to distinct partitions (:func:`beam_jobs.dask.group_by_key`) and the count is left as the
    rows give it: rounded up to 16 partitions, a 20,000-row build made far more tasks than it
    balanced (``benchmarks/RESULTS.md``).
    """
    runner = options.view_as(StandardOptions).runner
    if (runner or "").lower() in LOCAL_RUNNERS:
        return max(1, options.view_as(DirectOptions).direct_num_workers or 1)
    return 1


def make_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A pipeline on the local in-process runner unless ``--runner`` names another one.

    Beam's default runner first tries to download the Prism binary, which fails offline, so the
    local runner is always chosen explicitly. With ``direct_num_workers > 1`` (and no other
    ``direct_running_mode`` asked for) its workers are processes running :mod:`beam_jobs.worker`,
    which keeps Beam's worker chatter off the terminal; under ``--debug`` (root logger at DEBUG)
    they are Beam's own, logging everything. Each worker is given its share of the machine's
    cores (:mod:`curate.cores`), so that N workers start as many translation threads as one.
    """
    runner = options.view_as(StandardOptions).runner
    if (runner or "").lower() not in LOCAL_RUNNERS:
        if is_dask(runner):
            keep_finish_bundle_outputs()
            compute_side_inputs_once()
            bounded_shuffles()
        return beam.Pipeline(options=options)
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    direct = options.view_as(DirectOptions)
    workers = direct.direct_num_workers or 1
    if workers > 1 and direct.direct_running_mode == "in_memory":
        debugging = logging.getLogger().level <= logging.DEBUG
        module = "apache_beam.runners.worker.sdk_worker_main" if debugging else "beam_jobs.worker"
        share = f"{WORKER_CORES_VARIABLE}={share_of_cores(workers)}"
        command = f"{share} {shlex.quote(sys.executable)} -m {module}"
        environment = SubprocessSDKEnvironment.from_command_string(command)
        return beam.Pipeline(runner=FnApiRunner(default_environment=environment), options=options)
    return beam.Pipeline(runner=FnApiRunner(), options=options)


@contextmanager
def clear_failures(store_root: str | Path) -> Iterator[None]:
    """Turn a pipeline failure the user can act on into one clear line (nothing is committed)."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        text = str(exc)
        if "No space left on device" in text or getattr(exc, "errno", None) == errno.ENOSPC:
            raise UserError(
                f"disk full while writing to {store_root}; nothing was committed",
                hint="free space (or use another --store) and run the same command again",
            ) from None
        if "File too large" in text or getattr(exc, "errno", None) == errno.EFBIG:
            raise UserError(
                f"file size limit reached while writing to {store_root}; nothing was committed",
                hint="raise the limit (ulimit -f) and run the same command again",
            ) from None
        raise


def unchanged_run(
    store: Store, run_id: str, fingerprint: str, force: bool
) -> dict[str, Any] | None:
    """The committed manifest of ``run_id`` if it was made from the same inputs and settings.

    Jobs return it (marked ``skipped``) instead of running again, unless ``force`` is set.
    """
    if force:
        return None
    manifest = store.manifest(run_id)
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        return None
    return {**manifest, "skipped": True}


def quiet_beam_logging() -> None:
    """Keep Beam's own logging (worker chatter, logged tracebacks) off the terminal.

    Failures still surface as exceptions; with ``--debug`` (root logger at DEBUG) Beam logs too.
    """
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)


StageFn = Callable[[Any], tuple[dict[str, Any], dict[str, StageCounts]]]
#: ``measure(element, tables) -> (tokens, input bytes)`` of one element, for progress.
Measure = Callable[[Any, dict[str, Any]], tuple[int, int]]


def already_tables(item: tuple[dict[str, Any], dict[str, StageCounts]]) -> Any:
    """The stage function for elements that already are ``(tables, counts)``."""
    return item


class WriteStagesFn(beam.DoFn):
    """Runs a stage function on each element and writes the tables it returns.

    ``stage_fn(element) -> ({stage: table}, {stage: counts})`` must be picklable (a module-level
    function or a ``functools.partial`` of one). Tables are streamed into one file per stage and
    partition for the bundle; the files and the summed counts are emitted when the bundle ends.
    Each element's records in (and ``measure(element, tables)``: tokens and input bytes, when
    given) go to a progress file that the driver polls while the pipeline runs.
    """

    def __init__(
        self,
        stage_fn: StageFn,
        staging_dir: str,
        prefix: str,
        measure: Measure | None = None,
    ) -> None:
        self.stage_fn = stage_fn
        self.staging_dir = staging_dir
        self.prefix = prefix
        self.measure = measure

    def start_bundle(self) -> None:
        self._writers: dict[str, PartitionedWriter] = {}
        self._counts: dict[str, StageCounts] = {}
        if getattr(self, "_progress", None) is None:  # one per DoFn instance, across bundles
            staging = resolve_location(self.staging_dir)
            self._progress = ProgressReporter(staging.child(PROGRESS_DIR))

    def process(self, element: Any) -> Iterator[Any]:
        tables, counts = self.stage_fn(element)
        tokens, nbytes = self.measure(element, tables) if self.measure else (0, 0)
        self._progress.add({s: c.records_in for s, c in counts.items()}, tokens, nbytes)
        for stage, table in tables.items():
            if stage not in self._writers:
                self._writers[stage] = PartitionedWriter(
                    self.staging_dir, load_schema(stage), self.prefix
                )
            self._writers[stage].write(table)
        for stage, c in counts.items():
            self._counts.setdefault(stage, StageCounts()).add(c)
        return iter(())

    def finish_bundle(self) -> Iterable[WindowedValue]:
        try:
            files = [f.to_json() for w in self._writers.values() for f in w.close()]
        except BaseException:
            for writer in self._writers.values():
                writer.abort()
            raise
        counts = {stage: c.to_json() for stage, c in self._counts.items()}
        self._progress.flush()
        yield WindowedValue({"files": files, "counts": counts}, MIN_TIMESTAMP, [GlobalWindow()])


def collect(results: beam.PCollection, staging_dir: str) -> beam.PCollection:
    """Write all bundle results into one ``_result-*.json`` file in the staging directory."""

    def write(items: list[dict[str, Any]]) -> str:
        staging = resolve_location(staging_dir)
        path = staging.join(f"{RESULT_PREFIX}{uuid.uuid4().hex}.json")
        write_bytes(staging.fs, path, json.dumps(items).encode())
        return path

    return results | "CollectResults" >> beam.combiners.ToList() | "WriteResults" >> beam.Map(write)


@dataclass(frozen=True)
class Execution:
    """Where and how a job runs: Beam arguments, local worker processes, ``force``, and who
    hears of its progress."""

    beam_args: tuple[str, ...] = ()
    workers: int = 1
    force: bool = True  # False: keep an identical earlier run instead of running again
    progress: ProgressCallback | None = None  # called from a thread while the pipeline runs


@dataclass(frozen=True)
class Expected:
    """How much work a job expects, known before its pipeline starts (for the time left)."""

    total: int
    unit: str = "records"  # or "bytes" (input bytes read, e.g. ingest)


def watch_progress(
    staging: str, job: str, run_id: str, execution: Execution, expected: Expected | None
) -> AbstractContextManager[ProgressPoller | None]:
    """Poll the job's progress files for ``execution.progress`` while the block runs."""
    if execution.progress is None:
        return nullcontext()
    return ProgressPoller(
        resolve_location(staging).child(PROGRESS_DIR),
        job,
        run_id,
        execution.progress,
        total=expected.total if expected else None,
        unit=expected.unit if expected else "records",
    )


def run_job(
    store: Store,
    job: str,
    run_id: str,
    options: dict[str, Any],
    fingerprint: str,
    build: Callable[[beam.Pipeline, str], beam.PCollection],
    execution: Execution = Execution(),
    models: dict[str, str] | None = None,
    expected: Expected | None = None,
    check: Callable[[Run], None] | None = None,
) -> dict[str, Any]:
    """Run one job as a store run; returns its manifest.

    ``check(run)``, when given, sees the run's counts after the pipeline and before the commit:
    an exception it raises leaves nothing committed.

    ``build(pipeline, staging_dir)`` adds the job's transforms and returns the output of its
    :class:`WriteStagesFn`; the written files and counts are committed when the pipeline ends.
    An identical earlier run (same fingerprint) is returned as it is, marked ``skipped``, unless
    ``execution.force``. ``execution.progress`` hears of the work done while the pipeline
    runs (against ``expected``, when the job knows how much to expect).
    """
    previous = unchanged_run(store, run_id, fingerprint, execution.force)
    if previous is not None:
        return previous
    quiet_beam_logging()
    with clear_failures(store.uri), store.open_run(job, run_id, options, fingerprint) as run:
        run.models.update(models or {})
        staging = run.staging_dir
        with watch_progress(staging, job, run_id, execution, expected) as poller:
            beam_options = pipeline_options(list(execution.beam_args), execution.workers)
            dask = is_dask(beam_options.view_as(StandardOptions).runner)
            with (
                closing_runner_client() if dask else nullcontext(),
                make_pipeline(beam_options) as p,
            ):
                collect(build(p, staging), staging)
            absorb_results(run)
            check_nothing_lost(run)
            if check is not None:
                check(run)
            if poller is not None:
                poller.settle({stage: c.records_in for stage, c in run.counts.items()})
    manifest = store.manifest(run_id)
    assert manifest is not None
    return manifest


def translation_pairs(store: Store, where: str = "") -> list[tuple[str, str]]:
    """The ``(src_lang, tgt_lang)`` pairs of the store's translations (optionally filtered)."""
    query = "SELECT DISTINCT src_lang, tgt_lang FROM translations"
    rows = store.sql(f"{query} {'WHERE ' + where if where else ''} ORDER BY 1, 2").to_pylist()
    return [(r["src_lang"], r["tgt_lang"]) for r in rows]


def upstream_fingerprints(
    store: Store, jobs: tuple[str, ...], exclude: str | None = None
) -> list[str]:
    """Fingerprints of the committed runs of ``jobs``: what a later stage's output depends on."""
    return sorted(
        str(m.get("fingerprint"))
        for m in store.manifests()
        if m["job"].startswith(jobs) and m["run_id"] != exclude
    )


def check_nothing_lost(run: Run) -> None:
    """Refuse to commit when the writing DoFns took in more records than the results count.

    Each :class:`WriteStagesFn` reports what it took in through its progress file and emits its
    files and counts when its bundle ends. More records seen than counted means bundle results
    went missing (a runner that dropped ``finish_bundle`` outputs, or work redone after a lost
    worker): committing would lose records with exit status 0.
    """
    seen: dict[str, int] = {}
    for work in read_reports(resolve_location(run.staging_dir).child(PROGRESS_DIR)).values():
        for stage, n in work.records.items():
            seen[stage] = seen.get(stage, 0) + n
    for stage, n in sorted(seen.items()):
        counted = run.counts.get(stage, StageCounts()).records_in
        if n > counted:
            raise UserError(
                f"{stage}: the workers took in {n} records but the pipeline's results account "
                f"for {counted}; nothing was committed",
                hint="bundle results were lost (a worker failed and its work was redone, or the "
                "runner dropped them); run the same command again",
            )


def absorb_results(run: Run) -> None:
    """Add what the pipeline wrote (files and counts) to the run, for its commit."""
    for data in run.read_staged(RESULT_PREFIX):
        for item in json.loads(data):
            run.add_files([WrittenFile.from_json(f) for f in item["files"]])
            for stage, data in item["counts"].items():
                run.count(stage, StageCounts.from_json(data))
