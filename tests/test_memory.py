"""`backend/memory.py`: freed arrays stay in the process, so reusing them does not page-fault."""
import os
import subprocess
import sys

import pytest

# NOTE: a fresh process, so that the heap has no history: two 4 MiB arrays made, filled and
# freed, four times; the minor page faults of each round
_PROBE = """
import resource
import numpy as np
import tinygrad_lite
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.empty(4 << 20, np.uint8); a.fill(1)
    b = np.empty(4 << 20, np.uint8); b.fill(1)
    del a, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults)
"""

glibc_only = pytest.mark.skipif(
    not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="the malloc settings are glibc's")


def _faults_per_round() -> list[int]:
    env = dict(os.environ, TINYGRAD_LITE_KEEP_MEMORY="1")
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    return [int(f) for f in out.split()]


@glibc_only
def test_reused_arrays_do_not_page_fault():
    # NOTE: 2 x 4 MiB are 2048 pages: the first round faults them in, later rounds reuse them
    assert max(_faults_per_round()[1:]) < 64


@glibc_only
def test_keep_memory_0_leaves_malloc_as_it_was(monkeypatch):
    # NOTE: whether glibc's own thresholds fault again depends on the heap's history (they
    # did in a fresh process, not always inside the suite), so this checks the switch itself
    from tinygrad_lite.backend.memory import keep_freed_memory
    monkeypatch.setenv("TINYGRAD_LITE_KEEP_MEMORY", "0")
    assert keep_freed_memory() is False
    monkeypatch.setenv("TINYGRAD_LITE_KEEP_MEMORY", "1")
    assert keep_freed_memory() is True
