"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as be
from .optimizer import Optimizer, _buffer


def _sgd_update(p: np.ndarray, g: np.ndarray, buf: np.ndarray | None, *, lr: float,
                momentum: float, dampening: float, weight_decay: float, nesterov: bool,
                first_step: bool) -> None:
    """PyTorch's SGD rule for one parameter; updates `p` and `buf` in place.

    The momentum buffer starts as the first gradient itself (no dampening), as in PyTorch.
    """
    if weight_decay != 0:
        g = g + weight_decay * p
    if buf is not None:
        if first_step:
            buf[...] = g
        else:
            buf *= momentum
            buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    p -= lr * g


class SGD(Optimizer):
    """Stochastic gradient descent: `p -= lr * g`, optionally with momentum.

    With momentum, `buf = momentum * buf + (1 - dampening) * g` and the step uses `buf`
    (or `g + momentum * buf` with Nesterov). `weight_decay` adds `weight_decay * p` to `g`.
    `maximize=True` ascends. `foreach`, `differentiable` and `fused` are PyTorch's kernel
    choices, accepted (and kept in the groups) but without effect here.

    Examples
    --------
    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize, "foreach": foreach,
                                  "differentiable": differentiable, "fused": fused})

    _nonnegative = ("lr", "momentum", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        self._require(not group["nesterov"] or (group["momentum"] > 0
                                                and group["dampening"] == 0),
                      "nesterov", group["nesterov"],
                      "Nesterov momentum to come with momentum > 0 and dampening = 0")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        momentum = float(group["momentum"])
        first_step = "momentum_buffer" not in state
        buf = _buffer(state, "momentum_buffer", p) if momentum != 0 else None
        be.active.sgd_update(p, g, buf, lr=float(group["lr"]), momentum=momentum,
                             dampening=float(group["dampening"]),
                             weight_decay=float(group["weight_decay"]),
                             nesterov=group["nesterov"], first_step=first_step)
