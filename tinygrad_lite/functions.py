"""PyTorch's function forms of the Tensor methods: `tl.exp(t)` is `t.exp()`, `tl.sum(t, 1)`
is `t.sum(1)`, `tl.max(t, dim=1)` is `t.max(dim=1)`, so code written against `torch.*`
carries over. Each one forwards to the method of the same name (one helper makes them all);
the package exports them as `tl.<name>`. The rest of torch's top-level functions that are not
methods (isin, block_diag, trapezoid, the window functions, ...) and `tl.special` follow.
"""
from __future__ import annotations

import functools
import math
import operator
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import no_grad
from .backend.numpy_backend import scalar
from .rng import Generator
from .rng import generator as _rng
from .tensor import (
    _CATEGORY,
    Tensor,
    _as_array,
    _into,
    _on_cpu,
    _result_dtype,
    _scalar_dtype,
    cat,
    get_default_dtype,
    int64,
    tensor,
)

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
    "all", "any", "logical_not", "numel", "eq", "ne", "lt", "le", "gt", "ge",
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t",
    "narrow", "index_select", "gather", "split", "chunk", "masked_fill",
    "mm", "dot", "outer",
    "prod", "cumsum", "cumprod", "logcumsumexp", "norm", "nansum", "nanmean", "count_nonzero",
    "diff", "median", "flip", "roll", "tile", "tril", "triu", "diag", "diagonal", "trace",
    "unbind", "movedim", "moveaxis", "swapaxes", "swapdims", "unflatten", "broadcast_to",
    "select", "take", "masked_select", "nonzero", "scatter", "scatter_add", "index_add",
    "sort", "argsort", "topk", "bmm", "addmm", "baddbmm", "inner",
    "index_fill", "is_floating_point", "is_complex", "argwhere", "aminmax", "logit", "xlogy",
    "float_power", "copysign", "signbit", "heaviside", "deg2rad", "rad2deg", "sinc", "fmax",
    "fmin", "kthvalue", "mode", "unique", "cross", "kron", "dist", "rot90",
    "allclose", "equal", "repeat_interleave", "tensor_split", "var_mean", "std_mean",
    "bincount", "bitwise_left_shift", "bitwise_right_shift", "clone", "detach",
    "ravel",
)

# NOTE: the same, for the names added later; tests/test_parity_tensor3.py checks them (with the
# arguments each needs) rather than test_functions.py's one table
LATER_METHODS = (
    "addbmm", "addmv", "addr", "corrcoef", "cov", "cummax", "cummin", "det", "diag_embed",
    "diagflat", "diagonal_scatter", "digamma", "dsplit", "erfinv", "fliplr", "flipud", "frexp",
    "gcd", "ger", "greater", "greater_equal", "hardshrink", "histc", "hsplit", "i0",
    "index_copy", "index_put", "index_reduce", "inverse", "is_nonzero", "is_same_size",
    "is_signed", "lcm", "ldexp", "less", "less_equal", "lgamma", "logaddexp2", "logdet",
    "masked_scatter", "matrix_exp", "matrix_power", "msort", "mv", "mvlgamma", "nanmedian",
    "nanquantile", "narrow_copy", "nextafter", "not_equal", "pinverse", "positive", "prelu",
    "quantile", "renorm", "scatter_reduce", "select_scatter", "slice_scatter", "slogdet",
    "split_with_sizes", "take_along_dim", "unique_consecutive", "vdot", "vsplit", "get_device",
    "adjoint", "angle", "cholesky", "cholesky_inverse",
    "cholesky_solve", "conj", "conj_physical", "resolve_conj", "resolve_neg", "histogram",
    "isreal", "nonzero_static", "put", "qr", "svd", "triangular_solve", "unsafe_chunk",
    "unsafe_split", "unsafe_split_with_sizes", "is_conj", "is_neg", "is_inference",
    "igamma", "igammac", "lu", "lu_solve",
    # in-place twins that PyTorch also has as functions (torch.relu_(t) is t.relu_())
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_",
    "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_",
    "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_",
    "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_", "addmv_",
)


def _function_form(name: str) -> Callable:
    def function(input: Any, *args: Any, out: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        t = input if isinstance(input, Tensor) else tensor(input)
        result = getattr(t, name)(*args, **kwargs)
        return result if out is None else _into(out, result, name)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`tl.{name}(t, ...)` is `t.{name}(...)`, as `torch.{name}` is."
    return function


FUNCTIONS = {name: _function_form(name) for name in METHODS + LATER_METHODS}


concat = concatenate = cat  # PyTorch's other names for `cat` (the second is numpy's)


# NOTE: shapes are plain tuples here; torch.Size is a tuple subclass, so code that builds one
# (`tl.Size([2, 3])`) or checks `isinstance(t.shape, tl.Size)` works unchanged
Size = tuple


class finfo:  # noqa: N801  (PyTorch's name)
    """The limits of a float dtype (the default one without an argument), with PyTorch's
    attribute names: bits, eps, max, min, tiny (= smallest_normal), resolution, dtype."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002
        dtype = get_default_dtype() if type is None else np.dtype(type)
        if dtype.kind != "f":
            raise TypeError(f"finfo: needs a floating point dtype, got {dtype}; use iinfo")
        info = np.finfo(dtype)
        self.bits, self.dtype = info.bits, dtype.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # NOTE: numpy rounds it to the dtype

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (PyTorch's name)
    """The limits of an integer dtype: bits, max, min, dtype."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        dtype = np.dtype(type)
        if dtype.kind not in "iu":
            raise TypeError(f"iinfo: needs an integer dtype, got {dtype}; use finfo")
        info = np.iinfo(dtype)
        self.bits, self.dtype = info.bits, dtype.name
        self.max, self.min = int(info.max), int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The dtype an op on tensors of these two dtypes gives (a float beats any integer)."""
    return _result_dtype(np.dtype(type1), np.dtype(type2))


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype of `tensor1 op tensor2`, for tensors or numbers: a 0-d tensor or a number
    counts only by its kind (bool < integer < float), as in PyTorch."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor):
        return _result_dtype(tensor1.dtype, tensor2.dtype, tensor1.ndim == 0, tensor2.ndim == 0)
    if isinstance(tensor1, Tensor) or isinstance(tensor2, Tensor):
        t, number = (tensor1, tensor2) if isinstance(tensor1, Tensor) else (tensor2, tensor1)
        return _scalar_dtype(t.dtype, number)
    return _result_dtype(_as_array(tensor1).dtype, _as_array(tensor2).dtype)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's in-place ops may write `from_` into `to`: never down a kind (a float
    into an integer, an integer into a bool), any width within one."""
    return _CATEGORY[np.dtype(from_).kind] <= _CATEGORY[np.dtype(to).kind]


def searchsorted(sorted_sequence: Tensor, values: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Any = None) -> Tensor:
    """Where each of `values` would go to keep `sorted_sequence` sorted: the first such index
    (the last with `right=True` or side="right"). An N-D sequence is searched row by row
    (its last dim), with `values` holding one row of queries each. `sorter` (indices that sort
    an unsorted sequence, as argsort gives) sorts it first. No gradient."""
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right' and agree with "
                               f"right={right}, got {side!r}")
        right = side == "right"
    seq = sorted_sequence.numpy() if isinstance(sorted_sequence, Tensor) else np.asarray(
        sorted_sequence)
    vals = values.numpy() if isinstance(values, Tensor) else np.asarray(values)
    if sorter is not None:
        order = sorter.numpy() if isinstance(sorter, Tensor) else np.asarray(sorter)
        seq = np.take_along_axis(seq, order, axis=-1)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        found = np.searchsorted(seq.reshape(-1), vals, side=how)
    elif seq.shape[:-1] != vals.shape[:-1]:
        raise RuntimeError(f"searchsorted: the sequence {seq.shape} and the values "
                           f"{vals.shape} must agree in every dim but the last")
    else:
        n = math.prod(seq.shape[:-1])  # NOTE: not -1: a row may be empty
        rows = zip(seq.reshape(n, seq.shape[-1]), vals.reshape(n, vals.shape[-1]))
        found = np.array([np.searchsorted(r, v, side=how) for r, v in rows],
                         dtype=int64).reshape(vals.shape)
    return Tensor._wrap(np.asarray(found, dtype=np.int32 if out_int32 else int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,  # noqa: A002
              right: bool = False) -> Tensor:
    """The bucket of each element of `input` between the sorted 1-D `boundaries`: i with
    boundaries[i-1] < x <= boundaries[i] (with `right=True`, boundaries[i-1] <= x <
    boundaries[i]). No gradient."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape {boundaries.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


class _KeepGradMode:
    """`inference_mode(False)`: a context manager and a decorator that change nothing."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        return fn


def inference_mode(mode: bool | Callable = True) -> Any:
    """PyTorch's faster `no_grad` (here the same thing): a context manager and decorator;
    `inference_mode(False)` leaves the grad mode as it is."""
    if callable(mode):  # NOTE: `@inference_mode` without parentheses
        return no_grad(mode)
    return no_grad() if mode else _KeepGradMode()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = int64,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (from `generator`, or the one `tl.manual_seed` seeds)."""
    return tensor(_rng(generator).permutation(n), dtype=dtype, device=device,
                  requires_grad=requires_grad)


def _sized(t: Tensor, dims: list, sizes: list) -> Tensor:
    """`t` with each of `dims` expanded to its size in `sizes` (only a size-1 dim differs)."""
    shape = list(t.shape)
    for d, n in zip(dims, sizes):
        shape[d] = n
    return t if tuple(shape) == t.shape else t.expand(*shape)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last `dims` dims of `a` with the first `dims` of `b`, or the dims listed
    as `([dims of a], [dims of b])`: one matrix product of the two operands, permuted and
    reshaped, so the gradient is the product's."""
    if isinstance(dims, int):
        in_a, in_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        in_a, in_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    in_a, in_b = [d % max(a.ndim, 1) for d in in_a], [d % max(b.ndim, 1) for d in in_b]
    # NOTE: a contracted dim of size 1 broadcasts against the other's, as in PyTorch
    sizes = [a.shape[i] if b.shape[j] == 1 else b.shape[j] for i, j in zip(in_a, in_b)]
    if any({a.shape[i], b.shape[j]} - {1, n} for i, j, n in zip(in_a, in_b, sizes)):
        raise RuntimeError(f"tensordot: dims {in_a} of {a.shape} and dims {in_b} of {b.shape} "
                           "must have the same sizes (or 1) to be contracted")
    a, b = _sized(a, in_a, sizes), _sized(b, in_b, sizes)
    free_a = [d for d in range(a.ndim) if d not in in_a]
    free_b = [d for d in range(b.ndim) if d not in in_b]
    k = math.prod(sizes)
    left = a.permute(*free_a, *in_a).reshape(math.prod(a.shape[d] for d in free_a), k)
    right = b.permute(*in_b, *free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    return (left @ right).reshape(*[a.shape[d] for d in free_a],
                                  *[b.shape[d] for d in free_b])


def polygamma(n: int, input: Any) -> Tensor:  # noqa: A002
    """`tl.polygamma(n, t)` is `t.polygamma(n)`: PyTorch puts n first here."""
    return (input if isinstance(input, Tensor) else tensor(input)).polygamma(n)


def real(input: Tensor) -> Tensor:  # noqa: A002
    """The real part: the tensor itself (there are no complex dtypes)."""
    return input.real


def imag(input: Tensor) -> Tensor:  # noqa: A002
    """An error, as in PyTorch for real tensors."""
    return input.imag


# --- PyTorch's other top-level functions --------------------------------------------------------
def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(x)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of `elements` occurs in `test_elements` (either may be a
    number); no gradient."""
    a = elements.numpy() if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements.numpy() if isinstance(test_elements, Tensor) else np.asarray(
        test_elements)
    return Tensor._wrap(np.asarray(np.isin(a, b, assume_unique=assume_unique, invert=invert)))


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype: Any,
                      device: Any) -> Tensor:
    _on_cpu(device, "tril_indices" if lower else "triu_indices")
    keep = np.tri(row, col, offset, dtype=bool) if lower else ~np.tri(row, col, offset - 1,
                                                                        dtype=bool)
    return Tensor._wrap(np.stack(np.nonzero(keep)).astype(dtype))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = int64,
                 device: Any = None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix (on and
    below the `offset`-th diagonal), row by row."""
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = int64,
                 device: Any = None) -> Tensor:
    """The (2, N) indices of the upper triangle (on and above the `offset`-th diagonal)."""
    return _triangle_indices(row, col, offset, False, dtype, device)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of 1-D x: columns x ** (N - 1), ..., x, 1 (the other way with
    `increasing`), N = len(x) by default. Made as PyTorch makes it, a running product of
    x along each row, so gradients flow to x; integers and bools come out int64."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x.dtype.kind in "biu":
        x = x.to(int64)
    columns = [x.new_ones((x.shape[0], min(n, 1)))]
    if n > 1:
        columns.append(x.unsqueeze(1).expand(x.shape[0], n - 1))
    out = cat(columns, 1).cumprod(1)
    return out if increasing else out.flip(1)


def block_diag(*tensors: Any) -> Tensor:
    """The tensors (0-d, 1-d as a row, or 2-d) along the diagonal of one matrix, zeros
    elsewhere; gradients flow to each block."""
    blocks = [_as_tensor(t) for t in tensors]
    for t in blocks:
        if t.ndim > 2:
            raise RuntimeError(f"block_diag: the tensors must have 2 or fewer dims, got shape "
                               f"{t.shape}")
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in blocks]
    dtype = blocks[0].dtype if blocks else get_default_dtype()
    for t in blocks[1:]:
        dtype = _result_dtype(dtype, t.dtype)
    width = sum(t.shape[1] for t in blocks)
    rows, left = [], 0
    for t in blocks:
        rows.append(cat([Tensor._wrap(np.zeros((t.shape[0], left), dtype=dtype)), t.to(dtype),
                         Tensor._wrap(np.zeros((t.shape[0], width - left - t.shape[1]),
                                               dtype=dtype))], 1))
        left += t.shape[1]
    return cat(rows, 0) if rows else Tensor._wrap(np.zeros((1, 0), dtype=dtype))


def cartesian_prod(*tensors: Any) -> Tensor:
    """Every combination of one element from each 1-D tensor, one per row (a single tensor
    comes back as it is)."""
    from .tensor import meshgrid, stack
    tensors = [_as_tensor(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    """The length-r combinations of a 1-D tensor's elements, one per row, as itertools'."""
    import itertools
    if input.ndim != 1:
        raise RuntimeError(f"combinations: expected a 1-D tensor, got shape {input.shape}")
    pick = itertools.combinations_with_replacement if with_replacement else (
        itertools.combinations)
    index = np.asarray(list(pick(range(input.shape[0]), r)), dtype=int64).reshape(-1, r)
    return input[index]


def _trapezoids(y: Tensor, x: Any, dx: Any, dim: int) -> Tensor:
    """The area of each trapezoid between neighbours along `dim` (spacing `x` or `dx`)."""
    d = y._axis(dim, "trapezoid")
    n = y.shape[d]
    heights = (y.narrow(d, 1, max(n - 1, 0)) + y.narrow(d, 0, max(n - 1, 0))) / 2
    if x is None:
        return heights * (1 if dx is None else dx)
    x = _as_tensor(x)
    if x.ndim == 1:
        x = x.reshape((-1,) + (1,) * (y.ndim - d - 1))
        widths = x[1:] - x[:-1]
    else:
        widths = x.diff(dim=d)
    return heights * widths


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule: the integral of y along `dim`, at points `x` or `dx` apart."""
    return _trapezoids(y, x, dx, dim).sum(dim)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """`trapezoid`'s older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running integrals of the trapezoidal rule (one fewer than y along `dim`)."""
    return _trapezoids(y, x, dx, dim).cumsum(dim)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None,  # noqa: A002
             edge_order: int = 1) -> tuple[Tensor, ...]:
    """numpy's gradient: central differences inside, one-sided at the two ends, along each
    of `dim` (every dim by default). `spacing` is a number (uniform steps) or a 1-D tensor
    of the coordinates, or a list with one of either per dim; uneven steps use numpy's
    second-order weights. Integer inputs give the default float dtype, as in PyTorch."""
    if edge_order not in (1, 2):
        raise RuntimeError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    dims = list(range(input.ndim)) if dim is None else (
        [dim] if isinstance(dim, int) else list(dim))
    spacing = 1 if spacing is None else spacing
    steps = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    out = []
    for d, h in zip(dims, steps):
        n = input.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(f"gradient: dim {d} of the input {input.shape} needs at least "
                               f"{edge_order + 1} elements for edge_order={edge_order}")
        x = (h.numpy() if isinstance(h, Tensor) and h.ndim else np.arange(n) * float(h))
        if x.shape != (n,):
            raise RuntimeError(f"gradient: the coordinates for dim {d} must be {n} values, got "
                               f"shape {x.shape}")
        out.append(_differences(input._floating(), d, np.diff(x.astype(np.float64)), edge_order))
    return tuple(out)


def _differences(f: Tensor, d: int, dx: np.ndarray, edge_order: int) -> Tensor:
    """The derivative of f along d for the steps dx between its coordinates: weighted sums
    of three neighbours (numpy's formulas, exact for quadratics), two at edge_order 1 ends."""
    n = f.shape[d]

    def weighted(start: int, count: int, weights: list) -> Tensor:
        shape = [1] * f.ndim
        shape[d] = count
        terms = [f.narrow(d, start + k, count) * Tensor._wrap(
            np.asarray(w, dtype=f.dtype).reshape(shape)) for k, w in enumerate(weights)]
        return functools.reduce(operator.add, terms)

    a, b = dx[:-1], dx[1:]  # the steps left and right of each inner point
    inner = weighted(0, n - 2, [-b / (a * (a + b)), (b - a) / (a * b), a / (b * (a + b))])
    if edge_order == 1:
        first = weighted(0, 1, [[-1 / dx[0]], [1 / dx[0]]])
        last = weighted(n - 2, 1, [[-1 / dx[-1]], [1 / dx[-1]]])
    else:
        a0, b0, a1, b1 = dx[0], dx[1], dx[-2], dx[-1]
        first = weighted(0, 1, [[-(2 * a0 + b0) / (a0 * (a0 + b0))], [(a0 + b0) / (a0 * b0)],
                                [-a0 / (b0 * (a0 + b0))]])
        last = weighted(n - 3, 1, [[b1 / (a1 * (a1 + b1))], [-(a1 + b1) / (a1 * b1)],
                                   [(2 * b1 + a1) / (b1 * (a1 + b1))]])
    return cat([first, inner, last], d)


def unravel_index(indices: Any, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates in `shape` of flat indices (negative ones count from the end)."""
    idx = indices.numpy() if isinstance(indices, Tensor) else np.asarray(indices)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    size = math.prod(shape)
    if idx.dtype.kind not in "iu" or (idx.size and (idx.min() < -size or idx.max() >= size)):
        raise RuntimeError(f"unravel_index: indices must be integers in [-{size}, {size}) for "
                           f"shape {shape}")
    return tuple(Tensor._wrap(c.astype(int64)) for c in np.unravel_index(idx % max(size, 1),
                                                                         shape))


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """other - alpha * input."""
    return _as_tensor(other) - (input * alpha if alpha != 1 else input)


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of `s`, float (the default dtype) unless `dtype` says otherwise."""
    from .tensor import device as _device
    _device(device or "cpu")  # NOTE: refuses anything but the CPU
    return Tensor(scalar(s, dtype or get_default_dtype()), requires_grad=requires_grad)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """`obj` as a tensor: shared with a tensor or numpy array where it can be (`as_tensor`),
    copied with copy=True."""
    from .tensor import as_tensor
    out = tensor(obj, dtype=dtype) if copy else as_tensor(obj, dtype=dtype)
    return out.requires_grad_(True) if requires_grad else out


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of a chain of matrices (`linalg.multi_dot`)."""
    from .linalg import multi_dot
    return matrices[0] if len(matrices) == 1 else multi_dot(matrices)


def frobenius_norm(input: Tensor, dim: Any = (-2, -1), keepdim: bool = False) -> Tensor:  # noqa: A002
    """The root of the sum of squares over `dim`."""
    return input.norm(2, dim, keepdim)


def nuclear_norm(input: Tensor, keepdim: bool = False) -> Tensor:  # noqa: A002
    """The sum of the singular values of a matrix."""
    from .linalg import matrix_norm
    return matrix_norm(input, "nuc", keepdim=keepdim)


def fill(input: Tensor, value: Any) -> Tensor:  # noqa: A002
    """A new tensor like `input`, every element `value`: in the graph, with a zero gradient
    for `input` (and the summed one for a tensor `value`), as PyTorch's."""
    from .tensor import where
    value = value.to(input.dtype) if isinstance(value, Tensor) else input._const(value)
    return where(np.ones(input.shape, dtype=bool), value, input)


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    """A tensor of `size` (zero-filled; the stride has no effect on a row-major array)."""
    from .tensor import zeros
    return zeros(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def _window(values: Callable[[np.ndarray, int], np.ndarray], window_length: int,
            periodic: bool, dtype: Any, device: Any = None) -> Tensor:
    """A window of `window_length` points: the symmetric one of length + 1 with its last
    point dropped when `periodic`, as PyTorch's window functions."""
    _on_cpu(device, "window")
    dt = np.dtype(dtype or get_default_dtype())
    if window_length <= 1:
        return Tensor._wrap(np.ones(max(window_length, 0), dtype=dt))
    n = window_length + 1 if periodic else window_length
    w = values(np.arange(n, dtype=np.float64), n)
    return Tensor._wrap(w[:window_length].astype(dt))


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                device: Any = None) -> Tensor:
    return _window(lambda k, n: 0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1)), window_length,
                   periodic, dtype, device)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype: Any = None, device: Any = None) -> Tensor:
    return _window(lambda k, n: alpha - beta * np.cos(2 * np.pi * k / (n - 1)), window_length,
                   periodic, dtype, device)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    device: Any = None) -> Tensor:
    return _window(lambda k, n: 0.42 - 0.5 * np.cos(2 * np.pi * k / (n - 1))
                   + 0.08 * np.cos(4 * np.pi * k / (n - 1)), window_length, periodic, dtype,
                   device)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    device: Any = None) -> Tensor:
    return _window(lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1), window_length, periodic,
                   dtype, device)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype: Any = None, device: Any = None) -> Tensor:
    return _window(lambda k, n: np.i0(beta * np.sqrt(np.maximum(
        1 - (2 * k / (n - 1) - 1) ** 2, 0))) / np.i0(beta), window_length, periodic, dtype,
                   device)


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """Samples of Binomial(count, prob), elementwise, in count's dtype."""
    draws = _rng(generator).binomial(count.numpy().astype(int64), prob.numpy())
    return Tensor._wrap(np.asarray(draws).astype(count.dtype))


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:  # noqa: A002
    """Samples of Poisson(rate), one per rate in `input`, in its dtype."""
    return Tensor._wrap(np.asarray(_rng(generator).poisson(input.numpy())).astype(input.dtype))


def _copy_form(name: str) -> Callable:
    """`tl.<name>_copy(t, ...)`: the view op `t.<name>(...)` as a new tensor (a copy)."""
    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        out = getattr(_as_tensor(input), name)(*args, **kwargs)
        return tuple(t.clone() for t in out) if isinstance(out, tuple) else out.clone()

    function.__name__ = function.__qualname__ = f"{name}_copy"
    function.__doc__ = f"`t.{name}(...)`, copied, as `torch.{name}_copy` is."
    return function


COPY_FUNCTIONS = {f"{name}_copy": _copy_form(name) for name in (
    "diagonal", "expand", "permute", "select", "t", "transpose", "unsqueeze", "squeeze",
    "view", "unfold", "unbind", "split", "split_with_sizes", "detach")}


def alias_copy(input: Tensor) -> Tensor:  # noqa: A002
    """A copy of the tensor (in the graph)."""
    return input.clone()


# --- tl.special: torch.special's functions (numpy-only numerics, gradients included) ----------
_SQRT_PI = math.sqrt(math.pi)
_ERFC_ONE = np.frompyfunc(math.erfc, 1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    return np.asarray(_ERFC_ONE(x), dtype=np.float64)


def _erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) without the overflow / underflow of the two factors: exact below
    x = 25, the asymptotic series above (relative error < 1e-13 there)."""
    x = np.asarray(x, dtype=np.float64)
    near = np.minimum(x, 25.0)
    out = np.exp(near * near) * _erfc(near)
    far = np.maximum(x, 25.0)
    inv = 1 / (2 * far * far)
    series = (1 - inv + 3 * inv ** 2 - 15 * inv ** 3 + 105 * inv ** 4) / (far * _SQRT_PI)
    return np.where(x > 25, series, out)


def _log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF: through erfcx in the lower tail (where the CDF itself
    underflows), log1p of the upper tail's complement elsewhere."""
    x = np.asarray(x, dtype=np.float64)
    lower = np.minimum(x, -1.0)
    tail = np.log(_erfcx(-lower / math.sqrt(2)) / 2) - lower * lower / 2
    return np.where(x < -1, tail, np.log1p(-0.5 * _erfc(np.maximum(x, -1.0) / math.sqrt(2))))


def _bessel_i(order: int, x: np.ndarray) -> np.ndarray:
    """exp(-|x|) I_order(x) for order 0 and 1: the series (or numpy's i0) up to |x| = 700,
    Hankel's asymptotic series beyond, where I itself overflows."""
    from .tensor import _bessel_i1
    x = np.asarray(x, dtype=np.float64)
    a = np.minimum(np.abs(x), 700.0)
    near = np.exp(-a) * (np.i0(a) if order == 0 else _bessel_i1(a))
    far = np.maximum(np.abs(x), 700.0)
    mu = 4 * order * order
    terms = 1 - (mu - 1) / (8 * far) + (mu - 1) * (mu - 9) / (2 * (8 * far) ** 2) - (
        mu - 1) * (mu - 9) * (mu - 25) / (6 * (8 * far) ** 3)
    out = np.where(np.abs(x) > 700, terms / np.sqrt(2 * np.pi * far), near)
    return out if order == 0 else np.sign(x) * out


def _entr(input: Any) -> Tensor:  # noqa: A002
    """-x log(x): 0 at x = 0, -inf below."""
    x = _as_tensor(input)._floating()
    data = x.numpy()
    positive = data > 0
    from .tensor import where
    inside = -x * where(positive, x, 1.0).log()
    return where(positive, inside, where(data == 0, 0.0, -np.inf))


def _xlog1py(input: Any, other: Any) -> Tensor:  # noqa: A002
    """x * log1p(y), and 0 where x == 0 (unless y is NaN), as xlogy does for log."""
    from .tensor import where
    x, y = _as_tensor(input)._float_pair(other)
    a, b = x.numpy(), y.numpy()
    spoilt = (a == 0) & ~np.isnan(b)
    return x * (where(spoilt, 0.0, y) if spoilt.any() else y).log1p()


def _ndtr(input: Any) -> Tensor:  # noqa: A002
    """The standard normal CDF, 0.5 erfc(-x / sqrt(2))."""
    return (_as_tensor(input)._floating() * (-1 / math.sqrt(2))).erfc() * 0.5


def _log_ndtr_tensor(input: Any) -> Tensor:  # noqa: A002
    return _as_tensor(input)._special(
        _log_ndtr, lambda x, out: math.sqrt(2 / math.pi) / _erfcx(-x / math.sqrt(2)))


def _erfcx_tensor(input: Any) -> Tensor:  # noqa: A002
    return _as_tensor(input)._special(_erfcx, lambda x, out: 2 * x * out - 2 / _SQRT_PI)


def _i0e(input: Any) -> Tensor:  # noqa: A002
    return _as_tensor(input)._special(lambda x: _bessel_i(0, x),
                                      lambda x, out: _bessel_i(1, x) - np.sign(x) * out)


def _i1(input: Any) -> Tensor:  # noqa: A002
    from .tensor import _bessel_i1
    return _as_tensor(input)._special(_bessel_i1, lambda x, out: np.i0(x) - np.where(
        x == 0, 0.5, out / np.where(x == 0, 1, x)))


def _i1e(input: Any) -> Tensor:  # noqa: A002
    def slope(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        ratio = np.where(x == 0, 0.5, out / np.where(x == 0, 1, x))
        return _bessel_i(0, x) - np.sign(x) * out - ratio

    return _as_tensor(input)._special(lambda x: _bessel_i(1, x), slope)


def _spherical_bessel_j0(input: Any) -> Tensor:  # noqa: A002
    """sin(x) / x, and 1 at x = 0."""
    from .tensor import where
    x = _as_tensor(input)._floating()
    zero = x.numpy() == 0
    safe = where(zero, 1.0, x)
    return where(zero, 1.0, safe.sin() / safe)


def _special_namespace() -> types.ModuleType:
    """`tl.special`, torch.special's names: most forward to the tensor functions."""
    module = types.ModuleType("tinygrad_lite.special", "torch.special's functions.")
    forwarded = {name: FUNCTIONS[name] for name in (
        "digamma", "erf", "erfc", "erfinv", "exp2", "expm1", "i0", "log1p", "logit", "round",
        "sinc", "xlogy", "softmax", "log_softmax", "logsumexp")}
    forwarded.update(gammainc=FUNCTIONS["igamma"], gammaincc=FUNCTIONS["igammac"])
    forwarded.update(psi=FUNCTIONS["digamma"], gammaln=FUNCTIONS["lgamma"],
                     expit=FUNCTIONS["sigmoid"], multigammaln=FUNCTIONS["mvlgamma"],
                     polygamma=polygamma, entr=_entr, xlog1py=_xlog1py, ndtr=_ndtr,
                     log_ndtr=_log_ndtr_tensor, erfcx=_erfcx_tensor, i0e=_i0e, i1=_i1,
                     i1e=_i1e, spherical_bessel_j0=_spherical_bessel_j0)
    for name, fn in forwarded.items():
        setattr(module, name, fn)
    return module


special = _special_namespace()
