"""One helper that checks an nn function against PyTorch: values and gradients, same inputs.

Shared by test_nn_layers.py, test_nn_losses.py and test_nn_module.py.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pytest

import tinygrad_lite as tl

TOL = {np.float32: 1e-5, np.float64: 1e-10}  # the agreement asked of every layer and loss


def close(actual, expected, dtype) -> None:
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=tol, atol=tol)


def torch_linear(layer):
    """A torch.nn.Linear holding a copy of `layer`'s weights, in the same dtype."""
    torch = pytest.importorskip("torch")
    dtype = torch.float64 if layer.weight.dtype == np.float64 else torch.float32
    out = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                          dtype=dtype)
    with torch.no_grad():
        out.weight.copy_(torch.from_numpy(layer.weight.numpy().copy()))
        if layer.bias is not None:
            out.bias.copy_(torch.from_numpy(layer.bias.numpy().copy()))
    return out


def check_parity(tl_fn: Callable, torch_fn: Callable, arrays: Sequence[np.ndarray], *,
                 params: Sequence[tuple] = (), seed: int = 0) -> None:
    """Compare tl_fn(*inputs) with torch_fn(*inputs) and the gradients of sum(out * w).

    Every floating array becomes an input that requires grad (in its own dtype); `params`
    are (tinygrad_lite, torch) parameter pairs whose gradients must agree too. The weights w
    are fixed random numbers, so every output element reaches the gradients.
    """
    torch = pytest.importorskip("torch")
    ours = [tl.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, ref = tl_fn(*ours), torch_fn(*theirs)
    dtype = out.dtype
    assert out.shape == tuple(ref.shape)
    assert str(ref.dtype) == f"torch.{dtype}", f"dtype {dtype} vs {ref.dtype}"
    close(out.numpy(), ref.detach().numpy(), dtype)
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    (out * tl.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    pairs = [(a, b) for a, b in zip(ours, theirs) if b.requires_grad] + list(params)
    for i, (a, b) in enumerate(pairs):
        assert a.grad is not None, f"input {i} got no gradient"
        assert a.grad.dtype == a.dtype, f"input {i}: gradient dtype {a.grad.dtype}"
        close(a.grad.numpy(), b.grad.numpy(), dtype)
