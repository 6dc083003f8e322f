"""Rprop: each coordinate steps by its own size, grown while its gradient keeps its sign."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _next_step


def _rprop_update(p: np.ndarray, g: np.ndarray, prev: np.ndarray, step_size: np.ndarray, *,
                  etas: tuple[float, float], step_sizes: tuple[float, float]) -> None:
    """PyTorch's Rprop rule for one parameter, in place."""
    eta_minus, eta_plus = etas
    agreement = np.sign(g * prev)
    factor = np.where(agreement > 0, eta_plus, np.where(agreement < 0, eta_minus, 1.0))
    np.clip(step_size * factor, *step_sizes, out=step_size)
    # NOTE: after a sign change the coordinate skips a step and forgets its gradient
    g = np.where(agreement < 0, 0, g).astype(p.dtype)
    p -= np.sign(g) * step_size
    prev[...] = g


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun): `p -= sign(g) * step_size`.

    Each coordinate's step size starts at `lr`, is multiplied by `etas[1]` when its gradient
    keeps its sign and by `etas[0]` when it flips (that step is then skipped), and stays
    within `step_sizes`. Only the gradient's sign is used, so it suits full-batch training.

    Examples
    --------
    >>> opt = optim.Rprop(model.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, {"lr": lr, "etas": tuple(etas),
                                  "step_sizes": tuple(step_sizes), "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        _next_step(state)
        _rprop_update(p, g, _buffer(state, "prev", p),
                      _buffer(state, "step_size", p, float(group["lr"])),
                      etas=group["etas"], step_sizes=group["step_sizes"])
