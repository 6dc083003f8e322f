"""Gradient clipping, flat parameter vectors and weight normalisation (`torch.nn.utils`'s
most used helpers); `rnn`: padded and packed variable-length sequences.

Clipping changes `.grad` in place under no_grad, between `backward()` and `optimizer.step()`.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ...autograd import no_grad
from ...tensor import Tensor, cat, stack, tensor
from ..module import Module, Parameter
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters", "weight_norm",
           "remove_weight_norm", "rnn", "parametrize", "parametrizations",
           "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The norm of all `tensors` taken together as one vector (`norm_type` inf: the
    largest absolute entry), 0-d in their dtype; None entries are skipped."""
    values = [t for t in _as_list(tensors) if t is not None]
    if not values:
        return tensor(0.0)
    norm_type = float(norm_type)
    with no_grad():  # NOTE: tensor ops, so TinyJit replays them with each step's gradients
        total = stack([t.norm(norm_type) for t in values]).norm(norm_type).to(values[0].dtype)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"get_total_norm: the total norm of order {norm_type} is "
                           "non-finite, so the gradients cannot be clipped; pass "
                           "error_if_nonfinite=False to let it through")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Multiply the gradients by min(max_norm / (total_norm + 1e-6), 1): PyTorch's formula
    in the norm's dtype, always multiplied in, so a NaN norm makes every gradient NaN."""
    if not isinstance(total_norm, Tensor):
        total_norm = tensor(total_norm)
    with no_grad():
        # NOTE: a tensor, not a Python float, so TinyJit replays it with each step's norm
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)  # clamp keeps a NaN
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.mul_(coef)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

    The norm is taken over every gradient as if they were one vector (`norm_type` inf:
    the largest absolute entry). Gradients are multiplied by min(max_norm / (norm + 1e-6), 1),
    so their direction is kept; as in PyTorch, a NaN norm (with error_if_nonfinite=False)
    makes every gradient NaN.

    Returns
    -------
    Tensor
        The total norm before clipping (0-d, in the gradients' dtype); log it to watch for
        exploding gradients.

    Examples
    --------
    >>> loss.backward()
    >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> opt.step()
    """
    parameters = _as_list(parameters)
    total = get_total_norm([p.grad for p in parameters], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], in place (`foreach`, PyTorch's
    kernel choice, is accepted and changes nothing)."""
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (in the graph, like torch's)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D tensor of {total} values for "
                         f"these parameters, got shape {vec.shape}")
    start = 0
    with no_grad():
        for p in params:
            p.copy_(vec[start:start + p.numel()].reshape(p.shape))
            start += p.numel()


def _norm_except(v: Tensor, dim: int | None) -> Tensor:
    """||v|| over every dim but `dim` (all of them when None), kept for broadcasting."""
    if dim is None:
        return v.norm()
    dim %= v.ndim
    return v.norm(2, [d for d in range(v.ndim) if d != dim], keepdim=True)


class _WeightNorm:
    """The forward pre-hook of `weight_norm`: weight = g * v / ||v||, rebuilt before each
    call from the parameters `<name>_g` and `<name>_v`, so gradients reach both."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name, self.dim = name, dim

    def compute(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / _norm_except(v, self.dim))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise `module.<name>` as a magnitude `<name>_g` times a direction
    `<name>_v` / ||<name>_v|| (Salimans & Kingma), as PyTorch's `weight_norm`: the norm is
    over every dim but `dim` (over all of them with dim=None). Returns the module."""
    if any(isinstance(h, _WeightNorm) and h.name == name
           for h in module._forward_pre_hooks.values()):
        raise RuntimeError(f"weight_norm: {name} of this module already has weight_norm")
    weight = getattr(module, name)
    fn = _WeightNorm(name, dim)
    del module._parameters[name]
    with no_grad():
        module.register_parameter(name + "_g", Parameter(_norm_except(weight, dim)))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    setattr(module, name, fn.compute(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo `weight_norm`: `<name>` becomes one parameter again, with its current value."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _WeightNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute(module).detach()
            del module._forward_pre_hooks[key]
            del module._parameters[name + "_g"], module._parameters[name + "_v"]
            delattr(module, name)
            module.register_parameter(name, Parameter(weight))
            return module
    raise ValueError(f"remove_weight_norm: weight_norm of '{name}' not found in {module}")


# NOTE: last, since parametrizations builds its weight norm on _norm_except above
from . import parametrizations, parametrize  # noqa: E402
from .fusion import (  # noqa: E402
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
