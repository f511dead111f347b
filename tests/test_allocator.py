"""A worker started with a fixed malloc trim threshold (Dask's nanny sets one) keeps large
buffers on the heap once a model is loaded, instead of mapping and unmapping them on each use."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

# allocates and frees a 1 MiB buffer 200 times and prints how many of those were fresh mappings
# (glibc's mallinfo2: hblks counts the live mmapped chunks while the buffer is held)
PROBE = """
import ctypes, sys
sys.path.insert(0, {root!r})
from curate.allocator import keep_large_buffers_on_heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
print(keep_large_buffers_on_heap() if {load} else False)
mapped = 0
for _ in range(200):
    before = libc.mallinfo2().hblks
    buffer = libc.malloc(1 << 20)
    mapped += libc.mallinfo2().hblks > before
    libc.free(buffer)
print(mapped)
"""


def _run(env: dict[str, str], load: bool) -> tuple[str, int]:
    import os
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    code = PROBE.format(root=root, load=load)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    changed, mapped = out.stdout.split()
    return changed, int(mapped)


def test_a_fixed_trim_threshold_maps_every_large_buffer_until_the_heap_is_kept():
    dask_worker = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    assert _run(dask_worker, load=False) == ("False", 200)  # the cost: a mapping per use
    assert _run(dask_worker, load=True) == ("True", 0)


def test_nothing_changes_where_no_threshold_was_fixed_or_the_user_chose_one():
    assert _run({}, load=True)[0] == "False"
    chosen = {"MALLOC_TRIM_THRESHOLD_": "65536", "MALLOC_MMAP_THRESHOLD_": "131072"}
    assert _run(chosen, load=True) == ("False", 200)  # the user's choice is kept
