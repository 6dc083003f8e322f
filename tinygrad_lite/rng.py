"""The one random generator behind every random op, so `manual_seed` reproduces a whole run."""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator used by `randn`, `rand`, dropout, `nn.init` and the data sets."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The current generator (read it at call time: `manual_seed` replaces it)."""
    return _generator
