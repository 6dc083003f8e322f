"""PyTorch parity, third tensor audit: the in-place twins made from one table, PyTorch's other
spellings (greater, positive, hsplit, ...), and the composites added with them (cummax,
quantile, cov, scatter_reduce, the *_scatter family, special functions, more linalg).

Every differentiable op is checked by finite differences in float64 (without torch too) and,
when torch is installed, against torch's values and gradients in float32 and float64.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, torch

import tinygrad_lite as tl

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch for the comparison")
RNG = np.random.default_rng(0)


def _both(fn):
    """check_op's (fn, torch_fn) for `fn(lib, *tensors)`, written once for both libraries."""
    return (lambda *xs: fn(tl, *xs)), (lambda *xs: fn(torch, *xs))


def _index(lib, a):
    return lib.tensor(np.asarray(a))


SCATTER_INDEX = np.array([[0, 1, 0, 2], [2, 2, 0, 1]])
MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, True]])

# (name, shapes, fn(lib, *tensors), low, high)
DIFFERENTIABLE = [
    ("cummax", [(3, 4)], lambda L, x: x.cummax(1).values, -2, 2),
    ("cummin", [(3, 4)], lambda L, x: L.cummin(x, 0)[0], -2, 2),
    ("quantile_linear_dim", [(3, 5)], lambda L, x: L.quantile(x, 0.3, dim=1), -2, 2),
    ("quantile_q_tensor_keepdim", [(3, 5)], lambda L, x: x.quantile(
        L.tensor([0.1, 0.5, 0.95], dtype=x.dtype), dim=0, keepdim=True), -2, 2),
    ("quantile_all_midpoint", [(3, 5)], lambda L, x: x.quantile(
        0.4, interpolation="midpoint"), -2, 2),
    ("quantile_nearest", [(3, 5)], lambda L, x: x.quantile(
        0.6, dim=-1, interpolation="nearest"), -2, 2),
    ("cov", [(3, 5)], lambda L, x: L.cov(x), -2, 2),
    ("cov_correction0_fweights", [(2, 5)], lambda L, x: L.cov(
        x, correction=0, fweights=_index(L, [1, 2, 1, 3, 1])), -2, 2),
    ("cov_aweights", [(2, 5)], lambda L, x: L.cov(
        x, aweights=L.tensor([0.5, 1.0, 2.0, 1.0, 0.3], dtype=x.dtype)), -2, 2),
    ("corrcoef", [(3, 5)], lambda L, x: L.corrcoef(x), -2, 2),
    ("diag_embed", [(2, 3)], lambda L, x: L.diag_embed(x, 1, 0, 2), -2, 2),
    ("diagflat", [(2, 2)], lambda L, x: L.diagflat(x, -1), -2, 2),
    ("scatter_reduce_sum", [(2, 4), (2, 4)], lambda L, x, s: x.scatter_reduce(
        1, _index(L, SCATTER_INDEX), s, "sum", include_self=False), -2, 2),
    ("scatter_reduce_mean", [(2, 4), (2, 4)], lambda L, x, s: x.scatter_reduce(
        1, _index(L, SCATTER_INDEX), s, "mean"), -2, 2),
    ("scatter_reduce_amax", [(2, 4), (2, 4)], lambda L, x, s: x.scatter_reduce(
        1, _index(L, SCATTER_INDEX), s, "amax"), -2, 2),
    ("scatter_reduce_amin_without_self", [(2, 4), (2, 4)], lambda L, x, s: x.scatter_reduce(
        1, _index(L, SCATTER_INDEX), s, "amin", include_self=False), -2, 2),
    ("scatter_reduce_prod", [(2, 4), (2, 4)], lambda L, x, s: x.scatter_reduce(
        1, _index(L, SCATTER_INDEX), s, "prod"), 0.5, 2),
    ("index_reduce_amax", [(3, 4), (3, 4)], lambda L, x, s: x.index_reduce(
        0, _index(L, [0, 2, 0]), s, "amax"), -2, 2),
    ("index_copy", [(3, 4), (3, 2)], lambda L, x, s: x.index_copy(
        1, _index(L, [3, 0]), s), -2, 2),
    ("masked_scatter", [(3, 4), (3, 4)], lambda L, x, s: x.masked_scatter(
        L.tensor(MASK), s), -2, 2),
    ("select_scatter", [(3, 4), (3,)], lambda L, x, s: L.select_scatter(x, s, 1, 2), -2, 2),
    ("slice_scatter", [(3, 4), (3, 2)], lambda L, x, s: x.slice_scatter(s, 1, 0, 4, 2), -2, 2),
    ("diagonal_scatter", [(3, 4), (3,)], lambda L, x, s: x.diagonal_scatter(s, 1), -2, 2),
    ("renorm", [(3, 4)], lambda L, x: x.renorm(2, 0, 1.0), -2, 2),
    ("logaddexp2", [(3, 4), (4,)], lambda L, x, y: L.logaddexp2(x, y), -2, 2),
    ("ldexp", [(3, 4), (4,)], lambda L, x, y: L.ldexp(x, y), -2, 2),
    ("frexp_mantissa", [(3, 4)], lambda L, x: L.frexp(x).mantissa, -2, 2),
    ("lgamma", [(3, 4)], lambda L, x: x.lgamma(), 0.1, 4),
    ("digamma", [(3, 4)], lambda L, x: L.digamma(x), 0.1, 4),
    ("polygamma_1", [(3, 4)], lambda L, x: L.polygamma(1, x), 0.2, 4),
    ("mvlgamma", [(3, 4)], lambda L, x: x.mvlgamma(3), 1.2, 4),
    ("erfinv", [(3, 4)], lambda L, x: x.erfinv(), -0.95, 0.95),
    ("i0", [(3, 4)], lambda L, x: L.i0(x), -3, 3),
    ("take_along_dim", [(3, 4)], lambda L, x: L.take_along_dim(
        x, _index(L, [[0, 3]]), 1), -2, 2),
    ("sum_to_size", [(2, 3, 4)], lambda L, x: x.sum_to_size(3, 1), -2, 2),
    ("hardshrink", [(3, 4)], lambda L, x: x.hardshrink(0.7), -2, 2),
    ("prelu", [(3, 4), (1,)], lambda L, x, w: x.prelu(w), -2, 2),
    ("addmv", [(3,), (3, 4), (4,)], lambda L, x, m, v: L.addmv(x, m, v, beta=0.5, alpha=2),
     -2, 2),
    ("addr", [(3, 4), (3,), (4,)], lambda L, x, a, b: x.addr(a, b, alpha=3), -2, 2),
    ("addbmm", [(2, 2), (2, 2, 3), (2, 3, 2)], lambda L, x, a, b: L.addbmm(x, a, b), -2, 2),
    ("vdot_mv", [(3, 4), (4,)], lambda L, m, v: L.vdot(L.mv(m, v), L.mv(m, v)), -2, 2),
]


@pytest.mark.parametrize("name, shapes, fn, low, high", DIFFERENTIABLE,
                         ids=[case[0] for case in DIFFERENTIABLE])
def test_new_op_gradients_match_finite_differences_and_torch(name, shapes, fn, low, high):
    ours, theirs = _both(fn)
    check_op(shapes, ours, torch_fn=theirs, low=low, high=high)


WELL_CONDITIONED = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
LINALG = [
    ("inverse", lambda L, x: x.inverse()),
    ("det", lambda L, x: L.det(x)),
    ("logdet", lambda L, x: x.logdet()),
    ("slogdet", lambda L, x: L.slogdet(x)[1]),
    ("pinverse", lambda L, x: L.pinverse(x[:, :2])),
    ("linalg_pinv", lambda L, x: L.linalg.pinv(x[:2])),
    ("matrix_power", lambda L, x: x.matrix_power(3)),
    ("matrix_power_negative", lambda L, x: L.linalg.matrix_power(x, -2)),
    ("matrix_exp", lambda L, x: L.matrix_exp(x * 0.7)),
    ("cholesky", lambda L, x: L.linalg.cholesky(x @ x.mT + L.eye(3, dtype=x.dtype))),
    ("cholesky_upper", lambda L, x: L.linalg.cholesky(x @ x.mT, upper=True)),
    ("svdvals", lambda L, x: L.linalg.svdvals(x)),
    # sign-free functions of the factors (each factor's column signs are a convention)
    ("qr_tall", lambda L, x: L.linalg.qr(x[:, :2]).Q.abs() + L.linalg.qr(x[:, :2]).R.abs().sum()),
    ("qr_wide", lambda L, x: L.linalg.qr(x[:2]).R.abs().sum(0)
     + L.linalg.qr(x[:2]).Q.abs().sum()),
    ("svd_factors", lambda L, x: L.linalg.svd(x, full_matrices=False).U.abs()
     + L.linalg.svd(x, full_matrices=False).Vh.abs()),
    ("svd_legacy", lambda L, x: x[:, :2].svd().V.abs().sum() + x.svd().S),
    ("pinv_hermitian", lambda L, x: L.linalg.pinv(x + x.mT, hermitian=True)),
]


@pytest.mark.parametrize("name, fn", LINALG, ids=[case[0] for case in LINALG])
def test_linalg_gradients_match_finite_differences_and_torch(name, fn):
    _check_linalg(fn, WELL_CONDITIONED, weighted=False)


def _check_linalg(fn, data, weighted: bool) -> None:
    """gradcheck of fn at `data` (float64), then its values and the gradients of its sum
    (each element weighted by its flat position when `weighted`) against torch's."""
    ours, theirs = _both(fn)
    x = tl.tensor(data, dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(ours, [x])
    if torch is None:
        return
    xt = torch.tensor(data, requires_grad=True)
    out, out_t = ours(x), theirs(xt)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    x.grad = None
    weights = np.arange(out.numel()).reshape(out.shape) if weighted else np.ones(out.shape)
    (out * tl.tensor(weights, dtype=tl.float64)).sum().backward()
    (out_t * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_matrix_power_zero_is_the_identity_with_a_zero_gradient():
    x = tl.tensor(WELL_CONDITIONED, requires_grad=True)
    out = x.matrix_power(0)
    np.testing.assert_array_equal(out.numpy(), np.eye(3))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))


def test_qr_and_svd_forward_and_the_full_svds_gradient_ignores_us_extra_columns():
    a = tl.tensor(RNG.standard_normal((4, 3)), dtype=tl.float64, requires_grad=True)
    q, r = tl.linalg.qr(a)
    np.testing.assert_allclose((q @ r).numpy(), a.numpy(), atol=1e-12)
    u, s, vh = tl.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose((u * s @ vh).numpy(), a.numpy(), atol=1e-12)
    weights = RNG.standard_normal((4, 4))

    def loss(u, vh, L):  # NOTE: squares: the same whatever signs LAPACK gives the vectors
        return (u * u * L.tensor(weights[:, :u.shape[1]])).sum() + (vh * vh).sum(0)[0]

    loss(u, vh, tl).backward()
    thin = a.grad.numpy().copy()
    a.grad = None
    u, s, vh = tl.linalg.svd(a)  # NOTE: U's 4th column is not unique: PyTorch ignores it
    (loss(u[:, :3], vh, tl) + u[:, 3].sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), thin, atol=1e-12)
    if torch is not None:
        t = torch.tensor(a.numpy(), requires_grad=True)
        u, _, vh = torch.linalg.svd(t)
        (loss(u[:, :3], vh, torch) + u[:, 3].sum()).backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10)
    assert tl.linalg.matrix_rank(tl.tensor([[1.0, 2.0], [2.0, 4.0]])).item() == 1


# --- in-place twins ---------------------------------------------------------------------------
UNARY_TWINS = ["abs_", "absolute_", "acos_", "arccos_", "asin_", "arcsin_", "atan_", "arctan_",
               "asinh_", "arcsinh_", "atanh_", "arctanh_", "cos_", "cosh_", "sin_", "sinh_",
               "tan_", "tanh_", "sigmoid_", "relu_", "exp_", "exp2_", "expm1_", "log_",
               "log10_", "log1p_", "log2_", "sqrt_", "rsqrt_", "square_", "reciprocal_", "neg_",
               "negative_", "ceil_", "floor_", "round_", "trunc_", "fix_", "frac_", "erf_",
               "erfc_", "sgn_", "deg2rad_", "rad2deg_", "sinc_", "logit_", "nan_to_num_",
               "lgamma_", "digamma_", "erfinv_", "i0_"]


@pytest.mark.parametrize("name", UNARY_TWINS)
def test_unary_in_place_twin_writes_the_out_of_place_result(name):
    data = np.array([[0.1, 0.35, 0.5], [0.65, 0.8, 0.9]], dtype=np.float32)
    x = tl.tensor(data)
    expected = getattr(tl.tensor(data), name[:-1])().numpy()
    assert getattr(x, name)() is x
    assert x.dtype == tl.float32
    np.testing.assert_array_equal(x.numpy(), expected)
    # in the graph: the gradient is the out-of-place op's
    w = tl.tensor(data, requires_grad=True)
    y = w * 1
    getattr(y, name)()
    (y * y).sum().backward()
    w2 = tl.tensor(data, requires_grad=True)
    (getattr(w2 * 1, name[:-1])() ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-6)
    if torch is not None:
        xt = torch.tensor(data)
        getattr(xt, name)()
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, args", [
    ("eq_", (0.5,)), ("ne_", (0.5,)), ("lt_", (0.5,)), ("le_", (0.5,)), ("gt_", (0.5,)),
    ("ge_", (0.5,)), ("greater_", (0.5,)), ("greater_equal_", (0.5,)), ("less_", (0.5,)),
    ("less_equal_", (0.5,)), ("not_equal_", (0.5,)), ("true_divide_", (2.0,)),
    ("subtract_", (2.0,)), ("multiply_", (2.0,)), ("divide_", (4.0,)), ("cumsum_", (1,)),
    ("cumprod_", (0,)), ("tril_", ()), ("triu_", (1,)), ("clamp_min_", (0.3,)),
    ("clip_", (0.2, 0.6)), ("xlogy_", (2.0,)), ("logical_not_", ()), ("renorm_", (2, 0, 0.5)),
])
def test_binary_and_structural_in_place_twins_keep_the_dtype(name, args):
    data = np.array([[0.1, 0.5, 0.7], [0.5, 0.2, 0.9]], dtype=np.float32)
    x = tl.tensor(data)
    expected = getattr(tl.tensor(data), name[:-1])(*args).numpy().astype(np.float32)
    assert getattr(x, name)(*args) is x
    assert x.dtype == tl.float32
    np.testing.assert_allclose(x.numpy(), expected)
    if torch is not None:
        xt = torch.tensor(data)
        getattr(xt, name)(*args)
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-6)


def test_comparison_in_place_leaves_ones_and_zeros():
    x = tl.tensor([1.0, 2.0, 3.0])
    x.eq_(2.0)
    assert x.dtype == tl.float32 and x.tolist() == [0.0, 1.0, 0.0]
    y = tl.tensor([1.0, 0.0]).logical_and_(tl.tensor([2.0, 3.0]))
    assert y.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("name, other", [
    ("bitwise_and_", 6), ("bitwise_or_", 6), ("bitwise_xor_", 6), ("bitwise_left_shift_", 1),
    ("bitwise_right_shift_", 1), ("gcd_", [4, 8, 21]), ("lcm_", [4, 8, 21]),
])
def test_integer_in_place_twins(name, other):
    x = tl.tensor([3, 12, 7])
    arg = tl.tensor(other) if isinstance(other, list) else other
    expected = getattr(tl.tensor([3, 12, 7]), name[:-1])(arg)
    getattr(x, name)(arg)
    assert x.dtype == tl.int64 and x.tolist() == expected.tolist()
    if torch is not None:
        xt = torch.tensor([3, 12, 7])
        getattr(xt, name)(torch.tensor(other) if isinstance(other, list) else other)
        assert x.tolist() == xt.tolist()
    y = tl.tensor([5], dtype=tl.int32)
    y.bitwise_not_()
    assert y.tolist() == [-6] and y.dtype == tl.int32


def test_in_place_twins_refuse_a_leaf_and_write_through_a_view():
    leaf = tl.tensor([0.5, 0.25], requires_grad=True)
    with pytest.raises(RuntimeError, match="sin_: a leaf tensor that requires grad"):
        leaf.sin_()
    base = leaf * 2
    base[1:].exp_()
    np.testing.assert_allclose(base.numpy(), [1.0, np.exp(0.5)], rtol=1e-6)
    base.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), [2.0, 2 * np.exp(0.5)], rtol=1e-6)


def test_float_power_in_place_needs_float64_and_view_twins_swap_dims():
    x = tl.tensor([1.5, 2.0], dtype=tl.float64)
    x.float_power_(2)
    assert x.tolist() == [2.25, 4.0]
    with pytest.raises(RuntimeError, match="float_power_"):
        tl.tensor([1.0]).float_power_(2)
    y = tl.zeros(2, 3)
    assert y.swapaxes_(0, 1) is y and y.shape == (3, 2)
    assert y.swapdims_(1, 0).shape == (2, 3)


def test_matrix_product_in_place_twins():
    x = tl.ones(2, 3)
    x.addmm_(tl.ones(2, 2), tl.ones(2, 3), beta=2)
    assert x.tolist() == [[4.0] * 3] * 2
    v = tl.ones(2)
    v.addmv_(tl.ones(2, 3), tl.ones(3), alpha=0.5)
    assert v.tolist() == [2.5, 2.5]
    b = tl.zeros(2, 2)
    b.addbmm_(tl.ones(3, 2, 1), tl.ones(3, 1, 2))
    assert b.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    c = tl.zeros(2, 2, 2)
    c.baddbmm_(tl.ones(2, 2, 1), tl.ones(2, 1, 2))
    assert c.sum().item() == 8.0


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "abs_", "exp_", "zero_", "clamp_",
                                  "fill_", "neg_", "xlogy_", "addmv_"])
def test_top_level_in_place_functions_exist_as_in_torch(name):
    assert callable(getattr(tl, name))
    if torch is not None:
        assert hasattr(torch, name)
    x = tl.tensor([-1.0, 2.0])
    assert tl.relu_(x) is x and x.tolist() == [0.0, 2.0]


# --- aliases and small methods -----------------------------------------------------------------
def test_comparison_aliases_and_positive():
    a, b = tl.tensor([1, 2, 3]), tl.tensor([2, 2, 2])
    assert a.greater(b).tolist() == [False, False, True]
    assert tl.greater_equal(a, b).tolist() == [False, True, True]
    assert a.less(b).tolist() == [True, False, False]
    assert tl.less_equal(a, b).tolist() == [True, True, False]
    assert a.not_equal(b).tolist() == [True, False, True]
    assert a.positive() is a
    with pytest.raises(RuntimeError, match="positive"):
        tl.tensor([True]).positive()


def test_small_queries_answer_as_torch():
    x = tl.tensor([[1.0, 2.0]])
    assert x.ndimension() == 2 and x.is_cpu and x.get_device() == -1
    assert x.is_signed() and not x.byte().is_signed() and not x.bool().is_signed()
    assert x.is_same_size(tl.zeros(1, 2)) and not x.is_same_size(tl.zeros(2, 1))
    assert tl.tensor([0.5]).is_nonzero() and not tl.tensor(0).is_nonzero()
    for bad in (x, tl.tensor([])):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bad.is_nonzero()
    assert (x.byte().dtype, x.char().dtype, x.short().dtype) == (tl.uint8, tl.int8, tl.int16)


def test_flips_and_splits_match_torch():
    x = tl.arange(24).reshape(2, 3, 4)
    assert x.fliplr().tolist() == x.flip(1).tolist()
    assert tl.flipud(x).tolist() == x.flip(0).tolist()
    assert [p.shape for p in x.hsplit(3)] == [(2, 1, 4)] * 3
    assert [p.shape for p in tl.vsplit(x, [1])] == [(1, 3, 4), (1, 3, 4)]
    assert [p.shape for p in x.dsplit(2)] == [(2, 3, 2)] * 2
    assert [p.shape for p in tl.arange(6).hsplit(2)] == [(3,), (3,)]
    with pytest.raises(RuntimeError, match="hsplit"):
        x.hsplit(2)
    with pytest.raises(RuntimeError, match="vsplit"):
        tl.arange(4).vsplit(2)
    assert [p.tolist() for p in tl.arange(5).split_with_sizes([2, 3])] == [[0, 1], [2, 3, 4]]
    assert tl.narrow_copy(tl.arange(5), 0, 1, 2).tolist() == [1, 2]
    assert tl.msort(tl.tensor([[3, 1], [1, 2]])).tolist() == [[1, 1], [3, 2]]
    if torch is not None:
        xt = torch.arange(24).reshape(2, 3, 4)
        for ours, theirs in zip(x.dsplit([1, 3]), xt.dsplit([1, 3])):
            assert ours.tolist() == theirs.tolist()


# --- values without gradients, against stated numbers and torch ----------------------------
def test_cummax_ties_and_nan_take_the_latest_index_as_torch():
    values, indices = tl.tensor([1, 1, 3, 3, 2]).cummax(0)
    assert values.tolist() == [1, 1, 3, 3, 3] and indices.tolist() == [0, 1, 2, 3, 3]
    nan = float("nan")
    out = tl.tensor([1.0, nan, 3.0, nan, 2.0]).cummax(0)
    assert out.indices.tolist() == [0, 1, 1, 3, 3]
    assert np.isnan(out.values.numpy()[1:]).all()
    assert tl.tensor([2, 1, 1]).cummin(0).indices.tolist() == [0, 1, 2]
    # repeated picks add up their gradients
    x = tl.tensor([3.0, 1.0, 2.0], requires_grad=True)
    x.cummax(0).values.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 0.0]


def test_quantile_modes_and_errors_as_torch():
    x = tl.arange(6.0)
    modes = {"linear": 2.5, "lower": 2.0, "higher": 3.0, "midpoint": 2.5, "nearest": 2.0}
    for mode, expected in modes.items():
        assert x.quantile(0.5, interpolation=mode).item() == expected
    assert tl.quantile(tl.ones(2, 4), 0.5, keepdim=True).shape == (1, 1)
    assert tl.quantile(tl.ones(2, 4), tl.tensor([0.2, 0.5]), dim=1, keepdim=True).shape == (
        2, 2, 1)
    with pytest.raises(RuntimeError, match="range"):
        x.quantile(1.5)
    with pytest.raises(RuntimeError, match="float"):
        tl.arange(3).quantile(0.5)
    with pytest.raises(RuntimeError, match="interpolation"):
        x.quantile(0.5, interpolation="cubic")


def test_nan_aware_median_and_quantile():
    nan = float("nan")
    data = [[1.0, nan, 3.0, 2.0], [4.0, 1.0, 2.0, 3.0]]
    x = tl.tensor(data)
    assert x.nanmedian().item() == 2.0 and np.isnan(x.median().item())
    values, indices = x.nanmedian(1)
    assert values.tolist() == [2.0, 2.0] and indices.tolist() == [3, 2]
    np.testing.assert_allclose(x.nanquantile(0.5, dim=1).numpy(), [2.0, 2.5])
    assert np.isnan(x.quantile(0.5, dim=1).numpy()[0])
    assert np.isnan(tl.tensor([nan, nan]).nanquantile(0.3).item())
    if torch is not None:
        xt = torch.tensor(data)
        np.testing.assert_allclose(x.nanquantile(0.3, dim=1).numpy(),
                                   xt.nanquantile(0.3, dim=1).numpy())
        assert xt.nanmedian(1).indices.tolist() == indices.tolist()


def test_nanmedian_gradient_goes_to_the_picked_element():
    x = tl.tensor([[1.0, float("nan"), 3.0, 2.0]], requires_grad=True)
    x.nanmedian(1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 1.0]]


@needs_torch
def test_scatter_reduce_ties_share_the_gradient_as_torch():
    index = np.array([[0, 0, 1, 1]])
    for reduce in ("amax", "amin"):
        for include_self in (True, False):
            grads = []
            for lib in (tl, torch):
                x = lib.ones(1, 2, dtype=lib.float64, requires_grad=True)
                s = lib.ones(1, 4, dtype=lib.float64, requires_grad=True)
                out = x.scatter_reduce(1, lib.tensor(index), s, reduce, include_self=include_self)
                (out * lib.tensor([[1.0, 2.0]], dtype=lib.float64)).sum().backward()
                grads.append((x.grad.numpy(), s.grad.numpy()))
            np.testing.assert_allclose(grads[0][0], grads[1][0])
            np.testing.assert_allclose(grads[0][1], grads[1][1])


def test_scatter_reduce_integer_mean_rounds_down_and_prod_differentiates_through_zero():
    out = tl.tensor([-5, 3]).scatter_reduce(0, tl.tensor([0, 0, 1]), tl.tensor([1, -3, 4]),
                                            "mean")
    assert out.tolist() == [-3, 3]
    with pytest.raises(RuntimeError, match="reduce must be one of"):
        tl.zeros(2).scatter_reduce(0, tl.tensor([0]), tl.zeros(1), "max")
    x = tl.tensor([2.0, 0.0], requires_grad=True)
    y = x.scatter_reduce(0, tl.tensor([1]), tl.tensor([3.0]), "prod")
    assert y.tolist() == [2.0, 0.0]
    y.sum().backward()
    t = torch.tensor([2.0, 0.0], requires_grad=True)
    t.scatter_reduce(0, torch.tensor([1]), torch.tensor([3.0]), "prod").sum().backward()
    assert x.grad.tolist() == t.grad.tolist() == [1.0, 3.0]


def test_scatter_family_errors_name_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"select_scatter: src of shape \(2,\)"):
        tl.zeros(3, 4).select_scatter(tl.zeros(2), 1, 0)
    with pytest.raises(RuntimeError, match="masked_scatter: source has 1 elements"):
        tl.zeros(3).masked_scatter(tl.tensor([True, True, False]), tl.zeros(1))
    with pytest.raises(RuntimeError, match="index_copy: index must be a 1-D integer"):
        tl.zeros(3, 4).index_copy(0, tl.tensor([0]), tl.zeros(2, 4))


def test_unique_consecutive_as_torch():
    x = tl.tensor([1, 1, 2, 2, 3, 1, 1])
    values, inverse, counts = tl.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3, 1]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3] and counts.tolist() == [2, 2, 1, 2]
    rows = tl.tensor([[1, 2], [1, 2], [3, 4]]).unique_consecutive(dim=0)
    assert rows.tolist() == [[1, 2], [3, 4]]


def test_histc_as_torch():
    assert tl.histc(tl.tensor([1.0, 1.0, 1.0]), bins=4).tolist() == [0.0, 0.0, 3.0, 0.0]
    assert tl.tensor([0.0, 1.0, 2.0, 3.0]).histc(3).tolist() == [1.0, 1.0, 2.0]
    assert tl.tensor([-5.0, 0.5, 9.0]).histc(2, 0, 1).tolist() == [0.0, 1.0]
    if torch is not None:
        data = RNG.standard_normal(200).astype(np.float32)
        for args in ((10,), (7, -1, 1.5)):
            np.testing.assert_array_equal(tl.tensor(data).histc(*args).numpy(),
                                          torch.tensor(data).histc(*args).numpy())


def test_integer_and_float_bit_ops():
    assert tl.gcd(tl.tensor([12, 18, -7]), tl.tensor([8, 12, 3])).tolist() == [4, 6, 1]
    assert tl.lcm(tl.tensor([4, 6]), tl.tensor([6, 4])).tolist() == [12, 12]
    mantissa, exponent = tl.tensor([8.0, 0.3, -5.0]).frexp()
    assert exponent.dtype == tl.int32 and exponent.tolist() == [4, -1, 3]
    np.testing.assert_allclose(mantissa.numpy(), [0.5, 0.6, -0.625], rtol=1e-6)
    assert tl.ldexp(tl.tensor([1, 2]), tl.tensor([3, 1])).tolist() == [8.0, 4.0]
    up = tl.nextafter(tl.tensor([1.0], dtype=tl.float64), tl.tensor([2.0], dtype=tl.float64))
    assert up.item() == np.nextafter(1.0, 2.0)
    with pytest.raises(RuntimeError, match="frexp"):
        tl.tensor([1]).frexp()


def test_special_functions_at_their_poles_and_edges():
    assert tl.tensor([0.0, -2.0]).lgamma().tolist() == [float("inf")] * 2
    digamma = tl.tensor([0.0, -1.0, 1.0], dtype=tl.float64).digamma().numpy()
    assert digamma[0] == -np.inf and np.isnan(digamma[1])
    np.testing.assert_allclose(digamma[2], -0.5772156649015329, rtol=1e-14)
    edges = tl.tensor([-1.0, 1.0, 1.5, 0.0], dtype=tl.float64).erfinv().numpy()
    assert edges[0] == -np.inf and edges[1] == np.inf and np.isnan(edges[2]) and edges[3] == 0
    if torch is not None:
        x = np.linspace(-0.999999, 0.999999, 101)
        np.testing.assert_allclose(tl.tensor(x, dtype=tl.float64).erfinv().numpy(),
                                   torch.tensor(x).erfinv().numpy(), rtol=1e-12)
        y = np.linspace(-4.7, 30.0, 77)
        for name in ("lgamma", "digamma"):
            np.testing.assert_allclose(getattr(tl.tensor(y, dtype=tl.float64), name)().numpy(),
                                       getattr(torch.tensor(y), name)().numpy(), rtol=1e-10)


def test_bernoulli_and_multinomial_take_a_generator():
    p = tl.full((1000,), 0.3)
    draws = [p.bernoulli(generator=tl.Generator().manual_seed(7)) for _ in range(2)]
    assert draws[0].tolist() == draws[1].tolist() and draws[0].dtype == tl.float32
    assert 200 < draws[0].sum().item() < 400
    assert tl.bernoulli(tl.zeros(50), 1.0).sum().item() == 50
    weights = tl.tensor([0.0, 1.0, 3.0])
    picks = weights.multinomial(2, generator=tl.Generator().manual_seed(0))
    assert sorted(picks.tolist()) == [1, 2]


# --- second batch: more linalg, storage views, complex spellings, top-level functions --------
SYMMETRIC_INPUT_LINALG = [
    ("eigh_values", lambda L, x: L.linalg.eigh(x + x.mT)[0]),
    ("eigh_vectors", lambda L, x: L.linalg.eigh(x + x.mT).eigenvectors.abs()),
    ("eigvalsh_upper", lambda L, x: L.linalg.eigvalsh(x + x.mT, UPLO="U")),
    ("solve_triangular", lambda L, x: L.linalg.solve_triangular(
        x.triu() + 3 * L.eye(3, dtype=x.dtype), x[:, :2], upper=True)),
    ("solve_triangular_right_unit", lambda L, x: L.linalg.solve_triangular(
        x, x[:2], upper=False, left=False, unitriangular=True)),
    ("lstsq", lambda L, x: L.linalg.lstsq(x[:, :2], x[:, 2]).solution),
    ("multi_dot", lambda L, x: L.linalg.multi_dot([x[0], x, x.mT, x[1]])),
    ("vander", lambda L, x: L.linalg.vander(x[0], N=4)),
    ("cond", lambda L, x: L.linalg.cond(x)),
    ("vecdot", lambda L, x: L.linalg.vecdot(x, x[0])),
    ("tensorsolve", lambda L, x: L.linalg.tensorsolve(x, x[0])),
    ("cholesky_inverse", lambda L, x: L.cholesky_inverse(x.tril() + 3 * L.eye(3, dtype=x.dtype))),
    ("cholesky_solve", lambda L, x: L.cholesky_solve(x[:, :2], x.tril() + 3 * L.eye(
        3, dtype=x.dtype))),
    ("triangular_solve_transposed", lambda L, x: L.triangular_solve(
        x[:, :2], x.triu() + 3 * L.eye(3, dtype=x.dtype), transpose=True)[0]),
    ("angle", lambda L, x: L.angle(x)),
    ("put_accumulate", lambda L, x: x.put(L.tensor([0, 0, 4]), x[0] * 2, accumulate=True)),
    ("block_diag", lambda L, x: L.block_diag(x[0, 0], x[1], x[:2, :2])),
    ("cartesian_prod", lambda L, x: L.cartesian_prod(x[0], x[1, :2])),
    ("combinations", lambda L, x: L.combinations(x[0], 2, with_replacement=True)),
    ("trapezoid", lambda L, x: L.trapezoid(x, x[0].cumsum(0).exp(), dim=1)),
    ("cumulative_trapezoid", lambda L, x: L.cumulative_trapezoid(x, dx=0.5, dim=0)),
    ("gradient", lambda L, x: L.gradient(x * x, spacing=2.0)[1]),
    ("frobenius_norm", lambda L, x: L.norm(x)),
    ("nuclear_norm", lambda L, x: L.nuclear_norm(x)),
    ("rsub", lambda L, x: L.rsub(x, x[0], alpha=2)),
]


@pytest.mark.parametrize("name, fn", SYMMETRIC_INPUT_LINALG,
                         ids=[case[0] for case in SYMMETRIC_INPUT_LINALG])
def test_second_batch_gradients_match_finite_differences_and_torch(name, fn):
    test_linalg_gradients_match_finite_differences_and_torch(name, fn)


def test_eigh_gradient_is_symmetric_as_torch():
    a = tl.tensor(WELL_CONDITIONED, dtype=tl.float64, requires_grad=True)
    values, vectors = tl.linalg.eigh(a)
    (values[1] + vectors[:, 0].abs().sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), a.grad.numpy().T, atol=1e-12)
    if torch is not None:
        at = torch.tensor(WELL_CONDITIONED, requires_grad=True)
        values_t, vectors_t = torch.linalg.eigh(at)
        (values_t[1] + vectors_t[:, 0].abs().sum()).backward()
        np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), atol=1e-10)


def test_lstsq_extras_follow_the_driver():
    a, b = tl.tensor(RNG.standard_normal((5, 3))), tl.tensor(RNG.standard_normal((5, 2)))
    plain = tl.linalg.lstsq(a, b)
    assert plain.rank.item() == 3 and plain.residuals.shape == (0,)
    assert plain.singular_values.shape == (0,)
    full = tl.linalg.lstsq(a, b, driver="gelsd")
    assert full.residuals.shape == (2,) and full.singular_values.shape == (3,)
    if torch is not None:
        theirs = torch.linalg.lstsq(torch.tensor(a.numpy()), torch.tensor(b.numpy()),
                                    driver="gelsd")
        np.testing.assert_allclose(full.residuals.numpy(), theirs.residuals.numpy(), rtol=1e-4)


def test_complex_spellings_on_real_tensors():
    x = tl.tensor([[1.0, -2.0]])
    assert x.conj() is x and tl.resolve_conj(x) is x and x.real is x and tl.real(x) is x
    assert not x.is_conj() and not x.is_neg() and not x.is_inference()
    assert tl.isreal(x).tolist() == [[True, True]]
    with pytest.raises(RuntimeError, match="imag"):
        _ = x.imag
    assert x.H.shape == (2, 1) and x.adjoint().shape == (2, 1)
    assert tl.ones(2, 3, 4).mH.shape == (2, 4, 3)
    with pytest.raises(RuntimeError, match="mH"):
        _ = tl.ones(2, 3, 4).H
    assert tl.angle(tl.tensor([-1, 0, 2])).tolist() == pytest.approx([np.pi, 0.0, 0.0])


def test_storage_offset_of_views_as_torch():
    base = tl.arange(10.0).reshape(2, 5)
    assert base[:, 2].storage_offset() == 2 and base.storage_offset() == 0
    assert base[1, 1:].storage_offset() == 6 and (base + 1).storage_offset() == 0


def test_put_histogram_nonzero_static_and_callables():
    x = tl.zeros(2, 3)
    assert x.put(tl.tensor([0, -1]), tl.tensor([5.0, 7.0])).tolist() == [[5, 0, 0], [0, 0, 7]]
    x.put_(tl.tensor([1, 1]), tl.tensor([1.0, 2.0]), accumulate=True)
    assert x[0, 1].item() == 3.0
    data = RNG.standard_normal(100).astype(np.float32)
    hist, edges = tl.tensor(data).histogram(7, range=(-1.0, 1.0), density=True)
    assert hist.shape == (7,) and edges.shape == (8,) and edges[0].item() == -1.0
    if torch is not None:
        theirs = torch.tensor(data).histogram(7, range=(-1.0, 1.0), density=True)
        np.testing.assert_allclose(hist.numpy(), theirs.hist.numpy(), rtol=1e-6)
    padded = tl.tensor([[1, 0], [0, 3]]).nonzero_static(size=3)
    assert padded.tolist() == [[0, 0], [1, 1], [-1, -1]]
    y = tl.tensor([1.0, 2.0])
    y.apply_(lambda v: v * 10)
    y.map_(tl.tensor([1.0]), lambda a, b: a + b)
    assert y.tolist() == [11.0, 21.0]


def test_random_fills_and_samplers():
    tl.manual_seed(0)
    assert (tl.zeros(1000).geometric_(0.5) >= 1).all()
    assert (tl.zeros(1000).log_normal_() > 0).all()
    assert tl.zeros(10).cauchy_().numpy().std() > 0
    counts = tl.binomial(tl.full((2000,), 10.0), tl.full((2000,), 0.5))
    assert counts.dtype == tl.float32 and 4.5 < counts.mean().item() < 5.5
    assert 2.5 < tl.poisson(tl.full((2000,), 3.0)).mean().item() < 3.5


def test_legacy_svd_qr_return_v_not_vh():
    a = tl.tensor(WELL_CONDITIONED)
    u, s, v = a.svd()
    np.testing.assert_allclose((u * s @ v.T).numpy(), WELL_CONDITIONED, rtol=1e-5, atol=1e-5)
    q, r = tl.qr(a)
    np.testing.assert_allclose((q @ r).numpy(), WELL_CONDITIONED, rtol=1e-5, atol=1e-5)


def test_windows_indices_and_small_functions_as_torch():
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window",
                 "kaiser_window"):
        for length, periodic in ((1, True), (5, True), (6, False)):
            ours = getattr(tl, name)(length, periodic)
            assert ours.dtype == tl.float32 and ours.shape == (length,)
            if torch is not None:
                np.testing.assert_allclose(ours.numpy(), getattr(torch, name)(
                    length, periodic).numpy(), atol=1e-6)
    assert tl.tril_indices(3, 4, 1).tolist() == [[0, 0, 1, 1, 1, 2, 2, 2, 2],
                                                 [0, 1, 0, 1, 2, 0, 1, 2, 3]]
    assert tl.triu_indices(3, 3).tolist() == [[0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]
    assert [t.tolist() for t in tl.unravel_index(tl.tensor([5, -1]), (2, 3))] == [[1, 1],
                                                                                 [2, 2]]
    assert tl.isin(tl.tensor([[1, 2, 3]]), tl.tensor([2, 5])).tolist() == [[False, True, False]]
    assert tl.isin(2, tl.tensor([1, 2]), invert=True).item() is False
    assert tl.scalar_tensor(3).dtype == tl.float32 and tl.scalar_tensor(3).ndim == 0
    assert tl.combinations(tl.tensor([1, 2]), 3).shape == (0, 3)
    assert tl.cartesian_prod(tl.tensor([1, 2])).tolist() == [1, 2]
    assert tl.row_stack([tl.ones(2), tl.zeros(2)]).shape == (2, 2)
    assert tl.fill(tl.zeros(2), 3).tolist() == [3.0, 3.0]
    assert tl.empty_strided((2, 3), (3, 1)).shape == (2, 3)
    copied = tl.permute_copy(tl.ones(2, 3), (1, 0))
    assert copied.shape == (3, 2)
    assert [p.shape for p in tl.split_copy(tl.ones(4), 2)] == [(2,), (2,)]
    a = tl.asarray(np.ones(2, dtype=np.float32), requires_grad=True)
    assert a.requires_grad and tl.chain_matmul(tl.eye(2), tl.ones(2, 2)).tolist() == [[1, 1]] * 2


@pytest.mark.parametrize("name, args", [
    ("selu", ()), ("celu", (0.5,)), ("threshold", (0.1, 20.0)), ("layer_norm", ((8,),)),
    ("max_pool1d", (2,)), ("avg_pool1d", (3, 1, 1)), ("channel_shuffle", (3,)),
    ("dropout", (0.5, False)), ("cosine_similarity", (None,)),
])
def test_top_level_forms_of_functional_ops(name, args):
    data = RNG.standard_normal((2, 3, 8)).astype(np.float32)
    call = (lambda lib, x: getattr(lib, name)(x, x.flip(-1))) if args == (None,) else (
        lambda lib, x: getattr(lib, name)(x, *args))
    ours = call(tl, tl.tensor(data))
    assert ours.dtype == tl.float32
    if torch is not None:
        np.testing.assert_allclose(ours.numpy(), call(torch, torch.tensor(data)).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_layout_queries_and_resize():
    x = tl.ones(2, 3)
    assert not (x.is_sparse or x.is_quantized or x.is_meta or x.is_pinned() or x.is_shared())
    assert x.pin_memory() is x and x.share_memory_() is x
    assert x.dim_order() == (0, 1) and x.T.dim_order() == (1, 0)
    y = tl.arange(6.0)
    assert y.resize_(2, 2) is y and y.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert y.resize_as_(tl.zeros(3, 3)).shape == (3, 3)
    with pytest.raises(RuntimeError, match="resize_"):
        tl.ones(2, requires_grad=True).resize_(3)


SPECIAL = [
    ("erfcx", [(3, 4)], lambda L, x: L.special.erfcx(x * 1.5), -2, 2),
    ("log_ndtr", [(3, 4)], lambda L, x: L.special.log_ndtr(x * 4), -2, 2),
    ("ndtr", [(3, 4)], lambda L, x: L.special.ndtr(x), -2, 2),
    ("i0e", [(3, 4)], lambda L, x: L.special.i0e(x * 2), -2, 2),
    ("i1", [(3, 4)], lambda L, x: L.special.i1(x * 2), -2, 2),
    ("i1e", [(3, 4)], lambda L, x: L.special.i1e(x * 2), -2, 2),
    ("entr", [(3, 4)], lambda L, x: L.special.entr(x), 0.1, 2),
    ("xlog1py", [(3, 4), (4,)], lambda L, x, y: L.special.xlog1py(x, y), 0.1, 2),
    ("gammaln_psi", [(3, 4)], lambda L, x: L.special.gammaln(x) + L.special.psi(x), 0.3, 3),
    ("expit_multigammaln", [(3, 4)], lambda L, x: L.special.expit(x) + L.special.multigammaln(
        x + 2, 2), -1, 1),
]


@pytest.mark.parametrize("name, shapes, fn, low, high", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_functions_match_finite_differences_and_torch(name, shapes, fn, low, high):
    ours, theirs = _both(fn)
    check_op(shapes, ours, torch_fn=theirs, low=low, high=high)


def test_special_functions_in_their_tails_as_torch():
    x = np.array([-800.0, -40.0, -5.0, 0.0, 3.0, 30.0, 800.0])
    expected = {  # torch.special's float64 values
        "erfcx": [np.inf, np.inf, 144009798674.66104, 1.0, 0.17900115118138998,
                  0.018795888861416754, 0.0007052364284695965],
        "log_ndtr": [-320007.60355182335, -804.6084420137539, -15.064998393988727,
                     -0.6931471805599453, -0.0013508099647481923, -4.906713927148024e-198,
                     0.0],
    }
    for name, values in expected.items():
        ours = getattr(tl.special, name)(tl.tensor(x, dtype=tl.float64)).numpy()
        np.testing.assert_allclose(ours, values, rtol=1e-9)
    i0e = tl.special.i0e(tl.tensor([-1000.0, 0.0], dtype=tl.float64)).numpy()
    np.testing.assert_allclose(i0e, [0.012617240455891257, 1.0], rtol=1e-9)
    assert tl.special.entr(tl.tensor([0.0, -1.0])).tolist() == [0.0, -np.inf]
    assert tl.special.xlog1py(tl.tensor([0.0]), tl.tensor([-1.0])).item() == 0.0
    assert tl.special.spherical_bessel_j0(tl.tensor([0.0])).item() == 1.0


def test_incomplete_gamma_values_edges_and_gradients():
    a = np.array([0.5, 1.0, 3.0, 0.0, 2.0, -1.0, 20.0, 0.1, 50.0])
    x = np.array([0.2, 1.0, 10.0, 1.0, 0.0, 1.0, 25.0, 30.0, 45.0])
    lower = tl.igamma(tl.tensor(a, dtype=tl.float64), tl.tensor(x, dtype=tl.float64)).numpy()
    upper = tl.tensor(a, dtype=tl.float64).igammac(tl.tensor(x, dtype=tl.float64)).numpy()
    np.testing.assert_allclose(lower[:2], [0.4729107431344619, 1 - np.exp(-1.0)], rtol=1e-13)
    np.testing.assert_allclose(lower[8], 0.24680203440017027, rtol=1e-13)
    assert lower[3] == 1.0 and lower[4] == 0.0 and np.isnan(lower[5])
    np.testing.assert_allclose(lower[~np.isnan(lower)] + upper[~np.isnan(upper)], 1.0,
                               rtol=1e-13)
    shape = tl.tensor([1.5, 4.0, 0.7], dtype=tl.float64)
    assert tl.gradcheck(lambda z: tl.special.gammaincc(shape, z),
                        [tl.tensor([0.3, 5.0, 2.0], dtype=tl.float64, requires_grad=True)])
    with pytest.raises(RuntimeError, match="igamma: the input"):
        tl.igamma(tl.tensor([2.0], requires_grad=True), tl.tensor([1.0])).sum().backward()
    if torch is not None:
        for name in ("igamma", "igammac"):
            ours = getattr(tl, name)(tl.tensor(a, dtype=tl.float64),
                                     tl.tensor(x, dtype=tl.float64))
            theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x))
            # NOTE: PyTorch's P(50, 45) is off by 8e-10 (mpmath: 0.24680203440017027...)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-8, equal_nan=True)
    assert not tl.ones(1).is_mps and tl.ones(1).to_dense().shape == (1,)


LU_CASES = [
    ("lu_square_L", (3, 3), lambda L, x: L.linalg.lu(x).L),
    ("lu_square_U", (3, 3), lambda L, x: L.linalg.lu(x).U),
    ("lu_tall", (4, 3), lambda L, x: L.linalg.lu(x)[1].sum(0) + L.linalg.lu(x)[2].sum(0)),
    ("lu_wide", (3, 5), lambda L, x: L.linalg.lu_factor(x)[0]),
    ("lu_solve", (3, 3), lambda L, x: L.linalg.lu_solve(*L.linalg.lu_factor(x), x[:, :2] * 2)),
    ("lu_solve_adjoint_right", (3, 3), lambda L, x: L.linalg.lu_solve(
        *L.linalg.lu_factor(x), x[:2], left=False, adjoint=True)),
]


@pytest.mark.parametrize("name, shape, fn", LU_CASES, ids=[c[0] for c in LU_CASES])
def test_lu_factors_and_solves_match_finite_differences_and_torch(name, shape, fn):
    _check_linalg(fn, np.random.default_rng(2).standard_normal(shape), weighted=True)


def test_lu_pivots_and_unpack_as_lapack():
    a = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]])
    packed, pivots = tl.linalg.lu_factor(a)
    assert pivots.dtype == tl.int32 and pivots.tolist() == [3, 3, 3]
    p, lower, upper = tl.lu_unpack(packed, pivots)
    assert p.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    np.testing.assert_allclose((p @ lower @ upper).numpy(), a.numpy(), rtol=1e-6)
    legacy, legacy_pivots, infos = a.lu(get_infos=True)
    assert legacy.tolist() == packed.tolist() and infos.tolist() == 0
    x = tl.lu_solve(tl.ones(3, 1), packed, pivots)
    np.testing.assert_allclose((a @ x).numpy(), np.ones((3, 1)), atol=1e-5)


@pytest.mark.parametrize("values, kwargs", [
    ([1, 2, 3], {}), ([1, 2, 3], {"N": 4, "increasing": True}), ([1.5, -2.0], {"N": 0}),
    ([True, False], {}), ([], {}), ([0.5, 2.0, -1.0], {"N": 1}), ([0.5, 2.0, -1.0], {"N": 2}),
])
def test_vander_matches_torch_and_its_gradient_finite_differences(values, kwargs):
    floats = not values or isinstance(values[0], float)
    a = np.array(values, dtype=np.float32) if floats else np.array(values)
    out = tl.vander(tl.tensor(a), **kwargs)
    n = kwargs.get("N", len(values))
    expected = np.array([[v ** p for p in range(n)] for v in a.astype(np.float64)]).reshape(
        len(values), n)
    if not kwargs.get("increasing"):
        expected = expected[:, ::-1]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert out.dtype == (np.float32 if a.dtype == np.float32 else np.int64)
    torch = pytest.importorskip("torch")
    ref = torch.vander(torch.tensor(a), **kwargs)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    x = tl.tensor([0.5, 2.0, -1.5], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda t: tl.vander(t, N=4), [x])
    with pytest.raises(RuntimeError, match="one-dimensional"):
        tl.vander(tl.ones(2, 2))
