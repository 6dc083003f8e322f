"""Layers: thin modules around `nn.functional`, holding parameters and settings."""
from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor, empty
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W.T + b, with optional per-layer L1/L2 penalties (the seeds' dense layer).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input row and each output row.
    bias : bool
        Whether to learn an additive bias (default True).
    weight_l1, weight_l2, bias_l1, bias_l2 : float
        Penalty strengths; `model.regularization_loss()` adds
        l1 * sum|W| + l2 * sum W^2 (and the same for b) over every Linear in the model.
    dtype : dtype, optional
        float32 (the default) or float64.

    Attributes
    ----------
    weight : Parameter (out_features, in_features), PyTorch's layout and init:
        U(-1/sqrt(in_features), 1/sqrt(in_features)).
    bias : Parameter (out_features,) or None, same init.

    Examples
    --------
    >>> layer = nn.Linear(784, 256)
    >>> layer(tl.randn(32, 784)).shape
    (32, 256)
    >>> sum(p.numel() for p in layer.parameters())
    200960
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 weight_l1: float = 0.0, weight_l2: float = 0.0, bias_l1: float = 0.0,
                 bias_l2: float = 0.0, dtype: Any = None) -> None:
        super().__init__()
        strengths = {"weight_l1": weight_l1, "weight_l2": weight_l2, "bias_l1": bias_l1,
                     "bias_l2": bias_l2}
        for name, value in strengths.items():
            if value < 0:
                raise ValueError(f"Linear: {name} must be >= 0, got {value}")
        self.in_features, self.out_features = in_features, out_features
        self.weight_l1, self.weight_l2 = float(weight_l1), float(weight_l2)
        self.bias_l1, self.bias_l2 = float(bias_l1), float(bias_l2)
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise RuntimeError(f"Linear(in_features={self.in_features}, out_features="
                               f"{self.out_features}): expected input with last dimension "
                               f"{self.in_features}, got shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def _penalty(self) -> Tensor | None:
        terms = []
        for p, l1, l2 in ((self.weight, self.weight_l1, self.weight_l2),
                          (self.bias, self.bias_l1, self.bias_l2)):
            if p is None:
                continue
            if l1:
                terms.append(p.abs().sum() * l1)
            if l2:
                terms.append((p * p).sum() * l2)
        return sum(terms[1:], terms[0]) if terms else None

    def extra_repr(self) -> str:
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
        for name in ("weight_l1", "weight_l2", "bias_l1", "bias_l2"):
            if getattr(self, name):
                text += f", {name}={getattr(self, name)}"
        return text


class Dropout(Module):
    """Zero each element with probability p while training; scale the kept ones by 1/(1-p).

    In eval mode (`model.eval()`) it returns its input unchanged. The mask is 1 byte per element.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        F._check_dropout_p(p)
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class _AlongDim(Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Softmax along `dim` (required: no guessing which axis holds the classes)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along `dim`, computed stably as x - logsumexp(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (by default every dim but the batch)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x
