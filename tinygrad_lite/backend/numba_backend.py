"""The numba backend: elementwise ops are fused into generated kernels, the rest is numpy.

Every elementwise primitive (forward and backward) returns a `lazy.Lazy` node instead of
running. When a value is needed (a matmul, a reshape, `Tensor.numpy()`, ...) the pending graph
becomes one numba kernel (see `codegen.py`, `tl.debug.show_kernel`). A sum / max / min of a
pending graph along its last or all axes (softmax, cross-entropy, mean), or a sum along the
leading axes (the bias gradient that `unbroadcast` takes), runs inside the same kernel.
Every other primitive is the numpy backend's, inherited as it is: numpy computes a pending
argument through the array protocol (`Lazy.__array__`, and `Lazy.__getattr__` for methods
such as `reshape`), so no wrapper costs the common concrete case anything.

Dispatch by size: an op whose inputs are all below `small` elements runs eagerly in numpy
(tools/bench_numba.py measured it: building nodes and launching a kernel costs ~20 µs of
Python, a numpy op ~1.5 µs; in a training step kernels win past ~64k elements). Kernels are
serial: next to OpenBLAS, `parallel=True` made the GEMM + elementwise pair 1.6-5.3x slower
(PERF-NOTES' trap, re-measured in the benchmark). An in-place write into an array
(`before_write`, called by in-place tensor ops and the optimizers) first gives pending nodes
that read it a copy.

Example
-------
>>> import tinygrad_lite as tl
>>> tl.set_backend("numba")
>>> a, b, c = tl.randn(1000, 1000), tl.randn(1000, 1000), tl.randn(1000)
>>> y = (a * b + c).relu().sigmoid()   # nothing has run yet
>>> y.numpy().shape                    # one kernel: mul, add, relu, sigmoid
(1000, 1000)
"""
from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..rng import generator
from . import codegen
from .lazy import (
    Lazy,
    any_pending,
    broadcast_shape,
    detach_readers,
    interpret,
    realize,
    run,
    track,
)
from .numpy_backend import NumpyBackend, along_one_axis, is_outer

_ELEMENTWISE = ("add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "sign",
                "tanh", "maximum", "minimum", "where", "eq", "ne", "lt", "le", "gt", "ge",
                "relu", "relu_backward", "sigmoid", "sigmoid_backward", "tanh_backward",
                "dropout_apply", "erf", "erfc")
_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_REDUCIBLE = (*_FLOATS, np.dtype(np.int64))
_SAMPLE = {float: 1.0, int: 1, bool: True}

# (op, operand dtypes or Python scalar types) -> (dtype, ctype), or None for "numpy only"
_signatures: dict[tuple, tuple | None] = {}


def _signature(op: str, specs: tuple) -> tuple | None:
    """The result dtype and compute dtype numpy gives `op` on operands like `specs`.

    Found by running the numpy backend once on one-element samples (Python scalars stay
    Python scalars, so NEP 50's weak scalars promote exactly as in the real call), so the
    dtypes match the reference backend by construction.
    """
    key = (op, specs)
    if key not in _signatures:
        samples = [_SAMPLE[s] if s in _SAMPLE else np.ones(1, s) for s in specs]
        try:
            with np.errstate(all="ignore"):
                dtype = getattr(NumpyBackend, op)(*samples).dtype
                ctype = NumpyBackend.add(*samples).dtype if op in _COMPARISONS else dtype
        except (TypeError, ValueError, OverflowError):
            _signatures[key] = None  # numpy refuses: let the eager call raise its own error
        else:
            dtypes = tuple(s for s in specs if isinstance(s, np.dtype))
            ok = codegen.supported(op, ctype, dtypes)
            _signatures[key] = (dtype, ctype) if ok else None
    return _signatures[key]


def _cast_signature(src: np.dtype, dtype: np.dtype) -> tuple | None:
    key = ("cast", (src, dtype))
    if key not in _signatures:
        ok = codegen.supported("cast", dtype, (src,))
        _signatures[key] = (dtype, dtype) if ok else None
    return _signatures[key]


def _apply_reference(node: Lazy, args: list) -> Any:
    """Run one lazy node with numpy (the oracle the tests hold kernels against)."""
    if node.op == "keep":
        return _keep_reference(node.shape, *args)
    if node.op == "cast":
        return NumpyBackend.cast(args[0], node.dtype)
    return getattr(NumpyBackend, node.op)(*args)


def _keep_reference(shape: tuple, k0: Any, k1: Any, threshold: Any) -> np.ndarray:
    """`vecmath.keep_bit` in numpy: the same mask, for the tests."""
    def lowbias32(h):
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x7FEB352D)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x846CA68B)
        return h ^ (h >> np.uint32(16))

    i = np.arange(math.prod(shape), dtype=np.uint32).reshape(shape)
    with np.errstate(over="ignore"):
        h = lowbias32(i ^ np.uint32(k0)) ^ np.uint32(k1)
    return (h >> np.uint32(8)) >= np.uint32(threshold)


class NumbaBackend(NumpyBackend):
    """Lazy elementwise fusion into numba kernels on top of the numpy backend.

    Attributes
    ----------
    small : an op whose array inputs all have fewer elements runs eagerly in numpy, as do
        dropout masks and optimizer steps that small (0 sends everything to kernels; the
        environment variable TINYGRAD_LITE_NUMBA_SMALL sets it).
    max_nodes : a graph that would grow past this many nodes has its sources realized first.
    jit_small : `small` while TinyJit records and replays (`jit_mode`), where a kernel costs
        only its launch (~5 µs), not building the graph: fused from about a thousand
        elements (a training step at batch 1 was faster with numpy's ops, at 32 with kernels).
    compute_readers : True in `jit_mode`: `before_write` computes the pending nodes that
        read the array instead of giving them a copy.
    """

    name = "numba"
    small = 65536
    max_nodes = 32
    compute_readers = False
    jit_small = 1024
    # the methods that take pending nodes as they are (the rest get computed values)
    LAZY = frozenset(_ELEMENTWISE + ("sum", "max", "min", "cast", "realize", "dropout_mask"))

    def __init__(self) -> None:
        # NOTE: TINYGRAD_LITE_NUMBA_SMALL=0 sends every op through kernels (for the tests)
        self.small = int(os.environ.get("TINYGRAD_LITE_NUMBA_SMALL", type(self).small))

    def jit_mode(self) -> "_JitMode":
        """How TinyJit records and replays: elementwise ops pending nodes from `jit_small`
        elements on (replay launches the kernels without building nodes, so fusing pays on
        much smaller arrays), and a pending read of an array about to be written computed at
        once (a copy would be an array made outside any kernel, which replay could not name)."""
        return _JitMode(self)

    # --- conversion ---------------------------------------------------------------------------
    realize = staticmethod(realize)

    def before_write(self, a: np.ndarray) -> None:
        """Called before `a` is overwritten in place: pending reads of it get a copy (in
        `jit_mode`, are computed)."""
        if any_pending():
            detach_readers(a, self.compute_readers)

    def cast(self, a: Any, dtype: Any) -> Any:
        dtype = np.dtype(dtype)
        if a.dtype == dtype:
            return a
        if type(a) is Lazy or a.size >= self.small:
            return self._node("cast", (a,), dtype)
        return NumpyBackend.cast(a, dtype)

    # --- elementwise ----------------------------------------------------------------------------
    def _node(self, op: str, srcs: tuple, cast_to: np.dtype | None = None,
              small: int | None = None) -> Any:
        """A Lazy node for `op(*srcs)`, or numpy's eager result for small (below `small`,
        default the backend's) or odd inputs."""
        shape = None
        specs = []
        count = 1
        convert = False  # a Python scalar to type, or a realized node to unwrap
        for s in srcs:
            t = type(s)
            if t is Lazy:
                if s.value is None:
                    count += s.count
                else:
                    convert = True
                specs.append(s.dtype)
                sh = s.shape
            elif t is np.ndarray:
                specs.append(s.dtype)
                sh = s.shape
            elif t is float or t is int or t is bool:
                specs.append(t)
                convert = True
                continue
            elif isinstance(s, np.generic):
                specs.append(s.dtype)
                continue
            else:
                return self._eager(op, srcs, cast_to)
            if shape is None:
                shape = sh
            elif sh != shape:
                shape = broadcast_shape(shape, sh)
        if shape is None:
            shape = ()
        sig = _signature(op, tuple(specs)) if cast_to is None else _cast_signature(
            specs[0], cast_to)
        if sig is None or math.prod(shape) < (self.small if small is None else small):
            return self._eager(op, srcs, cast_to)
        dtype, ctype = sig
        if count > self.max_nodes:  # NOTE: keeps kernels small and shared nodes linear
            count = self._shrink(srcs)
            convert = True
        if convert:
            srcs = tuple([s.value if type(s) is Lazy and s.value is not None else
                          ctype.type(s) if type(s) in (float, int, bool) else s for s in srcs])
        node = Lazy(op, srcs, shape, dtype, ctype, count)
        track(node)
        return node

    def _shrink(self, srcs: tuple) -> int:
        """Realize the biggest pending sources until a node over them fits `max_nodes`."""
        while True:
            lazy = {id(s): s for s in srcs if type(s) is Lazy and s.value is None}
            count = 1 + sum(s.count for s in srcs if type(s) is Lazy and s.value is None)
            if count <= self.max_nodes or not lazy:
                return count
            max(lazy.values(), key=lambda s: s.count).realize()

    @staticmethod
    def _eager(op: str, srcs: tuple, cast_to: np.dtype | None) -> Any:
        args = [realize(s) for s in srcs]
        if cast_to is not None:
            return NumpyBackend.cast(args[0], cast_to)
        return getattr(NumpyBackend, op)(*args)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """numpy's, but an outer product runs as a kernel: numpy's broadcast multiply took
        72 µs for a batch-1 weight gradient (256x784), a kernel 14 µs."""
        if is_outer(a, b):
            return realize(self._node("mul", (a, b)))
        return NumpyBackend.matmul(a, b)

    def index_add(self, shape: tuple, dtype: Any, index: Any, g: Any, basic: bool) -> Any:
        """numpy's, but where `index` is full slices and then one integer array (conv and
        pool windows, an embedding's rows) and the gradient has `small` elements or more,
        the terms are added in a kernel (`index_kernels.add_rows`): np.add.at's ~10 ns an
        element was most of a small CNN's backward."""
        g, dtype = realize(g), np.dtype(dtype)
        supported = not basic and g.size >= max(self.small, 1) and g.dtype == dtype \
            and dtype in _FLOATS
        rows = _rows(shape, index) if supported else None
        if rows is None:
            return NumpyBackend.index_add(shape, dtype, index, g, basic)
        axis, positions = rows
        out = np.zeros(shape, dtype)
        pre, n = math.prod(shape[:axis]), shape[axis]
        codegen.call(_index_kernels().add_rows,
                     [out.reshape(pre, n, -1), positions,
                      np.ascontiguousarray(g).reshape(pre, positions.size, -1)])
        return out

    def _arg_extreme(self, x: Any, axis: int | None, keepdims: bool, largest: bool) -> Any:
        """np.argmax / np.argmin; along the last axis of a large float array, in a kernel
        (`index_kernels.arg_extreme`): along rows of a few elements numpy pays a call per
        row (5 ms for 64x16x196x4, a max pool's windows before `window_argmax`)."""
        x = realize(x)
        # NOTE: an empty or 0-d x goes to numpy too, which raises or answers as it does
        if axis is None or not x.ndim or x.size < max(self.small, 1) or x.dtype not in _FLOATS \
                or axis % x.ndim != x.ndim - 1:
            pick = NumpyBackend.argmax if largest else NumpyBackend.argmin
            return pick(x, axis=axis, keepdims=keepdims)
        out = np.empty(x.shape[:-1] + ((1,) if keepdims else ()), np.int64)
        codegen.call(_index_kernels().arg_extreme,
                     [np.ascontiguousarray(x).reshape(-1, x.shape[-1]), out.reshape(-1), largest])
        return out

    def window_argmax(self, x: Any, index: np.ndarray) -> np.ndarray:
        """numpy's, but in a kernel (`index_kernels.window_argmax`) for a large float x: it
        reads each window in place, where numpy gathers all of them (K times x) to take
        their argmax. A 2x2 max pool of 64x16x28x28, forward and backward: 3.6 ms -> 2.0 ms
        (the windows' gather, argmax, take and both scatters before)."""
        x = realize(x)
        if x.size < max(self.small, 1) or x.dtype not in _FLOATS or not x.ndim:
            return NumpyBackend.window_argmax(x, index)
        out = np.empty(x.shape[:-1] + index.shape[:1], np.int64)
        codegen.call(_index_kernels().window_argmax,
                     [np.ascontiguousarray(x).reshape(-1, x.shape[-1]),
                      np.ascontiguousarray(index, dtype=np.int64),
                      out.reshape(-1, index.shape[0])])
        return out

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._arg_extreme(x, axis, keepdims, True)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._arg_extreme(x, axis, keepdims, False)

    # --- reductions -------------------------------------------------------------------------
    def _reduce(self, kind: str, x: Any, axis: Any, keepdims: bool) -> Any:
        """`kind` of x along `axis`, fused into x's kernel when x is pending and it fits."""
        if type(x) is Lazy and x.value is None and x.dtype in _REDUCIBLE and x.size and x.ndim:
            ndim = x.ndim
            axes = tuple(range(ndim)) if axis is None else tuple(sorted(
                a % ndim for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)))
            out = run(x, (kind, axes), keepdims) if axes else None
            if out is not None:
                return out
        return getattr(NumpyBackend, kind)(realize(x), axis=axis, keepdims=keepdims)

    # --- dropout --------------------------------------------------------------------------------
    def dropout_mask(self, shape: tuple, p: float) -> Any:
        """A lazy keep-mask: a hash of each element's index keyed by 64 bits drawn from the
        generator, so `manual_seed` reproduces it and a kernel recomputes it for free (the
        backward never reads a stored mask). Below `small` elements, numpy's mask (measured
        cheaper in a training step at batch 32)."""
        if math.prod(shape) < self.small:
            return NumpyBackend.dropout_mask(shape, p)
        seed = generator().bit_generator.random_raw()
        threshold = np.uint32(min(max(round(p * 2 ** 24), 0), 2 ** 24))
        srcs = (np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32), threshold)
        node = Lazy("keep", srcs, tuple(shape), np.dtype(np.bool_), np.dtype(np.bool_), 1)
        track(node)
        return node

    # --- softmax cross-entropy ----------------------------------------------------------------
    def cross_entropy(self, x: Any, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The numpy backend's `cross_entropy` in one kernel pass (`loss_kernels.forward`):
        its ten numpy calls cost more than the loss itself at a classifier's sizes."""
        x = np.ascontiguousarray(realize(x))  # NOTE: one compiled layout per dtype
        if x.dtype not in _FLOATS or x.size == 0:
            return NumpyBackend.cross_entropy(x, labels)
        logp = np.empty_like(x)
        losses = np.empty(x.shape[0], x.dtype)
        codegen.call(_loss_kernels(x.dtype).forward, [x, _int64(labels), logp, losses])
        return logp, losses

    def cross_entropy_backward(self, logp: np.ndarray, labels: np.ndarray, g: Any) -> Any:
        """(softmax - onehot) * g in one kernel pass (`loss_kernels.backward`)."""
        g = realize(g)
        if logp.dtype not in _FLOATS or g.dtype != logp.dtype or logp.size == 0:
            return NumpyBackend.cross_entropy_backward(logp, labels, g)
        grad = np.empty_like(logp)
        codegen.call(_loss_kernels(logp.dtype).backward,
                     [logp, _int64(labels), np.ascontiguousarray(g.reshape(-1)), grad])
        return grad

    # --- recurrent layers ---------------------------------------------------------------------
    def recurrent(self, kind: str, gi: Any, w_hh_t: Any, b_hh: Any, states: Any,
                  reverse: bool) -> tuple:
        """The numpy backend's `recurrent`, but an LSTM's or GRU's steps each run as one
        kernel (`rnn_kernels`), writing into arrays made once for the whole layer: the numpy
        steps' calls and allocations were most of a small layer's time."""
        arrays = _cell_arrays(gi, w_hh_t, *states, *(() if b_hh is None else (b_hh,)))
        if kind not in ("LSTM", "GRU") or arrays is None:
            return NumpyBackend.recurrent(kind, gi, w_hh_t, b_hh, states, reverse)
        gi, w_hh_t, *states = arrays[:2 + len(states)]
        bias = arrays[2 + len(states)] if b_hh is not None else None
        kernels, h = _rnn_kernels(gi.dtype), states[0]
        # NOTE: h' has the gates' width; h the projected one (an LSTM with proj_size, a step)
        length, hidden = gi.shape[0], gi.shape[2] // (4 if kind == "LSTM" else 3)
        shape = (length, h.shape[0], hidden)
        hs, h_prev, gh = np.empty(shape, h.dtype), np.empty((length, *h.shape), h.dtype), \
            np.empty_like(gi[0])
        acts = np.empty((length, 4, *shape[1:]), h.dtype)  # i, f, g, o or r, z, n, h_n
        if kind == "LSTM":
            c, c_prev, cs, tanh_c = states[1], *(np.empty(shape, h.dtype) for _ in range(3))
        for t in range(length - 1, -1, -1) if reverse else range(length):
            np.matmul(h, w_hh_t, out=gh)
            if bias is not None:
                np.add(gh, bias, out=gh)
            h_prev[t] = h
            if kind == "LSTM":
                c_prev[t] = c
                codegen.call(kernels.lstm_forward, [gi[t], gh, c, hs[t], cs[t], acts[t],
                                                    tanh_c[t]])
                c = cs[t]
            else:
                codegen.call(kernels.gru_forward, [gi[t], gh, h, hs[t], acts[t]])
            h = hs[t]
        gates = tuple(acts[:, k] for k in range(4))
        if kind == "LSTM":
            return hs, h, c, h_prev, c_prev, *gates, tanh_c
        return hs, h, h_prev, *gates

    def recurrent_backward(self, kind: str, grad: Any, grad_c: Any, w_hh: Any, reverse: bool,
                           *kept: Any) -> tuple:
        """`recurrent`'s gradients, an LSTM's or GRU's steps as one kernel each."""
        arrays = _cell_arrays(grad, w_hh, *(() if grad_c is None else (grad_c,)))
        kept = [realize(k) for k in kept]
        if kind not in ("LSTM", "GRU") or arrays is None \
                or any(k.dtype != arrays[0].dtype for k in kept):
            return NumpyBackend.recurrent_backward(kind, grad, grad_c, w_hh, reverse, *kept)
        grad, w_hh = arrays[:2]
        kernels, length = _rnn_kernels(grad.dtype), grad.shape[0]
        d_gi = np.empty((length, grad.shape[1], w_hh.shape[0]), grad.dtype)
        d_gh = d_gi if kind == "LSTM" else np.empty_like(d_gi)
        dh = np.empty((grad.shape[1], w_hh.shape[1]), grad.dtype)  # NOTE: h's width
        dh_t, d_h = np.empty_like(grad[0]), np.empty_like(grad[0])
        dc = np.array(arrays[2]) if kind == "LSTM" else None  # NOTE: a copy, written in place
        for k, t in enumerate(range(length) if reverse else range(length - 1, -1, -1)):
            if k:
                np.add(grad[t], dh, out=dh_t)
            else:
                dh_t[...] = grad[t]
            at_t = [np.ascontiguousarray(a[t]) for a in kept]
            if kind == "LSTM":
                codegen.call(kernels.lstm_backward, [dh_t, dc, *at_t[1:], d_gi[t], dc])
                np.matmul(d_gi[t], w_hh, out=dh)
            else:
                codegen.call(kernels.gru_backward, [dh_t, *at_t, d_gi[t], d_gh[t], d_h])
                np.matmul(d_gh[t], w_hh, out=dh)
                dh += d_h
        return (d_gi, d_gh, dh, *(() if dc is None else (dc,)))

    # --- optimizer steps ----------------------------------------------------------------------
    def sgd_update(self, p: np.ndarray, g: Any, buf: np.ndarray | None, *, lr: float,
                   momentum: float, dampening: float, weight_decay: float, nesterov: bool,
                   first_step: bool) -> None:
        """The numpy backend's SGD rule in one pass (`optim_kernels.sgd`), in place (numpy's
        own below `small` elements, where its few calls cost less than a kernel launch)."""
        g = realize(g)
        flat = _flat(p, g, buf) if p.size >= self.small else None
        if flat is None:
            return NumpyBackend.sgd_update(p, g, buf, lr=lr, momentum=momentum,
                                           dampening=dampening, weight_decay=weight_decay,
                                           nesterov=nesterov, first_step=first_step)
        pf, gf, bf = flat
        scalars = np.array([lr, momentum, 1 - dampening, weight_decay], p.dtype)
        codegen.call(_optim_kernels().sgd, [pf, gf, pf if bf is None else bf, scalars,
                                         bool(nesterov), bool(first_step), bf is not None])

    def adam_update(self, p: np.ndarray, g: Any, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                    max_exp_avg_sq: np.ndarray | None, *, step: int, lr: float, beta1: float,
                    beta2: float, eps: float, weight_decay: float, decoupled: bool) -> None:
        """The numpy backend's Adam / AdamW rule in one pass (`optim_kernels.adam`; numpy's
        own below `small` elements)."""
        g = realize(g)
        flat = _flat(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq) if p.size >= self.small else None
        if flat is None:
            return NumpyBackend.adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq,
                                            step=step, lr=lr, beta1=beta1, beta2=beta2,
                                            eps=eps, weight_decay=weight_decay,
                                            decoupled=decoupled)
        pf, gf, m, v, vmax = flat
        scalars = np.array([lr / (1 - beta1 ** step), math.sqrt(1 - beta2 ** step), 1 - beta1,
                            beta2, 1 - beta2, eps, weight_decay, 1 - lr * weight_decay], p.dtype)
        codegen.call(_optim_kernels().adam, [pf, gf, m, v, pf if vmax is None else vmax, scalars,
                                          bool(decoupled), vmax is not None])


class _JitMode:
    """`NumbaBackend.jit_mode`'s context: a class, as it is entered on every replay (a
    generator-based context manager costs ~2 µs more)."""

    __slots__ = ("backend", "small")

    def __init__(self, backend: NumbaBackend) -> None:
        self.backend = backend

    def __enter__(self) -> None:
        b = self.backend
        self.small, b.small, b.compute_readers = b.small, min(b.small, b.jit_small), True

    def __exit__(self, *exc: Any) -> None:
        self.backend.small, self.backend.compute_readers = self.small, False


def _int64(labels: np.ndarray) -> np.ndarray:
    """Class labels of any integer dtype or layout as contiguous int64: one compiled kernel."""
    return np.ascontiguousarray(labels, dtype=np.int64)


@functools.cache
def _loss_kernels(dtype: np.dtype) -> Any:
    """loss_kernels.py, loaded through the kernel cache for float32 (vectorisable exp) or
    float64 (libm's exp)."""
    src = (Path(__file__).parent / "loss_kernels.py").read_text()
    return codegen.load(src if dtype == np.float32 else src.replace("EXP = exp_f32",
                                                                    "EXP = math.exp"))


@functools.cache
def _rnn_kernels(dtype: np.dtype) -> Any:
    """rnn_kernels.py, loaded through the kernel cache for float32 (vectorisable sigmoid and
    tanh) or float64 (libm's)."""
    src = (Path(__file__).parent / "rnn_kernels.py").read_text()
    if dtype == np.float64:
        src = (src.replace("SIGMOID = sigmoid_f32", "SIGMOID = sigmoid_f64")
               .replace("TANH = tanh_f32", "TANH = math.tanh").replace("F = np.float32",
                                                                      "F = np.float64"))
    return codegen.load(src)


def _cell_arrays(*arrays: Any) -> list[np.ndarray] | None:
    """A recurrent cell's arguments as C-contiguous arrays (one compiled layout), or None
    unless all are float32, or all float64 (others go to numpy)."""
    arrays = [realize(a) for a in arrays]
    if arrays[0].dtype not in _FLOATS or any(a.dtype != arrays[0].dtype for a in arrays):
        return None
    return [np.ascontiguousarray(a) for a in arrays]


def _rows(shape: tuple, index: Any) -> tuple[int, np.ndarray] | None:
    """`along_one_axis`'s axis and its positions flat, as int64 in [0, shape[axis]); None
    for another index, or positions out of range (numpy then raises the IndexError)."""
    taken = along_one_axis(index, len(shape))
    if taken is None:
        return None
    axis, positions = taken
    n, flat = shape[axis], positions.reshape(-1)
    if flat.size and not -n <= flat.min() <= flat.max() < n:
        return None
    return axis, np.ascontiguousarray(np.where(flat < 0, flat + n, flat), dtype=np.int64)


@functools.cache
def _index_kernels() -> Any:
    """index_kernels.py, loaded (on the first accumulating backward) through the kernel
    cache."""
    return codegen.load((Path(__file__).parent / "index_kernels.py").read_text())


@functools.cache
def _optim_kernels() -> Any:
    """optim_kernels.py, loaded (on the first optimizer step) through the kernel cache."""
    return codegen.load((Path(__file__).parent / "optim_kernels.py").read_text())


def _flat(p: np.ndarray, g: np.ndarray, *state: np.ndarray | None) -> tuple | None:
    """1-D views for a fused update, or None when one cannot write through them in place."""
    dtype, shape = p.dtype, p.shape
    if dtype not in _FLOATS or g.dtype != dtype or g.shape != shape:
        return None
    for a in (p, *state):
        if a is not None:
            flags = a.flags
            if a.dtype != dtype or a.shape != shape or not (flags.c_contiguous
                                                             and flags.writeable):
                return None
    # NOTE: g may be a broadcast view (the gradient of a sum): ravel copies it then
    return (p.ravel(), g.ravel(), *[None if s is None else s.ravel() for s in state])


# NOTE: numpy has no erf: the reference calls libm per element (~60 ns each), so a kernel
# pays from a few hundred elements (a LayerNorm+GELU MLP's 128x256: 2.2 ms -> 0.4 ms)
_PER_ELEMENT_SMALL = {"erf": 512, "erfc": 512}


def _lazy_method(op: str) -> Callable:
    reference = getattr(NumpyBackend, op)
    cutoff = _PER_ELEMENT_SMALL.get(op)

    def method(self, *srcs: Any) -> Any:
        # NOTE: the common small case decides in a few checks and calls numpy straight away
        small = self.small if cutoff is None else min(self.small, cutoff)
        for s in srcs:
            t = type(s)
            if t is Lazy or t is np.ndarray and s.size >= small:
                return self._node(op, srcs, small=small)
        return reference(*srcs)

    method.__name__ = op
    method.__doc__ = f"Lazy `{op}`: fused into the kernel that realizes the result."
    return method


def _lazy_reduction(kind: str) -> Callable:
    reference = getattr(NumpyBackend, kind)

    def method(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if type(x) is not Lazy:
            return reference(x, axis=axis, keepdims=keepdims)
        return self._reduce(kind, x, axis, keepdims)

    method.__name__ = kind
    method.__doc__ = f"`{kind}`, fused into the kernel of a pending x where it fits."
    return method


for _op in _ELEMENTWISE:
    setattr(NumbaBackend, _op, _lazy_method(_op))
for _op in ("sum", "max", "min"):
    setattr(NumbaBackend, _op, _lazy_reduction(_op))


def stats() -> dict:
    """Kernel counters of this process: compiled, loaded from the disk cache, calls, folder."""
    return codegen.stats()


def reference(x: Any) -> np.ndarray:
    """`x` computed op by op with the numpy backend, without running a kernel (the oracle)."""
    return interpret(x, _apply_reference) if type(x) is Lazy else np.asarray(x)
