"""Finite-difference gradient checks: the ground truth every op's backward is tested against."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import autograd
from .tensor import Tensor, cat


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences."""


def _scalar_of(fn: Callable, inputs: Sequence[Tensor], weights: np.ndarray) -> float:
    out = fn(*inputs)
    return float(np.sum(out.numpy().astype(np.float64) * weights))


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Compare the gradients of `fn` with central differences, in float64.

    The output is reduced to a scalar with fixed random weights (so every output element
    matters). Two checks run: every input element is perturbed in turn (the full Jacobian
    product), and one random direction per input checks the vector-Jacobian product as HIPS
    autograd does. On failure the error names the input and the first bad index.

    Examples
    --------
    >>> x = Tensor(np.random.randn(3), dtype=np.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t * t).sin() if False else t.exp(), [x])
    True
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need "
                            "float64 inputs (use .double())")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    weights = rng.standard_normal(out.shape)
    for t in inputs:
        t.grad = None
    if out.requires_grad:  # NOTE: else the output is constant and every gradient is 0
        (out * Tensor(weights, dtype=out.dtype)).sum().backward()
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64)
        data = t.numpy()
        original = data.copy()  # NOTE: restored exactly, even when fn raises midway
        numeric = np.zeros(t.shape)
        direction = rng.standard_normal(t.shape)
        try:
            for idx in np.ndindex(*t.shape):
                data[idx] = original[idx] + eps
                plus = _scalar_of(fn, inputs, weights)
                data[idx] = original[idx] - eps
                minus = _scalar_of(fn, inputs, weights)
                data[idx] = original[idx]
                numeric[idx] = (plus - minus) / (2 * eps)
            np.copyto(data, original + eps * direction)
            plus = _scalar_of(fn, inputs, weights)
            np.copyto(data, original - eps * direction)
            minus = _scalar_of(fn, inputs, weights)
        finally:
            np.copyto(data, original)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            where_bad = tuple(int(k) for k in np.argwhere(bad)[0])
            return _fail(raise_exception, f"gradcheck: input {i} (shape {t.shape}): at index "
                         f"{where_bad} backward gives {analytic[where_bad]:.8g} but finite "
                         f"differences give {numeric[where_bad]:.8g}")
        numeric_vjp = (plus - minus) / (2 * eps)
        analytic_vjp = float(np.sum(analytic * direction))
        if not np.isclose(analytic_vjp, numeric_vjp, atol=atol, rtol=rtol):
            return _fail(raise_exception, f"gradcheck: input {i} (shape {t.shape}): along a "
                         f"random direction backward gives {analytic_vjp:.8g} but finite "
                         f"differences give {numeric_vjp:.8g}")
    return True


def gradgradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                  raise_exception: bool = True) -> bool:
    """Compare second derivatives with finite differences of the first, in float64: a
    `gradcheck` of the function that returns fn's input gradients (for fixed random output
    weights), computed with `create_graph=True` as PyTorch's gradgradcheck does."""
    inputs = list(inputs)
    weights = np.random.default_rng(seed + 1).standard_normal(fn(*inputs).shape)
    wrt = [t for t in inputs if t.requires_grad]

    def first_derivatives(*args: Tensor) -> Tensor:
        out = fn(*args)
        grads = autograd.grad((out * Tensor(weights, dtype=out.dtype)).sum(), wrt,
                              create_graph=True, materialize_grads=True)
        return cat([g.reshape(-1) for g in grads])

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, seed, raise_exception)


def _fail(raise_exception: bool, message: str) -> Any:
    if raise_exception:
        raise GradcheckError(message)
    return False
