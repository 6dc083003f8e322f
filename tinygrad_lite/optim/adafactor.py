"""Adafactor: Adam's second moment kept factored (one row and one column average per
matrix instead of a full copy), with a relative step size."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _next_step


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else 0.0


def _adafactor_update(p: np.ndarray, g: np.ndarray, state: dict[str, Any], *, step: int,
                      lr: float, beta2_decay: float, eps1: float, eps2: float, d: float,
                      weight_decay: float) -> None:
    """PyTorch's Adafactor rule for one parameter, in place; `step` counts from 1.

    The step is relative: lr (capped at 1/sqrt(step)) times the parameter's RMS (at least
    eps2). A matrix's second moment is estimated from the running means of g^2 along its
    last dim (row_var) and the one before (col_var); a vector keeps it whole (variance).
    """
    one_minus_beta2 = step ** beta2_decay
    alpha = max(eps2, _rms(p)) * min(lr, 1 / step ** 0.5)
    if weight_decay != 0:
        p *= 1 - lr * weight_decay
    square = g * g
    if g.ndim > 1:
        row_mean, col_mean = square.mean(axis=-1, keepdims=True), square.mean(axis=-2,
                                                                              keepdims=True)
        row_var, col_var = _buffer(state, "row_var", row_mean), _buffer(state, "col_var",
                                                                         col_mean)
        row_var += one_minus_beta2 * (row_mean - row_var)
        col_var += one_minus_beta2 * (col_mean - col_var)
        estimate = (row_var @ col_var) / np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        variance = _buffer(state, "variance", g)
        variance += one_minus_beta2 * (square - variance)
        estimate = variance.copy()
    update = g / np.sqrt(np.maximum(estimate, eps1 * eps1))
    p -= (alpha / max(1.0, _rms(update) / d)) * update


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), as PyTorch's: memory for the second moment grows
    with rows + columns, not rows x columns, and there is no first moment.

    `eps=(eps1, eps2)`: eps1 (None: the dtype's machine epsilon) floors the second-moment
    estimate, eps2 the parameter RMS that scales the step. `d` clips the update's RMS;
    `beta2_decay` sets the averaging 1 - step^beta2_decay. `weight_decay` is decoupled.

    Examples
    --------
    >>> opt = optim.Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "beta2_decay": beta2_decay, "eps": tuple(eps),
                                  "d": d, "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize})

    _nonnegative = ("lr", "weight_decay")
    _factored_state = ("row_var", "col_var")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        eps1, eps2 = group["eps"]
        self._require(group["beta2_decay"] <= 0, "beta2_decay", group["beta2_decay"],
                      "beta2_decay <= 0")
        self._require(eps1 is None or eps1 >= 0, "eps", group["eps"], "eps[0] None or >= 0")
        self._require(eps2 >= 0, "eps", group["eps"], "eps[1] >= 0")
        self._require(group["d"] >= 1, "d", group["d"], "d >= 1")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        eps1, eps2 = group["eps"]
        _adafactor_update(
            p, g, state, step=_next_step(state), lr=float(group["lr"]),
            beta2_decay=float(group["beta2_decay"]),
            eps1=float(np.finfo(p.dtype).eps if eps1 is None else eps1), eps2=float(eps2),
            d=float(group["d"]), weight_decay=float(group["weight_decay"]))
