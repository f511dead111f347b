"""How many CPU cores a process may use, and each worker's share where several share a machine.

A translation model on the CPU starts one replica per core it may use (:mod:`curate.mt.device`).
Where several worker processes of one job run on the same machine (``--workers N`` on the
local runner, several Dask workers on one host), each counting every core of the machine would
start N times as many threads as there are cores. The runner glue in ``beam_jobs`` therefore
gives each worker its share in the environment variable ``CURATE_WORKER_CORES`` before the
worker runs any step, and :func:`available_cores` honours it. A user or deployment may set it
too (for example where a container's affinity shows more cores than its CPU quota); the smaller
of the two counts wins.
"""

from __future__ import annotations

import os

from curate.errors import UserError

#: the cores one worker process may use, where the runner or the user set it
WORKER_CORES_VARIABLE = "CURATE_WORKER_CORES"


def machine_cores() -> int:
    """Cores this process may run on: its CPU affinity (container cpusets included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def available_cores() -> int:
    """Cores this process may use: :func:`machine_cores`, or its share where one was given."""
    cores = machine_cores()
    given = os.environ.get(WORKER_CORES_VARIABLE, "").strip()
    if not given:
        return cores
    if not given.isdigit() or int(given) < 1:
        raise UserError(
            f"{WORKER_CORES_VARIABLE}={given!r} is not a number of cores",
            hint="set it to a whole number of at least 1, or unset it to use every core",
        )
    return min(cores, int(given))


def share_of_cores(workers: int, cores: int | None = None) -> int:
    """The cores of each of ``workers`` processes sharing ``cores`` (default: what this
    process may use): an equal share, at least one."""
    return max(1, (cores or available_cores()) // max(1, workers))
