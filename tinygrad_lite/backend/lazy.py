"""Lazy elementwise expressions: what the numba backend hands out instead of running an op.

A `Lazy` node is an op name and its sources (other nodes, numpy arrays, typed scalars) with
the shape and dtype numpy would give, computed when the node is built. Nothing runs until a
value is needed (`realize`), then the whole pending graph under the node becomes one numba
kernel (`codegen`), and the node keeps the array. A node used twice inside one graph is one
local variable in the kernel, so common subexpressions are computed once per element.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import codegen

# Weak references to every pending node: before an in-place write into an array, the nodes
# that read it get a copy (`detach_readers`), or they would see the new values. A plain list
# (pruned as it grows) is cheaper per node than a WeakSet.
_pending: list[weakref.ref] = []
_prune_at = [1024]
# owner id -> weak refs to the pending nodes that read it; valid for one epoch (no node added
# or realized since)
_readers: dict = {"epoch": -1, "index": {}}
_epoch = [0]


def track(node: Lazy) -> None:
    """Register a new pending node for `detach_readers`."""
    _epoch[0] += 1
    _pending.append(weakref.ref(node))
    if len(_pending) > _prune_at[0]:
        _pending[:] = [r for r in _pending if (n := r()) is not None and n.value is None]
        _prune_at[0] = max(1024, 2 * len(_pending))


def any_pending() -> bool:
    return bool(_pending)


class Lazy:
    """A pending elementwise result: `op(*srcs)` of `shape` and `dtype`, not yet computed.

    `ctype` is the dtype the op computes in (numpy's loop type: float64 for int / int, the
    common type of a comparison's operands). `count` bounds the number of nodes under this
    one (shared nodes counted twice, so it is an upper bound); the backend realizes sources
    before it grows past a kernel's budget. Ops only read `.shape`, `.dtype`, `.ndim`.
    """

    __slots__ = ("op", "srcs", "shape", "dtype", "ctype", "count", "value", "__weakref__")

    def __init__(self, op: str, srcs: tuple, shape: tuple, dtype: np.dtype, ctype: np.dtype,
                 count: int) -> None:
        self.op, self.srcs, self.shape, self.dtype = op, srcs, shape, dtype
        self.ctype, self.count, self.value = ctype, count, None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """The bytes the value takes once computed (as numpy's `nbytes`)."""
        return self.size * self.dtype.itemsize

    def realize(self) -> np.ndarray:
        """Run the pending graph as one kernel (once) and return the array."""
        if self.value is None:
            self.value = run(self, None)
            self.srcs = ()  # the inputs are no longer needed: let them be freed
            _epoch[0] += 1
        return self.value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # NOTE: a safety net for code that hands a backend array straight to numpy
        arr = self.realize()
        return arr if dtype is None else arr.astype(dtype)

    def __getattr__(self, name: str) -> Any:
        # NOTE: anything else an ndarray has (astype, reshape, T, flags, ...) computes the
        # value first, so code written for plain arrays (a user's own Function) still works
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.realize(), name)

    def __repr__(self) -> str:
        state = "realized" if self.value is not None else f"pending, {self.count} nodes"
        return f"Lazy({self.op}, shape={self.shape}, dtype={self.dtype}, {state})"

    __hash__ = object.__hash__


def _array_operator(name: str) -> Callable:
    def operator(self: Lazy, *args: Any) -> Any:
        return getattr(self.realize(), name)(*args)

    operator.__name__ = name
    return operator


# `lazy * 2` or `lazy[0]` in code written for numpy arrays: computed, then numpy's operator
for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv",
              "rfloordiv", "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "and", "rand",
              "or", "ror", "xor", "rxor", "neg", "pos", "abs", "invert", "eq", "ne", "lt",
              "le", "gt", "ge", "getitem", "len", "iter", "bool", "float", "int", "index"):
    setattr(Lazy, f"__{_name}__", _array_operator(f"__{_name}__"))


def realize(a: Any) -> Any:
    """`a` as a concrete array if it is a Lazy node; anything else unchanged."""
    return a.realize() if type(a) is Lazy else a


def detach_readers(arr: np.ndarray, compute: bool = False) -> None:
    """Before `arr` is written in place, give every pending node that reads its memory a
    copy of what it reads (or, with `compute`, compute it now), so it computes with the
    values it was built on.

    Copying beats realizing the readers: they are often never needed (the forward graph of
    the last step while the optimizer updates the biases it read). An optimizer writes one
    parameter after another with no node built or run in between: one index serves them all.
    """
    if _readers["epoch"] != _epoch[0]:
        index: dict[int, list] = {}
        alive = []
        for ref in _pending:
            node = ref()
            if node is None or node.value is not None:
                continue
            alive.append(ref)
            for s in node.srcs:
                owner = _owner(s)
                if owner is not None:
                    index.setdefault(id(owner), []).append(ref)
        _pending[:] = alive
        _readers.update(epoch=_epoch[0], index=index)
    owner = _owner(arr)
    copies: dict[int, np.ndarray] = {}
    for ref in _readers["index"].get(id(owner), ()):
        node = ref()
        if node is not None and node.value is None:
            if compute:
                node.realize()
            else:
                node.srcs = tuple([_copy(s, owner, copies) for s in node.srcs])


def _owner(a: Any) -> Any:
    """The array that owns the memory behind `a` (numpy keeps `.base` pointing at it)."""
    if type(a) is Lazy:
        a = a.value
    if type(a) is not np.ndarray:
        return None
    return a if a.base is None else a.base


def _copy(src: Any, owner: np.ndarray, copies: dict) -> Any:
    if _owner(src) is not owner:
        return src
    v = src.value if type(src) is Lazy else src
    if id(v) not in copies:
        copies[id(v)] = v.copy()
    return copies[id(v)]


def broadcast_shape(a: tuple, b: tuple) -> tuple:
    """numpy's broadcast of two shapes (a ValueError names both when they do not fit)."""
    if a == b:
        return a
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + b
    out = []
    for m, n in zip(a, b):
        if m != n and m != 1 and n != 1:
            raise ValueError(f"operands could not be broadcast together with shapes {a} {b}")
        out.append(n if m == 1 else m)
    return tuple(out)


def interpret(root: Lazy, apply: Callable[[Lazy, list], Any]) -> np.ndarray:
    """Evaluate the graph under `root` op by op: `apply(node, source_values)` runs one node.

    With the numpy backend's ops this is the oracle the tests hold kernels against (and a
    way to see a graph's value without compiling anything). Each node runs once.
    """
    return np.asarray(_interpret(root, apply, {}), dtype=root.dtype).reshape(root.shape)


def _interpret(x: Any, apply: Callable, done: dict) -> Any:
    if type(x) is not Lazy:
        return x
    if x.value is not None:
        return x.value
    if id(x) not in done:
        done[id(x)] = apply(x, [_interpret(s, apply, done) for s in x.srcs])
    return done[id(x)]


# --- running a graph as one kernel -----------------------------------------------------------
def leaf_shape(a: np.ndarray) -> tuple:
    """`a`'s shape with its broadcast (stride-0) dims as 1: the kernel indexes them with 0."""
    if 0 not in a.strides:
        return a.shape
    return tuple([1 if st == 0 and n > 1 else n for st, n in zip(a.strides, a.shape)])


def collapsed(a: np.ndarray) -> np.ndarray:
    """`a` cut to `leaf_shape(a)`. A stride-0 operand (a sum's gradient, broadcast back)
    kept LLVM from vectorising: a sigmoid backward on one, 65k elements, took 476 µs, and
    49 µs collapsed."""
    if 0 not in a.strides:
        return a
    return a[tuple([slice(0, n) for n in leaf_shape(a)])]


def _walk(root: Lazy) -> tuple[list, list, list, tuple]:
    """The pending nodes under `root` in topological order, their source refs, the leaves,
    and the graph's structure (ops, dtypes, refs, leaf shapes: what the layout depends on).

    A ref >= 0 names a node, ~j names leaf j. Leaves (arrays, scalars, realized nodes) are
    deduplicated by identity, so `x * x` reads x once and a shared node is one variable.
    """
    walk: tuple = ([], [], [], [], {})  # nodes, refs, leaves, structure, seen
    _visit(root, walk)
    return walk[0], walk[1], walk[2], tuple(walk[3])


def _visit(x: Any, walk: tuple) -> int:
    # NOTE: a function of its own, not a closure: a recursive closure is a reference cycle
    # that would keep every walked graph (and its arrays) alive until the cyclic GC runs
    nodes, refs, leaves, structure, seen = walk
    if type(x) is Lazy:
        if x.value is None:
            k = seen.get(id(x))
            if k is None:
                r = tuple([_visit(s, walk) for s in x.srcs])
                k = seen[id(x)] = len(nodes)
                nodes.append(x)
                refs.append(r)
                structure.append((x.op, x.dtype, x.ctype, r,
                                  x.shape if x.op == "keep" else None))
            return k
        x = x.value
    k = seen.get(id(x))
    if k is None:
        k = seen[id(x)] = ~len(leaves)
        if type(x) is np.ndarray:  # NOTE: a 0-d one too: a broadcast element, kept by identity
            structure.append((x.dtype, leaf_shape(x)))  # for TinyJit, which replays it by name
            leaves.append(x)
            return k
        structure.append((x.dtype,))
        leaves.append(x)
    return k


# (structure, shape, reduction) -> (kernel key, loop sizes, shape of each leaf argument)
_layouts: dict[tuple, tuple | None] = {}


def _layout(nodes: list, refs: list, leaves: list, shape: tuple,
            reduction: tuple | None) -> tuple | None:
    """Loops, kernel key and argument shapes for a graph (memoised by structure in `plan`).

    The loops are the dims of `shape` with size-1 dims dropped and neighbours that every input
    treats alike (all indexed or all broadcast, all reduced or all kept) merged, so a
    same-shape chain is one flat loop and a bias add is two. None when a reduction's loops
    are neither innermost nor outermost (or it is not a plain sum over the leading loops).
    """
    ndim = len(shape)
    axes = () if reduction is None else reduction[1]

    def padded(x: Any) -> tuple:
        own = leaf_shape(x) if type(x) is np.ndarray else x.shape
        return (1,) * (ndim - len(own)) + own

    shaped = [padded(x) for x in leaves if type(x) is np.ndarray]
    shaped += [padded(n) for n in nodes if n.op == "keep"]
    groups: list[list[int]] = []
    signature = None
    for d in range(ndim):
        if shape[d] == 1:
            continue
        sig = (d in axes,) + tuple([s[d] != 1 for s in shaped])
        if sig == signature:
            groups[-1].append(d)
        else:
            groups.append([d])
            signature = sig
    reduced = tuple([g[0] in axes for g in groups])
    mode = None
    if reduction is not None:
        n_red = sum(reduced)
        if not groups:
            return None
        if all(reduced[len(groups) - n_red:]):
            mode = (reduction[0], "last")
        elif reduction[0] == "sum" and all(reduced[:n_red]):
            mode = (reduction[0], "first")
        else:
            return None
    if not groups:
        groups, reduced = [[]], (False,)  # a one-element result: one loop of length 1
    sizes = [math.prod([shape[d] for d in g]) for g in groups]

    def real(full: tuple) -> tuple:
        return tuple([bool(g) and full[g[0]] != 1 for g in groups])

    leaf_keys, arg_shapes = [], []
    for x in leaves:
        if type(x) is np.ndarray:
            r = real(padded(x))
            leaf_keys.append((x.dtype.str, r))
            loops = tuple([n if keep else 1 for n, keep in zip(sizes, r)])
            arg_shapes.append(None if loops == x.shape else loops)
        else:
            leaf_keys.append((x.dtype.str,))
            arg_shapes.append(None)
    node_keys = tuple([
        (n.op, n.dtype.str, n.ctype.str, r, real(padded(n)) if n.op == "keep" else ())
        for n, r in zip(nodes, refs)])
    return (mode, reduced, tuple(leaf_keys), node_keys), sizes, arg_shapes


def plan(root: Lazy, reduction: tuple | None) -> tuple | None:
    """The kernel key, loop sizes, leaves and each leaf's argument shape (None: as it is)
    that compute `root` (and reduce it), or None when the reduction does not fuse (the
    caller then reduces with numpy)."""
    nodes, refs, leaves, structure = _walk(root)
    memo = (structure, root.shape, reduction)
    layout = _layouts.get(memo, False)
    if layout is False:
        if len(_layouts) > 4096:  # NOTE: many shapes come and go (batch sizes); stay bounded
            _layouts.clear()
        layout = _layouts[memo] = _layout(nodes, refs, leaves, root.shape, reduction)
    if layout is None:
        return None
    key, sizes, arg_shapes = layout
    return key, sizes, leaves, arg_shapes


# a list while TinyJit records: every kernel launch is appended, as a call it can replay
launches: list | None = None


def run(root: Lazy, reduction: tuple | None, keepdims: bool = True) -> np.ndarray | None:
    """Compute `root` with one kernel; with `reduction=(kind, axes)`, reduce it as well and
    return the result (None when the reduction does not fuse, see `plan`)."""
    planned = plan(root, reduction)
    if planned is None:
        return None
    key, sizes, leaves, arg_shapes = planned
    # NOTE: everything but the leaves is fixed by the graph's structure and shapes
    spec = (codegen.kernel(key), key[0], key[1], sizes, root.shape, root.dtype,
            reduction[1] if reduction else (), keepdims, arg_shapes)
    out, full = launch(spec, *leaves)
    if full is not None:
        root.value, root.srcs = full, ()
        _epoch[0] += 1
    if launches is not None:
        launches.append(("launch", (spec, *leaves), {}, (out, full), root))
    return out


def launch(spec: tuple, *leaves: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Run one planned kernel (`spec`, from `run`) on `leaves`: its result, and for a sum
    over the leading loops the unreduced values too (else None)."""
    kernel, mode, reduced, sizes, shape, dtype, axes, keepdims, arg_shapes = spec
    args = [x if s is None else collapsed(x).reshape(s) for x, s in zip(leaves, arg_shapes)]
    if mode is None:
        out = np.empty(shape, dtype)
        codegen.call(kernel, [*sizes, out.reshape(sizes), *args])
        return out, None
    kept = [n for n, red in zip(sizes, reduced) if not red] or [1]
    view = (np.zeros if mode[1] == "first" else np.empty)(kept, dtype)
    out = view.reshape([1 if d in axes else n for d, n in enumerate(shape)] if keepdims
                       else [n for d, n in enumerate(shape) if d not in axes])
    extra, full = [], None
    if mode[1] == "first":  # the kernel stores root's values too (see codegen)
        full = np.empty(shape, dtype)
        extra = [full.reshape(sizes)]
    codegen.call(kernel, sizes + [view] + extra + args)
    return out, full
