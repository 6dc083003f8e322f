"""Adadelta: steps scaled by the ratio of running RMS of past updates to that of gradients."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _average_squares, _buffer, _decay_weights, _next_step


def _adadelta_update(p: np.ndarray, g: np.ndarray, square_avg: np.ndarray,
                     acc_delta: np.ndarray, *, lr: float, rho: float, eps: float,
                     weight_decay: float) -> None:
    """PyTorch's Adadelta rule for one parameter, in place."""
    g = _decay_weights(p, g, lr=lr, weight_decay=weight_decay, decoupled=False)
    _average_squares(square_avg, g, rho)
    # NOTE: eps sits inside both roots, so the very first steps (acc_delta = 0) still move
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    _average_squares(acc_delta, delta, rho)
    p -= lr * delta


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): `p -= lr * sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g`.

    Both E are running averages with decay `rho`; `weight_decay` adds `weight_decay * p`
    to `g`. The update has the units of `p`, so `lr` is a plain scale (1.0 by default).

    Examples
    --------
    >>> opt = optim.Adadelta(model.parameters(), rho=0.9)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize,
                                  "capturable": capturable, "foreach": foreach,
                                  "differentiable": differentiable})

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        self._require(0 <= group["rho"] <= 1, "rho", group["rho"], "0 <= rho <= 1")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        _next_step(state)
        _adadelta_update(p, g, _buffer(state, "square_avg", p), _buffer(state, "acc_delta", p),
                         lr=float(group["lr"]), rho=float(group["rho"]),
                         eps=float(group["eps"]), weight_decay=float(group["weight_decay"]))
