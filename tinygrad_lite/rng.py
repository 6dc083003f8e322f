"""The one random generator behind every random op, so `manual_seed` reproduces a whole run.

Every random op reads `generator()` at call time, so seeding or restoring the state here
reaches all of them: `randn`, `rand`, dropout, `nn.init`, the data sets and loaders.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

# NOTE: get_rng_state's layout, little-endian: the initial seed, PCG64's 128-bit state and
# increment, then the flag and value of the spare 32 bits a float32 draw leaves behind
_STATE_FIELDS = (("seed", 16), ("state", 16), ("inc", 16), ("has_uint32", 4), ("uinteger", 4))
_STATE_BYTES = sum(size for _, size in _STATE_FIELDS)

_generator: np.random.Generator
_initial_seed: int


def manual_seed(seed: int) -> None:
    """Seed the generator used by `randn`, `rand`, dropout, `nn.init` and the data sets."""
    global _generator, _initial_seed
    if not 0 <= int(seed) < 2 ** 128:
        raise ValueError(f"manual_seed: the seed must be in [0, 2**128), got {seed}")
    _generator = np.random.default_rng(seed)
    _initial_seed = int(seed)


def seed() -> int:
    """Seed the generator with a fresh random 64-bit number from the OS, and return it.

    Examples
    --------
    >>> s = tl.seed()
    >>> tl.initial_seed() == s
    True
    """
    fresh = int.from_bytes(os.urandom(8), "little")
    manual_seed(fresh)
    return fresh


def initial_seed() -> int:
    """The seed last given to `manual_seed` or drawn by `seed` (one is drawn at import)."""
    return _initial_seed


def generator() -> np.random.Generator:
    """The current generator (read it at call time: `manual_seed` replaces it)."""
    return _generator


def get_rng_state() -> "Tensor":
    """A snapshot of the generator and its initial seed as a uint8 Tensor of 56 bytes
    (PyTorch's is a uint8 Tensor too), for `set_rng_state`; `tl.save` can store it.

    Examples
    --------
    >>> state = tl.get_rng_state()
    >>> a = tl.randn(3)
    >>> tl.set_rng_state(state)
    >>> tl.equal(tl.randn(3), a)
    True
    """
    # NOTE: imported here because tensor.py imports this module
    from .tensor import Tensor, uint8

    state = _generator.bit_generator.state
    # the inner state and inc, beside has_uint32 and uinteger
    numbers = {**state, **state["state"], "seed": _initial_seed}
    raw = b"".join(int(numbers[name]).to_bytes(size, "little") for name, size in _STATE_FIELDS)
    return Tensor(np.frombuffer(raw, dtype=np.uint8).copy(), dtype=uint8)


def set_rng_state(new_state: "Tensor | np.ndarray") -> None:
    """Restore the generator to a snapshot from `get_rng_state`, so the same draws repeat.

    `initial_seed` comes back too, as in PyTorch. The generator object stays the same; only
    its state changes.
    """
    global _initial_seed
    arr = np.asarray(new_state)
    if arr.dtype != np.uint8 or arr.shape != (_STATE_BYTES,):
        raise TypeError(f"set_rng_state: expected the uint8 tensor of {_STATE_BYTES} bytes "
                        f"that get_rng_state returns, got dtype {arr.dtype} and shape "
                        f"{arr.shape}")
    raw, numbers, start = arr.tobytes(), {}, 0
    for name, size in _STATE_FIELDS:
        numbers[name] = int.from_bytes(raw[start:start + size], "little")
        start += size
    _initial_seed = numbers["seed"]
    _generator.bit_generator.state = {
        "bit_generator": "PCG64", "state": {"state": numbers["state"], "inc": numbers["inc"]},
        "has_uint32": numbers["has_uint32"], "uinteger": numbers["uinteger"]}


seed()  # NOTE: a fresh seed at import, so initial_seed() has an answer before any seeding
