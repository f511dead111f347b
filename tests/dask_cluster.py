"""A real Dask cluster for tests and benchmarks: ``dask scheduler`` and ``dask worker``
processes on 127.0.0.1, each in its own working directory, as on separate machines.

``DaskCluster(workdir, workers=2)`` is a context manager: it starts the scheduler (no
dashboard) and ``workers`` worker processes of one thread each, with ``PYTHONPATH`` naming this
checkout and the environment of the caller (the S3 server's credentials and endpoint, when one
runs), waits until every worker has joined, and on exit stops them by their process ids.
``address`` is the scheduler's, ``client`` a client of the caller's own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.seaweed import free_ports

ROOT = Path(__file__).resolve().parent.parent


def dask_command() -> str:
    """``dask`` beside this interpreter (installed with ``distributed``)."""
    return str(Path(sys.executable).with_name("dask"))


class DaskCluster:
    """A scheduler and ``workers`` worker processes; see the module docstring."""

    def __init__(self, workdir: Path, workers: int = 2) -> None:
        self.workdir = workdir
        self.workers = workers
        (self.port,) = free_ports(1)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.client: Any = None

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _start(self, name: str, args: list[str]) -> None:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "log.txt", "wb") as log:
            self.processes.append(
                subprocess.Popen(
                    [dask_command(), *args],
                    cwd=folder,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
                    start_new_session=True,
                )
            )

    def __enter__(self) -> DaskCluster:
        from distributed import Client

        try:
            self._start(
                "scheduler",
                ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
            )
            for i in range(self.workers):
                folder = self.workdir / f"worker-{i}"
                self._start(
                    f"worker-{i}",
                    [
                        "worker",
                        self.address,
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"worker-{i}",
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        str(folder),
                    ],
                )
            deadline = time.monotonic() + 60
            while self.client is None:
                try:
                    self.client = Client(self.address, timeout=5, set_as_default=False)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            self.client.wait_for_workers(self.workers, timeout=90)
        except BaseException:
            self.stop()
            raise
        return self

    def worker_names(self) -> dict[str, str]:
        """Worker address -> name (``worker-0``, ...)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {address: w["name"] for address, w in info.items()}

    def log(self, name: str) -> str:
        return (self.workdir / name / "log.txt").read_text(errors="replace")

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        for process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
