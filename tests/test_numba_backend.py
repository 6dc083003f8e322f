"""Tests for the numba backend: fused kernels against the numpy reference, dtypes, fused
reductions, the transcendental error bound, dropout, fused optimizer steps, the kernel cache.

Every kernel compiled here lands in the disk cache, so a second run compiles nothing; the
cases are chosen to need few distinct kernels. The whole op / nn suite runs under this
backend with `TINYGRAD_LITE_BACKEND=numba python -m pytest` (add
`TINYGRAD_LITE_NUMBA_SMALL=0` to send even tiny arrays through kernels).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim
from tinygrad_lite.backend import codegen, lazy, numba_backend
from tinygrad_lite.backend.lazy import Lazy
from tinygrad_lite.backend.numpy_backend import NumpyBackend

REPO = Path(__file__).resolve().parents[1]
F32, F64 = np.float32, np.float64


@pytest.fixture
def nb():
    """The numba backend with every op, however small, going through kernels."""
    previous = tl.get_backend()
    tl.set_backend("numba")
    backend = tl.backend.active
    backend.small = 0
    yield backend
    tl.set_backend(previous)


def _rng():
    return np.random.default_rng(0)


def _check(fn, *arrays, rtol=None, nb):
    """fn(backend, *arrays) on numba (lazy, then one kernel) equals it on numpy, dtype too."""
    expected = fn(NumpyBackend, *arrays)
    lazy = fn(nb, *arrays)
    assert isinstance(lazy, Lazy), "the result should be pending, not computed eagerly"
    got = nb.realize(lazy)
    assert got.dtype == expected.dtype and lazy.dtype == expected.dtype
    assert got.shape == expected.shape == lazy.shape
    if rtol is None:
        rtol = {"f": 2e-6 if expected.dtype == F32 else 1e-13}.get(expected.dtype.kind, 0)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-3)
    return got


# --- fused elementwise kernels against the reference ---------------------------------------
def test_fused_bias_relu_sigmoid_chain_float32_matches_numpy(nb):
    r = _rng()
    a, b = r.standard_normal((2, 64, 33), dtype=F32), r.standard_normal((2, 64, 33), dtype=F32)
    c = r.standard_normal(33, dtype=F32)
    _check(lambda B, a, b, c: B.sigmoid(B.relu(B.add(B.mul(a, b), c))), a, b, c, nb=nb)


def test_float64_transcendental_chain_uses_libm_exactly(nb):
    x = _rng().uniform(0.1, 5, (50, 7))
    _check(lambda B, x: B.tanh(B.sub(B.log(B.exp(x)), B.sqrt(x))), x, nb=nb)


def test_non_contiguous_inputs_transposed_and_sliced(nb):
    r = _rng()
    a = r.standard_normal((40, 30), dtype=F32)
    b = r.standard_normal((30, 80), dtype=F32)[:, ::2]
    _check(lambda B, a, b: B.mul(B.add(a.T, b), 0.5), a, b, nb=nb)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_an_outer_product_matmul_runs_as_a_kernel_equal_to_numpy(nb, dtype):
    # NOTE: a batch-1 weight gradient, g.T @ x: a transposed column times a row
    r = _rng()
    g = r.standard_normal((1, 256)).astype(dtype)
    x = r.standard_normal((3, 784)).astype(dtype)[1:2, ::-1]
    calls = numba_backend.stats()["calls"]
    got = nb.matmul(g.T, x)
    assert type(got) is np.ndarray and numba_backend.stats()["calls"] == calls + 1
    np.testing.assert_array_equal(got, np.matmul(g.T, x))
    assert got.dtype == dtype and got.flags.c_contiguous


def test_a_broadcast_stride_0_operand_is_read_as_one_element(nb):
    # NOTE: a sum's gradient arrives as np.broadcast_to; indexed at full size, its stride-0
    # loads kept the sigmoid backward kernel from vectorising (10x slower)
    x = _rng().standard_normal((64, 32), dtype=F32)
    g = np.broadcast_to(np.float32(2), x.shape)
    row = np.broadcast_to(_rng().standard_normal((1, 32), dtype=F32), x.shape)
    node = nb.sigmoid_backward(nb.mul(x, row), g)
    key = lazy.plan(node, None)[0]
    indexed_by = [leaf[1] for leaf in key[2] if len(leaf) == 2]  # per array: which loops
    assert (False,) * len(key[1]) in indexed_by, "g should be read as one element"
    expected = NumpyBackend.sigmoid_backward(x * row, g)
    np.testing.assert_allclose(nb.realize(node), expected, rtol=2e-6)


def test_int_and_bool_dtypes_follow_numpy_promotion(nb):
    r = _rng()
    i = r.integers(-5, 5, (16, 9))
    j = r.integers(1, 5, 9)
    _check(lambda B, i, j: B.where(B.gt(i, j), B.sub(B.mul(i, j), 3), B.neg(i)), i, j, nb=nb)
    _check(lambda B, i, j: B.div(i, j), i, j, nb=nb)  # int / int is float64, as numpy
    m = _check(lambda B, i, j: B.mul(B.ge(i, 0), B.ne(j, 2)), i, j, nb=nb)
    assert m.dtype == np.bool_


def test_small_int_arithmetic_wraps_like_numpy(nb):
    a = np.array([100, -100, 7], np.int8)
    _check(lambda B, a: B.add(B.mul(a, a), a), a, nb=nb)


def test_zero_dim_and_size_zero_arrays(nb):
    x0 = np.array(2.5, F32)
    _check(lambda B, x: B.relu(B.sub(x, 1.0)), x0, nb=nb)
    empty = np.ones((0, 4), F32)
    _check(lambda B, x: B.relu(B.sub(x, 1.0)), empty, nb=nb)


def test_backward_primitives_and_casts(nb):
    r = _rng()
    y = r.uniform(0.01, 0.99, (20, 10)).astype(F32)
    g = r.standard_normal((20, 10), dtype=F32)
    x = r.standard_normal((20, 10), dtype=F32)
    relu_out = np.maximum(x, 0)
    relu_out[0, :3] = np.nan  # a nan input passes its gradient, as in PyTorch
    _check(lambda B, y, g, x: B.add(B.add(B.sigmoid_backward(y, g), B.tanh_backward(y, g)),
                                    B.relu_backward(x, g)), y, g, relu_out, nb=nb)
    _check(lambda B, x: B.cast(B.gt(x, 0), np.dtype(F64)), x, nb=nb)


def test_maximum_minimum_sign_abs_propagate_nan_like_numpy(nb):
    a = np.array([1.0, np.nan, -2.0, 0.0, -0.0, np.inf, 3.0], F32)
    b = np.array([np.nan, 1.0, -3.0, -0.0, 0.0, 1.0, 3.0], F32)
    _check(lambda B, a, b: B.add(B.mul(B.maximum(a, b), B.minimum(a, b)),
                                 B.mul(B.sign(a), B.abs(b))), a, b, nb=nb)


# --- the lazy graph ---------------------------------------------------------------------------
def test_elementwise_ops_stay_pending_and_shapes_dtypes_are_numpy_s(nb):
    a = np.ones((3, 1), F32)
    b = np.ones(4, F32)
    y = nb.add(nb.mul(a, b), 2)
    assert isinstance(y, Lazy) and y.value is None
    assert (y.shape, y.ndim, y.dtype) == ((3, 4), 2, np.dtype(F32))
    assert nb.gt(y, 1.5).dtype == np.bool_
    assert nb.add(np.ones(3, np.int64), 0.5).dtype == F64  # NEP 50: the float scalar widens


def test_small_outputs_run_eagerly_in_numpy():
    previous = tl.get_backend()
    tl.set_backend("numba")
    try:
        B = tl.backend.active
        B.small = type(B).small  # NOTE: the default, whatever TINYGRAD_LITE_NUMBA_SMALL says
        assert type(B.add(np.ones(10, F32), 1)) is np.ndarray
        big = np.ones(B.small, F32)
        assert isinstance(B.add(big, 1), Lazy)
    finally:
        tl.set_backend(previous)


def test_shared_node_is_computed_once_and_long_chains_stay_bounded(nb):
    a = _rng().standard_normal(50, dtype=F32)
    y = nb.mul(a, 2.0)
    z = nb.add(nb.mul(y, y), y)  # y used three times: one local variable in the kernel
    np.testing.assert_allclose(nb.realize(z), (a * 2) * (a * 2) + a * 2, rtol=1e-6)
    x = a
    for _ in range(64):  # each step uses x twice: a tree of 2**64 leaves without the guard
        x = nb.mul(nb.add(x, x), 0.5)
    assert x.count <= nb.max_nodes
    np.testing.assert_array_equal(nb.realize(x), a)


def test_pending_arrays_work_with_numpy_operators_in_a_users_function(nb):
    class Cube(tl.autograd.Function):
        def forward(self, a):
            self.save_for_backward(a)
            return a ** 3

        def backward(self, grad):
            (a,) = self.saved
            return grad * 3 * a ** 2 + np.zeros_like(a)  # plain numpy on backend arrays

    x = tl.tensor(np.linspace(-1, 1, 7), requires_grad=True)
    y = Cube.apply(x * 1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.linspace(-1, 1, 7) ** 2)
    lazy = nb.mul(np.arange(4.0), 2.0)
    assert lazy.astype(np.int64).tolist() == [0, 2, 4, 6] and lazy[1] == 2.0 and len(lazy) == 4


def test_realized_node_keeps_its_array_and_drops_its_inputs(nb):
    y = nb.exp(np.zeros(8, F32))
    first = y.realize()
    assert y.realize() is first and y.srcs == ()
    np.testing.assert_array_equal(first, np.ones(8, F32))


def test_a_realized_graph_is_freed_without_the_cyclic_gc(nb):
    import gc
    import weakref

    gc.disable()  # NOTE: a reference cycle kept each graph (and its arrays) until a gc pass
    try:
        y = nb.relu(nb.add(np.ones(100, F32), 1.0))
        alive = weakref.ref(y)
        nb.realize(y)
        del y
        assert alive() is None
    finally:
        gc.enable()


def test_in_place_write_runs_pending_reads_first(nb):
    x = tl.tensor(np.arange(6, dtype=F32))
    y = x * 2  # pending: reads x's array
    with tl.no_grad():
        x.add_(100)
    x[0] = -1
    np.testing.assert_array_equal(y.numpy(), np.arange(6, dtype=F32) * 2)


def test_in_place_write_after_a_read_source_was_realized(nb):
    a = tl.tensor(np.arange(6, dtype=F32))
    s = a * 2
    n = s + 1  # pending, reads the pending s
    with tl.no_grad():
        tl.tensor(np.zeros(3, F32)).add_(1)  # an unrelated write indexes the readers
    s.numpy()  # now n reads s's array
    s[:] = 0  # NOTE: builds no node: only the realization tells the index it is stale
    np.testing.assert_array_equal(n.numpy(), np.arange(6, dtype=F32) * 2 + 1)


# --- fused reductions -----------------------------------------------------------------------
@pytest.mark.parametrize("kind, axis", [("sum", -1), ("sum", None), ("sum", 0), ("max", -1),
                                        ("min", None)])
def test_reduction_fused_into_the_chain(nb, kind, axis):
    r = _rng()
    a = r.standard_normal((37, 19), dtype=F32)
    b = r.standard_normal(19, dtype=F32)
    expected = getattr(np, kind)(np.exp(a) * b, axis=axis, keepdims=True)
    calls = codegen.stats()["calls"]
    got = getattr(nb, kind)(nb.mul(nb.exp(a), b), axis=axis, keepdims=True)
    assert codegen.stats()["calls"] == calls + 1, "one kernel: the chain and its reduction"
    assert got.dtype == F32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=3e-6, atol=1e-5)


def test_reduction_over_middle_axis_falls_back_to_numpy(nb):
    a = np.arange(24, dtype=F64).reshape(2, 3, 4)
    np.testing.assert_allclose(nb.sum(nb.mul(a, 2.0), axis=1), (a * 2).sum(1))


def test_logsumexp_softmax_cross_entropy_through_tensors(nb):
    x = tl.tensor(_rng().standard_normal((64, 10), dtype=F32) * 30, requires_grad=True)
    y = tl.tensor(_rng().integers(0, 10, 64))
    loss = nn.functional.cross_entropy(x * 1.5, y)
    loss.backward()
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x.numpy(), requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt * 1.5, torch.tensor(y.numpy()))
    lt.backward()
    assert loss.dtype == tl.float32 and x.grad.dtype == tl.float32
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("n, c", [(1, 1), (1, 10), (37, 10), (5, 1000)])
def test_cross_entropy_kernels_match_the_numpy_reference(nb, dtype, n, c):
    """One pass per row each way (loss_kernels.py) gives numpy's log-probabilities, losses and
    gradient, within 4 eps of the larger of the value and 1 (the sums add in another order)."""
    rng = _rng()
    x = (rng.standard_normal((n, c)) * 20).astype(dtype)
    x[0, 0] = 1e4 if c > 1 else x[0, 0]          # one extreme logit: no overflow
    labels = rng.integers(0, c, n)
    expected = NumpyBackend.cross_entropy(x, labels)
    calls = codegen.stats()["calls"]
    with np.errstate(all="raise"):
        got = nb.cross_entropy(x, labels)
        for g in (np.array(0.5, dtype), rng.standard_normal(n).astype(dtype)):
            grads = (nb.cross_entropy_backward(got[0], labels, g),
                     NumpyBackend.cross_entropy_backward(expected[0], labels, g))
            _assert_within_eps(*grads)
    assert codegen.stats()["calls"] == calls + 3  # kernels, not numpy's fallback
    for a, b in zip(got, expected):
        _assert_within_eps(a, b)


def _assert_within_eps(a: np.ndarray, b: np.ndarray, eps: float = 4) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    tol = eps * np.finfo(a.dtype).eps * np.maximum(np.abs(b), 1)
    assert np.all(np.abs(a - b) <= tol), np.max(np.abs(a - b) / tol)


def test_cross_entropy_kernel_propagates_nan_and_inf_like_numpy(nb):
    x = np.array([[np.nan, 0, 1], [np.inf, 0, 1], [-np.inf, 0, 1], [-np.inf] * 3], F32)
    labels = np.array([1, 1, 1, 0])
    with np.errstate(invalid="ignore"):
        expected = NumpyBackend.cross_entropy(x, labels)
        got = nb.cross_entropy(x, labels)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-6)


# --- the float32 transcendentals --------------------------------------------------------------
def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 units in the last place (both nan or equal counts as 0)."""
    ia = a.view(np.int32).astype(np.int64)
    ib = b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, np.int64(-2**31) - ia, ia)  # order the negatives below the positives
    ib = np.where(ib < 0, np.int64(-2**31) - ib, ib)
    d = np.abs(ia - ib)
    d[(a == b) | (np.isnan(a) & np.isnan(b))] = 0
    return d


@pytest.mark.parametrize("op", ["exp", "log", "tanh", "sigmoid"])
def test_float32_transcendentals_within_3_ulp_of_numpy_over_wide_ranges(nb, op):
    r = _rng()
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, 1.2e-38, 3.4e38,
               -3.4e38, 88.72, 88.73, -87.3, -103.9, -104.0, 1e4, -1e4, 9.1, -9.1, 0.25]
    x = np.concatenate([r.uniform(-1e4, 1e4, 20000), r.uniform(-110, 110, 20000),
                        r.uniform(-1, 1, 20000), r.standard_normal(20000) * 1e-6,
                        np.exp(r.uniform(-103, 88, 20000)), special]).astype(F32)
    with np.errstate(all="ignore"):
        expected = getattr(NumpyBackend, op)(x)
        got = nb.realize(getattr(nb, op)(x))
    assert got.dtype == F32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert _ulps(got, expected).max() <= 3


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("op", ["erf", "erfc"])
def test_erf_kernels_equal_the_numpy_backends_libm_bit_for_bit(nb, dtype, op):
    backend = nb
    backend.small = type(nb).small  # NOTE: the default: erf fuses from 512 elements anyway
    x = (_rng().standard_normal(4096) * 4).astype(dtype)
    x[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    pending = getattr(backend, op)(x)
    assert isinstance(pending, Lazy), "erf costs numpy ~60 ns an element: a kernel from 512"
    got, expected = backend.realize(pending), getattr(NumpyBackend, op)(x)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
    assert not isinstance(getattr(backend, op)(x[:100]), Lazy)


def test_float32_transcendentals_compile_to_simd_code():
    """A scalar libm call or an int conversion AVX2 lacks would stop LLVM vectorising the
    loop (it did once: `math.floor` returns an int in numba); packed ops prove it did not."""
    import re

    from numba import njit

    from tinygrad_lite.backend import vecmath

    @njit(error_model="numpy")  # NOTE: no cache=True: numba would not see vecmath change
    def kernel(out, x):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = (vecmath.exp_f32(v) + vecmath.log_f32(v) + vecmath.tanh_f32(v)
                      + vecmath.sigmoid_f32(v))

    x = np.ones(8, F32)
    kernel(np.empty_like(x), x)
    asm = "\n".join(kernel.inspect_asm().values())
    packed = re.findall(r"\bv\w*p[sd]\s+%[xyz]mm", asm)
    scalar_to_int = len(re.findall(r"cvtts[sd]2si", asm))  # 27 with math.floor, 3 without
    assert len(packed) > 50 and scalar_to_int < 10, "the transcendental loop is scalar"


# --- dropout ---------------------------------------------------------------------------------
def test_dropout_mask_is_seeded_hashed_and_recomputed_identically(nb):
    tl.manual_seed(7)
    m1 = nb.dropout_mask((300, 200), 0.3)
    tl.manual_seed(7)
    m2 = nb.dropout_mask((300, 200), 0.3)
    x = np.ones((300, 200), F32)
    out = nb.realize(nb.dropout_apply(x, m1, 1 / 0.7))  # the mask is recomputed in here
    mask = nb.realize(m2)
    assert mask.dtype == np.bool_ and abs(mask.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(mask, numba_backend.reference(m1))
    np.testing.assert_allclose(out, mask * F32(1 / 0.7))
    assert out.dtype == F32


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_hashed_dropout_masks_look_independent(nb, p):
    """The hash's keep bits: the right rate, and no correlation between neighbours in a row
    or a column, between one mask and the next, or with any bit of the element's index
    (each within 4.5 sigma of zero: a failure is a real pattern, not chance)."""
    tl.manual_seed(11)
    rows, cols = 512, 256
    first, second = (nb.realize(nb.dropout_mask((rows, cols), p)).astype(F64)
                     for _ in range(2))
    n = first.size
    assert abs(first.mean() - (1 - p)) < 4.5 * np.sqrt(p * (1 - p) / n)

    def correlation(a, b):
        a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
        return (a @ b) / np.sqrt((a @ a) * (b @ b)), 4.5 / np.sqrt(a.size)

    pairs = {"row neighbours": (first[:, 1:], first[:, :-1]),
             "column neighbours": (first[1:], first[:-1]),
             "successive masks": (first, second)}
    index = np.arange(n).reshape(rows, cols)
    for bit in range(int(np.log2(n))):
        pairs[f"index bit {bit}"] = (first, (index >> bit) & 1)
    for name, (a, b) in pairs.items():
        r, bound = correlation(a, b)
        assert abs(r) < bound, f"{name}: correlation {r:.4f} (bound {bound:.4f})"


def test_dropout_layer_gradient_uses_the_forward_mask(nb):
    tl.manual_seed(3)
    x = tl.randn(64, 80, requires_grad=True)
    y = nn.functional.dropout(x, 0.5, training=True)
    y.sum().backward()
    kept = y.numpy() != 0
    np.testing.assert_array_equal(x.grad.numpy(), kept * F32(2))


# --- recurrent layers: every step's cell as a kernel -----------------------------------------
CELL_SHAPES = [(5, 3), (1, 1), (0, 4), (32, 64)]  # (N, H)


def _layer_case(kind, n, hs, dtype, scale=1.0):
    """`recurrent`'s arguments for 3 steps of `kind` (LSTM | GRU) in reverse, and the
    gradients of its every h and (LSTM) its last c; the input products are a transposed view
    (the kernels are given any layout)."""
    r = _rng()
    gates = 4 if kind == "LSTM" else 3
    gi = (r.standard_normal((3, gates * hs, n)) * scale).astype(dtype).transpose(0, 2, 1)
    # NOTE: weights of PyTorch's init scale, so a step's few ulp are not magnified by the next
    w_hh_t = (r.uniform(-1, 1, (hs, gates * hs)) * scale / np.sqrt(hs)).astype(dtype)
    b_hh = (r.standard_normal(gates * hs) * scale).astype(dtype)
    states = [(r.standard_normal((n, hs)) * scale).astype(dtype)
              for _ in range(2 if kind == "LSTM" else 1)]
    grad = r.standard_normal((3, n, hs)).astype(dtype)
    grad_c = r.standard_normal((n, hs)).astype(dtype) if kind == "LSTM" else None
    return (kind, gi, w_hh_t, b_hh, states, True), (kind, grad, grad_c, w_hh_t.T, True)


def _layer_both_ways(b, args, grad_args):
    """`recurrent` on `backend` b, then `recurrent_backward` from what it kept."""
    out = b.recurrent(*args)
    kept = out[1 + len(args[4]):]
    return out, b.recurrent_backward(*grad_args, *kept)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype, rtol", [(F32, 2e-6), (F64, 1e-14)])
@pytest.mark.parametrize("n, hs", CELL_SHAPES)
def test_cell_kernels_equal_the_numpy_cells(nb, kind, dtype, rtol, n, hs):
    """Both ways, every output, kept array and gradient: float32 within the vectorised
    sigmoid's and tanh's bound (a few ulp, carried through a product or two), float64 to
    rounding."""
    args, grad_args = _layer_case(kind, n, hs, dtype)
    got = [a for part in _layer_both_ways(nb, args, grad_args) for a in part]
    want = [a for part in _layer_both_ways(NumpyBackend, args, grad_args) for a in part]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_cells_on_saturating_inputs_are_finite_and_silent(backend, kind):
    """Gates of +-1e4 saturate every sigmoid and tanh: outputs and gradients finite, no
    numpy warning (the stable sigmoid; denormal products are not errors)."""
    b = tl.backend.numba_backend.NumbaBackend() if backend == "numba" else NumpyBackend
    for dtype in (F32, F64):
        args, grad_args = _layer_case(kind, 8, 6, dtype, scale=1e4)
        with np.errstate(all="raise"):
            out, grads = _layer_both_ways(b, args, grad_args)
        assert all(np.isfinite(a).all() for a in (*out, *grads))


def test_lstm_and_gru_layers_train_alike_on_both_backends():
    """A layer's forward and every parameter's gradient, kernels against numpy's cells."""
    results = {}
    for backend in ("numba", "numpy"):
        previous = tl.get_backend()
        tl.set_backend(backend)
        try:
            tl.manual_seed(0)
            layers = [nn.LSTM(3, 5, num_layers=2, bidirectional=True), nn.GRU(3, 5)]
            x = tl.tensor(_rng().standard_normal((7, 4, 3)).astype(F32))
            results[backend] = []
            for layer in layers:
                out = layer(x)[0]
                (out * out).sum().backward()
                results[backend] += [out.numpy()] + [p.grad.numpy() for p in layer.parameters()]
        finally:
            tl.set_backend(previous)
    for got, want in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# --- fused optimizer steps ---------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.1),
    lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=1e-2),
], ids=["sgd-nesterov-wd", "sgd-dampening", "adam-amsgrad-wd", "adamw"])
def test_fused_optimizer_steps_equal_the_numpy_rules_bit_for_bit(nb, make):
    r = _rng()
    start = r.standard_normal((30, 20), dtype=F32)
    grads = [r.standard_normal((30, 20), dtype=F32) for _ in range(3)]
    results = []
    for backend in ("numpy", "numba"):
        tl.set_backend(backend)
        tl.backend.active.small = 0  # NOTE: the kernels, even for this small parameter
        p = nn.Parameter(tl.tensor(start.copy()))
        opt = make([p])
        for g in grads:
            p.grad = tl.tensor(g)
            opt.step()
        results.append(p.numpy())
    np.testing.assert_array_equal(results[0], results[1])


# --- index kernels: accumulating writes and argmax --------------------------------------------
def _add_at(shape, index, g):
    out = np.zeros(shape, g.dtype)
    np.add.at(out, index, g)
    return out


_WINDOWS = np.array([[0, 1, 2], [1, 2, 3], [4, 5, 0], [5, 5, -1]])  # repeats, a negative


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape, index, g_shape", [
    ((2, 3, 6), (slice(None), slice(None), _WINDOWS), (2, 3, 4, 3)),  # conv / pool windows
    ((5, 7, 6), np.array([4, 0, 4, 4, 1]), (5, 7, 6)),  # embedding rows
    ((5, 7, 6), (slice(None), np.array([[6, 0], [6, -7]])), (5, 2, 2, 6)),
], ids=["windows", "rows", "middle-axis"])
def test_index_add_kernel_equals_np_add_at_bit_for_bit(nb, dtype, shape, index, g_shape):
    g = _rng().standard_normal(g_shape).astype(dtype) * 1e3
    expected = _add_at(shape, index, g)
    calls = numba_backend.stats()["calls"]
    np.testing.assert_array_equal(nb.index_add(shape, dtype, index, g, False), expected)
    assert numba_backend.stats()["calls"] == calls + 1, "the kernel should have run"
    # NOTE: a non-contiguous gradient (a transpose's) gives the same
    g_t = np.ascontiguousarray(np.swapaxes(g, 0, -1)).swapaxes(0, -1)
    np.testing.assert_array_equal(nb.index_add(shape, dtype, index, g_t, False), expected)


def test_index_add_out_of_range_raises_and_other_indices_use_numpy(nb):
    g = np.ones((5, 1, 6), F32)
    with pytest.raises(IndexError):
        nb.index_add((5, 7, 6), F32, (slice(None), np.array([7])), g, False)
    index = (np.array([0, 0]), slice(None), np.array([1, 1]))  # two arrays: numpy's add.at
    g2 = np.ones((2, 7), F32)
    np.testing.assert_array_equal(nb.index_add((5, 7, 6), F32, index, g2, False),
                                  _add_at((5, 7, 6), index, g2))


def test_conv_pool_and_embedding_gradients_equal_the_numpy_backend():
    r = _rng()
    x0, ids = r.standard_normal((2, 3, 9, 9), dtype=F32), r.integers(0, 11, (4, 5))
    grads = []
    for backend in ("numpy", "numba"):
        tl.set_backend(backend)
        tl.backend.active.small = 0
        tl.manual_seed(0)
        conv, emb = nn.Conv2d(3, 4, 3, padding=1), nn.Embedding(11, 6)
        x = tl.tensor(x0, requires_grad=True)
        (F.max_pool2d(conv(x).relu(), 2).sum() + emb(tl.tensor(ids)).pow(2).sum()).backward()
        grads.append([t.grad.numpy() for t in (x, conv.weight, emb.weight)])
    tl.set_backend("numba")
    for numpy_grad, numba_grad in zip(*grads):
        np.testing.assert_array_equal(numba_grad, numpy_grad)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin_kernel_picks_as_numpy_first_tie_and_first_nan(nb, dtype, keepdims):
    x = _rng().integers(0, 3, (6, 50, 4)).astype(dtype)  # NOTE: many ties
    x[0, 0] = [1, np.nan, 2, np.nan]
    x[0, 1] = [np.nan, np.nan, 0, 0]
    x[0, 2] = [-np.inf] * 4
    x[0, 3] = [np.inf, 1, np.inf, 0]
    for pick in ("argmax", "argmin"):
        for data, axis, kernel in ((x, -1, 1), (x, 2, 1), (x[:, ::3], -1, 1), (x, 1, 0)):
            calls = numba_backend.stats()["calls"]
            got = getattr(nb, pick)(data, axis=axis, keepdims=keepdims)
            assert numba_backend.stats()["calls"] == calls + kernel
            np.testing.assert_array_equal(
                got, getattr(np, pick)(data, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_window_argmax_kernel_picks_as_numpy_first_tie_and_first_nan(nb, dtype):
    from tinygrad_lite.nn.functional import _window_index

    index = _window_index((6, 7), (3, 2), (2, 1), (1, 2), (2, 5))  # overlapping, dilated
    x = _rng().integers(0, 3, (3, 4, 42)).astype(dtype)  # NOTE: many ties
    x[0, 0, index[0]] = [1, np.nan, 2, np.nan, 0, 5]
    x[0, 1, index[1]] = -np.inf
    x[1, 2, index[2]] = [np.nan] * 6
    for data in (x, x[:, ::2]):  # the second is not contiguous
        calls = numba_backend.stats()["calls"]
        got = nb.window_argmax(data, index)
        assert numba_backend.stats()["calls"] == calls + 1
        expected = NumpyBackend.window_argmax(data, index)
        assert got.dtype == expected.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
        # positions in the array flattened: the picked values are each window's max
        picked = data.reshape(-1)[got]
        windows = np.take(data, index, axis=-1)
        np.testing.assert_array_equal(picked, np.take_along_axis(
            windows, windows.argmax(-1)[..., None], -1)[..., 0])
    assert nb.window_argmax(np.zeros((0, 42), dtype), index).shape == (0, 10)


def test_argmax_of_0_d_and_empty_arrays_answers_or_raises_as_numpy(nb):
    np.testing.assert_array_equal(nb.argmax(np.array(3.0, F32), axis=0), 0)
    np.testing.assert_array_equal(nb.argmin(np.zeros((0, 3), F32), axis=-1), np.zeros(0))
    with pytest.raises(ValueError):
        nb.argmax(np.zeros((3, 0), F32), axis=-1)


def _train(backend: str, small: int | None, X: np.ndarray, y: np.ndarray, widths: tuple):
    """Four SGD-momentum steps of a Linear/ReLU stack (Tanh before the last layer): the losses,
    the first layer's gradient at every step (kept alive across steps) and the weights."""
    tl.set_backend(backend)
    if small is not None:
        tl.backend.active.small = small
    tl.manual_seed(0)
    layers = []
    for n_in, n_out in zip(widths, widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers[-3] = nn.Tanh()
    model = nn.Sequential(*layers[:-1])
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses, grads = [], []
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tl.tensor(X)), tl.tensor(y))
        loss.backward()
        grads.append(model[0].weight.grad)
        opt.step()
        losses.append(loss.item())
    assert model[0].weight.dtype == tl.float32
    return losses, [g.numpy() for g in grads], model[-1].weight.numpy()


@pytest.mark.parametrize("small, n, widths", [(0, 256, (20, 64, 5)),
                                              (None, 512, (96, 512, 96, 5))],
                         ids=["every-op-a-kernel", "default-threshold"])
def test_training_matches_the_numpy_backend_without_dropout(small, n, widths):
    r = _rng()
    X = r.standard_normal((n, widths[0]), dtype=F32)
    y = r.integers(0, widths[-1], n)
    previous = tl.get_backend()
    try:
        (l0, g0, w0), (l1, g1, w1) = (_train(b, s, X, y, widths)
                                      for b, s in (("numpy", None), ("numba", small)))
    finally:
        tl.set_backend(previous)
    np.testing.assert_allclose(l0, l1, rtol=1e-5)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w0, w1, rtol=1e-4, atol=1e-6)


# --- show_kernel ---------------------------------------------------------------------------------
def test_show_kernel_prints_the_fused_source(nb, capsys):
    a = tl.tensor(np.ones((4, 5), F32))
    t = (a * 2).relu()
    src = tl.debug.show_kernel(t)
    assert "def kernel(" in src and "mul, relu" in src and src in capsys.readouterr().out
    t.numpy()
    assert "no kernel" in tl.debug.show_kernel(t)


# --- the kernel cache ------------------------------------------------------------------------
_CHILD = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    import tinygrad_lite as tl
    from tinygrad_lite.backend import numba_backend
    tl.set_backend("numba")
    B = tl.backend.active
    B.small = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = B.realize(B.mul(B.add(np.arange(5.0), 1.0), np.arange(5.0)))
        out2 = B.realize(B.mul(B.add(np.arange(3.0), 2.0), np.arange(3.0)))
    assert (out == (np.arange(5.0) + 1) * np.arange(5.0)).all()
    assert (out2 == (np.arange(3.0) + 2) * np.arange(3.0)).all()
    print(json.dumps(dict(numba_backend.stats(), warnings=[str(w.message) for w in caught],
                          registries="numba.np.arraymath" in sys.modules)))
""")
# after a warm start, a new kernel and the user's own numba code (np.dot needs the registries
# and scipy's BLAS that loading from disk skipped) still compile
_CHILD_COMPILES = _CHILD + textwrap.dedent("""
    from numba import njit
    a = np.arange(6.0).reshape(2, 3)
    assert (njit(lambda x: np.dot(x, x.T))(a) == a @ a.T).all()
    assert (B.realize(B.sqrt(B.add(np.arange(4.0), 1.0))) == np.sqrt(np.arange(4.0) + 1)).all()
    print(json.dumps(numba_backend.stats()))
""")


def _child(cache: Path, code: str = _CHILD) -> dict:
    import json

    env = dict(os.environ, TINYGRAD_LITE_CACHE=str(cache), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_loads_kernels_from_disk_with_zero_compiles(tmp_path):
    first = _child(tmp_path)
    assert first["compiled"] == 1 and first["calls"] == 2 and not first["warnings"]
    second = _child(tmp_path)
    assert second["compiled"] == 0 and second["loaded_from_disk"] == 1
    assert list(tmp_path.glob("*/k_*.py")), "the kernel source is kept in the cache folder"


def test_loading_from_disk_skips_numbas_lowering_registries_and_compiles_still_work(tmp_path):
    _child(tmp_path)
    warm = _child(tmp_path)
    assert warm["loaded_from_disk"] == 1 and not warm["registries"], \
        "a cached kernel loads without numba's lowering registries (scipy.linalg: ~0.3 s)"
    after = _child(tmp_path, _CHILD_COMPILES)
    assert after["loaded_from_disk"] == 1 and after["compiled"] == 1


def test_unwritable_cache_folder_falls_back_to_memory_with_one_warning(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    report = _child(blocker / "cache")  # NOTE: works even as root, unlike chmod
    assert report["compiled"] == 1 and report["cache_folder"] is None
    assert len(report["warnings"]) == 1 and "kernel cache" in report["warnings"][0]


def test_realize_computes_a_pending_chain_and_returns_the_tensor(nb):
    a = tl.tensor(np.arange(6, dtype=F32).reshape(2, 3))
    t = (a * 2).relu()
    assert type(t._data) is not np.ndarray  # NOTE: still pending in the fusing backend
    assert t.realize() is t and type(t._data) is np.ndarray
    np.testing.assert_array_equal(t.numpy(), np.arange(6, dtype=F32).reshape(2, 3) * 2)


@pytest.mark.parametrize("dtype, big", [(F32, 3e5), (np.float64, 3e15)])
def test_softmax_of_a_pending_product_shifts_by_the_max_of_the_same_values(nb, dtype, big):
    """A fused `x * c - max` contracted to one multiply-add used the unrounded product, not
    the rounded one the max was taken of: a row's max came out far from 0 and softmax NaN."""
    x = np.tile(np.array([[big + 0.21875, 1.0]], dtype), (64, 1))
    with np.errstate(all="raise"):
        probs = F.softmax(tl.tensor(x) * 1e4, -1).numpy()
        logp = F.log_softmax(tl.tensor(x) * 1e4, -1).numpy()
        lse = (tl.tensor(x) * 1e4).logsumexp(-1).numpy()
    np.testing.assert_array_equal(probs, np.tile(np.array([1, 0], dtype), (64, 1)))
    assert (logp[:, 0] == 0).all() and np.isfinite(logp).all()
    np.testing.assert_array_equal(lse, (x * dtype(1e4)).astype(dtype).max(-1))


def test_a_float64_sum_kernel_keeps_the_overflow_and_nan_of_exp_and_log(nb):
    """fastmath's reassoc let LLVM fold log(exp(x)) to x and exp(log(x)) to x in float64."""
    x = tl.tensor(np.tile([[1e4, -5.0]], (64, 1)))
    with np.errstate(all="ignore"):
        assert np.isinf(x.exp().log().sum(-1).numpy()).all()
        assert np.isnan((-x).log().exp().sum(-1).numpy()).all()
