"""Progress within a running job (records, tokens, bytes), across Beam worker processes.

Beam's metrics cannot be read while a local pipeline runs: the in-process runner and its
multi-processing mode hand them over only with the finished result. So progress travels through
small files, written and read through the store's filesystem layer (:mod:`curate.store.fs`), so
workers on other machines report into an object store as well. A :class:`ProgressReporter` (one
per writing DoFn instance, in whichever process it runs) keeps cumulative counts and atomically
rewrites ``<directory>/<unique>.json`` at most every ``interval`` seconds and when asked to flush
(at the end of every bundle). A
:class:`ProgressPoller` thread in the driver sums those files and hands a
:class:`ProgressUpdate` to a callback. Every file only grows and is replaced whole, so the sums
the callback sees never go down; after a successful pipeline the last update holds the exact
totals of what was written.

Units: ``records`` are the records a stage took in (its ``records_in``); ``tokens`` are
whitespace-separated tokens of the text a job consumed, where the job counts them (0 otherwise);
``bytes`` are input bytes read, where the job counts them (ingest). The total a job expects may
be in records or in bytes (``unit``); without one, updates carry throughput but no time left.

No Beam import here: jobs in ``beam_jobs`` wire this in.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from types import TracebackType
from typing import Any

from curate.store import fs as layer
from curate.store.fs import Location

PROGRESS_DIR = "_progress"
INTERVAL_S = 0.5
UNITS = ("records", "bytes")

log = logging.getLogger(__name__)


def whitespace_tokens(texts: Iterable[str | None]) -> int:
    """Whitespace-separated tokens in ``texts`` (what progress reports as tokens)."""
    return sum(len(t.split()) for t in texts if t)


@dataclass
class Work:
    """What one reporter (or all of them, summed) has seen so far."""

    records: dict[str, int] = field(default_factory=dict)  # per counted stage: records_in
    tokens: int = 0
    bytes: int = 0

    def add(self, other: Work) -> None:
        for stage, n in other.records.items():
            self.records[stage] = self.records.get(stage, 0) + n
        self.tokens += other.tokens
        self.bytes += other.bytes

    def to_json(self) -> dict[str, Any]:
        return {"records": dict(self.records), "tokens": self.tokens, "bytes": self.bytes}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Work:
        return Work(
            {str(k): int(v) for k, v in dict(data.get("records") or {}).items()},
            int(data.get("tokens", 0)),
            int(data.get("bytes", 0)),
        )


class ProgressReporter:
    """Worker side: accumulate work, rewrite this reporter's own file now and then.

    The file name is unique per reporter (process id and a random part), so reporters in
    different threads or processes never write the same file.
    """

    def __init__(self, directory: str | Path | Location, interval: float = INTERVAL_S) -> None:
        self.directory = layer.resolve(directory)
        self.interval = interval
        kind = Path if self.directory.local else PurePosixPath
        self.path: PurePath = kind(self.directory.join(f"{os.getpid()}-{uuid.uuid4().hex}.json"))
        self.work = Work()
        self._written_at = float("-inf")  # the first add writes at once
        self._dirty = False

    def add(self, records: dict[str, int], tokens: int = 0, nbytes: int = 0) -> None:
        """Count ``records`` (records in, by stage), ``tokens`` and input ``nbytes``."""
        self.work.add(Work(dict(records), tokens, nbytes))
        self._dirty = True
        if time.monotonic() - self._written_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write the file now if anything changed since the last write."""
        if not self._dirty:
            return
        data = json.dumps(self.work.to_json()).encode()
        layer.write_bytes(self.directory.fs, str(self.path), data, durable=False)
        self._written_at = time.monotonic()
        self._dirty = False


@dataclass(frozen=True)
class ProgressUpdate:
    """What a job has done so far, as the driver sees it."""

    job: str
    run_id: str
    stage: str  # the stage whose records are shown ("" before any record was counted)
    records: int
    tokens: int
    bytes: int
    total: int | None  # expected amount of work in ``unit``; None: unknown
    unit: str  # "records" or "bytes": what ``completed`` and ``total`` count
    elapsed: float  # seconds since the job's pipeline started
    records_per_s: float = 0.0  # since the first work was seen (worker start-up left out)
    tokens_per_s: float = 0.0
    eta_s: float | None = None  # seconds left at that rate; None without a total or a rate
    done: bool = False  # the pipeline finished; the counts are final

    @property
    def completed(self) -> int:
        """The work done in ``unit``."""
        return self.bytes if self.unit == "bytes" else self.records

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("elapsed", "records_per_s", "tokens_per_s", "eta_s"):
            if data[key] is not None:
                data[key] = round(data[key], 2)
        return data


ProgressCallback = Callable[[ProgressUpdate], None]


def read_reports(directory: str | Path | Location) -> dict[str, Work]:
    """Every reporter file under ``directory``, by file name (unreadable ones are left out)."""
    found: dict[str, Work] = {}
    folder = layer.resolve(directory)
    for path in layer.list_files(folder.fs, folder.path, recursive=False):
        if not path.endswith(".json"):
            continue
        try:
            data = layer.read_bytes(folder.fs, path)
            if data is not None:
                found[posixpath.basename(path)] = Work.from_json(json.loads(data))
        except (OSError, ValueError, TypeError):
            continue  # replaced or removed while listing: the next poll reads it
    return found


def primary_stage(job: str, stages: Iterable[str]) -> str:
    """The stage whose records stand for the job: the one named like it, else the first."""
    names = sorted(stages)
    wanted = job.replace("-", ".")
    if wanted in names:
        return wanted
    return names[0] if names else ""


class ProgressPoller:
    """Driver side: a thread that sums the reporter files and calls ``callback`` on change.

    Use as a context manager around the pipeline run. An update is sent at the start (nothing
    done yet), whenever the sums change (checked every ``interval`` seconds), and, when the
    block ends without an exception, a final one with ``done=True``. A callback that raises is
    logged once and not called again; the job goes on.
    """

    def __init__(
        self,
        directory: str | Path | Location,
        job: str,
        run_id: str,
        callback: ProgressCallback,
        total: int | None = None,
        unit: str = "records",
        interval: float = INTERVAL_S,
    ) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
        self.directory = layer.resolve(directory)
        self.job = job
        self.run_id = run_id
        self.callback: ProgressCallback | None = callback
        self.total = total
        self.unit = unit
        self.interval = interval
        self._known: dict[str, Work] = {}
        self._settled: dict[str, int] = {}
        self._first: tuple[float, int, int, int] | None = None  # (time, records, tokens, done)
        self._last: tuple[Any, ...] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="curate-progress", daemon=True)
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressPoller:
        self._started = time.monotonic()
        self.poll(force=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None:
            self.poll(done=True, force=True)

    def settle(self, records: dict[str, int]) -> None:
        """The job's final records in, by stage, as its result says; the last update shows
        at least these (workers on other machines may write no file the driver can read)."""
        self._settled = dict(records)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def snapshot(self, done: bool = False) -> ProgressUpdate:
        """The sums of every reporter file read so far (a file never counts less than before)."""
        for name, work in read_reports(self.directory).items():
            self._known[name] = work
        total = Work()
        for work in self._known.values():
            total.add(work)
        if done:
            for stage, n in self._settled.items():
                total.records[stage] = max(total.records.get(stage, 0), n)
        stage = primary_stage(self.job, total.records)
        records = total.records.get(stage, 0)
        completed = total.bytes if self.unit == "bytes" else records
        now = time.monotonic()
        if self._first is None and (records or completed):
            # rates count from the first work seen: worker start-up would make them too low
            self._first = (now, records, total.tokens, completed)
        records_rate = tokens_rate = 0.0
        eta = 0.0 if done else None
        if self._first is not None and now > self._first[0]:
            seconds = now - self._first[0]
            records_rate = (records - self._first[1]) / seconds
            tokens_rate = (total.tokens - self._first[2]) / seconds
            rate = (completed - self._first[3]) / seconds
            if self.total and rate > 0 and not done:
                eta = max(self.total - completed, 0) / rate
        return ProgressUpdate(
            job=self.job,
            run_id=self.run_id,
            stage=stage,
            records=records,
            tokens=total.tokens,
            bytes=total.bytes,
            total=self.total,
            unit=self.unit,
            elapsed=now - self._started,
            records_per_s=records_rate,
            tokens_per_s=tokens_rate,
            eta_s=eta,
            done=done,
        )

    def poll(self, done: bool = False, force: bool = False) -> None:
        with self._lock:
            update = self.snapshot(done)
            key = (update.stage, update.records, update.tokens, update.bytes, update.done)
            if (key == self._last and not force) or self.callback is None:
                return
            self._last = key
            try:
                self.callback(update)
            except Exception:
                log.warning("progress display failed; the job goes on without it", exc_info=True)
                self.callback = None
