"""Property tests: broadcasting and reductions over random shapes and dims."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl

SETTINGS = settings(max_examples=60, deadline=None)


def _array(shape, seed):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=4),
       op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]), seed=st.integers(0, 99))
def test_binary_broadcasting_matches_numpy_and_reduces_grads(shapes, op, seed):
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = _array(sa, seed), _array(sb, seed + 1)
    if op == "div":
        b = np.abs(b) + 0.5
    x = tl.tensor(a, requires_grad=True)
    y = tl.tensor(b, requires_grad=True)
    out = {"add": x + y, "sub": x - y, "mul": x * y, "div": x / y,
           "maximum": x.maximum(y)}[op]
    expected = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                "maximum": np.maximum}[op](a, b)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    out.sum().backward()
    assert x.grad.shape == sa and y.grad.shape == sb
    if op in ("add", "sub"):
        np.testing.assert_allclose(x.grad.numpy(), np.full(sa, np.prod(out_shape) / max(
            np.prod(sa), 1)))
    if op == "mul":  # d sum(a*b) / da = b summed over a's broadcast dims
        expected_grad = np.broadcast_to(b, out_shape).copy()
        lead = len(out_shape) - len(sa)
        expected_grad = expected_grad.sum(axis=tuple(range(lead)))
        axes = tuple(i for i, n in enumerate(sa) if n == 1 and expected_grad.shape[i] != 1)
        expected_grad = expected_grad.sum(axis=axes, keepdims=True).reshape(sa)
        np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=1e-12, atol=1e-12)


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1,
                         max_size=len(shape)))
    negate = draw(st.booleans())
    return shape, tuple(d - len(shape) if negate else d for d in dims)


@SETTINGS
@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")
@given(case=shape_and_dims(), keepdim=st.booleans(),
       op=st.sampled_from(["sum", "mean", "amax", "amin", "var"]), seed=st.integers(0, 99))
def test_reductions_over_random_dims(case, keepdim, op, seed):
    shape, dims = case
    a = _array(shape, seed)
    x = tl.tensor(a, requires_grad=True)
    np_op = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min,
             "var": lambda v, axis, keepdims: np.var(v, axis=axis, keepdims=keepdims,
                                                      ddof=1)}[op]
    with np.errstate(all="ignore"):  # var of one element is nan (n - 1 = 0), as in numpy
        expected = np_op(a, axis=dims, keepdims=keepdim)
        out = getattr(x, op)(dims, keepdim=keepdim)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
        out.sum().backward()
    assert x.grad.shape == shape


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), seed=st.integers(0, 99))
def test_reshape_permute_roundtrip_gradient_is_identity(shape, seed):
    a = _array(shape, seed)
    x = tl.tensor(a, requires_grad=True)
    perm = tuple(np.random.default_rng(seed).permutation(len(shape)))
    y = x.permute(*perm).reshape(-1)
    np.testing.assert_array_equal(y.numpy(), a.transpose(perm).reshape(-1))
    w = np.arange(y.shape[0], dtype=np.float64)
    (y * tl.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.reshape(a.transpose(perm).shape)
                                  .transpose(np.argsort(perm)))


@settings(max_examples=40, deadline=None)
@given(lead=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3),
       m=st.integers(1, 70), k=st.sampled_from([0, 1, 5, 256, 800]),
       n=st.sampled_from([1, 10, 128, 300]), transposed=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 99))
def test_a_stack_times_a_matrix_matches_numpy_with_its_gradients(lead, m, k, n, transposed,
                                                                 dtype, seed):
    """x @ W.T as a layer runs it: the numpy backend computes wide float32 products
    transposed and a stack as one product of all its rows; neither may change a value
    beyond rounding, a shape or a gradient."""
    x0 = _array(lead + (m, k), seed).astype(dtype)
    w0 = _array((n, k), seed + 1).astype(dtype)
    x, w = tl.tensor(x0, requires_grad=True), tl.tensor(w0, requires_grad=True)
    out = x @ (w.T if transposed else tl.tensor(np.ascontiguousarray(w0.T)))
    expected = x0.astype(np.float64) @ w0.T.astype(np.float64)
    assert out.shape == expected.shape and out.dtype == dtype and out.is_contiguous()
    tol = 1e-4 * max(k, 1) ** 0.5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out.numpy(), expected, rtol=tol, atol=tol)
    g = _array(out.shape, seed + 2).astype(dtype)
    out.backward(tl.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g.astype(np.float64) @ w0.astype(np.float64),
                               rtol=tol, atol=tol)
    if transposed:
        count = int(np.prod(lead + (m,)))  # NOTE: not -1, as k may be 0
        rows = g.reshape(count, n).astype(np.float64)
        np.testing.assert_allclose(w.grad.numpy(), rows.T @ x0.reshape(count, k), rtol=tol,
                                   atol=tol)
