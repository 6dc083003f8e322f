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

class Generator:
    """A random generator with its own state, as PyTorch's `torch.Generator`: pass it as
    `generator=` to `rand`, `randn`, `randint`, `randperm`, `normal`. Without one those ops
    use `default_generator`, which `tl.manual_seed` seeds.

    Examples
    --------
    >>> g = tl.Generator().manual_seed(0)
    >>> tl.equal(tl.rand(3, generator=g), tl.rand(3, generator=tl.Generator().manual_seed(0)))
    True
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.seed()

    def manual_seed(self, seed: int) -> "Generator":
        """Seed this generator and return it, so `Generator().manual_seed(0)` chains."""
        if not 0 <= int(seed) < 2 ** 128:
            raise ValueError(f"manual_seed: the seed must be in [0, 2**128), got {seed}")
        self._rng = np.random.default_rng(int(seed))
        self._initial_seed = int(seed)
        return self

    def seed(self) -> int:
        """Seed with a fresh random 64-bit number from the OS, and return it."""
        fresh = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(fresh)
        return fresh

    def initial_seed(self) -> int:
        """The seed last given to `manual_seed` or drawn by `seed`."""
        return self._initial_seed

    def get_state(self) -> "Tensor":
        """A snapshot of the state and initial seed as a uint8 Tensor of 56 bytes (PyTorch's
        is a uint8 Tensor too), for `set_state`; `tl.save` can store it."""
        # NOTE: imported here because tensor.py imports this module
        from .tensor import Tensor, uint8

        state = self._rng.bit_generator.state
        # the inner state and inc, beside has_uint32 and uinteger
        numbers = {**state, **state["state"], "seed": self._initial_seed}
        raw = b"".join(int(numbers[name]).to_bytes(size, "little")
                       for name, size in _STATE_FIELDS)
        return Tensor(np.frombuffer(raw, dtype=np.uint8).copy(), dtype=uint8)

    def set_state(self, new_state: "Tensor | np.ndarray") -> "Generator":
        """Restore a snapshot from `get_state`, so the same draws repeat; `initial_seed`
        comes back too, as in PyTorch. The numpy generator object stays the same."""
        arr = np.asarray(new_state)
        if arr.dtype != np.uint8 or arr.shape != (_STATE_BYTES,):
            raise TypeError(f"set_rng_state: expected the uint8 tensor of {_STATE_BYTES} bytes "
                            f"that get_rng_state returns, got dtype {arr.dtype} and shape "
                            f"{arr.shape}")
        raw, numbers, start = arr.tobytes(), {}, 0
        for name, size in _STATE_FIELDS:
            numbers[name] = int.from_bytes(raw[start:start + size], "little")
            start += size
        self._initial_seed = numbers["seed"]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": numbers["state"], "inc": numbers["inc"]},
            "has_uint32": numbers["has_uint32"], "uinteger": numbers["uinteger"]}
        return self


# NOTE: a fresh seed at creation, so initial_seed() has an answer before any seeding
default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the generator used by `randn`, `rand`, dropout, `nn.init` and the data sets, and
    return it, as PyTorch does."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the generator with a fresh random 64-bit number from the OS, and return it.

    Examples
    --------
    >>> s = tl.seed()
    >>> tl.initial_seed() == s
    True
    """
    return default_generator.seed()


def initial_seed() -> int:
    """The seed last given to `manual_seed` or drawn by `seed` (one is drawn at import)."""
    return default_generator.initial_seed()


def generator(gen: Generator | None = None) -> np.random.Generator:
    """The numpy generator behind `gen`, or behind the default one (read it at call time:
    `manual_seed` replaces it)."""
    return (default_generator if gen is None else gen)._rng


def get_rng_state() -> "Tensor":
    """`default_generator.get_state()`, for `set_rng_state`.

    Examples
    --------
    >>> state = tl.get_rng_state()
    >>> a = tl.randn(3)
    >>> tl.set_rng_state(state)
    >>> tl.equal(tl.randn(3), a)
    True
    """
    return default_generator.get_state()


def set_rng_state(new_state: "Tensor | np.ndarray") -> None:
    """Restore the default generator to a snapshot from `get_rng_state`."""
    default_generator.set_state(new_state)
