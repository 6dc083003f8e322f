"""Differential fuzzing: random programs agree with PyTorch, and damaged checkpoints are refused.

A program is 1-12 ops drawn from the whole op set, applied to leaves of random shapes and
dtypes (float32, float64 or both mixed). It runs in tinygrad_lite (numpy backend, and numba
backend with every op sent to a kernel) and in PyTorch; every op's output and every leaf's
gradient of a weighted sum of all outputs must agree (float64 to ~1e-9 relative, anything
float32 to ~1e-4). Domains are kept valid while the program is drawn: it is evaluated op by op,
so log and sqrt see positive values and no value overflows.

CI runs a few hundred programs; `pytest --long` (or TINYGRAD_LITE_FUZZ_LONG=1) runs thousands
with a fresh random seed each time.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import tracemalloc
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from helpers import assert_same
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as TF
from tinygrad_lite.serialization import load, save

LONG = os.environ.get("TINYGRAD_LITE_FUZZ_LONG") == "1"


def _settings(ci: int, long: int) -> settings:
    # NOTE: CI draws the same programs every run (derandomize), so it never flakes and the
    # numba kernels it needs come from the disk cache after the first run
    return settings(max_examples=long if LONG else ci, deadline=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck), print_blob=True)


MAX_STEPS = 12
MAX_NUMEL = 256  # every value stays small: the point is many programs, not big arrays
TOL = {"float64": 1e-9, "float32": 1e-4, "mixed": 1e-4}


# --- the two libraries behind one interface -------------------------------------------------
@dataclass(frozen=True)
class Lib:
    """What a program needs from a library: the module, its functional API, constants."""

    name: str
    mod: Any
    F: Any
    const: Callable  # const(numpy array, dtype=None) -> tensor without grad
    leaf: Callable  # leaf(float64 values, "float32" | "float64") -> tensor requiring grad

    def dtype_name(self, t: Any) -> str:
        return str(t.dtype).rsplit(".", 1)[-1]


TL = Lib("tinygrad_lite", tl, TF, lambda a, dtype=None: tl.tensor(a, dtype=dtype),
         lambda v, dt: tl.tensor(v, dtype=dt, requires_grad=True))


def _torch_lib() -> Lib:
    torch = pytest.importorskip("torch")
    return Lib("torch", torch, torch.nn.functional,
               lambda a, dtype=None: torch.tensor(a, dtype=dtype),
               lambda v, dt: torch.tensor(v, dtype=getattr(torch, dt), requires_grad=True))


# --- programs -----------------------------------------------------------------------------
@dataclass
class Leaf:
    values: np.ndarray  # float64 holding float32-exact numbers, so both dtypes see the same
    dtype: str


@dataclass
class Step:
    op: str
    args: tuple  # indices of earlier nodes (leaves and steps)
    params: dict
    shape: tuple = ()  # of the output, as drawn


def _shape(node: Leaf | Step) -> tuple:
    return node.values.shape if isinstance(node, Leaf) else node.shape


def _pos(x: Any, shift: bool) -> Any:
    """x itself, or |x| + 0.5 where x came too close to a singularity (log, sqrt, 1/x)."""
    return x.abs() + 0.5 if shift else x


def _index(L: Lib, index: tuple) -> tuple:
    return tuple(L.const(i) if isinstance(i, np.ndarray) else i for i in index)


def _weight(L: Lib, x: Any, w: np.ndarray | None) -> Any:
    return None if w is None else L.const(w, x.dtype)


def _reduce_call(x: Any, name: str, dims: Any, keepdim: bool, **kw: Any) -> Any:
    if dims is None:
        return getattr(x, name)(**kw)
    return getattr(x, name)(dim=dims, keepdim=keepdim, **kw)


SCALAR_OPS = {
    "add": lambda x, c: x + c, "radd": lambda x, c: c + x, "sub": lambda x, c: x - c,
    "rsub": lambda x, c: c - x, "mul": lambda x, c: x * c, "rmul": lambda x, c: c * x,
    "div": lambda x, c: x / c, "rdiv": lambda x, c: c / x,
}
BINARY_OPS = {
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y, "pow": lambda x, y: x ** y,
    "maximum": lambda x, y: x.maximum(y), "minimum": lambda x, y: x.minimum(y),
}

# op name -> runner(lib, *tensors, **params): one body serves both libraries
RUN: dict[str, Callable] = {
    "neg": lambda L, x: -x,
    "exp": lambda L, x: x.exp(),
    "log": lambda L, x, shift: _pos(x, shift).log(),
    "sqrt": lambda L, x, shift: _pos(x, shift).sqrt(),
    "abs": lambda L, x: x.abs(),
    "relu": lambda L, x: x.relu(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "tanh": lambda L, x: x.tanh(),
    "leaky_relu": lambda L, x, slope: L.F.leaky_relu(x, slope),
    "pow_scalar": lambda L, x, e, shift: _pos(x, shift) ** e,
    "rpow": lambda L, x, c: c ** x,
    "scalar": lambda L, x, kind, c, shift: SCALAR_OPS[kind](_pos(x, shift), c),
    "binary": lambda L, x, y, kind, shift: BINARY_OPS[kind](
        _pos(x, shift and kind == "pow"), _pos(y, shift and kind == "div")),
    "where": lambda L, x, y, c: L.mod.where(x > c, x, y),
    "where_mask": lambda L, x, y, mask: L.mod.where(L.const(mask), x, y),
    "where_scalar": lambda L, x, c, mask: L.mod.where(L.const(mask), x, c),
    "clamp": lambda L, x, lo, hi: x.clamp(min=lo, max=hi),
    "sum": lambda L, x, dims, keepdim: _reduce_call(x, "sum", dims, keepdim),
    "mean": lambda L, x, dims, keepdim: _reduce_call(x, "mean", dims, keepdim),
    "amax": lambda L, x, dims, keepdim: _reduce_call(x, "amax", dims, keepdim),
    "amin": lambda L, x, dims, keepdim: _reduce_call(x, "amin", dims, keepdim),
    "var": lambda L, x, dims, keepdim, correction: _reduce_call(x, "var", dims, keepdim,
                                                                correction=correction),
    "std": lambda L, x, dims, keepdim, correction: _reduce_call(x, "std", dims, keepdim,
                                                                correction=correction),
    "max_all": lambda L, x: x.max(),
    "min_all": lambda L, x: x.min(),
    "max_dim": lambda L, x, dim, keepdim: x.max(dim=dim, keepdim=keepdim)[0],
    "min_dim": lambda L, x, dim, keepdim: x.min(dim=dim, keepdim=keepdim)[0],
    "logsumexp": lambda L, x, dims, keepdim: x.logsumexp(dim=dims, keepdim=keepdim),
    "softmax": lambda L, x, dim: x.softmax(dim),
    "log_softmax": lambda L, x, dim: x.log_softmax(dim),
    "index": lambda L, x, index: x[_index(L, index)],
    "reshape": lambda L, x, shape: x.reshape(shape),
    "flatten": lambda L, x, start, end: x.flatten(start, end),
    "permute": lambda L, x, perm: x.permute(*perm),
    "transpose": lambda L, x, d0, d1: x.transpose(d0, d1),
    "T": lambda L, x: x.T,
    "expand": lambda L, x, shape: x.expand(*shape),
    "squeeze": lambda L, x, dims: x.squeeze() if dims is None else x.squeeze(dims),
    "unsqueeze": lambda L, x, dim: x.unsqueeze(dim),
    "matmul": lambda L, x, y: x @ y.type_as(x),
    "linear": lambda L, x, w, b=None: L.F.linear(x, w.type_as(x), None if b is None
                                            else b.type_as(x)),
    "cat": lambda L, *xs, dim: L.mod.cat(list(xs), dim=dim),
    "stack": lambda L, *xs, dim: L.mod.stack(list(xs), dim=dim),
    "cross_entropy": lambda L, x, target, weight, ignore_index, reduction, smoothing:
        L.F.cross_entropy(x, L.const(target, None if target.dtype == np.int64 else x.dtype),
                          weight=_weight(L, x, weight), ignore_index=ignore_index,
                          reduction=reduction, label_smoothing=smoothing),
    "nll_loss": lambda L, x, target, weight, ignore_index, reduction:
        L.F.nll_loss(x, L.const(target), weight=_weight(L, x, weight),
                     ignore_index=ignore_index, reduction=reduction),
    "mse_loss": lambda L, x, y, reduction: L.F.mse_loss(x, y.type_as(x), reduction=reduction),
    "l1_loss": lambda L, x, y, reduction: L.F.l1_loss(x, y.type_as(x), reduction=reduction),
    "bce": lambda L, x, y, weight, reduction, sigmoid: L.F.binary_cross_entropy(
        x.sigmoid() if sigmoid else x, y.type_as(x), weight=_weight(L, x, weight),
        reduction=reduction),
    "bce_logits": lambda L, x, y, weight, pos_weight, reduction:
        L.F.binary_cross_entropy_with_logits(x, y.type_as(x), weight=_weight(L, x, weight),
                                             pos_weight=_weight(L, x, pos_weight),
                                             reduction=reduction),
}


# --- drawing a program, op by op, on its real values --------------------------------------
floats32 = st.floats(-2, 2, width=32)


class Builder:
    """Draws a program: every step is evaluated (numpy backend) as soon as it is drawn, so
    later draws can see shapes and values."""

    def __init__(self, data: Any, mode: str) -> None:
        self.data, self.mode = data, mode
        self.nodes: list = []
        self.values: list = []  # tinygrad_lite tensors, one per node

    def draw(self, strategy: Any) -> Any:
        return self.data.draw(strategy)

    def leaf(self, shape: tuple, elements: Any = floats32) -> int:
        dtype = self.mode
        if dtype == "mixed":
            dtype = self.draw(st.sampled_from(["float32", "float64"]))
        values = self.draw(hnp.arrays(np.float64, shape, elements=elements))
        self.nodes.append(Leaf(values, dtype))
        self.values.append(tl.tensor(values, dtype=dtype))
        return len(self.nodes) - 1

    def shape(self, i: int) -> tuple:
        return self.values[i].shape

    def np(self, i: int) -> np.ndarray:
        return self.values[i].numpy()

    def choose(self, ok: Callable[[int], bool]) -> int | None:
        candidates = [i for i in range(len(self.values)) if ok(i)]
        return self.draw(st.sampled_from(candidates)) if candidates else None

    def same_shape(self, shape: tuple, elements: Any = floats32) -> int:
        """An earlier value of exactly `shape`, or a new leaf."""
        found = self.choose(lambda i: self.shape(i) == shape)
        if found is not None and self.draw(st.booleans()):
            return found
        return self.leaf(shape, elements)

    def partner(self, shape: tuple) -> int:
        """An earlier value that broadcasts with `shape`, or a new leaf of such a shape."""
        found = self.choose(lambda i: _broadcasts(self.shape(i), shape))
        if found is not None and self.draw(st.booleans()):
            return found
        return self.leaf(self.draw(broadcastable_to(shape, extend=True)))

    def step(self, op: str, args: tuple, params: dict) -> None:
        with tl.no_grad():
            out = RUN[op](TL, *[self.values[i] for i in args], **params)
        arr = out.numpy()
        if arr.size > MAX_NUMEL or not np.all(np.isfinite(arr)) or (
                arr.size and np.abs(arr).max() > 1e4):
            return  # dropped: keeps every value small, finite and every gradient tame
        event(f"op: {op}")
        self.nodes.append(Step(op, args, params, arr.shape))
        self.values.append(out)


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        return math.prod(np.broadcast_shapes(a, b)) <= MAX_NUMEL
    except ValueError:
        return False


@st.composite
def broadcastable_to(draw: Any, shape: tuple, extend: bool = False) -> tuple:
    """A shape that broadcasts with `shape`: dims kept or set to 1, leading dims dropped,
    and (with `extend`) new leading dims, so either side may be the one that grows."""
    dims = tuple(draw(st.sampled_from([n, 1])) for n in shape)
    drop = draw(st.integers(0, len(dims)))
    if drop == 0 and extend and len(shape) < 4:
        return tuple(draw(st.lists(st.integers(1, 3), max_size=4 - len(shape)))) + dims
    return dims[drop:]


def _dims(b: Builder, ndim: int, allow_none: bool = True) -> Any:
    """None, one dim (maybe negative) or a tuple of distinct dims."""
    one = st.integers(-max(ndim, 1), max(ndim, 1) - 1)
    options = [one]
    if ndim:
        options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                unique=True).map(tuple))
    if allow_none:
        options.append(st.none())
    return b.draw(st.one_of(options))


def _reduced_count(shape: tuple, dims: Any) -> int:
    if dims is None:
        return math.prod(shape)
    dims = (dims,) if isinstance(dims, int) else dims
    return math.prod(shape[d] for d in dims) if shape else 1


# planners: (builder, x) -> (args, params), or None when the op does not fit x
def plan_unary(b, x):
    return (x,), {}


def plan_exp(b, x):
    return ((x,), {}) if b.np(x).max(initial=0) <= 5 else None


def plan_shifted(b, x):
    return (x,), {"shift": bool(b.np(x).min(initial=1) < 0.05)}


def plan_leaky(b, x):
    return (x,), {"slope": b.draw(st.sampled_from([0.01, 0.2, -0.5]))}


def plan_pow_scalar(b, x):
    e = b.draw(st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5, -0.5, 2.5]))
    positive = not float(e).is_integer() or e < 0  # these need a positive base
    return (x,), {"e": e, "shift": bool(positive and b.np(x).min(initial=1) < 0.1)}


def plan_rpow(b, x):
    if b.np(x).size and np.abs(b.np(x)).max() > 8:
        return None
    return (x,), {"c": b.draw(st.sampled_from([2.0, 0.5, 3, 1.5]))}


def plan_scalar(b, x):
    kind = b.draw(st.sampled_from(sorted(SCALAR_OPS)))
    c = b.draw(st.one_of(st.integers(-3, 3), floats32))
    if kind == "div" and abs(c) < 0.25:
        c = 2.0
    shift = kind == "rdiv" and np.abs(b.np(x)).min(initial=1) < 0.1
    return (x,), {"kind": kind, "c": c, "shift": bool(shift)}


def plan_binary(b, x):
    kind = b.draw(st.sampled_from(sorted(BINARY_OPS)))
    y = b.partner(b.shape(x))
    args = (x, y) if b.draw(st.booleans()) else (y, x)
    base, other = b.np(args[0]), b.np(args[1])
    if kind == "pow":
        shift = base.min(initial=1) < 0.1
        if other.size and np.abs(other).max() > 4:
            return None
    else:
        shift = np.abs(other).min(initial=1) < 0.1
    return args, {"kind": kind, "shift": bool(shift)}


def plan_where(b, x):
    return (x, b.partner(b.shape(x))), {"c": b.draw(floats32)}


def plan_where_mask(b, x):
    y = b.partner(b.shape(x))
    shape = np.broadcast_shapes(b.shape(x), b.shape(y))
    mask = b.draw(hnp.arrays(np.bool_, b.draw(broadcastable_to(shape))))
    return (x, y), {"mask": mask}


def plan_where_scalar(b, x):
    mask = b.draw(hnp.arrays(np.bool_, b.draw(broadcastable_to(b.shape(x)))))
    return (x,), {"c": b.draw(st.one_of(st.integers(-2, 2), floats32)), "mask": mask}


def plan_clamp(b, x):
    lo, hi = b.draw(st.one_of(st.none(), floats32)), b.draw(st.one_of(st.none(), floats32))
    if lo is None and hi is None:
        lo = 0.0
    return (x,), {"lo": lo, "hi": hi}


def plan_reduce(b, x):
    dims = _dims(b, b.values[x].ndim)
    return (x,), {"dims": dims, "keepdim": dims is not None and b.draw(st.booleans())}


def plan_var(b, x):
    (x,), params = plan_reduce(b, x)
    params["correction"] = b.draw(st.sampled_from([0, 1]))
    if _reduced_count(b.shape(x), params["dims"]) <= params["correction"]:
        return None
    return (x,), params


def plan_std(b, x):
    plan = plan_var(b, x)
    if plan is None:
        return None
    with tl.no_grad():
        variance = RUN["var"](TL, b.values[x], **plan[1]).numpy()
    return plan if variance.min(initial=1) > 1e-3 else None


def plan_dim(b, x):
    ndim = b.values[x].ndim
    return (x,), {"dim": b.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1)),
                  "keepdim": b.draw(st.booleans())}


def plan_along(b, x):
    ndim = b.values[x].ndim
    return (x,), {"dim": b.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))}


def plan_logsumexp(b, x):
    return (x,), {"dims": _dims(b, b.values[x].ndim, allow_none=False),
                  "keepdim": b.draw(st.booleans())}


def plan_index(b, x):
    shape = b.shape(x)
    d = b.draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    kind = b.draw(st.sampled_from(["int", "slice", "array", "mask", "mask_dim", "pair"]))
    lead = (slice(None),) * d
    if kind == "int":
        index = lead + (b.draw(st.integers(-n, n - 1)),)
    elif kind == "slice":
        start = b.draw(st.integers(0, n - 1))
        stop = b.draw(st.one_of(st.none(), st.integers(start + 1, n + 2)))
        index = lead + (slice(start, stop, b.draw(st.integers(1, 3))),)
    elif kind == "array":  # repeats and negative indices: the gradient must accumulate
        idx = b.draw(hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=4),
                                elements=st.integers(-n, n - 1)))
        index = lead + (idx,)
    elif kind == "pair" and len(shape) >= 2:
        idx_shape = b.draw(hnp.array_shapes(max_dims=2, max_side=3))
        index = tuple(b.draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-m, m - 1)))
                      for m in shape[:2])
    else:
        mask_shape = shape if kind == "mask" else shape[:1]
        mask = b.draw(hnp.arrays(np.bool_, mask_shape))
        mask.flat[b.draw(st.integers(0, mask.size - 1))] = True  # never empty
        index = (mask,)
    return (x,), {"index": index}


def _factor_shape(b: Builder, n: int) -> tuple:
    """A random shape of n elements (up to 4 dims, maybe with one -1)."""
    factors = _primes(n)
    dims = [1] * b.draw(st.integers(1 if factors else 0, 4))
    for f in factors:
        dims[b.draw(st.integers(0, len(dims) - 1))] *= f
    if dims and b.draw(st.booleans()):
        dims[b.draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


def _primes(n: int) -> list:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def plan_reshape(b, x):
    return (x,), {"shape": _factor_shape(b, math.prod(b.shape(x)))}


def plan_flatten(b, x):
    ndim = max(b.values[x].ndim, 1)
    start, end = sorted(b.draw(st.lists(st.integers(0, ndim - 1), min_size=2, max_size=2)))
    if b.draw(st.booleans()):
        start, end = start - ndim, end - ndim
    return (x,), {"start": start, "end": end}


def plan_permute(b, x):
    return (x,), {"perm": tuple(b.draw(st.permutations(range(b.values[x].ndim))))}


def plan_transpose(b, x):
    ndim = b.values[x].ndim
    return (x,), {"d0": b.draw(st.integers(-ndim, ndim - 1)),
                  "d1": b.draw(st.integers(-ndim, ndim - 1))}


def plan_T(b, x):
    return ((x,), {}) if b.values[x].ndim == 2 else None


def plan_expand(b, x):
    shape = b.shape(x)
    lead = tuple(b.draw(st.lists(st.integers(1, 3), max_size=4 - len(shape))))
    dims = tuple(b.draw(st.sampled_from([1, 2, 3, -1])) if n == 1 else
                 b.draw(st.sampled_from([n, -1])) for n in shape)
    if not lead + dims:
        return None  # torch's expand() needs at least one size
    return (x,), {"shape": lead + dims}


def plan_squeeze(b, x):
    ndim = b.values[x].ndim
    if ndim == 0:
        return (x,), {"dims": None}
    return (x,), {"dims": b.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                                           st.lists(st.integers(0, ndim - 1), min_size=1,
                                                    unique=True).map(tuple)))}


def plan_unsqueeze(b, x):
    ndim = b.values[x].ndim
    return (x,), {"dim": b.draw(st.integers(-ndim - 1, ndim))}


def plan_matmul(b, x):
    shape = b.shape(x)
    m = b.draw(st.integers(1, 4))
    batch = tuple(b.draw(broadcastable_to(shape[:-2], extend=True))) if len(shape) <= 4 else ()
    if b.draw(st.booleans()):  # x @ y
        k = shape[-1]
        y_shape = b.draw(st.sampled_from([(k,), (k, m), batch[-2:] + (k, m)]))
        args = (x, y_shape)
    else:  # y @ x
        k = shape[0] if len(shape) == 1 else shape[-2]
        y_shape = b.draw(st.sampled_from([(k,), (m, k), batch[-2:] + (m, k)]))
        args = (y_shape, x)
    try:
        out = np.matmul(*[np.empty(a if isinstance(a, tuple) else b.shape(a)) for a in args])
    except ValueError:
        return None
    if out.size > MAX_NUMEL:
        return None
    return tuple(b.leaf(a) if isinstance(a, tuple) else a for a in args), {}


def plan_linear(b, x):
    shape = b.shape(x)
    w = b.leaf((b.draw(st.integers(1, 4)), shape[-1]))
    bias = b.leaf(b.shape(w)[:1]) if b.draw(st.booleans()) else None
    return (x, w, bias) if bias is not None else (x, w), {}


def plan_cat(b, x):
    shape = b.shape(x)
    d = b.draw(st.integers(0, len(shape) - 1))
    parts = [x]
    for _ in range(b.draw(st.integers(1, 2))):
        fits = b.choose(lambda i: len(b.shape(i)) == len(shape) and all(
            m == n for j, (m, n) in enumerate(zip(b.shape(i), shape)) if j != d))
        if fits is not None and b.draw(st.booleans()):
            parts.append(fits)
        else:
            part = list(shape)
            part[d] = b.draw(st.integers(1, 3))
            parts.append(b.leaf(tuple(part)))
    order = b.draw(st.permutations(range(len(parts))))
    return tuple(parts[i] for i in order), {"dim": d - len(shape) * b.draw(st.booleans())}


def plan_stack(b, x):
    ndim = b.values[x].ndim
    others = [x if b.draw(st.booleans()) else b.same_shape(b.shape(x))
              for _ in range(b.draw(st.integers(1, 2)))]
    return (x, *others), {"dim": b.draw(st.integers(-ndim - 1, ndim))}


_REDUCTION = st.sampled_from(["mean", "sum", "none"])


def _labels(b: Builder, x: int) -> tuple[np.ndarray, int]:
    shape = b.shape(x)
    classes = shape[0 if len(shape) == 1 else 1]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    labels = b.draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, classes - 1)))
    ignore_index = b.draw(st.sampled_from([-100, -100, 0, classes - 1]))
    if ignore_index == -100 and labels.size and b.draw(st.booleans()):
        labels.flat[b.draw(st.integers(0, labels.size - 1))] = -100
    return labels, ignore_index


def _class_weight(b: Builder, x: int) -> np.ndarray | None:
    shape = b.shape(x)
    classes = shape[0 if len(shape) == 1 else 1]
    return b.draw(st.one_of(st.none(), hnp.arrays(
        np.float64, (classes,), elements=st.floats(0.125, 2, width=32))))


def plan_cross_entropy(b, x):
    shape = b.shape(x)
    if not 1 <= len(shape) <= 3:
        return None
    params = {"weight": _class_weight(b, x), "reduction": b.draw(_REDUCTION),
              "smoothing": b.draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))}
    if b.draw(st.booleans()):
        params["target"], params["ignore_index"] = _labels(b, x)
    else:  # class probabilities: rows of non-negative numbers summing to one
        raw = b.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0625, 1, width=32)))
        class_dim = 0 if len(shape) == 1 else 1
        params["target"] = raw / raw.sum(axis=class_dim, keepdims=True)
        params["ignore_index"] = -100
    return (x,), params


def plan_nll_loss(b, x):
    if not 1 <= b.values[x].ndim <= 3:
        return None
    target, ignore_index = _labels(b, x)
    return (x,), {"target": target, "ignore_index": ignore_index,
                  "weight": _class_weight(b, x), "reduction": b.draw(_REDUCTION)}


def plan_regression_loss(b, x):
    return (x, b.same_shape(b.shape(x))), {"reduction": b.draw(_REDUCTION)}


def _loss_weight(b: Builder, shape: tuple) -> np.ndarray | None:
    return b.draw(st.one_of(st.none(), hnp.arrays(
        np.float64, broadcastable_to(shape), elements=st.floats(0.125, 2, width=32))))


def plan_bce(b, x):
    values = b.np(x)
    # NOTE: p stays inside [1e-6, 1 - 1e-6], where both libraries compute the same thing. At
    # p = 0 or 1 torch's gradient for the target is inf, ours the derivative of the clamped
    # forward (+-100); where p (1 - p) < 1e-12 torch clamps it at float32(1e-12), we at 1e-12
    sigmoid = values.size == 0 or values.min() < 1e-6 or values.max() > 1 - 1e-6 or b.draw(
        st.booleans())
    if sigmoid and values.size and np.abs(values).max() > 13:
        return None
    y = b.same_shape(b.shape(x), st.floats(0, 1, width=32))
    if b.np(y).min(initial=0) < 0 or b.np(y).max(initial=0) > 1:
        return None
    return (x, y), {"weight": _loss_weight(b, b.shape(x)), "reduction": b.draw(_REDUCTION),
                    "sigmoid": bool(sigmoid)}


def plan_bce_logits(b, x):
    shape = b.shape(x)
    y = b.same_shape(shape, st.floats(0, 1, width=32))
    pos_weight = None
    if shape and b.draw(st.booleans()):
        pos_weight = b.draw(hnp.arrays(np.float64, shape[-1:],
                                       elements=st.floats(0.125, 3, width=32)))
    return (x, y), {"weight": _loss_weight(b, shape), "pos_weight": pos_weight,
                    "reduction": b.draw(_REDUCTION)}


# op name -> (planner, (min_dims, max_dims) of the first operand)
PLAN: dict[str, tuple[Callable, tuple[int, int]]] = {
    "neg": (plan_unary, (0, 4)), "exp": (plan_exp, (0, 4)), "log": (plan_shifted, (0, 4)),
    "sqrt": (plan_shifted, (0, 4)), "abs": (plan_unary, (0, 4)), "relu": (plan_unary, (0, 4)),
    "sigmoid": (plan_unary, (0, 4)), "tanh": (plan_unary, (0, 4)),
    "leaky_relu": (plan_leaky, (0, 4)), "pow_scalar": (plan_pow_scalar, (0, 4)),
    "rpow": (plan_rpow, (0, 4)), "scalar": (plan_scalar, (0, 4)),
    "binary": (plan_binary, (0, 4)), "where": (plan_where, (0, 4)),
    "where_mask": (plan_where_mask, (0, 4)), "where_scalar": (plan_where_scalar, (0, 4)),
    "clamp": (plan_clamp, (0, 4)), "sum": (plan_reduce, (0, 4)), "mean": (plan_reduce, (0, 4)),
    "amax": (plan_reduce, (0, 4)), "amin": (plan_reduce, (0, 4)), "var": (plan_var, (0, 4)),
    "std": (plan_std, (0, 4)), "max_all": (plan_unary, (0, 4)),
    "min_all": (plan_unary, (0, 4)), "max_dim": (plan_dim, (0, 4)),
    "min_dim": (plan_dim, (0, 4)), "logsumexp": (plan_logsumexp, (0, 4)),
    "softmax": (plan_along, (0, 4)), "log_softmax": (plan_along, (0, 4)),
    "index": (plan_index, (1, 4)), "reshape": (plan_reshape, (0, 4)),
    "flatten": (plan_flatten, (0, 4)), "permute": (plan_permute, (1, 4)),
    "transpose": (plan_transpose, (1, 4)), "T": (plan_T, (2, 2)),
    "expand": (plan_expand, (0, 4)), "squeeze": (plan_squeeze, (0, 4)),
    "unsqueeze": (plan_unsqueeze, (0, 3)), "matmul": (plan_matmul, (1, 4)),
    "linear": (plan_linear, (1, 3)), "cat": (plan_cat, (1, 4)), "stack": (plan_stack, (0, 3)),
    "cross_entropy": (plan_cross_entropy, (1, 3)), "nll_loss": (plan_nll_loss, (1, 3)),
    "mse_loss": (plan_regression_loss, (0, 4)), "l1_loss": (plan_regression_loss, (0, 4)),
    "bce": (plan_bce, (0, 4)), "bce_logits": (plan_bce_logits, (0, 4)),
}
OPS = sorted(PLAN, key=str.lower)


def draw_program(data: Any, first: str | None = None) -> list:
    """Leaves and 1-12 steps; `first` forces the first op (so every op is covered in CI)."""
    mode = data.draw(st.sampled_from(["float64", "float32", "mixed"]), label="dtypes")
    b = Builder(data, mode)
    b.leaf(b.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
    for n in range(b.draw(st.integers(1, MAX_STEPS))):
        op = first if n == 0 and first else b.draw(st.sampled_from(OPS))
        planner, (lo, hi) = PLAN[op]
        x = b.choose(lambda i, lo=lo, hi=hi: lo <= b.values[i].ndim <= hi)
        if x is None:
            x = b.leaf(b.draw(hnp.array_shapes(min_dims=lo, max_dims=hi, max_side=4)))
        plan = planner(b, x)
        if plan is not None:
            b.step(op, *plan)
    steps = sum(isinstance(n, Step) for n in b.nodes)
    assume(steps > 0)  # every planned op was dropped
    event(f"steps: {steps}")
    note(f"program ({mode}):\n" + "\n".join(f"  %{i} = {n}" for i, n in enumerate(b.nodes)))
    return b.nodes


# --- running and comparing ------------------------------------------------------------------
def run_program(nodes: list, L: Lib) -> tuple[list, list, list]:
    """Each step's output (numpy) and dtype name, and each leaf's gradient (None if none)."""
    values, leaves, outputs = [], [], []
    for node in nodes:
        if isinstance(node, Leaf):
            leaves.append(L.leaf(node.values, node.dtype))
            values.append(leaves[-1])
        else:
            values.append(RUN[node.op](L, *[values[i] for i in node.args], **node.params))
            outputs.append(values[-1])
    total = None
    for k, out in enumerate(outputs):
        w = np.random.default_rng(k).uniform(-1, 1, tuple(out.shape)).astype(np.float32)
        term = (out * L.const(w.astype(np.float64), out.dtype)).sum()
        total = term if total is None else total + term
    total.backward()
    grads = [None if t.grad is None else np.asarray(t.grad.detach().numpy()) for t in leaves]
    return ([np.asarray(o.detach().numpy()) for o in outputs],
            [L.dtype_name(o) for o in outputs], grads)


def _close(actual: np.ndarray, expected: np.ndarray, tol: float, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, equal_nan=True,
                               err_msg=what)


def check_against_torch(nodes: list, run_ours: Callable[[], tuple]) -> None:
    torch_lib = _torch_lib()
    mode = {n.dtype for n in nodes if isinstance(n, Leaf)}
    tol = TOL["float64"] if mode == {"float64"} else TOL["float32"]
    outs, dtypes, grads = run_ours()
    t_outs, t_dtypes, t_grads = run_program(nodes, torch_lib)
    steps = [i for i, n in enumerate(nodes) if isinstance(n, Step)]
    for i, out, dt, t_out, t_dt in zip(steps, outs, dtypes, t_outs, t_dtypes):
        assert dt == t_dt, f"%{i} ({nodes[i].op}): dtype {dt}, torch gives {t_dt}"
        _close(out, t_out, tol, f"%{i} ({nodes[i].op}) forward")
    leaves = [i for i, n in enumerate(nodes) if isinstance(n, Leaf)]
    for i, g, tg in zip(leaves, grads, t_grads):
        shape = nodes[i].values.shape
        _close(np.zeros(shape) if g is None else g, np.zeros(shape) if tg is None else tg,
               tol, f"gradient of leaf %{i}")


@contextlib.contextmanager
def backend(name: str, **attrs: Any):
    """Switch to backend `name` (with attributes such as numba's `small`), then back."""
    before = tl.get_backend()
    tl.set_backend(name)
    for key, value in attrs.items():
        setattr(tl.backend.active, key, value)
    try:
        yield
    finally:
        tl.set_backend(before)


def run_on(name: str, nodes: list, max_nodes: int = 32) -> tuple:
    """Run a program on backend `name`; numba sends every op, however small, to a kernel."""
    attrs = {"small": 0, "max_nodes": max_nodes} if name == "numba" else {}
    with backend(name, **attrs):
        return run_program(nodes, TL)


@pytest.fixture(autouse=True)
def _numpy_backend():
    with backend("numpy"):
        yield


@pytest.mark.parametrize("op", OPS)
@_settings(ci=5, long=60)
@given(data=st.data())
def test_programs_starting_with_each_op_match_torch(op, data):
    nodes = draw_program(data, first=op)
    check_against_torch(nodes, lambda: run_on("numpy", nodes))


@_settings(ci=150, long=3000)
@given(data=st.data())
def test_random_programs_match_torch(data):
    nodes = draw_program(data)
    check_against_torch(nodes, lambda: run_on("numpy", nodes))


@_settings(ci=10, long=400)
@given(data=st.data())
def test_random_programs_match_torch_on_the_numba_backend(data):
    nodes = draw_program(data)
    # NOTE: a small max_nodes also exercises realizing a graph part way
    max_nodes = data.draw(st.sampled_from([2, 5, 32]), label="max_nodes")
    check_against_torch(nodes, lambda: run_on("numba", nodes, max_nodes))


# --- what the fuzzer found, shrunk, kept as regressions -----------------------------------
REGRESSIONS = {
    "max(dim) of a 0-d tensor": [
        Leaf(np.array(0.0), "float64"), Step("max_dim", (0,), {"dim": 0, "keepdim": False})],
    "a float64 0-d tensor promotes like a scalar": [
        Leaf(np.zeros((1, 1, 1)), "float32"), Leaf(np.array(0.0), "float64"),
        Step("where", (0, 1), {"c": 0.0}, (1, 1, 1))],
    "d/dx x ** 0 at x = 0": [
        Leaf(np.array(0.0), "float64"), Step("pow_scalar", (0,), {"e": 0, "shift": False})],
    "clamp with min > max": [
        Leaf(np.array(0.0), "float64"), Step("clamp", (0,), {"lo": 1.0, "hi": 0.0})],
}


@pytest.mark.parametrize("name", REGRESSIONS)
@pytest.mark.parametrize("backend_name", ["numpy", "numba"])
def test_fuzzer_findings_stay_fixed(name, backend_name):
    nodes = REGRESSIONS[name]
    check_against_torch(nodes, lambda: run_on(backend_name, nodes))


def test_numba_log_softmax_of_a_pending_0d_value():
    nodes = [Leaf(np.array(0.0), "float64"), Step("log_softmax", (0,), {"dim": 0})]
    check_against_torch(nodes, lambda: run_on("numba", nodes))


# --- checkpoints: random damage is refused cleanly or changes nothing ----------------------
def _checkpoint() -> tuple[bytes, dict]:
    obj = {"w": tl.tensor(np.arange(6.0).reshape(3, 2), dtype=tl.float32),
           "b": tl.zeros(2, dtype=tl.float64), "step": 3, "meta": {"name": "x", "lr": [0.1]}}
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue(), obj


CHECKPOINT, CHECKPOINT_OBJ = _checkpoint()


@st.composite
def damaged(draw: Any) -> bytes:
    """The checkpoint with random bytes flipped, overwritten, cut off, inserted or deleted."""
    data = bytearray(CHECKPOINT)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at:at + draw(st.integers(1, 8))]
    return bytes(data)


FOREIGN = st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(
    lambda b: b"PK\x03\x04" + b), st.binary(max_size=300).map(lambda b: b"\x80\x04" + b))


@_settings(ci=200, long=5000)
@given(data=st.one_of(damaged(), FOREIGN))
def test_damaged_checkpoint_is_refused_with_a_value_error_or_loads_unchanged(data):
    tracemalloc.start()
    try:
        out = load(io.BytesIO(data))
    except ValueError as e:
        assert str(e).startswith("load: ")
        out = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # NOTE: whatever the bytes claim, loading allocates on the order of the file's own size
    assert peak < 64 * 1024 + 16 * len(data)
    event("refused" if out is None else "loaded")
    if out is not None:
        assert_same(out, CHECKPOINT_OBJ)


# --- TinyJit: a replayed program computes what the eager one does -------------------------
def _jit_runner(nodes: list) -> Callable[[list], tuple]:
    """`run(leaf_values)`: the program's outputs and leaf gradients, through one TinyJit.

    Its constants (masks, labels, index arrays, the weights of the summed outputs) are made
    once, outside the jitted function, as a model's parameters would be; the leaves are its
    inputs, with new values on every call."""
    consts: dict = {}

    def const(a: np.ndarray, dtype: Any = None) -> tl.Tensor:
        key = (id(a), str(dtype))
        if key not in consts:
            consts[key] = (a, tl.tensor(a, dtype=dtype))  # NOTE: keeps `a`, so ids stay
        return consts[key][1]

    lib = Lib("tinygrad_lite", tl, TF, const, TL.leaf)
    rng = np.random.default_rng(0)
    weights = {}

    def program(*leaves: tl.Tensor) -> tuple:
        it = iter(leaves)
        values, outputs = [], []
        for node in nodes:
            values.append(next(it) if isinstance(node, Leaf) else
                          RUN[node.op](lib, *[values[i] for i in node.args], **node.params))
            if isinstance(node, Step):
                outputs.append(values[-1])
        total = None
        for k, out in enumerate(outputs):
            if k not in weights:
                w = rng.uniform(-1, 1, tuple(out.shape))
                weights[k] = tl.tensor(w, dtype=out.dtype)
            term = (out * weights[k]).sum()
            total = term if total is None else total + term
        total.backward()
        return tuple(out.detach() for out in outputs)

    def run(leaf_values: list, jitted: Callable) -> tuple:
        leaves = [TL.leaf(v, n.dtype) for v, n in
                  zip(leaf_values, [n for n in nodes if isinstance(n, Leaf)])]
        outs = jitted(*leaves)
        return ([o.numpy().copy() for o in outs],
                [None if t.grad is None else t.grad.numpy().copy() for t in leaves])

    return program, run


@_settings(ci=40, long=1000)
@given(data=st.data())
def test_random_programs_replay_under_tinyjit_as_they_run_eagerly(data):
    """Five calls with new leaf values: eager once, recorded twice, replayed twice. Each
    replayed call equals the eager program on the same values (or TinyJit refused it, and
    then every call is eager)."""
    nodes = draw_program(data)
    name = data.draw(st.sampled_from(["numpy", "numba"]), label="backend")
    rng = np.random.default_rng(1)
    shapes = [(n.values, n.dtype) for n in nodes if isinstance(n, Leaf)]
    # NOTE: new values keep each one's sign and shrink it a little, so the program's
    # domain (probabilities, shifted logs) holds as it did for the drawn values
    calls = [[(v * rng.uniform(0.8, 1.0, v.shape)).astype(np.float32).astype(np.float64)
              if k else v for v, _ in shapes] for k in range(5)]
    attrs = {"small": 0} if name == "numba" else {}
    with backend(name, **attrs), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NOTE: a refusal is allowed; a wrong replay is not
        program, run = _jit_runner(nodes)
        jitted = tl.TinyJit(program)
        for values in calls:
            outs, grads = run(values, jitted)
            want_outs, want_grads = run(values, program)
            for a, b in zip(outs, want_outs):
                np.testing.assert_array_equal(a, b)
            for a, b in zip(grads, want_grads):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_array_equal(a, b)
    event(f"TinyJit {'replayed' if jitted.source else 'refused'} on {name}")
