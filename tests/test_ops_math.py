"""The elementwise math ops: each differentiable one through `check_op` (numpy forward, finite
differences, PyTorch in float32 and float64), plus dtypes, errors, extreme inputs, exactness,
function forms, in-place twins and the numba backend."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_op, make_inputs

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

SHAPES = [(), (5,), (2, 3, 4)]
PAIRS = [((), ()), ((3,), (3,)), ((3, 1), (1, 4)), ((4,), (3, 4)), ((3, 4), ()),
         ((2, 1, 4), (3, 1))]
_np_erf = np.vectorize(math.erf)


def _reversed(x):
    """x in reverse order along dim 0, by an index list (the same call in torch)."""
    return x[list(range(len(x) - 1, -1, -1))]


def _assert_same_values(ours, theirs) -> None:
    """Same dtype (torch's mapped to numpy's) and values: close for floats, equal otherwise."""
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(ours.numpy(), expected)

_np_erfc = np.vectorize(math.erfc)

# name, method call (the same in torch), numpy forward, domain where the op is smooth
UNARY = [
    ("log1p", lambda x: x.log1p(), np.log1p, -0.5, 2),
    ("expm1", lambda x: x.expm1(), np.expm1, -2, 2),
    ("erf", lambda x: x.erf(), _np_erf, -2, 2),
    ("erfc", lambda x: x.erfc(), _np_erfc, -2, 2),
    ("sin", lambda x: x.sin(), np.sin, -3, 3),
    ("cos", lambda x: x.cos(), np.cos, -3, 3),
    ("tan", lambda x: x.tan(), np.tan, -1.2, 1.2),
    ("asin", lambda x: x.asin(), np.arcsin, -0.9, 0.9),
    ("acos", lambda x: x.acos(), np.arccos, -0.9, 0.9),
    ("atan", lambda x: x.atan(), np.arctan, -3, 3),
    ("sinh", lambda x: x.sinh(), np.sinh, -2, 2),
    ("cosh", lambda x: x.cosh(), np.cosh, -2, 2),
    ("asinh", lambda x: x.asinh(), np.arcsinh, -3, 3),
    ("acosh", lambda x: x.acosh(), np.arccosh, 1.1, 3),
    ("atanh", lambda x: x.atanh(), np.arctanh, -0.9, 0.9),
    ("log2", lambda x: x.log2(), np.log2, 0.1, 3),
    ("log10", lambda x: x.log10(), np.log10, 0.1, 3),
    ("exp2", lambda x: x.exp2(), np.exp2, -2, 2),
    ("frac", lambda x: x.frac(), lambda x: x - np.trunc(x), -2.9, 2.9),
    ("clamp_min", lambda x: x.clamp_min(0.3), lambda x: np.maximum(x, 0.3), -2, 2),
    ("clamp_max", lambda x: x.clamp_max(0.3), lambda x: np.minimum(x, 0.3), -2, 2),
    ("nan_to_num", lambda x: x.nan_to_num(), lambda x: x, -2, 2),
    ("arcsinh", lambda x: x.arcsinh(), np.arcsinh, -3, 3),
    ("negative", lambda x: x.negative(), np.negative, -2, 2),
    ("absolute", lambda x: x.absolute(), np.abs, -2, 2),
    ("abs()", lambda x: abs(x), np.abs, -2, 2),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, fn, np_fn, low, high", UNARY, ids=[u[0] for u in UNARY])
def test_unary_math_matches_numpy_fd_and_torch(name, fn, np_fn, low, high, shape):
    check_op([shape], fn, np_fn, low=low, high=high)


# name, call (the same in torch), numpy forward, domain; the pairs broadcast
BINARY = [
    ("atan2", lambda x, y: x.atan2(y), np.arctan2, -2, 2),
    ("hypot", lambda x, y: x.hypot(y), np.hypot, -2, 2),
    ("logaddexp", lambda x, y: x.logaddexp(y), np.logaddexp, -3, 3),
    ("fmod", lambda x, y: x.fmod(y), np.fmod, 0.3, 3),
    ("remainder", lambda x, y: x.remainder(y), np.remainder, 0.3, 3),
    ("mod_operator", lambda x, y: x % y, np.remainder, 0.3, 3),
    ("subtract", lambda x, y: x.subtract(y), np.subtract, -2, 2),
    ("multiply", lambda x, y: x.multiply(y), np.multiply, -2, 2),
    ("divide", lambda x, y: x.divide(y), np.divide, 0.5, 2),
    ("true_divide", lambda x, y: x.true_divide(y), np.divide, 0.5, 2),
    ("lerp_scalar_weight", lambda x, y: x.lerp(y, 0.3), lambda x, y: x + 0.3 * (y - x), -2, 2),
    ("lerp_far_weight", lambda x, y: x.lerp(y, 0.8), lambda x, y: x + 0.8 * (y - x), -2, 2),
]


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name, fn, np_fn, low, high", BINARY, ids=[b[0] for b in BINARY])
def test_binary_math_matches_numpy_fd_and_torch(name, fn, np_fn, low, high, shapes):
    check_op(shapes, fn, np_fn, low=low, high=high)


def test_fmod_and_remainder_of_negative_operands_match_torch_and_their_gradients():
    """fmod takes x's sign, remainder y's; d/dy is -trunc(x/y) and -floor(x/y)."""
    check_op([(3, 4), (4,)], lambda x, y: x.fmod(y * 2) + (x * 3).remainder(y - 2.5),
             lambda x, y: np.fmod(x, y * 2) + np.remainder(x * 3, y - 2.5), low=0.3, high=2)
    x = tl.tensor([-7.5, 7.5, -7.5, 7.5], requires_grad=True)
    y = tl.tensor([2.0, 2.0, -2.0, -2.0], requires_grad=True)
    (x.fmod(y) + x.remainder(y)).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [3 + 4, -3 - 3, -3 - 3, 3 + 4])
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2, 2])


def test_reflected_mod_differentiates_the_divisor():
    """PyTorch has no derivative for `number % tensor`, so it is checked as a tensor % tensor."""
    check_op([(3, 4)], lambda x: 5.0 % x, lambda x: np.remainder(5.0, x), low=0.7, high=3,
             torch_fn=lambda x: torch.full_like(x, 5.0) % x)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), (3, 4)),
                                    ((), (2, 3), ())], ids=str)
def test_lerp_with_tensor_weight_differentiates_all_three(shapes):
    check_op(shapes, lambda a, b, w: a.lerp(b, w), lambda a, b, w: a + w * (b - a))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), (3, 4))], ids=str)
@pytest.mark.parametrize("name, fn, np_fn", [
    ("addcmul", lambda a, b, c: a.addcmul(b, c), lambda a, b, c: a + b * c),
    ("addcmul_value", lambda a, b, c: a.addcmul(b, c, value=-0.5),
     lambda a, b, c: a - 0.5 * b * c),
    ("addcdiv", lambda a, b, c: a.addcdiv(b, c), lambda a, b, c: a + b / c),
    ("addcdiv_value", lambda a, b, c: a.addcdiv(b, c, value=2), lambda a, b, c: a + 2 * b / c),
])
def test_addcmul_and_addcdiv(name, fn, np_fn, shapes):
    check_op(shapes, fn, np_fn, low=0.5, high=2)


def test_where_method_routes_gradients_like_torch():
    cond = np.random.default_rng(5).random((3, 4)) > 0.5
    check_op([(3, 4), (4,)], lambda x, y: x.where(tl.tensor(cond), y),
             lambda x, y: np.where(cond, x, y),
             torch_fn=lambda x, y: x.where(torch.tensor(cond), y))


# --- zero-gradient (rounding) ops -----------------------------------------------------------
ROUNDING = [("floor", lambda x: x.floor()), ("ceil", lambda x: x.ceil()),
            ("round", lambda x: x.round()), ("round_2", lambda x: x.round(decimals=2)),
            ("round_-1", lambda x: x.round(decimals=-1)), ("trunc", lambda x: x.trunc()),
            ("fix", lambda x: x.fix()), ("sgn", lambda x: x.sgn())]


@pytest.mark.parametrize("name, fn", ROUNDING, ids=[r[0] for r in ROUNDING])
def test_rounding_forward_matches_torch_ties_included(name, fn):
    data = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.125, -0.375, 14.9, -15.0, 25.0, 0.0,
                     1.005, 123.456, -7.75], np.float64)
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        ours = fn(tl.tensor(data, dtype=dtype))
        theirs = fn(torch.tensor(data, dtype=tdtype)).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours.numpy(), theirs)


@pytest.mark.parametrize("name, fn", ROUNDING, ids=[r[0] for r in ROUNDING])
def test_rounding_gradient_is_zero_even_for_an_inf_upstream_gradient(name, fn):
    x = tl.tensor([-1.5, 0.0, 0.5, 2.7], requires_grad=True)
    out = fn(x)
    assert out.requires_grad and out.grad_fn is not None
    with np.errstate(all="raise"):
        out.backward(tl.tensor([1.0, np.inf, -np.inf, 2.0]))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


def test_frac_and_nan_to_num_gradients_are_one_where_kept():
    x = tl.tensor([-1.75, 0.5, np.nan, np.inf, -np.inf, 2.0], requires_grad=True)
    x.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 0, 0, 0, 1])
    t = torch.tensor(x.numpy(), requires_grad=True)
    t.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    y = tl.tensor([-1.75, 0.5, 2.25], requires_grad=True)
    y.frac().sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1, 1, 1])


@pytest.mark.parametrize("args", [{}, {"nan": 1.5, "posinf": 7.0}, {"neginf": -1.0}], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_to_num_defaults_and_replacements_match_torch(args, dtype):
    data = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0])
    ours = tl.tensor(data, dtype=dtype).nan_to_num(**args)
    theirs = torch.tensor(data, dtype=getattr(torch, dtype)).nan_to_num(**args)
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# --- dtypes and values against torch, for int, bool and special inputs -------------------------
DTYPE_CASES = [
    ("sin_int", lambda i, f, b: i.sin()), ("erf_bool", lambda i, f, b: b.erf()),
    ("exp2_int", lambda i, f, b: i.exp2()), ("log2_int", lambda i, f, b: i.abs().log2()),
    ("expm1_bool", lambda i, f, b: b.expm1()), ("atan2_int", lambda i, f, b: i.atan2(i + 9)),
    ("floor_int", lambda i, f, b: i.floor()), ("ceil_int", lambda i, f, b: i.ceil()),
    ("round_int", lambda i, f, b: i.round()), ("trunc_int", lambda i, f, b: i.trunc()),
    ("sgn_int", lambda i, f, b: i.sgn()), ("sgn_bool", lambda i, f, b: b.sgn()),
    ("fmod_int", lambda i, f, b: i.fmod(3)), ("remainder_int", lambda i, f, b: i.remainder(3)),
    ("mod_int_float", lambda i, f, b: i % 2.5), ("rmod_int", lambda i, f, b: 5 % i),
    ("mod_float", lambda i, f, b: f % -1.5), ("floordiv_int", lambda i, f, b: i // 2),
    ("rfloordiv_int", lambda i, f, b: 7 // i), ("floordiv_float", lambda i, f, b: f // 0.1),
    ("floor_divide", lambda i, f, b: f.floor_divide(f + 3)),
    ("div_floor_int", lambda i, f, b: i.div(-2, rounding_mode="floor")),
    ("div_trunc_int", lambda i, f, b: i.div(-2, rounding_mode="trunc")),
    ("div_trunc_float", lambda i, f, b: f.div(0.3, rounding_mode="trunc")),
    ("divide_int", lambda i, f, b: i.divide(2)),
    ("and_bool_int", lambda i, f, b: b & i), ("and_bool_scalar", lambda i, f, b: b & True),
    ("rand_scalar", lambda i, f, b: 6 & i), ("or_int", lambda i, f, b: i | 3),
    ("xor_bool", lambda i, f, b: b ^ b.logical_not()), ("invert_bool", lambda i, f, b: ~b),
    ("invert_int", lambda i, f, b: ~i), ("bitwise_xor", lambda i, f, b: i.bitwise_xor(i + 1)),
    ("logical_and", lambda i, f, b: f.logical_and(i)),
    ("logical_or", lambda i, f, b: b.logical_or(f)),
    ("logical_xor", lambda i, f, b: i.logical_xor(b)),
    ("isnan", lambda i, f, b: f.isnan()), ("isinf", lambda i, f, b: f.isinf()),
    ("isfinite", lambda i, f, b: f.isfinite()), ("isposinf", lambda i, f, b: f.isposinf()),
    ("isneginf", lambda i, f, b: f.isneginf()), ("isnan_int", lambda i, f, b: i.isnan()),
    ("isfinite_int", lambda i, f, b: i.isfinite()),
    ("isclose", lambda i, f, b: f.isclose(f + 1e-6)),
    ("isclose_nan", lambda i, f, b: f.isclose(f, equal_nan=True)),
    ("clamp_min_int_float", lambda i, f, b: i.clamp_min(0.5)),
    ("clamp_max_int", lambda i, f, b: i.clamp_max(2)),
    ("clamp_min_bool", lambda i, f, b: b.clamp_min(0)),
    ("nan_to_num_int", lambda i, f, b: i.nan_to_num()),
    ("addcmul_int", lambda i, f, b: i.addcmul(i, i, value=2)),
    ("logaddexp_inf", lambda i, f, b: f.logaddexp(f)),
    ("hypot_inf", lambda i, f, b: f.hypot(_reversed(f))),
]


@pytest.mark.parametrize("name, fn", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_dtypes_and_values_match_torch(name, fn):
    ints = np.array([1, -2, 5, -3, 0, 4])
    floats = np.array([np.nan, np.inf, -np.inf, 2.75, -1.25, 0.0], np.float32)
    if name in ("div_trunc_float", "floor_divide", "mod_float", "floordiv_float"):
        floats = np.array([-2.5, 1.0, 0.7, 2.75, -1.25, 0.0], np.float32)
    bools = np.array([True, False, True, True, False, False])
    if name.startswith(("rmod", "rfloordiv")):
        ints = np.array([1, -2, 5, -3, 7, 4])
    ours = fn(tl.tensor(ints), tl.tensor(floats), tl.tensor(bools))
    assert not ours.requires_grad
    _assert_same_values(ours, fn(torch.tensor(ints), torch.tensor(floats), torch.tensor(bools)))


def test_elementwise_tests_record_no_graph_and_rounded_quotients_a_zero_gradient():
    x = tl.tensor([1.5, -2.5, np.nan], requires_grad=True)
    for out in (x.isnan(), x.isfinite(), x.isclose(x), x.logical_and(x)):
        assert not out.requires_grad and out.grad_fn is None
    for out in (x // 2, 3 // x, x.div(2, rounding_mode="floor")):  # NOTE: in torch's graph too
        assert out.requires_grad
        x.grad = None
        out.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]


# --- errors name the op -------------------------------------------------------------------
@pytest.mark.parametrize("name, fn, error", [
    ("bitwise_and", lambda: tl.tensor([1.0]) & tl.tensor([2.0]), RuntimeError),
    ("bitwise_or", lambda: tl.tensor([1, 2]) | 1.5, RuntimeError),
    ("bitwise_xor", lambda: tl.tensor([1.0]).bitwise_xor(1), RuntimeError),
    ("bitwise_not", lambda: ~tl.tensor([1.0]), RuntimeError),
    ("floor", lambda: tl.tensor([True]).floor(), RuntimeError),
    ("frac", lambda: tl.tensor([1, 2]).frac(), RuntimeError),
    ("round", lambda: tl.tensor([15, 25]).round(decimals=-1), RuntimeError),
    ("fmod", lambda: tl.tensor([5, 6]).fmod(tl.tensor([1, 0])), ZeroDivisionError),
    ("remainder", lambda: tl.tensor([5]) % 0, ZeroDivisionError),
    ("floor_divide", lambda: 7 // tl.tensor([0, 1]), ZeroDivisionError),
    ("div", lambda: tl.tensor([1.0]).div(2, rounding_mode="nearest"), RuntimeError),
    ("addcdiv", lambda: tl.tensor([1]).addcdiv(tl.tensor([1]), tl.tensor([2])), RuntimeError),
    ("logical_and", lambda: tl.tensor([1.0, 2.0]).logical_and(tl.tensor([1.0, 0, 1])),
     RuntimeError),
    ("atan2", lambda: tl.ones(3).atan2(tl.ones(4)), RuntimeError),
    ("sin_", lambda: tl.tensor([1, 2]).sin_(), RuntimeError),
    ("floor_", lambda: tl.tensor([1.5], requires_grad=True).floor_(), RuntimeError),
])
def test_errors_name_the_op(name, fn, error):
    with pytest.raises(error, match=rf"^{name}: "):
        fn()


# --- extreme inputs: no numpy warnings, and the right limits ----------------------------------
EXTREME = {np.float32: [0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 3e38, -3e38, np.inf, -np.inf],
           np.float64: [0.0, 1e-300, -1e-300, 1e300, -1e300, 1.7e308, -1.7e308, np.inf,
                        -np.inf]}


def _positive(values):
    return [v for v in values if v > 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, fn, pick", [
    ("erf", lambda x: x.erf(), None), ("erfc", lambda x: x.erfc(), None),
    ("atan", lambda x: x.atan(), None), ("asinh", lambda x: x.asinh(), None),
    ("acosh", lambda x: x.acosh(), lambda v: [u for u in v if u >= 1]),
    ("log1p", lambda x: x.log1p(), _positive),
    ("log2", lambda x: x.log2(), _positive), ("log10", lambda x: x.log10(), _positive),
    ("expm1_negative", lambda x: x.expm1(), lambda v: [u for u in v if u <= 0]),
    ("exp2_negative", lambda x: x.exp2(), lambda v: [u for u in v if u <= 0]),
    ("sin_finite", lambda x: x.sin(), lambda v: [u for u in v if np.isfinite(u)]),
    ("tan_finite", lambda x: x.tan(), lambda v: [u for u in v if np.isfinite(u)]),
    ("nan_to_num", lambda x: x.nan_to_num(), None), ("floor", lambda x: x.floor(), None),
    ("round", lambda x: x.round(), None),
    ("frac_finite", lambda x: x.frac(), lambda v: [u for u in v if np.isfinite(u)]),
    ("clamp_min", lambda x: x.clamp_min(-1.0), None),
    ("logaddexp_self", lambda x: x.logaddexp(x), None),
    ("logaddexp_flipped", lambda x: x.logaddexp(_reversed(x)), None),
    ("logaddexp_negated", lambda x: x.logaddexp(-x), None),
    ("atan2_flipped", lambda x: x.atan2(_reversed(x)),
     lambda v: [u for u in v if np.isfinite(u) and u != 0]),
    ("hypot_flipped", lambda x: x.hypot(_reversed(x) * 0.25),
     lambda v: [u for u in v if np.isfinite(u) and u != 0]),
])
def test_extreme_inputs_give_no_warnings_and_match_torch(name, fn, pick, dtype):
    """Values and gradients at +-inf and near the dtype's limits, under errstate(raise).

    Underflow is left to numpy's default (ignored): a result or gradient that rounds to 0 or a
    subnormal is the right answer there (erf'(10) is 4e-44).
    """
    values = EXTREME[dtype] if pick is None else pick(EXTREME[dtype])
    data = np.array(values, dtype=dtype)
    x = tl.tensor(data, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = fn(x)
        out.backward(tl.ones_like(out))
    t = torch.tensor(data, requires_grad=True)
    t_out = fn(t)
    t_out.backward(torch.ones_like(t_out))
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-6)
    grad, t_grad = x.grad.numpy(), t.grad.numpy()
    if name in ("logaddexp_self", "logaddexp_flipped", "logaddexp_negated"):
        # NOTE: PyTorch's gradient is nan where both inputs are the same infinity (inf - inf);
        # here the difference counts as 0 there, as for equal finite inputs
        both_inf = np.isinf(data) & (np.isinf(data[::-1]) if "flipped" in name else True)
        t_grad = np.where(both_inf & np.isnan(t_grad), grad, t_grad)
    # NOTE: atol: PyTorch's x * x overflows in some gradients (1 / sqrt(x * x - 1) is 0 for
    # acosh at 1e30), where these keep the true tiny value (1e-30)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-5, atol=1e-20)


def test_logaddexp_is_stable_and_splits_the_gradient_between_equal_infinities():
    x = tl.tensor([1e4, -1e4, np.inf, -np.inf, -np.inf, 0.0], requires_grad=True)
    y = tl.tensor([1e4, 1e4, np.inf, -np.inf, 3.0, -3e38], requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = x.logaddexp(y)
        out.backward(tl.ones_like(out))
    np.testing.assert_allclose(out.numpy(), [1e4 + math.log(2), 1e4, np.inf, -np.inf, 3.0, 0.0],
                               rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0, 0.5, 0.5, 0, 1])
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 1, 0.5, 0.5, 1, 0])


# --- accuracy: exact where it matters -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_log2_and_log10_are_exact_at_powers(dtype):
    powers = np.arange(-30, 60)
    x2 = tl.tensor((2.0 ** powers).astype(dtype))
    np.testing.assert_array_equal(x2.log2().numpy(), powers.astype(dtype))
    tens = np.arange(0, 23 if dtype == np.float64 else 11)  # NOTE: 10**k exact in the dtype
    x10 = tl.tensor((10.0 ** tens).astype(dtype))
    np.testing.assert_array_equal(x10.log10().numpy(), tens.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_erf_and_erfc_agree_with_libm_in_the_input_dtype(dtype):
    data = np.array([-6.0, -2.0, -1e-8, 0.0, 1e-8, 0.3, 1.0, 3.0, 5.0, 10.0, 27.0, np.nan],
                    dtype=dtype)
    for name, ref in (("erf", math.erf), ("erfc", math.erfc)):
        out = getattr(tl.tensor(data), name)()
        assert out.dtype == dtype
        expected = np.array([ref(float(v)) for v in data]).astype(dtype)
        np.testing.assert_array_equal(out.numpy(), expected)
    # erfc keeps digits that 1 - erf loses: erfc(5) = 1.5e-12, while 1 - erf(5) in float32 is 0
    assert tl.tensor([5.0]).erfc().item() == pytest.approx(math.erfc(5.0), rel=1e-6)


def test_log1p_and_expm1_keep_digits_near_zero():
    tiny = tl.tensor([1e-10, -1e-12], dtype=tl.float32)
    np.testing.assert_allclose(tiny.log1p().numpy(), [1e-10, -1e-12], rtol=1e-6)
    np.testing.assert_allclose(tiny.expm1().numpy(), [1e-10, -1e-12], rtol=1e-6)


def test_lerp_is_exact_at_both_ends():
    a = tl.tensor(np.random.default_rng(2).uniform(-1e3, 1e3, 50), dtype=tl.float32)
    b = tl.tensor(np.random.default_rng(3).uniform(-1e-3, 1e-3, 50), dtype=tl.float32)
    np.testing.assert_array_equal(a.lerp(b, 1.0).numpy(), b.numpy())
    np.testing.assert_array_equal(a.lerp(b, 0.0).numpy(), a.numpy())
    w = tl.tensor(np.linspace(-1, 2, 50), dtype=tl.float32)
    # NOTE: PyTorch's vectorised lerp rounds once (a fused multiply-add): equal to rounding
    expected = torch.tensor(a.numpy()).lerp(torch.tensor(b.numpy()), torch.tensor(w.numpy()))
    np.testing.assert_allclose(a.lerp(b, w).numpy(), expected.numpy(), rtol=1e-6)


# --- function forms ---------------------------------------------------------------------------
FUNCTION_FORMS = ["log1p", "expm1", "erf", "erfc", "log2", "log10", "exp2", "sin", "cos", "tan",
                  "asin", "acos", "atan", "sinh", "cosh", "asinh", "atanh", "arcsin", "arccos",
                  "arctan", "arctanh", "floor", "ceil", "round", "trunc", "fix", "frac", "sgn",
                  "isnan", "isinf", "isfinite", "isposinf", "isneginf", "nan_to_num",
                  "negative", "absolute"]


@pytest.mark.parametrize("name", FUNCTION_FORMS)
def test_function_forms_match_torch_functions(name):
    data = np.array([-0.75, -0.25, 0.0, 0.5, 0.9], np.float32)
    _assert_same_values(getattr(tl, name)(tl.tensor(data)),
                        getattr(torch, name)(torch.tensor(data)))


@pytest.mark.parametrize("name, args", [
    ("atan2", (0.5,)), ("arctan2", (-0.5,)), ("hypot", (0.5,)), ("logaddexp", (0.5,)),
    ("fmod", (0.4,)), ("remainder", (-0.4,)), ("floor_divide", (0.3,)),
    ("clamp_min", (0.1,)), ("clamp_max", (0.1,)), ("clip", (-0.1, 0.2)),
    ("subtract", (0.5,)), ("multiply", (0.5,)), ("divide", (0.5,)), ("true_divide", (0.5,)),
    ("lerp", (0.5, 0.25)), ("addcmul", (0.5, 2.0)), ("addcdiv", (0.5, 2.0)),
    ("logical_and", (0.0,)), ("logical_or", (0.0,)), ("logical_xor", (1.0,)),
    ("isclose", (0.5,)),
])
def test_binary_function_forms_match_torch_functions(name, args):
    data = np.array([-0.75, -0.25, 0.0, 0.5, 0.9], np.float32)
    scalars = name in ("clamp_min", "clamp_max", "clip")  # NOTE: bounds are numbers here
    ours = getattr(tl, name)(tl.tensor(data), *(a if scalars else tl.tensor(data * a)
                                                for a in args))
    theirs = getattr(torch, name)(torch.tensor(data), *(a if scalars else torch.tensor(data * a)
                                                        for a in args))
    _assert_same_values(ours, theirs)


def test_bitwise_function_forms_match_torch():
    a, b = np.array([5, -3, 12, 0]), np.array([3, 6, -1, 7])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        ours = getattr(tl, name)(tl.tensor(a), tl.tensor(b))
        np.testing.assert_array_equal(ours.numpy(), getattr(torch, name)(
            torch.tensor(a), torch.tensor(b)).numpy())
    np.testing.assert_array_equal(tl.bitwise_not(tl.tensor(a)).numpy(), ~a)


def test_isclose_function_with_tolerances_matches_torch():
    a = np.array([1.0, 1.0, np.nan, np.inf, -np.inf, 0.0, 1e-9])
    b = np.array([1.0 + 1e-6, 1.01, np.nan, np.inf, np.inf, 1e-9, 0.0])
    for kwargs in ({}, {"rtol": 1e-2}, {"atol": 1e-8, "rtol": 0.0}, {"equal_nan": True}):
        ours = tl.isclose(tl.tensor(a), tl.tensor(b), **kwargs)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs)
        assert ours.dtype == tl.bool
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# --- in place -------------------------------------------------------------------------------
def test_in_place_twins_write_back_and_keep_the_graph():
    base = tl.tensor([0.3, -1.2, 2.5], requires_grad=True)
    y = base * 2
    y.sin_()
    y.clamp_min_(0.0)
    y.sum().backward()
    expected = np.cos(base.numpy() * 2) * 2 * (np.sin(base.numpy() * 2) >= 0)
    np.testing.assert_allclose(base.grad.numpy(), expected, rtol=1e-6)
    z = tl.tensor([1.5, -2.5, 7.0])
    assert z.floor_() is z
    np.testing.assert_array_equal(z.numpy(), [1, -3, 7])
    z.remainder_(4).lerp_(tl.tensor([0.0, 0.0, 0.0]), 0.5)
    np.testing.assert_array_equal(z.numpy(), [0.5, 0.5, 1.5])
    n = tl.tensor([7, -7])
    n.fmod_(3)
    assert n.dtype == tl.int64 and n.tolist() == [1, -1]


# --- the numba backend inherits the new backend methods -----------------------------------------
# NOTE: one of each kind (numpy ufunc, frompyfunc, a kwarg through Lazy.__getattr__, hypot and
# where in a backward), not all: each new kernel costs ~0.4 s to compile on a cold cache
NUMBA_SUBSET = ["log1p", "erf", "atan", "acosh", "round"]


def _run_math_subset():
    x = tl.tensor(make_inputs([(3, 4)], 0.1, 0.9, 0)[0], dtype=tl.float32, requires_grad=True)
    y = tl.tensor(make_inputs([(4,)], 1.1, 2.0, 1)[0], dtype=tl.float32, requires_grad=True)
    h = x * 1.5  # NOTE: a pending lazy array on numba: each op below takes it through numpy
    outs = [getattr(h + y if name == "acosh" else h * 0.5, name)() for name in NUMBA_SUBSET]
    outs += [h.atan2(y), h.logaddexp(y), h.fmod(y), h.lerp(y, 0.7)]
    total = outs[0].sum()
    for o in outs[1:]:
        total = total + o.sum()
    total.backward()
    return [o.numpy() for o in outs], x.grad.numpy(), y.grad.numpy()


def test_numba_backend_computes_the_new_ops_like_numpy(backend):
    if backend == "numba":
        tl.backend.active.small = 0  # NOTE: kernels even for these small arrays
    outs, gx, gy = _run_math_subset()
    tl.set_backend("numpy")
    ref_outs, ref_gx, ref_gy = _run_math_subset()
    for o, r in zip(outs, ref_outs):
        assert o.dtype == r.dtype
        np.testing.assert_allclose(o, r, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gx, ref_gx, rtol=1e-5)
    np.testing.assert_allclose(gy, ref_gy, rtol=1e-5)
