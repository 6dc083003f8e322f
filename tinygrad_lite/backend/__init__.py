"""The backend seam: `backend.active` computes every array; ops never import numpy math.

The default is numba (elementwise chains fused into compiled kernels, see numba_backend.py)
when numba is installed, else numpy, the eager reference. Choose with the environment variable
`TINYGRAD_LITE_BACKEND=numba|numpy` or `set_backend`. Importing it also keeps freed array memory
in the process (`memory.py`: a training step otherwise page-faults its arrays in again).
"""
from __future__ import annotations

import importlib.util
import os

from .memory import keep_freed_memory
from .numba_backend import NumbaBackend
from .numpy_backend import NumpyBackend

_BACKENDS = {"numpy": NumpyBackend, "numba": NumbaBackend}

active = NumpyBackend()


def set_backend(name: str) -> None:
    """Switch every later op to the backend `name` ("numba" or "numpy")."""
    global active
    if name not in _BACKENDS:
        raise ValueError(f"set_backend: unknown backend {name!r}; choose one of "
                         f"{sorted(_BACKENDS)}")
    active = _BACKENDS[name]()


def get_backend() -> str:
    """The name of the active backend."""
    return active.name


def _default() -> str:
    # NOTE: find_spec looks for numba without importing it (0.3 s): `import tinygrad_lite`
    # stays fast, and numba is first imported when a kernel is needed
    return "numba" if importlib.util.find_spec("numba") else "numpy"


set_backend(os.environ.get("TINYGRAD_LITE_BACKEND") or _default())
keep_freed_memory()
