"""Finite-difference gradient checks: the ground truth every op's backward is tested against."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import autograd
from .tensor import Tensor, cat


class GradcheckError(RuntimeError, AssertionError):
    """A backward disagrees with finite differences: a RuntimeError, as PyTorch's, and an
    AssertionError, what a failed check is in a test."""


# PyTorch's keyword options and their defaults. nondet_tol, fast_mode and the like change
# nothing here: backward is deterministic and both checks always run. The batched checks hold
# by construction (`tl.func.vmap` runs the function once per element). check_forward_ad also
# checks `tl.func.jvp` along a random direction; check_grad_dtypes each gradient's dtype.
_TORCH_OPTIONS = {"nondet_tol": 0.0, "check_undefined_grad": True, "check_grad_dtypes": False,
                  "check_batched_grad": False, "check_batched_forward_grad": False,
                  "check_forward_ad": False, "check_backward_ad": True, "fast_mode": False,
                  "masked": None, "gen_non_contig_grad_outputs": False,
                  "check_fwd_over_rev": False, "check_rev_over_rev": True}


def _prepared(fn: Callable, inputs: Any) -> tuple[Callable[..., Tensor], list]:
    """PyTorch's forms made one: `inputs` a tensor or a sequence (a list), and `fn` with a
    tuple or list of outputs made one flat tensor of its floating ones (the others, indices
    and counts, have no gradient), as PyTorch's gradcheck checks them all."""
    def single(*args: Any) -> Tensor:
        out = fn(*args)
        if isinstance(out, Tensor):
            return out
        return cat([o.reshape(-1) for o in out if o.dtype.kind == "f"])

    return single, [inputs] if isinstance(inputs, Tensor) else list(inputs)


def _options(options: dict[str, Any], op: str) -> dict[str, Any]:
    unknown = set(options) - set(_TORCH_OPTIONS)
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    return {**_TORCH_OPTIONS, **options}


def _scalar_of(fn: Callable, inputs: Sequence[Any], weights: np.ndarray) -> float:
    out = fn(*inputs)
    return float(np.sum(out.numpy().astype(np.float64) * weights))


def gradcheck(func: Callable[..., Any], inputs: Tensor | Sequence[Any], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              seed: int = 0, **options: Any) -> bool:
    """Compare the gradients of `func` with central differences, in float64.

    `inputs` is a tensor or a sequence of arguments (tensors that require grad are checked,
    anything else is passed as it is); `func` returns a tensor, or a tuple of them (each
    floating one is checked). The output is reduced to a scalar with fixed random weights
    (so every output element matters). Two checks run: every input element is perturbed in
    turn (the full Jacobian product), and one random direction per input checks the
    vector-Jacobian product as HIPS autograd does. On failure the error (a GradcheckError)
    names the input and the first bad index. PyTorch's keyword options are accepted.

    Examples
    --------
    >>> x = Tensor(np.random.randn(3), dtype=np.float64, requires_grad=True)
    >>> gradcheck(lambda t: t.exp(), x)
    True
    """
    opts = _options(options, "gradcheck")
    fn, inputs = _prepared(func, inputs)
    checked = [isinstance(t, Tensor) and t.requires_grad for t in inputs]
    for i, t in enumerate(inputs):
        if checked[i] and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need "
                            "float64 inputs (use .double())")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    weights = rng.standard_normal(out.shape)
    wrt = [t for t, is_checked in zip(inputs, checked) if is_checked]
    # NOTE: autograd.grad, not backward: the inputs' .grad stay as they were, as in PyTorch
    grads = iter(autograd.grad((out * Tensor(weights, dtype=out.dtype)).sum(), wrt,
                               allow_unused=True)
                 if out.requires_grad and wrt else [None] * len(wrt))
    for i, t in enumerate(inputs):
        if not checked[i]:
            continue
        grad = next(grads)  # NOTE: None where the output does not depend on t: all 0
        if opts["check_grad_dtypes"] and grad is not None and grad.dtype != t.dtype:
            return _fail(raise_exception, f"gradcheck: input {i} is {t.dtype} but its "
                         f"gradient is {grad.dtype}")
        analytic = np.zeros(t.shape) if grad is None else grad.numpy().astype(np.float64)
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
        where_bad = _first_mismatch(analytic, numeric, atol, rtol)
        if where_bad is not None:
            return _fail(raise_exception, f"gradcheck: input {i} (shape {t.shape}): at index "
                         f"{where_bad} backward gives {analytic[where_bad]:.8g} but finite "
                         f"differences give {numeric[where_bad]:.8g}")
        numeric_vjp = (plus - minus) / (2 * eps)
        analytic_vjp = float(np.sum(analytic * direction))
        if not np.isclose(analytic_vjp, numeric_vjp, atol=atol, rtol=rtol):
            return _fail(raise_exception, f"gradcheck: input {i} (shape {t.shape}): along a "
                         f"random direction backward gives {analytic_vjp:.8g} but finite "
                         f"differences give {numeric_vjp:.8g}")
    if opts["check_forward_ad"]:
        return _check_jvp(fn, inputs, checked, eps, atol, rtol, rng, raise_exception)
    return True


def _check_jvp(fn: Callable, inputs: list, checked: list[bool], eps: float, atol: float,
               rtol: float, rng: np.random.Generator, raise_exception: bool) -> bool:
    """Forward mode: `tl.func.jvp` along one random direction in every checked input at
    once, against the central difference of fn along it."""
    from .func import jvp  # noqa: PLC0415  (func builds on this package)

    where = [i for i, c in enumerate(checked) if c]
    directions = [rng.standard_normal(inputs[i].shape) for i in where]

    def of_checked(*xs: Tensor) -> Tensor:
        args = list(inputs)
        for i, x in zip(where, xs):
            args[i] = x
        return fn(*args)

    _, tangent = jvp(of_checked, tuple(inputs[i].detach() for i in where),
                     tuple(Tensor(d, dtype=np.float64) for d in directions))
    datas = [inputs[i].numpy() for i in where]
    originals = [d.copy() for d in datas]
    try:
        outs = []
        for sign in (1, -1):
            for data, original, d in zip(datas, originals, directions):
                np.copyto(data, original + sign * eps * d)
            outs.append(fn(*inputs).numpy().astype(np.float64))
    finally:
        for data, original in zip(datas, originals):
            np.copyto(data, original)
    numeric = (outs[0] - outs[1]) / (2 * eps)
    analytic = tangent.numpy().astype(np.float64)
    k = _first_mismatch(analytic, numeric, atol, rtol)
    if k is not None:
        return _fail(raise_exception, f"gradcheck: forward mode (jvp) along a random direction "
                     f"gives {analytic[k]:.8g} at output index {k} but finite differences "
                     f"give {numeric[k]:.8g}")
    return True


def _first_mismatch(analytic: np.ndarray, numeric: np.ndarray, atol: float,
                    rtol: float) -> tuple[int, ...] | None:
    """The index of the first element where the two disagree beyond the tolerances."""
    bad = np.argwhere(~np.isclose(analytic, numeric, atol=atol, rtol=rtol))
    return tuple(int(k) for k in bad[0]) if len(bad) else None


def gradgradcheck(func: Callable[..., Any], inputs: Tensor | Sequence[Any],
                  grad_outputs: Any = None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
                  **options: Any) -> bool:
    """Compare second derivatives with finite differences of the first, in float64: a
    `gradcheck` of the function that returns func's input gradients (for the output weights
    `grad_outputs`, random when not given), computed with `create_graph=True` as PyTorch's
    gradgradcheck does."""
    _options(options, "gradgradcheck")
    fn, inputs = _prepared(func, inputs)
    if grad_outputs is None:
        weights = np.random.default_rng(seed + 1).standard_normal(fn(*inputs).shape)
    else:
        given = [grad_outputs] if isinstance(grad_outputs, Tensor) else grad_outputs
        weights = np.concatenate([np.asarray(g.numpy(), np.float64).reshape(-1)
                                  for g in given]).reshape(fn(*inputs).shape)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def first_derivatives(*args: Any) -> Tensor:
        out = fn(*args)
        grads = autograd.grad((out * Tensor(weights, dtype=out.dtype)).sum(), wrt,
                              create_graph=True, materialize_grads=True)
        return cat([g.reshape(-1) for g in grads])

    return gradcheck(first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)


def _fail(raise_exception: bool, message: str) -> Any:
    if raise_exception:
        raise GradcheckError(message)
    return False
