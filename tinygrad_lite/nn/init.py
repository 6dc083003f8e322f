"""Weight initialisation, in place and reproducible under `tl.manual_seed`.

Fans follow the (out_features, in_features) layout of `nn.Linear.weight`:
fan_in = in_features * receptive field (dims after the second), fan_out = out_features * the
same. He (Kaiming) init keeps the variance of ReLU layers' outputs at 1 with std
gain / sqrt(fan) and gain sqrt(2) for ReLU, i.e. sqrt(2 / fan_in); Xavier (Glorot) balances
forward and backward with std gain * sqrt(2 / (fan_in + fan_out)).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..rng import Generator
from ..rng import generator as _numpy_generator
from ..tensor import Tensor

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps the output variance of `nonlinearity` equal to its input's.

    linear/sigmoid: 1, tanh: 5/3, relu: sqrt(2), leaky_relu: sqrt(2 / (1 + slope^2))
    (slope `param`, default 0.01), selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out (out_features, in_features, *receptive)."""
    if tensor.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dims, got "
                         f"shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


@no_grad()
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b) (drawn from `generator`, else the default one)."""
    return tensor.uniform_(a, b, generator=generator)


@no_grad()
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std^2)."""
    return tensor.normal_(mean, std, generator=generator)


@no_grad()
def constant_(tensor: Tensor, val: float) -> Tensor:
    return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def _is_empty(tensor: Tensor) -> bool:
    """A tensor with no elements has no fan to scale by: He init leaves it, with PyTorch's
    warning (`Linear(0, n)`, a layer with no inputs, is then made without an error)."""
    if 0 not in tensor.shape:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """He init, uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan) (the std of He init).

    `a` is the negative slope of a leaky ReLU; the defaults give std sqrt(2 / fan_in).
    """
    if _is_empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """He init, normal: N(0, std^2) with std = gain / sqrt(fan), sqrt(2 / fan_in) for ReLU."""
    if _is_empty(tensor):
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)),
                   generator)


def _xavier_std(tensor: Tensor, gain: float) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Glorot init, uniform: U(-b, b) with b = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))."""
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Glorot init, normal: std = gain * sqrt(2 / (fan_in + fan_out))."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)


@no_grad()
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std^2) restricted to [a, b] (absolute bounds, as in
    PyTorch): draws outside are drawn again until every one lies inside."""
    if not a < b:
        raise ValueError(f"trunc_normal_: a ({a}) must be below b ({b})")
    rng = _numpy_generator(generator)
    samples = rng.normal(mean, std, tensor.shape)
    outside = (samples < a) | (samples > b)
    while outside.any():
        samples[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (samples < a) | (samples > b)
    return tensor.copy_(Tensor(samples))


@no_grad()
def orthogonal_(tensor: Tensor, gain: float = 1.0,
                generator: Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix (dims after the first flattened) times `gain`:
    the Q of a normal matrix's QR, its columns' signs fixed by R's diagonal so that Q is
    uniformly distributed (Mezzadri's correction, as PyTorch does)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dims, got shape "
                         f"{tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _numpy_generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return tensor.copy_(Tensor(q.reshape(tensor.shape) * gain))


@no_grad()
def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the main diagonal)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: needs a 2-D tensor, got shape {tensor.shape}")
    return tensor.copy_(Tensor(np.eye(*tensor.shape)))


@no_grad()
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta, so the convolution
    passes its input channels through (each of `groups` groups keeps its own)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: needs a 3-, 4- or 5-D tensor, got shape {tensor.shape}")
    out_channels = tensor.shape[0]
    if groups < 1 or out_channels % groups:
        raise ValueError(f"dirac_: dim 0 ({out_channels}) must be divisible by groups "
                         f"({groups})")
    per_group = out_channels // groups
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    return tensor.copy_(Tensor(values))


@no_grad()
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: Generator | None = None) -> Tensor:
    """Fill a 2-D tensor from N(0, std^2), then zero ceil(sparsity * rows) randomly chosen
    entries of every column (Martens' sparse init, as in PyTorch)."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape "
                         f"{tensor.shape}")
    rows, cols = tensor.shape
    rng = _numpy_generator(generator)
    values = rng.normal(0.0, std, (rows, cols))
    zeros_per_column = math.ceil(sparsity * rows)
    for c in range(cols):
        values[rng.permutation(rows)[:zeros_per_column], c] = 0
    return tensor.copy_(Tensor(values))


def _deprecated(fill: Callable) -> Callable:
    """PyTorch's old name without the `_` (`nn.init.xavier_uniform`): warns, then fills."""
    old = fill.__name__[:-1]

    def deprecated(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init."
                      f"{fill.__name__}`.", FutureWarning, stacklevel=2)
        return fill(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old
    return deprecated


uniform, normal, constant, eye, dirac, sparse, orthogonal = map(
    _deprecated, (uniform_, normal_, constant_, eye_, dirac_, sparse_, orthogonal_))
xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal = map(
    _deprecated, (xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_))
