"""`tl.backends`: PyTorch's switches for its GPU libraries (`backends.cudnn.benchmark =
True`) and `backends.mps.is_available()`, answered for a CPU-only library: the switches are
kept and change nothing, so scripts that set them run unchanged. (The array backends,
numpy and numba, are `tl.backend`.)"""
from __future__ import annotations

import types

from .cuda import is_available

cudnn = types.SimpleNamespace(enabled=True, benchmark=False, deterministic=False,
                              allow_tf32=True, is_available=is_available)
mps = types.SimpleNamespace(is_available=is_available, is_built=is_available)
