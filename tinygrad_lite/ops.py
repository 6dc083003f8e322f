"""The differentiable primitives. Each is a Function with its backward right under its forward.

Forward and backward see raw backend arrays and call only `B()` (the active backend), never
numpy math, so the numba backend can fuse them. A backward may return gradients that still
carry broadcast dimensions: the engine's `unbroadcast` reduces them, once, for every op.
Composite ops (mean, var, most losses) live in `tensor.py` and `nn/functional.py`, written in
terms of these.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import backend as be
from .autograd import Function


def B():
    """The active backend (looked up per call: `set_backend` may switch it)."""
    return be.active


# --- elementwise, binary ----------------------------------------------------------------------
class Add(Function):
    def forward(self, x, y):
        return B().add(x, y)

    def backward(self, g):
        return g, g


class Sub(Function):
    def forward(self, x, y):
        return B().sub(x, y)

    def backward(self, g):
        return g, (B().neg(g) if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, x, y):
        need_x, need_y = self.needs_input_grad
        self.save_for_backward(x if need_y else None, y if need_x else None)
        return B().mul(x, y)

    def backward(self, g):
        x, y = self.saved
        need_x, need_y = self.needs_input_grad
        return (B().mul(g, y) if need_x else None), (B().mul(g, x) if need_y else None)


class Div(Function):
    def forward(self, x, y):
        self.save_for_backward(x if self.needs_input_grad[1] else None, y)
        return B().div(x, y)

    def backward(self, g):
        x, y = self.saved
        b = B()
        gx = b.div(g, y) if self.needs_input_grad[0] else None
        gy = b.neg(b.div(b.mul(g, x), b.mul(y, y))) if self.needs_input_grad[1] else None
        return gx, gy


class Pow(Function):
    def forward(self, x, y):
        out = B().pow(x, y)
        self.save_for_backward(x, y, out)
        return out

    def backward(self, g):
        x, y, out = self.saved
        b = B()
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = b.mul(g, b.mul(y, b.pow(x, b.sub(y, 1))))
            # NOTE: d/dx x**0 is 0 even at x = 0, where y * x**(y-1) is 0 * inf = nan
            gx = b.where(b.eq(y, 0), b.full((), 0, gx.dtype), gx)
        if self.needs_input_grad[1]:
            # NOTE: d/dy x**y = x**y * log(x), PyTorch's rule: 0 where x == 0 and y >= 0 (the
            # limit), -inf where x == 0 and y < 0 (inf * -inf), nan for a negative x
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = b.mul(out, b.log(x))
            limit = b.mul(b.eq(x, 0), b.ge(y, 0))
            gy = b.mul(g, b.where(limit, b.full((), 0, slope.dtype), slope))
        return gx, gy


class _Select(Function):
    """maximum / minimum: the gradient goes to the chosen input, split evenly on ties."""

    pick: str

    def forward(self, x, y):
        out = getattr(B(), self.pick)(x, y)
        self.save_for_backward(x, y, out)
        return out

    def backward(self, g):
        x, y, out = self.saved
        b = B()
        wx = b.cast(b.eq(x, out), g.dtype)
        wy = b.cast(b.eq(y, out), g.dtype)
        total = b.add(wx, wy)
        return b.div(b.mul(g, wx), total), b.div(b.mul(g, wy), total)


class Maximum(_Select):
    pick = "maximum"


class Minimum(_Select):
    pick = "minimum"


class Where(Function):
    def forward(self, x, y, *, cond):
        self.save_for_backward(cond)
        return B().where(cond, x, y)

    def backward(self, g):
        (cond,) = self.saved
        b = B()
        zero = b.full((), 0, g.dtype)
        return b.where(cond, g, zero), b.where(cond, zero, g)


class Atan2(Function):
    """atan2(y, x), the angle of the point (x, y)."""

    def forward(self, y, x):
        self.save_for_backward(y, x)
        return B().atan2(y, x)

    def backward(self, g):
        y, x = self.saved
        b = B()
        r = b.hypot(y, x)  # NOTE: x^2 + y^2 overflows past 1e154; hypot never does
        gy = b.div(b.mul(g, b.div(x, r)), r) if self.needs_input_grad[0] else None
        gx = b.neg(b.div(b.mul(g, b.div(y, r)), r)) if self.needs_input_grad[1] else None
        return gy, gx


class Hypot(Function):
    """sqrt(x^2 + y^2) without overflowing the squares."""

    from_output = True

    def forward(self, x, y):
        out = B().hypot(x, y)
        self.save_for_backward(x, y, out)
        return out

    def backward(self, g):
        x, y, out = self.saved
        b = B()
        gx = b.mul(g, b.div(x, out)) if self.needs_input_grad[0] else None
        gy = b.mul(g, b.div(y, out)) if self.needs_input_grad[1] else None
        return gx, gy


class Copysign(Function):
    """|x| with y's sign bit (-0.0 counts as negative). y gets a zero gradient, as in PyTorch:
    its sign is a step. x's slope is ±1, also at ±inf (PyTorch's result / x gives nan)."""

    def forward(self, x, y):
        out = B().copysign(x, y)
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        b = B()
        gx = b.mul(g, b.mul(b.sign(x), b.sign(out))) if self.needs_input_grad[0] else None
        gy = b.full(g.shape, 0, g.dtype) if self.needs_input_grad[1] else None
        return gx, gy


class LogAddExp(Function):
    """log(exp(x) + exp(y)) without overflow; d/dx = sigmoid(x - y)."""

    def forward(self, x, y):
        self.save_for_backward(x, y)
        return B().logaddexp(x, y)

    def backward(self, g):
        x, y = self.saved
        b = B()
        # NOTE: x - y is inf - inf (nan, and numpy's warning) where both are the same infinity:
        # it is taken as 0 there, so each gets half, as for equal finite inputs. And x - y
        # overflows for huge opposite values: halves never do, and x/2 - y/2 is (x - y) / 2
        # bit for bit; capped at 400 (sigmoid(800) is 1 and sigmoid(-800) 0 in float64)
        same = b.eq(x, y)
        half = b.sub(b.mul(b.where(same, 0, x), 0.5), b.mul(b.where(same, 0, y), 0.5))
        d = b.mul(b.maximum(b.minimum(half, 400), -400), 2)
        gx = b.mul(g, b.sigmoid(d)) if self.needs_input_grad[0] else None
        gy = b.mul(g, b.sigmoid(b.neg(d))) if self.needs_input_grad[1] else None
        return gx, gy


class _Modulo(Function):
    """fmod / remainder: x - q * y with q = x / y rounded by `rounding` (trunc / floor), so
    d/dx = 1 and d/dy = -q, as in PyTorch."""

    fn: str
    rounding: str

    def forward(self, x, y):
        self.save_for_backward(x, y)
        return getattr(B(), self.fn)(x, y)

    def backward(self, g):
        x, y = self.saved
        b = B()
        gy = None
        if self.needs_input_grad[1]:
            gy = b.neg(b.mul(g, getattr(b, self.rounding)(b.div(x, y))))
        return g, gy


class Fmod(_Modulo):
    fn, rounding = "fmod", "trunc"


class Remainder(_Modulo):
    fn, rounding = "remainder", "floor"


class Lerp(Function):
    """start + w * (end - start), computed from the nearer end as PyTorch does (end - (1 - w)
    * (end - start) for |w| >= 0.5), so w = 1 gives `end` exactly. One node, not four."""

    def forward(self, start, end, w):
        b = B()
        d = b.sub(end, start)
        self.save_for_backward(d, w)
        from_start = b.add(start, b.mul(w, d))
        from_end = b.sub(end, b.mul(d, b.sub(1, w)))
        return b.where(b.lt(b.abs(w), 0.5), from_start, from_end)

    def backward(self, g):
        d, w = self.saved
        b = B()
        need_start, need_end, need_w = self.needs_input_grad
        return (b.mul(g, b.sub(1, w)) if need_start else None,
                b.mul(g, w) if need_end else None,
                b.mul(g, d) if need_w else None)


# --- elementwise, unary -------------------------------------------------------------------------
class Neg(Function):
    def forward(self, x):
        return B().neg(x)

    def backward(self, g):
        return B().neg(g)


class _Step(Function):
    """A piecewise-constant op (sign, floor, ceil, round, trunc): it stays in the graph with
    a gradient of 0 everywhere, PyTorch's convention also at the jumps."""

    fn: str

    def forward(self, x, **options):
        return getattr(B(), self.fn)(x, **options)

    def backward(self, g):
        # NOTE: zeros shaped like each input (a reduction's output has another shape); not
        # g * 0, which is nan where g is inf
        zeros = tuple(B().full(p.shape, 0, g.dtype) for p in self.parents)
        return zeros if len(zeros) > 1 else zeros[0]


class Piecewise(_Step):
    """A piecewise-constant `value` the caller computed from the inputs (a rounded quotient,
    a count of nonzeros), kept in the graph with a zero gradient for each input."""

    def forward(self, *xs, value):
        return value


class Sign(_Step):
    fn = "sign"


class Floor(_Step):
    fn = "floor"


class Ceil(_Step):
    fn = "ceil"


class Round(_Step):
    fn = "round"  # takes decimals=


class Trunc(_Step):
    fn = "trunc"


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return B().abs(x)

    def backward(self, g):
        b = B()
        return b.mul(g, b.cast(b.sign(self.saved[0]), g.dtype))


class _Pointwise(Function):
    """A unary op: the backend's `fn` forward, and `grad(b, g, saved)` for backward, where
    `saved` is the input x, or the output where `from_output` (tan' = 1 + tan^2)."""

    fn: str
    grad: Callable[..., Any]  # NOTE: each op's own staticmethod: (b, g, saved) -> x's gradient

    def forward(self, x):
        out = getattr(B(), self.fn)(x)
        self.save_for_backward(out if self.from_output else x)
        return out

    def backward(self, g):
        return self.grad(B(), g, self.saved[0])


class Exp(_Pointwise):
    fn, from_output = "exp", True

    @staticmethod
    def grad(b, g, out):
        return b.mul(g, out)


class Log(_Pointwise):
    fn = "log"

    @staticmethod
    def grad(b, g, x):
        return b.div(g, x)


class Sqrt(_Pointwise):
    fn, from_output = "sqrt", True

    @staticmethod
    def grad(b, g, out):
        return b.div(b.mul(g, 0.5), out)


class Log1p(_Pointwise):
    fn = "log1p"

    @staticmethod
    def grad(b, g, x):
        return b.div(g, b.add(x, 1))


class Expm1(_Pointwise):
    fn, from_output = "expm1", True

    @staticmethod
    def grad(b, g, out):
        return b.mul(g, b.add(out, 1))


def _erf_slope(b, x):
    """erf'(x) = 2/sqrt(pi) exp(-x^2), with |x| capped at 30 first: x * x overflows past
    1e154, and exp(-900) is 0 already."""
    r = b.minimum(b.abs(x), 30)
    return b.mul(b.exp(b.neg(b.mul(r, r))), 2 / math.sqrt(math.pi))


class Erf(_Pointwise):
    fn = "erf"

    @staticmethod
    def grad(b, g, x):
        return b.mul(g, _erf_slope(b, x))


class Erfc(_Pointwise):
    """1 - erf(x) as its own primitive: the difference loses every digit once erf(x) ~ 1."""

    fn = "erfc"

    @staticmethod
    def grad(b, g, x):
        return b.neg(b.mul(g, _erf_slope(b, x)))


class Sin(_Pointwise):
    fn = "sin"

    @staticmethod
    def grad(b, g, x):
        return b.mul(g, b.cos(x))


class Cos(_Pointwise):
    fn = "cos"

    @staticmethod
    def grad(b, g, x):
        return b.neg(b.mul(g, b.sin(x)))


class Tan(_Pointwise):
    fn, from_output = "tan", True

    @staticmethod
    def grad(b, g, out):
        return b.mul(g, b.add(b.mul(out, out), 1))


def _one_minus_square(b, x):
    """1 - x^2 as (1 - x)(1 + x): no cancellation near |x| = 1."""
    return b.mul(b.sub(1, x), b.add(1, x))


class Asin(_Pointwise):
    fn = "asin"

    @staticmethod
    def grad(b, g, x):
        return b.div(g, b.sqrt(_one_minus_square(b, x)))


class Acos(_Pointwise):
    fn = "acos"

    @staticmethod
    def grad(b, g, x):
        return b.neg(b.div(g, b.sqrt(_one_minus_square(b, x))))


class Atan(_Pointwise):
    fn = "atan"

    @staticmethod
    def grad(b, g, x):
        h = b.hypot(x, 1)  # NOTE: 1 / (1 + x^2) with x^2 overflowing past 1e154; hypot never does
        return b.div(b.div(g, h), h)


class Sinh(_Pointwise):
    fn = "sinh"

    @staticmethod
    def grad(b, g, x):
        return b.mul(g, b.cosh(x))


class Cosh(_Pointwise):
    fn = "cosh"

    @staticmethod
    def grad(b, g, x):
        return b.mul(g, b.sinh(x))


class Asinh(_Pointwise):
    fn = "asinh"

    @staticmethod
    def grad(b, g, x):
        return b.div(g, b.hypot(x, 1))  # NOTE: sqrt(1 + x^2) without overflowing x^2


class Acosh(_Pointwise):
    fn = "acosh"

    @staticmethod
    def grad(b, g, x):
        # NOTE: sqrt(x^2 - 1) as sqrt(|x| - 1) * sqrt(|x| + 1): no overflow, no cancellation
        # near ±1; real below -1 as PyTorch's rsqrt(x^2 - 1) is (x = -2: 0.577), +0 at -1
        a = b.abs(x)
        return b.div(g, b.mul(b.sqrt(b.sub(a, 1)), b.sqrt(b.add(a, 1))))


class Atanh(_Pointwise):
    fn = "atanh"

    @staticmethod
    def grad(b, g, x):
        return b.div(g, _one_minus_square(b, x))


class Log2(_Pointwise):
    """A primitive, not log(x) / ln 2: that quotient misses exact powers (log2(2**k) came out
    just under k for some k, so floor(log2(x)) was off by one)."""

    fn = "log2"

    @staticmethod
    def grad(b, g, x):
        return b.mul(b.div(g, x), 1 / math.log(2))


class Log10(_Pointwise):
    """A primitive for the same reason as Log2 (log10(1000) must be 3)."""

    fn = "log10"

    @staticmethod
    def grad(b, g, x):
        return b.mul(b.div(g, x), 1 / math.log(10))


class _Activation(Function):
    """relu / sigmoid / tanh: the derivative is a function of the output, so only the output
    is saved, and the backend's `<name>_backward(out, g)` applies it."""

    fn: str
    grad: str
    from_output = True

    def forward(self, x):
        out = getattr(B(), self.fn)(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        return getattr(B(), self.grad)(self.saved[0], g)


class Relu(_Activation):
    fn, grad = "relu", "relu_backward"


class Sigmoid(_Activation):
    fn, grad = "sigmoid", "sigmoid_backward"


class Tanh(_Activation):
    fn, grad = "tanh", "tanh_backward"


class Clamp(Function):
    """The gradient passes where lo <= x <= hi, bounds included, as in PyTorch (nothing passes
    when lo > hi, where every output is hi)."""

    def forward(self, x, *, lo, hi):
        b = B()
        out, inside = x, None
        if lo is not None:
            lo = x.dtype.type(lo)
            out, inside = b.maximum(out, lo), b.ge(x, lo)
        if hi is not None:
            hi = x.dtype.type(hi)
            below = b.le(x, hi)
            out = b.minimum(out, hi)
            inside = below if inside is None else b.mul(inside, below)
        self.save_for_backward(inside)
        return out

    def backward(self, g):
        b = B()
        return b.where(self.saved[0], g, b.full((), 0, g.dtype))


class Cast(Function):
    def forward(self, x, *, dtype):
        self.save_for_backward(x.dtype)
        return B().cast(x, dtype)

    def backward(self, g):
        return B().cast(g, self.saved[0])


# --- reductions -------------------------------------------------------------------------------
def _keepdim_shape(shape: tuple, axis: tuple | None) -> tuple:
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    def forward(self, x, *, axis, keepdim):
        self.save_for_backward(x.shape, axis)
        return B().sum(x, axis=axis, keepdims=keepdim)

    def backward(self, g):
        shape, axis = self.saved
        b = B()
        return b.broadcast_to(b.reshape(g, _keepdim_shape(shape, axis)), shape)


class _Extreme(Function):
    """amax / amin: the gradient is shared evenly among the tied extreme elements."""

    pick: str
    from_output = True

    def forward(self, x, *, axis, keepdim):
        b = B()
        out = getattr(b, self.pick)(x, axis=axis, keepdims=True)
        self.save_for_backward(x, out, axis)
        return out if keepdim else b.reshape(out, _squeezed(x.shape, axis))

    def backward(self, g):
        x, out, axis = self.saved
        b = B()
        # NOTE: a float16 count of 70000 ties would be inf: counted in float32, as PyTorch's
        wide = np.float32 if g.dtype == np.float16 else g.dtype
        hit = b.cast(b.eq(x, out), wide)
        count = b.sum(hit, axis=axis, keepdims=True)
        shared = b.mul(hit, b.div(b.reshape(g, out.shape), count))
        return shared if wide == g.dtype else b.cast(shared, g.dtype)


def _squeezed(shape: tuple, axis: tuple | None) -> tuple:
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)


class Amax(_Extreme):
    pick = "max"


class Amin(_Extreme):
    pick = "min"


class TakeAlongAxis(Function):
    """Pick one element per row along `axis` (max(dim) values, cross-entropy's target).

    Its backward writes rather than adds (put_along_axis), so it is only for indices that
    do not repeat along `axis`; `Tensor.gather` is the general, accumulating op.
    """

    def forward(self, x, *, indices, axis):
        self.save_for_backward(x.shape, x.dtype, indices, axis)
        return B().take_along_axis(x, indices, axis)

    def backward(self, g):
        shape, dtype, indices, axis = self.saved
        return B().put_along_axis(shape, dtype, indices, g, axis)


class Prod(Function):
    """The product along one axis (axis None: of all elements).

    The gradient of x_i is the product of the others, taken as exclusive running products from
    both sides rather than out / x_i: exact where x has zeros, and no division at all.
    """

    def forward(self, x, *, axis, keepdim):
        b = B()
        flat = b.reshape(x, (-1,)) if axis is None else x
        along = 0 if axis is None else axis
        self.save_for_backward(flat, along, x.shape)
        out = b.prod(flat, axis=along, keepdims=True)
        axes = None if axis is None else (axis,)
        return b.reshape(out, (_keepdim_shape if keepdim else _squeezed)(x.shape, axes))

    def backward(self, g):
        x, axis, shape = self.saved
        b = B()
        g = b.reshape(g, _keepdim_shape(x.shape, (axis,)))
        if x.shape[axis] == 0:
            return b.full(shape, 0, g.dtype)
        others = b.mul(_exclusive_cumprod(x, axis, False), _exclusive_cumprod(x, axis, True))
        return b.reshape(b.mul(others, g), shape)


def _exclusive_cumprod(x, axis, reverse):
    """out[i] = x[0] * ... * x[i-1] (reverse: x[i+1] * ... * x[n-1]); 1 at the open end."""
    b = B()
    if reverse:
        x = b.flip(x, axis)
    head = (slice(None),) * axis
    one = b.full(_keepdim_shape(x.shape, (axis,)), 1, x.dtype)
    out = b.concatenate((one, b.cumprod(b.getitem(x, head + (slice(None, -1),)), axis)), axis)
    return b.flip(out, axis) if reverse else out


def _reverse_cumsum(a, axis):
    """out[i] = a[i] + ... + a[n-1]."""
    b = B()
    return b.flip(b.cumsum(b.flip(a, axis), axis), axis)


class CumSum(Function):
    def forward(self, x, *, axis):
        self.save_for_backward(axis)
        return B().cumsum(x, axis)

    def backward(self, g):
        return _reverse_cumsum(g, self.saved[0])


class CumProd(Function):
    """Running products, with a gradient that is exact where x has zeros.

    Where x_i != 0 the gradient is sum_{j>=i} g_j out_j / x_i (the usual formula; it is exact
    there, since out_j holds the factor x_i). Only the first zero of a row gets a gradient
    among the zeros: the running products of the row with that zero replaced by 1, summed
    against g from there on. Every later zero leaves another zero factor behind: 0.
    """

    from_output = True

    def forward(self, x, *, axis):
        out = B().cumprod(x, axis)
        self.save_for_backward(x, out, axis)
        return out

    def backward(self, g):
        x, out, axis = self.saved
        b = B()
        one, zero = b.full((), 1, x.dtype), b.full((), 0, x.dtype)
        is_zero = b.eq(x, 0)
        zeros_so_far = b.cumsum(b.cast(is_zero, x.dtype), axis)
        first_zero = b.eq(b.where(is_zero, zeros_so_far, zero), 1)
        nonzero = b.div(_reverse_cumsum(b.mul(g, out), axis), b.where(is_zero, one, x))
        skipped = b.cumprod(b.where(first_zero, one, x), axis)
        at_first = _reverse_cumsum(b.mul(g, skipped), axis)
        return b.where(is_zero, b.where(first_zero, at_first, zero), nonzero)


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) along an axis, computed as running logaddexp (no overflow).

    d out_j / d x_i = exp(x_i - out_j) for j >= i. The sum over j runs in log space, once for
    the positive and once for the negative part of g (as in PyTorch), so no exp overflows.
    The -inf that masks each part makes a second derivative nan, so it refuses one.
    """

    once_differentiable = True

    def forward(self, x, *, axis):
        out = B().logcumsumexp(x, axis)
        self.save_for_backward(x, out, axis)
        return out

    def backward(self, g):
        x, out, axis = self.saved
        b = B()
        log_g = b.log(b.where(b.eq(g, 0), b.full((), 1, g.dtype), b.abs(g)))
        never = b.full((), float("-inf"), g.dtype)
        parts = []
        for side in (b.gt(g, 0), b.lt(g, 0)):
            logs = b.sub(b.where(side, log_g, never), out)
            reverse = b.flip(b.logcumsumexp(b.flip(logs, axis), axis), axis)
            parts.append(b.exp(b.add(x, reverse)))
        return b.sub(*parts)


def _below(x, top):
    """x - top, for a `top` at least x's max along a dim (the max, or the logsumexp): at
    most 0, so its exp never overflows. A difference beyond float's range (-3e38 beside 3e38)
    is -inf, whose exp is 0 and log-probability -inf, PyTorch's answers: that overflow is
    not an error (nor a warning)."""
    with np.errstate(over="ignore"):
        return B().sub(x, top)


def _shift_by_max(x, axis):
    """x - max(x) along `axis`, x computed once first: a kernel that fused a pending `a * c`
    into `a * c - max` would contract it to one multiply-add, whose unrounded product is not
    the rounded one the max was taken of (at |a * c| ~ 1e10 the row's max came out ~1e3, not
    0, and softmax NaN)."""
    b = B()
    x = b.realize(x)
    return _below(x, b.max(x, axis=axis, keepdims=True))


class LogSumExp(Function):
    from_output = True

    def forward(self, x, *, axis, keepdim):
        b = B()
        out = b.logsumexp(x, axis=axis, keepdims=True)
        self.save_for_backward(x, out, axis)
        return out if keepdim else b.reshape(out, _squeezed(x.shape, axis))

    def backward(self, g):
        x, out, axis = self.saved
        b = B()
        return b.mul(b.reshape(g, out.shape), b.exp(_below(x, out)))


def _log_softmax(x, axis):
    """x - logsumexp(x), with the max taken off first: adding a large max back and then
    subtracting it rounds in float32 (log_softmax of [1e4, 1e4] came out -0.6934, not -0.6931).
    """
    b = B()
    shifted = _shift_by_max(x, axis)
    # NOTE: shifted's largest entry is 0 already, so its logsumexp needs no second shift
    return b.sub(shifted, b.log(b.sum(b.exp(shifted), axis=axis, keepdims=True)))


class Softmax(Function):
    from_output = True

    def forward(self, x, *, axis):
        b = B()
        # NOTE: exp of the max-shifted x over its sum, as PyTorch: one exp where
        # exp(log_softmax(x)) takes two (the sum is >= 1, the max's own term)
        e = b.exp(_shift_by_max(x, axis))
        out = b.div(e, b.sum(e, axis=axis, keepdims=True))
        self.save_for_backward(out, axis)
        return out

    def backward(self, g):
        y, axis = self.saved
        b = B()
        return b.mul(y, b.sub(g, b.sum(b.mul(g, y), axis=axis, keepdims=True)))


class LogSoftmax(Function):
    from_output = True

    def forward(self, x, *, axis):
        out = _log_softmax(x, axis)
        self.save_for_backward(out, axis)
        return out

    def backward(self, g):
        out, axis = self.saved
        b = B()
        return b.sub(g, b.mul(b.exp(out), b.sum(g, axis=axis, keepdims=True)))


class CrossEntropy(Function):
    """Softmax cross-entropy of logits (N, C) and integer labels (N,), reduced, in one node.

    The composite (log_softmax, pick, negate, mean) records five nodes; this records one, and
    its backward is the seeds' fused gradient: (softmax - onehot) times the upstream gradient
    (divided by N for the mean).
    """

    def forward(self, x, *, labels, reduction):
        """`labels` is the int64 array of one class per row."""
        b = B()
        logp, losses = b.cross_entropy(x, labels)
        self.save_for_backward(logp, labels, reduction)
        if reduction == "none":
            return losses
        total = b.sum(losses)
        if reduction == "sum":
            return total
        # NOTE: the mean of no rows is nan, as in PyTorch, without numpy's 0/0 warning
        return b.div(total, x.shape[0]) if x.shape[0] else b.full((), float("nan"), x.dtype)

    def saved_in_graph(self, x):
        """`saved` with the log-probabilities remade from the logits tensor `x`, for a
        backward that is recorded (create_graph=True) and differentiated again."""
        logp, labels, reduction = self.saved
        return x.log_softmax(1), labels, reduction

    def backward(self, g):
        logp, labels, reduction = self.saved
        b = B()
        if reduction == "mean":
            g = b.div(g, max(logp.shape[0], 1))  # NOTE: no rows: an empty gradient either way
        return b.cross_entropy_backward(logp, labels, g)


class LinearCrossEntropy(Function):
    """Each row's softmax cross-entropy of the logits x W.T (+ b), for x (N, F), W (C, F)
    and int64 labels (N,), computed `chunk` rows at a time: the (N, C) logits are never all
    in memory, in forward or backward (PyTorch's chunked `linear_cross_entropy`, for a
    classifier with many classes). The backward recomputes each chunk's logits from x and W,
    which are all it keeps; like PyTorch's chunked op, it is not differentiable twice.
    """

    def forward(self, x, w, *bias, labels, chunk):
        self.save_for_backward(labels, chunk, x, w, *bias)
        b = B()
        # NOTE: the labels' rows sliced by the backend, so TinyJit replays them on new labels
        losses = [b.cross_entropy(logits, b.getitem(labels, rows))[1]
                  for rows, logits in self._chunks()]
        return b.concatenate(losses, 0) if losses else b.full((0,), 0, x.dtype)

    def _chunks(self):
        """(rows, their logits) for each chunk of `chunk` rows."""
        _, chunk, x, w, *bias = self.saved
        b = B()
        for start in range(0, x.shape[0], chunk):
            rows = slice(start, start + chunk)
            yield rows, _affine(b, b.getitem(x, rows), w, bias[0] if bias else None)

    def backward(self, g):
        labels, _, x, w, *bias = self.saved
        b = B()
        dx, dw, db = [], None, None
        for rows, logits in self._chunks():
            chunk_labels = b.getitem(labels, rows)
            logp = b.cross_entropy(logits, chunk_labels)[0]
            d = b.cross_entropy_backward(logp, chunk_labels, b.getitem(g, rows))
            dx_rows, dw_rows, db_rows = _affine_backward(b, d, b.getitem(x, rows), w, True,
                                                         True, bool(bias))
            dx.append(dx_rows)
            dw = dw_rows if dw is None else b.add(dw, dw_rows)
            db = db_rows if db is None else b.add(db, db_rows)
        if not dx:  # NOTE: no rows: zero gradients
            return (b.full(x.shape, 0, x.dtype), b.full(w.shape, 0, w.dtype),
                    *(b.full(t.shape, 0, t.dtype) for t in bias))
        return b.concatenate(dx, 0), dw, *((db,) if bias else ())


# --- linear algebra -------------------------------------------------------------------------
class MatMul(Function):
    def forward(self, x, y):
        self.save_for_backward(x, y)
        return B().matmul(x, y)

    def backward(self, g):
        x, y = self.saved
        b = B()
        # NOTE: a 1-D operand is a row (left) or a column (right) vector, as in numpy
        x2 = b.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
        y2 = b.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
        g2 = g
        if y.ndim == 1:
            g2 = b.reshape(g2, g.shape + (1,))
        if x.ndim == 1:
            g2 = b.reshape(g2, g2.shape[:-1] + (1, g2.shape[-1]))
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = b.matmul(g2, _swap_last(y2))
            if x.ndim == 1:
                gx = b.reshape(gx, gx.shape[:-2] + gx.shape[-1:])
        if self.needs_input_grad[1]:
            if y2.ndim == 2 and _is_transposed(y2):
                # NOTE: y is a transposed view (x @ W.T in Linear): the gradient computed in W's
                # own layout makes W.grad C-contiguous, so the optimizer reads it in order
                gy = _swap_last(b.matmul(_swap_last(g2), x2))
            else:
                gy = b.matmul(_swap_last(x2), g2)
            if y.ndim == 1:
                gy = b.reshape(gy, gy.shape[:-1])
        return gx, gy


class Linear(Function):
    """`x @ W.T + b` as one node, W laid out (out_features, in_features) as in PyTorch.

    A primitive rather than MatMul(x, Permute(W)) + Add: a layer costs one node instead of
    three, which is most of the bookkeeping of a small-batch training step (tools/bench.py).
    """

    def forward(self, x, w, *bias):
        self.save_for_backward(x, w)
        return _affine(B(), x, w, bias[0] if bias else None)

    def backward(self, g):
        x, w = self.saved
        # NOTE: without a bias the engine reads only the first two
        return _affine_backward(B(), g, x, w, *self.needs_input_grad[:2],
                                self.needs_input_grad[2:] == (True,))


def _affine(b, x, w, bias):
    """x @ w.T (+ bias), w laid out (out, in): a Linear's forward, and a recurrent layer's
    input product of every step at once."""
    out = b.matmul(x, b.transpose(w, (1, 0)))
    return out if bias is None else b.add(out, bias)


def _affine_backward(b, g, x, w, need_x: bool, need_w: bool, need_bias: bool) -> tuple:
    """The gradients of x, w and the bias of `_affine` (None where not needed), given that of
    its output g; x and g may have leading dims, which the weight gradient sums over."""
    rows = g if g.ndim == 2 else b.reshape(g, (-1, g.shape[-1]))
    # NOTE: the bias gradient first: a lazy backend sums g inside the kernel that makes it
    gb = b.sum(rows, axis=0) if need_bias else None
    gx = b.matmul(g, w) if need_x else None
    gw = None
    if need_w:  # in W's own (out, in) layout, so W.grad is C-contiguous
        inputs = x if x.ndim == 2 else b.reshape(x, (-1, x.shape[-1]))
        gw = b.matmul(b.transpose(rows, (1, 0)), inputs)
    return gx, gw, gb


class _RecurrentLayer(Function):
    """One layer of a recurrent network in one direction, all its steps as one node, as it
    is one call into cuDNN: every step's input product is one GEMM before the steps, every
    weight gradient one GEMM after them, and the steps themselves are one backend call each
    way (`recurrent`, `recurrent_backward`: `backend.cells.layer`; the numba backend runs an
    LSTM's or GRU's steps as one kernel each, into arrays made once for the layer).

    Inputs: x (T, N, F), the `states` start states (h, or h and c), weight_ih, weight_hh
    and the two biases or none; `reverse` reads the sequence backwards (the second
    direction of a bidirectional layer). Output: every step's h' in time order, then the
    last value of any other state, as (T + states - 1, N, H). 20 steps of batch 32, hidden
    64: an LSTM's training step took 2.4x PyTorch's time with nodes for every step.
    """

    kind = ""
    states = 1

    def forward(self, x, *inputs, reverse):
        b = B()
        states, (w_ih, w_hh, *biases) = inputs[:self.states], inputs[self.states:]
        gi = _affine(b, x, w_ih, biases[0] if biases else None)
        # NOTE: copied once: OpenBLAS took 18 µs for h @ W_hh.T through the transposed view,
        # 7 µs with it row-major (batch 32, hidden 64), and the layer makes T of them
        w_hh_t = b.contiguous(b.transpose(w_hh, (1, 0)))
        hs, *rest = b.recurrent(self.kind, gi, w_hh_t, biases[1] if biases else None, states,
                                reverse)
        last, kept = rest[:self.states], rest[self.states:]
        # NOTE: the start states too, unread: as PyTorch's node holds them, writing one in
        # place before backward is an error (the engine checks what a node saved)
        self.save_for_backward(reverse, x, w_ih, w_hh, bool(biases), *states, *kept)
        if self.states == 1:
            return hs
        return b.concatenate([hs, *(b.reshape(s, (1, *s.shape)) for s in last[1:])], 0)

    def saved_in_graph(self, *inputs):
        """`saved` remade by running forward again under the graph backend (create_graph)."""
        self.forward(*inputs, reverse=self.saved[0])
        return self.saved

    def backward(self, grad):
        reverse, x, w_ih, w_hh, has_bias, *saved = self.saved
        kept = saved[self.states:]
        b = B()
        length = x.shape[0]
        grad_c = b.getitem(grad, length) if self.states == 2 else None
        grad_h = b.getitem(grad, slice(0, length)) if self.states == 2 else grad
        d_gi, d_gh, *d_states = b.recurrent_backward(self.kind, grad_h, grad_c, w_hh, reverse,
                                                     *kept)
        # NOTE: each one product (one sum) over all the steps: the input product's, and the
        # recurrent one's from kept[0], the h each step began with, in time order
        need = self.needs_input_grad
        w_at = 1 + self.states
        dx, dw_ih, db_ih = _affine_backward(b, d_gi, x, w_ih, need[0], need[w_at], has_bias)
        shared = d_gh is d_gi  # NOTE: LSTM and RNN: both biases get the gates' gradient
        _, dw_hh, db_hh = _affine_backward(b, d_gh, kept[0], w_hh, False, need[w_at + 1],
                                           has_bias and not shared)
        return dx, *d_states, dw_ih, dw_hh, *((db_ih, db_ih if shared else db_hh)
                                              if has_bias else ())


class RNNTanhLayer(_RecurrentLayer):
    """A plain RNN layer, h' = tanh(gi + gh) (`_RecurrentLayer`)."""

    kind = "RNN_TANH"


class RNNReluLayer(_RecurrentLayer):
    """A plain RNN layer, h' = relu(gi + gh) (`_RecurrentLayer`)."""

    kind = "RNN_RELU"


class LSTMLayer(_RecurrentLayer):
    """An LSTM layer (`_RecurrentLayer`): x, h0, c0, weight_ih, weight_hh (, bias_ih,
    bias_hh) -> every step's h' in time order, then the last c', as (T + 1, N, H)."""

    kind = "LSTM"
    states = 2


class GRULayer(_RecurrentLayer):
    """A GRU layer (`_RecurrentLayer`): x, h0, weight_ih, weight_hh (, bias_ih, bias_hh) ->
    every step's h' in time order, as (T, N, H)."""

    kind = "GRU"


class Inverse(Function):
    """The matrix inverse (of each matrix in a batch). d(A^-1) = -A^-1 dA A^-1, so the
    gradient is -A^-T g A^-T."""

    from_output = True

    def forward(self, x):
        out = B().inv(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        b = B()
        inv_t = _swap_last(self.saved[0])
        return b.neg(b.matmul(b.matmul(inv_t, g), inv_t))


class Det(Function):
    """The determinant (of each matrix in a batch); its gradient is g * det(A) * A^-T."""

    from_output = True

    def forward(self, x):
        out = B().det(x)
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, det = self.saved
        b = B()
        scale = b.reshape(b.mul(g, det), det.shape + (1, 1))
        return b.mul(scale, _swap_last(b.inv(x)))


def _is_transposed(a) -> bool:
    flags = getattr(a, "flags", None)  # NOTE: a lazy backend array has no layout yet
    return flags is not None and flags.f_contiguous and not flags.c_contiguous


def _swap_last(a):
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return B().transpose(a, axes)


class Einsum(Function):
    """`np.einsum` of explicit subscripts without repeats inside one operand ('ij,jk->ik').

    The gradient of an operand is the einsum of the output gradient with the other operands,
    written to that operand's subscripts.
    """

    def forward(self, *xs, inputs, output):
        self.save_for_backward(inputs, output, *xs)  # NOTE: flat, so the summary counts them
        return B().einsum(",".join(inputs) + "->" + output, *xs)

    def backward(self, g):
        inputs, output, *xs = self.saved
        b = B()
        grads = []
        for i, (x, sub) in enumerate(zip(xs, inputs)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            subs = [output] + [s for j, s in enumerate(inputs) if j != i]
            known = set("".join(subs))
            target = "".join(c for c in sub if c in known)
            others = [y for j, y in enumerate(xs) if j != i]
            gx = b.einsum(",".join(subs) + "->" + target, g, *others)
            if target != sub:
                # NOTE: a letter summed in this operand alone: the gradient is constant along it
                kept = tuple(n if c in known else 1 for c, n in zip(sub, x.shape))
                gx = b.broadcast_to(b.reshape(gx, kept), x.shape)
            grads.append(gx)
        return tuple(grads)


# --- movement -----------------------------------------------------------------------------
class Reshape(Function):
    def forward(self, x, *, shape):
        self.save_for_backward(x.shape)
        return B().reshape(x, shape)

    def backward(self, g):
        return B().reshape(g, self.saved[0])


class Contiguous(Function):
    """A row-major copy (for `Tensor.contiguous()` of a transposed or strided tensor)."""

    def forward(self, x):
        return B().contiguous(x)

    def backward(self, g):
        return g


class Permute(Function):
    def forward(self, x, *, axes):
        self.save_for_backward(axes)
        return B().transpose(x, axes)

    def backward(self, g):
        axes = self.saved[0]
        inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return B().transpose(g, inverse)


class Expand(Function):
    def forward(self, x, *, shape):
        return B().broadcast_to(x, shape)

    def backward(self, g):
        return g  # the engine's unbroadcast sums the expanded dimensions


class GetItem(Function):
    slices = True

    def forward(self, x, *, index, basic):
        self.save_for_backward(x.shape, x.dtype, index, basic)
        return B().getitem(x, index)

    def backward(self, g):
        shape, dtype, index, basic = self.saved
        return B().index_add(shape, dtype, index, g, basic)

    def add_into(self, buf, g) -> bool:
        """Add the gradient into `buf`, x's gradient so far, at its place; only for a basic
        index (each place once): False for another, whose repeats must add up in backward."""
        index, basic = self.saved[2:]
        if basic:
            B().add_into(buf, index, g)
        return basic


class IndexPut(Function):
    """Zeros of `shape` with `src` written at `index` (accumulate: added, so repeated indices
    sum up): GetItem's transpose, behind scatter, scatter_add, index_add and diag."""

    def forward(self, src, *, shape, index, accumulate):
        self.save_for_backward(index)
        # NOTE: the backend's index_add assigns when told the index is basic (no repeats)
        return B().index_add(shape, src.dtype, index, src, not accumulate)

    def backward(self, g):
        return B().getitem(g, self.saved[0])


class Cat(Function):
    def forward(self, *xs, axis):
        self.save_for_backward(tuple(x.shape[axis] for x in xs), axis)
        return B().concatenate(xs, axis)

    def backward(self, g):
        sizes, axis = self.saved
        return tuple(B().split(g, sizes, axis))



# --- neural-network primitives ------------------------------------------------------------
class Dropout(Function):
    """Inverted dropout: keep with probability 1 - p and scale by 1/(1-p).

    The keep-mask is 1-byte booleans (not float64 as in the seeds) and is the only thing saved.
    """

    def forward(self, x, *, p):
        b = B()
        mask = b.dropout_mask(x.shape, p)
        scale = 1.0 / (1.0 - p) if p < 1 else 0.0  # NOTE: p == 1 keeps nothing; no 1/0
        self.save_for_backward(mask, scale)
        return b.dropout_apply(x, mask, scale)

    def backward(self, g):
        mask, scale = self.saved
        return B().dropout_apply(g, mask, scale)


def _clamped_log(a):
    """log(a) clamped below at -100, as PyTorch's BCE does, without evaluating log(0)."""
    b = B()
    # NOTE: 1e-45 is the smallest float32 subnormal; its log (-103.3) is below the clamp
    return b.maximum(b.log(b.maximum(a, 1e-45)), -100.0)


class BinaryCrossEntropy(Function):
    """-(y log x + (1-y) log(1-x)) elementwise, with PyTorch's clamps.

    A primitive rather than a composite: d/dx = (x - y) / x(1-x) is computed with the
    denominator clamped at 1e-12, as PyTorch does. Through the composed `log` chain the
    gradient overflows for float32 probabilities below ~3e-39 and is cut to 0 at exactly 0.
    """

    def forward(self, x, y):
        b = B()
        self.save_for_backward(x, y)
        log_x, log_1mx = _clamped_log(x), _clamped_log(b.sub(1, x))
        return b.neg(b.add(b.mul(y, log_x), b.mul(b.sub(1, y), log_1mx)))

    def backward(self, g):
        x, y = self.saved
        b = B()
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = b.div(b.mul(g, b.sub(x, y)), b.maximum(b.mul(x, b.sub(1, x)), 1e-12))
        if self.needs_input_grad[1]:
            gy = b.mul(g, b.sub(_clamped_log(b.sub(1, x)), _clamped_log(x)))
        return gx, gy


# --- later additions: primitives behind the rest of PyTorch's tensor surface ------------------
class NoGradient(Function):
    """A value computed outside the graph (`value`, from numpy) whose backward refuses with a
    clear error: for ops whose gradient is not implemented (linalg.qr, linalg.svd), so no
    wrong numbers flow."""

    def forward(self, x, *, value, op):
        self.save_for_backward(op)
        return value

    def backward(self, g):
        raise RuntimeError(f"{self.saved[0]}: backward is not implemented; compute the "
                           "gradient another way or detach the input")


class KnownSlope(Function):
    """An elementwise function computed outside the graph (`value`, e.g. lgamma through libm)
    with its derivative at x (`slope`) given too: backward is g * slope."""

    def forward(self, x, *, value, slope):
        self.save_for_backward(slope)
        return value

    def backward(self, g):
        return B().mul(g, self.saved[0])


class ScatterExtreme(Function):
    """scatter_reduce's amax / amin (`out`, computed by the caller). As in PyTorch the
    gradient at each place is shared evenly among the elements equal to the result there:
    the tensor's own (when `include_self`) and those of src scattered to it."""

    def forward(self, x, src, *, out, index, hit, include_self):
        self.save_for_backward(x, src, out, index, hit, include_self)
        return out

    def backward(self, g):
        x, src, out, index, hit, include_self = self.saved
        b = B()
        zero = b.full((), 0, g.dtype)
        own = b.cast(b.eq(x, out), g.dtype)
        from_src = b.cast(b.eq(src, b.getitem(out, index)), g.dtype)
        # NOTE: PyTorch counts the tensor's own tie even without include_self (its gradient is
        # then dropped), so the src ties get less than all of it; matched here
        ties = b.add(own, b.index_add(out.shape, g.dtype, index, from_src, False))
        share = b.div(g, b.maximum(ties, 1))
        if not include_self:
            own = b.where(hit, zero, own)
        return b.mul(share, own), b.mul(b.getitem(share, index), from_src)


class ScatterProd(Function):
    """scatter_reduce's prod (`out`, computed by the caller): d out / d x = out / x. Where a
    factor is 0 that quotient is undefined; the caller then passes `others`, the product of
    the other factors of each own factor and each src element (which, computed outside the
    graph, refuses a second derivative)."""

    def forward(self, x, src, *, out, index, hit, include_self, others):
        self.save_for_backward(x, src, out, index, hit, include_self, others)
        return out

    def backward(self, g):
        x, src, out, index, hit, include_self, others = self.saved
        b = B()
        if others is not None:
            own = b.mul(g, others[0]) if include_self else b.full((), 0, g.dtype)
            return b.where(hit, own, g), b.mul(b.getitem(g, index), others[1])
        scaled = b.mul(g, out)
        own = b.div(scaled, b.where(hit, x, 1)) if include_self else b.full((), 0, g.dtype)
        return b.where(hit, own, g), b.div(b.getitem(scaled, index), src)
