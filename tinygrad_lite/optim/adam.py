"""Adam and AdamW: per-coordinate steps scaled by running moments of the gradient."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as be
from .optimizer import Optimizer, _average, _average_squares, _buffer, _decay_weights, _next_step


def _adam_update(p: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                 max_exp_avg_sq: np.ndarray | None, *, step: int, lr: float, beta1: float,
                 beta2: float, eps: float, weight_decay: float, decoupled: bool) -> None:
    """PyTorch's Adam (or AdamW when `decoupled`) rule for one parameter, in place.

    `step` counts from 1. `max_exp_avg_sq` is given for AMSGrad, which divides by the largest
    second moment seen so far instead of the current one.
    """
    g = _decay_weights(p, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled)
    _average(exp_avg, g, beta1)
    _average_squares(exp_avg_sq, g, beta2)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    # NOTE: bias corrections undo the zero start of both averages (large in the first steps)
    step_size = lr / (1 - beta1**step)
    denom = np.sqrt(second) / math.sqrt(1 - beta2**step) + eps
    p -= step_size * exp_avg / denom


class _BetasOptimizer(Optimizer):
    """The options every Adam-like optimizer checks: lr, eps, weight_decay >= 0 and each of
    `betas` in [0, 1)."""

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        for i, beta in enumerate(group["betas"]):
            self._require(0 <= beta < 1, f"betas[{i}]", beta, f"0 <= betas[{i}] < 1")

    @staticmethod
    def _count_step(state: dict[str, Any], group: dict[str, Any]) -> tuple[int, dict[str, float]]:
        """Count one more step in `state`; return it (from 1) with the options every Adam-like
        rule takes, as floats: lr, beta1, beta2, eps and weight_decay."""
        step = _next_step(state)
        beta1, beta2 = group["betas"]
        return step, {"lr": float(group["lr"]), "beta1": float(beta1), "beta2": float(beta2),
                      "eps": float(group["eps"]), "weight_decay": float(group["weight_decay"])}


class Adam(_BetasOptimizer):
    """Adam (Kingma & Ba, 2014), with optional AMSGrad and L2 weight decay.

    `weight_decay` here adds `weight_decay * p` to the gradient, so it is rescaled with it;
    AdamW (or `decoupled_weight_decay=True`) decays the weights directly instead, which is
    usually what you want. `maximize=True` ascends; `foreach`, `capturable`,
    `differentiable` and `fused` are PyTorch's kernel choices, accepted without effect here.

    Examples
    --------
    >>> opt = optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable, "differentiable": differentiable,
                                  "fused": fused,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        # NOTE: options spelled out, not a dict from _count_step: the summary's measured peak
        # of an Adam step (a golden file) counts every byte alive during it
        step = _next_step(state)
        beta1, beta2 = group["betas"]
        be.active.adam_update(
            p, g, _buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p),
            _buffer(state, "max_exp_avg_sq", p) if group["amsgrad"] else None,
            step=step, lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            decoupled=bool(group["decoupled_weight_decay"]))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): `p *= 1 - lr * weight_decay`.

    Examples
    --------
    >>> opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
