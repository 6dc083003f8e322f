"""RMSprop: steps divided by a running root mean square of the gradient."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _average, _average_squares, _buffer, _next_step


def _rmsprop_update(p: np.ndarray, g: np.ndarray, square_avg: np.ndarray,
                    grad_avg: np.ndarray | None, buf: np.ndarray | None, *, lr: float,
                    alpha: float, eps: float, weight_decay: float, momentum: float) -> None:
    """PyTorch's RMSprop rule for one parameter, in place.

    `grad_avg` is given when centered (divide by an estimate of the gradient's standard
    deviation rather than its root mean square); `buf` when momentum > 0.
    """
    if weight_decay != 0:
        g = g + weight_decay * p
    _average_squares(square_avg, g, alpha)
    if grad_avg is not None:
        _average(grad_avg, g, alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if buf is not None:
        buf *= momentum
        buf += g / avg
        p -= lr * buf
    else:
        p -= lr * g / avg


class RMSprop(Optimizer):
    """RMSprop (Hinton): `p -= lr * g / (sqrt(E[g^2]) + eps)`, E a running average.

    Examples
    --------
    >>> opt = optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                                  "centered": centered, "weight_decay": weight_decay,
                                  "capturable": capturable, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable})

    _nonnegative = ("lr", "eps", "alpha", "momentum", "weight_decay")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        _next_step(state)
        momentum = float(group["momentum"])
        _rmsprop_update(p, g, _buffer(state, "square_avg", p),
                        _buffer(state, "grad_avg", p) if group["centered"] else None,
                        _buffer(state, "momentum_buffer", p) if momentum > 0 else None,
                        lr=float(group["lr"]), alpha=float(group["alpha"]),
                        eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                        momentum=momentum)
