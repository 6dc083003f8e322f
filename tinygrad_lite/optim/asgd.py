"""ASGD: SGD with a decaying step size, keeping a running average of the parameters."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _next_step


def _asgd_update(p: np.ndarray, g: np.ndarray, ax: np.ndarray, eta: np.ndarray,
                 mu: np.ndarray, *, step: int, lr: float, lambd: float, alpha: float,
                 t0: float, weight_decay: float) -> None:
    """PyTorch's ASGD rule for one parameter, in place: a decayed SGD step of size eta, then
    the average ax moves towards p by mu; eta and mu (float32 scalars) follow the step."""
    if weight_decay != 0:
        g = g + weight_decay * p
    eta_value = float(eta)
    p *= 1 - lambd * eta_value
    p -= eta_value * g
    if float(mu) != 1:
        ax += (p - ax) * mu
    else:
        ax[...] = p
    eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
    mu[...] = 1 / max(1, step - t0)


class ASGD(Optimizer):
    """Averaged stochastic gradient descent (Polyak and Juditsky, 1992), as in PyTorch.

    Each step decays p by (1 - lambd * eta) and moves it by -eta * g, with the step size
    eta = lr / (1 + lambd * lr * t)^alpha; from step t0 on, state["ax"] keeps the running
    average of the iterates (the averaged solution to evaluate).

    Examples
    --------
    >>> opt = optim.ASGD(model.parameters(), lr=0.01, t0=100)
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    _nonnegative = ("lr", "weight_decay")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:  # NOTE: PyTorch's order and float32 scalars, so state dicts match
            state["step"] = Tensor(np.zeros((), np.float32))
            state["eta"] = Tensor(np.array(group["lr"], np.float32))
            state["mu"] = Tensor(np.ones((), np.float32))
            state["ax"] = Tensor(np.zeros_like(p))
        step = _next_step(state)
        _asgd_update(p, g, state["ax"].numpy(), state["eta"].numpy(), state["mu"].numpy(),
                     step=step, lr=float(group["lr"]), lambd=float(group["lambd"]),
                     alpha=float(group["alpha"]), t0=float(group["t0"]),
                     weight_decay=float(group["weight_decay"]))
