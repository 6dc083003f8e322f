"""A small caching allocator for the big arrays a training step makes and drops every step.

A fresh array of more than ~128 kB comes from `mmap`, and touching it page-faults on every
page: on this machine a new 2048x256 float32 array costs ~0.6 ms before a kernel writes a byte,
more than the kernel itself (PERF-NOTES: "allocation is a tax"). The pool keeps the arrays it
handed out and gives one back again once nothing else refers to it, which CPython's reference
count says exactly: a view, a tensor, a pending kernel argument or a user's variable all hold
a reference. A step then reuses last step's memory instead of faulting in new pages.
"""
from __future__ import annotations

import sys

import numpy as np

MIN_BYTES = 1 << 17  # below mmap's threshold malloc already reuses memory
PER_SHAPE = 8        # arrays kept per (shape, dtype); more live ones are allocated plainly

_buffers: dict[tuple, list[np.ndarray]] = {}


def _free_count() -> int:
    """The reference count of a pooled array that nothing else refers to, as `empty` sees it
    (measured, not assumed: it depends on the interpreter)."""
    bucket = [np.empty(0)]
    for a in bucket:
        return sys.getrefcount(a)
    raise AssertionError


_FREE = _free_count()


def empty(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, recycled when a pooled one is free."""
    dtype = np.dtype(dtype)
    if dtype.itemsize * _prod(shape) < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (shape, dtype)
    bucket = _buffers.setdefault(key, [])
    for a in bucket:
        if sys.getrefcount(a) == _FREE:
            return a
    a = np.empty(shape, dtype)
    if len(bucket) < PER_SHAPE:
        bucket.append(a)
    return a


def clear() -> None:
    """Drop every pooled array (memory goes back to the system once nothing uses it)."""
    _buffers.clear()


def _prod(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
