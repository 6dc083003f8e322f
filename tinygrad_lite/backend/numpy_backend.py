"""The eager reference backend: every primitive is one numpy call.

Ops in `ops.py` never call numpy directly; they call the active backend, so a backend that
fuses elementwise work (`numba_backend`) can replace this one without touching any op. An
array handed out by a backend is opaque to the ops: they only read `.shape`, `.dtype` and
`.ndim` and pass it back into backend calls. `realize` turns it into a numpy array.
"""
from __future__ import annotations

import functools
import math
import types

import numpy as np

from ..rng import generator
from . import cells

_F32 = np.dtype(np.float32)


def _reduction(ufunc: np.ufunc) -> staticmethod:
    """`ufunc.reduce` with np.sum's signature (np.sum & co. add ~2 µs of dispatch per call).

    Along a short last axis of many rows (a pool's windows), numpy pays a call per row: a sum
    over 2-element windows of 64x32x64 took 1.4 ms, a max over 4-element ones 6.8 ms. There
    the K columns are combined one after another instead (0.05 ms): the order numpy itself
    reduces fewer than 8 terms in, so the result is numpy's, bit for bit.
    """
    def reduce(x, axis=None, keepdims=False):
        # NOTE: the cheap tests first: this runs on every reduction (axis=None: one test)
        if axis is not None and x.ndim > 1 and 1 < x.shape[-1] < 8 \
                and axis in (-1, x.ndim - 1, (-1,), (x.ndim - 1,)) \
                and x.size >= 1024 * x.shape[-1] and x.dtype.kind == "f":
            # NOTE: from the identity, as numpy starts (a sum of -0.0s is +0.0)
            out = x[..., 0] if ufunc.identity is None else ufunc(x.dtype.type(ufunc.identity),
                                                                 x[..., 0])
            for k in range(1, x.shape[-1]):
                out = ufunc(out, x[..., k])
            return out[..., None] if keepdims else out
        return ufunc.reduce(x, axis=axis, keepdims=keepdims)

    return staticmethod(reduce)


def _libm(fn) -> staticmethod:
    """The math-module function `fn` per element, in x's dtype.

    NOTE: numpy has no erf and scipy is not a dependency: libm's math.erf per element is exact
    to libm (a polynomial fit here would not be), at ~0.1 µs an element
    """
    ufunc = np.frompyfunc(fn, 1, 1)

    def apply(x):
        return np.asarray(ufunc(x), dtype=x.dtype)

    return staticmethod(apply)


def _logarithm(ufunc: np.ufunc) -> staticmethod:
    """The logarithm `ufunc` with log(0) = -inf and denormal results (log1p(1e-40)) as
    PyTorch gives them: without numpy's divide-by-zero and underflow warnings."""
    @np.errstate(divide="ignore", under="ignore")
    def apply(x):
        return ufunc(x)

    return staticmethod(apply)


@np.errstate(divide="ignore")
def _log10(x):
    """log10, exact at powers of ten as PyTorch's: numpy's AVX-512 float32 loop is 1 ulp off
    there (log10(100) = 2.0000002), so float32 and float16 go through float64."""
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype.itemsize < 8:
        return np.log10(x, dtype=np.float64).astype(x.dtype)
    return np.log10(x)


@functools.cache
def _optim_rules() -> tuple:
    """optim's SGD and Adam rules, imported once on first use (optim imports this package,
    and an import statement in every update cost ~1 µs a parameter)."""
    from ..optim.adam import _adam_update
    from ..optim.sgd import _sgd_update

    return _sgd_update, _adam_update


def along_one_axis(index, ndim: int) -> tuple[int, np.ndarray] | None:
    """(axis, array) when `index` is full slices and then one integer array of one or more
    dims: there `x[index]` is `np.take(x, array, axis)` (and its backward adds rows along
    that axis); None for any other index."""
    last = index[-1] if type(index) is tuple and index else index
    if type(last) is not np.ndarray or last.dtype.kind not in "iu" or not last.ndim:
        return None
    axis = len(index) - 1 if type(index) is tuple else 0
    if axis >= ndim or any(type(s) is not slice or s != slice(None) for s in index[:axis]):
        return None
    return axis, last


def _cat_last(arrays: list) -> np.ndarray:
    return np.concatenate(arrays, -1)


def scalar(value, dtype) -> np.ndarray:
    """`value` as a 0-d array of `dtype`; an int out of its range wraps around, as in PyTorch
    (-3 as uint8 is 253), where numpy refuses it."""
    try:
        return np.asarray(value, dtype=dtype)
    except OverflowError:
        return np.asarray(value).astype(dtype)


def is_outer(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a @ b is an outer product: two matrices with an inner size of 1."""
    return a.ndim == 2 and b.ndim == 2 and a.shape[1] == 1 and b.shape[0] == 1


def is_wide(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a @ b is a float32 product of few rows (2 to 63), many columns (128 or more)
    and a million multiply-adds or more, which OpenBLAS computes faster as (b.T @ a.T).T: a
    layer's forward at batch 2-63.

    Measured on OpenBLAS 0.3.31 (SkylakeX kernels), 1 or 2 threads: x @ W.T for a 784-256
    layer took 95-100 µs at batch 32 and 64 µs transposed (the copy back included);
    0.5-0.8x from batch 5 to 48 and for wider layers. With 64 rows or more, fewer columns or
    fewer multiply-adds (where OpenBLAS's own small-matrix kernels run) it gained nothing or
    lost, and so did float64.
    """
    if a.ndim != 2 or b.ndim != 2 or a.dtype != _F32 or b.dtype != _F32:
        return False
    m, k = a.shape
    n = b.shape[1]
    return 2 <= m < 64 and n >= 128 and m * n * k >= 1_000_000


class NumpyBackend:
    """Eager numpy implementations of the primitive array operations."""

    name = "numpy"

    # --- conversion -----------------------------------------------------------------------
    @staticmethod
    def realize(a) -> np.ndarray:
        """A concrete numpy array for `a` (here every array already is one)."""
        return a

    @staticmethod
    def cast(a, dtype):
        if a.dtype.kind == "f" and ((dtype := np.dtype(dtype)).kind != "f"
                                    or dtype.itemsize < a.dtype.itemsize):
            # NOTE: PyTorch casts 1e5 to a float16 inf, 1e-45 to a float32 0 and nan to an
            # integer without a word; numpy's warnings would say nothing the values don't
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                return a.astype(dtype, copy=False)
        return a.astype(dtype, copy=False)

    # --- elementwise ----------------------------------------------------------------------
    add = staticmethod(np.add)
    sub = staticmethod(np.subtract)
    mul = staticmethod(np.multiply)
    div = staticmethod(np.true_divide)

    @staticmethod
    @np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")
    def pow(x, y):
        """x ** y; 0 ** -1 = inf, (-8) ** 0.5 = nan and overflow to inf are IEEE's answers,
        given silently as PyTorch gives them."""
        if np.result_type(x, y).kind not in "biu":
            return np.power(x, y)
        # NOTE: numpy refuses integers to negative powers; PyTorch truncates 1 / x**|y| (0
        # unless x is 1 or -1, whose powers keep their sign)
        negative = np.less(y, 0)
        if not negative.any():
            return np.power(x, y)
        return np.where(negative & (np.abs(x) != 1), 0, np.power(x, np.abs(y)))

    neg = staticmethod(np.negative)

    @staticmethod
    @np.errstate(under="ignore")  # NOTE: exp(-1e4) -> 0 is the right answer, not an error
    def exp(x):
        return np.exp(x)

    log = _logarithm(np.log)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    tanh = staticmethod(np.tanh)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    where = staticmethod(np.where)
    eq = staticmethod(np.equal)
    ne = staticmethod(np.not_equal)
    lt = staticmethod(np.less)
    le = staticmethod(np.less_equal)
    gt = staticmethod(np.greater)
    ge = staticmethod(np.greater_equal)

    log1p = _logarithm(np.log1p)  # NOTE: log1p(exp(-100)) of softplus: denormal in and out
    expm1 = staticmethod(np.expm1)
    log2 = _logarithm(np.log2)
    log10 = staticmethod(_log10)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tan = staticmethod(np.tan)
    asin = staticmethod(np.arcsin)
    acos = staticmethod(np.arccos)
    atan = staticmethod(np.arctan)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    asinh = staticmethod(np.arcsinh)
    acosh = staticmethod(np.arccosh)
    atanh = staticmethod(np.arctanh)
    atan2 = staticmethod(np.arctan2)
    hypot = staticmethod(np.hypot)
    copysign = staticmethod(np.copysign)

    @staticmethod
    @np.errstate(over="ignore", under="ignore")
    def logaddexp(x, y):
        # NOTE: numpy's x - y overflows for 3e38 and -3e38, and exp(-|x - y|) underflows for
        # 1e4 and -1e4; the result (the larger, or nearly) is right
        return np.logaddexp(x, y)

    floor = staticmethod(np.floor)
    ceil = staticmethod(np.ceil)
    trunc = staticmethod(np.trunc)
    round = staticmethod(np.round)  # (x, decimals=0): half to even, as PyTorch
    fmod = staticmethod(np.fmod)
    remainder = staticmethod(np.remainder)

    erf = _libm(math.erf)
    erfc = _libm(math.erfc)

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)

    @staticmethod
    def relu_backward(y, g):
        """g where relu's output y is not 0 (positive, or nan: PyTorch passes the gradient of
        a nan input too), 0 where the unit was cut (the derivative at 0 is taken as 0)."""
        # NOTE: on a layer's activations a multiply is ~3x faster than np.where, but inf * 0
        # is nan where where() gives 0 (an inf gradient at a dead unit), so the multiply is
        # taken only when g is finite; on tiny arrays that check costs more than it saves
        if g.size >= 1024 and np.isfinite(g).all():
            return g * (y != 0)
        # NOTE: y itself as the condition (nonzero, nan included) saves the `y != 0` pass;
        # a Python 0 keeps g's dtype (NEP 50)
        return np.where(y, g, 0)

    @staticmethod
    @np.errstate(under="ignore")
    def sigmoid(x):
        # NOTE: 1/(1+exp(-x)) overflows for x << 0; exp(-|x|) never does: 1/(1+e) for
        # x >= 0, e/(1+e) below (one divide for both: 7 numpy calls, not 10)
        e = np.exp(-np.abs(x))
        return np.divide(np.where(x >= 0, 1, e), 1 + e)

    @staticmethod
    @np.errstate(under="ignore")  # NOTE: y * (1 - y) is denormal where y is, at |x| ~ 100
    def sigmoid_backward(y, g):
        return g * y * (1 - y)

    @staticmethod
    def tanh_backward(y, g):
        return g * (1 - y * y)

    # --- reductions (all take axis= and keepdims=) ---------------------------------------
    sum = _reduction(np.add)
    max = _reduction(np.maximum)
    min = _reduction(np.minimum)
    prod = _reduction(np.multiply)
    cumsum = staticmethod(np.cumsum)    # (x, axis)
    cumprod = staticmethod(np.cumprod)  # (x, axis)

    @staticmethod
    def logcumsumexp(x, axis):
        return np.logaddexp.accumulate(x, axis=axis)

    argmax = staticmethod(np.argmax)
    argmin = staticmethod(np.argmin)

    @staticmethod
    @np.errstate(over="ignore", under="ignore", divide="ignore")
    def logsumexp(x, axis, keepdims=False):
        # NOTE: shifting by the max keeps exp from overflowing; an all -inf row stays -inf,
        # and so does an empty one (log(0), as in PyTorch); x - m past float's range is
        # -inf, whose exp is the 0 it should be
        m = np.maximum.reduce(x, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.add.reduce(np.exp(x - m), axis=axis, keepdims=True)) + m
        return out if keepdims else np.squeeze(out, axis=axis)

    # --- softmax cross-entropy: the classifier's loss, one call each way ---------------------
    @staticmethod
    @np.errstate(over="ignore", under="ignore")
    def cross_entropy(x, labels):
        """(log_softmax(x) over dim 1, each row's loss -logp[i, labels[i]]) for logits x
        (N, C) and int64 labels (N,), already checked to lie in [0, C). A logit more than
        float's range below its row's max (-3e38 beside 3e38) has logp -inf, as in PyTorch:
        that overflow is the right answer, not an error."""
        # NOTE: the max taken off first, so exp never overflows and the largest term is 1
        shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
        logp = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
        return logp, -logp[np.arange(len(labels)), labels]

    @staticmethod
    @np.errstate(under="ignore")
    def cross_entropy_backward(logp, labels, g):
        """(softmax - onehot(labels)) * g: g is 0-d (a reduced loss) or one value per row."""
        grad = np.exp(logp)
        grad[np.arange(len(labels)), labels] -= 1
        grad *= g.reshape(-1, 1) if g.ndim else g
        return grad

    # --- recurrent layers: every step of one, each way (the math is `cells`) -------------
    @staticmethod
    @np.errstate(under="ignore")
    def recurrent(kind, gi, w_hh_t, b_hh, states, reverse):
        """One layer of `kind` (RNN_TANH, RNN_RELU, LSTM, GRU) in one direction over every
        step, from the input products gi (T, N, G): (h at every step, the last states, what
        each step kept), as `cells.layer` says."""
        return cells.layer(kind, gi, w_hh_t, b_hh, tuple(states), reverse, _NUMPY_LIB)

    @staticmethod
    @np.errstate(under="ignore")
    def recurrent_backward(kind, grad, grad_c, w_hh, reverse, *kept):
        """`recurrent`'s gradients (`cells.layer_backward`)."""
        return cells.layer_backward(kind, grad, grad_c, w_hh, reverse, kept, _NUMPY_LIB)

    # --- linear algebra -------------------------------------------------------------------
    @staticmethod
    def matmul(a, b):
        if a.ndim > 2 and b.ndim == 2 and a.shape[-1] == b.shape[0]:
            # NOTE: numpy runs one GEMM per leading index (a Linear on (N, L, F) input: 16
            # products of 32 rows); one product of all the rows took 0.3-0.7x the time
            rows = a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
            return NumpyBackend.matmul(rows, b).reshape(a.shape[:-1] + b.shape[1:])
        if is_outer(a, b):
            # NOTE: OpenBLAS spends ~210 µs on this K=1 product (a batch-1 weight gradient,
            # 256x784) that a broadcast multiply does in ~70 µs
            return np.multiply(a, b)
        if is_wide(a, b):
            return np.ascontiguousarray(np.matmul(b.T, a.T).T)
        return np.matmul(a, b)

    einsum = staticmethod(np.einsum)  # (subscripts, *operands)
    inv = staticmethod(np.linalg.inv)  # (x): of each matrix in a batch
    det = staticmethod(np.linalg.det)

    # --- movement and indexing ------------------------------------------------------------
    # NOTE: the array methods, not np.reshape / np.transpose, whose Python wrappers cost
    # ~0.7 µs a call: these run several times in every layer's forward and backward
    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def transpose(x, axes):
        return x.transpose(axes)

    broadcast_to = staticmethod(np.broadcast_to)  # (x, shape)
    contiguous = staticmethod(np.ascontiguousarray)  # (x): a row-major copy if it is not
    flip = staticmethod(np.flip)  # (x, axis)

    @staticmethod
    def getitem(x, index):
        """x[index]; for full slices and then one integer array, np.take, which gives the same
        values C-contiguous: x[:, :, windows] came back laid out in the index's order, and
        copying that to rows (a conv's reshape) took 14x the gather itself."""
        taken = along_one_axis(index, x.ndim)
        return x[index] if taken is None else np.take(x, taken[1], axis=taken[0])

    @staticmethod
    def index_add(shape, dtype, index, g, basic: bool):
        """Zeros of `shape` with `g` added at `index`; repeated indices accumulate."""
        out = np.zeros(shape, dtype=dtype)
        if basic:
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def take_along_axis(x, indices, axis):
        return np.take_along_axis(x, indices, axis=axis)

    @staticmethod
    def put_along_axis(shape, dtype, indices, g, axis):
        out = np.zeros(shape, dtype=dtype)
        np.put_along_axis(out, indices, g, axis=axis)
        return out

    @staticmethod
    def window_argmax(x, index):
        """Where each window's largest element is, as a position in x flattened: for x of
        shape (..., P) and an (L, K) index of window elements in P, out[..., l] is row * P +
        index[l, k] for the k that maximises x[..., index[l, k]] (the first of ties, or the
        first nan, as np.argmax picks); (..., L), int64."""
        picks = np.take(x, index, axis=-1).argmax(-1)
        rows = np.arange(math.prod(x.shape[:-1]), dtype=np.int64) * x.shape[-1]
        return index[np.arange(index.shape[0]), picks] + rows.reshape(picks.shape[:-1] + (1,))

    @staticmethod
    def concatenate(xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def split(x, sizes, axis):
        """Cut `x` along `axis` into pieces of the given sizes (the inverse of concatenate)."""
        return np.split(x, np.cumsum(sizes)[:-1], axis=axis)

    # --- creation ---------------------------------------------------------------------------
    @staticmethod
    def full(shape, value, dtype):
        return np.full(shape, scalar(value, dtype), dtype=dtype)

    @staticmethod
    def arange(n):
        """0, 1, ..., n - 1 as int64: row numbers for picking one element per row."""
        return np.arange(n)

    @staticmethod
    def dropout_mask(shape, p: float):
        """A keep-mask of 1-byte booleans: True with probability 1 - p (to within 2**-16).

        Each raw 64-bit draw gives four 16-bit uniforms: 2.5-3x faster than float32 draws.
        """
        n = math.prod(shape)
        threshold = round(p * 65536)
        if threshold >= 65536:
            return np.zeros(shape, dtype=bool)
        bits = generator().bit_generator.random_raw(-(-n // 4)).view(np.uint16)[:n]
        return (bits >= np.uint16(threshold)).reshape(shape)

    @staticmethod
    def dropout_apply(x, mask, scale: float):
        return x * mask * x.dtype.type(scale)

    # --- in-place writes and optimizer steps -------------------------------------------------
    @staticmethod
    def before_write(a) -> None:
        """Called before `a` is overwritten in place (a lazy backend runs pending reads)."""

    @staticmethod
    def add_into(dst, index, g) -> None:
        """dst[index] += g in place, for a basic `index` (each place once): a slice's
        gradient added into its source's (the engine's `_add_slice`)."""
        dst[index] += np.asarray(g)  # NOTE: asarray: a pending (lazy) g is computed first

    @staticmethod
    def copy_into(dst, src) -> None:
        """Write `src` into `dst` in place, cast to its dtype: an in-place tensor op outside
        autograd (`w -= lr * w.grad` under no_grad, `zero_()`, a batch norm's statistics)."""
        np.copyto(dst, src, casting="unsafe")

    @staticmethod
    def step_in_place(p, g, rule, *args) -> None:
        """An optimizer's `rule(p, g, *args)`, which moves `p` (and its state) in place.

        Any rule is one backend call: a recorder of backend calls (TinyJit) replays the whole
        update, state and step counts included. The rules of SGD and Adam call
        `sgd_update` / `adam_update` in turn, which the numba backend fuses.
        """
        rule(p, g, *args)

    @staticmethod
    def sgd_update(p, g, buf, **options) -> None:
        """One SGD step on `p` (and its momentum `buf`) in place; the rule is optim's."""
        _optim_rules()[0](p, g, buf, **options)

    @staticmethod
    def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, **options) -> None:
        """One Adam / AdamW step on `p` and its moments in place; the rule is optim's."""
        _optim_rules()[1](p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, **options)


# the numpy functions `cells.layer` composes a layer from
_NUMPY_LIB = types.SimpleNamespace(
    sigmoid=NumpyBackend.sigmoid, tanh=np.tanh, relu=NumpyBackend.relu,
    tanh_backward=NumpyBackend.tanh_backward, relu_backward=NumpyBackend.relu_backward,
    stack=np.stack, cat=_cat_last)
