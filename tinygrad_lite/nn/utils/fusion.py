"""Folding an eval-mode batch norm into the convolution or linear layer before it, as
PyTorch's `torch.nn.utils.fusion`: bn(conv(x)) = conv'(x) with
w' = w * gamma / sqrt(var + eps) (per output channel) and b' = (b - mean) * that + beta,
one layer instead of two at inference."""
from __future__ import annotations

import copy

from ...autograd import no_grad
from ...tensor import Tensor, ones_like, zeros_like
from ..module import Module, Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


@no_grad()
def _fused(w: Tensor, b: Tensor | None, mean: Tensor, var: Tensor, eps: float,
           gamma: Tensor | None, beta: Tensor | None, shape: list[int]) -> tuple:
    """The fused (weight, bias) as Parameters; the scale broadcast to w by `shape`."""
    bias = zeros_like(mean) if b is None else b
    scale = (ones_like(mean) if gamma is None else gamma) * (var + eps).rsqrt()
    fused_w = (w * scale.reshape(shape)).to(w.dtype)
    fused_b = ((bias - mean) * scale + (zeros_like(mean) if beta is None else beta)).to(
        w.dtype if b is None else b.dtype)
    return (Parameter(fused_w, w.requires_grad),
            Parameter(fused_b, bias.requires_grad))


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor,
                         bn_rv: Tensor, bn_eps: float, bn_w: Tensor | None,
                         bn_b: Tensor | None, transpose: bool = False) -> tuple:
    """The (weight, bias) of a convolution followed by a batch norm with these statistics
    and affine terms (a transposed convolution's output channels are its weight's dim 1)."""
    shape = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
    return _fused(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, shape)


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor,
                           bn_rv: Tensor, bn_eps: float, bn_w: Tensor | None,
                           bn_b: Tensor | None) -> tuple:
    """The (weight, bias) of a linear layer followed by a batch norm."""
    return _fused(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, [-1, 1])


def _check(layer: Module, bn: Module) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fusion: the batch norm must track running statistics")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of `conv` that computes bn(conv(x)) for eval-mode `conv` and `bn`."""
    _check(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of `linear` that computes bn(linear(x)) for eval-mode `linear` and `bn`."""
    _check(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or "
                             "bn.num_features == 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
