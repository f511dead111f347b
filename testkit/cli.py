"""Run the ``curate`` CLI in a fresh process, as a user would.

Every child gets the same environment (:func:`cli_env`): no Hub access, one BLAS thread, and
this checkout first on ``PYTHONPATH``, so it imports the code under test and never a model or
data set from the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the longest a CLI command of the tests may take (a hung command fails instead of waiting)
TIMEOUT_S = 300


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI child: this process's, offline, with ``extra`` on top."""
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
        **extra,
    }


def cli_command(*args: str) -> list[str]:
    """The command line of ``curate <args>`` run by this interpreter (``python -m curate``)."""
    return [sys.executable, "-m", "curate", *args]


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: str | Path = ROOT,
    timeout: float = TIMEOUT_S,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``curate <args>`` in a child process, its output captured as text.

    ``env`` replaces :func:`cli_env` whole (to test what a missing or wrong variable does);
    with ``check`` a non-zero exit raises ``AssertionError`` with the command's stderr.
    """
    proc = subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        env=cli_env() if env is None else env,
        cwd=cwd,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"curate {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc
