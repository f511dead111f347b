"""How commands show jobs while they run: rich progress bars, nothing, or JSON events.

``rich`` (the default): one task per job on stderr with a bar, records done (of the expected
total, or input bytes for ingest), tokens, records per second and time left. ``quiet``: nothing
(the command prints its final line). ``json``: one JSON object per line on stdout: ``start``,
``progress`` (at most every :data:`JSON_INTERVAL_S` seconds, and the final counts), ``done``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from curate.progress import ProgressCallback, ProgressUpdate

JSON_INTERVAL_S = 2.0


def output_mode(quiet: bool = False, as_json: bool = False) -> str:
    """``json``, ``quiet`` or ``rich``; ``curate --quiet CMD`` counts as the command's own.

    The global ``--quiet`` shows in the root logger's level, which it sets to ERROR.
    """
    if as_json:
        return "json"
    root = logging.getLogger()
    if quiet and root.level == logging.WARNING:
        root.setLevel(logging.ERROR)  # quiet: no warnings either, as with the global --quiet
    return "quiet" if root.level >= logging.ERROR else "rich"


def emit(event: dict[str, Any]) -> None:
    """One JSON event on stdout, flushed (a log reader sees it at once)."""
    print(json.dumps(event, default=str), flush=True)


def _count(n: int) -> str:
    return f"{n:,}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def describe(update: ProgressUpdate) -> dict[str, str]:
    """The text columns of a progress bar for ``update``."""
    if update.unit == "bytes":
        of = f"/{decimal(update.total)}" if update.total else ""
        amount = f"{decimal(update.bytes)}{of} read, {_count(update.records)} records"
    else:
        of = f"/{_count(update.total)}" if update.total is not None else ""
        amount = f"{_count(update.records)}{of} records"
    tokens = f"{_count(update.tokens)} tokens" if update.tokens else ""
    rate = f"{update.records_per_s:,.0f} records/s" if update.records_per_s else ""
    eta = "" if update.done else f"eta {_duration(update.eta_s)}"
    return {"amount": amount, "tokens": tokens, "rate": rate, "eta": eta}


class JobDisplay:
    """Progress of one or more jobs (one task each), in the chosen output mode."""

    def __init__(self, mode: str, console: Console | None = None) -> None:
        self.mode = mode
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[amount]}"),
            TextColumn("{task.fields[tokens]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[eta]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=mode != "rich",
        )
        self._tasks: dict[str, Any] = {}
        self._emitted: dict[str, float] = {}
        self._shown = False

    def __enter__(self) -> JobDisplay:
        return self

    def _show(self) -> None:
        # bars appear with the first news from a job: a job that fails while checking its
        # options leaves only its one-line error on the terminal
        if not self._shown and self.mode == "rich":
            self._shown = True
            self.progress.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:  # the error is the last word: drop the unfinished bars
            for task in self.progress.tasks:
                if not task.finished:
                    self.progress.remove_task(task.id)
        if self._shown:
            self.progress.stop()

    def start(self, name: str, run_id: str) -> None:
        """A job starts: a new task (rich) or a ``start`` event (json)."""
        if self.mode == "json":
            emit({"event": "start", "step": name, "run_id": run_id, "time": time.time()})
        fields = {"amount": "", "tokens": "", "rate": "", "eta": ""}
        self._tasks[name] = self.progress.add_task(name, total=None, **fields)

    def callback(self, name: str) -> ProgressCallback:
        """What to pass as a job's ``progress``: updates the task of ``name``."""
        return lambda update: self.update(name, update)

    def update(self, name: str, update: ProgressUpdate) -> None:
        if self.mode == "json":
            now = time.monotonic()
            if update.done or now - self._emitted.get(name, -JSON_INTERVAL_S) >= JSON_INTERVAL_S:
                self._emitted[name] = now
                emit({"event": "progress", "step": name, "time": time.time(), **update.to_json()})
            return
        self._show()
        total = update.total
        completed = update.completed if total is None else min(update.completed, total)
        if update.done:  # final counts: the bar is full even where the total was a proxy
            total = max(update.completed, 1) if total is None else total
            completed = total
        self.progress.update(
            self._tasks[name], total=total, completed=completed, **describe(update)
        )

    def done(self, name: str, description: str | None = None) -> None:
        """A job ended (or was skipped): its task is complete, with a final description."""
        self._show()
        task = self._tasks[name]
        total = next((t.total for t in self.progress.tasks if t.id == task), None)
        finished = total or 1
        fields = {"eta": ""}
        self.progress.update(
            task, total=finished, completed=finished, description=description or name, **fields
        )


def run_job_with_display(
    name: str,
    run_id: str,
    action: Callable[[ProgressCallback | None], dict[str, Any]],
    mode: str,
) -> dict[str, Any]:
    """Run one job (``action(progress) -> manifest``) showing its progress in ``mode``.

    In json mode a ``done`` event with the counts and rows follows; the caller prints its own
    final line in the other modes.
    """
    started = time.perf_counter()
    with JobDisplay(mode) as display:
        display.start(name, run_id)
        manifest = action(display.callback(name))
        skipped = bool(manifest.get("skipped"))
        display.done(name, f"{name}: unchanged, skipped" if skipped else name)
    if mode == "json":
        emit(
            {
                "event": "done",
                "step": name,
                "run_id": run_id,
                "time": time.time(),
                "skipped": skipped,
                "seconds": round(time.perf_counter() - started, 2),
                "counts": manifest.get("counts", {}),
                "rows": manifest.get("rows", {}),
            }
        )
    return manifest
