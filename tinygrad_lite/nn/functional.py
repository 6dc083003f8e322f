"""Stateless layers and losses, composed from Tensor ops (the modules in `nn` call these).

Everything here is written in terms of the primitives in `ops.py`, so the recorded graph shows
what really ran and every gradient comes from the engine. Two primitives fuse what a training
step runs most: `Linear` (x @ W.T + b) and `CrossEntropy` (log_softmax, pick, reduce, with the
gradient (softmax - onehot) / N); their uncommon cases are composed from the general ops.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .. import backend as be
from .. import ops
from ..autograd import no_grad
from ..rng import generator
from ..tensor import (
    Tensor,
    arange,
    broadcast_tensors,
    cat,
    full,
    full_like,
    rand,
    stack,
    where,
    zeros,
)

_REDUCTIONS = ("mean", "sum", "none")


# --- layers -------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """`input @ weight.T + bias`, with weight laid out (out_features, in_features).

    The usual shapes (a 2-D weight, a 1-D bias) record one `Linear` node; others go through
    the general `@` and `+`, with their broadcasting. As in PyTorch, input and weight must
    share a dtype (a float64 batch into a float32 layer is a RuntimeError, not a silent cast).
    """
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear: mat1 and mat2 must have the same dtype, but got "
                           f"{input.dtype} (input) and {weight.dtype} (weight); cast one "
                           "of them, e.g. input.to(weight.dtype)")
    if weight.ndim != 2 or input.ndim == 0 or (bias is not None and bias.ndim != 1):
        out = input @ weight.T
        return out if bias is None else out + bias
    if input.shape[-1] != weight.shape[1] or (bias is not None
                                              and bias.shape[0] != weight.shape[0]):
        raise RuntimeError(
            f"linear: input {input.shape}, weight {weight.shape}"
            + ("" if bias is None else f", bias {bias.shape}")
            + f": expected input (..., {weight.shape[1]}) and bias ({weight.shape[0]},), as "
            "weight is (out_features, in_features)")
    if bias is None:
        return ops.Linear.apply(input, weight)
    return ops.Linear.apply(input, weight, bias)


def _maybe_in_place(input: Tensor, fn: Callable[[Tensor], Tensor], inplace: bool,  # noqa: A002
                    op: str) -> Tensor:
    """`fn(input)`, or with PyTorch's `inplace=True` that result written into `input` (an
    in-place op autograd records as PyTorch does: refused on a leaf that requires grad)."""
    return input._in_place(f"{op}_", fn) if inplace else fn(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return input.relu_() if inplace else input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01,  # noqa: A002
               inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (the slope is the gradient at 0, as in PyTorch)."""
    return _maybe_in_place(input, lambda x: where(x > 0, x, x * negative_slope), inplace,
                           "leaky_relu")


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,  # noqa: A002
          training: bool = False, inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element while
    training, and is the mean slope (lower + upper) / 2 otherwise."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = Tensor(generator().uniform(lower, upper, input.shape).astype(input.dtype))
    return _maybe_in_place(input, lambda x: where(x > 0, x, x * slope), inplace, "rrelu")


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return input.tanh()


def _softmax_dim(name: str, dim: int | None, ndim: int) -> int:
    """`dim`, or where PyTorch's deprecated implicit choice puts it (0 for 0-, 1- and 3-d
    input, 1 otherwise; it warns the same way), so old code picks the same axis."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None,  # noqa: A002
            *, dtype: np.dtype | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`; `dtype` casts the input first (e.g. to float64 for
    precision), as in PyTorch."""
    return input.softmax(_softmax_dim("softmax", dim, input.ndim), dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None,  # noqa: A002
                *, dtype: np.dtype | None = None) -> Tensor:
    """x - log(sum(exp(x))) along `dim`; `dtype` casts the input first, as in PyTorch."""
    return input.log_softmax(_softmax_dim("log_softmax", dim, input.ndim), dtype=dtype)


# --- more activations ----------------------------------------------------------------------
# Each is composed from Tensor ops and stays finite for inputs like +-1e4: exp only ever sees
# arguments <= 0, and the kinks take PyTorch's one-sided gradients (checked against it).
def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)), which cannot overflow.

    maximum splits the gradient at a tie, so d/dx at 0 is 1/2 = sigmoid(0), as it should be.
    """
    return x.maximum(0) + (-x.abs()).exp().log1p()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if input.dtype.kind in "iu":  # NOTE: bounds truncated to the integer type, as PyTorch
        low, high = int(min_val), int(max_val)
        return _maybe_in_place(input, lambda x: x.clamp(low, high), inplace, "hardtanh")
    # NOTE: not clamp, whose gradient passes at the bounds too; PyTorch's hardtanh does not
    return _maybe_in_place(
        input, lambda x: where(x <= min_val, min_val, where(x >= max_val, max_val, x)),
        inplace, "hardtanh")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _elu(x: Tensor, alpha: float, input_scale: float = 1.0) -> Tensor:
    """x for x > 0, else alpha * (exp(x * input_scale) - 1); exp sees min(x, 0) only."""
    negative = x.clamp(max=0)
    if input_scale != 1:
        negative = negative * input_scale
    return where(x > 0, x, negative.expm1() * alpha)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _maybe_in_place(input, lambda x: _elu(x, alpha), inplace, "elu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha * (exp(x / alpha) - 1) otherwise (ELU with a C1 join at 0)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return _maybe_in_place(input, lambda x: _elu(x, alpha, 1 / alpha), inplace, "celu")


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al."""
    return _maybe_in_place(input, lambda x: _elu(x, _SELU_ALPHA) * _SELU_SCALE, inplace,
                           "selu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x), Phi the standard normal CDF; 'tanh' uses Hendrycks and Gimpel's
    0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) in place of Phi."""
    if approximate == "none":
        return input * ((input * (1 / math.sqrt(2))).erf() + 1) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2 / math.pi)
        return input * (inner.tanh() + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x) (also called swish)."""
    return _maybe_in_place(input, lambda x: x * x.sigmoid(), inplace, "silu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * tanh(softplus(x))."""
    return _maybe_in_place(input, lambda x: x * _softplus(x).tanh(), inplace, "mish")


def softplus(input: Tensor, beta: float = 1.0,  # noqa: A002
             threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    scaled = input * beta
    return where(scaled > threshold, input, _softplus(scaled) / beta)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """0 below -3, 1 above 3, x/6 + 1/2 between (gradient 1/6 strictly inside)."""
    return _maybe_in_place(input, lambda x: where(x <= -3, 0.0, where(x >= 3, 1.0, x / 6 + 0.5)),
                           inplace, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * hardsigmoid(x): 0 up to -3, x from 3 on, x (x + 3) / 6 between (so the gradient
    is 0 at -3 and 1 at 3, as in PyTorch)."""
    return _maybe_in_place(
        input, lambda x: where(x <= -3, 0.0, where(x >= 3, x, x * (x + 3) / 6)), inplace,
        "hardswish")


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any x."""
    return input.minimum(0) - (-input.abs()).exp().log1p()


def softmin(input: Tensor, dim: int | None = None,  # noqa: A002
            *, dtype: np.dtype | None = None) -> Tensor:
    """softmax(-x) along `dim`; `dtype` casts the input first."""
    return (-input).softmax(_softmax_dim("softmin", dim, input.ndim), dtype=dtype)


def threshold(input: Tensor, threshold: float, value: float,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """x where x > threshold, else `value` (which gets no gradient)."""
    return _maybe_in_place(input, lambda x: where(x > threshold, x, value), inplace,
                           "threshold")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """`y[..., o] = input1 @ weight[o] @ input2 + bias[o]`, weight (out, in1, in2)."""
    out_features, in1, in2 = weight.shape
    lead = input1.shape[:-1]
    left = input1.reshape(-1, in1) @ weight.transpose(0, 1).reshape(in1, out_features * in2)
    y = left.reshape(-1, out_features, in2) * input2.reshape(-1, 1, in2)
    y = y.sum(-1, dtype=y.dtype)  # NOTE: int32 stays int32, as in PyTorch
    y = y.reshape(*lead, out_features)
    return y if bias is None else y + bias


def _in_place_form(f: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """`f_(input, *args)`: `f` with inplace=True, the way PyTorch names those forms."""
    def f_(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
        return f(input, *args, **kwargs, inplace=True)

    f_.__name__ = f_.__qualname__ = f.__name__ + "_"
    f_.__doc__ = f"{f.__name__}(input, ..., inplace=True): overwrites and returns `input`."
    return f_


relu_, leaky_relu_, hardtanh_, elu_, celu_, selu_, threshold_, rrelu_ = map(
    _in_place_form, (relu, leaky_relu, hardtanh, elu, celu, selu, threshold, rrelu))


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a * sigmoid(b), where a and b are the two halves of `input` along `dim`."""
    n = input.shape[input._axis(dim, "glu")]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is "
                           f"size {n}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def _check_dropout_p(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1/(1-p) (inverted dropout).

    The same tensor comes back when not training or when p == 0, so evaluation costs nothing.
    The mask is kept as 1-byte booleans and float32 stays float32.
    """
    _check_dropout_p(p)
    if not training or p == 0:
        return input
    if inplace:
        return input._in_place("dropout_", lambda x: ops.Dropout.apply(x, p=float(p)))
    return ops.Dropout.apply(input, p=float(p))


# NOTE: SELU's -scale * alpha, the value a dropped unit takes before the affine correction
_SELU_NEGATIVE_SATURATION = 1.7580993408473766


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool,  # noqa: A002
                   feature: bool, op: str) -> Tensor:
    """PyTorch's alpha dropout: dropped units go to SELU's saturation value, then an affine
    map a * x + b restores zero mean and unit variance. `feature` drops whole channels."""
    _check_dropout_p(p)
    if not training or p == 0 or input.size == 0:
        return input
    if p == 1:
        return _maybe_in_place(input, lambda x: x * 0, inplace, op)
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    keep = (generator().random(shape) >= p).astype(input.dtype)
    alpha = _SELU_NEGATIVE_SATURATION
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    scale, shift = Tensor(keep * a), Tensor((keep - 1) * alpha * a + alpha * a * p)
    return _maybe_in_place(input, lambda x: x * scale + shift, inplace, op)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,  # noqa: A002
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps the mean and variance of its input."""
    return _alpha_dropout(input, p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,  # noqa: A002
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of (N, C, *) input."""
    return _alpha_dropout(input, p, training, inplace, True, "feature_alpha_dropout")


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape labels.shape + (num_classes,), 1 at each label."""
    values = _labels(labels, "one_hot")
    if num_classes < 0:
        num_classes = int(values.max()) + 1 if values.size else 0
    _check_range(values, num_classes, "one_hot", RuntimeError)
    return (labels.unsqueeze(-1) == arange(num_classes)).long()


# --- padding, norms, embeddings ----------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",  # noqa: A002
        value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dims; `pad` is (last_left, last_right, prev_left, ...).

    'constant' fills with `value` (0 by default), and negative amounts crop. 'reflect'
    mirrors without repeating the edge, 'replicate' repeats the edge, 'circular' wraps
    around; those three gather along each dim with one integer index, so the gradient adds
    up where an element is copied. Unlike PyTorch they take any rank.

    Examples
    --------
    >>> F.pad(tl.ones(2, 3), (1, 1)).shape
    (2, 5)
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: expected pairs of amounts for at most {input.ndim} dims, "
                           f"got {tuple(pad)}")
    if mode not in _PAD_MODES:
        # NOTE: PyTorch's class for an unknown mode
        raise NotImplementedError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if mode != "constant" and value is not None:
        raise ValueError(f"pad: value is only used by mode 'constant', not {mode!r}")
    out = input
    for i in range(len(pad) // 2):
        dim, before, after = input.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])
        if mode in ("constant", "circular") and min(before, after) < 0:
            out, before, after = _crop(out, dim, before, after)  # NOTE: then pad what is left
        if mode == "constant":
            out = _pad_constant(out, dim, before, after, 0 if value is None else value)
        elif before or after:
            out = out.index_select(dim, _pad_index(out.shape[dim], before, after, mode))
    return out


def _crop(x: Tensor, dim: int, before: int, after: int) -> tuple[Tensor, int, int]:
    """x without the elements that negative amounts cut off, and the amounts left to pad."""
    start, stop = max(-before, 0), x.shape[dim] - max(-after, 0)
    return x.narrow(dim, start, max(stop - start, 0)), max(before, 0), max(after, 0)


def _pad_constant(x: Tensor, dim: int, before: int, after: int, value: float) -> Tensor:
    parts = []
    for amount in (before, after):
        shape = x.shape[:dim] + (max(amount, 0),) + x.shape[dim + 1:]
        parts.append(full(shape, value, dtype=x.dtype) if amount > 0 else None)
    pieces = [t for t in (parts[0], x, parts[1]) if t is not None]
    return pieces[0] if len(pieces) == 1 else cat(pieces, dim)


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Where each position of the padded dim reads from in the input (size n)."""
    limit = n - 1 if mode == "reflect" else n
    if mode != "replicate" and max(before, after) > limit:
        raise RuntimeError(f"pad: {mode} padding of ({before}, {after}) does not fit a "
                           f"dimension of size {n} (at most {limit} each side)")
    idx = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(idx, 0, n - 1)
    if mode == "circular":
        return idx % n
    return np.abs(n - 1 - np.abs(idx - (n - 1)))  # NOTE: folds -i to i and n-1+i to n-1-i


def normalize(input: Tensor, p: float = 2.0, dim: int = 1,  # noqa: A002
              eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along `dim`: unit vectors, and zeros stay zeros."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1/||x1|| * x2/||x2||) along `dim`, each norm at least eps; inputs broadcast.

    Dividing first keeps the result within [-1, 1]. (PyTorch clamps the norms without
    recording it, so a norm below eps still passes its gradient there; here it does not.)
    """
    x1, x2 = broadcast_tensors(x1, x2)  # NOTE: before the norms, as PyTorch
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by the integer tensor `input`.

    Rows picked more than once add up their gradients (divided by the count of their index
    in `input` with `scale_grad_by_freq`). The row `padding_idx` is looked up like any
    other but gets no gradient, so it keeps its value (zeros in nn.Embedding).
    With `max_norm`, each looked-up row whose `norm_type`-norm exceeds it is first scaled
    down, in `weight` itself and outside autograd, as PyTorch does. `sparse` is accepted;
    the gradient is always dense.
    """
    n = weight.shape[0]
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}; "
                        "convert them with .long()")
    idx = input.numpy()
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise IndexError(f"embedding: index {bad.flat[0]} is out of range for {n} "
                         f"embeddings (indices must be in [0, {n}))")
    if max_norm is not None:
        _renorm_rows(weight, np.unique(idx), max_norm, norm_type)
    rows = weight[idx]
    if scale_grad_by_freq:
        rows = _grad_by_frequency(rows, idx, idx)
    if padding_idx is None:
        return rows
    keep = np.expand_dims(idx != _padding_index(padding_idx, n), -1)
    return where(keep, rows, rows.detach())


def _grad_by_frequency(rows: Tensor, idx: np.ndarray, counted: np.ndarray) -> Tensor:
    """`rows` (looked up at `idx`) unchanged, but each one's gradient divided by how often
    its index occurs in `counted` (scale_grad_by_freq: frequent words learn no faster)."""
    values, counts = np.unique(counted, return_counts=True)
    scale = 1 / counts[np.minimum(np.searchsorted(values, idx), len(values) - 1)]
    frozen = rows.detach()
    # NOTE: rows - frozen is exactly 0, so the value is untouched; only its gradient scales
    return frozen + (rows - frozen) * Tensor(scale[..., None].astype(rows.dtype))


def _bags(input: Tensor, offsets: Tensor | None,  # noqa: A002
          include_last_offset: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """embedding_bag's bags as a dense (B, L) layout over the flat indices: the position of
    each bag's j-th index (0 past its end), the mask of real entries, and the flat indices.
    A 2-d input is B bags of its row length; a 1-d one is cut at `offsets`."""
    idx = input.numpy()
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {type(offsets).__name__}")
        rows, length = idx.shape
        starts, ends = np.arange(rows) * length, np.arange(1, rows + 1) * length
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        bounds = offsets.numpy().astype(np.intp)
        if bounds.size and bounds[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{bounds[0]}")
        if bounds.size and ((np.diff(bounds) < 0).any() or bounds[-1] > idx.size):
            raise RuntimeError(f"embedding_bag: offsets {bounds.tolist()} must be "
                               f"non-decreasing and at most the number of indices {idx.size}")
        starts = bounds[:-1] if include_last_offset else bounds
        ends = bounds[1:] if include_last_offset else np.append(bounds[1:], idx.size)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    width = int((ends - starts).max()) if starts.size else 0
    position = starts[:, None] + np.arange(width)
    mask = position < ends[:, None]
    return np.where(mask, position, 0), mask, idx.reshape(-1)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,  # noqa: A002
                  max_norm: float | None = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max of the embedding rows of each bag of indices, without building the
    (indices, dim) lookup first in the user's code: (B, dim) out.

    Parameters
    ----------
    input, offsets : Tensor
        (B, L) indices (B bags of L), or 1-d indices cut into bags at the 1-d `offsets`.
    per_sample_weights : Tensor, optional
        Scales each looked-up row (mode 'sum' only); the input's shape.
    padding_idx : int, optional
        Indices equal to it are left out of their bag (and of its count for the mean).
    Empty bags give zeros.
    """
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub.")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape})"
                             f" is not None, then it must have the same shape as the input "
                             f"({input.shape})")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    position, mask, flat = _bags(input, offsets, include_last_offset)
    n = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        bad = flat[(flat < 0) | (flat >= n)][0]
        raise IndexError(f"embedding_bag: index {bad} is out of range for {n} embeddings "
                         f"(input {input.shape}, weight {weight.shape})")
    if max_norm is not None:
        _renorm_rows(weight, np.unique(flat), max_norm, norm_type)
    idx = flat[position] if flat.size else np.zeros(position.shape, np.intp)
    if padding_idx is not None:
        mask = mask & (idx != _padding_index(padding_idx, n))
    rows = weight[idx]  # (B, L, dim)
    if scale_grad_by_freq and flat.size:
        rows = _grad_by_frequency(rows, idx, flat)
    keep = mask[:, :, None]
    if mode == "max":
        best = where(keep, rows, -math.inf).max(1)[0] if rows.shape[1] else rows.sum(1)
        return where(keep.any(1), best, 0.0)
    if per_sample_weights is not None:
        scale = per_sample_weights.reshape(-1)[position] * Tensor(mask.astype(weight.dtype))
        total = (rows * scale.unsqueeze(-1)).sum(1)
    else:
        total = where(keep, rows, 0.0).sum(1)
    if mode == "sum":
        return total
    return total / Tensor(np.maximum(mask.sum(1, keepdims=True), 1).astype(weight.dtype))


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the `rows` of `weight` whose norm exceeds max_norm by max_norm / (norm + 1e-7),
    in place (PyTorch's embedding_renorm_: the 1e-7 keeps the new norm just under)."""
    norms = np.linalg.norm(weight.numpy()[rows], ord=norm_type, axis=-1)
    big = norms > max_norm
    if big.any():
        rows = rows[big]
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)[:, None]
        with no_grad():
            weight[rows] = weight[rows] * Tensor(scale)


def _padding_index(padding_idx: int, n: int) -> int:
    """padding_idx in [0, n) (a negative one counts from the end, as in PyTorch)."""
    if not -n <= padding_idx < n:
        raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                         f"[{-n}, {n}) for {n} embeddings")
    return padding_idx % n


def _standardize(x: Tensor, dims: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """x - mean over `dims`, that mean and the biased variance (both with kept dims)."""
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    return centred, mean, (centred * centred).mean(dims, keepdim=True)


def _affine(x: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    if weight is not None:
        x = x * weight.reshape(shape)
    return x if bias is None else x + bias.reshape(shape)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int],  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalized_shape`
    dims of each sample (the biased variance, as in PyTorch)."""
    shape = _shape_tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape:
        raise RuntimeError(f"layer_norm: normalized_shape {shape} does not match the last "
                           f"dims of the input {input.shape}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    centred, _, var = _standardize(input, dims)
    return _affine(centred / (var + eps).sqrt(), weight, bias, shape)


def _shape_tuple(shape: int | Sequence[int]) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


def batch_norm(input: Tensor, running_mean: Tensor | None,  # noqa: A002
               running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of (N, C) or (N, C, L...) input.

    Training: by the batch's mean and biased variance, and the running statistics (if
    given) move towards the batch's mean and unbiased variance by `momentum`, in place.
    Otherwise: by the running statistics.
    """
    if input.ndim == 1 and not input.numel():  # NOTE: PyTorch passes an empty one through
        return input.clone()
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, L...), got "
                         f"{input.shape}")
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != input.shape[1]:
            raise RuntimeError(f"batch_norm: {name} has {t.numel()} elements, but the input "
                               f"{input.shape} has {input.shape[1]} channels (dim 1)")
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        centred = input - running_mean.reshape(shape)
        return _affine(centred / (running_var.reshape(shape) + eps).sqrt(), weight, bias,
                       shape)
    dims = (0,) + tuple(range(2, input.ndim))
    count = input.numel() // input.shape[1] if input.shape[1] else 0
    if count == 1:
        raise ValueError(f"batch_norm: Expected more than 1 value per channel when "
                         f"training, got input size {input.shape}")
    if count == 0:  # NOTE: an empty batch passes through and leaves the statistics alone
        return _affine(input, weight, bias, shape)
    centred, mean, var = _standardize(input, dims)
    _update_running(running_mean, running_var, mean, var * (count / (count - 1)), momentum)
    return _affine(centred / (var + eps).sqrt(), weight, bias, shape)


def _update_running(running_mean: Tensor | None, running_var: Tensor | None, mean: Tensor,
                    unbiased_var: Tensor, momentum: float) -> None:
    """Move the running statistics (where given) towards `mean` and `unbiased_var` (one
    value per channel, in any shape) by `momentum`, in place and outside autograd."""
    with no_grad():
        for running, batch in ((running_mean, mean), (running_var, unbiased_var)):
            if running is not None:
                running.copy_(running * (1 - momentum) + batch.reshape(-1) * momentum)


# --- loss helpers -------------------------------------------------------------------------
def _check_reduction(reduction: str, op: str, allowed: tuple = _REDUCTIONS,
                     size_average: bool | None = None, reduce: bool | None = None) -> str:
    """`reduction`, checked; or the one PyTorch's deprecated `size_average` / `reduce` pair
    names (its `legacy_get_string`: each None counts as True), with its warning, so old code
    still runs."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in allowed:
        names = ", ".join(map(repr, allowed[:-1])) + f" or {allowed[-1]!r}"
        raise ValueError(f"{op}: reduction must be {names}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str, denominator: Tensor | int | None = None) -> Tensor:
    """'none', 'sum', or 'mean' (the sum over `denominator`, by default the element count)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if denominator is None else loss.sum() / denominator


def _labels(target: Tensor, op: str) -> np.ndarray:
    """The class labels as a numpy array, refusing float labels with a hint."""
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: class labels must be an integer tensor, got {target.dtype}; "
                        "convert them with .long()")
    return target.numpy()


def _check_range(values: np.ndarray, classes: int, op: str,
                 error: type[Exception] = IndexError) -> None:
    """Refuse labels outside [0, classes), with PyTorch's class of error for `op`."""
    bad = values[(values < 0) | (values >= classes)]
    if bad.size:
        raise error(f"{op}: label {bad.flat[0]} is out of range for {classes} classes "
                         f"(labels must be in [0, {classes})); make the last layer output one "
                         f"score per class, or map the labels to 0..{classes - 1}")


def _same_shape(input: Tensor, target: Tensor, op: str) -> Tensor:  # noqa: A002
    """The target in the input's dtype, refusing any other shape (the binary cross-entropies,
    as in PyTorch)."""
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "differ; they would broadcast into a wrong loss. Reshape one of them "
                         "(e.g. target.view(-1, 1) or input.squeeze(1))")
    return target.to(input.dtype)


def _warn_if_broadcast(input: Tensor, target: Tensor, op: str) -> Tensor:  # noqa: A002
    """The target, with PyTorch's warning when its shape differs from the input's: the
    regression losses broadcast (and promote dtypes) like any elementwise op. Shapes that do
    not broadcast are an error that names the loss."""
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise RuntimeError(f"{op}: input shape {input.shape} and target shape "
                               f"{target.shape} do not broadcast; give the target the "
                               "input's shape") from None
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)
    return target


def _weighted(loss: Tensor, weight: Tensor | None) -> Tensor:
    return loss if weight is None else loss * weight.to(loss.dtype)


def _class_dim(shape: tuple, op: str) -> int:
    """The class dim of an input of `shape`: 0 for (C,), else 1 ((N, C, d1, ...))."""
    if not shape:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    return 0 if len(shape) == 1 else 1


def _check_class_weight(weight: Tensor | None, classes: int, op: str) -> None:
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"{op}: weight should have one entry per class ({classes}), got "
                           f"shape {weight.shape}")


def _class_weighted(logp: Tensor, weight: Tensor | None, class_dim: int) -> Tensor:
    """logp times per-class weights (C,) broadcast along the class dimension."""
    if weight is None:
        return logp
    return logp * weight.to(logp.dtype).reshape((-1,) + (1,) * (logp.ndim - class_dim - 1))


def _checked_labels(shape: tuple, target: Tensor, ignore_index: int,
                    op: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The labels for an input (scores) of `shape` as an array (ignored ones set to 0) and
    the keep-mask (None: all kept), refusing labels of the wrong dtype, shape or range."""
    class_dim = _class_dim(shape, op)
    expected = shape[:class_dim] + shape[class_dim + 1:]
    values = _labels(target, op)
    if target.shape != expected:
        raise ValueError(f"{op}: target shape {target.shape} does not fit input shape "
                         f"{shape}; expected {expected} (one label per row)")
    keep = values != ignore_index
    if keep.all():
        keep = None
    else:
        values = np.where(keep, values, 0)
    _check_range(values, shape[class_dim], op)
    return values, keep


def _weighted_nll(logp: Tensor, values: np.ndarray, keep: np.ndarray | None,
                  weight: Tensor | None, op: str) -> tuple[Tensor, Tensor | int, Tensor | None]:
    """Per-element -w[y] * logp[y], its mean's denominator, and the keep-mask (or None), for
    labels `values` and mask `keep` as `_checked_labels` gives them.

    Ignored elements have loss 0; the denominator is the total weight of the kept ones (their
    count without weights), as in PyTorch.
    """
    class_dim = _class_dim(logp.shape, op)
    picked = ops.TakeAlongAxis.apply(logp, indices=np.expand_dims(values, class_dim),
                                     axis=class_dim).squeeze(class_dim)
    return _weighted_losses(-picked, values, keep, weight)


def _weighted_losses(losses: Tensor, values: np.ndarray, keep: np.ndarray | None,
                     weight: Tensor | None) -> tuple[Tensor, Tensor | int, Tensor | None]:
    """`_weighted_nll` from each element's unweighted loss -logp[y]: times w[y], ignored
    elements 0."""
    mask = None if keep is None else Tensor._wrap(keep.astype(losses.dtype))
    w = None if weight is None else weight.to(losses.dtype)[values]
    if mask is not None:
        w = mask if w is None else w * mask
    if w is None:
        return losses, losses.numel(), None
    return losses * w, w.sum(), mask


def _reduce_labelled(loss: Tensor, reduction: str, denominator: Tensor | int,
                     keep: np.ndarray | None) -> Tensor:
    """`_reduce` for the label losses. With every label ignored the mean is 0 / 0: nan as in
    PyTorch, but with PyTorch's zero gradient rather than the 0 * inf = nan of dividing."""
    if reduction == "mean" and keep is not None and not keep.any():
        return loss.sum() + math.nan
    return _reduce(loss, reduction, denominator)


# --- losses -------------------------------------------------------------------------------
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class labels, given log-probabilities.

    Parameters
    ----------
    input : Tensor
        Log-probabilities, (N, C), (C,) or (N, C, d1, ...).
    target : Tensor
        int64 labels in [0, C), (N,), () or (N, d1, ...); `ignore_index` marks rows to skip.
    weight : Tensor, optional
        Per-class weights (C,); the mean divides by the total weight of the labels.
    """
    op = "nll_loss"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    values, keep = _checked_labels(input.shape, target, ignore_index, op)
    _check_class_weight(weight, input.shape[_class_dim(input.shape, op)], op)
    loss, denominator, _ = _weighted_nll(input, values, keep, weight, op)
    return _reduce_labelled(loss, reduction, denominator, keep)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of raw logits: log_softmax, then pick each row's label.

    Parameters
    ----------
    input : Tensor
        Logits, (N, C), (C,) or (N, C, d1, ...).
    target : Tensor
        int64 class labels (see `nll_loss`), or float class probabilities of input's shape.
    label_smoothing : float
        Mix each target with the uniform distribution: (1 - s) * target + s / C.

    Examples
    --------
    >>> loss = F.cross_entropy(model(x), y)  # y: int64 of shape (N,)
    """
    op = "cross_entropy"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = _class_dim(input.shape, op)
    classes = input.shape[class_dim]
    _check_class_weight(weight, classes, op)
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise RuntimeError(f"{op}: class labels must be an integer tensor, got "
                            f"{target.dtype} of shape {target.shape}; convert them with "
                            f".long() (float targets are class probabilities and need the "
                            f"input's shape {input.shape})")
        logp = input.log_softmax(class_dim)
        probs = target.to(logp.dtype)
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / classes
        loss = -(_class_weighted(logp, weight, class_dim) * probs).sum(class_dim)
        return _reduce(loss, reduction)
    labels, keep = _checked_labels(input.shape, target, ignore_index, op)
    if input.ndim == 2 and keep is None and weight is None and not label_smoothing:
        # NOTE: the common case: one fused node
        return ops.CrossEntropy.apply(input._floating(), reduction=reduction, labels=labels)
    logp = input.log_softmax(class_dim)
    loss, denominator, mask = _weighted_nll(logp, labels, keep, weight, op)
    if label_smoothing:
        smooth = -_class_weighted(logp, weight, class_dim).sum(class_dim)
        if mask is not None:
            smooth = smooth * mask
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)
    return _reduce_labelled(loss, reduction, denominator, keep)


@dataclasses.dataclass
class LinearCrossEntropyOptions:
    """Asks `linear_cross_entropy` to work `batch_chunk_size` rows at a time, so the full (N,
    C) logits never exist (PyTorch's options; for many classes, e.g. a vocabulary head).

    `chunking_method` "auto" or "aspect_ratio[:k]" sizes a chunk's (rows, C) logits like
    the (N, F) input, divided by k (auto: k = 2), as PyTorch does; None uses
    `batch_chunk_size` (None: one chunk). `acc_dtype` is the dtype the chunks are computed in
    (None: the input's). `acc_policy` (PyTorch's mixed-precision scratch trade-offs) and
    `allow_retain_graph` are accepted for PyTorch code: here the backward recomputes each
    chunk from the input, so retain_graph always works, and there is one policy.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None

    def __post_init__(self) -> None:
        if self.acc_policy not in ("auto", "accurate", "balanced", "compact"):
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method not in (None, "auto"):
            name, sep, factor = self.chunking_method.partition(":")
            if name != "aspect_ratio" or sep and not (factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if size is not None and (type(size) is not int or size <= 0):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None and np.dtype(self.acc_dtype).kind != "f":
            raise ValueError(f"acc_dtype must be None or a floating dtype, got "
                             f"{self.acc_dtype!r}")


def _chunk_rows(options: Any, rows: int, in_features: int, classes: int) -> int:
    """The rows per chunk that `options` (a LinearCrossEntropyOptions, or any object with its
    fields: PyTorch's own too) asks for, for an (rows, in_features) input and `classes`."""
    method, size = options.chunking_method, options.batch_chunk_size
    if method == "auto":
        method = None if size is not None else "aspect_ratio:2"
    if method is None:
        return max(1, min(size or rows, rows))
    factor = int(method.partition(":")[2] or 1)
    target = -(-rows // -(-classes // max(in_features, 1)))
    chunk = min((1 << (target - 1).bit_length()) // factor, rows)
    if size is not None and size != chunk:
        raise ValueError(f"batch_chunk_size (={size}) and chunking_method ('{method}') give "
                         f"different chunk sizes ({size} vs {chunk}); pass only one.")
    return max(1, chunk)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,  # noqa: A002
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """`cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`: a classifier
    head and its loss in one call (PyTorch 2.13's).

    input is (N, F) or (F,); linear_weight (C, F), or (C, d1, ..., F) for a K-dimensional
    loss (logits (N, C, d1, ...)). With `options` (int64 labels, no label smoothing, no
    K-dims) the rows are taken a chunk at a time (`LinearCrossEntropyOptions`); otherwise, or
    with a warning where options cannot apply, the logits are made whole.

    Examples
    --------
    >>> loss = F.linear_cross_entropy(features, head.weight, labels)
    """
    op = "linear_cross_entropy"
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    rows, in_features = input.shape[:-1], input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {in_features} and {linear_weight.shape[-1]}, "
                           "respectively")
    classes, out_features = linear_weight.shape[0], linear_weight.shape[1:-1]
    if linear_bias is not None and linear_bias.shape != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got "
                           f"{linear_bias.shape}")
    if out_features and not rows:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{linear_weight.shape} requires batched input, (N, {in_features}), "
                           f"got unbatched input with shape {input.shape}")
    logits_shape = (*rows, classes, *out_features)
    if target.shape == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains "
                           "probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    chunked = (not out_features and reduction in _REDUCTIONS and not label_smoothing
               and target.dtype == np.int64)
    if options is not None and not chunked:
        warnings.warn(f"{op}: ``options`` ignored; chunked path needs reduction in "
                      f"{{'mean','sum','none'}}, label_smoothing == 0, target.dtype == int64, "
                      f"out_features == (). Got reduction={reduction!r}, label_smoothing="
                      f"{label_smoothing}, target.dtype={target.dtype}, out_features="
                      f"{tuple(out_features)}.", stacklevel=2)
    if options is None or not chunked:
        flat_weight = linear_weight.reshape(-1, in_features)
        bias = None if linear_bias is None else linear_bias.reshape(-1)
        logits = linear(input, flat_weight, bias).reshape(logits_shape)
        return cross_entropy(logits, target, weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)
    x, labels = (input, target) if rows else (input.unsqueeze(0), target.unsqueeze(0))
    values, keep = _checked_labels((x.shape[0], classes), labels, ignore_index, op)
    _check_class_weight(weight, classes, op)
    dtype = input.dtype if options.acc_dtype is None else np.dtype(options.acc_dtype)
    if dtype != input.dtype and not (dtype == np.float32 and input.dtype == np.float16):
        raise RuntimeError(f"linear_cross_entropy supports float32 acc_dtype with float16/"
                           f"bfloat16 inputs, but got {dtype} acc_dtype and {input.dtype} "
                           "inputs.")
    head = (linear_weight, *(() if linear_bias is None else (linear_bias,)))
    losses = ops.LinearCrossEntropy.apply(
        x.to(dtype), *(t.to(dtype) for t in head), labels=values,
        chunk=_chunk_rows(options, x.shape[0], in_features, classes)).to(input.dtype)
    loss, denominator, _ = _weighted_losses(losses, values, keep, weight)
    loss = _reduce_labelled(loss, reduction, denominator, keep)
    return loss if rows or reduction != "none" else loss.squeeze(0)


def binary_cross_entropy(input: Tensor, target: Tensor,  # noqa: A002
                         weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-(y log p + (1-y) log(1-p)) for probabilities p; each log is clamped at -100."""
    op = "binary_cross_entropy"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    y = _same_shape(input, target, op)
    p = input.numpy()
    if ((p < 0) | (p > 1)).any():
        raise RuntimeError(f"{op}: input must be probabilities in [0, 1], got values from "
                         f"{p.min():.4g} to {p.max():.4g}; for raw logits use "
                         "binary_cross_entropy_with_logits")
    return _reduce(_weighted(ops.BinaryCrossEntropy.apply(input, y), weight), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,  # noqa: A002
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression of the logits x.

    (1-y) x + w_pos * softplus(-x), with softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)), which
    is max(x, 0) - x y + log(1 + exp(-|x|)) when there is no pos_weight. exp only ever sees
    -|x| <= 0, so logits of +-1e4 neither overflow nor lose the gradient.
    `pos_weight` (broadcast along the last dim) scales the loss of positive targets.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    y = _same_shape(input, target, op)
    softplus = _softplus(-input)
    if pos_weight is not None:
        softplus = softplus * ((pos_weight.to(input.dtype) - 1) * y + 1)
    return _reduce(_weighted((1 - y) * input + softplus, weight), reduction)


def _reduce_weighted(loss: Tensor, weight: Tensor | None, reduction: str, op: str,
                     over_weights: bool = True) -> Tensor:
    """`_reduce` of a regression loss with PyTorch's optional per-element `weight` (input's
    shape): the mean divides by the total weight (by the element count for huber_loss)."""
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != loss.shape:
        raise RuntimeError(f"{op}: weight of shape {weight.shape} must have the input's shape "
                           f"{loss.shape}")
    weight = weight.to(loss.dtype)
    return _reduce(loss * weight, reduction, weight.sum() if over_weights else None)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,  # noqa: A002
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, elementwise; a target of another shape broadcasts, with a warning.
    `weight` (input's shape) weighs each element; the mean is then over the total weight."""
    reduction = _check_reduction(reduction, "mse_loss", size_average=size_average, reduce=reduce)
    diff = input - _warn_if_broadcast(input, target, "mse_loss")
    return _reduce_weighted(diff * diff, weight, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,  # noqa: A002
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """|input - target|, elementwise; a target of another shape broadcasts, with a warning.
    `weight` (input's shape) weighs each element; the mean is then over the total weight."""
    reduction = _check_reduction(reduction, "l1_loss", size_average=size_average, reduce=reduce)
    diff = input - _warn_if_broadcast(input, target, "l1_loss")
    return _reduce_weighted(diff.abs(), weight, reduction, "l1_loss")


def _huber(diff: Tensor, delta: float) -> Tensor:
    """0.5 d^2 where |d| < delta, delta * (|d| - delta / 2) beyond: quadratic, then linear."""
    size = diff.abs()
    return where(size < delta, diff * diff * 0.5, (size - delta * 0.5) * delta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """Squared error for errors under `delta`, absolute error (times delta) beyond. `weight`
    (input's shape) weighs each element; unlike mse_loss's, PyTorch's mean then still
    divides by the element count."""
    _check_reduction(reduction, "huber_loss")
    # NOTE: PyTorch's huber_loss keeps the input's dtype, unlike its smooth_l1_loss twin
    target = _warn_if_broadcast(input, target, "huber_loss").to(input.dtype)
    return _reduce_weighted(_huber(input - target, delta), weight, reduction, "huber_loss",
                            over_weights=False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,  # noqa: A002
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """huber_loss(delta=beta) / beta: slope 1 beyond beta, so beta only smooths the kink."""
    reduction = _check_reduction(reduction, "smooth_l1_loss", size_average=size_average,
                                 reduce=reduce)
    diff = input - _warn_if_broadcast(input, target, "smooth_l1_loss")
    return _reduce(diff.abs() if beta == 0 else _huber(diff, beta) / beta, reduction)


_KL_REDUCTIONS = _REDUCTIONS + ("batchmean",)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,  # noqa: A002
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log(target) - input), 0 where target is 0.

    `input` holds log-probabilities (e.g. log_softmax); `target` probabilities, or
    log-probabilities with `log_target=True`. 'batchmean' divides the sum by the batch size
    (the true KL divergence per sample); 'mean' divides by the element count, as in PyTorch.
    """
    reduction = _check_reduction(reduction, "kl_div", _KL_REDUCTIONS, size_average=size_average,
                                 reduce=reduce)
    if input.dtype.kind != "f" or target.dtype.kind != "f":
        raise RuntimeError(f"kl_div: integral inputs not supported (input {input.dtype}, "
                           f"target {target.dtype}); both hold (log-)probabilities")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        zero = target == 0  # NOTE: a negative target's log is nan, as in PyTorch
        xlogx = where(zero, 0, target * where(zero, 1, target).log())
        loss = xlogx - target * input
    if reduction == "batchmean":
        return _reduce(loss, "mean", input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size "
                      "and the support size; 'batchmean' divides only by the batch size, as "
                      "the KL divergence's definition does (PyTorch warns the same)",
                      UserWarning, stacklevel=2)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin): y = 1 asks x1 to rank above x2 by `margin`, -1 below."""
    reduction = _check_reduction(reduction, "margin_ranking_loss", size_average=size_average,
                                 reduce=reduce)
    y = target.to(input1.dtype)
    return _reduce((-y * (input1 - input2) + margin).clamp(min=0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor,
                          margin: float = 0.0, size_average: bool | None = None,
                          reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where it is -1.

    The cosine is PyTorch's for this loss: x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)).
    """
    reduction = _check_reduction(reduction, "cosine_embedding_loss", size_average=size_average,
                                 reduce=reduce)
    dim = input1.ndim - 1
    eps = 1e-12
    squares = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = (input1 * input2).sum(dim) / squares.sqrt()
    y = target.numpy()
    loss = where(y == 1, 1 - cos, 0) + where(y == -1, (cos - margin).clamp(min=0), 0)
    return _reduce(loss, reduction)


# --- convolution and pooling --------------------------------------------------------------
# Every op here gathers its sliding windows with ONE integer-array index into the padded
# input, flattened over its spatial dims (im2col): the engine's GetItem records the graph, and
# its backward adds the gradients of overlapping windows back up. Convolution is then a
# matmul with the weight, pooling a max or a mean over each window. One code path serves 1-d
# and 2-d inputs: `nd` is the number of spatial dims.
_PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                  "circular": "circular"}


def _ntuple(value: int | Sequence[int], nd: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of `nd` ints (or of one) as a tuple of `nd` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    out = tuple(int(v) for v in value)
    if len(out) == 1:
        return out * nd
    if len(out) != nd:
        raise ValueError(f"{op}: {name} must be an int or {nd} ints, got {tuple(value)}")
    return out


def _batched(input: Tensor, nd: int, op: str) -> tuple[Tensor, bool]:  # noqa: A002
    """(N, C, *spatial) input, and whether it came unbatched as (C, *spatial)."""
    if input.ndim == nd + 2:
        return input, False
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                       f"input, got shape {input.shape}")


@functools.lru_cache(maxsize=256)
def _window_index(padded: tuple, kernel: tuple, stride: tuple, dilation: tuple,
                  out: tuple, columns: bool = False, inside: tuple | None = None) -> np.ndarray:
    """Flat positions (row-major over the padded spatial dims) of every window element:
    shape (prod(out), prod(kernel)), or its transpose with `columns`. Window l starts at
    l * stride per dim, and its element k sits k * dilation further on. Read-only, as it is
    cached and shared (the same array on every call: TinyJit replays it as a constant).

    With `inside` (the (before, after) padding of each dim), each window lists its elements
    within the input first, in order, and its padding after: a max pool's first of tied
    maxima is then never padding, as PyTorch's windows only read the input."""
    if columns:
        return _window_index(padded, kernel, stride, dilation, out).T
    if inside is not None:
        index = _window_index(padded, kernel, stride, dilation, out)
        real = np.zeros(padded, dtype=bool)
        real[tuple(slice(b, n - a) for n, (b, a) in zip(padded, inside))] = True
        order = np.argsort(~real.reshape(-1)[index], axis=1, kind="stable")
        index = np.take_along_axis(index, order, 1)
        index.flags.writeable = False
        return index
    starts, offsets = np.zeros(1, np.intp), np.zeros(1, np.intp)
    for size, k, s, d, o in zip(padded, kernel, stride, dilation, out):
        starts = (starts[:, None] * size + np.arange(o) * s).reshape(-1)
        offsets = (offsets[:, None] * size + np.arange(k) * d).reshape(-1)
    index = starts[:, None] + offsets
    index.flags.writeable = False
    return index


def _pad_spatial(x: Tensor, pads: Sequence[tuple[int, int]], mode: str = "constant",
                 value: float = 0.0) -> Tensor:
    """Pad the trailing len(pads) dims by their (before, after) pairs, first dim first."""
    if not any(before or after for before, after in pads):
        return x
    flat = [n for pair in reversed(pads) for n in pair]
    return pad(x, flat, mode, value if mode == "constant" else None)


def _windows(x: Tensor, kernel: tuple, stride: tuple, dilation: tuple,
             pads: Sequence[tuple[int, int]], op: str, value: float = 0.0,
             columns: bool = False) -> tuple[Tensor, tuple, np.ndarray]:
    """The sliding windows of (N, C, *spatial) `x` padded by `pads` with `value`: a tensor
    (N, C, L, K) for L = prod(out) windows of K = prod(kernel) elements, the output's spatial
    shape `out`, and the index that gathered them (flat positions in the padded input).
    With `columns`, (N, C, K, L) and its index: im2col's layout, which a conv multiplies and
    unfold returns without a transposing copy."""
    flat, out, index = _window_source(x, kernel, stride, dilation, pads, op, value, columns)
    return flat[:, :, index], out, index


def _window_source(x: Tensor, kernel: tuple, stride: tuple, dilation: tuple,
                   pads: Sequence[tuple[int, int]], op: str, value: float = 0.0,
                   columns: bool = False,
                   inside_first: bool = False) -> tuple[Tensor, tuple, np.ndarray]:
    """What `_windows` gathers from: `x` padded and flattened to (N, C, P), the output's
    spatial shape, and the (L, K) index of each window's elements in P ((K, L) with
    `columns`; with `inside_first`, each window's elements in the input before its padding,
    as `_window_index` explains)."""
    n, c, spatial = x.shape[0], x.shape[1], x.shape[2:]
    padded = tuple(size + before + after for size, (before, after) in zip(spatial, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation) or any(k < 1 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size {kernel}, stride {stride} and dilation "
                           f"{dilation} must all be positive")
    if any(p < w for p, w in zip(padded, span)):
        raise RuntimeError(f"{op}: the kernel {kernel} (dilation {dilation}: it spans {span}) "
                           f"does not fit the padded input {padded} (input {x.shape})")
    out = tuple((p - w) // s + 1 for p, w, s in zip(padded, span, stride))
    inside = tuple(map(tuple, pads)) if inside_first and any(map(any, pads)) else None
    index = _window_index(padded, tuple(kernel), tuple(stride), tuple(dilation), out, columns,
                          inside)
    return _pad_spatial(x, pads, value=value).reshape(n, c, math.prod(padded)), out, index


def _conv_padding(padding: str | int | Sequence[int], kernel: tuple, stride: tuple,
                  dilation: tuple, op: str) -> list[tuple[int, int]]:
    """(before, after) per spatial dim; 'same' puts the odd one of d * (k - 1) after, as
    PyTorch does."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                               f"convolutions (stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    amounts = _ntuple(padding, nd, "padding", op)
    if any(p < 0 for p in amounts):
        raise RuntimeError(f"{op}: padding must be non-negative, got {amounts}")
    return [(p, p) for p in amounts]


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None,  # noqa: A002
          stride: int | Sequence[int], padding: str | int | Sequence[int],
          dilation: int | Sequence[int], groups: int, nd: int) -> Tensor:
    """conv1d / conv2d: gather the windows, then one (batched, per-group) matmul."""
    op = f"conv{nd}d"
    x, unbatched = _batched(input, nd, op)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (out_channels, "
                           f"in_channels / groups, *kernel), got shape {weight.shape}")
    n, channels = x.shape[:2]
    out_channels, group_channels, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if groups < 1 or out_channels % groups:
        raise RuntimeError(f"{op}: groups ({groups}) must be positive and divide the "
                           f"weight's {out_channels} output channels (weight {weight.shape})")
    if channels != group_channels * groups:
        per = f" ({group_channels} x groups={groups})" if groups != 1 else ""
        raise RuntimeError(f"{op}: input {input.shape} has {channels} channels, weight "
                           f"{weight.shape} expects {group_channels * groups}{per}")
    if bias is not None and bias.shape != (out_channels,):
        raise RuntimeError(f"{op}: bias {bias.shape} must be ({out_channels},), one per "
                           f"output channel of weight {weight.shape}")
    stride = _ntuple(stride, nd, "stride", op)
    dilation = _ntuple(dilation, nd, "dilation", op)
    pads = _conv_padding(padding, kernel, stride, dilation, op)
    cols, out, _ = _windows(x, kernel, stride, dilation, pads, op, columns=True)
    size, length = cols.shape[2:]
    # (G, O/G, C/G * K) @ (N, G, C/G * K, L) -> (N, G, O/G, L): every reshape here is a view
    cols = cols.reshape(n, groups, group_channels * size, length)
    w = weight.reshape(groups, out_channels // groups, group_channels * size)
    y = (w @ cols).reshape((n, out_channels) + out)
    if bias is not None:
        y = y + bias.reshape((1, out_channels) + (1,) * nd)
    return y.squeeze(0) if unbatched else y


def _im2col_settings(kernel_size: int | Sequence[int], dilation: int | Sequence[int],
                     padding: int | Sequence[int], stride: int | Sequence[int],
                     op: str) -> tuple[tuple, tuple, list[tuple[int, int]], tuple]:
    """unfold / fold settings as pairs: kernel, dilation, (before, after) pads, stride."""
    pads = [(p, p) for p in _ntuple(padding, 2, "padding", op)]
    return (_ntuple(kernel_size, 2, "kernel_size", op), _ntuple(dilation, 2, "dilation", op),
            pads, _ntuple(stride, 2, "stride", op))


def unfold(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
           dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
           stride: int | Sequence[int] = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), one column per sliding window.

    Example: ``F.unfold(x, 3, padding=1)`` gives the columns a 3x3 'same' conv multiplies.
    """
    x, unbatched = _batched(input, 2, "unfold")
    kernel, dilation, pads, stride = _im2col_settings(kernel_size, dilation, padding, stride,
                                                      "unfold")
    cols, _, _ = _windows(x, kernel, stride, dilation, pads, "unfold", columns=True)
    n, c, size, length = cols.shape
    cols = cols.reshape(n, c * size, length)
    return cols.squeeze(0) if unbatched else cols


def fold(input: Tensor, output_size: int | Sequence[int],  # noqa: A002
         kernel_size: int | Sequence[int], dilation: int | Sequence[int] = 1,
         padding: int | Sequence[int] = 0, stride: int | Sequence[int] = 1) -> Tensor:
    """col2im, the adjoint of unfold: (N, C * kh * kw, L) -> (N, C, H, W), summing where
    windows overlap (so fold(unfold(x)) counts each pixel once per window that covers it)."""
    op = "fold"
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input, got "
                           f"shape {input.shape}")
    cols = input.unsqueeze(0) if input.ndim == 2 else input
    size = _ntuple(output_size, 2, "output_size", op)
    kernel, dilation, pads, stride = _im2col_settings(kernel_size, dilation, padding, stride, op)
    padded = tuple(n + before + after for n, (before, after) in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    out = tuple((p - w) // s + 1 for p, w, s in zip(padded, span, stride))
    n, rows, length = cols.shape
    k = math.prod(kernel)
    if rows % k or length != math.prod(out):
        raise RuntimeError(f"{op}: input {input.shape} must be (N, C * {k}, {math.prod(out)}) "
                           f"for kernel {kernel} and output_size {size}")
    c = rows // k
    index = _window_index(padded, kernel, stride, dilation, out).T  # NOTE: unfold's (K, L)
    image = zeros(n, c, math.prod(padded), dtype=input.dtype)
    image = image.index_add(2, index.reshape(-1), cols.reshape(n, c, k * length))
    image = image.reshape((n, c) + padded)
    (top, _), (left, _) = pads
    image = image[:, :, top:top + size[0], left:left + size[1]]
    return image.squeeze(0) if input.ndim == 2 else image


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: int | Sequence[int] = 1, padding: str | int | Sequence[int] = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation, as in PyTorch) of (N, C, L) or (C, L) input.

    Parameters
    ----------
    weight : Tensor
        (out_channels, in_channels / groups, kernel).
    padding : int, tuple, 'valid' or 'same'
        Zeros added on both sides; 'same' (stride 1 only) keeps the length.
    groups : int
        Split the channels into `groups` independent convolutions.

    Examples
    --------
    >>> F.conv1d(tl.randn(2, 3, 10), tl.randn(4, 3, 3), padding="same").shape
    (2, 4, 10)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:  # noqa: A002
    """conv1d in (Time, Batch, Channels) layout: input (T, N, C_in), weight (kernel, C_in,
    C_out), bias (C_out,), `pad` steps of zeros at both ends -> (T + 2 pad - kernel + 1, N,
    C_out)."""
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: expected a 3-D input and weight and a 1-D bias, got "
                           f"{input.shape}, {weight.shape} and {bias.shape}")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: int | Sequence[int] = 1, padding: str | int | Sequence[int] = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation, as in PyTorch) of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    weight : Tensor
        (out_channels, in_channels / groups, kH, kW).
    stride, padding, dilation : int or (int, int)
        Per spatial dim; padding may also be 'valid' (none) or 'same' (stride 1 only).
    groups : int
        Split the channels into `groups` independent convolutions.

    Examples
    --------
    >>> F.conv2d(tl.randn(2, 3, 8, 8), tl.randn(16, 3, 3, 3), padding=1).shape
    (2, 16, 8, 8)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
           stride: int | Sequence[int] = 1, padding: str | int | Sequence[int] = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """3-d convolution of (N, C, D, H, W) or (C, D, H, W) input (volumes, video), with
    weight (out_channels, in_channels / groups, kD, kH, kW); see conv2d.

    Examples
    --------
    >>> F.conv3d(tl.randn(1, 2, 4, 5, 5), tl.randn(3, 2, 3, 3, 3), padding=1).shape
    (1, 3, 4, 5, 5)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None,  # noqa: A002
                    stride: int | Sequence[int], padding: int | Sequence[int],
                    output_padding: int | Sequence[int], groups: int,
                    dilation: int | Sequence[int], nd: int) -> Tensor:
    """conv_transpose1d / 2d: the gradient of a convolution with respect to its input, run
    forwards. Spread the input out by the stride (stride - 1 zeros between elements), pad
    it by dilation * (kernel - 1) - padding (plus output_padding at the end), and convolve
    at stride 1 with the kernel flipped and its in/out channels swapped."""
    op = f"conv_transpose{nd}d"
    x, unbatched = _batched(input, nd, op)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (in_channels, "
                           f"out_channels / groups, *kernel), got shape {weight.shape}")
    in_channels, group_out, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if groups < 1 or in_channels % groups or x.shape[1] != in_channels:
        raise RuntimeError(f"{op}: input {input.shape} must have the weight's {in_channels} "
                           f"input channels (weight {weight.shape}), divisible by groups "
                           f"({groups})")
    stride = _ntuple(stride, nd, "stride", op)
    dilation = _ntuple(dilation, nd, "dilation", op)
    padding = _ntuple(padding, nd, "padding", op)
    extra = _ntuple(output_padding, nd, "output_padding", op)
    if any(e >= max(s, d) or e < 0 for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(f"{op}: output_padding {extra} must be smaller than either stride "
                           f"{stride} or dilation {dilation}")
    for axis, s in zip(range(2, nd + 2), stride):
        if s > 1:
            n = x.shape[axis]
            spread = _pad_constant(x.unsqueeze(axis + 1), axis + 1, 0, s - 1, 0.0)
            x = spread.reshape(x.shape[:axis] + (n * s,) + x.shape[axis + 1:]).narrow(
                axis, 0, (n - 1) * s + 1)
    reach = [d * (k - 1) - p for k, d, p in zip(kernel, dilation, padding)]
    x = _pad_spatial(x, [(r, r + e) for r, e in zip(reach, extra)])
    w = weight.reshape((groups, in_channels // groups, group_out) + kernel).transpose(1, 2)
    w = w.reshape((groups * group_out, in_channels // groups) + kernel)
    y = _conv(x, w.flip(*range(2, nd + 2)), bias, 1, 0, dilation, groups, nd)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """Transposed 1-d convolution of (N, C_in, L) or (C_in, L) input, with weight
    (in_channels, out_channels / groups, kernel): the output is
    (L - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 long."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """Transposed 2-d convolution (the gradient of conv2d with respect to its input) of
    (N, C_in, H, W) or (C_in, H, W) input, with weight (in_channels, out_channels / groups,
    kH, kW); often used to upsample.

    Examples
    --------
    >>> F.conv_transpose2d(tl.randn(1, 4, 5, 5), tl.randn(4, 2, 3, 3), stride=2).shape
    (1, 2, 11, 11)
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                     output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """Transposed 3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) input, with
    weight (in_channels, out_channels / groups, kD, kH, kW); see conv_transpose2d."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 3)


def _pool_source(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                 stride: int | Sequence[int] | None, padding: int | Sequence[int],
                 dilation: int | Sequence[int], ceil_mode: bool, nd: int, op: str,
                 value: float, inside_first: bool = False
                 ) -> tuple[Tensor, tuple, np.ndarray, list, bool]:
    """A pool's padded input and windows, as `_window_source` gives them, plus the (before,
    after) padding and whether the input was unbatched. ceil_mode pads the end so that a
    last, partial window fits, as long as it starts inside the input or its left padding
    (PyTorch's rule).
    """
    x, unbatched = _batched(input, nd, op)
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    no_stride = stride is None or not isinstance(stride, (int, np.integer)) and not len(stride)
    stride = kernel if no_stride else _ntuple(stride, nd, "stride", op)
    padding = _ntuple(padding, nd, "padding", op)
    dilation = _ntuple(dilation, nd, "dilation", op)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < 0 or 2 * p > w for p, w in zip(padding, span)):
        raise RuntimeError(f"{op}: padding {padding} should be at most half of the kernel "
                           f"{span} (non-negative)")
    pads = []
    for size, p, w, s in zip(x.shape[2:], padding, span, stride):
        extra = 0
        if ceil_mode and s > 0 and size + 2 * p >= w:
            out = -(-(size + 2 * p - w) // s) + 1
            if (out - 1) * s >= size + p:
                out -= 1
            extra = max(0, (out - 1) * s + w - (size + 2 * p))
        pads.append((p, p + extra))
    flat, out, index = _window_source(x, kernel, stride, dilation, pads, op, value,
                                      inside_first=inside_first)
    return flat, out, index, pads, unbatched


def _window_max(flat: Tensor, index: np.ndarray, out: tuple,
                unbatched: bool) -> tuple[Tensor, np.ndarray, tuple]:
    """The largest element of each window of (N, C, P) `flat` (window l holds the elements
    at index[l]) shaped to (N, C, *out) (the batch dim dropped again for unbatched input),
    the (N, C, L) positions in `flat` flattened they were taken from, and that shape.

    Only the picked elements are gathered (the windows, K times the input, never are), and
    the gradient goes to them alone: the first of tied maxima, as in PyTorch."""
    n, c = flat.shape[:2]
    picked = be.active.window_argmax(flat.numpy(), index)
    shape = (n, c) + tuple(out)
    values = flat.reshape(-1)[picked].reshape(shape)
    return (values.squeeze(0) if unbatched else values), picked, shape


def _max_pool(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
              stride: int | Sequence[int] | None, padding: int | Sequence[int],
              dilation: int | Sequence[int], ceil_mode: bool, return_indices: bool,
              nd: int) -> Tensor | tuple[Tensor, Tensor]:
    """The largest element of each window; the gradient goes to the first of tied maxima in
    the input, as PyTorch's does. The padding (-inf, or an integer type's least value) is
    listed after the input in each window, so it is never picked, even where it ties."""
    op = f"max_pool{nd}d"
    low = np.iinfo(input.dtype).min if input.dtype.kind in "iu" else -math.inf
    flat, out, index, pads, unbatched = _pool_source(
        input, kernel_size, stride, padding, dilation, ceil_mode, nd, op, low,
        inside_first=True)
    values, picked, shape = _window_max(flat, index, out, unbatched)
    if not return_indices:
        return values
    # NOTE: PyTorch's indices are flat positions in each unpadded (H, W) plane
    spatial = input.shape[-nd:]
    padded = tuple(n + before + after for n, (before, after) in zip(spatial, pads))
    coords = np.unravel_index(picked % math.prod(padded), padded)
    flat = np.ravel_multi_index(tuple(c - before for c, (before, _) in zip(coords, pads)),
                                spatial)
    indices = Tensor(flat.reshape(shape).astype(np.int64))
    return values, indices.squeeze(0) if unbatched else indices


def max_pool1d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window of (N, C, L) or (C, L) input; stride defaults to the kernel.

    With `return_indices`, also each maximum's position along L (int64).
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    kernel_size, stride, padding, dilation : int or (int, int)
        stride defaults to kernel_size; padding (at most half the kernel) never wins the max.
    ceil_mode : bool
        Round the output size up, so a last partial window is kept.
    return_indices : bool
        Also return each maximum's flat position in its (H, W) plane (int64).

    Examples
    --------
    >>> F.max_pool2d(tl.randn(1, 3, 8, 8), 2).shape
    (1, 3, 4, 4)
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)


def max_pool3d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window of (N, C, D, H, W) or (C, D, H, W) input (see max_pool2d);
    indices are flat positions in each (D, H, W) volume."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 3)


def _always_with_indices(pool: Callable[..., Any]) -> Callable[..., tuple[Tensor, Tensor]]:
    """PyTorch's `<pool>_with_indices`: `pool` that always returns (values, indices); its
    own `return_indices` argument is accepted and ignored, as PyTorch does."""
    names = list(inspect.signature(pool).parameters)
    at = names.index("return_indices")

    def with_indices(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        kwargs.pop("return_indices", None)
        return pool(*args[:at], **kwargs, return_indices=True)

    with_indices.__name__ = with_indices.__qualname__ = pool.__name__ + "_with_indices"
    with_indices.__doc__ = f"{pool.__name__}(..., return_indices=True): (values, indices)."
    return with_indices


def _unpool_size(x: Tensor, kernel: tuple, stride: tuple, padding: tuple,
                 output_size: Sequence[int] | None, op: str) -> tuple[int, ...]:
    """The unpooled spatial size: (in - 1) * stride - 2 * padding + kernel per dim, or
    `output_size` (with or without its N, C dims) if it lies within a stride of that."""
    nd = len(kernel)
    default = tuple((n - 1) * s + k - 2 * p
                    for n, k, s, p in zip(x.shape[-nd:], kernel, stride, padding))
    if output_size is None:
        return default
    size = tuple(int(n) for n in output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"{op}: output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d, (n, want, s) in enumerate(zip(default, size, stride)):
        if not n - s < want < n + s:
            raise ValueError(f'{op}: invalid output_size "{size}" (dim {d} must be between '
                             f"{n - s} and {n + s})")
    return size


def _max_unpool(input: Tensor, indices: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                stride: int | Sequence[int] | None, padding: int | Sequence[int],
                output_size: Sequence[int] | None, nd: int) -> Tensor:
    """The inverse of max_pool with return_indices: zeros, with each value written back at
    its index (a flat position in its unpooled plane); the gradient reads it from there."""
    op = f"max_unpool{nd}d"
    x, unbatched = _batched(input, nd, op)
    if indices.shape != input.shape or indices.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer indices of the input's shape {input.shape}, "
                           f"got {indices.dtype} of shape {indices.shape}")
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None else _ntuple(stride, nd, "stride", op)
    size = _unpool_size(x, kernel, stride, _ntuple(padding, nd, "padding", op), output_size, op)
    n, c = x.shape[:2]
    flat = indices.numpy().reshape(n, c, math.prod(indices.shape[2:]))
    total = math.prod(size)
    if flat.size and (flat.min() < 0 or flat.max() >= total):
        raise RuntimeError(f"{op}: Found an invalid max index: {flat.max()} (output volumes "
                           f"are of size {'x'.join(map(str, size))})")
    out = zeros(n, c, total, dtype=x.dtype).scatter(2, flat, x.flatten(2))
    out = out.reshape((n, c) + size)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                 stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Undo max_pool1d: (N, C, L_out) values back at their indices in zeros (N, C, L)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                 stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Undo max_pool2d: each value back at its index in an (H, W) plane of zeros.

    Examples
    --------
    >>> x = tl.randn(1, 1, 4, 4)
    >>> out, idx = F.max_pool2d(x, 2, return_indices=True)
    >>> F.max_unpool2d(out, idx, 2, output_size=x.shape).shape == x.shape
    True
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                 stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Undo max_pool3d: each value back at its index in a (D, H, W) volume of zeros."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


def _avg_pool(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
              stride: int | Sequence[int] | None, padding: int | Sequence[int],
              ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
              nd: int) -> Tensor:
    """The mean of each window: its sum over the number of elements it covers in the input
    (and in the padding with count_include_pad; never the end that ceil_mode adds)."""
    op = f"avg_pool{nd}d"
    flat, out, index, pads, unbatched = _pool_source(
        input, kernel_size, stride, padding, 1, ceil_mode, nd, op, 0.0)
    windows = flat[:, :, index]
    if divisor_override:
        divisor = np.asarray(divisor_override, dtype=windows.dtype)
    else:
        spatial = input.shape[-nd:]
        counted = np.zeros(tuple(n + b + a for n, (b, a) in zip(spatial, pads)))
        region = tuple(slice(0, n + 2 * b) if count_include_pad else slice(b, n + b)
                       for n, (b, _) in zip(spatial, pads))
        counted[region] = 1
        divisor = counted.reshape(-1)[index].sum(-1).astype(windows.dtype)
    total = windows.sum(-1)
    if total.dtype.kind in "iu":  # NOTE: integer pools divide with C's truncation, as PyTorch
        mean = (total.double() / Tensor(divisor.astype(np.float64))).trunc().to(total.dtype)
    else:
        mean = total / Tensor(divisor)
    mean = mean.reshape(windows.shape[:2] + out)
    return mean.squeeze(0) if unbatched else mean


def avg_pool1d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """The mean of each window of (N, C, L) or (C, L) input; stride defaults to the kernel."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     None, 1)


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    count_include_pad : bool
        Count the zero padding in each window's size (True), or only the input's elements.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Examples
    --------
    >>> F.avg_pool2d(tl.randn(1, 3, 8, 8), 2).shape
    (1, 3, 4, 4)
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def avg_pool3d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
               stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each window of (N, C, D, H, W) or (C, D, H, W) input (see avg_pool2d)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


def _lp_pool(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],  # noqa: A002
             stride: int | Sequence[int] | None, ceil_mode: bool, nd: int) -> Tensor:
    """(sum over each window of x^p)^(1/p), as PyTorch computes it: an average pool of x^p
    times the window size, as sign(s) * relu(|s|) (a signed sum for p = 1; a negative sum's
    root NaN for p = 3), then the root."""
    mean = _avg_pool(input ** norm_type, kernel_size, stride, 0, ceil_mode, True, None, nd)
    size = math.prod(_ntuple(kernel_size, nd, "kernel_size", f"lp_pool{nd}d"))
    return (mean.sign() * mean.abs().relu() * size) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int,  # noqa: A002
              stride: int | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, L) input: p = 1 is sum pooling, p = inf max pooling."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],  # noqa: A002
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, H, W) input (see lp_pool1d)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],  # noqa: A002
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, D, H, W) input (see lp_pool1d)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def _adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows: window i covers input [floor(i*size/out),
    ceil((i+1)*size/out)); they overlap when out does not divide size."""
    i = np.arange(out)
    return i * size // out, -(-(i + 1) * size // out)


def _adaptive_weights(size: int, out: int) -> np.ndarray:
    """(out, size) averaging matrix: row i is 1 / length over adaptive window i."""
    starts, ends = _adaptive_bounds(size, out)
    positions = np.arange(size)
    inside = (positions >= starts[:, None]) & (positions < ends[:, None])
    return inside / (ends - starts)[:, None]


def _adaptive_sizes(input: Tensor, output_size: int | Sequence[int | None],  # noqa: A002
                    nd: int, op: str) -> tuple[Tensor, bool, tuple[int, ...]]:
    """The batched input, whether it came unbatched, and the output size per spatial dim
    (None keeps that dim), all checked positive."""
    x, unbatched = _batched(input, nd, op)
    sizes = ((output_size,) * nd if isinstance(output_size, (int, np.integer))
             else tuple(output_size))
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or {nd} ints, got {output_size}")
    sizes = tuple(n if out is None else int(out) for n, out in zip(x.shape[2:], sizes))
    if any(out < 1 or n < 1 for n, out in zip(x.shape[2:], sizes)):
        raise RuntimeError(f"{op}: output size {sizes} and input size {x.shape[2:]} (input "
                           f"{input.shape}) must be positive")
    return x, unbatched, sizes


def _adaptive_avg_pool(input: Tensor, output_size: int | Sequence[int | None],  # noqa: A002
                       nd: int) -> Tensor:
    """Average over PyTorch's adaptive windows: one averaging matmul per spatial dim (the
    windows differ in size, so they are not one strided gather)."""
    x, unbatched, sizes = _adaptive_sizes(input, output_size, nd, f"adaptive_avg_pool{nd}d")
    for i, (n, out) in enumerate(zip(x.shape[2:], sizes)):
        if out != n:
            x = _mix_along(x, 2 + i, _adaptive_weights(n, out))
    return x.squeeze(0) if unbatched else x


def _mix_along(x: Tensor, axis: int, weights: np.ndarray) -> Tensor:
    """Each output along `axis` a fixed weighted sum of the inputs: one matmul with the
    (out, n) matrix `weights`."""
    return (x.transpose(axis, -1) @ Tensor(weights.T.astype(x.dtype))).transpose(axis, -1)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:  # noqa: A002
    """Average (N, C, L) or (C, L) input down to length `output_size`."""
    return _adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor,  # noqa: A002
                        output_size: int | Sequence[int | None]) -> Tensor:
    """Average (N, C, H, W) or (C, H, W) input down to `output_size` (None keeps that dim).

    Examples
    --------
    >>> F.adaptive_avg_pool2d(tl.randn(2, 8, 7, 7), 1).shape  # global average pooling
    (2, 8, 1, 1)
    """
    return _adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor,  # noqa: A002
                        output_size: int | Sequence[int | None]) -> Tensor:
    """Average (N, C, D, H, W) or (C, D, H, W) input down to `output_size` (None keeps that
    dim)."""
    return _adaptive_avg_pool(input, output_size, 3)


def _adaptive_max_pool(input: Tensor, output_size: int | Sequence[int | None],  # noqa: A002
                       return_indices: bool, nd: int) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum over each of PyTorch's adaptive windows, gathered with one index as the
    fixed pools are: a shorter window repeats its last element, which a max ignores (the
    gradient goes to the first of tied maxima, so never to a repeat)."""
    x, unbatched, sizes = _adaptive_sizes(input, output_size, nd, f"adaptive_max_pool{nd}d")
    spatial = x.shape[2:]
    index = np.zeros((1, 1), np.intp)
    for n, out in zip(spatial, sizes):
        starts, ends = _adaptive_bounds(n, out)
        along = np.minimum(starts[:, None] + np.arange((ends - starts).max()), ends[:, None] - 1)
        index = (index[:, None, :, None] * n + along[None, :, None, :]).reshape(
            index.shape[0] * out, -1)
    values, picked, shape = _window_max(x.flatten(2), index, sizes, unbatched)
    if not return_indices:
        return values
    flat = (picked % math.prod(spatial)).reshape(shape)
    return values, Tensor(flat[0] if unbatched else flat)


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int],  # noqa: A002
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each adaptive window of (N, C, L) or (C, L) input (`output_size` of
    them); with `return_indices`, also each maximum's position along L."""
    return _adaptive_max_pool(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor,  # noqa: A002
                        output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each adaptive window of (N, C, H, W) or (C, H, W) input (None in
    `output_size` keeps that dim); with `return_indices`, also each maximum's flat position
    in its (H, W) plane.

    Examples
    --------
    >>> F.adaptive_max_pool2d(tl.randn(2, 8, 7, 5), (3, None)).shape
    (2, 8, 3, 5)
    """
    return _adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input: Tensor,  # noqa: A002
                        output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each adaptive window of (N, C, D, H, W) or (C, D, H, W) input; with
    `return_indices`, also each maximum's flat position in its (D, H, W) volume."""
    return _adaptive_max_pool(input, output_size, return_indices, 3)


def _fractional_starts(sample: np.ndarray, size: int, out: int, kernel: int) -> np.ndarray:
    """Each window's start along one dim, for every plane's sample in [0, 1): PyTorch's
    pseudo-random sequence, int((i + u) * alpha) - int(u * alpha) with alpha = (size -
    kernel) / (out - 1) in the samples' dtype, and the last window at the end."""
    alpha = sample.dtype.type(size - kernel) / sample.dtype.type(max(out - 1, 1))
    steps = np.arange(out, dtype=sample.dtype)
    starts = ((steps + sample[..., None]) * alpha).astype(np.int64) \
        - (sample * alpha).astype(np.int64)[..., None]
    if out:
        starts[..., -1] = size - kernel
    return starts


def _fractional_max_pool(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                         output_size: int | Sequence[int] | None,
                         output_ratio: float | Sequence[float] | None, return_indices: bool,
                         _random_samples: Tensor | None, nd: int) -> Any:
    """Fractional max pooling (Graham, 2014): windows of `kernel_size` at pseudo-random
    starts that shrink each spatial dim to `output_size` (or `output_ratio` of it); one
    uniform sample per plane and dim (`_random_samples`, (N, C, nd), drawn when not given)
    places them. The first of tied maxima wins, a nan over any number, as in PyTorch."""
    op = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    x, unbatched = _batched(input, nd, op)
    for d in range(0 if unbatched else 1, input.ndim):
        if not input.shape[d]:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got{list(input.shape)} with dimension {d} "
                               "being empty.")
    spatial = x.shape[2:]
    kernel = _ntuple(kernel_size, nd, "kernel_size", op)
    if output_size is None:
        ratio = (output_ratio,) * nd if isinstance(output_ratio, (int, float)) else output_ratio
        if len(ratio) == 1:
            ratio = tuple(ratio) * nd
        out = tuple(int(n * r) for n, r in zip(spatial, ratio))
    else:
        out = _ntuple(output_size, nd, "output_size", op)
    # NOTE: PyTorch's own checks: o + k - 1 <= n in 2-d; < n in 3-d, time, width, height
    where = f"{op}_out()" if nd == 3 else f"{op}()"
    checks = list(zip(("time", "height", "width")[3 - nd:], spatial, kernel, out))
    for name, n, k, o in checks if nd == 2 else [checks[0], checks[2], checks[1]]:
        if o + k - 1 > n or nd == 3 and o + k - 1 == n:
            raise RuntimeError(f"{where}: pool {name} {k} too large relative to input {name} "
                               f"{n}")
    samples = (rand(*x.shape[:2], nd, dtype=x.dtype) if _random_samples is None
               else _random_samples).numpy()
    if samples.shape != (*x.shape[:2], nd):
        raise RuntimeError(f"{op}(): expected _random_samples of shape {(*x.shape[:2], nd)}, "
                           f"got {samples.shape}")
    # NOTE: PyTorch reads a 2-d plane's samples as (W, H), a 3-d volume's as (T, H, W)
    order = (1, 0) if nd == 2 else tuple(range(nd))
    windows = np.zeros((*x.shape[:2], *out, *kernel), np.int64)  # flat positions per plane
    for d in range(nd):
        starts = _fractional_starts(samples[..., order[d]], spatial[d], out[d], kernel[d])
        along = starts.reshape(*x.shape[:2], *(1,) * d, out[d], *(1,) * (2 * nd - d - 1)) \
            + np.arange(kernel[d]).reshape(*(1,) * (2 + nd + d), kernel[d],
                                           *(1,) * (nd - d - 1))
        windows = windows + along * math.prod(spatial[d + 1:])
    windows = windows.reshape(*x.shape[:2], math.prod(out), math.prod(kernel))
    flat = x.reshape(*x.shape[:2], math.prod(spatial))  # NOTE: not -1: a batch may be empty
    every = windows.reshape(*x.shape[:2], windows.shape[2] * windows.shape[3])
    values = np.take_along_axis(flat.numpy(), every, 2).reshape(windows.shape)
    nan = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
    best = np.where(nan.any(-1), values.shape[-1] - 1 - np.argmax(nan[..., ::-1], -1),
                    np.argmax(np.where(nan, -np.inf, values), -1))
    picked = np.take_along_axis(windows, best[..., None], -1)[..., 0]
    result = flat.gather(2, Tensor(picked)).reshape(*x.shape[:2], *out)
    indices = Tensor(picked.reshape(*x.shape[:2], *out))
    if unbatched:
        result, indices = result.squeeze(0), indices.squeeze(0)
    return (result, indices) if return_indices else result


def fractional_max_pool2d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                          output_size: int | Sequence[int] | None = None,
                          output_ratio: float | Sequence[float] | None = None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None) -> Any:
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input to `output_size` (or
    `output_ratio` of H, W): see `_fractional_max_pool`. Indices are flat in each plane."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples, 2)


def fractional_max_pool3d(input: Tensor, kernel_size: int | Sequence[int],  # noqa: A002
                          output_size: int | Sequence[int] | None = None,
                          output_ratio: float | Sequence[float] | None = None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None) -> Any:
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) input (see
    fractional_max_pool2d); indices are flat in each (D, H, W) volume."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples, 3)


(max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices,
 adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,
 adaptive_max_pool3d_with_indices, fractional_max_pool2d_with_indices,
 fractional_max_pool3d_with_indices) = map(_always_with_indices, (
     max_pool1d, max_pool2d, max_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
     adaptive_max_pool3d, fractional_max_pool2d, fractional_max_pool3d))


# --- resampling -----------------------------------------------------------------------------
# mode: the number of spatial dims it needs (None: any of 1, 2 or 3)
_INTERPOLATE_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1,
                      "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,  # noqa: A002
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to
    `size`, or to floor(size * scale_factor), as PyTorch does.

    Each dim is resampled in turn by gathering along it, so the gradient of an input
    element adds up over the outputs that read it.

    Parameters
    ----------
    mode : 'nearest', 'nearest-exact', 'area' (adaptive average pooling), 'linear' (3-D
        input), 'bilinear' or 'bicubic' (4-D input), 'trilinear' (5-D input)
    align_corners : bool, optional
        For the interpolating modes: map the corner pixels' centres onto each other (True),
        or the corners of the grids (False, the default).
    recompute_scale_factor : bool, optional
        With `scale_factor`, sample at input/output size rather than at 1 / scale_factor.
    antialias : bool
        For 'bilinear' and 'bicubic': when shrinking, widen the kernel to the output's pixel
        size, so every input pixel counts (PIL's resampling; PyTorch's antialias=True).

    Examples
    --------
    >>> F.interpolate(tl.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
    (1, 3, 8, 8)
    """
    if mode not in _INTERPOLATE_MODES:
        raise NotImplementedError(f"interpolate: mode must be one of "
                                  f"{tuple(_INTERPOLATE_MODES)}, got {mode!r}")
    nd = input.ndim - 2
    needed = _INTERPOLATE_MODES[mode]
    if nd not in (1, 2, 3) or needed not in (None, nd):
        needs = f"{needed + 2}-D" if needed else "3-D, 4-D or 5-D"
        raise NotImplementedError(f"interpolate: got {input.ndim}-D input {input.shape}, but "
                                  f"mode {mode!r} needs {needs} input (N, C, *spatial)")
    if needed is None and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = input.shape[2:]
    if size is not None:
        sizes, scales = _ntuple(size, nd, "size", "interpolate"), (None,) * nd
    else:
        factors = ((float(scale_factor),) * nd if isinstance(scale_factor, (int, float))
                   else tuple(float(f) for f in scale_factor))
        if len(factors) != nd:
            raise ValueError(f"interpolate: scale_factor must be a number or {nd} numbers, "
                             f"got {scale_factor}")
        sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))
        scales = (None,) * nd if recompute_scale_factor else factors
    if any(out < 1 for out in sizes):
        raise ValueError(f"interpolate: output size {sizes} (input {input.shape}) must be "
                         "positive")
    if mode == "area":
        return _adaptive_avg_pool(input, sizes, nd)
    # NOTE: PyTorch resizes a uint8 image to uint8 one dim at a time, the last first, rounding
    # after each pass (its fixed-point weights can still land 1 or 2 away)
    image = needed is not None and input.dtype == np.uint8
    out = input.float() if image else input
    passes = list(zip(range(2, input.ndim), spatial, sizes, scales))
    for axis, n, size_out, factor in reversed(passes) if image else passes:
        if needed is None:
            out = out.index_select(axis, _nearest_source(n, size_out, factor, mode))
        elif antialias:
            out = _mix_along(out, axis, _antialias_weights(n, size_out, factor,
                                                           bool(align_corners), mode == "bicubic",
                                                           out.dtype))
        else:
            out = _interpolate_along(out, axis, n, size_out, factor, bool(align_corners),
                                     mode == "bicubic")
        if image:
            out = out.round().clamp(0, 255)
    return out.to(np.uint8) if image else out


def upsample(input: Tensor, size: int | Sequence[int] | None = None,  # noqa: A002
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """`interpolate` under its older name (deprecated in PyTorch, still in older code)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,  # noqa: A002
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """`interpolate(..., mode='nearest')` (deprecated in PyTorch)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,  # noqa: A002
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """`interpolate(..., mode='bilinear', align_corners=True)`: PyTorch's older function
    aligns the corners, unlike interpolate's default."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _source_scale(n: int, out: int, factor: float | None, dtype: np.dtype) -> np.ndarray:
    """Input positions per output position: 1 / scale_factor if given, else n / out (in the
    precision PyTorch's kernels use, so floors land where PyTorch's do)."""
    return dtype.type(1.0 / factor) if factor else dtype.type(n) / dtype.type(out)


def _nearest_source(n: int, out: int, factor: float | None, mode: str) -> np.ndarray:
    """Where each output position reads from: floor(i * scale), or floor((i + 0.5) * scale)
    for 'nearest-exact', at most n - 1."""
    dst = np.arange(out, dtype=np.float32)
    if mode == "nearest-exact":
        dst += 0.5
    src = np.floor(dst * _source_scale(n, out, factor, np.dtype(np.float32)))
    return np.minimum(src.astype(np.intp), n - 1)


# NOTE: the cubic convolution kernel's A, as in PyTorch (Keys' -0.5 is another choice)
_CUBIC_A = -0.75


def _cubic_near(d: Any, a: float = _CUBIC_A) -> Any:
    """Keys' cubic convolution kernel at distance d in [0, 1] (arrays or Tensors)."""
    return ((a + 2) * d - (a + 3)) * d * d + 1


def _cubic_far(d: Any, a: float = _CUBIC_A) -> Any:
    """Keys' cubic convolution kernel at distance d in [1, 2]."""
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a


def _interpolate_along(x: Tensor, axis: int, n: int, out: int, factor: float | None,
                       align_corners: bool, cubic: bool) -> Tensor:
    """Linear (2 taps) or cubic (4 taps, Keys' kernel) interpolation along `axis`: each output
    is a fixed mix of the inputs nearest its source position (edge taps repeat the edge)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    dst = np.arange(out, dtype=dtype)
    if align_corners:
        src = dst * dtype.type((n - 1) / (out - 1) if out > 1 else 0)
    else:
        src = (dst + dtype.type(0.5)) * _source_scale(n, out, factor, dtype) - dtype.type(0.5)
        if not cubic:  # NOTE: PyTorch clamps the linear modes' source at 0, not the cubic one
            src = np.maximum(src, 0)
    low = np.floor(src)
    t = np.clip(src - low, 0, 1).astype(dtype)
    low = low.astype(np.intp)
    if cubic:
        taps = [(low + k, w) for k, w in zip(range(-1, 3), (
            _cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t), _cubic_far(2 - t)))]
    else:
        taps = [(low, 1 - t), (low + 1, t)]
    shape = (out,) + (1,) * (x.ndim - axis - 1)
    mixed = None
    for at, w in taps:
        term = x.index_select(axis, np.clip(at, 0, n - 1)) * Tensor(w.astype(dtype).reshape(shape))
        mixed = term if mixed is None else mixed + term
    return mixed


def _align_corners(align_corners: bool | None, op: str) -> bool:
    """align_corners, False when not given, with PyTorch's warning about that default."""
    if align_corners is None:
        warnings.warn(f"Default {op} behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See "
                      "the documentation of grid_sample for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps `theta` for grid_sample: (N, H, W, 2) from
    (N, 2, 3) theta and size (N, C, H, W), or (N, D, H, W, 3) from (N, 3, 4) and
    (N, C, D, H, W). Output coordinates span [-1, 1] (the pixel centres' span unless
    align_corners), listed x (width) first.

    Examples
    --------
    >>> identity = tl.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    >>> F.affine_grid(identity, (1, 3, 4, 5), align_corners=False).shape
    (1, 4, 5, 2)
    """
    size = tuple(int(n) for n in size)
    nd = len(size) - 2
    if nd not in (2, 3) or theta.ndim != 3 or theta.shape != (size[0], nd, nd + 1):
        raise ValueError(f"affine_grid: expected theta (N, 2, 3) with size (N, C, H, W), or "
                         f"(N, 3, 4) with size (N, C, D, H, W); got theta {theta.shape} and "
                         f"size {size}")
    if min(size[2:]) <= 0:
        raise ValueError(f"affine_grid: expected a non-zero, positive output size, got {size}")
    corners = _align_corners(align_corners, "affine_grid")
    dtype = theta.dtype if theta.dtype.kind == "f" else np.dtype(np.float32)
    axes = []
    for n in size[2:]:
        line = np.linspace(-1, 1, n, dtype=np.float64) if n > 1 else np.zeros(1)
        axes.append(line if corners else line * (n - 1) / n)
    # NOTE: the last column of theta shifts; x (the last spatial dim) comes first
    mesh = list(np.meshgrid(*axes, indexing="ij"))[::-1]
    base = np.stack(mesh + [np.ones_like(mesh[0])], -1).astype(dtype).reshape(1, -1, nd + 1)
    grid = Tensor(base) @ theta.transpose(1, 2)
    return grid.reshape(size[:1] + size[2:] + (nd,))


def _unnormalize(coord: Tensor, n: int, align_corners: bool) -> Tensor:
    """Normalised grid coordinates in [-1, 1] along a dim of size n as pixel positions."""
    if align_corners:
        return (coord + 1) * ((n - 1) / 2)
    return ((coord + 1) * n - 1) / 2


def _bound(coord: Tensor, n: int, padding_mode: str, align_corners: bool) -> Tensor:
    """Pixel positions moved inside [0, n - 1] by PyTorch's border (clamped) or reflection
    (mirrored, then clamped) padding; 'zeros' leaves them where they are."""
    if padding_mode == "reflection":
        low, span = (0.0, n - 1.0) if align_corners else (-0.5, float(n))
        if span <= 0:
            return coord * 0
        distance = coord - low
        distance = where(distance < 0, -distance, distance)
        flips = np.floor(distance.numpy() / span)
        extra = distance - Tensor((flips * span).astype(distance.dtype))
        coord = where(flips % 2 == 0, extra + low, span - extra + low)
    if padding_mode in ("border", "reflection"):
        # NOTE: not clamp: PyTorch's clip passes no gradient at the bounds either
        coord = where(coord <= 0, 0.0, where(coord >= n - 1, float(n - 1), coord))
    return coord


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDING = ("zeros", "border", "reflection")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",  # noqa: A002
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample (N, C, H, W) input at the (N, H_out, W_out, 2) grid's (x, y) positions, given in
    [-1, 1] (-1: the left/top edge); (N, C, D, H, W) input takes a (..., 3) grid of (x, y, z).

    mode 'bilinear' (trilinear for volumes) mixes the 2^nd nearest pixels, 'nearest' picks
    one (rounding half to even), 'bicubic' (4-D input) mixes 4 x 4 with the cubic kernel of
    interpolate. Outside the input, 'zeros' reads 0, 'border' the nearest edge pixel,
    'reflection' the input mirrored at its edges. Gradients reach the input and, but for
    'nearest', the grid.
    """
    op = "grid_sample"
    if mode not in _GRID_MODES:
        raise ValueError(f"{op}: mode must be one of {_GRID_MODES}, got {mode!r}")
    if padding_mode not in _GRID_PADDING:
        raise ValueError(f"{op}: padding_mode must be one of {_GRID_PADDING}, got "
                         f"{padding_mode!r}")
    nd = input.ndim - 2
    if nd not in (2, 3) or grid.ndim != nd + 2 or grid.shape[-1] != nd or (
            grid.shape[0] != input.shape[0]):
        raise RuntimeError(f"{op}: expected input (N, C, H, W) with grid (N, H_out, W_out, 2), "
                           f"or input (N, C, D, H, W) with grid (N, D_out, H_out, W_out, 3); "
                           f"got input {input.shape} and grid {grid.shape}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"{op}: expected input and grid to have the same dtype, got "
                           f"{input.dtype} and {grid.dtype}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    corners = _align_corners(align_corners, op)
    n, c, spatial = input.shape[0], input.shape[1], input.shape[2:]
    points = grid.flatten(1, -2)  # (N, points, nd)
    # per spatial dim (first dim first): pixel positions of every output point, (N, P)
    coords = [_unnormalize(points[:, :, nd - 1 - d], size, corners)
              for d, size in enumerate(spatial)]
    if mode != "bicubic":
        coords = [_bound(x, size, padding_mode, corners) for x, size in zip(coords, spatial)]
    if mode == "bicubic":
        # NOTE: PyTorch pads the 4 taps one by one, not the point they surround
        taps = []
        for x, size in zip(coords, spatial):
            low = np.floor(x.numpy())
            t = x - Tensor(low.astype(x.dtype))
            weights = (_cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t), _cubic_far(2 - t))
            taps.append([(np.trunc(_bound(Tensor(low + k), size, padding_mode, corners).numpy())
                          .astype(np.intp), w) for k, w in zip(range(-1, 3), weights)])
        corner_sets = [list(corner) for corner in itertools.product(*taps)]
    elif mode == "nearest":
        # NOTE: weight 1 with a zero gradient, as PyTorch gives the grid in this mode
        corner_sets = [[(np.round(x.numpy()).astype(np.intp), x * 0 + 1) for x in coords]]
    else:
        lows = [np.floor(x.numpy()) for x in coords]
        fracs = [x - Tensor(low.astype(x.dtype)) for x, low in zip(coords, lows)]
        corner_sets = [[(low.astype(np.intp) + bit, frac if bit else 1 - frac)
                        for low, frac, bit in zip(lows, fracs, bits)]
                       for bits in np.ndindex(*(2,) * nd)]
    pixels = input.flatten(2).transpose(1, 2)  # (N, H * W, C)
    batch = np.arange(n)[:, None]
    out = None
    for corner in corner_sets:
        inside = np.ones(points.shape[:2], bool)
        flat = np.zeros(points.shape[:2], np.intp)
        weight = corner[0][1]
        for i, ((at, w), size) in enumerate(zip(corner, spatial)):
            inside &= (at >= 0) & (at < size)
            flat = flat * size + np.clip(at, 0, size - 1)
            weight = weight * w if i else weight
        term = pixels[batch, flat] * where(inside, weight, 0.0).unsqueeze(-1)
        out = term if out is None else out + term
    return out.transpose(1, 2).reshape((n, c) + grid.shape[1:-1])


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (Concrete) distribution: softmax((logits + g) / tau)
    with Gumbel(0, 1) noise g. `hard` returns the one-hot of its argmax in the forward pass
    and the soft sample's gradient in the backward (the straight-through estimator).

    Examples
    --------
    >>> y = F.gumbel_softmax(tl.randn(4, 10), tau=0.5, hard=True)
    >>> y.sum(-1).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    gumbels = Tensor(-np.log(generator().exponential(1.0, logits.shape)).astype(logits.dtype))
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    axis = logits._axis(dim, "gumbel_softmax")
    y_hard = np.zeros(logits.shape, logits.dtype)
    np.put_along_axis(y_hard, np.expand_dims(y_soft.numpy().argmax(axis), axis), 1, axis)
    return y_soft - y_soft.detach() + Tensor(y_hard)


def _antialias_weights(n: int, out: int, factor: float | None, align_corners: bool,
                       cubic: bool, dtype: np.dtype) -> np.ndarray:
    """PyTorch's antialiased resampling along one dim, as an (out, n) matrix: output i mixes
    the inputs within the kernel's support around its centre scale * (i + 0.5), the
    triangle (linear) or cubic (A = -0.5) kernel stretched by the scale when shrinking, and
    the weights normalised to sum to 1."""
    if align_corners:
        scale = dtype.type((n - 1) / (out - 1) if out > 1 else 0)
    else:
        scale = _source_scale(n, out, factor, dtype)
    stretch = scale if scale >= 1 else dtype.type(1)
    support = dtype.type(2 if cubic else 1) * stretch
    centre = scale * (np.arange(out, dtype=dtype) + dtype.type(0.5))
    # NOTE: int64 casts truncate towards 0, as PyTorch's static_cast does
    first = np.maximum((centre - support + dtype.type(0.5)).astype(np.int64), 0)
    stop = np.minimum((centre + support + dtype.type(0.5)).astype(np.int64), n)
    j = np.arange(n)
    d = np.abs((j - centre[:, None] + dtype.type(0.5)) / stretch).astype(dtype)
    if cubic:
        w = np.where(d < 1, _cubic_near(d, -0.5), np.where(d < 2, _cubic_far(d, -0.5), 0))
    else:
        w = np.maximum(1 - d, 0)
    w = np.where((j >= first[:, None]) & (j < stop[:, None]), w, 0).astype(dtype)
    total = w.sum(1, keepdims=True)
    return w / np.where(total != 0, total, 1)


# --- more activations: learnable slope and shrinkage ----------------------------------------
def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """x where x > 0, else weight * x; `weight` holds one slope, or one per channel (dim 1).

    Examples
    --------
    >>> F.prelu(tl.tensor([-2.0, 3.0]), tl.tensor([0.25])).tolist()
    [-0.5, 3.0]
    """
    if weight.numel() == 1:  # NOTE: one slope keeps the input's shape, a 0-d one included
        slope = weight.reshape(())
    elif input.ndim < 2 or input.shape[1] != weight.numel():
        raise RuntimeError(f"prelu: {weight.numel()} slopes need input with as many "
                           f"channels in dim 1, got shape {input.shape}")
    else:
        slope = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, input * slope)


def _shrink(x: Tensor, lambd: float, shift: float) -> Tensor:
    """0 on [-lambd, lambd] (gradient 0 at its ends, as in PyTorch), x -+ shift outside."""
    return where(x > lambd, x - shift, where(x < -lambd, x + shift, 0.0))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambd must be >= 0, got {lambd}")
    return _shrink(input, lambd, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x where |x| > lambd, else 0."""
    return _shrink(input, lambd, 0.0)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    """x - tanh(x)."""
    return input - input.tanh()


# --- more norms -----------------------------------------------------------------------------
def rms_norm(input: Tensor, normalized_shape: int | Sequence[int],  # noqa: A002
             weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing `normalized_shape` dims; eps
    defaults to the machine epsilon of the input's dtype, as in PyTorch."""
    shape = _shape_tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape:
        raise RuntimeError(f"rms_norm: normalized_shape {shape} does not match the last "
                           f"dims of the input {input.shape}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return _affine(out, weight, None, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) input over each group of C / num_groups channels (and all their
    positions), then scale and shift per channel."""
    if input.ndim < 2 or num_groups < 1 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected input (N, C, *) with C divisible by "
                           f"num_groups={num_groups}, got shape {input.shape}")
    n, c = input.shape[:2]
    # NOTE: each group's size, not -1, which an empty batch (n = 0) would leave ambiguous
    group = c // num_groups * math.prod(input.shape[2:])
    centred, _, var = _standardize(input.reshape(n, num_groups, group), (2,))
    out = (centred / (var + eps).sqrt()).reshape(input.shape)
    return _affine(out, weight, bias, (1, c) + (1,) * (input.ndim - 2))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4,  # noqa: A002
                        beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta (AlexNet's LRN),
    the window padded with zeros as PyTorch pads it: size // 2 before, (size - 1) // 2 after."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3-D or higher input, got shape "
                         f"{input.shape}")
    if not input.numel():  # NOTE: PyTorch hands an empty input back, in its dtype
        return input.clone()
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, 1, c, -1)
    squares = _pad_spatial(squares, [(size // 2, (size - 1) // 2), (0, 0)])
    div = avg_pool2d(squares, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of (N, C, *) input over its positions, then
    scale and shift per channel.

    With running statistics, `use_input_stats` also moves them by `momentum` towards the
    batch's average of the per-sample means and unbiased variances (in place); without
    it, the input is normalized by the running statistics instead, as in PyTorch.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *) with at least one "
                         f"position dim, got shape {input.shape}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are needed when "
                             "use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    count = math.prod(input.shape[2:])
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {list(input.shape)}")
    centred, mean, var = _standardize(input, tuple(range(2, input.ndim)))
    if running_mean is not None or running_var is not None:
        _update_running(running_mean, running_var, mean.mean(0),
                        (var * (count / (count - 1))).mean(0), momentum)
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    return _affine(centred / (var + eps).sqrt(), weight, bias, shape)


# --- channel dropout ------------------------------------------------------------------------
def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,  # noqa: A002
                     nd: int) -> Tensor:
    """Zero whole channels (every position of one (sample, channel)) with probability p and
    scale the rest by 1/(1-p); input (N, C, *spatial) or unbatched (C, *spatial)."""
    op = f"dropout{nd}d"
    _check_dropout_p(p)
    groups = input.shape[:-nd]
    if input.ndim not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D "
                               f"(batched) input, got shape {input.shape}")
        # NOTE: PyTorch 2.13 warns and goes on: elementwise up to 2-D, else per (N, C)
        warnings.warn(f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated "
                      "and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead.",
                      UserWarning, stacklevel=3)
        if input.ndim <= 2:
            return dropout(input, p, training, inplace)
        groups = input.shape[:2]
    if not training or p == 0:
        return input
    keep = generator().random(groups + (1,) * (input.ndim - len(groups))) >= p
    scale = Tensor(keep.astype(input.dtype) * (1 / (1 - p) if p < 1 else 0.0))
    return _maybe_in_place(input, lambda x: x * scale, inplace, op)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, L) or (C, L) input: each channel is zeroed whole."""
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, H, W) or (C, H, W) input: each feature map is zeroed whole."""
    return _channel_dropout(input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) input: each volume is zeroed
    whole."""
    return _channel_dropout(input, p, training, inplace, 3)


# --- distances ------------------------------------------------------------------------------
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (PyTorch adds eps before the norm)."""
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:  # noqa: A002
    """p-norm distances between the rows of (N, M) input, for each pair i < j in row-major
    order: the condensed upper triangle of the distance matrix, N (N - 1) / 2 values."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    i, j = np.triu_indices(input.shape[0], 1)
    return (input[i] - input[j]).norm(p, -1)


# --- more losses ----------------------------------------------------------------------------
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,  # noqa: A002
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """x where the target is 1, max(0, margin - x) where it is -1 (PyTorch's two masks)."""
    reduction = _check_reduction(reduction, "hinge_embedding_loss", size_average=size_average,
                                 reduce=reduce)
    y = target.numpy()
    loss = where(y != -1, input, 0.0) + where(y != 1, (margin - input).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor,  # noqa: A002
                     size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for targets y of +-1, computed without overflow."""
    reduction = _check_reduction(reduction, "soft_margin_loss", size_average=size_average,
                                 reduce=reduce)
    if np.broadcast_shapes(input.shape, target.shape) != input.shape:
        raise RuntimeError(f"soft_margin_loss: target {target.shape} does not broadcast to "
                           f"the input's shape {input.shape}")
    return _reduce(_softplus(-target.to(input.dtype) * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor,  # noqa: A002
                                weight: Tensor | None = None,
                                size_average: bool | None = None,
                                reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of the logits against 0/1 targets, averaged over the classes
    (the last dim) of each sample."""
    op = "multilabel_soft_margin_loss"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    loss = _weighted(loss, weight)
    # NOTE: over the input's last dim, not the loss's, which a broadcast target may extend
    return _reduce(loss.sum(input.ndim - 1) / input.shape[-1], reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,  # noqa: A002
                     full: bool = False, size_average: bool | None = None,
                     eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(x) - y x for log-rates x (log_input), else
    x - y log(x + eps); `full` adds Stirling's y log y - y + log(2 pi y) / 2 where y > 1."""
    reduction = _check_reduction(reduction, "poisson_nll_loss", size_average=size_average,
                                 reduce=reduce)
    loss = (input.exp() - target * input if log_input
            else input - target * (input + eps).log())
    if full:
        big = target > 1
        safe = where(big, target, 1.0)
        loss = loss + where(big, safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5,
                            0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float,  # noqa: A002
                      full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """(log(var) + (x - y)^2 / var) / 2 (+ log(2 pi) / 2 with `full`), var clamped at eps.

    `var` is a number, or has the input's shape, or that with the last dim dropped, or with
    size 1 in one dim (shared along it). As in PyTorch the clamp passes the gradient
    through unchanged.
    """
    op = "gaussian_nll_loss"
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = full_like(input, float(var))
    elif (var.numpy() < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            var = var.unsqueeze(-1)
        elif not (var.ndim == input.ndim and sum(
                v for n, v in zip(input.shape, var.shape) if n != v) == 1):
            raise ValueError(f"{op}: var is of incorrect size: {var.shape} for input "
                             f"{input.shape} (the input's shape, that without the last dim, "
                             "or with size 1 in one dim)")
    _check_reduction(reduction, op)
    var = var + (var.clamp(min=eps) - var).detach()
    diff = input - target.to(input.dtype)
    loss = (var.log() + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance; `swap` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _check_reduction(reduction, "triplet_margin_loss", size_average=size_average,
                                 reduce=reduce)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1,  # noqa: A002
                      margin: float = 1.0, weight: Tensor | None = None,
                      size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge: sum over classes i != y of max(0, margin - x[y] + x[i])^p / C,
    each term scaled by weight[y]; input (N, C) or (C,), int64 labels (N,) or ()."""
    reduction = _check_reduction(reduction, "multi_margin_loss", size_average=size_average,
                                 reduce=reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input.reshape(1, -1) if input.ndim <= 1 else input  # NOTE: 0-d: one class, as torch
    labels = _labels(target, "multi_margin_loss").reshape(-1)
    classes = x.shape[-1]
    _check_range(labels, classes, "multi_margin_loss")
    rows = np.arange(x.shape[0])
    terms = (x - x[rows, labels].unsqueeze(1) + margin).clamp(min=0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight[labels].unsqueeze(1)
    is_label = np.arange(classes) == labels[:, None]
    loss = where(is_label, 0, terms).sum(1) / classes
    return _reduce(loss.reshape(target.shape) if input.ndim <= 1 else loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor,  # noqa: A002
                           size_average: bool | None = None, reduce: bool | None = None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge: for each target class j and each non-target class i,
    max(0, 1 - (x[j] - x[i])), summed and divided by the class count C.

    `target` has the input's shape, (C,) or (N, C): each row lists its target classes
    first and ends them at the first -1 (the rest is ignored), as in PyTorch.
    """
    op = "multilabel_margin_loss"
    reduction = _check_reduction(reduction, op, size_average=size_average, reduce=reduce)
    if input.ndim > 2 or target.shape != input.shape:
        raise RuntimeError(f"{op}: expected input (C,) or (N, C) and a target of the same "
                           f"shape, got input {input.shape} and target {target.shape}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    labels = _labels(target, op).reshape(x.shape)
    classes = x.shape[1]
    listed = np.cumprod(labels != -1, axis=1).astype(bool)  # NOTE: up to the first -1
    _check_range(labels[listed], classes, op)
    labels = np.where(listed, labels, 0)
    is_target = np.zeros(x.shape, bool)
    is_target[np.nonzero(listed)[0], labels[listed]] = True
    picked = x.gather(1, labels)  # (N, K): x[j] per listed target
    hinge = (1 - picked.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)  # (N, K, C)
    counted = listed[:, :, None] & ~is_target[:, None, :]
    loss = where(counted, hinge, 0.0).sum((1, 2)) / classes
    return _reduce(loss.reshape(()) if input.ndim < 2 else loss, reduction)


def triplet_margin_with_distance_loss(
        anchor: Tensor, positive: Tensor, negative: Tensor, *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) for any distance d (pairwise_distance by
    default); `swap` uses min(d(a, n), d(p, n)) as the negative distance."""
    op = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, op)
    if margin <= 0:
        raise ValueError(f"{op}: expected margin to be greater than 0, got {margin} instead")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"{op}: The anchor, positive, and negative tensors are expected to "
                           f"have the same number of dimensions, but got: anchor "
                           f"{anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor | Sequence[int],
             target_lengths: Tensor | Sequence[int], blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification: -log of the total probability of every
    alignment of each target to its input, by the forward (alpha) recursion in log space.

    Parameters
    ----------
    log_probs : Tensor
        (T, N, C) or unbatched (T, C) log-probabilities (e.g. log_softmax over C).
    targets : Tensor
        (N, S) padded, or 1-d: every target concatenated; labels never `blank`.
    input_lengths, target_lengths : Tensor or sequence of ints, one per sample.
    reduction : 'mean' divides each loss by its target length, then averages.
    zero_infinity : bool
        Impossible alignments (infinite loss) give 0 and no gradient instead of inf.

    As in PyTorch, the gradient returned for `log_probs` is exp(log_probs) - the alignments'
    posterior: the true gradient once it passes back through a log_softmax.
    """
    op = "ctc_loss"
    _check_reduction(reduction, op)
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"{op}: expected log_probs (T, N, C) or (T, C), got "
                           f"{log_probs.shape}")
    steps, batch, classes = lp.shape
    in_len = np.asarray(input_lengths.numpy() if isinstance(input_lengths, Tensor)
                        else input_lengths, dtype=np.intp).reshape(-1)
    tgt_len = np.asarray(target_lengths.numpy() if isinstance(target_lengths, Tensor)
                         else target_lengths, dtype=np.intp).reshape(-1)
    labels = _labels(targets, op)
    if in_len.size != batch or tgt_len.size != batch or (in_len > steps).any() or (
            in_len < 0).any():
        raise RuntimeError(f"{op}: expected {batch} input lengths in [0, {steps}] and "
                           f"{batch} target lengths, got {in_len.tolist()} and "
                           f"{tgt_len.tolist()} (log_probs {log_probs.shape})")
    longest = int(tgt_len.max()) if batch else 0
    if labels.ndim == 1:  # NOTE: the targets concatenated (an unbatched one is that too)
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        at = np.minimum(starts[:, None] + np.arange(longest), max(labels.size - 1, 0))
        labels = labels[at] if labels.size else np.zeros((batch, longest), np.intp)
    labels = labels.reshape(batch, -1)[:, :longest]
    if labels.shape[1] < longest:
        raise RuntimeError(f"{op}: targets {targets.shape} are shorter than the target "
                           f"lengths {tgt_len.tolist()}")
    real = np.arange(longest) < tgt_len[:, None]
    _check_range(labels[real], classes, op)
    # the extended labels: blank, l1, blank, l2, ..., blank (2 S + 1 states)
    states = 2 * longest + 1
    ext = np.full((batch, states), blank, np.intp)
    ext[:, 1::2] = np.where(real, labels, blank)
    skip = np.zeros((batch, states), bool)  # NOTE: s-2 -> s allowed between distinct labels
    skip[:, 3::2] = (ext[:, 3::2] != ext[:, 1:-2:2]) & real[:, 1:]
    # NOTE: a finite stand-in for log(0), so that the gradient of unreachable states is 0
    # rather than nan (exp(-inf - -inf)); losses below half of it are infinite
    never = -1e30 if lp.dtype == np.float32 else -1e300
    emit = lp.permute(1, 0, 2).gather(2, np.broadcast_to(ext[:, None, :],
                                                         (batch, steps, states)))
    alpha = where(np.arange(states) < 2, emit[:, 0], never) if steps else None
    for t in range(1, steps):
        prev1 = pad(alpha, (1, 0), value=never)[:, :-1]
        prev2 = where(skip, pad(alpha, (2, 0), value=never)[:, :-2], never)
        step = stack([alpha, prev1, prev2], 0).logsumexp(0) + emit[:, t]
        alpha = where((t < in_len)[:, None], step, alpha)
    rows = np.arange(batch)
    last = 2 * tgt_len
    if alpha is None:
        nll = zeros(batch, dtype=lp.dtype)
    else:
        before_last = where(tgt_len > 0, alpha[rows, np.maximum(last - 1, 0)], never)
        nll = -stack([alpha[rows, last], before_last], 0).logsumexp(0)
    # NOTE: PyTorch's backward returns exp(log_probs) - posterior, the gradient for logits
    # under log_softmax rather than for log_probs themselves: a term worth 0 adds exp(lp)
    probs = lp.exp() * Tensor((np.arange(steps)[:, None] < in_len).astype(lp.dtype)[:, :, None])
    nll = nll + (probs - probs.detach()).sum((0, 2))
    # NOTE: an empty input aligns with an empty target only
    impossible = (nll.numpy() > -never / 2) | ((in_len == 0) & (tgt_len > 0))
    nll = where(in_len == 0, 0.0, nll)
    nll = where(impossible, 0.0 if zero_infinity else math.inf, nll)
    if unbatched:
        nll = nll.reshape(())
    if reduction == "mean":
        lengths = Tensor(np.maximum(tgt_len, 1).astype(lp.dtype))
        return (nll / (lengths.reshape(()) if unbatched else lengths)).mean()
    return _reduce(nll, reduction)


# --- pixel shuffle and attention ------------------------------------------------------------
def _shuffle(input: Tensor, factor: int, up: bool, op: str) -> Tensor:  # noqa: A002
    """(*, C r^2, H, W) <-> (*, C, H r, W r): split the factor r out of one side, move it
    across with one permute, merge it into the other."""
    if input.ndim < 3 or factor < 1:
        raise RuntimeError(f"{op}: expected input (*, C, H, W) and a positive factor, got "
                           f"shape {input.shape} and {factor}")
    lead, (c, h, w), r = input.shape[:-3], input.shape[-3:], factor
    b = len(lead)
    if up:
        if c % (r * r):
            raise RuntimeError(f"{op}: channels ({c}) must be divisible by the square of "
                               f"upscale_factor ({r})")
        x = input.reshape(lead + (c // (r * r), r, r, h, w))
        order = (0, 3, 1, 4, 2)
        shape = lead + (c // (r * r), h * r, w * r)
    else:
        if h % r or w % r:
            raise RuntimeError(f"{op}: height ({h}) and width ({w}) must be divisible by "
                               f"downscale_factor ({r})")
        x = input.reshape(lead + (c, h // r, r, w // r, r))
        order = (0, 2, 4, 1, 3)
        shape = lead + (c * r * r, h // r, w // r)
    return x.permute(tuple(range(b)) + tuple(b + i for i in order)).reshape(shape)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C r^2, H, W) -> (*, C, H r, W r) for r = upscale_factor (sub-pixel convolution)."""
    return _shuffle(input, upscale_factor, True, "pixel_shuffle")


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    return _shuffle(input, downscale_factor, False, "pixel_unshuffle")


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """(N, g * k, *) -> (N, k * g, *): interleave the channels of the `groups` groups
    (ShuffleNet), so the next grouped conv sees channels from every group."""
    if input.ndim < 3 or groups < 1 or input.shape[1] % groups:
        raise RuntimeError(f"channel_shuffle: expected (N, C, *) input with C divisible by "
                           f"groups={groups}, got shape {input.shape}")
    n, c = input.shape[:2]
    grouped = input.reshape((n, groups, c // groups) + input.shape[2:])
    return grouped.transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over (..., L, E) queries and (..., S, E) keys.

    Parameters
    ----------
    attn_mask : Tensor, optional
        Boolean (True: may attend) or float (added to the scores); broadcasts to (..., L, S).
    is_causal : bool
        Query i attends to keys 0..i only (the top-left triangle, as in PyTorch).
    scale : float, optional
        Defaults to 1 / sqrt(E).
    enable_gqa : bool
        Grouped-query attention: keys and values with fewer heads (dim -3) than the queries,
        each shared by a group of query heads.

    Examples
    --------
    >>> q = k = v = tl.randn(2, 4, 5, 8)  # (batch, heads, length, features)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (2, 4, 5, 8)
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.shape[-3] != kv_heads:
            raise RuntimeError(f"scaled_dot_product_attention: {heads} query heads cannot be "
                               f"grouped over key and value heads {kv_heads} and "
                               f"{value.shape[-3]} (they must be equal and divide {heads})")
        key = key.repeat_interleave(heads // kv_heads, dim=-3)
        value = value.repeat_interleave(heads // kv_heads, dim=-3)
    length, size = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = Tensor(np.tril(np.ones((length, size), dtype=bool)))
    if attn_mask is not None:
        if attn_mask.dtype == np.bool_:
            scores = scores.masked_fill(~attn_mask.numpy(), -math.inf)
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = dropout(_safe_softmax(scores), dropout_p)
    return weights @ value


def _safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, with a row whose every score is -inf (a query allowed to
    attend to nothing, e.g. causal plus left padding) all 0 instead of NaN, with a zero
    gradient, as PyTorch's attention computes it: one such row no longer makes every
    parameter's gradient NaN."""
    dead = (scores == -math.inf).all(-1, keepdim=True)
    return scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)


def multi_head_attention_forward(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor | None]:
    """nn.MultiheadAttention's computation with its parameters passed in, as PyTorch's
    (it lives in nn/attention.py, beside the module)."""
    from .attention import multi_head_attention_forward as forward  # NOTE: it imports us
    return forward(*args, **kwargs)
