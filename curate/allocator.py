"""Keep large buffers on the heap when a worker was started with a fixed malloc trim threshold.

glibc moves its mmap threshold up as a program frees large buffers (from 128 KiB up to 32 MiB),
so buffers that are allocated and freed again and again, a model's activations on every call,
come from the heap. It stops doing so once a process fixes any of the allocator's thresholds,
such as ``MALLOC_TRIM_THRESHOLD_``. Every buffer above 128 KiB is then mapped and unmapped on
each use. Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ`` default). In such a process CTranslate2 translated
5,000 sentences in 18.0 s (34 CPU seconds, more than half of them in the kernel) against 7.6 s
(14.5) without the variable (``benchmarks/RESULTS.md``). :func:`keep_large_buffers_on_heap`
sets the mmap threshold to glibc's own upper bound in such a process. Nothing changes where no
threshold was fixed, where the user set ``MALLOC_MMAP_THRESHOLD_`` themselves, or off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys

log = logging.getLogger(__name__)

#: the variables that make glibc stop moving its mmap threshold (mallopt(3))
FIXING_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
#: glibc's largest dynamic mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)
MMAP_THRESHOLD = 32 * 1024 * 1024


@functools.cache
def keep_large_buffers_on_heap() -> bool:
    """Set glibc's mmap threshold to 32 MiB if this process fixed another allocator threshold
    and left the mmap threshold alone; True when it was set. Called once per process, before a
    model is loaded."""
    fixed = [v for v in FIXING_VARIABLES if v in os.environ]
    if not fixed or "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc: nothing to set
        return False
    if done:
        log.debug("%s set: mmap threshold fixed at %d bytes", ", ".join(fixed), MMAP_THRESHOLD)
    return done
