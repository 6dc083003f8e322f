"""Adamax: Adam with the second moment replaced by a decaying infinity norm."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _BetasOptimizer
from .optimizer import _average, _buffer, _decay_weights


def _adamax_update(p: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_inf: np.ndarray, *,
                   step: int, lr: float, beta1: float, beta2: float, eps: float,
                   weight_decay: float) -> None:
    """PyTorch's Adamax rule for one parameter, in place; `step` counts from 1."""
    g = _decay_weights(p, g, lr=lr, weight_decay=weight_decay, decoupled=False)
    _average(exp_avg, g, beta1)
    exp_inf *= beta2
    np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)
    # NOTE: the infinity norm needs no bias correction: max() forgets its zero start at once
    p -= lr / (1 - beta1**step) * exp_avg / exp_inf


class Adamax(_BetasOptimizer):
    """Adamax (Kingma & Ba, 2014): `p -= lr / (1 - beta1^t) * m / u`, `u = max(beta2 u, |g|)`.

    `m` is Adam's first moment; `weight_decay` adds `weight_decay * p` to the gradient.

    Examples
    --------
    >>> opt = optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        step, options = self._count_step(state, group)
        _adamax_update(p, g, _buffer(state, "exp_avg", p), _buffer(state, "exp_inf", p),
                       step=step, **options)
