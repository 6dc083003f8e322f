"""The one helper that checks an op: forward against numpy, gradients against finite
differences (float64, always) and against PyTorch (float32 and float64, when installed)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import tinygrad_lite as tl

try:
    import torch
except ImportError:  # parity checks are skipped without torch; finite differences still run
    torch = None

TOLERANCE = {np.float32: dict(atol=1e-5, rtol=1e-4), np.float64: dict(atol=1e-10, rtol=1e-8)}


def make_inputs(shapes: Sequence[tuple], low: float, high: float, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=s) for s in shapes]


def _run_tl(fn: Callable, arrays: list, dtype, weights: np.ndarray | None):
    xs = [tl.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    out = fn(*xs)
    w = np.random.default_rng(1).standard_normal(out.shape) if weights is None else weights
    (out * tl.tensor(w, dtype=out.dtype)).sum().backward()
    return out.numpy(), [None if x.grad is None else x.grad.numpy() for x in xs], w


def _run_torch(fn: Callable, arrays: list, dtype, weights: np.ndarray):
    tdt = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    xs = [torch.tensor(a, dtype=tdt, requires_grad=True) for a in arrays]
    out = fn(*xs)
    (out * torch.tensor(weights, dtype=out.dtype)).sum().backward()
    return out.detach().numpy(), [None if x.grad is None else x.grad.numpy() for x in xs]


def check_op(shapes: Sequence[tuple], fn: Callable, np_fn: Callable | None = None,
             torch_fn: Callable | None = None, low: float = -2.0, high: float = 2.0,
             seed: int = 0, fd: bool = True) -> None:
    """Check `fn` (written once for tinygrad_lite and, by default, for torch too).

    `np_fn` computes the expected forward from float64 numpy arrays; `torch_fn` replaces
    `fn` for torch where the names differ.
    """
    arrays = make_inputs(shapes, low, high, seed)
    out64, grads64, weights = _run_tl(fn, arrays, np.float64, None)
    if np_fn is not None:
        np.testing.assert_allclose(out64, np_fn(*arrays), atol=1e-12, rtol=1e-10)
    for g, a in zip(grads64, arrays):
        assert g is None or g.shape == a.shape
    if fd:
        xs = [tl.tensor(a, dtype=tl.float64, requires_grad=True) for a in arrays]
        tl.gradcheck(fn, xs, eps=1e-6, atol=1e-6, rtol=1e-4)
    if torch is None:
        return
    for dtype in (np.float32, np.float64):
        out, grads, _ = _run_tl(fn, arrays, dtype, weights)
        assert out.dtype == dtype, f"{dtype.__name__} in, {out.dtype} out"
        t_out, t_grads = _run_torch(torch_fn or fn, arrays, dtype, weights)
        np.testing.assert_allclose(out, t_out, **TOLERANCE[dtype])
        for g, tg in zip(grads, t_grads):
            if tg is None:
                assert g is None or not np.any(g)
            else:
                np.testing.assert_allclose(g, tg, **TOLERANCE[dtype])


def assert_same(a, b) -> None:
    """Equal structure, key order, types, dtypes and bit-identical values (a round trip)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (tl.Tensor, np.ndarray, np.generic)):
        x, y = np.asarray(a), np.asarray(b)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def custom_functions(L):
    """Square saves its input, Exp its output (both differentiable twice, as in PyTorch)."""
    class Square(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    class Exp(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    return Square, Exp
