"""One writer per run id: a kernel lock on a local store, a lease object on an object store.

Local stores lock ``_locks/<run_id>.lock`` with ``flock``: the kernel releases it when the
process dies, however it dies.

Object stores have no locks, and ``pyarrow.fs`` cannot send a conditional PUT, so a writer
holds a *lease*: the object ``_locks/<run_id>.lease`` names its owner (a random token, host and
process id) and when it expires. A writer takes the lease when there is none, it has expired,
or its owner is a process of this host that no longer runs; it then waits ``SETTLE_S`` and
reads the lease back, going ahead only if it still names it (a writer that took the lease at
the same moment sees its own lease overwritten and gives way). While it writes, a thread
renews the lease every ``TTL_S / 3`` seconds; it is deleted when the run ends. A killed writer
keeps its run id from other hosts for at most ``TTL_S`` seconds. ``docs/store.md`` says what
this guarantees and what it does not.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from curate.errors import UserError
from curate.store import fs as layer
from curate.store.fs import Location

TTL_S = 60.0
SETTLE_S = 0.5  # longer than the time from reading "no lease" to writing one


def _busy(run_id: str) -> UserError:
    return UserError(
        f"run {run_id!r} is being written by another process",
        hint="wait for it to finish, or use a different --run-id",
    )


class RunLock:
    """Exclusive right to write ``run_id`` in a store; :meth:`release` when done."""

    def __init__(self, root: Location, run_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self._fh: Any = None
        self._token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def path(self) -> str:
        suffix = "lock" if self.root.local else "lease"
        return self.root.join("_locks", f"{self.run_id}.{suffix}")

    def acquire(self) -> RunLock:
        if self.root.local:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._fh = open(self.path, "a+")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._fh.close()
                raise _busy(self.run_id) from None
            return self
        if lease_held(self.root, self.run_id):
            raise _busy(self.run_id)
        self._write_lease()
        time.sleep(SETTLE_S)
        if _read_lease(self.root, self.path).get("token") != self._token:
            raise _busy(self.run_id)
        self._renewer = threading.Thread(target=self._renew, name="curate-lease", daemon=True)
        self._renewer.start()
        return self

    def release(self) -> None:
        if self.root.local:
            if self._fh is not None:
                fcntl.flock(self._fh, fcntl.LOCK_UN)
                self._fh.close()
                self._fh = None
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if _read_lease(self.root, self.path).get("token") == self._token:
            layer.delete_file(self.root.fs, self.path)

    def _write_lease(self) -> None:
        lease = {
            "token": self._token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "expires": time.time() + TTL_S,
        }
        layer.write_bytes(self.root.fs, self.path, json.dumps(lease).encode())

    def _renew(self) -> None:
        while not self._stop.wait(TTL_S / 3):
            if _read_lease(self.root, self.path).get("token") != self._token:
                return  # taken over after it expired: the commit will not find it ours
            self._write_lease()

    def still_held(self) -> bool:
        """Whether this writer still holds its lease (checked just before the commit)."""
        if self.root.local:
            return self._fh is not None
        return _read_lease(self.root, self.path).get("token") == self._token


def _read_lease(root: Location, path: str) -> dict[str, Any]:
    data = layer.read_bytes(root.fs, path)
    if data is None:
        return {}
    try:
        return dict(json.loads(data))
    except ValueError:
        return {}


def lease_held(root: Location, run_id: str) -> bool:
    """Whether another live writer holds ``run_id`` on an object store."""
    lease = _read_lease(root, root.join("_locks", f"{run_id}.lease"))
    if not lease or float(lease.get("expires", 0)) < time.time():
        return False
    # a lease whose writer ran on this host and has died is free at once
    return lease.get("host") != socket.gethostname() or _alive(int(lease.get("pid", 0)))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_locked(root: Location, run_id: str) -> bool:
    """Whether a writer holds ``run_id`` now (for ``curate doctor``)."""
    if not root.local:
        return lease_held(root, run_id)
    path = root.join("_locks", f"{run_id}.lock")
    if not os.path.exists(path):
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
