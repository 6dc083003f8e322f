"""RAdam: Adam whose adaptive step is switched on gradually, as its variance estimate firms up."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _BetasOptimizer
from .optimizer import _average, _average_squares, _buffer, _decay_weights


def _radam_update(p: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                  *, step: int, lr: float, beta1: float, beta2: float, eps: float,
                  weight_decay: float, decoupled: bool) -> None:
    """PyTorch's RAdam rule for one parameter, in place; `step` counts from 1."""
    g = _decay_weights(p, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled)
    _average(exp_avg, g, beta1)
    _average_squares(exp_avg_sq, g, beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    corrected = exp_avg / bias_correction1
    # the length of the simple moving average that exp_avg_sq approximates, and its limit
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
    if rho_t > 5.0:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = math.sqrt(bias_correction2) / (np.sqrt(exp_avg_sq) + eps)
        p -= corrected * lr * adaptive * rect
    else:  # NOTE: too few steps for a trustworthy variance: plain momentum SGD
        p -= corrected * lr


class RAdam(_BetasOptimizer):
    """RAdam (Liu et al., 2019): Adam with its adaptive term rectified in the first steps.

    While the second moment rests on too few gradients (rho_t <= 5, the first few steps for
    beta2 = 0.999), it steps with the bias-corrected first moment alone. `weight_decay` is
    L2 unless `decoupled_weight_decay`, which shrinks the weights directly as AdamW does.

    Examples
    --------
    >>> opt = optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize,
                                  "foreach": foreach, "capturable": capturable,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "differentiable": differentiable})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        step, options = self._count_step(state, group)
        _radam_update(p, g, _buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p),
                      step=step, decoupled=bool(group["decoupled_weight_decay"]), **options)
