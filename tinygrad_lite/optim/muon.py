"""Muon: momentum SGD whose step for a 2-D weight is orthogonalised by Newton-Schulz."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _average, _buffer


def _bfloat16(x: np.ndarray) -> np.ndarray:
    """`x` rounded to bfloat16 (8 significant bits, to nearest, ties to even), kept as
    float32: PyTorch runs the Newton-Schulz iteration in bfloat16, which numpy lacks."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    with np.errstate(over="ignore"):
        rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) \
            & np.uint32(0xFFFF0000)
    out = rounded.view(np.float32)
    return np.where(np.isnan(out) | np.isnan(x), np.float32(np.nan), out)


def _orthogonalized(g: np.ndarray, coefficients: tuple, steps: int, eps: float) -> np.ndarray:
    """PyTorch's `_zeropower_via_newtonschulz`: about U V^T for g = U S V^T, by `steps`
    quintic iterations X <- a X + (b A + c A A) X with A = X X^T, from X = g / |g|, each
    product rounded to bfloat16 as PyTorch's are."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(k) for k in coefficients)
    tall = g.shape[0] > g.shape[1]
    x = _bfloat16(g.T if tall else g)
    norm = _bfloat16(np.linalg.norm(x))
    x = _bfloat16(x / max(norm, _bfloat16(np.float32(eps))))
    for _ in range(steps):
        gram = _bfloat16(x @ x.T)
        update = _bfloat16(b * gram + c * (gram @ gram))
        x = _bfloat16(a * x + update @ x)
    return x.T if tall else x


class Muon(Optimizer):
    """Muon (MomentUm Orthogonalized by Newton-schulz; K. Jordan, 2024), PyTorch 2.13's.

    For each 2-D parameter: `buf = momentum * buf + (1 - momentum) * g`; the step direction
    (`g + momentum * (buf - g)` with Nesterov, else `buf`) is replaced by its nearest
    semi-orthogonal matrix, approximately, by `ns_steps` Newton-Schulz iterations; then `p
    *= 1 - lr * weight_decay` and `p -= lr * ratio * direction`, where `ratio` is
    sqrt(max(1, rows / cols)) (`adjust_lr_fn` "original", the default) or 0.2 * sqrt(max(rows,
    cols)) ("match_rms_adamw", to reuse AdamW's learning rate). Only 2-D parameters: train the
    biases and norms with another optimizer, as with PyTorch's.

    Examples
    --------
    >>> opt = optim.Muon([layer.weight for layer in hidden_layers], lr=0.02)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None) -> None:
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay,
                                  "momentum": momentum, "nesterov": nesterov,
                                  "ns_coefficients": ns_coefficients, "eps": eps,
                                  "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn})
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.shape}")

    _nonnegative = ("lr", "momentum", "weight_decay")
    _scalar_state = ()

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        buf = _buffer(state, "momentum_buffer", g)
        _average(buf, g, momentum)
        direction = g + momentum * (buf - g) if group["nesterov"] else buf
        direction = _orthogonalized(direction, tuple(group["ns_coefficients"]),
                                    int(group["ns_steps"]), float(group["eps"]))
        rows, cols = p.shape
        ratio = (0.2 * math.sqrt(max(rows, cols)) if group["adjust_lr_fn"] == "match_rms_adamw"
                 else math.sqrt(max(1, rows / cols)))
        p *= 1 - lr * float(group["weight_decay"])
        p -= (lr * ratio) * direction.astype(p.dtype)
