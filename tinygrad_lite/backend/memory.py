"""Keep freed array memory in the process, so that a training loop stops page-faulting.

A training step allocates and frees the same arrays every time (activations, gradients,
kernel outputs). glibc's malloc hands memory back to the kernel whenever more than its trim
threshold is free at the top of the heap; by default that threshold follows the largest
array freed so far (twice its size), which is below a step's working set. So every step
grew the heap again and touched fresh pages: measured on the seed MLP with the numba
backend (once numba is imported the heap is laid out so that it trims every step), 354 minor
page faults per step at batch 32 and 455 at batch 128, 0.5-0.7 ms of kernel time in steps
of 1.1 and 1.7 ms. With arrays up to 32 MiB taken from the heap and up to 64 MiB of free
memory kept, there were none, and the steps took 0.73 and 1.26 ms. PyTorch's CPU guides
swap in jemalloc or tcmalloc for the same reason; this asks glibc instead.

The cost: up to 64 MiB of freed memory stays with the process, as in any caching allocator.
Arrays over 32 MiB are still mapped and returned on their own. `TINYGRAD_LITE_KEEP_MEMORY=0`
leaves malloc as it was; on a C library other than glibc nothing is changed.
"""
from __future__ import annotations

import ctypes
import os

# glibc's mallopt parameters (malloc.h) and the values set
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES = 64 << 20  # free memory kept at the top of the heap
_MMAP_BYTES = 32 << 20  # glibc's largest: arrays below it come from the heap


def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds (see the module's text); whether they were set."""
    if os.environ.get("TINYGRAD_LITE_KEEP_MEMORY", "1") == "0":
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, ValueError, OSError):  # not glibc (macOS, Windows, musl)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
                and mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES))
