"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _next_step


def _adagrad_update(p: np.ndarray, g: np.ndarray, state_sum: np.ndarray, *, step: int,
                    lr: float, lr_decay: float, eps: float, weight_decay: float) -> None:
    """PyTorch's Adagrad rule for one parameter, in place; `step` counts from 1."""
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    p -= clr * g / (np.sqrt(state_sum) + eps)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): `p -= lr * g / (sqrt(sum of g^2) + eps)`.

    `lr_decay` divides the learning rate by `1 + (step - 1) * lr_decay`; the accumulator
    starts at `initial_accumulator_value`.

    Examples
    --------
    >>> opt = optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "foreach": foreach, "maximize": maximize,
                                  "differentiable": differentiable, "fused": fused})

    _nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        step = _next_step(state)
        state_sum = _buffer(state, "sum", p, group["initial_accumulator_value"])
        _adagrad_update(p, g, state_sum, step=step, lr=float(group["lr"]),
                        lr_decay=float(group["lr_decay"]), eps=float(group["eps"]),
                        weight_decay=float(group["weight_decay"]))
