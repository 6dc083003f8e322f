"""PyTorch's function forms of the Tensor methods: `tl.exp(t)` is `t.exp()`, `tl.sum(t, 1)`
is `t.sum(1)`, `tl.max(t, dim=1)` is `t.max(dim=1)`, so code written against `torch.*`
carries over. Each one forwards to the method of the same name (one helper makes them all);
the package exports them as `tl.<name>`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import no_grad
from .rng import generator
from .tensor import Tensor, cat, int64, tensor

# NOTE: every name here is also a Tensor method; a function form exists for each
METHODS = (
    "add", "sub", "mul", "div", "pow", "neg",
    "exp", "log", "sqrt", "rsqrt", "reciprocal", "abs", "sign", "square",
    "relu", "sigmoid", "tanh", "clamp", "maximum", "minimum",
    "log1p", "expm1", "erf", "erfc", "log2", "log10", "exp2", "logaddexp", "hypot",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh",
    "atanh", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh",
    "floor", "ceil", "round", "trunc", "fix", "frac", "sgn", "clamp_min", "clamp_max", "clip",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "nan_to_num", "isclose",
    "fmod", "remainder", "floor_divide", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "negative", "subtract", "multiply", "divide", "true_divide", "absolute",
    "lerp", "addcmul", "addcdiv",
    "softmax", "log_softmax", "logsumexp",
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
    "all", "any", "logical_not", "numel",
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t",
    "narrow", "index_select", "gather", "split", "chunk", "masked_fill",
    "mm", "dot", "outer",
    "prod", "cumsum", "cumprod", "logcumsumexp", "norm", "nansum", "nanmean", "count_nonzero",
    "diff", "median", "flip", "roll", "tile", "tril", "triu", "diag", "diagonal", "trace",
    "unbind", "movedim", "moveaxis", "swapaxes", "swapdims", "unflatten", "broadcast_to",
    "select", "take", "masked_select", "nonzero", "scatter", "scatter_add", "index_add",
    "sort", "argsort", "topk", "bmm", "addmm", "baddbmm", "inner",
)


def _function_form(name: str) -> Callable:
    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        t = input if isinstance(input, Tensor) else tensor(input)
        return getattr(t, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`tl.{name}(t, ...)` is `t.{name}(...)`, as `torch.{name}` is."
    return function


FUNCTIONS = {name: _function_form(name) for name in METHODS}


def concat(tensors: Any, dim: int = 0) -> Tensor:
    """PyTorch's other name for `cat`."""
    return cat(tensors, dim)


inference_mode = no_grad  # PyTorch's faster no_grad; here they are the same thing


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,  # noqa: A002
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(input.numpy(), other.numpy(), rtol, atol, equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """True when both have the same shape and the same values."""
    return input.shape == other.shape and bool((input.numpy() == other.numpy()).all())


def randperm(n: int, dtype: Any = int64) -> Tensor:
    """A random permutation of 0..n-1 (from the generator `tl.manual_seed` seeds)."""
    return tensor(generator().permutation(n), dtype=dtype)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last `dims` dims of `a` with the first `dims` of `b`, or the dims listed
    as `([dims of a], [dims of b])`: one matrix product of the two operands, permuted and
    reshaped, so the gradient is the product's."""
    if isinstance(dims, int):
        in_a, in_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        in_a, in_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    in_a, in_b = [d % max(a.ndim, 1) for d in in_a], [d % max(b.ndim, 1) for d in in_b]
    sizes = [a.shape[d] for d in in_a]
    if sizes != [b.shape[d] for d in in_b]:
        raise RuntimeError(f"tensordot: dims {in_a} of {a.shape} and dims {in_b} of {b.shape} "
                           "must have the same sizes to be contracted")
    free_a = [d for d in range(a.ndim) if d not in in_a]
    free_b = [d for d in range(b.ndim) if d not in in_b]
    k = math.prod(sizes)
    left = a.permute(*free_a, *in_a).reshape(math.prod(a.shape[d] for d in free_a), k)
    right = b.permute(*in_b, *free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    return (left @ right).reshape(*[a.shape[d] for d in free_a],
                                  *[b.shape[d] for d in free_b])
