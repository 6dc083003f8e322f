"""Tensor: an array, its gradient, and the node that made it.

Every method is a thin call into a primitive of `ops.py` (or a few of them); the only logic here
is argument handling that PyTorch users expect: dims as ints or tuples, dtype promotion, scalars.
"""
from __future__ import annotations

import collections
import functools
import inspect
import math
import string
import sys
import warnings
import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import autograd, ops
from . import backend as be
from .backend.numpy_backend import scalar
from .rng import Generator
from .rng import generator as _rng

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default_float = float32  # NOTE: read through get_default_dtype(), never directly


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats and of the float creation functions."""
    return _default_float


def set_default_dtype(d: Any) -> None:
    """Make `d` (float32 or float64, as PyTorch allows) the default float dtype.

    Python floats, `zeros`/`ones`/`rand`/`randn`/`full`/`arange`/`linspace`/`eye`/..., integer
    tensors made float (`t.exp()`, `t / 2`) and new layers' parameters all follow it.
    """
    global _default_float
    dtype = np.dtype(d)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default, "
                        f"got {dtype}")
    _default_float = dtype


def get_default_device() -> "device":
    """The device new tensors are made on: always the CPU here."""
    return _CPU


def set_default_device(device: Any) -> None:  # noqa: A002  (PyTorch's name)
    """PyTorch's switch for where new tensors go: 'cpu' or None run, another is refused."""
    _on_cpu(device, "set_default_device")


def _ragged(data: Any) -> Exception:
    """Where nested lists stop being rectangular, as PyTorch's error class says it: TypeError
    for a number beside a sequence, ValueError for sequences of different lengths."""
    level, dim = [data], 0
    while level:
        nested = [isinstance(x, (list, tuple, np.ndarray, Tensor)) for x in level]
        if any(nested) and not all(nested):
            return TypeError(f"tensor: a number and a sequence side by side at dim {dim}")
        if not any(nested):
            break
        lengths = sorted({len(x) for x in level})
        if len(lengths) > 1:
            return ValueError(f"tensor: sequences of lengths {lengths} side by side at dim "
                              f"{dim}; every row must have the same length")
        level, dim = [y for x in level for y in x], dim + 1
    return ValueError("tensor: the nested data is not rectangular")


def _first_shape(data: Any) -> tuple:
    """The shape PyTorch reads off nested lists: each dim's size from its first element."""
    shape = []
    while isinstance(data, (list, tuple)):
        shape.append(len(data))
        if not data:
            break
        data = data[0]
    return tuple(shape)


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """numpy array for `data`: Python floats take the default float dtype (float32 unless
    `set_default_dtype` changed it), ints int64, as in PyTorch."""
    if isinstance(data, Tensor):
        arr = data.numpy()
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        try:
            arr = np.asarray(data)
        except ValueError:  # NOTE: numpy's "inhomogeneous shape"
            shape = _first_shape(data)
            if 0 not in shape:
                raise _ragged(data) from None
            # NOTE: PyTorch takes each dim's size from its first element and stores nothing
            # under an empty one: [[], [[]]] is an empty (2, 0) tensor
            return np.zeros(shape, get_default_dtype() if dtype is None else dtype)
        scalars = _numpy_scalar_dtype(data) if type(data) in (list, tuple) else None
        if isinstance(data, np.generic) and arr.dtype.kind in "biuf":
            pass  # NOTE: a numpy scalar keeps its dtype (np.int32(1) gives int32), as in PyTorch
        elif scalars is not None and dtype is None:
            arr = arr.astype(scalars)
        elif arr.dtype == np.float64 and dtype is None:  # NOTE: with a dtype, cast once
            dtype = get_default_dtype()
        elif arr.dtype.kind == "i":
            arr = arr.astype(int64)
        elif arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            f"(numpy dtype {arr.dtype}); use numbers or bools")
    if dtype is not None:
        with np.errstate(over="ignore", under="ignore"):  # NOTE: 1e40 is inf, 1e-45 denormal
            arr = arr.astype(np.dtype(dtype), copy=False)
    return arr


def _numpy_scalar_dtype(data: list | tuple) -> np.dtype | None:
    """The dtype PyTorch gives a list holding numpy scalars: theirs promoted with the Python
    numbers' (float: the default float, int: int64), so [np.float64(1)] is float64 and
    [np.float32(1), 2.0] float32; None when there are none (numpy's rules then do)."""
    types, pending = set(), [data]
    while pending:
        item = pending.pop()
        if type(item) in (list, tuple):
            pending.extend(item)
        else:
            types.add(type(item))
    if not any(issubclass(t, np.generic) for t in types):
        return None
    python = {float: get_default_dtype(), int: np.dtype(int64), bool: np.dtype(bool_)}
    dtypes = [np.dtype(t) if issubclass(t, np.generic) else python.get(t) for t in types]
    if any(d is None for d in dtypes):  # NOTE: not `None in`: np.dtype(None) is float64
        return None  # tensors or other objects inside: numpy's conversion decides
    return functools.reduce(_result_dtype, dtypes)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < float
_TYPE_NAMES = {float32: "FloatTensor", float64: "DoubleTensor", float16: "HalfTensor",
               int64: "LongTensor", int32: "IntTensor", int16: "ShortTensor",
               int8: "CharTensor", uint8: "ByteTensor", bool_: "BoolTensor"}


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
        return get_default_dtype()
    if isinstance(value, (int, np.integer)) and dtype.kind == "b":
        return int64
    return dtype


def _dim_index(d: int, ndim: int, op: str) -> int:
    """`d` (a negative one counts from the end) as an axis of a tensor of `ndim` dims, or
    PyTorch's IndexError; a 0-d tensor takes dim 0 and -1, as in PyTorch."""
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dims "
                         f"(expected {-n} to {n - 1})")
    return d % n


def _dims(dim: Any, ndim: int, op: str) -> tuple | None:
    """Normalise `dim` (None, an int or a sequence of ints, negatives allowed) to sorted axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = [_dim_index(d, ndim, op) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {dim} repeats a dimension")
    return tuple(sorted(out)) if ndim else None


def _drop_leading_ones(value: Any, ndim: int) -> Any:
    """`value` without the leading size-1 dims it has beyond `ndim`: PyTorch writes a (1,)
    tensor into a scalar slot (`t[0] = tl.tensor([5.0])`), numpy would refuse."""
    extra = value.ndim - ndim
    if extra > 0 and all(n == 1 for n in value.shape[:extra]):
        return value.reshape(value.shape[extra:])
    return value


def _on_cpu(where: Any, op: str) -> None:
    """Check a `device=` argument: everything lives on the CPU, so code written for PyTorch
    that passes `device="cpu"` (or `x.device`) runs, and any other device is refused."""
    if where is not None and str(where).split(":")[0] != "cpu":
        raise RuntimeError(f"{op}: only the 'cpu' device is available, got {where!r}")


def _to_dtype(args: tuple, kwargs: dict) -> Any:
    """The dtype a `to(...)` call asks for (None: only a device), checking the device.
    PyTorch's positional `to(device, dtype, non_blocking, copy)` flags are skipped."""
    dtype = kwargs.get("dtype")
    for arg in args + tuple(v for k, v in kwargs.items() if k in ("device", "other")):
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) or type(arg).__name__ == "device":
            _on_cpu(arg, "to")
        elif arg is not None and not isinstance(arg, bool):
            dtype = arg
    return dtype


def _correction(dim: Any, unbiased: bool | None, correction: int | None) -> tuple[Any, int]:
    """(dim, correction) from var/std's arguments in PyTorch's forms: `var(False)` means
    `var(unbiased=False)`, and `correction=None` the default of 1."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None:
        correction = int(unbiased)
    return dim, 1 if correction is None else correction


def _in_dtype(out: "Tensor", dtype: Any) -> "Tensor":
    """A sum's, product's or running one's result in the `dtype=` asked for: numpy widens
    bools and small ints as it adds or multiplies, PyTorch keeps the type (a uint8 sum wraps
    around: the same bits as the wide sum cast back; a bool sum is any(), a product all())."""
    return out if dtype is None else out.to(dtype)


def _all_if_empty(dim: Any) -> Any:
    """PyTorch's reductions read an empty dim list (`sum(dim=[])`) as every dim."""
    return None if isinstance(dim, (tuple, list)) and not dim else dim


def _size(size: tuple) -> tuple:
    """Accept `f(2, 3)` and `f((2, 3))` alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _new_size(size: tuple) -> tuple:
    """The shape of a tensor to create: `_size`, and no dim below 0 (where a view's -1 means
    "infer it", a new tensor's is an error)."""
    size = _size(size)
    if any(n < 0 for n in size):
        raise RuntimeError(f"size {size}: a new tensor's dims cannot be negative")
    return size


class device(str):  # noqa: N801  (PyTorch's name)
    """`tl.device("cpu")`: every tensor lives on the CPU, so this is the string "cpu" (equal
    to `t.device`) with PyTorch's `.type` and `.index`. Another device can be named, as in
    PyTorch without a GPU (`device("cuda").index`), but a tensor or layer refuses to go there."""

    def __new__(cls, type: str = "cpu", index: int | None = None) -> "device":  # noqa: A002
        kind, _, number = str(type).partition(":")
        index = None if kind == "cpu" else int(number) if number else index
        self = super().__new__(cls, kind if index is None else f"{kind}:{index}")
        self._kind, self._index = kind, index
        return self

    @property
    def type(self) -> str:  # noqa: A003
        return self._kind

    @property
    def index(self) -> int | None:
        return self._index


_CPU = device("cpu")


# PyTorch's print options (`set_printoptions`) and its named profiles
_PRINT_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
                   "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
                   "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3,
                            "linewidth": 80}}
_print_options: dict[str, Any] = {**_PRINT_PROFILES["default"], "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print, as `torch.set_printoptions`: decimals, the element count above
    which only `edgeitems` per edge are shown, line width, a profile ('default', 'short',
    'full') applied first, and scientific notation forced on or off (None: chosen per
    tensor)."""
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of "
                             f"{', '.join(_PRINT_PROFILES)}, got {profile!r}")
        _print_options.update(_PRINT_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
             "linewidth": linewidth}
    _print_options.update({k: v for k, v in given.items() if v is not None}, sci_mode=sci_mode)


def _float_format(values: np.ndarray) -> Callable[[Any], str]:
    """PyTorch's way of printing floats, so printed tensors read the same: whole numbers as
    `2.`, others with `precision` (4) decimals, and scientific notation when the magnitudes
    are far apart (a ratio over 1000) or extreme; every entry padded to one width."""
    shown = values[np.isfinite(values) & (values != 0)].astype(np.float64)
    finite = np.abs(shown)
    whole = bool(np.all(finite == np.ceil(finite)))
    big, small = (finite.max(), finite.min()) if finite.size else (0.0, 0.0)
    scientific = _print_options["sci_mode"]
    if scientific is None:
        scientific = finite.size > 0 and (big / small > 1000 or big > 1e8 or (
            not whole and small < 1e-4))
    digits = _print_options["precision"]
    spec = (f"{{:.{digits}e}}" if scientific else "{:.0f}." if whole
            else f"{{:.{digits}f}}")

    def text(v: Any) -> str:
        return spec.format(v) if np.isfinite(v) else str(float(v))

    width = max((len(text(v)) for v in shown), default=0)  # NOTE: nan, inf, 0 do not count
    return lambda v: text(v).rjust(width)


def _edges(values: np.ndarray, count: int) -> np.ndarray:
    """The first and last `count` entries along every dim: what a summarized print shows."""
    for axis, n in enumerate(values.shape):
        if n > 2 * count:
            values = np.concatenate([values.take(range(count), axis),
                                     values.take(range(n - count, n), axis)], axis)
    return values


def _binary(op: Any, pair: Callable) -> tuple[Callable, Callable]:
    """`a op b` and its reflected form (what Python calls on the right operand, for `2 - t`):
    both operands made tensors of one dtype by `pair`, then one `op` node."""
    def forward(self: "Tensor", other: Any) -> "Tensor":
        return op.apply(*pair(self, other))

    def reflected(self: "Tensor", other: Any) -> "Tensor":
        a, b = pair(self, other)
        return op.apply(b, a)

    return forward, reflected


def _float_unary(op: Any, doc: str | None = None) -> Callable:
    """The method `t.<op name>()`: `op` on t, integer and bool tensors made float32 first."""
    def method(self: "Tensor") -> "Tensor":
        return op.apply(self._floating())

    method.__name__ = method.__qualname__ = op.__name__.lower()
    method.__doc__ = doc or f"Elementwise {method.__name__} (integers become float32)."
    return method


def _named(helper: Callable, name: str) -> Callable:
    """The method `t.<name>(other)`: `helper(t, other, name)`, for twins that differ only by
    the numpy or backend function they call (bitwise, logical, comparisons)."""
    def method(self: "Tensor", other: Any) -> Any:
        return helper(self, other, name)

    method.__name__ = method.__qualname__ = name
    return method


def _numpy_test(name: str, doc: str | None = None) -> Callable:
    """The method `t.<name>()`: numpy's elementwise test of that name, a bool tensor outside
    the graph."""
    test = getattr(np, name)

    def method(self: "Tensor") -> "Tensor":
        return _no_grad(name, test, self.numpy())

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


def _no_grad(op: str, fn: Callable, *arrays: np.ndarray, **options: Any) -> "Tensor":
    """`fn(*arrays)` as a tensor outside the graph (tests, bitwise ops, and the values that
    rounded quotients then put in the graph with a zero gradient)."""
    try:
        return Tensor._wrap(np.asarray(fn(*arrays, **options)))
    except ValueError as e:
        raise RuntimeError(autograd._shape_error(op, arrays, e)) from None


def _check_integral(t: "Tensor", op: str) -> None:
    if t.dtype.kind not in "biu":
        raise RuntimeError(f"{op}: only integer and bool tensors, got {t.dtype}")


def _check_divisor(x: "Tensor", y: "Tensor", op: str) -> None:
    if x.dtype.kind == "b":
        raise RuntimeError(f"{op}: not defined for bool tensors; convert with .int()")
    if x.dtype.kind in "iu" and not y.numpy().all():
        raise ZeroDivisionError(f"{op}: integer division by zero")


def _modulo(op: Any, x: "Tensor", y: "Tensor", name: str) -> "Tensor":
    _check_divisor(x, y, name)
    return op.apply(x, y)


def _rounded_quotient(x: "Tensor", y: "Tensor", floor: bool, op: str) -> "Tensor":
    """x / y rounded down (floor) or toward 0: whole numbers, so in the graph with a zero
    gradient, as in PyTorch."""
    _check_divisor(x, y, op)
    a, b = x.numpy(), y.numpy()
    if floor:
        out = _no_grad(op, np.floor_divide, a, b)
    elif a.dtype.kind == "f":
        out = _no_grad(op, lambda a, b: np.trunc(a / b), a, b)
    else:  # NOTE: exact for int64, where trunc(a / b) would round through float64
        out = _no_grad(op, lambda a, b: (a - np.fmod(a, b)) // b, a, b)
    return ops.Piecewise.apply(x, y, value=out.numpy())


def _zero_d_as_1d(*flatten: str) -> Callable:
    """For the index and scan methods, which PyTorch runs on a 0-d tensor as on shape (1,)
    and which then give a 0-d result back: the method runs on the (1,) view, with the 0-d
    arguments named in `flatten` made (1,) too, and its result (or each of a pair) is made
    0-d again."""
    def wrap(method: Callable) -> Callable:
        signature = inspect.signature(method)
        name = method.__name__.lstrip("_")

        @functools.wraps(method)
        def run(self: "Tensor", *args: Any, **kwargs: Any) -> Any:
            if self.ndim:
                return method(self, *args, **kwargs)
            bound = signature.bind(self.reshape(1), *args, **kwargs)
            for arg in flatten:
                value = bound.arguments.get(arg)
                if getattr(value, "ndim", None) == 0:
                    bound.arguments[arg] = value.reshape(1)
            out = method(*bound.args, **bound.kwargs)
            if isinstance(out, tuple):
                return type(out)(t.reshape(()) for t in out)
            if out.numel() != 1:
                raise RuntimeError(f"{name}: a 0-d tensor takes one index, got {out.numel()}")
            return out.reshape(())
        return run
    return wrap


# NOTE: the views whose in-place op is writing through to their base right now: the base's
# `_refresh_views` leaves them to `_assign`, which gives them their new value itself
_WRITING_THROUGH: set[int] = set()


class Tensor:
    """An n-dimensional array that records the operations made on it.

    Examples
    --------
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # NOTE: `_before` (the value an in-place op replaced) is set only by `_assign`, `_view`
    # ((base, how, arg) of a view taken in the graph) only by `_viewed`, and `_untracked` only
    # by `.data`; none is read on the hot path, so `_wrap` leaves them unset
    # `_hooks` is None, or the hooks backward runs on this tensor's gradient (register_hook,
    # and retain_grad's, which runs last)
    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "_version", "_hooks",
                 "_before", "_view", "_views", "_untracked", "__weakref__")
    __array_priority__ = 1000  # numpy defers `array * tensor` to Tensor.__rmul__

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self._data = _as_array(data, dtype)
        self._grad: Tensor | None = None
        self._ctx: autograd.Function | None = None
        self._version = 0
        self._hooks: dict | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Any) -> "Tensor":
        """A tensor around a backend array, skipping __init__'s checks (the hot path)."""
        t = object.__new__(Tensor)
        t._data, t._grad, t._ctx, t._version, t._requires_grad = data, None, None, 0, False
        t._hooks = None
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
    def device(self) -> device:
        return _CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's memory but cut from the graph (PyTorch's `.data`):
        unlike `detach()`, its in-place writes are hidden from autograd, as in PyTorch."""
        t = Tensor._wrap(self._data)
        t._untracked = True
        return t

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else _as_array(value, self.dtype)

    @property
    def grad(self) -> "Tensor | None":
        """The gradient backward() accumulated: kept for leaves, and for tensors that called
        `retain_grad()` (reading it on any other tensor warns: it is always None there)."""
        if self._grad is None and self._ctx is not None and not self.retains_grad:
            warnings.warn(f"grad: this tensor is not a leaf (it was made by {self._ctx.op_name}), "
                          "so backward() does not keep its gradient and .grad is None; call "
                          ".retain_grad() on it before backward() to keep it",
                          UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        """A tensor of this tensor's shape and dtype, or None, as PyTorch checks it."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if value.shape != self.shape or value.dtype != self.dtype:
                raise RuntimeError(f"grad: assigned grad of shape {value.shape} and dtype "
                                   f"{value.dtype} does not match the tensor's {self.shape} "
                                   f"{self.dtype}")
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor record a graph for backward()."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)  # NOTE: its checks: floats only, leaves only

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        return self._ctx

    def size(self, dim: int | None = None) -> tuple | int:
        return self.shape if dim is None else self.shape[self._real_dim(dim, "size")]

    def _real_dim(self, dim: int, op: str) -> int:
        """`dim` as an axis of this tensor's shape (a 0-d tensor has none to give)."""
        if not self.ndim:
            raise IndexError(f"{op}: dim {dim} given, but a 0-d tensor has no dims")
        return _dim_index(dim, self.ndim, op)

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return math.prod(self.shape)

    nelement = numel

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    def __reversed__(self) -> "Tensor":
        """`reversed(t)` is the tensor flipped along dim 0, as in PyTorch (not an iterator)."""
        return self if self.ndim == 0 else self.flip(0)

    def numpy(self, force: bool = False) -> np.ndarray:
        """The values as a numpy array (shared, not copied). `force` is PyTorch's (which
        otherwise refuses a tensor that requires grad); here every tensor gives its array."""
        data = be.active.realize(self._data)
        if type(data) is not np.ndarray:  # NOTE: a full reduction gives a numpy scalar
            data = np.asarray(data)
        self._data = data
        return data

    def realize(self) -> "Tensor":
        """Compute a pending value now (a chain the numba backend is still fusing) and return
        this tensor: tinygrad's name, for code that wants the work done at a known point."""
        self.numpy()
        return self

    def __getstate__(self) -> tuple:
        """For pickle and copy: every field but the weak set of views taken of this tensor,
        which is this process's bookkeeping (and cannot be pickled)."""
        names = [n for cls in type(self).__mro__ for n in getattr(cls, "__slots__", ())]
        state = getattr(self, "__dict__", None)  # NOTE: a subclass without __slots__ has one
        return state, {name: getattr(self, name) for name in names
                       if name not in ("_views", "__weakref__") and hasattr(self, name)}

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """numpy's protocol: `np.asarray(t)` shares the tensor's memory (as with PyTorch's
        CPU tensors), `np.array(t)` (copy=True) is a copy that writes cannot leak from."""
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError(f"__array__: {arr.dtype} to {np.dtype(dtype)} needs a copy, "
                                 "and copy=False was asked")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def item(self) -> Any:
        if self.numel() != 1:
            raise RuntimeError(f"item: only a tensor with one element can be converted to a "
                               f"Python number, got shape {self.shape}")
        return self.numpy().item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"bool: the truth value of a tensor of shape {self.shape} is "
                               "ambiguous; use .any() or .all()")
        return bool(self.item())

    def __index__(self) -> int:
        """A one-element integer tensor indexes a list or a range, as in PyTorch."""
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError(f"index: only integer tensors of a single element can be "
                            f"converted to an index, got {self.dtype} of shape {self.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (`f"{loss:.4f}"`); others as their repr."""
        return self.item().__format__(spec) if self.ndim == 0 else super().__format__(spec)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        values, options = self.numpy(), _print_options
        summarized = values.size > options["threshold"]
        # NOTE: as PyTorch, the format suits the entries shown, not those the "..." hides
        shown = _edges(values, options["edgeitems"]) if summarized else values
        formatter = ({"float_kind": _float_format(shown)} if values.dtype.kind == "f" else
                     # NOTE: as PyTorch, " True" is padded only beside a False
                     {"bool": f"{{!s:>{5 if not shown.all() else 4}}}".format}
                     if values.dtype.kind == "b" and values.size else None)
        body = np.array2string(values, separator=", ", prefix="tensor(",
                               max_line_width=options["linewidth"] + 1, formatter=formatter,
                               threshold=min(options["threshold"], sys.maxsize),
                               edgeitems=options["edgeitems"])
        if summarized:
            body = body.replace(", ...,", ",  ...,")  # NOTE: PyTorch's " ..." entry
        extras = [f"size={self.shape}"] if not values.size and values.ndim > 1 else []
        if self.dtype not in (float32, int64, bool_) or not values.size and self.dtype != float32:
            extras.append(f"dtype={self.dtype}")  # NOTE: an empty tensor shows no values' type
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        # NOTE: PyTorch's layout: a suffix that would pass the line width starts a new line
        text = "tensor(" + body
        width = len(text) - text.rfind("\n") + 1  # NOTE: PyTorch's count, quirks included
        for extra in extras:
            if width + len(extra) + 2 > options["linewidth"]:
                text, width = text + ",\n" + " " * 7 + extra, 7 + len(extra)
            else:
                text, width = text + ", " + extra, width + len(extra) + 2
        return text + ")"

    # --- autograd -------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate the gradient of this tensor into `.grad` of every leaf it depends on
        (of `inputs` only, when given)."""
        autograd.backward(self, [gradient], retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (memory is shared, and so is a write to it:
        a node that saved this tensor refuses backward after one, as in PyTorch)."""
        return Tensor._wrap(self._data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, this one is {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf "
                               "tensor; use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` when backward() passes it."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so backward() "
                               "never reaches it; make an input requires_grad=True first")
        if self._ctx is not None:  # NOTE: a leaf keeps its gradient anyway
            self._hook_table()[autograd.RETAIN] = None

    @property
    def retains_grad(self) -> bool:
        """Whether `retain_grad()` was called on this non-leaf."""
        return self._hooks is not None and autograd.RETAIN in self._hooks

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> Any:
        """Call `hook(grad)` when backward has computed this tensor's gradient; a tensor it
        returns replaces the gradient (for the leaf's `.grad` and for everything upstream).

        Hooks run in the order they were registered. Returns a handle: `handle.remove()`.

        Examples
        --------
        >>> x = tl.randn(3, requires_grad=True)
        >>> h = x.register_hook(lambda g: g.clamp(-1, 1))   # clip this gradient
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        return autograd.RemovableHandle(self._hook_table(), hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]) -> Any:
        """Call `hook(tensor)` on this leaf after backward has added into its `.grad` (an
        optimizer can step the parameter there and then). Returns a handle."""
        if not self.requires_grad or not self.is_leaf:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor that "
                               "requires grad can take one")
        table = self._hook_table().setdefault(autograd.POST_ACCUMULATE, {})
        return autograd.RemovableHandle(table, hook)

    def _hook_table(self) -> dict:
        if self._hooks is None:
            self._hooks = {}
        return self._hooks

    def clone(self, *, memory_format: Any = None) -> "Tensor":
        """A copy in the graph. (`memory_format`, here and in the casts, is accepted for
        PyTorch code and ignored: every array is row-major or a view of one.)"""
        return ops.Mul.apply(self, self._const(1))

    # --- dtype ----------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """PyTorch's `to(dtype)`, `to(device, dtype)` and `to(other)` (other's dtype): a cast.
        Devices are checked and otherwise ignored (everything lives on the CPU). A cast to an
        integer or bool dtype leaves the graph, as in PyTorch (no gradient flows through it)."""
        if len(args) == 1 and not kwargs and not isinstance(args[0], (str, Tensor)):
            dtype = args[0]  # NOTE: the common to(dtype), which losses and promotions call
        else:
            dtype = _to_dtype(args, kwargs)
        flags = [a for a in args if isinstance(a, bool)]  # (non_blocking, copy) positionally
        copy = kwargs.get("copy", len(flags) == 2 and flags[1])
        if dtype is None:
            return self.clone() if copy else self
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self.clone() if copy else self
        if dtype.kind not in "fc":
            return Tensor._wrap(be.active.cast(self._data, dtype))
        return ops.Cast.apply(self, dtype=dtype)

    def float(self, memory_format: Any = None) -> "Tensor":
        return self.to(float32)

    def double(self, memory_format: Any = None) -> "Tensor":
        return self.to(float64)

    def long(self, memory_format: Any = None) -> "Tensor":
        return self.to(int64)

    def int(self, memory_format: Any = None) -> "Tensor":
        return self.to(int32)

    def bool(self, memory_format: Any = None) -> "Tensor":
        return self.to(bool_)

    def half(self, memory_format: Any = None) -> "Tensor":
        return self.to(float16)

    def type(self, dtype: Any = None) -> "Any":
        """Without an argument, PyTorch's name for this tensor's type ("torch.FloatTensor",
        which user code compares against); with one (a dtype or such a name), a cast."""
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(self.dtype, "Tensor")
        if isinstance(dtype, str) and dtype.split(".")[-1] in _TYPE_NAMES.values():
            name = dtype.split(".")[-1]
            dtype = next(d for d, n in _TYPE_NAMES.items() if n == name)
        return self.to(dtype)

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        """`to("cuda")`, which is refused with a message: there is no GPU here (as in a CPU
        build of PyTorch); code that may run on either writes `to(device)`."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    def contiguous(self, memory_format: Any = None) -> "Tensor":
        """This tensor if its memory is in row-major order, else a row-major copy."""
        return self if self.is_contiguous() else ops.Contiguous.apply(self)

    def is_contiguous(self) -> bool:
        return bool(self.numpy().flags.c_contiguous)

    def stride(self, dim: int | None = None) -> tuple | int:
        """Steps between neighbours along each dim, in elements (numpy's strides / itemsize)."""
        steps = tuple(s // self.dtype.itemsize for s in self.numpy().strides)
        return steps if dim is None else steps[self._real_dim(dim, "stride")]

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # --- arithmetic -------------------------------------------------------------------------
    def _const(self, value: Any, dtype: np.dtype | None = None) -> "Tensor":
        return Tensor._wrap(scalar(value, dtype or self.dtype))  # NOTE: uint8 + -3 wraps

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

    def _sub_pair(self, other: Any) -> tuple["Tensor", "Tensor"]:
        """`_pair` for `-`, which PyTorch refuses on bools."""
        dtype = self._data.dtype
        if type(other) is Tensor and other._data.dtype == dtype and dtype.kind != "b":
            return self, other  # NOTE: the common case, as fast as `_pair`'s (~0.4 µs less)
        if dtype == np.bool_ or isinstance(other, (bool, np.bool_)) or (
                isinstance(other, Tensor) and other._data.dtype == np.bool_):
            raise RuntimeError("sub: subtraction, the `-` operator, with a bool tensor is not "
                               "supported; use `^` or logical_xor() instead")
        return self._pair(other)

    def _float_pair(self, other: Any) -> tuple["Tensor", "Tensor"]:
        if self._data.dtype.kind != "f" and isinstance(other, (int, np.integer)):
            return self.to(get_default_dtype())._pair(other)  # NOTE: uint8 / -3 divides by -3
        a, b = self._pair(other)
        if a.dtype.kind != "f":
            a, b = a.to(get_default_dtype()), b.to(get_default_dtype())
        return a, b

    # NOTE: `2 * t` records mul(t, 2), the tensor first, as PyTorch's graph shows it
    __add__ = __radd__ = _binary(ops.Add, _pair)[0]
    __sub__, __rsub__ = _binary(ops.Sub, _sub_pair)
    __mul__ = __rmul__ = _binary(ops.Mul, _pair)[0]
    __truediv__, __rtruediv__ = _binary(ops.Div, _float_pair)
    __rpow__ = _binary(ops.Pow, _pair)[1]

    def __pow__(self, exponent: Any) -> "Tensor":
        if type(exponent) is int and exponent < 0 and self._data.dtype.kind in "biu":
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed (a "
                               f"{self.dtype} tensor of shape {self.shape} to the power "
                               f"{exponent}); use a float tensor or exponent")
        return ops.Pow.apply(*self._pair(exponent))

    def __matmul__(self, other: Any) -> "Tensor":
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _matmul(other if isinstance(other, Tensor) else Tensor(other), self)

    def __neg__(self) -> "Tensor":
        if self.dtype == np.bool_:
            raise RuntimeError("neg: the - operator on a bool tensor is not supported; use ~ "
                               "or logical_not()")
        return ops.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def add(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """`self + alpha * other`, as PyTorch's `add`."""
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """`self - alpha * other`, as PyTorch's `sub`."""
        return self - (other * alpha if alpha != 1 else other)

    mul = __mul__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__
    negative, subtract, multiply, true_divide = neg, sub, mul, __truediv__

    def div(self, other: Any, *, rounding_mode: str | None = None) -> "Tensor":
        """x / y; rounding_mode "floor" or "trunc" rounds the quotient to a whole number,
        which carries no gradient."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("floor", "trunc"):
            raise RuntimeError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                             f"{rounding_mode!r}")
        return _rounded_quotient(*self._pair(other), rounding_mode == "floor", "div")

    divide = div

    def floor_divide(self, other: Any) -> "Tensor":
        """floor(x / y), Python's //: a whole number, so no gradient flows through it."""
        return _rounded_quotient(*self._pair(other), True, "floor_divide")

    __floordiv__ = floor_divide

    def __rfloordiv__(self, other: Any) -> "Tensor":
        a, b = self._pair(other)
        return _rounded_quotient(b, a, True, "floor_divide")

    def fmod(self, other: Any) -> "Tensor":
        """x - trunc(x / y) * y: the sign of x, as C's fmod."""
        return _modulo(ops.Fmod, *self._pair(other), "fmod")

    def remainder(self, other: Any) -> "Tensor":
        """x - floor(x / y) * y: the sign of y, as Python's %."""
        return _modulo(ops.Remainder, *self._pair(other), "remainder")

    __mod__ = remainder

    def __rmod__(self, other: Any) -> "Tensor":
        a, b = self._pair(other)
        return _modulo(ops.Remainder, b, a, "remainder")

    # --- bitwise and logical (no gradient) -----------------------------------------------------
    def _bitwise(self, other: Any, name: str) -> "Tensor":
        a, b = self._pair(other)
        _check_integral(a, name)
        return _no_grad(name, getattr(np, name), a.numpy(), b.numpy())

    bitwise_and = _named(_bitwise, "bitwise_and")
    bitwise_or = _named(_bitwise, "bitwise_or")
    bitwise_xor = _named(_bitwise, "bitwise_xor")
    bitwise_left_shift = __lshift__ = _named(_bitwise, "left_shift")
    bitwise_right_shift = __rshift__ = _named(_bitwise, "right_shift")

    def bitwise_not(self) -> "Tensor":
        _check_integral(self, "bitwise_not")
        return _no_grad("bitwise_not", np.invert, self.numpy())

    __and__ = __rand__ = bitwise_and  # NOTE: all three are symmetric
    __or__ = __ror__ = bitwise_or
    __xor__ = __rxor__ = bitwise_xor
    __invert__ = bitwise_not

    def _logical(self, other: Any, name: str) -> "Tensor":
        """Any dtypes, nonzero counting as True; the result is bool."""
        other = other.numpy() if isinstance(other, Tensor) else np.asarray(other)
        return _no_grad(name, getattr(np, name), self.numpy(), other)

    logical_and = _named(_logical, "logical_and")
    logical_or = _named(_logical, "logical_or")
    logical_xor = _named(_logical, "logical_xor")

    # --- comparisons (no gradient; bool tensors) ----------------------------------------------
    def _compare(self, other: Any, name: str) -> Any:
        if not isinstance(other, _COMPARABLE):
            # NOTE: as in PyTorch, `t == None`, `t == "a"`, `t == [1, 2]` are False (and `<`
            # a TypeError): Python's fallback once both sides decline
            return NotImplemented
        a, b = self._pair(other)
        try:
            return Tensor._wrap(getattr(be.active, name)(a._data, b._data))
        except ValueError as e:
            raise RuntimeError(autograd._shape_error(name, (a, b), e)) from None

    def _compare_method(self, other: Any, name: str) -> "Tensor":
        """`t.eq(other)`: where the operator hands an odd `other` back to Python (`t == None`
        is False), the method refuses it, as in PyTorch."""
        out = self._compare(other, name)
        if out is NotImplemented:
            raise TypeError(f"{name}: cannot compare a tensor with {type(other).__name__}")
        return out

    __eq__ = _named(_compare, "eq")  # type: ignore[override]
    __ne__ = _named(_compare, "ne")  # type: ignore[override]
    __lt__, __le__ = _named(_compare, "lt"), _named(_compare, "le")
    __gt__, __ge__ = _named(_compare, "gt"), _named(_compare, "ge")
    eq, ne = _named(_compare_method, "eq"), _named(_compare_method, "ne")
    lt, le = _named(_compare_method, "lt"), _named(_compare_method, "le")
    gt, ge = _named(_compare_method, "gt"), _named(_compare_method, "ge")
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    # --- unary math ---------------------------------------------------------------------------
    def _floating(self) -> "Tensor":
        return self if self.dtype.kind == "f" else self.to(get_default_dtype())

    def exp(self) -> "Tensor":
        return ops.Exp.apply(self._floating())

    def log(self) -> "Tensor":
        return ops.Log.apply(self._floating())

    def sqrt(self) -> "Tensor":
        return ops.Sqrt.apply(self._floating())

    def abs(self) -> "Tensor":
        return ops.Abs.apply(self)

    def sign(self) -> "Tensor":
        if self.dtype.kind == "b":  # NOTE: numpy has no bool sign; PyTorch gives x back
            return Tensor._wrap(self.numpy().copy())
        return ops.Sign.apply(self)

    def relu(self) -> "Tensor":
        return ops.Relu.apply(self)

    def sigmoid(self) -> "Tensor":
        return ops.Sigmoid.apply(self._floating())

    def tanh(self) -> "Tensor":
        return ops.Tanh.apply(self._floating())

    def square(self) -> "Tensor":
        x = self.long() if self._data.dtype == np.bool_ else self  # NOTE: as PyTorch's pow(x, 2)
        return x * x

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        if min is None and max is None:
            raise RuntimeError("clamp: give at least one of min and max")
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # NOTE: elementwise bounds
            # the gradient goes to x where min <= x <= max (maximum would split ties), and NaN
            # stays NaN
            x = self if min is None else where(self < min, min, self)
            return x if max is None else where(x > max, max, x)
        x = self
        for bound in (min, max):  # NOTE: an int tensor clamped at 0.5 becomes float32
            if bound is not None:
                x = x.to(_scalar_dtype(x.dtype, bound))
        return ops.Clamp.apply(x, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        return ops.Maximum.apply(*self._pair(other))

    def minimum(self, other: Any) -> "Tensor":
        return ops.Minimum.apply(*self._pair(other))

    log1p = _float_unary(ops.Log1p, "log(1 + x), accurate where x is tiny (1 + x rounds to 1).")
    expm1 = _float_unary(ops.Expm1, "exp(x) - 1, accurate where x is tiny.")
    erf = _float_unary(ops.Erf, "The error function, 2/sqrt(pi) times the integral of "
                                "exp(-t^2) from 0 to x.")
    erfc = _float_unary(ops.Erfc, "1 - erf(x), accurate where erf(x) is close to 1.")
    log2 = _float_unary(ops.Log2, "Base-2 logarithm, exact at powers of 2.")
    log10 = _float_unary(ops.Log10, "Base-10 logarithm, exact at powers of 10.")
    sin, cos, tan = _float_unary(ops.Sin), _float_unary(ops.Cos), _float_unary(ops.Tan)
    asin, acos, atan = _float_unary(ops.Asin), _float_unary(ops.Acos), _float_unary(ops.Atan)
    sinh, cosh = _float_unary(ops.Sinh), _float_unary(ops.Cosh)
    asinh, acosh = _float_unary(ops.Asinh), _float_unary(ops.Acosh)
    atanh = _float_unary(ops.Atanh)
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
    absolute = __abs__ = abs
    sgn = sign  # NOTE: differs from sign only for complex numbers, which this library lacks

    def exp2(self) -> "Tensor":
        return 2 ** self._floating()

    def atan2(self, other: Any) -> "Tensor":
        """The angle of the point (other, self): atan(self / other) in the right quadrant."""
        return ops.Atan2.apply(*self._float_pair(other))

    arctan2 = atan2

    def hypot(self, other: Any) -> "Tensor":
        """sqrt(self^2 + other^2), without overflow in the squares."""
        return ops.Hypot.apply(*self._float_pair(other))

    def logaddexp(self, other: Any) -> "Tensor":
        """log(exp(self) + exp(other)), without overflow."""
        return ops.LogAddExp.apply(*self._float_pair(other))

    def logit(self, eps: float | None = None) -> "Tensor":
        """log(p / (1 - p)), sigmoid's inverse; with `eps`, p is clamped to [eps, 1 - eps]
        first, so no gradient flows where it was clamped."""
        p = self._floating()
        if eps is not None:
            p = p.clamp(eps, 1 - eps)
        return (p / (1 - p)).log()

    def xlogy(self, other: Any) -> "Tensor":
        """self * log(other), and 0 where self == 0 (even where other is 0) unless other is
        NaN, as in PyTorch."""
        x, y = self._float_pair(other)
        a, b = x.numpy(), y.numpy()
        # NOTE: where x == 0 and log(y) is not finite (y <= 0 or inf), y is swapped for 1: the
        # product is then the 0 PyTorch gives, and no gradient meets 0 * log(0)
        spoilt = (a == 0) & ~((b > 0) & np.isfinite(b)) & ~np.isnan(b)
        return x * (where(spoilt, 1, y) if spoilt.any() else y).log()

    def float_power(self, exponent: Any) -> "Tensor":
        """self ** exponent computed in float64, whatever the dtypes (the result is float64)."""
        e = exponent.to(float64) if isinstance(exponent, Tensor) else exponent
        return self.to(float64) ** e

    def copysign(self, other: Any) -> "Tensor":
        """|self| with the sign of `other` (-0.0 counts as negative); `other` gets no
        gradient, as in PyTorch (its sign is a step)."""
        return ops.Copysign.apply(*self._float_pair(other))

    signbit = _numpy_test("signbit", "True where the sign bit is set: x < 0, and also -0.0 "
                                     "(no gradient).")

    def heaviside(self, values: Any) -> "Tensor":
        """The step function: 0 where x < 0, 1 where x > 0, `values` where x == 0."""
        a, b = self._pair(values)
        return _no_grad("heaviside", lambda x, v: np.heaviside(x, v).astype(x.dtype),
                        a.numpy(), b.numpy())

    def deg2rad(self) -> "Tensor":
        return self._floating() * (math.pi / 180)

    def rad2deg(self) -> "Tensor":
        return self._floating() * (180 / math.pi)

    def sinc(self) -> "Tensor":
        """sin(pi x) / (pi x), and 1 at x = 0 (where the gradient is 0)."""
        x = self._floating()
        zero = x.numpy() == 0
        scaled = where(zero, 1, x) * math.pi  # NOTE: no 0 / 0 in either branch's gradient
        return where(zero, 1, scaled.sin() / scaled)

    def _nan_ignoring(self, other: Any, larger: bool) -> "Tensor":
        """fmax / fmin: the larger (smaller) value, or the one that is not NaN. The gradient
        goes to self on ties, as in PyTorch."""
        a, b = self._pair(other)
        x, y = a.numpy(), b.numpy()
        return where(((x >= y) if larger else (x <= y)) | (y != y), a, b)

    def fmax(self, other: Any) -> "Tensor":
        """The elementwise maximum that ignores NaN (NaN only where both are NaN)."""
        return self._nan_ignoring(other, True)

    def fmin(self, other: Any) -> "Tensor":
        """The elementwise minimum that ignores NaN (NaN only where both are NaN)."""
        return self._nan_ignoring(other, False)

    # rounding: whole numbers, so the gradient is 0 everywhere (PyTorch's convention)
    def _step(self, op: type, name: str, **options: Any) -> "Tensor":
        if self.dtype.kind == "b":
            raise RuntimeError(f"{name}: not defined for bool tensors; convert with .int() "
                               "or .float()")
        if self.dtype.kind in "iu":
            if options.get("decimals"):
                raise RuntimeError(f"round: decimals needs a floating point tensor, got "
                                   f"{self.dtype}")
            return Tensor._wrap(self.numpy().copy())  # NOTE: integers are whole already
        return op.apply(self, **options)

    def floor(self) -> "Tensor":
        return self._step(ops.Floor, "floor")

    def ceil(self) -> "Tensor":
        return self._step(ops.Ceil, "ceil")

    def round(self, decimals: int = 0) -> "Tensor":
        """Round half to even (2.5 -> 2), at `decimals` places (negative: tens, hundreds)."""
        if decimals == 0:
            return self._step(ops.Round, "round")
        return self._step(ops.Round, "round", decimals=decimals)

    def trunc(self) -> "Tensor":
        """Round toward zero."""
        return self._step(ops.Trunc, "trunc")

    fix = trunc

    def frac(self) -> "Tensor":
        """x - trunc(x), with x's sign; its gradient is 1."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"frac: needs a floating point tensor, got {self.dtype}")
        return self - self.trunc()

    # tests (no gradient; bool tensors)
    isnan, isinf, isfinite = _numpy_test("isnan"), _numpy_test("isinf"), _numpy_test("isfinite")
    isposinf, isneginf = _numpy_test("isposinf"), _numpy_test("isneginf")

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> "Tensor":
        """|self - other| <= atol + rtol * |other|, elementwise (infinities equal themselves)."""
        a, b = self._pair(other)
        return _no_grad("isclose", np.isclose, a.numpy(), b.numpy(), rtol=rtol, atol=atol,
                        equal_nan=equal_nan)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """Whether `isclose` holds everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def equal(self, other: "Tensor") -> bool:
        """Whether both have the same shape and the same values (a Python bool)."""
        return self.shape == other.shape and bool((self.numpy() == other.numpy()).all())

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> "Tensor":
        """nan, inf and -inf replaced (by default with 0 and the dtype's largest and smallest
        values); the gradient flows where x was finite and is 0 where it was replaced."""
        data = self.numpy()
        if self.dtype.kind != "f":
            return Tensor._wrap(data.copy())
        filled = np.nan_to_num(data, nan=nan, posinf=posinf, neginf=neginf)
        return where(np.isfinite(data), self, Tensor._wrap(filled))

    def clamp_min(self, min: Any) -> "Tensor":  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> "Tensor":  # noqa: A002
        return self.clamp(max=max)

    def where(self, condition: Any, other: Any) -> "Tensor":
        """`self` where `condition` holds, else `other`: `tl.where(condition, self, other)`."""
        return where(condition, self, other)

    def lerp(self, end: Any, weight: Any) -> "Tensor":
        """self + weight * (end - self), exact at both ends (weight 1 gives `end`)."""
        start, end = self._float_pair(end)
        w = weight.to(start.dtype) if isinstance(weight, Tensor) else start._const(weight)
        return ops.Lerp.apply(start, end, w)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 * tensor2."""
        t1 = tensor1 if isinstance(tensor1, Tensor) else Tensor(tensor1)
        return self + (t1 * tensor2 if value == 1 else t1 * value * tensor2)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 / tensor2."""
        t1 = tensor1 if isinstance(tensor1, Tensor) else Tensor(tensor1)
        t2 = tensor2 if isinstance(tensor2, Tensor) else Tensor(tensor2)
        if t1.dtype.kind != "f" and t2.dtype.kind != "f":
            raise RuntimeError(f"addcdiv: integer division is not supported ({t1.dtype} / "
                               f"{t2.dtype}); use addcmul with 1 / tensor2, or floats")
        return self + (t1 / t2 if value == 1 else t1 * value / t2)

    # --- reductions -------------------------------------------------------------------------
    def _require_floating(self, op: str) -> "Tensor":
        """This tensor, if it is a float one: PyTorch's mean and var refuse integers (the
        result type would be a guess), and so do ours."""
        if self.dtype.kind not in "fc":
            raise RuntimeError(f"{op}: needs a floating point tensor, got {self.dtype}; "
                               f"convert it with .float() first (or pass dtype=)")
        return self

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The sum; bools and ints up to int32 add up as int64, as in PyTorch (`dtype` casts
        first)."""
        x = (self.to(dtype) if dtype is not None else
             self.to(int64) if self.dtype.kind in "bu" or self.dtype == int32 else self)
        return _in_dtype(ops.Sum.apply(x, axis=_dims(_all_if_empty(dim), self.ndim, "sum"),
                                       keepdim=keepdim), dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        if dtype is None:
            self._require_floating("mean")
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype == float16:  # NOTE: PyTorch's half mean counts in float32 (N > 65504)
            return x.float().mean(dim, keepdim).half()
        axis = _dims(_all_if_empty(dim), self.ndim, "mean")
        count = x.numel() if axis is None else math.prod([x.shape[a] for a in axis])
        return ops.Sum.apply(x, axis=axis, keepdim=keepdim) / count

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = 1) -> "Tensor":
        """Variance; `correction=1` (the default, as in PyTorch) divides by N - 1.

        The positional order is PyTorch's, `var(dim, unbiased, keepdim)`; `var(False)` is
        `var(unbiased=False)`.
        """
        dim, correction = _correction(dim, unbiased, correction)
        x = self._require_floating("var")
        if x._data.dtype == float16:  # NOTE: in float32, as mean
            return x.float().var(dim, keepdim=keepdim, correction=correction).half()
        axis = _dims(_all_if_empty(dim), self.ndim, "var")
        count = x.numel() if axis is None else math.prod([x.shape[a] for a in axis])
        mean = ops.Sum.apply(x, axis=axis, keepdim=True) / count
        centred = x - mean
        total = ops.Sum.apply(centred * centred, axis=axis, keepdim=keepdim)
        return total / float(max(count - correction, 0))

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = 1) -> "Tensor":
        var = self.var(dim, unbiased, keepdim, correction=correction)
        # NOTE: PyTorch's gradient is 0 where std is 0 (sqrt's would be 0 * inf = nan there)
        flat = var.numpy() == 0
        return where(flat, 0.0, where(flat, 1.0, var).sqrt())

    def var_mean(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
                 *, correction: int | None = 1) -> tuple["Tensor", "Tensor"]:
        """(var, mean) in one call, as PyTorch's `torch.var_mean`."""
        dim, correction = _correction(dim, unbiased, correction)
        return (self.var(dim, unbiased, keepdim, correction=correction),
                self.mean(_all_if_empty(dim), keepdim))

    def std_mean(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
                 *, correction: int | None = 1) -> tuple["Tensor", "Tensor"]:
        """(std, mean) in one call, as PyTorch's `torch.std_mean`."""
        var, mean = self.var_mean(dim, unbiased, keepdim, correction=correction)
        return var.sqrt(), mean

    def bincount(self, weights: Any = None, minlength: int = 0) -> "Tensor":
        """How often each value 0, 1, ... occurs in this 1-D int tensor (the sum of `weights`
        at those places, when given); no gradient."""
        if self.ndim != 1 or self.dtype.kind not in "iu":
            raise RuntimeError(f"bincount: needs a 1-D integer tensor, got {self.dtype} of "
                               f"shape {self.shape}")
        w = None if weights is None else np.asarray(weights)
        out = np.bincount(self.numpy(), w, minlength)
        dtype = int64 if w is None else w.dtype if w.dtype.kind == "f" else float64
        return Tensor._wrap(out.astype(dtype))

    def _extreme(self, op: type, pick: str, dim: Any, keepdim: bool) -> Any:
        if isinstance(dim, Tensor):  # t.max(other) is the elementwise maximum, as in PyTorch
            return self.maximum(dim) if pick == "argmax" else self.minimum(dim)
        if dim is not None and not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{pick[3:]}: dim must be an int when indices are returned; "
                            f"use amax/amin for several dims")
        (axis,) = (None,) if dim is None else _dims(dim, self.ndim, pick[3:]) or (0,)
        # NOTE: an empty tensor reduces along a dim that is not empty ((0, 3).max(1))
        if self.numel() == 0 and (axis is None or self.shape[axis] == 0):
            raise RuntimeError(f"{pick[3:]}: cannot reduce an empty tensor of shape "
                               f"{self.shape}")
        if dim is None:
            return op.apply(self, axis=None, keepdim=False)
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
        return self._extreme(ops.Amax, "argmax", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The smallest value; with `dim`, a (values, indices) pair; with a tensor, the
        elementwise `minimum`, as in PyTorch."""
        return self._extreme(ops.Amin, "argmin", dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return ops.Amax.apply(self, axis=_dims(_all_if_empty(dim), self.ndim, "amax"),
                              keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return ops.Amin.apply(self, axis=_dims(_all_if_empty(dim), self.ndim, "amin"),
                              keepdim=keepdim)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> "AMinMax":
        """(amin, amax) in one call, as a pair with `.min` and `.max`."""
        return AMinMax((self.amin(dim, keepdim), self.amax(dim, keepdim)))

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
        picked = getattr(be.active, name)(data, axis=axis, keepdims=keepdim)
        return Tensor._wrap(picked.astype(int64, copy=False))

    def softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        x = self._floating() if dtype is None else self.to(dtype)  # NOTE: dtype casts first
        axis = self._axis(dim, "softmax")
        return ops.Softmax.apply(x, axis=axis) if x._data.size else x.clone()

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        x = self._floating() if dtype is None else self.to(dtype)
        axis = self._axis(dim, "log_softmax")
        return ops.LogSoftmax.apply(x, axis=axis) if x._data.size else x.clone()

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        axis = _dims(dim, self.ndim, "logsumexp")
        return ops.LogSumExp.apply(self._floating(), axis=axis, keepdim=keepdim)

    def _axis(self, dim: int, op: str) -> int:
        axes = _dims(dim, self.ndim, op)
        return axes[0] if axes else 0

    # --- products, scans, norms -----------------------------------------------------------------
    def _integral_as_int64(self, dtype: Any = None) -> "Tensor":
        """What products and running sums work on: this tensor cast to `dtype` when one is
        given (PyTorch's dtype=), else with bools and ints widened to int64, as in PyTorch."""
        if dtype is not None:
            return self.to(dtype)
        return self.to(int64) if self.dtype.kind in "biu" else self

    def prod(self, dim: int | None = None, keepdim: bool = False, *,
             dtype: Any = None) -> "Tensor":
        """The product of all elements, or along one `dim`; exact gradients where x has zeros.
        With `dtype`, the input is cast to it first."""
        if dim is not None and not isinstance(dim, (int, np.integer)):
            raise TypeError(f"prod: dim must be an int or None, got {dim!r}")
        axis = None if dim is None or not self.ndim else self._axis(dim, "prod")
        return _in_dtype(ops.Prod.apply(self._integral_as_int64(dtype), axis=axis,
                                        keepdim=keepdim), dtype)

    @_zero_d_as_1d("x")
    def _scan(self, op: type, x: "Tensor", dim: int, name: str) -> "Tensor":
        return op.apply(x, axis=self._axis(dim, name))

    def cumsum(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running sums along `dim` (bools and ints give int64), computed in `dtype` if given."""
        x = self._integral_as_int64(dtype)
        return _in_dtype(self._scan(ops.CumSum, x, dim, "cumsum"), dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running products along `dim`; the gradient is exact also where x has zeros."""
        x = self._integral_as_int64(dtype)
        return _in_dtype(self._scan(ops.CumProd, x, dim, "cumprod"), dtype)

    def logcumsumexp(self, dim: int) -> "Tensor":
        """log(cumsum(exp(x))) along `dim`, without overflow."""
        return self._scan(ops.LogCumSumExp, self._floating(), dim, "logcumsumexp")

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False,
             dtype: Any = None) -> "Tensor":
        """The vector p-norm over `dim` (every element when None): p is 'fro' (= 2), a number,
        inf or -inf; or 'nuc', the nuclear norm of the matrices in two dims (the last two
        of a 2-D input). As in PyTorch the gradient at a zero norm is 0, not nan. With
        `dtype`, the input is cast to it first."""
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        if p == "fro":
            p = 2
        if p == "nuc":
            from . import linalg
            dims = (-2, -1) if dim is None and self.ndim == 2 else dim
            if dims is None or isinstance(dims, (int, np.integer)) or len(dims) != 2:
                raise RuntimeError(f"norm: p='nuc' needs two dims (or a 2-D input), got dim "
                                   f"{dim} for shape {self.shape}")
            return linalg.matrix_norm(self, "nuc", tuple(dims), keepdim)
        if isinstance(p, str) or not isinstance(p, (int, float, np.number)):
            raise ValueError(f"norm: p={p!r} is not supported; use 'fro', 'nuc', a number, inf "
                             "or -inf")
        x = self._floating()
        _dims(dim, self.ndim, "norm")  # NOTE: the range check, with this op's name
        if p == np.inf:
            return x.abs().amax(dim, keepdim)
        if p == -np.inf:
            return x.abs().amin(dim, keepdim)
        if p == 0:  # NOTE: a count, in the graph with a zero gradient as in PyTorch
            return ops.Piecewise.apply(x, value=(x != 0).to(x.dtype).sum(dim, keepdim).numpy())
        if p == 1:
            return x.abs().sum(dim, keepdim)
        if p < 1:  # NOTE: |x|**p is infinitely steep at x = 0: its gradient there is 0, as in
            # PyTorch, and a negative p's inf makes the norm 0 with a zero gradient everywhere
            nonzero = x != 0
            powers = where(nonzero, where(nonzero, x.abs(), 1) ** p, 0 if p > 0 else np.inf)
        else:
            powers = x * x if p == 2 else x.abs() ** p
        total = powers.sum(dim, keepdim)
        # NOTE: d total**(1/p) at total = 0 is inf * 0 = nan: the inner where hands the root a 1
        # there and the outer one puts the 0 back, so the gradient there is 0 (a NaN total
        # stays NaN, as in PyTorch)
        zero = total == 0
        safe = where(zero, 1, total)
        return where(zero, 0, safe.sqrt() if p == 2 else safe ** (1 / p))

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The sum with NaNs counted as 0 (they get no gradient); cast to `dtype` first."""
        return where(self != self, self._const(0), self).sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> "Tensor":
        """The mean of the elements that are not NaN (cast to `dtype` first)."""
        x = self._floating() if dtype is None else self.to(dtype)
        present = x == x
        return where(present, x, x._const(0)).sum(dim, keepdim) / present.sum(dim, keepdim)

    def count_nonzero(self, dim: Any = None) -> "Tensor":
        """How many elements are not 0 (an int64 tensor, no gradient)."""
        axis = _dims(dim, self.ndim, "count_nonzero")
        return Tensor._wrap(np.asarray(np.count_nonzero(self.numpy(), axis=axis), dtype=int64))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None,
             append: Any = None) -> "Tensor":
        """x[i+1] - x[i] along `dim`, `n` times over (after joining `prepend` and `append`);
        n = 0 gives a copy of x alone, as in PyTorch."""
        if not self.ndim:
            raise RuntimeError("diff: needs at least 1 dim, got a 0-d tensor")
        if n < 0:
            raise RuntimeError(f"diff: order must be non-negative but got {n}")
        d = self._axis(dim, "diff")
        if n == 0:
            return self.clone()
        x = cat([t for t in (prepend, self, append) if t is not None], d)
        for _ in range(n):
            steps = max(x.shape[d] - 1, 0)
            later, earlier = x.narrow(d, min(x.shape[d], 1), steps), x.narrow(d, 0, steps)
            # NOTE: bools differ where they are unequal, as in PyTorch (`-` refuses bools)
            x = later ^ earlier if x.dtype == np.bool_ else later - earlier
        return x

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median; with `dim`, a (values, indices) pair as `max(dim)` gives.

        Without `dim` the gradient is shared evenly among elements equal to the median, as in
        PyTorch; with `dim` it goes to the returned index. NaN anywhere makes it NaN.
        """
        return self._median(dim, keepdim, False, "median")

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """`median` of the values that are not NaN (NaN only where all of them are)."""
        return self._median(dim, keepdim, True, "nanmedian")

    def _median(self, dim: int | None, keepdim: bool, skip_nan: bool, op: str) -> Any:
        if self.numel() == 0:
            if dim is None and self.dtype.kind == "f":
                return self.sum() * np.nan  # NOTE: PyTorch's NaN, with a gradient of zeros
            if dim is None or self.shape[self._axis(dim, op)] == 0:
                raise RuntimeError(f"{op}: cannot take the median of an empty tensor of shape "
                                   f"{self.shape}" + ("" if dim is None else f" along dim {dim}"))
        if dim is None:
            flat = self.reshape(-1)
            data = flat.numpy()
            nan = np.isnan(data)
            if nan.all() or (nan.any() and not skip_nan):
                return flat._median(0, False, skip_nan, op).values  # NOTE: picks a NaN
            kept = data[~nan]
            value = np.sort(kept, kind="stable")[(kept.size - 1) // 2]
            if self.dtype.kind != "f":
                return Tensor._wrap(np.asarray(value))
            return where(data == value, flat, -np.inf).amax()
        axis, order = self._sort_indices(dim, False, op)
        n = order.shape[axis]
        # NOTE: the sort puts NaNs last: median takes the first of them (a row with NaN has
        # NaN as its median), nanmedian the middle of the values before them
        nans = np.isnan(self.numpy().reshape(order.shape)).sum(axis, keepdims=True)
        if skip_nan:
            position = np.maximum((n - nans - 1) // 2, 0)
        else:
            position = np.where(nans > 0, n - nans, (n - 1) // 2)
        return self._pick_sorted(axis, order, position, keepdim)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> "MinMax":
        """(values, indices) of the k-th smallest element along `dim` (k counts from 1); the
        gradient goes to the returned index."""
        axis, order = self._sort_indices(dim, False, "kthvalue")
        n = order.shape[axis]
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue: k={k} is out of range for dim {dim} of size {n} "
                               f"(tensor of shape {self.shape})")
        return self._pick_sorted(axis, order, k - 1, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> "MinMax":
        """(values, indices) of the most frequent value along `dim`: of equally frequent
        values the smallest, at its last position, as PyTorch picks."""
        axis, order = self._sort_indices(dim, False, "mode")
        n = order.shape[axis]
        if n == 0:
            raise RuntimeError(f"mode: dim {dim} of the tensor of shape {self.shape} is empty")
        data = self.numpy().reshape(self.shape or (1,))
        ranked = np.moveaxis(np.take_along_axis(data, order, axis), axis, -1)
        # NOTE: equal values sit in runs of the sorted rows; each run's first and last
        # positions come from running max / min scans, their difference is its length
        steps = np.broadcast_to(np.arange(n), ranked.shape)
        edge = np.ones(ranked.shape[:-1] + (1,), dtype=bool)
        change = ranked[..., 1:] != ranked[..., :-1]
        first = np.maximum.accumulate(
            np.where(np.concatenate([edge, change], -1), steps, 0), axis=-1)
        ends = np.concatenate([change, edge], -1)
        last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, steps, n), -1), -1), -1)
        longest = np.argmax(last - first, axis=-1)[..., None]  # the first: smallest value
        position = np.take_along_axis(last, longest, -1)  # a stable sort: its last index
        return self._pick_sorted(axis, order, np.moveaxis(position, -1, axis), keepdim)

    def _pick_sorted(self, axis: int, order: np.ndarray, position: Any,
                     keepdim: bool) -> "MinMax":
        """(values, indices) at `position` of the sorted `order` along `axis`: one int, or one
        per row (size 1 at `axis`). median, kthvalue and mode share it."""
        shape = order.shape[:axis] + (1,) + order.shape[axis + 1:]
        rank = np.broadcast_to(np.asarray(position, dtype=int64), shape)
        values, indices = self._take_sorted(axis, np.take_along_axis(order, rank, axis))
        if not keepdim and self.ndim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return MinMax((values, indices))

    # --- shape ------------------------------------------------------------------------------
    def ravel(self) -> "Tensor":
        """The elements as one dim, as `reshape(-1)`."""
        return self.reshape(-1)

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
        return self._viewed(ops.Reshape.apply(self, shape=shape), "reshape", None)

    def view(self, *shape: Any) -> "Tensor":
        """`reshape` that never copies: as in PyTorch, an error where the memory layout does
        not allow the new shape (a transposed tensor flattened, say).

        `view(dtype)` reads the same memory as another dtype (`x.view(tl.int32)`: a float's
        bits), without a gradient as in PyTorch; a dtype of another item size rescales the
        last dim, which must then be contiguous."""
        if len(shape) == 1 and (isinstance(shape[0], np.dtype) or isinstance(shape[0], type)
                                and issubclass(shape[0], np.generic)):
            data, dtype = self.numpy(), np.dtype(shape[0])
            why = "a 0-d tensor has no last dim to rescale"
            if data.ndim or dtype.itemsize == data.itemsize:
                try:
                    return Tensor._wrap(data.view(dtype))
                except ValueError as e:  # NOTE: numpy's reason: the last dim is strided
                    why = str(e)
            raise RuntimeError(f"view: a {self.dtype} tensor of shape {self.shape} cannot be "
                               f"read as {dtype}: {why}")
        out = self.reshape(*shape)
        if not self.is_contiguous() and not np.shares_memory(out.numpy(), self.numpy()):
            raise RuntimeError(f"view: the shape {out.shape} does not fit the memory layout "
                               f"of this tensor of shape {self.shape} (it is not contiguous); "
                               "use .reshape(...) instead, which copies")
        return out

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (_dim_index(d, self.ndim, "flatten") for d in (start_dim, end_dim))
        if start > end:
            raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                               f"(shape {self.shape})")
        # NOTE: the merged size, not -1, which an empty batch would leave ambiguous
        merged = math.prod(self.shape[start:end + 1])
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

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
        axes = tuple(_dim_index(d, self.ndim, "permute") for d in dims)
        if sorted(axes) != list(range(self.ndim)):
            raise RuntimeError(f"permute: dims {dims} are not a permutation of the "
                               f"{self.ndim} dims of a tensor of shape {self.shape}")
        return self._permuted(axes)

    def _permuted(self, axes: tuple) -> "Tensor":
        return self._viewed(ops.Permute.apply(self, axes=axes), "permute", axes)

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        axes = list(range(self.ndim))
        d0, d1 = self._axis(dim0, "transpose"), self._axis(dim1, "transpose")
        if axes:  # NOTE: a 0-d tensor transposes to itself, as in PyTorch
            axes[d0], axes[d1] = axes[d1], axes[d0]
        return self._permuted(tuple(axes))

    @property
    def T(self) -> "Tensor":
        return self._permuted(tuple(reversed(range(self.ndim))))

    def t(self) -> "Tensor":
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor of at most 2 dims, got shape {self.shape}; "
                               "use transpose(d0, d1), or .mT for the last two")
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

    def flip(self, *args: Any, dims: Any = None) -> "Tensor":
        """The elements in reverse order along each of `dims` (`flip(0, 1)` or
        `flip(dims=(0, 1))`)."""
        axes = _dims(_size(args if dims is None else (dims,)), self.ndim, "flip") or ()
        # NOTE: a copy, as in PyTorch, and past __getitem__, which refuses negative steps
        index = tuple(slice(None, None, -1) if i in axes else slice(None)
                      for i in range(self.ndim))
        return ops.GetItem.apply(self, index=index, basic=True)

    def roll(self, shifts: Any, dims: Any = None) -> "Tensor":
        """Shift elements along `dims` (those that fall off the end come back at the start);
        without `dims` the flattened tensor is rolled and the shape restored."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: {len(shifts)} shifts {shifts} for {len(dims)} dims "
                               f"{dims}; give one shift per dim")
        out = self
        for shift, dim in zip(shifts, dims):
            axis = self._axis(dim, "roll")
            n = self.shape[axis] if self.ndim else 1
            shift = int(shift) % max(n, 1)
            if shift:
                out = cat([out.narrow(axis, n - shift, shift), out.narrow(axis, 0, n - shift)],
                          axis)
        return out

    def repeat(self, *sizes: Any) -> "Tensor":
        """Tile the tensor `sizes[i]` times along dim i (extra leading sizes add dims)."""
        sizes = _size(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: {len(sizes)} repeat counts {sizes} for a tensor of "
                               f"shape {self.shape}; give at least one per dim")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        # NOTE: a new axis of length r before each dim, expanded (no copy) then merged
        spread = self.reshape(tuple(k for n in shape for k in (1, n)))
        tiled = spread.expand(tuple(k for r, n in zip(sizes, shape) for k in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tile(self, *dims: Any) -> "Tensor":
        """`repeat`, with missing leading counts taken as 1 (numpy's and PyTorch's `tile`)."""
        dims = _size(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def _triangle(self, diagonal: int, lower: bool, op: str) -> "Tensor":
        """tril / triu of the last two dims: the other elements set to 0 (and no gradient)."""
        if self.ndim < 2:
            raise RuntimeError(f"{op}: needs at least 2 dims, got shape {self.shape}")
        rows, cols = self.shape[-2:]
        on_or_below = np.tri(rows, cols, diagonal if lower else diagonal - 1, dtype=bool)
        return where(on_or_below if lower else ~on_or_below, self, self._const(0))

    def tril(self, diagonal: int = 0) -> "Tensor":
        return self._triangle(diagonal, True, "tril")

    def triu(self, diagonal: int = 0) -> "Tensor":
        return self._triangle(diagonal, False, "triu")

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        """The diagonal of the (dim1, dim2) planes, as a new last dim (as in PyTorch)."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal: needs at least 2 dims, got shape {self.shape}")
        d1, d2 = self._axis(dim1, "diagonal"), self._axis(dim2, "diagonal")
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 are the same dim ({dim1}, {dim2}) "
                               f"of a tensor of shape {self.shape}")
        plane = self.permute(*(i for i in range(self.ndim) if i not in (d1, d2)), d1, d2)
        rows, cols = plane.shape[-2:]
        first_row, first_col = max(-offset, 0), max(offset, 0)
        i = np.arange(max(min(rows - first_row, cols - first_col), 0))
        return plane[..., i + first_row, i + first_col]

    def diag(self, diagonal: int = 0) -> "Tensor":
        """A 1-D tensor as the `diagonal`-th diagonal of a square matrix, or a matrix's
        `diagonal`-th diagonal as a 1-D tensor."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {self.shape}")
        n = self.shape[0]
        size, i = n + abs(diagonal), np.arange(n)
        index = (i + max(-diagonal, 0), i + max(diagonal, 0))
        return ops.IndexPut.apply(self, shape=(size, size), index=index, accumulate=False)

    def trace(self) -> "Tensor":
        """The sum of a matrix's diagonal."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a 2-D tensor, got shape {self.shape}")
        return self.diagonal().sum()

    def movedim(self, source: Any, destination: Any) -> "Tensor":
        """Move dims `source` to positions `destination`; the others keep their order."""
        src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
        dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: source {src} and destination {dst} differ in length")
        src_axes = [self._axis(d, "movedim") for d in src]
        dst_axes = [self._axis(d, "movedim") for d in dst]
        if len(set(src_axes)) != len(src) or len(set(dst_axes)) != len(dst):
            raise RuntimeError(f"movedim: source {src} and destination {dst} must not repeat "
                               "a dim")
        order = [i for i in range(self.ndim) if i not in src_axes]
        for d, s in sorted(zip(dst_axes, src_axes)):
            order.insert(d, s)
        return self.permute(*order) if self.ndim else self

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> "Tensor":
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> "Tensor":
        return self.transpose(dim0, dim1)

    def unflatten(self, dim: int, sizes: Any) -> "Tensor":
        """Split dim `dim` into several of `sizes` (one may be -1)."""
        d = self._axis(dim, "unflatten")
        sizes = tuple(int(s) for s in sizes)
        n = self.shape[d] if self.ndim else 1
        known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
        fits = known == n if -1 not in sizes else (
            sizes.count(-1) == 1 and known > 0 and n % known == 0)
        if not fits:
            raise RuntimeError(f"unflatten: sizes {sizes} do not make up dim {dim} of size {n} "
                               f"(tensor of shape {self.shape})")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def broadcast_to(self, *shape: Any) -> "Tensor":
        return self.expand(*shape)

    # --- PyTorch's other spellings, composed from the ops above --------------------------------
    def _product(self, other: "Tensor", ranks: tuple[int, int], op: str) -> "Tensor":
        """`matmul` for the spellings that take only operands of `ranks` (mm, mv, dot)."""
        if (self.ndim, other.ndim) != ranks:
            raise RuntimeError(f"{op}: expected operands of {ranks[0]} and {ranks[1]} dims, "
                               f"got {self.shape} and {other.shape}; use @ (matmul) for "
                               "other shapes")
        return _matmul(self, other)

    def mm(self, mat2: "Tensor") -> "Tensor":
        """The product of two matrices (2-D only, unlike `@`)."""
        return self._product(mat2, (2, 2), "mm")

    def dot(self, other: "Tensor") -> "Tensor":
        """The inner product of two 1-D tensors."""
        return self._product(other, (1, 1), "dot")

    vdot = dot  # NOTE: nothing to conjugate without complex dtypes

    def outer(self, vec2: "Tensor") -> "Tensor":
        """a[i] * b[j] for two 1-D tensors."""
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: both operands must be 1-D, got {self.shape} and "
                               f"{vec2.shape}")
        return self.unsqueeze(1) * vec2.unsqueeze(0)

    def kron(self, other: Any) -> "Tensor":
        """The Kronecker product: blocks self[i, j, ...] * other (dims matched from the
        right), of shape self.shape * other.shape."""
        a, b = self._pair(other)
        n = max(a.ndim, b.ndim)
        shape_a, shape_b = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
        # NOTE: interleaved singleton dims make one broadcast product hold every block
        spread_a = a.reshape(tuple(k for m in shape_a for k in (m, 1)))
        spread_b = b.reshape(tuple(k for m in shape_b for k in (1, m)))
        return (spread_a * spread_b).reshape(tuple(x * y for x, y in zip(shape_a, shape_b)))

    def cross(self, other: Any, dim: int | None = None) -> "Tensor":
        """The cross product of 3-vectors along `dim` (None: the first dim of size 3, as
        `torch.cross` picks); the operands broadcast."""
        a, b = broadcast_tensors(*self._pair(other))
        if dim is None:
            dim = next((i for i, n in enumerate(a.shape) if n == 3), None)
        if dim is None or a.shape[a._axis(dim, "cross")] != 3:
            raise RuntimeError(f"cross: needs a dim of size 3 (dim={dim}), got shapes "
                               f"{self.shape} and {b.shape}")
        d = a._axis(dim, "cross")
        (a1, a2, a3), (b1, b2, b3) = a.unbind(d), b.unbind(d)
        return stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d)

    def dist(self, other: Any, p: float = 2) -> "Tensor":
        """The p-norm of self - other (broadcast)."""
        return (self - other).norm(p)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> "Tensor":
        """Rotate by 90 degrees `k` times in the plane of `dims`, from the first dim toward
        the second (flips and a transpose, so the gradient is exact)."""
        if len(dims) != 2 or self.ndim < 2:
            raise RuntimeError(f"rot90: needs two dims of a tensor with at least 2, got dims "
                               f"{tuple(dims)} for shape {self.shape}")
        d0, d1 = self._axis(dims[0], "rot90"), self._axis(dims[1], "rot90")
        if d0 == d1:
            raise RuntimeError(f"rot90: dims {tuple(dims)} name the same dim")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        return self.flip(d0).transpose(d0, d1) if k == 3 else self.clone()

    def unfold(self, dimension: int, size: int, step: int) -> "Tensor":
        """Windows of `size` along `dimension`, `step` apart, as a new last dim: that dim
        becomes the window count. Where windows overlap the gradients add up."""
        d = self._axis(dimension, "unfold")
        n = self.shape[d] if self.ndim else 1
        if not 0 <= size <= n or step < 1:
            raise RuntimeError(f"unfold: size {size} must lie in [0, {n}] (dim {dimension} of "
                               f"the tensor of shape {self.shape}) and step {step} be >= 1")
        if not self.ndim:
            return self.reshape(1)
        windows = np.arange(0, n - size + 1, step)[:, None] + np.arange(size)
        return self._along(d, "unfold", windows).movedim(d + 1, -1)

    def reciprocal(self) -> "Tensor":
        return 1 / self._floating()

    def rsqrt(self) -> "Tensor":
        return self.sqrt().reciprocal()

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """`value` where `mask` is True, this tensor elsewhere (the gradient flows there)."""
        value = value.to(self.dtype) if isinstance(value, Tensor) else self._const(value)
        # NOTE: the result broadcasts self with the mask, as torch.masked_fill's does
        return where(mask, value, self)  # NOTE: self's dtype either way, as in PyTorch

    def _along(self, dim: int, op: str, index: Any) -> "Tensor":
        """`self[:, ..., index]` with `index` at `dim` (the dims before it taken whole)."""
        return self[(slice(None),) * self._axis(dim, op) + (index,)]

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        size = self.shape[self._real_dim(dim, "narrow")]
        first = start + size if start < 0 else start
        if not 0 <= first <= size or length < 0 or first + length > size:
            raise RuntimeError(f"narrow: start {start} and length {length} do not fit in dim "
                               f"{dim} of shape {self.shape}")
        return self._along(dim, "narrow", slice(first, first + length))

    @_zero_d_as_1d("index")
    def index_select(self, dim: int, index: Any) -> "Tensor":
        """The entries at `index` (a 1-D integer tensor, or 0-d: one entry, the dim kept)
        along `dim`; repeats accumulate."""
        index = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        if index.ndim > 1 or index.dtype.kind not in "iu":
            raise RuntimeError(f"index_select: index must be a 1-D integer tensor, got "
                               f"{index.dtype} of shape {index.shape}")
        return self._along(dim, "index_select", index.reshape(-1))

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): index has self's number of
        dims; repeated indices add up in the gradient."""
        d = self._axis(dim, "gather")
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        if idx.dtype.kind in "iu" and (not idx.size or not self.ndim and idx.ndim <= 1):
            # NOTE: as in PyTorch, an empty index may have any shape and a 0-d input reads
            # as (1,)
            return self.reshape(-1)[idx]
        if idx.ndim != self.ndim or idx.dtype.kind not in "iu":
            raise RuntimeError(f"gather: index must be an integer tensor with {self.ndim} "
                               f"dims like the input {self.shape}, got {idx.dtype} of shape "
                               f"{idx.shape}")
        larger = [k for k in range(self.ndim) if k != d and idx.shape[k] > self.shape[k]]
        if larger:
            raise RuntimeError(f"gather: index of shape {idx.shape} is larger than the input "
                               f"{self.shape} at dim {larger[0]} (only dim {d} may be larger)")
        n = self.shape[d]
        bad = idx[(idx < 0) | (idx >= n)]
        if bad.size:  # NOTE: no negative indices, as in PyTorch
            raise RuntimeError(f"gather: index {bad.flat[0]} is out of bounds for dim {d} "
                               f"of size {n} (indices must be in [0, {n}))")
        grids = list(np.indices(idx.shape, sparse=True))  # NOTE: broadcasting aranges
        grids[d] = idx
        return self[tuple(grids)]

    def select(self, dim: int, index: int) -> "Tensor":
        """The slice at `index` along `dim`, which it removes (`t[:, index]` for dim 1)."""
        if not self.ndim:
            raise IndexError("select: cannot select from a 0-d tensor")
        d = self._axis(dim, "select")
        n = self.shape[d]
        if not -n <= index < n:
            raise IndexError(f"select: index {index} is out of range for dim {dim} of size {n} "
                             f"(tensor of shape {self.shape})")
        return self._along(d, "select", int(index))

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        """Every slice along `dim`, as a tuple."""
        d = self._axis(dim, "unbind")
        return tuple(self.select(d, i) for i in range(self.shape[d] if self.ndim else 0))

    def take(self, index: Any) -> "Tensor":
        """Elements of the flattened tensor at `index`, in `index`'s shape."""
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        n = self.numel()
        if idx.dtype.kind not in "iu":
            raise RuntimeError(f"take: index must be an integer tensor, got {idx.dtype}")
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"take: index out of range for a tensor of {n} elements (shape "
                             f"{self.shape}): indices run from {idx.min()} to {idx.max()}")
        return self.reshape(-1)[idx]

    def masked_select(self, mask: Any) -> "Tensor":
        """The elements where `mask` (broadcast with this tensor) is True, as a 1-D tensor."""
        m = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != bool_:
            raise RuntimeError(f"masked_select: mask must be a bool tensor, got {m.dtype}")
        try:
            shape = np.broadcast_shapes(self.shape, m.shape)
        except ValueError:
            raise RuntimeError(f"masked_select: mask of shape {m.shape} does not broadcast "
                               f"with the tensor's shape {self.shape}") from None
        return self.expand(shape)[np.broadcast_to(m, shape)]

    def nonzero(self, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: (count, ndim) int64, or one 1-D tensor per dim."""
        data = self.numpy()
        where_ = np.nonzero(data.reshape(1) if not data.ndim else data)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(int64)) for i in where_)
        if not data.ndim:
            return Tensor._wrap(np.zeros((len(where_[0]), 0), dtype=int64))
        return Tensor._wrap(np.stack(where_, axis=1).astype(int64))

    def argwhere(self) -> "Tensor":
        """Indices of the nonzero elements, one row each: `nonzero()`."""
        return self.nonzero()

    def _unique_axis(self, dim: int | None, op: str) -> int | None:
        """`dim` as an axis for unique / unique_consecutive, refused as in PyTorch where
        another dim has size 0 (there are no slices to compare)."""
        axis = None if dim is None else self._axis(dim, op)
        if axis is not None and not self.numel() and self.ndim and self.shape[axis]:
            raise RuntimeError(f"{op}: shape {self.shape} has 0 sized dims and dim {dim} is "
                               "not one of them, so there are no slices to compare")
        return axis

    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim: int | None = None) -> Any:
        """The distinct values (or slices along `dim`), always sorted; with `return_inverse`
        each element's position among them, with `return_counts` how often each occurs.
        No gradient, as in PyTorch."""
        axis = self._unique_axis(dim, "unique")
        values, inverse, counts = np.unique(self.numpy(), return_inverse=True,
                                            return_counts=True, axis=axis)
        # NOTE: numpy's inverse shape changed between versions; PyTorch's is fixed
        inverse = inverse.reshape(self.shape if axis is None else -1).astype(int64)
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap(inverse))
        if return_counts:
            out.append(Tensor._wrap(counts.astype(int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def _put(self, src: "Tensor", index: Any, accumulate: bool) -> "Tensor":
        """This tensor with `src` written (accumulate: added) at `index`, out of place."""
        put = ops.IndexPut.apply(src, shape=self.shape, index=index, accumulate=accumulate)
        if accumulate:
            return self + put
        written = np.zeros(self.shape, dtype=bool)
        written[index] = True
        return where(written, put, self)

    def index_put(self, indices: tuple, values: Any, accumulate: bool = False) -> "Tensor":
        """A copy with `values` written (accumulate: added, so repeats sum) at the advanced
        index `indices`, a tuple of tensors: `x.index_put((i,), v)` is `x[i] = v` on a copy."""
        index, _, _ = _index(tuple(indices), self.ndim)
        values = values if isinstance(values, Tensor) else Tensor(values, dtype=self.dtype)
        target = np.zeros(self.shape, dtype=bool)[index].shape
        return self._put(_drop_leading_ones(values.to(self.dtype), len(target)).expand(target),
                         index, accumulate)

    @_zero_d_as_1d("index", "src")
    def _scatter(self, dim: int, index: Any, src: Any, accumulate: bool, op: str) -> "Tensor":
        return self._put(*self._scatter_target(dim, index, src, op), accumulate)

    def _scatter_target(self, dim: int, index: Any, src: Any, op: str) -> tuple:
        """(src, index) for scatter-like ops: `index` as the advanced index of the places
        src[i][j] goes to ([index[i][j]][j] for dim 0), after the checks PyTorch makes."""
        d = self._axis(dim, op)
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        if idx.ndim != self.ndim or idx.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: index must be an integer tensor with {self.ndim} dims "
                               f"like the input {self.shape}, got {idx.dtype} of shape "
                               f"{idx.shape}")
        if not isinstance(src, Tensor):  # a value: written at every index
            src = full(idx.shape, src, dtype=self.dtype)
        if src.dtype != self.dtype:
            raise RuntimeError(f"{op}: src is {src.dtype} but the tensor is {self.dtype}; "
                               "convert one with .to()")
        n = self.shape[d] if self.ndim else 1
        if src.ndim != idx.ndim or any(k > s for k, s in zip(idx.shape, src.shape)) or any(
                k > s for i, (k, s) in enumerate(zip(idx.shape, self.shape)) if i != d):
            raise RuntimeError(f"{op}: index of shape {idx.shape} must fit in src {src.shape} "
                               f"and, outside dim {dim}, in the tensor {self.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise RuntimeError(f"{op}: index out of range for dim {dim} of size {n}: indices "
                               f"run from {idx.min()} to {idx.max()}")
        grids = list(np.indices(idx.shape, sparse=True))  # NOTE: broadcasting aranges
        grids[d] = idx
        if src.shape != idx.shape:  # NOTE: only src's leading corner is used, as in PyTorch
            src = src[tuple(slice(0, k) for k in idx.shape)]
        return src, tuple(grids)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> "Tensor":
        """A copy with src[i][j] written at [index[i][j]][j] for dim 0 (and so on); `src` (or
        `value`) may be a number. Where indices repeat, one of the written values wins.
        PyTorch's older `reduce="add"` adds instead (as scatter_add), `reduce="multiply"`
        multiplies (without a gradient, as in PyTorch)."""
        if (src is None) == (value is None):
            raise TypeError("scatter: give exactly one of src and value")
        src = value if src is None else src
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if reduce != "multiply":
            return self._scatter(dim, index, src, reduce == "add", "scatter")
        return self._scatter_product(dim, index, src)

    @_zero_d_as_1d("index", "src")
    def _scatter_product(self, dim: int, index: Any, src: Any) -> "Tensor":
        """scatter(reduce="multiply"), without a gradient as in PyTorch."""
        src, grids = self._scatter_target(dim, index, src, "scatter")
        out = self.numpy().copy()
        np.multiply.at(out, grids, src.numpy())
        return Tensor(out)

    def scatter_add(self, dim: int, index: Any, src: Any) -> "Tensor":
        """A copy with src[i][j] added at [index[i][j]][j] for dim 0; repeats add up."""
        return self._scatter(dim, index, src, True, "scatter_add")

    @_zero_d_as_1d("index", "source")
    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> "Tensor":
        """A copy with alpha * source's slices added at positions `index` along `dim`."""
        idx, source = self._index_source(dim, index, source, "index_add")
        return self._put(source * alpha if alpha != 1 else source,
                         (slice(None),) * self._axis(dim, "index_add") + (idx,), True)

    def index_fill(self, dim: int, index: Any, value: Any) -> "Tensor":
        """A copy with the slices at positions `index` along `dim` set to `value` (a number or
        a 0-d tensor, which then gets their gradient)."""
        d = self._axis(dim, "index_fill")
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        n = self.shape[d] if self.ndim else 1
        if idx.ndim > 1 or idx.dtype.kind not in "iu":
            raise RuntimeError(f"index_fill: index must be a 1-D integer tensor, got "
                               f"{idx.dtype} of shape {idx.shape}")
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"index_fill: index out of range for dim {dim} of size {n} "
                             f"(tensor of shape {self.shape}): indices run from {idx.min()} "
                             f"to {idx.max()}")
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape "
                               f"{value.shape}")
        along = np.zeros(n, dtype=bool)
        along[idx] = True
        return self.masked_fill(along.reshape(self.shape[d:d + 1] + (1,) * (self.ndim - d - 1)),
                                value)

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
        return self.tensor_split([int(c) for c in np.cumsum(sizes[:-1])], d)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple["Tensor", ...]:
        """`sections` pieces whose sizes differ by at most one (numpy's array_split), or the
        pieces between the listed indices."""
        d = self._axis(dim, "tensor_split")
        n = self.shape[d]
        if isinstance(indices_or_sections, Tensor):  # a 0-d count or a 1-d list of indices
            indices_or_sections = indices_or_sections.tolist()
        if isinstance(indices_or_sections, (int, np.integer)):
            k = int(indices_or_sections)
            if k < 1:
                raise RuntimeError(f"tensor_split: sections must be at least 1, got {k}")
            cuts = [i * (n // k) + min(i, n % k) for i in range(1, k)]
        else:
            cuts = [int(i) for i in indices_or_sections]
        bounds = list(zip([0] + cuts, cuts + [n]))
        return tuple(self._along(d, "tensor_split", slice(a, max(a, b))) for a, b in bounds)

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *,
                          output_size: int | None = None) -> "Tensor":
        """Each element (or slice along `dim`) repeated `repeats` times in place, e.g.
        [1, 2] -> [1, 1, 2, 2]; `repeats` may give one count per element. (`output_size`,
        which spares PyTorch a device sync, is checked against the result.)"""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else self._axis(dim, "repeat_interleave")
        counts = repeats.numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
        picks = np.repeat(np.arange(x.shape[d]), counts)
        if output_size is not None and output_size != len(picks):
            raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match "
                               f"the {len(picks)} repeated slices")
        return x.index_select(d, picks)

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        """At most `chunks` pieces of equal size (the last may be smaller), as in PyTorch."""
        if chunks < 1:
            raise RuntimeError(f"chunk: chunks must be at least 1, got {chunks}")
        n = self.shape[self._axis(dim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return self._truth(np.all, dim, keepdim, "all")

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return self._truth(np.any, dim, keepdim, "any")

    def _truth(self, reduce: Callable, dim: Any, keepdim: bool, name: str) -> "Tensor":
        """all / any: bool, but uint8 for uint8 input, as in PyTorch (from before it had
        bools)."""
        out = reduce(self.numpy(), axis=_dims(dim, self.ndim, name), keepdims=keepdim)
        return Tensor._wrap(out.astype(uint8) if self.dtype == uint8 else out)

    def logical_not(self) -> "Tensor":
        return Tensor._wrap(np.logical_not(self.numpy()))

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        return zeros(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        return full(size, fill_value, dtype=dtype or self.dtype, device=device,
                    requires_grad=requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> "Tensor":
        return tensor(data, dtype=dtype or self.dtype, device=device,
                      requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        """A new tensor of `size` in this tensor's dtype (zero-filled: numpy has no cheaper
        uninitialised memory worth the surprise)."""
        return empty(*size, dtype=dtype or self.dtype, device=device,
                     requires_grad=requires_grad)

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def is_complex(self) -> bool:
        """Always False: this library has no complex dtypes."""
        return False

    def data_ptr(self) -> int:
        """The address of the first element: views of one buffer compare as in PyTorch."""
        return self.numpy().__array_interface__["data"][0]

    def __contains__(self, element: Any) -> bool:
        """`element in t`: whether any element equals it (not a search through rows)."""
        if not isinstance(element, (Tensor, int, float, bool, np.generic)):
            raise RuntimeError(f"contains: only a tensor or a number can be looked for, got "
                               f"{type(element).__name__}")
        return bool((self == element).any().item())

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    # --- sorting ------------------------------------------------------------------------------
    def _sort_indices(self, dim: int, descending: bool, op: str) -> tuple[int, np.ndarray]:
        """The axis and the int64 order that sorts along it, ties kept in their original
        order (PyTorch's stable=True) both ways; NaN counts as the largest value."""
        data = self.numpy().reshape(self.shape or (1,))
        axis = self._axis(dim, op)
        if not descending:
            return axis, np.argsort(data, axis=axis, kind="stable").astype(int64)
        # NOTE: a stable ascending sort of the reversed row, read backwards, is a descending
        # sort whose ties keep their original order; negating would break ints and NaN
        n = data.shape[axis]
        flipped = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
        return axis, (n - 1 - np.flip(flipped, axis)).astype(int64)

    def _take_sorted(self, axis: int, order: np.ndarray) -> MinMax:
        """(values, indices) picked along `axis` by `order`; the values carry the gradient."""
        x = self.reshape(self.shape or (1,))
        values = ops.TakeAlongAxis.apply(x, indices=order, axis=axis)
        if not self.ndim:
            return MinMax((values.reshape(()), Tensor._wrap(order.reshape(()))))
        return MinMax((values, Tensor._wrap(order)))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = True) -> MinMax:
        """(values, indices) sorted along `dim`; ties keep their order (always stable)."""
        return self._take_sorted(*self._sort_indices(dim, descending, "sort"))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = True) -> "Tensor":
        """The indices that sort the tensor along `dim` (stable; no gradient)."""
        _, order = self._sort_indices(dim, descending, "argsort")
        return Tensor._wrap(order.reshape(self.shape))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMax:
        """(values, indices) of the `k` largest (or smallest) along `dim`, in sorted order;
        among equal values the first ones are taken."""
        axis, order = self._sort_indices(dim, largest, "topk")
        n = order.shape[axis]
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: k={k} is out of range for dim {dim} of size {n} "
                               f"(tensor of shape {self.shape})")
        return self._take_sorted(axis, order[(slice(None),) * axis + (slice(0, k),)])

    # --- linear algebra -----------------------------------------------------------------------
    def bmm(self, mat2: "Tensor") -> "Tensor":
        """Batched matrix product of (b, n, m) and (b, m, p) (3-D only, no broadcasting)."""
        if self.ndim != 3 or mat2.ndim != 3 or self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: expected two 3-D tensors with the same batch size, got "
                               f"{self.shape} and {mat2.shape}")
        return _matmul(self, mat2)

    def _add_product(self, a: "Tensor", b: "Tensor", beta: Any, alpha: Any, ndim: int,
                     op: str) -> "Tensor":
        """beta * self + alpha * (a @ b); with beta = 0 self is ignored (NaN included)."""
        if a.ndim != ndim or b.ndim != ndim:
            raise RuntimeError(f"{op}: expected {ndim}-D matrices, got {a.shape} and {b.shape}")
        product = a.bmm(b) if ndim == 3 else a.mm(b)
        return self._add_scaled(product, beta, alpha)

    def _add_scaled(self, product: "Tensor", beta: Any, alpha: Any) -> "Tensor":
        """beta * self + alpha * product; with beta = 0 self is ignored (NaN included).
        Bool and integer operands keep their dtype, as in PyTorch: beta and alpha are read as
        truth values for bools and truncated for integers (0.6 scales an int64 by 0)."""
        kinds = self.dtype.kind + product.dtype.kind
        if kinds == "bb":
            beta, alpha = bool(beta), bool(alpha)
        elif "f" not in kinds:
            beta, alpha = int(beta), int(alpha)
        if alpha != 1:
            product = product * alpha
        if beta == 0:
            return product
        return (self if beta == 1 else self * beta) + product

    def addmm(self, mat1: "Tensor", mat2: "Tensor", *, beta: Any = 1,
              alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (mat1 @ mat2) for 2-D mat1 and mat2."""
        return self._add_product(mat1, mat2, beta, alpha, 2, "addmm")

    def baddbmm(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1,
                alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * bmm(batch1, batch2)."""
        return self._add_product(batch1, batch2, beta, alpha, 3, "baddbmm")

    def inner(self, other: "Tensor") -> "Tensor":
        """Sums of products over the last dim: shape self.shape[:-1] + other.shape[:-1]."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        k = self.shape[-1]
        if other.shape[-1] != k:
            raise RuntimeError(f"inner: the last dims of {self.shape} and {other.shape} differ")
        rows = self.reshape(-1, k) @ other.reshape(-1, k).T
        return rows.reshape(self.shape[:-1] + other.shape[:-1])

    # --- indexing -----------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        index, basic, move = _index(index, self.ndim)
        try:
            out = ops.GetItem.apply(self, index=index, basic=basic)
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {self.shape})") from None
        if move is not None:
            k, p = move
            out = out.movedim(tuple(range(k)), tuple(range(p, p + k)))
        if basic:
            self._viewed(out, "index", index)
        return out

    def __setitem__(self, index: Any, value: Any) -> None:
        if value is None:
            raise TypeError(f"setitem: cannot assign None into a {self.dtype} tensor; assign a "
                            "number or a tensor")
        index, _, move = _index(index, self.ndim)
        if autograd.is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad",
                                                                         False)):
            # NOTE: in the graph, as PyTorch's CopySlices: the old values outside `index`, the
            # new ones inside; the gradient goes to each through that split
            outside = np.ones(self.shape, dtype=bool)
            outside[index] = False
            value = value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
            target = outside[index].shape
            value = _drop_leading_ones(value.to(self.dtype), len(target))
            value = value.expand(target) if move is None else _numpy_order(value, target, move)
            placed = ops.IndexPut.apply(value, shape=self.shape, index=index, accumulate=False)
            self._in_place("setitem", lambda t: where(outside, t, placed))
            return
        arr = self.numpy()
        if move is not None:
            value = value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
            value = _numpy_order(value, arr[index].shape, move)
        value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        be.active.before_write(arr)  # NOTE: pending lazy reads of it run first
        arr[index] = _drop_leading_ones(value, np.ndim(arr[index]))
        autograd.mark_written(self)

    # --- in place (they bump the version counter that backward checks) ----------------------
    def _viewed(self, out: "Tensor", how: str, arg: Any) -> "Tensor":
        """`out`, a view of this tensor's memory made in the graph (a basic slice, a reshape
        that did not copy, a permute), remembered so that an in-place op on `out` under
        grad mode writes through to this tensor (`_assign`), as PyTorch's views do. Outside
        grad mode the shared memory does it."""
        # NOTE: slices and permutes are always views; a reshape may have copied
        if out._ctx is not None and (how != "reshape" or np.may_share_memory(out._data,
                                                                          self._data)):
            out._view = (self, how, arg)
            views = getattr(self, "_views", None)
            if views is None:
                views = self._views = weakref.WeakSet()
            views.add(out)
        return out

    def _refresh_views(self) -> None:
        """After an in-place op under grad mode gave this tensor a new value: the views taken
        of it earlier show the new value too (and the new graph), as PyTorch's views of
        changed memory do; nodes that used a view's old value keep it (`_before`)."""
        for view in list(getattr(self, "_views", None) or ()):
            if view._view[0] is not self or id(view) in _WRITING_THROUGH:
                continue
            fresh = view._fresh_view()
            view._before = view._handle(view._data)
            view._data, view._ctx = fresh._data, fresh._ctx
            autograd.mark_modified(view)
            view._refresh_views()

    def _fresh_view(self) -> "Tensor":
        """This view taken again from its base's current value (a new node)."""
        base, how, arg = self._view
        if how == "index":
            return base[arg]
        return base.reshape(self.shape) if how == "reshape" else base.permute(arg)

    def _write_into_base(self, value: "Tensor", op: str) -> None:
        """`value`, this view's new value, written into its base: `_fresh_view` backwards."""
        base, how, arg = self._view
        _WRITING_THROUGH.add(id(self))
        try:
            if how == "index":
                base[arg] = value
            else:
                base._assign(value.reshape(base.shape) if how == "reshape"
                             else value.permute(np.argsort(arg).tolist()), op)
        finally:
            _WRITING_THROUGH.discard(id(self))

    def _assign(self, value: "Tensor", op: str, prior: "Tensor | None" = None) -> "Tensor":
        """Make `value` this tensor's value. `prior` is the `_prior()` handle that `value` was
        computed from, if any.

        Under grad mode a non-leaf takes over `value`'s data and node, as PyTorch's in-place
        ops do; the value it had stays reachable as `_before`, so a node that used it earlier
        still gets its gradient right (autograd's `_resolve_modified`). Otherwise the memory
        is overwritten, and a node that saved it (through any view) refuses to run backward.
        """
        if value.shape != self.shape:
            raise RuntimeError(f"{op}: the result has shape {value.shape}, which does not fit "
                               f"in place into a tensor of shape {self.shape}")
        data = self._data
        # NOTE: an empty tensor has no element to share (numpy may give it zero strides)
        if isinstance(data, np.ndarray) and data.size and 0 in data.strides and any(
                step == 0 and n > 1 for step, n in zip(data.strides, data.shape)):
            raise RuntimeError(f"{op}: more than one element of this tensor of shape "
                               f"{self.shape} refers to a single memory location (an "
                               "expand()); write into a .clone() of it, as PyTorch asks")
        self._spoil_saved_output()
        if autograd.is_grad_enabled() and (self.requires_grad or value.requires_grad):
            value = value.to(self.dtype)  # NOTE: an in-place op never changes the dtype
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed "
                                   "in place while grad mode is on; wrap the update in "
                                   "`with tl.no_grad():`")
            before = self._prior() if prior is None else prior
            if before is self:  # NOTE: a plain tensor joining the graph (`acc += x * w`)
                before = Tensor._wrap(self._data)
                before._version = self._version
            elif not value.requires_grad:  # NOTE: overwritten by a constant (`y.zero_()`):
                # the graph behind stays, with a zero gradient, as in PyTorch
                value = where(np.zeros(self.shape, dtype=bool), before, value)
            if getattr(self, "_view", None) is not None:  # NOTE: a view of a graph tensor:
                self._write_into_base(value, op)  # the base changes too, as PyTorch's does
                # NOTE: then a view of the new base, not `value` itself, which the base's node
                # now holds: two tensors on one node would meet twice in backward
                value = self._fresh_view()
            self._before = before
            self._data, self._ctx = value._data, value._ctx
            self._requires_grad = True
            autograd.mark_modified(self)
            self._refresh_views()
        else:
            self._before = None  # NOTE: the earlier value is gone: nothing to go back to
            # NOTE: the backend's own result (a 0-d sum may be a numpy scalar), not .numpy()'s
            # array made from it, so TinyJit sees the value it computed
            src = be.active.realize(value._data)
            be.active.before_write(self.numpy())  # NOTE: pending lazy reads of it run first
            be.active.copy_into(self.numpy(), src)
            autograd.mark_written(self)
        return self

    def _spoil_saved_output(self) -> None:
        """Before this tensor's value changes: if its node's gradient reads it (exp, relu,
        ...: `Function.from_output`), that backward refuses from now on, as PyTorch's."""
        if self._ctx is not None and self._ctx.from_output:
            self._ctx.output_written = self.shape

    def _prior(self) -> "Tensor":
        """A handle on this tensor's current value, for an in-place op to build on."""
        if self.requires_grad and autograd.is_grad_enabled() and self._ctx is not None:
            return self._handle(self._data)
        return self

    def _handle(self, data: Any) -> "Tensor":
        """A tensor on `data` that stands for this one's node, version and earlier value."""
        prior = Tensor._wrap(data)
        prior._ctx, prior._requires_grad, prior._version = self._ctx, True, self._version
        prior._before = getattr(self, "_before", None)
        return prior

    def _in_place(self, op: str, fn: Callable[["Tensor"], "Tensor"]) -> "Tensor":
        """`self = fn(self)` in place, for `<name>_` ops: the result is cast back to this
        tensor's dtype, which PyTorch allows only within a kind (float64 into float32 yes,
        a float into an int no)."""
        prior = self._prior()
        out = fn(prior)
        if _CATEGORY.get(out.dtype.kind, 3) > _CATEGORY.get(self.dtype.kind, 3):
            raise RuntimeError(f"{op}: the result is {out.dtype}, which cannot be written in "
                               f"place into a {self.dtype} tensor")
        return self._assign(out, op, prior)

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return self._in_place("add_", lambda t: t.add(other, alpha=alpha))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        return self._in_place("sub_", lambda t: t.sub(other, alpha=alpha))

    def mul_(self, other: Any) -> "Tensor":
        return self._in_place("mul_", lambda t: t * other)

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> "Tensor":
        return self._in_place("div_", lambda t: t.div(other, rounding_mode=rounding_mode))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        return self._in_place("clamp_", lambda t: t.clamp(min, max))

    def copy_(self, src: Any) -> "Tensor":
        src = src if isinstance(src, Tensor) else Tensor(src)
        return self._assign(src.to(self.dtype).expand(self.shape), "copy_")

    def fill_(self, value: Any) -> "Tensor":
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(f"fill_: the value must be a number or a 0-d tensor, got shape "
                               f"{value.shape}; copy_() writes a tensor of values")
        return self._assign(full(self.shape, value, dtype=self.dtype), "fill_")

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> "Tensor":
        """Set the main diagonal (i, i, ...) to `fill_value`; all dims must be equal beyond
        2-D. For a tall matrix `wrap` starts the diagonal again every N + 1 rows."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError(f"fill_diagonal_: needs 2 dims, or more of equal size, got shape "
                               f"{self.shape}")
        on = np.zeros(self.shape, dtype=bool)
        np.fill_diagonal(on, True, wrap=wrap)  # NOTE: numpy's wrap is PyTorch's
        return self._in_place("fill_diagonal_", lambda t: t.masked_fill(on, fill_value))

    def _rebind(self, value: "Tensor", op: str) -> "Tensor":
        """Become `value` (this tensor's memory seen through a view, or cut from the graph)
        without writing the memory, as PyTorch's in-place view ops and `detach_` do.

        A node that used this tensor earlier resolves it to a handle on what it was (autograd's
        `_resolve_modified`), so its gradient still flows to the graph behind it.
        """
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled() and (
                value.requires_grad):
            raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in "
                               "place while grad mode is on; wrap it in `with tl.no_grad():`")
        if self._ctx is not None:
            # NOTE: a fresh view of the same memory: not the array a node saved, so backward
            # does not take the values for overwritten (they are unchanged)
            self._before = self._handle(self.numpy()[...])
            autograd.mark_modified(self)
        self._data, self._ctx = value._data, value._ctx
        self._requires_grad = value.requires_grad
        return self

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place: it becomes a leaf that needs no gradient
        (ops that used it before still pass gradients through its earlier history)."""
        return self._rebind(self.detach(), "detach_")

    def t_(self) -> "Tensor":
        return self._rebind(self.t(), "t_")

    def transpose_(self, dim0: int, dim1: int) -> "Tensor":
        return self._rebind(self.transpose(dim0, dim1), "transpose_")

    def squeeze_(self, dim: Any = None) -> "Tensor":
        return self._rebind(self.squeeze(dim), "squeeze_")

    def unsqueeze_(self, dim: int) -> "Tensor":
        return self._rebind(self.unsqueeze(dim), "unsqueeze_")

    def swapaxes_(self, axis0: int, axis1: int) -> "Tensor":
        return self._rebind(self.swapaxes(axis0, axis1), "swapaxes_")

    swapdims_ = swapaxes_

    def float_power_(self, exponent: Any) -> "Tensor":
        """`float_power` in place: only into a float64 tensor, as in PyTorch."""
        if self.dtype != float64:
            raise RuntimeError(f"float_power_: the base is {self.dtype} but the result is "
                               "float64; only a float64 tensor can take it in place")
        return self._in_place("float_power_", lambda t: t.float_power(exponent))

    # random fills: draws from the shared generator, written like fill_ (no gradient)
    def _fill_random(self, samples: np.ndarray, op: str) -> "Tensor":
        return self._assign(Tensor(samples, self.dtype), op)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> "Tensor":
        return self._fill_random(_rng(generator).uniform(a, b, self.shape), "uniform_")

    def normal_(self, mean: float = 0.0, std: float = 1.0, *,
                generator: Any = None) -> "Tensor":
        return self._fill_random(_rng(generator).normal(mean, std, self.shape), "normal_")

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> "Tensor":
        """1 with probability `p` (a number, or a tensor broadcast to this one), else 0."""
        prob = p.numpy() if isinstance(p, Tensor) else np.asarray(p)
        if prob.size and (prob.min() < 0 or prob.max() > 1):
            raise RuntimeError(f"bernoulli_: p must lie in [0, 1], got values from "
                               f"{prob.min()} to {prob.max()}")
        return self._fill_random(_rng(generator).random(self.shape) < prob, "bernoulli_")

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Samples of the exponential distribution with rate `lambd` (mean 1 / lambd)."""
        if lambd <= 0:
            raise RuntimeError(f"exponential_: lambd must be > 0, got {lambd}")
        return self._fill_random(_rng(generator).exponential(1 / lambd, self.shape),
                                 "exponential_")

    def random_(self, from_: int | None = None, to: int | None = None, *,
                generator: Any = None) -> "Tensor":
        """Whole numbers drawn uniformly from [from_, to); `random_(to)` starts at 0. Without
        bounds: every whole number the dtype holds exactly, [0, 2**mantissa] for floats, as
        in PyTorch."""
        low, high = (0, from_) if to is None else (from_ or 0, to)
        if high is None:  # NOTE: `high` is exclusive; the largest value is high - 1
            if self.dtype.kind == "f":
                high = 2 ** (np.finfo(self.dtype).nmant + 1) + 1
            else:
                high = 2 if self.dtype.kind == "b" else int(np.iinfo(self.dtype).max) + 1
        if low >= high:
            raise RuntimeError(f"random_: from ({low}) must be less than to ({high})")
        draws = _rng(generator).integers(low, high - 1, self.shape, endpoint=True)
        return self._fill_random(draws, "random_")

    # --- PyTorch's remaining spellings and small queries ---------------------------------------
    def positive(self) -> "Tensor":
        """`+t`: the tensor itself; PyTorch refuses it on bools, and so does this."""
        if self.dtype == bool_:
            raise RuntimeError("positive: the `+` operator on a bool tensor is not supported")
        return self

    def ndimension(self) -> int:
        """The number of dims (PyTorch's old name for `dim()`)."""
        return self.ndim

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers (not uint8, not bool)."""
        return self.dtype.kind in "if"

    def is_same_size(self, other: "Tensor") -> bool:
        return self.shape == other.shape

    def is_nonzero(self) -> bool:
        """Whether the one element is not 0; an error for any other number of elements."""
        if self.numel() != 1:
            what = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"is_nonzero: Boolean value of Tensor with {what} is ambiguous "
                               f"(shape {self.shape})")
        return bool(self.numpy().reshape(()) != 0)

    @property
    def is_cpu(self) -> bool:
        """Always True: every tensor lives on the CPU."""
        return True

    def get_device(self) -> int:
        """-1, PyTorch's answer for a CPU tensor."""
        return -1

    def byte(self, memory_format: Any = None) -> "Tensor":
        return self.to(uint8)

    def char(self, memory_format: Any = None) -> "Tensor":
        return self.to(int8)

    def short(self, memory_format: Any = None) -> "Tensor":
        return self.to(int16)

    def fliplr(self) -> "Tensor":
        """Reverse dim 1 (left and right), for tensors of 2 dims or more."""
        if self.ndim < 2:
            raise RuntimeError(f"fliplr: needs at least 2 dims, got shape {self.shape}")
        return self.flip(1)

    def flipud(self) -> "Tensor":
        """Reverse dim 0 (up and down)."""
        if self.ndim < 1:
            raise RuntimeError("flipud: needs at least 1 dim, got a 0-d tensor")
        return self.flip(0)

    def _split_evenly(self, sections: Any, dim: int, least: int, op: str) -> tuple:
        """hsplit / vsplit / dsplit: `tensor_split`, but a count must divide the dim."""
        if self.ndim < least:
            raise RuntimeError(f"{op}: needs a tensor with at least {least} dims, got shape "
                               f"{self.shape}")
        if isinstance(sections, (int, np.integer)):
            n = self.shape[dim]
            if sections < 1 or n % sections:
                raise RuntimeError(f"{op}: dim {dim} of size {n} (shape {self.shape}) is not "
                                   f"divisible into {sections} equal sections")
        return self.tensor_split(sections, dim)

    def hsplit(self, sections: Any) -> tuple["Tensor", ...]:
        """Split along dim 1 (dim 0 for a 1-D tensor) into equal sections or at indices."""
        return self._split_evenly(sections, 0 if self.ndim == 1 else 1, 1, "hsplit")

    def vsplit(self, sections: Any) -> tuple["Tensor", ...]:
        """Split along dim 0 (tensors of 2 dims or more)."""
        return self._split_evenly(sections, 0, 2, "vsplit")

    def dsplit(self, sections: Any) -> tuple["Tensor", ...]:
        """Split along dim 2 (tensors of 3 dims or more)."""
        return self._split_evenly(sections, 2, 3, "dsplit")

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple["Tensor", ...]:
        """Pieces of the listed sizes along `dim` (they must add up to its size)."""
        return self.split([int(n) for n in split_sizes], dim)

    def narrow_copy(self, dim: int, start: int, length: int) -> "Tensor":
        """`narrow`, as a copy."""
        return self.narrow(dim, start, length).clone()

    def msort(self) -> "Tensor":
        """The values sorted along dim 0."""
        return self.sort(0).values

    def take_along_dim(self, indices: Any, dim: int | None = None) -> "Tensor":
        """`gather` where `indices` and the tensor broadcast in every dim but `dim`; without
        `dim`, elements of the flattened tensor."""
        idx = indices if isinstance(indices, Tensor) else Tensor(indices)
        if dim is None:
            return self.reshape(-1).gather(0, idx.reshape(-1))
        d = self._axis(dim, "take_along_dim")
        if idx.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: indices of shape {idx.shape} need as many "
                               f"dims as the input {self.shape}")
        try:
            common = np.broadcast_shapes(self.shape[:d] + (1,) + self.shape[d + 1:],
                                         idx.shape[:d] + (1,) + idx.shape[d + 1:])
        except ValueError:
            raise RuntimeError(f"take_along_dim: input {self.shape} and indices {idx.shape} do "
                               f"not broadcast outside dim {dim}") from None
        x = self.expand(common[:d] + self.shape[d:d + 1] + common[d + 1:])
        raw = idx.numpy()
        raw = np.where(raw < 0, raw + self.shape[d], raw)  # NOTE: -1 is the last, unlike gather
        i = np.broadcast_to(raw, common[:d] + idx.shape[d:d + 1] + common[d + 1:])
        return x.gather(d, i)

    def sum_to_size(self, *size: Any) -> "Tensor":
        """Sum broadcast dims away until the tensor has shape `size` (which must expand to
        the tensor's shape): the reduction that undoes `expand`."""
        size = _size(size)
        lead = self.ndim - len(size)
        if lead < 0 or any(n not in (1, m) for n, m in zip(size, self.shape[lead:])):
            raise RuntimeError(f"sum_to_size: size {size} is not expandable to the tensor's "
                               f"size {self.shape}")
        if not size:  # NOTE: PyTorch sums to () even from (), so a 0-d bool becomes int64
            return self.sum()
        dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(size)
                                          if n == 1 and self.shape[lead + i] != 1)
        out = self.sum(dims, keepdim=True) if dims else self  # NOTE: bools and ints sum to int64
        return out.reshape(size)

    # linear algebra, PyTorch's method spellings
    def mv(self, vec: "Tensor") -> "Tensor":
        """The product of a matrix and a vector."""
        return self._product(vec, (2, 1), "mv")

    ger = outer

    def addmv(self, mat: "Tensor", vec: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * (mat @ vec)."""
        return self._add_scaled(mat.mv(vec), beta, alpha)

    def addr(self, vec1: "Tensor", vec2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * outer(vec1, vec2)."""
        return self._add_scaled(vec1.outer(vec2), beta, alpha)

    def addbmm(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1,
               alpha: Any = 1) -> "Tensor":
        """beta * self + alpha * the sum over the batch of bmm(batch1, batch2)."""
        products = batch1.bmm(batch2)
        return self._add_scaled(products.sum(0, dtype=products.dtype), beta, alpha)

    def inverse(self) -> "Tensor":
        from . import linalg
        return linalg.inv(self)

    def det(self) -> "Tensor":
        from . import linalg
        return linalg.det(self)

    def logdet(self) -> "Tensor":
        """log(det): NaN where the determinant is negative, -inf where it is 0."""
        from . import linalg
        return linalg.det(self).log()

    def slogdet(self) -> tuple["Tensor", "Tensor"]:
        """(sign, log |det|): the determinant's sign and the log of its magnitude."""
        from . import linalg
        return linalg.slogdet(self)

    def pinverse(self, rcond: float = 1e-15) -> "Tensor":
        from . import linalg
        return linalg.pinv(self, rcond=rcond)

    def matrix_power(self, n: int) -> "Tensor":
        from . import linalg
        return linalg.matrix_power(self, n)

    def matrix_exp(self) -> "Tensor":
        from . import linalg
        return linalg.matrix_exp(self)

    def hardshrink(self, lambd: float = 0.5) -> "Tensor":
        from .nn import functional
        return functional.hardshrink(self, lambd)

    def prelu(self, weight: "Tensor") -> "Tensor":
        from .nn import functional
        return functional.prelu(self, weight)

    # --- running extremes, quantiles, statistics -------------------------------------------------
    @_zero_d_as_1d()
    def _running_extreme(self, dim: int, larger: bool, op: str) -> "MinMax":
        """cummax / cummin: (values, indices) of the extreme so far along `dim`. Ties and NaN
        take the latest index, as in PyTorch; the gradient goes to the picked elements."""
        axis = self._axis(dim, op)
        data = self.numpy()
        running = (np.maximum if larger else np.minimum).accumulate(data, axis=axis)
        steps = np.arange(data.shape[axis]).reshape((-1,) + (1,) * (data.ndim - axis - 1))
        hit = (data == running) | (data != data)  # NOTE: a NaN takes over and stays
        indices = np.maximum.accumulate(np.where(hit, steps, 0), axis=axis).astype(int64)
        values = self.gather(axis, indices)
        return MinMax((values, Tensor._wrap(indices)))

    def cummax(self, dim: int) -> "MinMax":
        """(values, indices) of the running maximum along `dim`."""
        return self._running_extreme(dim, True, "cummax")

    def cummin(self, dim: int) -> "MinMax":
        """(values, indices) of the running minimum along `dim`."""
        return self._running_extreme(dim, False, "cummin")

    def quantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> "Tensor":
        """The q-th quantiles (q a number or a 1-D tensor in [0, 1], whose dim comes first in
        the result) along `dim` (of every element when None). Between two sorted values the
        `interpolation` is 'linear', 'lower', 'higher', 'nearest' or 'midpoint'. NaN in a row
        makes its quantiles NaN."""
        return self._quantile(q, dim, keepdim, interpolation, False, "quantile")

    def nanquantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> "Tensor":
        """`quantile` of the values that are not NaN (NaN where all of them are)."""
        return self._quantile(q, dim, keepdim, interpolation, True, "nanquantile")

    def _quantile(self, q: Any, dim: int | None, keepdim: bool, interpolation: str,
                  skip_nan: bool, op: str) -> "Tensor":
        if self.dtype.kind != "f":
            raise RuntimeError(f"{op}: the input must be a float or double tensor, got "
                               f"{self.dtype}")
        if isinstance(q, Tensor) and q.dtype != self.dtype:
            raise RuntimeError(f"{op}: q ({q.dtype}) must have the input's dtype {self.dtype}")
        qs = np.asarray(q.numpy() if isinstance(q, Tensor) else q, dtype=self.dtype)
        if qs.ndim > 1:
            raise RuntimeError(f"{op}: q must be a number or a 1-D tensor, got shape "
                               f"{qs.shape}")
        if qs.size and not (np.all(qs >= 0) and np.all(qs <= 1)):
            raise RuntimeError(f"{op}: q values must lie in the range [0, 1], got {qs}")
        modes = ("linear", "lower", "higher", "midpoint", "nearest")
        if interpolation not in modes:
            raise RuntimeError(f"{op}: interpolation must be one of {', '.join(modes)}; got "
                               f"{interpolation!r}")
        if self.numel() == 0:
            raise RuntimeError(f"{op}: the input of shape {self.shape} must not be empty")
        axis = None if dim is None else self._axis(dim, op)
        x = self.reshape(-1) if axis is None or not self.ndim else self.movedim(axis, -1)
        ranked = x.sort(-1).values  # NOTE: NaNs sort last
        n = ranked.shape[-1]
        nans = np.isnan(ranked.numpy()).sum(-1, keepdims=True)
        # NOTE: ranks in the input's dtype, as PyTorch computes them (float32 rounding shows)
        scale = (n - nans - 1) if skip_nan else np.where(nans > 0, 0, n - 1)  # rank = q * scale
        if skip_nan:
            ranks = np.maximum(qs.reshape(-1) * (n - nans - 1).astype(self.dtype), 0)
        else:
            ranks = np.where(nans > 0, self.dtype.type(n - 1),
                             qs.reshape(-1) * self.dtype.type(n - 1))
        ranks = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}.get(
            interpolation, lambda r: r)(ranks).astype(self.dtype)
        below = ranked.gather(-1, np.broadcast_to(ranks.astype(int64),
                                                  ranked.shape[:-1] + ranks.shape[-1:]))
        if interpolation in ("linear", "midpoint"):
            above = ranked.gather(-1, np.broadcast_to(np.ceil(ranks).astype(int64),
                                                      below.shape))
            weight = ranks - np.floor(ranks) if interpolation == "linear" else np.full(
                ranks.shape, 0.5, dtype=self.dtype)
            mixed = below.lerp(above, Tensor._wrap(np.broadcast_to(weight, below.shape)))
            if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad:
                # NOTE: PyTorch's gradient for q, d(out)/dq = (above - below) * scale (0 in a
                # row that a NaN makes NaN), added as 0 that carries it
                with np.errstate(invalid="ignore"):
                    slope = (above.numpy() - below.numpy()) * ((ranks > 0) * scale)
                moved = q.reshape(-1) - q.detach().reshape(-1)
                mixed = mixed + moved * Tensor._wrap(np.where(np.isfinite(slope), slope, 0))
            below = mixed
        out = below.movedim(-1, 0)  # (number of q, the kept dims...)
        if keepdim:
            kept = (1,) * self.ndim if axis is None or not self.ndim else (
                self.shape[:axis] + (1,) + self.shape[axis + 1:])
            out = out.reshape(out.shape[:1] + kept)
        return out if qs.ndim else out.squeeze(0)

    def cov(self, *, correction: int = 1, fweights: Any = None,
            aweights: Any = None) -> "Tensor":
        """The covariance matrix of the variables in the rows (observations in the columns),
        with `correction` (1: divide by N - 1) and integer frequency / float observation
        weights, as numpy's and PyTorch's `cov`; gradients reach the input and aweights."""
        if self.ndim > 2:
            raise RuntimeError(f"cov: expected a tensor of 2 or fewer dims, got shape "
                               f"{self.shape}")
        x = (self if self.ndim == 2 else self.reshape(1, -1))._floating()
        n = x.shape[1]
        weights = a = None
        for name, w in (("fweights", fweights), ("aweights", aweights)):
            if w is None:
                continue
            w = w if isinstance(w, Tensor) else Tensor(w)
            if w.ndim > 1 or w.numel() != n or (name == "fweights") != (w.dtype.kind in "iu"):
                kind = "an integer" if name == "fweights" else "a float"
                raise RuntimeError(f"cov: {name} must be {kind} 1-D tensor of {n} "
                                   f"observations, got {w.dtype} of shape {w.shape}")
            if (w.numpy() < 0).any():
                raise RuntimeError(f"cov: {name} must be non-negative")
            # NOTE: in their own dtype, as in PyTorch: float32 aweights give a float32 sum
            # and normalisation even for float64 data
            w = w.reshape(-1)
            a = w if name == "aweights" else None
            weights = w if weights is None else weights * w
        if weights is None:
            norm: Any = n - correction
            centred = x - x.mean(1, keepdim=True)
            product = centred @ centred.T
        else:
            total = weights.sum()
            centred = x - (x * weights).sum(1, keepdim=True) / total
            product = centred @ (centred * weights).T
            if correction == 0:
                norm = total
            elif a is None:
                norm = total - correction
            else:
                norm = total - correction * (weights * a).sum() / total
        if float(norm) <= 0:
            warnings.warn("cov: degrees of freedom <= 0 for the correction given", stacklevel=2)
            norm = norm * 0 if isinstance(norm, Tensor) else 0
        return (product / (norm if isinstance(norm, Tensor) else float(norm))).squeeze()

    def corrcoef(self) -> "Tensor":
        """The Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        std = c.diagonal().sqrt()
        return (c / std.unsqueeze(1) / std.unsqueeze(0)).clamp(-1, 1)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> "Tensor":  # noqa: A002
        """Counts of the elements in `bins` equal-width bins from `min` to `max` (the data's
        range when both are 0); elements outside are ignored. No gradient."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"histc: needs a floating point tensor, got {self.dtype}")
        if bins < 1:
            raise RuntimeError(f"histc: bins must be > 0, got {bins}")
        data = self.numpy().reshape(-1)
        lo, hi = self.dtype.type(min), self.dtype.type(max)
        if lo == hi and data.size:
            lo, hi = data.min(), data.max()
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
            raise RuntimeError(f"histc: the range [{lo}, {hi}] must be finite, min <= max")
        kept = data[(data >= lo) & (data <= hi)]
        # NOTE: PyTorch's formula and rounding, in the input's dtype
        position = ((kept - lo) * self.dtype.type(bins) / (hi - lo)).astype(int64)
        counts = np.bincount(np.minimum(position, bins - 1), minlength=bins)
        return Tensor._wrap(counts.astype(self.dtype))

    def renorm(self, p: float, dim: int, maxnorm: float) -> "Tensor":
        """Each slice along `dim` whose p-norm exceeds `maxnorm` scaled down to norm
        maxnorm (by maxnorm / (norm + 1e-7), PyTorch's factor); the others unchanged."""
        if self.ndim < 2:
            raise RuntimeError(f"renorm: needs at least 2 dims, got shape {self.shape}")
        if p <= 0 or maxnorm < 0:
            raise RuntimeError(f"renorm: needs p > 0 and maxnorm >= 0, got {p} and {maxnorm}")
        d = self._axis(dim, "renorm")
        norm = self.norm(p, tuple(i for i in range(self.ndim) if i != d), keepdim=True)
        return self * where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)

    # --- embedding and scattering ----------------------------------------------------------------
    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> "Tensor":
        """Each last-dim vector as the `offset`-th diagonal of a matrix in dims (dim1, dim2)
        of the result, zeros elsewhere."""
        if not self.ndim:
            raise RuntimeError("diag_embed: needs at least 1 dim, got a 0-d tensor")
        ndim = self.ndim + 1
        d1, d2 = (_dims(d, ndim, "diag_embed")[0] for d in (dim1, dim2))
        if d1 == d2:
            raise RuntimeError(f"diag_embed: dim1 and dim2 are the same dim ({dim1}, {dim2})")
        k = self.shape[-1]
        size, i = k + abs(offset), np.arange(k)
        index = (slice(None),) * (self.ndim - 1) + (i + max(-offset, 0), i + max(offset, 0))
        plane = ops.IndexPut.apply(self, shape=self.shape[:-1] + (size, size), index=index,
                                   accumulate=False)
        return plane.movedim((ndim - 2, ndim - 1), (d1, d2))

    def diagflat(self, offset: int = 0) -> "Tensor":
        """The flattened tensor as the `offset`-th diagonal of a square matrix."""
        return self.reshape(-1).diag(offset)

    def _embed(self, src: Any, view: Callable[["Tensor"], "Tensor"], op: str) -> "Tensor":
        """This tensor with the elements that `view` picks replaced by `src` (of the view's
        shape): found by taking the view of the element numbers."""
        positions = view(arange(self.numel()).reshape(self.shape)).numpy()
        src = src if isinstance(src, Tensor) else Tensor(src, dtype=self.dtype)
        if src.shape != positions.shape:
            raise RuntimeError(f"{op}: src of shape {src.shape} must have the shape "
                               f"{positions.shape} of the part it fills of the input "
                               f"{self.shape}")
        flat = self.reshape(-1)._put(src.to(self.dtype).reshape(-1), (positions.reshape(-1),),
                                     False)
        return flat.reshape(self.shape)

    def select_scatter(self, src: Any, dim: int, index: int) -> "Tensor":
        """A copy with `select(dim, index)` replaced by `src`."""
        return self._embed(src, lambda t: t.select(dim, index), "select_scatter")

    def slice_scatter(self, src: Any, dim: int = 0, start: int | None = None,
                      end: int | None = None, step: int = 1) -> "Tensor":
        """A copy with the slice start:end:step along `dim` replaced by `src`."""
        return self._embed(src, lambda t: t._along(dim, "slice_scatter",
                                                   slice(start, end, step)), "slice_scatter")

    def diagonal_scatter(self, src: Any, offset: int = 0, dim1: int = 0,
                         dim2: int = 1) -> "Tensor":
        """A copy with `diagonal(offset, dim1, dim2)` replaced by `src`."""
        return self._embed(src, lambda t: t.diagonal(offset, dim1, dim2), "diagonal_scatter")

    def masked_scatter(self, mask: Any, source: "Tensor") -> "Tensor":
        """A copy with source's first elements, in order, written where `mask` is True (the
        mask and the tensor broadcast)."""
        m = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != bool_:
            raise RuntimeError(f"masked_scatter: mask must be a bool tensor, got {m.dtype}")
        if source.dtype != self.dtype:
            raise RuntimeError(f"masked_scatter: source is {source.dtype} but the tensor is "
                               f"{self.dtype}")
        try:
            shape = np.broadcast_shapes(self.shape, m.shape)
        except ValueError:
            raise RuntimeError(f"masked_scatter: mask of shape {m.shape} does not broadcast "
                               f"with the tensor's shape {self.shape}") from None
        m = np.broadcast_to(m, shape)
        count = int(m.sum())
        if source.numel() < count:
            raise RuntimeError(f"masked_scatter: source has {source.numel()} elements (shape "
                               f"{source.shape}), fewer than the {count} True in the mask")
        return self.expand(shape)._put(source.reshape(-1)[:count], np.nonzero(m), False)

    @_zero_d_as_1d("index", "source")
    def index_copy(self, dim: int, index: Any, source: Any) -> "Tensor":
        """A copy with source's slices written at positions `index` along `dim`."""
        idx, source = self._index_source(dim, index, source, "index_copy")
        return self._put(source.to(self.dtype), (slice(None),) * self._axis(dim, "index_copy")
                         + (idx,), False)

    def _index_source(self, dim: int, index: Any, source: Any, op: str) -> tuple:
        """(index, source) for index_copy / index_reduce: a 1-D integer index in range and a
        source shaped like the tensor with `len(index)` at `dim`."""
        d = self._axis(dim, op)
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        source = source if isinstance(source, Tensor) else Tensor(source, dtype=self.dtype)
        expected = self.shape[:d] + idx.shape + self.shape[d + 1:]
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or source.shape != expected:
            raise RuntimeError(f"{op}: index must be a 1-D integer tensor and source of shape "
                               f"{expected} for a tensor of shape {self.shape}, got index "
                               f"{idx.dtype} {idx.shape} and source {source.shape}")
        n = self.shape[d]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"{op}: index out of range for dim {dim} of size {n}: indices "
                             f"run from {idx.min()} to {idx.max()}")
        return idx % max(n, 1), source

    @_zero_d_as_1d("index", "src")
    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *,
                       include_self: bool = True) -> "Tensor":
        """A copy where src[i][j] is combined into [index[i][j]][j] (dim 0) by `reduce`:
        'sum', 'prod', 'mean', 'amax' or 'amin'; without `include_self` the tensor's own value
        at a place that receives something is left out. Differentiable (prod also where a
        factor is 0); amax / amin share the gradient among ties, as PyTorch does."""
        reductions = ("sum", "prod", "mean", "amax", "amin")
        if reduce not in reductions:
            raise RuntimeError(f"scatter_reduce: reduce must be one of {', '.join(reductions)};"
                               f" got {reduce!r}")
        src, index = self._scatter_target(dim, index, src, "scatter_reduce")
        hit = np.zeros(self.shape, dtype=bool)
        hit[index] = True
        if reduce in ("sum", "mean"):
            base = self if include_self else where(hit, self._const(0), self)
            total = base._put(src, index, True)
            if reduce == "sum":
                return total
            count = np.zeros(self.shape, dtype=int64)
            np.add.at(count, index, 1)
            count = np.maximum(count + include_self, 1)
            if self.dtype.kind != "f":  # NOTE: an integer mean rounds down, as in PyTorch
                return Tensor._wrap(np.floor_divide(total.numpy(), count).astype(self.dtype))
            return total / Tensor._wrap(count.astype(self.dtype))
        out = self.numpy().copy()
        if reduce == "prod":
            if not include_self:
                out[hit] = 1
            np.multiply.at(out, index, src.numpy())
            return ops.ScatterProd.apply(self, src, out=out, index=index, hit=hit,
                                         include_self=include_self,
                                         others=_products_of_the_others(
                                             self.numpy(), src.numpy(), index,
                                             hit & include_self))
        if not include_self:  # NOTE: start from the identity of the reduction
            kind = self.dtype.kind
            low, high = ((-np.inf, np.inf) if kind == "f" else (False, True) if kind == "b"
                         else (np.iinfo(self.dtype).min, np.iinfo(self.dtype).max))
            out[hit] = low if reduce == "amax" else high
        (np.maximum if reduce == "amax" else np.minimum).at(out, index, src.numpy())
        return ops.ScatterExtreme.apply(self, src, out=out, index=index, hit=hit,
                                        include_self=include_self)

    @_zero_d_as_1d("index", "source")
    def index_reduce(self, dim: int, index: Any, source: Any, reduce: str, *,
                     include_self: bool = True) -> "Tensor":
        """A copy where source's slices are combined into the slices at positions `index`
        along `dim` by `reduce`: 'prod', 'mean', 'amax' or 'amin' (`scatter_reduce` with the
        index spread over each slice)."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(f"index_reduce: reduce must be one of prod, mean, amax, amin; "
                               f"got {reduce!r}")
        idx, source = self._index_source(dim, index, source, "index_reduce")
        d = self._axis(dim, "index_reduce")
        spread = np.broadcast_to(idx.reshape((-1,) + (1,) * (self.ndim - d - 1)), source.shape)
        return self.scatter_reduce(d, spread.astype(int64), source, reduce,
                                   include_self=include_self)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        """Each run of equal consecutive values (or slices along `dim`) reduced to one; with
        `return_inverse` each element's run number, with `return_counts` each run's length.
        No gradient."""
        data = self.numpy()
        axis = self._unique_axis(dim, "unique_consecutive")
        if axis is None:
            rows = data.reshape(-1, 1)
        else:  # NOTE: the row length given, not -1: the slices may be empty
            n = data.shape[axis] if data.ndim else 1
            rows = np.moveaxis(data, axis, 0).reshape(n, data.size // max(n, 1))
        change = np.ones(len(rows), dtype=bool)
        change[1:] = (rows[1:] != rows[:-1]).any(1)
        values = data.reshape(-1)[change] if axis is None else np.compress(change, data, axis)
        inverse = (np.cumsum(change) - 1).astype(int64)
        counts = np.diff(np.append(np.flatnonzero(change), len(rows))).astype(int64)
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap(inverse.reshape(self.shape) if axis is None else inverse))
        if return_counts:
            out.append(Tensor._wrap(counts))
        return out[0] if len(out) == 1 else tuple(out)

    # --- elementwise odds and ends ---------------------------------------------------------------
    def logaddexp2(self, other: Any) -> "Tensor":
        """log2(2**self + 2**other), without overflow."""
        x, y = self._float_pair(other)
        return (x * _LN2).logaddexp(y * _LN2) / _LN2

    gcd = _named(_bitwise, "gcd")
    lcm = _named(_bitwise, "lcm")

    def ldexp(self, other: Any) -> "Tensor":
        """self * 2**other (a float result)."""
        x, e = self._float_pair(other)
        return x * 2 ** e

    def frexp(self) -> "Frexp":
        """(mantissa, exponent) with self = mantissa * 2**exponent, 0.5 <= |mantissa| < 1;
        the exponent is int32. The mantissa carries the gradient (1 / 2**exponent)."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"frexp: only supports floating point tensors, got {self.dtype}")
        _, exponent = np.frexp(self.numpy())
        scale = Tensor._wrap(np.ldexp(np.ones((), self.dtype), -exponent).astype(self.dtype))
        return Frexp(self * scale, Tensor._wrap(exponent.astype(int32)))

    def nextafter(self, other: Any) -> "Tensor":
        """The next float after self toward `other` (no gradient)."""
        a, b = self._pair(other)
        if a.dtype.kind != "f":
            raise RuntimeError(f"nextafter: needs floating point tensors, got {a.dtype}")
        out = _no_grad("nextafter", np.nextafter, a.numpy(), b.numpy())
        # NOTE: PyTorch passes the gradient to self unchanged (the step is below rounding)
        return ops.KnownSlope.apply(a.expand(out.shape), value=out._data,
                                    slope=np.ones((), dtype=a.dtype))

    def _special(self, value: Callable, slope: Callable) -> "Tensor":
        """An elementwise special function from numpy helpers: `value(x)` and its derivative
        `slope(x, value)`, both computed in float64 and rounded to x's dtype."""
        x = self._floating()
        data = x.numpy().astype(np.float64)
        with np.errstate(all="ignore"):
            out = value(data)
            d = slope(data, out) if x.requires_grad else np.zeros(())
        return ops.KnownSlope.apply(x, value=out.astype(x.dtype), slope=d.astype(x.dtype))

    def lgamma(self) -> "Tensor":
        """log |Gamma(x)|; its derivative is digamma(x)."""
        return self._special(_lgamma, lambda x, out: _polygamma(0, x))

    def digamma(self) -> "Tensor":
        """The derivative of lgamma (psi); -inf at 0, NaN at the negative integers."""
        return self.polygamma(0)

    def polygamma(self, n: int) -> "Tensor":
        """The n-th derivative of digamma (n = 0 is digamma itself)."""
        if n < 0:
            raise RuntimeError(f"polygamma: n must be >= 0, got {n}")
        return self._special(lambda x: _polygamma(n, x), lambda x, out: _polygamma(n + 1, x))

    def mvlgamma(self, p: int) -> "Tensor":
        """The multivariate log-gamma of dimension p: the sum of lgamma(x - i / 2) for i < p,
        plus p (p - 1) / 4 log(pi); every element must exceed (p - 1) / 2."""
        if p < 1 or not np.all(self.numpy() > (p - 1) / 2):
            raise RuntimeError(f"mvlgamma: p must be >= 1 and all elements greater than "
                               f"(p - 1) / 2 = {(p - 1) / 2}")
        x = self._floating()
        terms = stack([(x - i / 2).lgamma() for i in range(p)]).sum(0)
        return terms + p * (p - 1) / 4 * math.log(math.pi)

    def i0(self) -> "Tensor":
        """The modified Bessel function of the first kind, order 0; its derivative is i1."""
        return self._special(np.i0, lambda x, out: _bessel_i1(x))

    def _incomplete_gamma(self, other: Any, upper: bool, op: str) -> "Tensor":
        a, x = broadcast_tensors(*self._float_pair(other))
        a_data, x_data = a.numpy().astype(np.float64), x.numpy().astype(np.float64)
        with np.errstate(all="ignore"):
            out = _regularized_gamma(a_data, x_data, upper)
            slope = np.exp(-x_data + (a_data - 1) * np.log(x_data) - _lgamma(a_data))
        result = ops.KnownSlope.apply(x, value=out.astype(x.dtype),
                                      slope=(-slope if upper else slope).astype(x.dtype))
        if a.requires_grad and autograd.is_grad_enabled():  # NOTE: as PyTorch: no gradient
            result = result + ops.NoGradient.apply(  # for a, and backward says so
                a, value=np.zeros(a.shape, dtype=a.dtype), op=f"{op}: the input (a)")
        return result

    def igamma(self, other: Any) -> "Tensor":
        """The regularized lower incomplete gamma function P(self, other); differentiable in
        `other` (x) only, as in PyTorch."""
        return self._incomplete_gamma(other, False, "igamma")

    def igammac(self, other: Any) -> "Tensor":
        """The regularized upper incomplete gamma function Q(self, other) = 1 - P."""
        return self._incomplete_gamma(other, True, "igammac")

    def erfinv(self) -> "Tensor":
        """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside); its derivative is
        sqrt(pi) / 2 * exp(erfinv(x)^2)."""
        return self._special(_erfinv, lambda x, out: math.sqrt(math.pi) / 2 * np.exp(out * out))

    # --- sampling --------------------------------------------------------------------------------
    def bernoulli(self, p: Any = None, *, generator: Generator | None = None) -> "Tensor":
        """1 with probability self[i] (or `p`), else 0, in this tensor's dtype."""
        return bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Generator | None = None) -> "Tensor":
        return multinomial(self, num_samples, replacement, generator=generator)

    # --- complex-number spellings, for real tensors ---------------------------------------
    def conj(self) -> "Tensor":
        """The complex conjugate: the tensor itself, as PyTorch gives for real dtypes."""
        return self

    resolve_conj = resolve_neg = conj_physical = conj

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def is_inference(self) -> bool:
        """False: there is no inference mode apart from no_grad here."""
        return False

    @property
    def real(self) -> "Tensor":
        """The real part: the tensor itself (there are no complex dtypes)."""
        return self

    @property
    def imag(self) -> "Tensor":
        raise RuntimeError("imag: not implemented for tensors with non-complex dtypes "
                           f"({self.dtype})")

    def isreal(self) -> "Tensor":
        """True everywhere: every element is a real number."""
        return Tensor._wrap(np.ones(self.shape, dtype=bool))

    def angle(self) -> "Tensor":
        """The argument of a real number: pi where x < 0, else 0 (NaN stays NaN); a float
        tensor with a zero gradient."""
        x = self._floating()
        data = x.numpy()
        values = np.where(data < 0, math.pi, np.where(data == data, 0, data)).astype(x.dtype)
        return where(np.ones(data.shape, dtype=bool), Tensor._wrap(values), x)

    @property
    def mH(self) -> "Tensor":  # noqa: N802  (PyTorch's name)
        """The conjugate transpose of the last two dims: `mT` for real tensors."""
        return self.mT

    @property
    def H(self) -> "Tensor":  # noqa: N802  (PyTorch's name)
        """The conjugate transpose of a matrix (2-D; a 0-d tensor is itself)."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"H: only supported on matrices (2-D tensors), got shape "
                               f"{self.shape}; for batches of matrices use mH")
        return self if not self.ndim else self.T

    def adjoint(self) -> "Tensor":
        """The conjugate transpose of the last two dims (`mH`)."""
        return self.mH

    # --- storage views --------------------------------------------------------------------
    def storage_offset(self) -> int:
        """Where the first element sits in the memory this tensor views, in elements."""
        data = be.active.realize(self._data)
        root = data
        while isinstance(root.base, np.ndarray):
            root = root.base
        start = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return start // max(data.itemsize, 1)

    def new(self, *args: Any) -> "Tensor":
        """PyTorch's legacy constructor: `t.new(2, 3)` is a zero tensor of that size,
        `t.new([1, 2])` a tensor of that data, both in t's dtype."""
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return tensor(args[0], dtype=self.dtype)
        return zeros(*args if args else (0,), dtype=self.dtype)

    # --- more element access ---------------------------------------------------------------
    def put(self, index: Any, source: Any, accumulate: bool = False) -> "Tensor":
        """A copy with source's elements written (accumulate: added) at the positions
        `index` of the flattened tensor."""
        idx = index.numpy() if isinstance(index, Tensor) else np.asarray(index)
        source = source if isinstance(source, Tensor) else Tensor(source, dtype=self.dtype)
        n = self.numel()
        if idx.dtype.kind not in "iu" or idx.size != source.numel():
            raise RuntimeError(f"put: index ({idx.dtype}, {idx.size} elements) must be an "
                               f"integer tensor with as many elements as source "
                               f"({source.numel()})")
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"put: index out of range for a tensor of {n} elements (shape "
                             f"{self.shape}): indices run from {idx.min()} to {idx.max()}")
        flat = self.reshape(-1)._put(source.to(self.dtype).reshape(-1), (idx.reshape(-1) % n,),
                                     accumulate)
        return flat.reshape(self.shape)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> "Tensor":
        """`nonzero()` cut or padded (with `fill_value`) to exactly `size` rows."""
        found = self.nonzero().numpy()
        out = np.full((size, found.shape[1]), fill_value, dtype=int64)
        out[:min(size, len(found))] = found[:size]
        return Tensor._wrap(out)

    def histogram(self, bins: Any = 100, *, range: Any = None,  # noqa: A002
                  weight: Any = None, density: bool = False) -> "Histogram":
        """(hist, bin_edges): counts (or summed weights) in `bins` equal bins over `range`
        (the data's by default), or between the given edges; `density` normalises."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"histogram: needs a floating point tensor, got {self.dtype}")
        edges = bins.numpy() if isinstance(bins, Tensor) else int(bins)
        w = weight.numpy() if isinstance(weight, Tensor) else weight
        hist, edges = np.histogram(self.numpy().reshape(-1), edges, range=range,
                                   weights=None if w is None else np.reshape(w, -1),
                                   density=density)
        return Histogram(Tensor._wrap(hist.astype(self.dtype)),
                         Tensor._wrap(edges.astype(self.dtype)))

    unsafe_chunk = chunk
    unsafe_split = split
    unsafe_split_with_sizes = split_with_sizes

    # --- random fills and Python callables --------------------------------------------------
    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *,
                generator: Any = None) -> "Tensor":
        """Samples of the Cauchy distribution (location `median`, scale `sigma`)."""
        return self._fill_random(median + sigma * _rng(generator).standard_cauchy(self.shape),
                                 "cauchy_")

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *,
                    generator: Any = None) -> "Tensor":
        """exp of normal samples with this mean and std."""
        return self._fill_random(_rng(generator).lognormal(mean, std, self.shape),
                                 "log_normal_")

    def geometric_(self, p: float, *, generator: Any = None) -> "Tensor":
        """The number of trials up to the first success (probability `p` each): 1, 2, ..."""
        if not 0 < p <= 1:
            raise RuntimeError(f"geometric_: p must lie in (0, 1], got {p}")
        return self._fill_random(_rng(generator).geometric(p, self.shape), "geometric_")

    def apply_(self, callable: Callable) -> "Tensor":  # noqa: A002
        """Replace each element x by callable(x) (a Python function; no gradient)."""
        values = np.frompyfunc(callable, 1, 1)(self.numpy())
        return self._assign(Tensor._wrap(np.asarray(values, dtype=self.dtype)), "apply_")

    def map_(self, tensor: "Tensor", callable: Callable) -> "Tensor":  # noqa: A002
        """Replace each element x by callable(x, y), y the matching element of `tensor`
        (broadcast to this one); no gradient."""
        other = np.broadcast_to(tensor.numpy(), self.shape)
        values = np.frompyfunc(callable, 2, 1)(self.numpy(), other)
        return self._assign(Tensor._wrap(np.asarray(values, dtype=self.dtype)), "map_")

    # --- legacy linear-algebra methods (tl.linalg has the current names) ---------------------
    def cholesky(self, upper: bool = False) -> "Tensor":
        from . import linalg
        return linalg.cholesky(self, upper=upper)

    def cholesky_inverse(self, upper: bool = False) -> "Tensor":
        """The inverse of A from its Cholesky factor (A = L L^T, or U^T U with `upper`)."""
        factor = self._floating()
        return (factor.mT @ factor if upper else factor @ factor.mT).inverse()

    def cholesky_solve(self, input2: "Tensor", upper: bool = False) -> "Tensor":
        """X with A X = self, A given by its Cholesky factor `input2`."""
        return input2.cholesky_inverse(upper) @ self

    def triangular_solve(self, A: "Tensor", upper: bool = True, transpose: bool = False,
                         unitriangular: bool = False) -> tuple["Tensor", "Tensor"]:
        """(X, A) with A X = self for triangular A (A^T X = self with `transpose`)."""
        from . import linalg
        coefficient = A.mT if transpose else A
        x = linalg.solve_triangular(coefficient, self, upper=upper != transpose,
                                    unitriangular=unitriangular)
        return TriangularSolve(x, A.clone())

    def lu(self, pivot: bool = True, get_infos: bool = False) -> tuple:
        """(LU, pivots) of `linalg.lu_factor` (and zeros for infos with `get_infos`)."""
        from . import linalg
        packed, pivots = linalg.lu_factor(self, pivot=pivot)
        if get_infos:
            return packed, pivots, Tensor._wrap(np.zeros(self.shape[:-2], dtype=int32))
        return packed, pivots

    def lu_solve(self, LU_data: "Tensor", LU_pivots: "Tensor") -> "Tensor":  # noqa: N803
        """X with A X = self, A given by `lu`'s factors."""
        from . import linalg
        return linalg.lu_solve(LU_data, LU_pivots, self)

    def qr(self, some: bool = True) -> tuple["Tensor", "Tensor"]:
        from . import linalg
        return linalg.qr(self, "reduced" if some else "complete")

    def svd(self, some: bool = True, compute_uv: bool = True) -> tuple:
        """(U, S, V) with A = U diag(S) V^T: V, not V^T, in this legacy form."""
        from . import linalg
        u, s, vh = linalg.svd(self, full_matrices=not some)
        if not compute_uv:
            return SVDLegacy(zeros_like(u), s, zeros_like(vh.mT))
        return SVDLegacy(u, s, vh.mT)

    # --- memory and layout queries ----------------------------------------------------------
    is_sparse = is_sparse_csr = is_quantized = is_meta = is_mkldnn = is_nested = property(
        lambda self: False, doc="Always False: every tensor is a dense CPU array.")
    is_mps = is_xla = is_xpu = is_ipu = is_vulkan = is_maia = is_mtia = is_sparse

    def to_dense(self, dtype: Any = None) -> "Tensor":
        """The tensor itself (in `dtype` if given): it is dense already."""
        return self if dtype is None else self.to(dtype)

    def is_pinned(self) -> bool:
        return False

    def is_shared(self) -> bool:
        return False

    def pin_memory(self) -> "Tensor":
        """The tensor itself: pinning only matters for copies to a GPU."""
        return self

    def share_memory_(self) -> "Tensor":
        """The tensor itself (no multiprocessing shared memory here)."""
        return self

    def dim_order(self) -> tuple:
        """The dims from the outermost in memory to the innermost (by stride)."""
        strides = self.stride() if self.ndim else ()
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    def resize_(self, *sizes: Any) -> "Tensor":
        """Give the tensor a new shape in place, keeping its leading elements in memory
        order (new ones are 0); PyTorch refuses it on tensors that require grad."""
        if self.requires_grad:
            raise RuntimeError("resize_: cannot resize a tensor that requires grad")
        size = _size(sizes)
        flat = self.numpy().reshape(-1)
        data = np.zeros(math.prod(size), dtype=self.dtype)
        data[:min(data.size, flat.size)] = flat[:data.size]
        self._data = data.reshape(size)
        autograd.mark_modified(self)
        return self

    def resize_as_(self, tensor: "Tensor") -> "Tensor":
        return self.resize_(tensor.shape)


# --- special functions on float64 numpy arrays (numpy has none of them, and scipy is not a
# dependency): the values behind lgamma, digamma, polygamma, erfinv and i0's derivative
_LN2 = math.log(2)
Frexp = collections.namedtuple("frexp", ["mantissa", "exponent"])
Histogram = collections.namedtuple("histogram", ["hist", "bin_edges"])
TriangularSolve = collections.namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
SVDLegacy = collections.namedtuple("svd", ["U", "S", "V"])


def _lgamma_one(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # NOTE: the poles 0, -1, -2, ...: +inf, as PyTorch
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma_one, 1, 1)


def _lgamma(x: np.ndarray) -> np.ndarray:
    return np.asarray(_LGAMMA(x), dtype=np.float64)


_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x): the recurrence psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n+1) until
    x >= 12, then the asymptotic series (error below 1e-16 there). digamma (n = 0) reflects
    x < 0.5 first: psi(x) = psi(1 - x) - pi / tan(pi x)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.where(x < 0.5, 1 - x, x) if n == 0 else x.copy()
    out = np.zeros(y.shape)
    factorial = math.factorial(n)
    while True:
        small = np.isfinite(y) & (y < 12)
        if not small.any():
            break
        out[small] -= (-1) ** n * factorial / y[small] ** (n + 1)
        y[small] += 1
    if n == 0:
        series = np.log(y) - 1 / (2 * y)
        for k, b in enumerate(_BERNOULLI, 1):
            series -= b / (2 * k * y ** (2 * k))
        out += series
        out = np.where(x < 0.5, out - math.pi / np.tan(math.pi * x), out)
        whole = (x <= 0) & (x == np.floor(x))
        return np.where(x == 0, -np.inf, np.where(whole, np.nan, out))
    series = math.factorial(n - 1) / y ** n + factorial / (2 * y ** (n + 1))
    for k, b in enumerate(_BERNOULLI, 1):
        series += b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / y ** (2 * k + n)
    return out + (-1) ** (n + 1) * series


_ERF, _ERFC = np.frompyfunc(math.erf, 1, 1), np.frompyfunc(math.erfc, 1, 1)


def _erfinv(y: np.ndarray) -> np.ndarray:
    """Giles' single-precision approximation, then two Newton steps on erf (or on erfc near
    +-1, where erf(x) - y would cancel) to double precision."""
    a = np.abs(y)
    w = -np.log((1 - a) * (1 + a))
    central = w < 5
    u = np.where(central, w - 2.5, np.sqrt(w) - 3)
    p = np.where(central, 2.81022636e-08, -0.000200214257)
    for c, d in ((3.43273939e-07, 0.000100950558), (-3.5233877e-06, 0.00134934322),
                 (-4.39150654e-06, -0.00367342844), (0.00021858087, 0.00573950773),
                 (-0.00125372503, -0.0076224613), (-0.00417768164, 0.00943887047),
                 (0.246640727, 1.00167406), (1.50140941, 2.83297682)):
        p = np.where(central, c, d) + p * u
    x = p * a
    inner = a <= 0.5
    for _ in range(2):
        err = np.where(inner, np.asarray(_ERF(x), dtype=np.float64) - a,
                       (1 - a) - np.asarray(_ERFC(x), dtype=np.float64))
        step = err / (2 / math.sqrt(math.pi) * np.exp(-x * x))
        x = np.where(np.isfinite(step), x - step, x)
    x = np.where(a == 1, np.inf, np.where(a > 1, np.nan, x))
    return np.copysign(x, y)


def _regularized_gamma(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """P(a, x) (Q(a, x) = 1 - P with `upper`): the series below x = a + 1, Lentz's continued
    fraction for Q above (Numerical Recipes' gammp / gammq), each computed where it converges
    fast and accurately; NaN for a < 0 or x < 0, as PyTorch."""
    eps, tiny = np.finfo(np.float64).eps, 1e-300
    scale = np.exp(-x + a * np.log(x) - _lgamma(a))
    series_at = (x < a + 1) & (a > 0) & (x > 0)
    total = np.where(series_at, 1 / np.where(a > 0, a, 1), 0.0)
    term, n = total.copy(), 0
    while n < 1000 and np.any(np.abs(term) > eps * np.abs(total)):
        n += 1
        term = np.where(series_at, term * x / (a + n), 0.0)
        total += term
    lower = total * scale
    fraction_at = (x >= a + 1) & (a > 0) & np.isfinite(x)
    b = np.where(fraction_at, x + 1 - a, 1.0)
    c, d = np.full(b.shape, 1 / tiny), 1 / b
    h, i = d.copy(), 0
    while i < 1000:
        i += 1
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = 1 / np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        delta = np.where(fraction_at, d * c, 1.0)
        h = h * delta
        if np.all(np.abs(delta - 1) <= eps):
            break
    upper_part = np.where(fraction_at, scale * h, 0.0)
    p = np.where(fraction_at, 1 - upper_part, lower)
    q = np.where(fraction_at, upper_part, 1 - lower)
    out = q if upper else p
    # NOTE: the edges: P(0, x > 0) = 1, P(a, 0) = 0, P(a, inf) = 1, P(inf, x) = 0
    edge_p = np.where((a == 0) & (x > 0), 1.0, np.where(x == np.inf, 1.0, np.where(
        (x == 0) | (a == np.inf), 0.0, np.nan)))
    edge = ((a == 0) & (x > 0)) | (x == 0) | (x == np.inf) | (a == np.inf)
    out = np.where(edge, 1 - edge_p if upper else edge_p, out)
    return np.where((a < 0) | (x < 0) | np.isnan(a) | np.isnan(x), np.nan, out)


def _bessel_i1(x: np.ndarray) -> np.ndarray:
    """I1(x) = sum over k of (x/2)^(2k+1) / (k! (k+1)!): positive terms, summed until they
    stop changing the total."""
    half = np.asarray(x, dtype=np.float64) / 2
    term = half.copy()
    total = term.copy()
    k = 0
    while np.any(np.abs(term) > np.finfo(np.float64).eps * np.abs(total)):
        k += 1
        term = term * half * half / (k * (k + 1))
        total += term
    return total


def _in_place(name: str) -> Callable:
    """`t.<name>_(...)`: `t.<name>(...)` written back into t, as PyTorch's in-place twins."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._in_place(f"{name}_", lambda t: getattr(t, name)(*args, **kwargs))

    method.__name__ = method.__qualname__ = f"{name}_"
    return method


for _name in ("log1p", "expm1", "erf", "erfc", "log2", "log10", "exp2", "sin", "cos", "tan",
              "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "atan2",
              "hypot", "logaddexp", "floor", "ceil", "round", "trunc", "frac", "nan_to_num",
              "clamp_min", "clamp_max", "fmod", "remainder", "floor_divide", "lerp",
              "addcmul", "addcdiv", "abs", "neg", "exp", "log", "sqrt", "sigmoid", "tanh",
              "relu", "pow", "sign", "reciprocal", "square", "clip", "masked_fill", "scatter",
              "scatter_add", "index_add", "index_fill", "logit", "xlogy", "copysign", "sinc",
              "deg2rad", "rad2deg", "heaviside", "index_put",
              # aliases, comparisons and logical / bitwise ops (their result is cast back into
              # the tensor's dtype: `x.eq_(y)` leaves 1.0 / 0.0 in a float tensor)
              "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
              "arctan2", "rsqrt", "sgn", "fix", "negative", "subtract", "multiply", "divide",
              "true_divide", "cumsum", "cumprod", "tril", "triu", "eq", "ne", "lt", "le", "gt",
              "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
              "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
              "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
              "bitwise_right_shift",
              # composites and special functions added with them
              "addmm", "baddbmm", "addbmm", "addmv", "addr", "index_copy", "index_reduce",
              "masked_scatter", "scatter_reduce", "renorm", "gcd", "lcm", "ldexp", "nextafter",
              "lgamma", "digamma", "polygamma", "mvlgamma", "erfinv", "i0", "put",
              "conj_physical", "igamma", "igammac"):
    setattr(Tensor, f"{_name}_", _in_place(_name))
# the augmented assignments: `x //= 2` writes x in place, as in PyTorch
for _name, _op in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
                   ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"),
                   ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                   ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift")):
    setattr(Tensor, f"__i{_name}__", getattr(Tensor, f"{_op}_"))


def _numpy_names(method: Callable) -> Callable:
    """`method` (or function) that also takes numpy's `axis` / `keepdims` for `dim` /
    `keepdim`, as PyTorch's do (`t.sum(axis=1)`, `torch.cat(ts, axis=1)`)."""
    @functools.wraps(method)
    def wrapper(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return method(self, *args, **kwargs)

    return wrapper


def _into(out: Any, result: Any, op: str) -> Any:
    """`op(..., out=out)`: `result` written into `out` (resized to its shape if that
    differs, as PyTorch does), and `out` returned; a tuple of results goes into a tuple of
    outs. PyTorch records no gradient through `out=`, so it refuses one where an argument
    requires grad, and so does this."""
    if isinstance(result, tuple):
        outs = [_into(o, r, op) for o, r in zip(out, result)]
        return type(result)(*outs) if hasattr(result, "_fields") else type(result)(outs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a tensor, got {type(out).__name__}")
    if autograd.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad")
    if out.shape != result.shape:
        out.resize_(result.shape)
    return out.copy_(result)


def _takes_out(fn: Callable) -> Callable:
    """`fn` that also takes PyTorch's `out=` (see `_into`)."""
    @functools.wraps(fn)
    def with_out(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        return result if out is None else _into(out, result, fn.__name__)

    return with_out


for _name, _method in list(vars(Tensor).items()):
    if (not _name.startswith("_") and inspect.isfunction(_method)
            and "dim" in inspect.signature(_method).parameters):
        setattr(Tensor, _name, _numpy_names(_method))

_COMPARABLE = (Tensor, int, float, np.ndarray, np.generic)  # what a comparison takes
autograd.Tensor = Tensor  # the engine makes tensors but cannot import this module
autograd._wrap = Tensor._wrap


class MinMax(tuple):
    """The (values, indices) pair of `max(dim)`, `min(dim)`, `median(dim)`, `sort` and `topk`,
    as PyTorch names it."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


class AMinMax(tuple):
    """The (min, max) pair of `aminmax`, as PyTorch names it."""

    @property
    def min(self) -> Tensor:  # noqa: A003
        return self[0]

    @property
    def max(self) -> Tensor:  # noqa: A003
        return self[1]


def _index(index: Any, ndim: int) -> tuple[Any, bool, tuple | None]:
    """Tensors and lists in an index become numpy arrays; `basic` is True without arrays.

    `move` is None, or (k, p) when numpy puts the k broadcast dims of the advanced indices
    first but PyTorch puts them at result dim p: PyTorch applies plain ints before the
    arrays, so an int between two arrays does not separate them (`x[0, :, [1, 2]]`).
    """
    items = index if isinstance(index, tuple) else (index,)
    if all(type(item) in _PLAIN_INDEX for item in items):  # NOTE: the common case, in one pass
        for item in items:
            if type(item) is slice and item.step is not None and item.step <= 0:
                raise ValueError("index: step must be greater than zero (PyTorch has no "
                                 "negative steps; use .flip(dim))")
        return (items if Ellipsis in items else items + (Ellipsis,)), True, None
    out = []
    for item in items:
        if isinstance(item, Tensor):
            # NOTE: a uint8 tensor is a mask in PyTorch, and a 0-d int tensor an int (a view)
            item = item.numpy().astype(bool) if item.dtype == np.uint8 else item.numpy()
            if item.ndim == 0 and item.dtype.kind in "iu":
                item = int(item)
        elif isinstance(item, list):
            item = np.asarray(item, dtype=np.int64 if len(item) == 0 else None)
        elif isinstance(item, slice) and item.step is not None and item.step <= 0:
            raise ValueError("index: step must be greater than zero (PyTorch has no negative "
                             "steps; use .flip(dim))")
        if isinstance(item, np.ndarray) and item.dtype.kind not in "biu":
            raise IndexError(f"index: tensors used as indices must be integer or bool, "
                             f"got {item.dtype}")
        out.append(item)
    arrays = [i for i, item in enumerate(out) if isinstance(item, np.ndarray)]
    if not arrays:
        if not any(item is Ellipsis for item in out):
            out.append(Ellipsis)  # NOTE: so `x[1]` is a 0-d view, not numpy's copied scalar
        return tuple(out), True, None
    return tuple(out), False, _advanced_move(out, arrays, ndim)


# index items that need no conversion and leave numpy's and PyTorch's layouts alike
_PLAIN_INDEX = (int, slice, type(None), type(Ellipsis))


def _advanced_move(items: list, arrays: list, ndim: int) -> tuple | None:
    """Where PyTorch's advanced-index dims go when numpy's differ (see `_index`)."""
    if len(items) == 1:
        return None  # NOTE: a lone index array (`x[idx]`), the common case: nothing to move

    def is_int(item: Any) -> bool:
        return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))

    advanced = [i for i, item in enumerate(items) if i in arrays or is_int(item)]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return None  # numpy keeps them in place, as PyTorch does
    between = items[arrays[0]:arrays[-1] + 1]
    if not all(isinstance(item, np.ndarray) or is_int(item) for item in between):
        return None  # both put them first
    shapes = [s for item in items if isinstance(item, np.ndarray)
              for s in ([(int(item.sum()),)] * item.ndim if item.dtype == bool else [item.shape])]
    consumed = sum(item.ndim if isinstance(item, np.ndarray) else 1 for item in items
                   if item is not None and item is not Ellipsis)
    p = sum(ndim - consumed if item is Ellipsis else 1 for item in items[:arrays[0]]
            if item is None or item is Ellipsis or isinstance(item, slice))
    return len(np.broadcast_shapes(*shapes)), p


def _numpy_order(value: Tensor, target: tuple, move: tuple) -> Tensor:
    """`value`, broadcast to PyTorch's shape of the slots `target` names, in numpy's order."""
    k, p = move
    value = _drop_leading_ones(value, len(target)).expand(
        target[k:k + p] + target[:k] + target[k + p:])
    return value.movedim(tuple(range(p, p + k)), tuple(range(k)))


# --- functions on several tensors -----------------------------------------------------------
@_takes_out
def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Matrix product with numpy's rules for 1-D and batched operands."""
    a = input if isinstance(input, Tensor) else Tensor(input)
    b = other if isinstance(other, Tensor) else Tensor(other)
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


_matmul = matmul.__wrapped__  # NOTE: `@` and .matmul() skip out='s wrapper: a call less


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """Elements of `input` where `condition` holds, else of `other`; `where(condition)` alone
    is `condition.nonzero(as_tuple=True)`, as in PyTorch."""
    if input is None and other is None:
        return (condition if isinstance(condition, Tensor) else Tensor(condition)).nonzero(
            as_tuple=True)
    cond = condition.numpy() if isinstance(condition, Tensor) else np.asarray(condition)
    if isinstance(input, Tensor):
        a, b = input._pair(other)
    elif isinstance(other, Tensor):
        b, a = other._pair(input)
    else:
        a, b = Tensor(input), Tensor(other)
        a, b = a._pair(b)
    try:
        return ops.Where.apply(a, b, cond=cond.astype(bool, copy=False))
    except RuntimeError:  # NOTE: apply's shape message names only a and b; add the condition
        try:
            np.broadcast_shapes(cond.shape, a.shape, b.shape)
        except ValueError as e:
            raise RuntimeError(autograd._shape_error("where", (cond, a, b), e)) from None
        raise


def _same_dtype(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of tensors, got a Tensor of shape "
                        f"{tensors.shape}")
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty sequence of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _result_dtype(dt, t.dtype)
    return [t.to(dt) for t in tensors]


@_takes_out
@_numpy_names
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = _same_dtype(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: the tensor at position {i} is 0-d and has no dim to "
                               "join along; use stack()")
    if any(t.ndim != 1 for t in tensors):  # NOTE: PyTorch skips a (0,) tensor beside others
        tensors = [t for t in tensors if t.shape != (0,)]  # (`out = tensor([]); cat([out, x])`)
    axis = tensors[0]._axis(dim, "cat")
    first = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(first) or any(
                n != m for i, (n, m) in enumerate(zip(t.shape, first)) if i != axis):
            raise RuntimeError(f"cat: shapes {first} and {t.shape} differ outside dim {dim}")
    return ops.Cat.apply(*tensors, axis=axis)


@_takes_out
@_numpy_names
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dimension."""
    tensors = _same_dtype(tensors, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: every tensor needs the same shape, got "
                               f"{tensors[0].shape} and {t.shape}")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. `einsum('bij,bjk->bik', a, b)` or implicitly `'ij,jk'`.

    '...' stands for the dims no letter names (broadcast across operands, as in PyTorch),
    and a letter repeated inside one operand takes its diagonal ('ii->i'); both become plain
    subscripts first. Each gradient is an einsum of the output gradient with the other
    operands.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = _same_dtype(operands, "einsum")
    lhs, arrow, output = equation.replace(" ", "").partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(tensors):
        raise RuntimeError(f"einsum: '{equation}' has subscripts for {len(inputs)} operands "
                           f"but {len(tensors)} were given")
    if "." in equation:
        inputs, output, tensors = _einsum_ellipsis(equation, inputs, output, arrow, tensors)
        arrow = "->"
    inputs, tensors = zip(*[_einsum_diagonals(sub, t) for sub, t in zip(inputs, tensors)])
    sizes: dict = {}
    for sub, t in zip(inputs, tensors):
        if not all(c.isalpha() for c in sub):
            raise ValueError(f"einsum: '{equation}': subscripts must be letters, got '{sub}'")
        if len(sub) != t.ndim:
            raise RuntimeError(f"einsum: '{equation}': subscripts '{sub}' name {len(sub)} dims "
                               f"but the operand has shape {t.shape}")
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n:
                raise RuntimeError(f"einsum: '{equation}': index '{c}' has size {sizes[c]} in "
                                   f"one operand and {n} in another (shapes "
                                   f"{[t.shape for t in tensors]})")
    if not arrow:  # NOTE: implicit output: the letters used once, in alphabetical order
        output = "".join(sorted(c for c in sizes if lhs.count(c) == 1))
    if len(set(output)) != len(output) or not set(output) <= set(sizes):
        raise RuntimeError(f"einsum: '{equation}': the output '{output}' must name distinct "
                           "indices of the operands")
    return ops.Einsum.apply(*tensors, inputs=tuple(inputs), output=output)


def _einsum_ellipsis(equation: str, inputs: list, output: str, arrow: str,
                     tensors: Sequence[Tensor]) -> tuple[list, str, list]:
    """Subscripts with each '...' spelt out in unused letters (right-aligned, as
    broadcasting aligns dims) and the operands' size-1 dims there expanded to match; the
    output puts them first when the equation gives none."""
    spare = [c for c in string.ascii_letters if c not in equation]
    counts = []
    for sub, t in zip(inputs, tensors):
        named = len(sub.replace("...", ""))
        if sub.count("...") > 1 or sub.replace("...", "").count(".") or t.ndim < named:
            raise RuntimeError(f"einsum: '{equation}': subscripts '{sub}' do not fit an "
                               f"operand of shape {t.shape}")
        counts.append(t.ndim - named if "..." in sub else 0)
    letters = "".join(spare[:max(counts, default=0)])
    shapes = [t.shape[sub.index("..."):sub.index("...") + k] if k else ()
              for sub, t, k in zip(inputs, tensors, counts)]
    try:
        common = np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"einsum: '{equation}': the dims under '...' do not broadcast "
                           f"(shapes {[t.shape for t in tensors]})") from None
    spelt, expanded = [], []
    for sub, t, k in zip(inputs, tensors, counts):
        if "..." in sub:
            at = sub.index("...")
            shape = t.shape[:at] + common[len(common) - k:] + t.shape[at + k:]
            t = t.expand(shape) if shape != t.shape else t
            sub = sub.replace("...", letters[len(letters) - k:])
        spelt.append(sub)
        expanded.append(t)
    if arrow:
        output = output.replace("...", letters)
    else:
        named = "".join(spelt).translate({ord(c): None for c in letters})
        output = letters + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    return spelt, output, expanded


def _einsum_diagonals(sub: str, t: Tensor) -> tuple[str, Tensor]:
    """A letter repeated inside one operand's subscripts is its diagonal: take it (it
    becomes the last dim) until every letter is named once."""
    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        first, second = sub.index(c), sub.index(c, sub.index(c) + 1)
        if t.shape[first] != t.shape[second]:
            raise RuntimeError(f"einsum: subscript '{c}' is repeated in '{sub}' for dims of "
                               f"sizes {t.shape[first]} and {t.shape[second]}")
        t = t.diagonal(0, first, second)
        sub = sub[:first] + sub[first + 1:second] + sub[second + 1:] + c
    return sub, t


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (gradients sum back)."""
    tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise RuntimeError(f"broadcast_tensors: shapes {[t.shape for t in tensors]} do not "
                           "broadcast") from None
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: out[i] varies along dim i ('ij'); 'xy' swaps the
    first two dims, as numpy's default does."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    if any(t.ndim > 1 for t in tensors):
        raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shapes "
                           f"{[t.shape for t in tensors]}")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, axis in zip(tensors, axes):
        shape[axis] = t.numel()
    grids = []
    for t, axis in zip(tensors, axes):
        view = [1] * len(tensors)
        view[axis] = -1
        grids.append(t.reshape(view).expand(shape))
    return tuple(grids)


def hstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    tensors = [t.reshape(1) if not t.ndim else t for t in tensors]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 0, with 0-D and 1-D tensors made rows first."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def _atleast(tensors: tuple, ndim: int) -> Any:
    """atleast_1d/2d/3d: one tensor back for one given, else a tuple (as PyTorch)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        t = t if isinstance(t, Tensor) else Tensor(t)
        if ndim == 3 and 0 < t.ndim < 3:  # NOTE: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
            t = t.reshape((1,) * (2 - t.ndim) + t.shape + (1,))
        elif t.ndim < ndim:
            t = t.reshape((1,) * (ndim - t.ndim) + t.shape)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,))."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims: (n,) becomes (1, n)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    return _atleast(tensors, 3)


def dstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 2, after `atleast_3d`."""
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """Join as columns: 0-d and 1-d tensors become (n, 1) columns, then along dim 1."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def broadcast_shapes(*shapes: Any) -> tuple:
    """The shape that tensors of `shapes` broadcast to (ints count as 1-D shapes)."""
    shapes = tuple((s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes)
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {list(shapes)} do not broadcast") from None


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).
    (`compute_mode` picks PyTorch's faster, less exact matmul form; here it is always the
    exact difference.)"""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: expected (..., P, M) and (..., R, M) with the same M, got "
                           f"{x1.shape} and {x2.shape}")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


# --- creation -------------------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (float32 for Python floats, int64 for ints)."""
    _on_cpu(device, "tensor")
    arr = np.array(_as_array(data, dtype), copy=True)
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with `a` (its dtype is kept)."""
    return Tensor(a)


def _filled(size: tuple, value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    if value is None:
        raise TypeError("full: the fill value must be a number or a bool, got None")
    dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
    # NOTE: made by the backend, as every array a computation reads (TinyJit records it)
    return Tensor(be.active.full(_new_size(size), value, dt), requires_grad=requires_grad)


@_takes_out
def zeros(*size: Any, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "zeros")
    return _filled(size, 0, dtype, requires_grad)


@_takes_out
def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "ones")
    return _filled(size, 1, dtype, requires_grad)


@_takes_out
def empty(*size: Any, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "empty")
    return _filled(size, 0, dtype, requires_grad)


@_takes_out
def full(size: Any, fill_value: Any, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "full")
    if dtype is None:
        dtype = _as_array(fill_value).dtype
    return _filled((size,) if isinstance(size, int) else tuple(size), fill_value, dtype,
                   requires_grad)


def zeros_like(input: Tensor,  # noqa: A002
               dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "zeros_like")
    return zeros(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def ones_like(input: Tensor,  # noqa: A002
              dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "ones_like")
    return ones(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def full_like(input: Tensor,  # noqa: A002
              fill_value: Any, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "full_like")
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


@_takes_out
def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "arange")
    _no_bool_range(dtype, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero, got {step}")
    if (end - start) * step < 0:  # NOTE: numpy would return an empty range
        raise RuntimeError(f"arange: upper bound {end} and lower bound {start} are "
                           f"inconsistent with step sign ({step})")
    integral = dtype is not None and np.dtype(dtype).kind in "iu"
    arr = _integer_range(start, end, step, np.dtype(dtype)) if integral else np.arange(
        start, end, step)
    return Tensor(_as_array(arr.tolist() if dtype is None else arr, dtype),
                  requires_grad=requires_grad)


def _products_of_the_others(x: np.ndarray, src: np.ndarray, index: tuple,
                            own: np.ndarray) -> tuple | None:
    """For a scatter product with a zero factor: the product of the other factors of each of
    x's own factors (where `own`) and of each src element, the gradient out / factor cannot
    give there. None when no factor is 0."""
    x_zero, src_zero = own & (x == 0), src == 0
    if not (x_zero.any() or src_zero.any()):
        return None
    zeros = x_zero.astype(int64)
    np.add.at(zeros, index, src_zero)
    nonzero = np.where(own & ~x_zero, x, 1).astype(x.dtype)
    np.multiply.at(nonzero, index, np.where(src_zero, 1, src))

    def others(f: np.ndarray, z: np.ndarray, p: np.ndarray) -> np.ndarray:
        # NOTE: a zero factor sees the others' product if it is the only zero, else 0; any
        # other factor sees p / f if there is no zero, else 0
        return np.where(f == 0, np.where(z == 1, p, 0),
                        np.where(z == 0, p / np.where(f == 0, 1, f), 0)).astype(x.dtype)

    return others(x, zeros, nonzero), others(src, zeros[index], nonzero[index])


def _typed(dtype: np.dtype, name: str) -> Callable[..., Tensor]:
    """PyTorch's legacy constructor `name` (`FloatTensor`): from data, or sizes (zeros)."""
    def make(*data_or_size: Any) -> Tensor:
        if len(data_or_size) == 1 and not isinstance(data_or_size[0], (int, np.integer)):
            return tensor(data_or_size[0], dtype=dtype)
        return zeros(*data_or_size, dtype=dtype)

    make.__name__ = make.__qualname__ = name
    return make


FloatTensor, DoubleTensor, HalfTensor = (_typed(float32, "FloatTensor"),
                                         _typed(float64, "DoubleTensor"),
                                         _typed(float16, "HalfTensor"))
LongTensor, IntTensor, ShortTensor = (_typed(int64, "LongTensor"), _typed(int32, "IntTensor"),
                                      _typed(int16, "ShortTensor"))
ByteTensor, CharTensor, BoolTensor = (_typed(uint8, "ByteTensor"), _typed(int8, "CharTensor"),
                                      _typed(bool_, "BoolTensor"))


def _no_bool_range(dtype: Any, op: str) -> None:
    """PyTorch has no bool ranges, and says so with a NotImplementedError (a RuntimeError)."""
    if dtype is not None and np.dtype(dtype) == np.bool_:
        raise NotImplementedError(f"{op}: no range of bool values; make it in an integer "
                                  "dtype and compare, e.g. arange(n) % 2 == 0")


def _integer_range(start: Any, end: Any, step: Any, dtype: np.dtype) -> np.ndarray:
    """PyTorch's arange for an integer dtype: the values step from the truncated start by the
    truncated step; int64 counts them in truncated integers, the other dtypes in floats (so
    arange(0, -8.5, -4) has 2 int64 values and 3 int32 ones)."""
    first, stride = int(start), int(step)
    if dtype == int64:
        if stride == 0:
            raise RuntimeError(f"arange: step {step} truncates to 0 for {dtype}")
        count = -((first - int(end)) // stride)  # NOTE: ceil((end - first) / stride), exact
    else:
        count = math.ceil((end - start) / step)
    return (first + np.arange(max(count, 0), dtype=int64) * stride).astype(dtype)


@_takes_out
def linspace(start: float, end: float, steps: int, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end (an integer dtype: `_integer_points`)."""
    _on_cpu(device, "linspace")
    _no_bool_range(dtype, "linspace")
    dtype = np.dtype(dtype or get_default_dtype())
    start, end = _scalars(start, end)
    values = (_integer_points(start, end, steps, dtype) if dtype.kind in "iu" else
              np.linspace(start, end, steps))
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def _scalars(*values: Any) -> list:
    """0-d tensors given as a range's ends, as Python numbers: numpy would compute a float32
    tensor's range in float32, PyTorch reads the value as a double."""
    return [v.item() if isinstance(v, Tensor) else v for v in values]


def _integer_points(start: float, end: float, steps: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's points for an integer linspace (logspace: the exponents): the ends are
    converted to `dtype` first (truncated; -3 is uint8's 253), then start + i * step, and for
    the second half end - (steps - 1 - i) * step, in float64 (the caller truncates)."""
    first, last = int(start), int(end)
    if dtype.kind == "u":
        first, last = first % (1 << 8 * dtype.itemsize), last % (1 << 8 * dtype.itemsize)
    if steps <= 1:
        return np.full(steps, first, dtype=np.float64)
    i = np.arange(steps)
    step = (last - first) / (steps - 1)
    return np.where(i < steps // 2, first + step * i, last - step * (steps - 1 - i))


@_takes_out
def eye(n: int, m: int | None = None, dtype: Any = None,
        device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "eye")
    return Tensor(np.eye(n, m), dtype=dtype or get_default_dtype(), requires_grad=requires_grad)


@_takes_out
def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from `generator`, or the one that `manual_seed` seeds."""
    _on_cpu(device, "randn")
    dt = np.dtype(dtype or get_default_dtype())
    return Tensor(_rng(generator).standard_normal(_new_size(size), dtype=dt),
                  requires_grad=requires_grad)


@_takes_out
def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    _on_cpu(device, "rand")
    dt = np.dtype(dtype or get_default_dtype())
    return Tensor(_rng(generator).random(_new_size(size), dtype=dt), requires_grad=requires_grad)


@_takes_out
def randint(low: int, high: int | None = None, size: Any = (), *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers in [low, high); `randint(high, size)` starts at 0, as in PyTorch (which
    refuses requires_grad=True for integers, as this does)."""
    _on_cpu(device, "randint")
    if requires_grad:
        raise RuntimeError("randint: only floating point tensors can require gradients")
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(_rng(generator).integers(low, high, size), dtype=dtype or int64)


def randn_like(input: Tensor,  # noqa: A002
               dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "randn_like")
    return randn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def rand_like(input: Tensor,  # noqa: A002
              dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "rand_like")
    return rand(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def empty_like(input: Tensor,  # noqa: A002
               dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu(device, "empty_like")
    return zeros(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input: Tensor,  # noqa: A002
                 low: int = 0, high: int | None = None, dtype: Any = None,
                 device: Any = None) -> Tensor:
    """Integers in [low, high) in input's shape and dtype; `randint_like(t, high)` starts at 0."""
    _on_cpu(device, "randint_like")
    if high is None:
        low, high = 0, low
    return Tensor(_rng().integers(low, high, input.shape), dtype=dtype or input.dtype)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory where it can (a tensor or a numpy array of the
    requested dtype comes back without a copy)."""
    _on_cpu(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    return Tensor(data, dtype=dtype)


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """`steps` points from base**start to base**end, evenly spaced in the exponent (an
    integer dtype: PyTorch's integer exponents, `_integer_points`, and truncated powers)."""
    _on_cpu(device, "logspace")
    dtype = np.dtype(dtype or get_default_dtype())
    start, end = _scalars(start, end)
    # NOTE: one step is base**start unconverted, as in PyTorch
    values = (np.power(float(base), _integer_points(start, end, steps, dtype))
              if dtype.kind in "iu" and steps > 1 else np.logspace(start, end, steps, base=base))
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *,
           generator: Generator | None = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples: one per element of the broadcast `mean` and `std` tensors, or of
    `size` when both are numbers."""
    _on_cpu(device, "normal")
    arrays = [x.numpy() if isinstance(x, Tensor) else np.asarray(x) for x in (mean, std)]
    if np.any(arrays[1] < 0):
        raise RuntimeError(f"normal: std must be >= 0, got {std}")
    floats = [x.dtype for x in (mean, std) if isinstance(x, Tensor) and x.dtype.kind == "f"]
    if size is None:
        if not floats:
            raise TypeError("normal: give size= when mean and std are numbers")
        size = np.broadcast_shapes(*(a.shape for a in arrays))
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    dt = dtype or (floats[0] if floats else get_default_dtype())
    return Tensor(_rng(generator).normal(*arrays, size), dtype=dt, requires_grad=requires_grad)


def bernoulli(input: Tensor, p: Any = None, *,  # noqa: A002
              generator: Generator | None = None) -> Tensor:
    """1 with probability input[i] (or `p`, for every element), else 0, in input's dtype;
    drawn from `generator` or the one `manual_seed` seeds."""
    prob = input.numpy() if p is None else np.asarray(p)
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise RuntimeError(f"bernoulli: probabilities must lie in [0, 1], got values from "
                           f"{prob.min()} to {prob.max()}")
    return Tensor((_rng(generator).random(input.shape) < prob).astype(input.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Generator | None = None) -> Tensor:
    """Category indices drawn with the (unnormalised) weights in each row of `input`."""
    weights = input.numpy().astype(np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: expected a 1-D or 2-D tensor, got shape {input.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.isfinite(rows).all() or (rows < 0).any() or (rows.sum(1) <= 0).any():
        raise RuntimeError("multinomial: weights must be finite, >= 0, with a positive sum "
                           "in every row")
    available = int(np.count_nonzero(rows, axis=1).min())
    if not replacement and num_samples > available:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without "
                           f"replacement from {available} categories of nonzero weight")
    draws = [_rng(generator).choice(rows.shape[1], num_samples, replace=replacement,
                                    p=row / row.sum()) for row in rows]
    return Tensor(np.asarray(draws, dtype=int64).reshape(weights.shape[:-1] + (num_samples,)))
