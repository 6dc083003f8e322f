"""Tensor: an array, its gradient, and the node that made it.

Every method is a thin call into a primitive of `ops.py` (or a few of them); the only logic here
is argument handling that PyTorch users expect: dims as ints or tuples, dtype promotion, scalars.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import autograd, ops
from . import backend as be
from .rng import generator

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_DEFAULT_FLOAT = float32


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """numpy array for `data`: Python floats become float32, ints int64, as in PyTorch."""
    if isinstance(data, Tensor):
        arr = data.numpy()
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(_DEFAULT_FLOAT)
        elif arr.dtype.kind == "i":
            arr = arr.astype(int64)
        elif arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            f"(numpy dtype {arr.dtype}); use numbers or bools")
    if dtype is not None:
        arr = arr.astype(np.dtype(dtype), copy=False)
    return arr


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float


def _result_dtype(a: np.dtype, b: np.dtype, a_0d: bool = False, b_0d: bool = False) -> np.dtype:
    """PyTorch's promotion: a float beats any int, otherwise the wider type wins.

    A 0-d tensor next to one with dims counts only by its kind, like a Python scalar:
    float32 (3,) + float64 () is float32, int64 (3,) + float64 () is float64.
    """
    if a == b:
        return a
    if a_0d != b_0d:
        dims, zero = (b, a) if a_0d else (a, b)
        return dims if _CATEGORY.get(zero.kind, 2) <= _CATEGORY.get(dims.kind, 2) else zero
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def _scalar_dtype(dtype: np.dtype, value: Any) -> np.dtype:
    """The dtype of `tensor op python_scalar`: the scalar only widens int/bool tensors."""
    if isinstance(value, (bool, np.bool_)):
        return dtype
    if isinstance(value, (float, np.floating)) and dtype.kind in "biu":
        return _DEFAULT_FLOAT
    if isinstance(value, (int, np.integer)) and dtype.kind == "b":
        return int64
    return dtype


def _dims(dim: Any, ndim: int, op: str) -> tuple | None:
    """Normalise `dim` (None, an int or a sequence of ints, negatives allowed) to sorted axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        lo = -max(ndim, 1)
        if not lo <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims "
                             f"(expected {lo} to {max(ndim, 1) - 1})")
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    return tuple(sorted(out)) if ndim else None


def _size(size: tuple) -> tuple:
    """Accept `f(2, 3)` and `f((2, 3))` alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _binary(op: Any, pair: Callable) -> tuple[Callable, Callable]:
    """`a op b` and its reflected form (what Python calls on the right operand, for `2 - t`):
    both operands made tensors of one dtype by `pair`, then one `op` node."""
    def forward(self: "Tensor", other: Any) -> "Tensor":
        return op.apply(*pair(self, other))

    def reflected(self: "Tensor", other: Any) -> "Tensor":
        a, b = pair(self, other)
        return op.apply(b, a)

    return forward, reflected


class Tensor:
    """An n-dimensional array that records the operations made on it.

    Examples
    --------
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # NOTE: `_before` (the value an in-place op replaced) is set only by `_assign`, never read
    # on the hot path, so `_wrap` leaves it unset
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_version", "_retains_grad",
                 "_before", "__weakref__")
    __array_priority__ = 1000  # numpy defers `array * tensor` to Tensor.__rmul__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self._data = _as_array(data, dtype)
        self._grad: Tensor | None = None
        self._ctx: autograd.Function | None = None
        self._version = 0
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Any) -> "Tensor":
        """A tensor around a backend array, skipping __init__'s checks (the hot path)."""
        t = object.__new__(Tensor)
        t._data, t._grad, t._ctx, t._version, t.requires_grad = data, None, None, 0, False
        t._retains_grad = False
        return t

    # --- attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's memory but cut from the graph (PyTorch's `.data`)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else _as_array(value, self.dtype)

    @property
    def grad(self) -> "Tensor | None":
        """The gradient backward() accumulated: kept for leaves, and for tensors that called
        `retain_grad()` (reading it on any other tensor warns: it is always None there)."""
        if self._grad is None and self._ctx is not None and not self._retains_grad:
            warnings.warn(f"grad: this tensor is not a leaf (it was made by {self._ctx.name}), "
                          "so backward() does not keep its gradient and .grad is None; call "
                          ".retain_grad() on it before backward() to keep it",
                          UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        return self._ctx

    def size(self, dim: int | None = None) -> tuple | int:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    def numpy(self) -> np.ndarray:
        """The values as a numpy array (shared, not copied)."""
        data = be.active.realize(self._data)
        if type(data) is not np.ndarray:  # NOTE: a full reduction gives a numpy scalar
            data = np.asarray(data)
        self._data = data
        return data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> Any:
        if self.numel() != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python number, got shape {self.shape}")
        return self.numpy().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4,
                               suppress_small=True)
        extras = []
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # --- autograd -------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into `.grad` of every leaf it depends on."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no "
                               "grad_fn; did you forget requires_grad=True on an input, or "
                               "compute it under no_grad()?")
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for a "
                                   f"scalar output, got shape {self.shape}; reduce it first "
                                   "(e.g. loss.sum().backward()) or pass gradient=")
            grad = be.active.full(self.shape, 1, self.dtype)
        else:
            grad = _as_array(gradient, self.dtype)
            if grad.shape != self.shape:
                raise RuntimeError(f"backward: gradient of shape {grad.shape} does not match "
                                   f"the tensor's shape {self.shape}")
        autograd.backward(self, grad, retain_graph)

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (memory is shared)."""
        return Tensor._wrap(self._data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, this one is {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf "
                               "tensor; use .detach()")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` when backward() passes it."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so backward() "
                               "never reaches it; make an input requires_grad=True first")
        if self._ctx is not None:  # NOTE: a leaf keeps its gradient anyway
            self._retains_grad = True

    def clone(self) -> "Tensor":
        return ops.Mul.apply(self, self._const(1))

    # --- dtype ----------------------------------------------------------------------------
    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> "Tensor":
        """Cast to `dtype` (devices are accepted and ignored: everything lives on the CPU)."""
        if dtype is None or isinstance(dtype, str) and dtype == "cpu":
            return self
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype)

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    def int(self) -> "Tensor":
        return self.to(int32)

    def bool(self) -> "Tensor":
        return self.to(bool_)

    def cpu(self) -> "Tensor":
        return self

    def contiguous(self) -> "Tensor":
        return self

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # --- arithmetic -------------------------------------------------------------------------
    def _const(self, value: Any, dtype: np.dtype | None = None) -> "Tensor":
        return Tensor._wrap(np.asarray(value, dtype=dtype or self.dtype))

    def _pair(self, other: Any) -> tuple["Tensor", "Tensor"]:
        """Both operands as tensors of one dtype (promoting as PyTorch does)."""
        dtype = self._data.dtype
        if type(other) is Tensor and other._data.dtype == dtype:
            return self, other  # NOTE: the common cases first, without property calls
        if dtype.kind == "f" and type(other) in (float, int, bool):  # the float keeps its dtype
            return self, self._const(other, dtype)
        if isinstance(other, Tensor):
            if other.dtype == self.dtype:
                return self, other
            dt = _result_dtype(self.dtype, other.dtype, self.ndim == 0, other.ndim == 0)
            return self.to(dt), other.to(dt)
        if isinstance(other, (int, float, bool, np.generic)):
            dt = _scalar_dtype(self.dtype, other)
            return self.to(dt), self._const(other, dt)
        return self._pair(Tensor(other))

    def _float_pair(self, other: Any) -> tuple["Tensor", "Tensor"]:
        a, b = self._pair(other)
        if a.dtype.kind != "f":
            a, b = a.to(_DEFAULT_FLOAT), b.to(_DEFAULT_FLOAT)
        return a, b

    __add__, __radd__ = _binary(ops.Add, _pair)
    __sub__, __rsub__ = _binary(ops.Sub, _pair)
    __mul__, __rmul__ = _binary(ops.Mul, _pair)
    __truediv__, __rtruediv__ = _binary(ops.Div, _float_pair)
    __pow__, __rpow__ = _binary(ops.Pow, _pair)

    def __matmul__(self, other: Any) -> "Tensor":
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return matmul(Tensor(other), self)

    def __neg__(self) -> "Tensor":
        return ops.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    # --- comparisons (no gradient; bool tensors) ----------------------------------------------
    def _compare(self, other: Any, name: str) -> "Tensor":
        a, b = self._pair(other)
        return Tensor._wrap(getattr(be.active, name)(a._data, b._data))

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, "eq")

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, "ne")

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, "lt")

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, "le")

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, "gt")

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, "ge")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    # --- unary math ---------------------------------------------------------------------------
    def _floating(self) -> "Tensor":
        return self if self.dtype.kind == "f" else self.to(_DEFAULT_FLOAT)

    def exp(self) -> "Tensor":
        return ops.Exp.apply(self._floating())

    def log(self) -> "Tensor":
        return ops.Log.apply(self._floating())

    def sqrt(self) -> "Tensor":
        return ops.Sqrt.apply(self._floating())

    def abs(self) -> "Tensor":
        return ops.Abs.apply(self)

    def sign(self) -> "Tensor":
        return ops.Sign.apply(self)

    def relu(self) -> "Tensor":
        return ops.Relu.apply(self)

    def sigmoid(self) -> "Tensor":
        return ops.Sigmoid.apply(self._floating())

    def tanh(self) -> "Tensor":
        return ops.Tanh.apply(self._floating())

    def square(self) -> "Tensor":
        return self * self

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        if min is None and max is None:
            raise ValueError("clamp: give at least one of min and max")
        return ops.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        return ops.Maximum.apply(*self._pair(other))

    def minimum(self, other: Any) -> "Tensor":
        return ops.Minimum.apply(*self._pair(other))

    # --- reductions -------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self.to(int64) if self.dtype.kind in "bu" or self.dtype == int32 else self
        return ops.Sum.apply(x, axis=_dims(dim, self.ndim, "sum"), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self._floating()
        axis = _dims(dim, self.ndim, "mean")
        count = x.numel() if axis is None else math.prod([x.shape[a] for a in axis])
        return ops.Sum.apply(x, axis=axis, keepdim=keepdim) / count

    def var(self, dim: Any = None, keepdim: bool = False, *, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        """Variance; `correction=1` (the default, as in PyTorch) divides by N - 1."""
        if unbiased is not None:
            correction = int(unbiased)
        x = self._floating()
        axis = _dims(dim, self.ndim, "var")
        count = x.numel() if axis is None else math.prod([x.shape[a] for a in axis])
        centred = x - x.mean(axis, keepdim=True)
        total = ops.Sum.apply(centred * centred, axis=axis, keepdim=keepdim)
        return total / np.float64(max(count - correction, 0)).item()

    def std(self, dim: Any = None, keepdim: bool = False, *, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        return self.var(dim, keepdim, correction=correction, unbiased=unbiased).sqrt()

    def _extreme(self, op: type, pick: str, dim: Any, keepdim: bool) -> Any:
        if isinstance(dim, Tensor):  # t.max(other) is the elementwise maximum, as in PyTorch
            return self.maximum(dim) if pick == "argmax" else self.minimum(dim)
        if self.numel() == 0:
            raise RuntimeError(f"{pick[3:]}: cannot reduce an empty tensor of shape "
                               f"{self.shape}")
        if dim is None:
            return op.apply(self, axis=None, keepdim=False)
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{pick[3:]}: dim must be an int when indices are returned; "
                            f"use amax/amin for several dims")
        (axis,) = _dims(dim, self.ndim, pick[3:]) or (0,)
        x = self if self.ndim else self.reshape(1)  # NOTE: a 0-d tensor is one element
        indices = getattr(be.active, pick)(be.active.realize(x._data), axis=axis,
                                           keepdims=True)
        values = ops.TakeAlongAxis.apply(x, indices=indices, axis=axis)
        if not keepdim or not self.ndim:
            values, indices = values.squeeze(axis), np.squeeze(indices, axis)
        return MinMax((values, Tensor._wrap(indices)))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest value; with `dim`, a (values, indices) pair; with a tensor, the
        elementwise `maximum`, as in PyTorch."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._extreme(ops.Amax, "argmax", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The smallest value; with `dim`, a (values, indices) pair; with a tensor, the
        elementwise `minimum`, as in PyTorch."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._extreme(ops.Amin, "argmin", dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return ops.Amax.apply(self, axis=_dims(dim, self.ndim, "amax"), keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return ops.Amin.apply(self, axis=_dims(dim, self.ndim, "amin"), keepdim=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        return self._arg("argmin", dim, keepdim)

    def _arg(self, name: str, dim: int | None, keepdim: bool) -> "Tensor":
        data = be.active.realize(self._data)
        if dim is None:
            return Tensor._wrap(np.asarray(getattr(np, name)(data), dtype=int64))
        (axis,) = _dims(dim, self.ndim, name) or (0,)
        if not self.ndim:  # NOTE: a 0-d tensor is one element, at index 0
            return Tensor._wrap(np.zeros((), dtype=int64))
        return Tensor._wrap(getattr(np, name)(data, axis=axis, keepdims=keepdim).astype(int64))

    def softmax(self, dim: int = -1) -> "Tensor":
        return ops.Softmax.apply(self._floating(), axis=self._axis(dim, "softmax"))

    def log_softmax(self, dim: int = -1) -> "Tensor":
        return ops.LogSoftmax.apply(self._floating(), axis=self._axis(dim, "log_softmax"))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        axis = _dims(dim, self.ndim, "logsumexp")
        return ops.LogSumExp.apply(self._floating(), axis=axis, keepdim=keepdim)

    def _axis(self, dim: int, op: str) -> int:
        axes = _dims(dim, self.ndim, op)
        return axes[0] if axes else 0

    # --- shape ------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        shape = requested = _size(shape)
        known = math.prod([n for n in shape if n != -1])
        fits = known == self.numel()
        if -1 in shape:
            fits = shape.count(-1) == 1 and known > 0 and self.numel() % known == 0
            shape = tuple(self.numel() // max(known, 1) if n == -1 else n for n in shape)
        if not fits:
            raise RuntimeError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                               f"({self.numel()} elements) into {requested}")
        if shape == self.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (d % self.ndim for d in (start_dim, end_dim))
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def squeeze(self, dim: Any = None) -> "Tensor":
        axes = _dims(dim, self.ndim, "squeeze")
        keep = [n for i, n in enumerate(self.shape)
                if n != 1 or (axes is not None and i not in axes)]
        return self.reshape(tuple(keep))

    def unsqueeze(self, dim: int) -> "Tensor":
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of "
                             f"{self.ndim} dims")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def permute(self, *dims: Any) -> "Tensor":
        dims = _size(dims)
        axes = tuple(d % max(self.ndim, 1) for d in dims)
        if sorted(axes) != list(range(self.ndim)):
            raise RuntimeError(f"permute: dims {dims} are not a permutation of the "
                               f"{self.ndim} dims of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        axes = list(range(self.ndim))
        d0, d1 = self._axis(dim0, "transpose"), self._axis(dim1, "transpose")
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return ops.Permute.apply(self, axes=tuple(axes))

    @property
    def T(self) -> "Tensor":
        return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))

    def t(self) -> "Tensor":
        return self.T

    def expand(self, *sizes: Any) -> "Tensor":
        sizes = _size(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: cannot expand shape {self.shape} to {sizes} "
                               "(fewer dims)")
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        for i, n in enumerate(self.shape):
            if n != 1 and n != shape[i + lead]:
                raise RuntimeError(f"expand: cannot expand shape {self.shape} to {sizes}: "
                                   f"dim {i} has size {n}, not 1")
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other: "Tensor") -> "Tensor":
        return self.expand(other.shape)

    @property
    def mT(self) -> "Tensor":  # noqa: N802  (PyTorch's name)
        """The last two dimensions swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError(f"mT: needs at least 2 dims, got shape {self.shape}")
        return self.transpose(-2, -1)

    # --- PyTorch's other spellings, composed from the ops above --------------------------------
    def mm(self, other: "Tensor") -> "Tensor":
        """The product of two matrices (2-D only, unlike `@`)."""
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm: both operands must be 2-D, got {self.shape} and "
                               f"{other.shape}; use @ (matmul) for other shapes")
        return matmul(self, other)

    def dot(self, other: "Tensor") -> "Tensor":
        """The inner product of two 1-D tensors."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot: both operands must be 1-D, got {self.shape} and "
                               f"{other.shape}")
        return matmul(self, other)

    def outer(self, other: "Tensor") -> "Tensor":
        """a[i] * b[j] for two 1-D tensors."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"outer: both operands must be 1-D, got {self.shape} and "
                               f"{other.shape}")
        return self.unsqueeze(1) * other.unsqueeze(0)

    def reciprocal(self) -> "Tensor":
        return 1 / self._floating()

    def rsqrt(self) -> "Tensor":
        return self.sqrt().reciprocal()

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """`value` where `mask` is True, this tensor elsewhere (the gradient flows there)."""
        return where(mask, value.to(self.dtype) if isinstance(value, Tensor) else value, self)

    def _along(self, dim: int, op: str, index: Any) -> "Tensor":
        """`self[:, ..., index]` with `index` at `dim` (the dims before it taken whole)."""
        return self[(slice(None),) * self._axis(dim, op) + (index,)]

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        return self._along(dim, "narrow", slice(start, start + length))

    def index_select(self, dim: int, index: Any) -> "Tensor":
        """The entries at `index` (a 1-D integer tensor) along `dim`; repeats accumulate."""
        return self._along(dim, "index_select", index)

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): index has self's number of
        dims; repeated indices add up in the gradient."""
        d = self._axis(dim, "gather")
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        if idx.ndim != self.ndim or idx.dtype.kind not in "iu":
            raise RuntimeError(f"gather: index must be an integer tensor with {self.ndim} "
                               f"dims like the input {self.shape}, got {idx.dtype} of shape "
                               f"{idx.shape}")
        grids = list(np.indices(idx.shape, sparse=True))  # NOTE: broadcasting aranges
        grids[d] = idx
        return self[tuple(grids)]

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple["Tensor", ...]:
        """Pieces of `split_size` along `dim` (the last may be shorter), or of the listed
        sizes."""
        d = self._axis(dim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            if step < 1:
                raise RuntimeError(f"split: split_size must be at least 1, got {step}")
            sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
        else:
            sizes = [int(k) for k in split_size_or_sections]
            if sum(sizes) != n:
                raise RuntimeError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim "
                                   f"{dim} has size {n}")
        starts = np.cumsum([0] + sizes[:-1])
        return tuple(self.narrow(d, int(a), k) for a, k in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        """At most `chunks` pieces of equal size (the last may be smaller), as in PyTorch."""
        if chunks < 1:
            raise RuntimeError(f"chunk: chunks must be at least 1, got {chunks}")
        n = self.shape[self._axis(dim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        axis = _dims(dim, self.ndim, "all")
        return Tensor._wrap(np.all(self.numpy(), axis=axis, keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        axis = _dims(dim, self.ndim, "any")
        return Tensor._wrap(np.any(self.numpy(), axis=axis, keepdims=keepdim))

    def logical_not(self) -> "Tensor":
        return Tensor._wrap(np.logical_not(self.numpy()))

    def new_zeros(self, *size: Any, dtype: Any = None) -> "Tensor":
        return zeros(*size, dtype=dtype or self.dtype)

    def new_ones(self, *size: Any, dtype: Any = None) -> "Tensor":
        return ones(*size, dtype=dtype or self.dtype)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None) -> "Tensor":
        return full(size, fill_value, dtype=dtype or self.dtype)

    def new_tensor(self, data: Any, dtype: Any = None) -> "Tensor":
        return tensor(data, dtype=dtype or self.dtype)

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    # --- indexing -----------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        index, basic = _index(index)
        try:
            return ops.GetItem.apply(self, index=index, basic=basic)
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {self.shape})") from None

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("setitem: cannot assign into a tensor that requires grad while "
                               "grad mode is on; use tl.where(mask, value, t) to build a new "
                               "tensor, or assign inside `with tl.no_grad():`")
        index, _ = _index(index)
        value = value.numpy() if isinstance(value, Tensor) else value
        be.active.before_write(self.numpy())  # NOTE: pending lazy reads of it run first
        self.numpy()[index] = value
        autograd.mark_modified(self)

    # --- in place (they bump the version counter that backward checks) ----------------------
    def _assign(self, value: "Tensor", op: str, prior: "Tensor | None" = None) -> "Tensor":
        """Make `value` this tensor's value. `prior` is the `_prior()` handle that `value` was
        computed from, if any.

        Under grad mode a non-leaf takes over `value`'s data and node, as PyTorch's in-place
        ops do; the value it had stays reachable as `_before`, so a node that used it earlier
        still gets its gradient right (autograd's `_resolve_modified`). Otherwise the memory
        is overwritten, and a node that used it earlier refuses to run backward.
        """
        if value.shape != self.shape:
            raise RuntimeError(f"{op}: the result has shape {value.shape}, which does not fit "
                               f"in place into a tensor of shape {self.shape}")
        if self.requires_grad and autograd.is_grad_enabled():
            if self._ctx is None:
                raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed "
                                   "in place while grad mode is on; wrap the update in "
                                   "`with tl.no_grad():`")
            self._before = self._prior() if prior is None else prior
            self._data, self._ctx = value._data, value._ctx
        else:
            self._before = None  # NOTE: the earlier value is gone: nothing to go back to
            src = value.numpy()
            be.active.before_write(self.numpy())  # NOTE: pending lazy reads of it run first
            np.copyto(self.numpy(), src, casting="unsafe")
        autograd.mark_modified(self)
        return self

    def _prior(self) -> "Tensor":
        """A handle on this tensor's current value, for an in-place op to build on."""
        if self.requires_grad and autograd.is_grad_enabled() and self._ctx is not None:
            prior = Tensor._wrap(self._data)
            prior._ctx, prior.requires_grad, prior._version = self._ctx, True, self._version
            prior._before = getattr(self, "_before", None)
            return prior
        return self

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        prior = self._prior()
        return self._assign(prior + (other * alpha if alpha != 1 else other), "add_", prior)

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        prior = self._prior()
        return self._assign(prior - (other * alpha if alpha != 1 else other), "sub_", prior)

    def mul_(self, other: Any) -> "Tensor":
        prior = self._prior()
        return self._assign(prior * other, "mul_", prior)

    def div_(self, other: Any) -> "Tensor":
        prior = self._prior()
        return self._assign(prior / other, "div_", prior)

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        prior = self._prior()
        return self._assign(prior.clamp(min, max), "clamp_", prior)

    def copy_(self, src: Any) -> "Tensor":
        src = src if isinstance(src, Tensor) else Tensor(src)
        return self._assign(src.to(self.dtype).expand(self.shape), "copy_")

    def fill_(self, value: Any) -> "Tensor":
        return self._assign(full(self.shape, value, dtype=self.dtype), "fill_")

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> "Tensor":
        return self._assign(Tensor(generator().uniform(a, b, self.shape), self.dtype),
                            "uniform_")

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        return self._assign(Tensor(generator().normal(mean, std, self.shape), self.dtype),
                            "normal_")

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_


autograd.Tensor = Tensor  # the engine makes tensors but cannot import this module
autograd._wrap = Tensor._wrap


class MinMax(tuple):
    """The (values, indices) pair of `max(dim)` / `min(dim)`, as PyTorch names it."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


def _index(index: Any) -> tuple[Any, bool]:
    """Tensors and lists in an index become numpy arrays; `basic` is True without arrays."""
    items = index if isinstance(index, tuple) else (index,)
    basic = True
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.numpy()
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "biu":
                raise IndexError(f"index: tensors used as indices must be integer or bool, "
                                 f"got {item.dtype}")
            basic = False
        out.append(item)
    return (tuple(out) if isinstance(index, tuple) else out[0]), basic


# --- functions on several tensors -----------------------------------------------------------
def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with numpy's rules for 1-D and batched operands."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both operands need at least 1 dim, got {a.shape} @ "
                           f"{b.shape}")
    k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        where = "first" if b.ndim == 1 else "second-to-last"
        raise RuntimeError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {k_a} and "
                           f"{k_b} differ (the left operand's last dim must equal the right "
                           f"one's {where} dim); transpose or reshape an operand, e.g. b.T")
    if a.dtype != b.dtype:
        raise RuntimeError(f"matmul: {a.shape} @ {b.shape}: dtypes {a.dtype} and {b.dtype} "
                           "differ; convert one with .float() or .double()")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: {a.shape} @ {b.shape}: batch dimensions "
                           f"{a.shape[:-2]} and {b.shape[:-2]} do not broadcast") from None
    return ops.MatMul.apply(a, b)


def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002
    """Elements of `input` where `condition` holds, else of `other`."""
    cond = condition.numpy() if isinstance(condition, Tensor) else np.asarray(condition)
    if isinstance(input, Tensor):
        a, b = input._pair(other)
    elif isinstance(other, Tensor):
        b, a = other._pair(input)
    else:
        a, b = Tensor(input), Tensor(other)
        a, b = a._pair(b)
    return ops.Where.apply(a, b, cond=cond.astype(bool, copy=False))


def _same_dtype(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _result_dtype(dt, t.dtype)
    return [t.to(dt) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = _same_dtype(tensors, "cat")
    axis = tensors[0]._axis(dim, "cat")
    first = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(first) or any(
                n != m for i, (n, m) in enumerate(zip(t.shape, first)) if i != axis):
            raise RuntimeError(f"cat: shapes {first} and {t.shape} differ outside dim {dim}")
    return ops.Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dimension."""
    tensors = _same_dtype(tensors, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: every tensor needs the same shape, got "
                               f"{tensors[0].shape} and {t.shape}")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


# --- creation -------------------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (float32 for Python floats, int64 for ints)."""
    arr = np.array(_as_array(data, dtype), copy=True)
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with `a` (its dtype is kept)."""
    return Tensor(a)


def _filled(size: tuple, value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    dt = np.dtype(dtype) if dtype is not None else _DEFAULT_FLOAT
    return Tensor(np.full(_size(size), value, dtype=dt), requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 1, dtype, requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled(size, 0, dtype, requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return _filled((size,) if isinstance(size, int) else tuple(size), fill_value, dtype,
                   requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    return Tensor(_as_array(arr.tolist() if dtype is None else arr, dtype),
                  requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    return Tensor(np.linspace(start, end, steps), dtype=dtype or _DEFAULT_FLOAT,
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m), dtype=dtype or _DEFAULT_FLOAT, requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the generator that `manual_seed` seeds."""
    dt = np.dtype(dtype or _DEFAULT_FLOAT)
    return Tensor(generator().standard_normal(_size(size), dtype=dt), requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = np.dtype(dtype or _DEFAULT_FLOAT)
    return Tensor(generator().random(_size(size), dtype=dt), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers in [low, high); `randint(high, size)` starts at 0, as in PyTorch."""
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(generator().integers(low, high, size), dtype=dtype or int64)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
