"""NAdam: Adam with Nesterov momentum and a momentum schedule."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .adam import _BetasOptimizer
from .optimizer import _average, _average_squares, _buffer, _decay_weights


def _nadam_update(p: np.ndarray, g: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                  *, step: int, mu_product: float, lr: float, beta1: float, beta2: float,
                  eps: float, weight_decay: float, momentum_decay: float,
                  decoupled: bool) -> float:
    """PyTorch's NAdam rule for one parameter, in place; returns the new `mu_product`.

    `step` counts from 1; `mu_product` is the product of the momentum coefficients of the
    steps before this one (1 at the start).
    """
    g = _decay_weights(p, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled)
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    mu_product *= mu
    _average(exp_avg, g, beta1)
    _average_squares(exp_avg_sq, g, beta2)
    denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + eps
    # the Nesterov look-ahead: this gradient with today's momentum, the average with tomorrow's
    p += (-lr * (1 - mu) / (1 - mu_product)) * g / denom
    p += (-lr * mu_next / (1 - mu_product * mu_next)) * exp_avg / denom
    return mu_product


class NAdam(_BetasOptimizer):
    """NAdam (Dozat, 2016): Adam whose step looks ahead with the next momentum coefficient.

    The coefficient `mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))` warms up with the
    step count. `weight_decay` is L2 (added to the gradient) unless `decoupled_weight_decay`,
    which shrinks the weights directly as AdamW does.

    Examples
    --------
    >>> opt = optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable, "differentiable": differentiable})

    _nonnegative = ("lr", "eps", "weight_decay", "momentum_decay")

    def _load_state_entry(self, key: Any, value: Any, p: Any, where: str) -> Any:
        if key == "mu_product":  # NOTE: kept as a number; PyTorch's snapshots hold a 0-d tensor
            return float(value)
        return super()._load_state_entry(key, value, p, where)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        step, options = self._count_step(state, group)
        mu_product = state.setdefault("mu_product", 1.0)
        state["mu_product"] = _nadam_update(
            p, g, _buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p), step=step,
            mu_product=float(mu_product),
            momentum_decay=float(group["momentum_decay"]),
            decoupled=bool(group["decoupled_weight_decay"]), **options)
