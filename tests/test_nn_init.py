"""nn.init: gains, fans for the (out, in) layout, He/Xavier scales, in place and seeded."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import init

OUT, IN = 600, 400  # big enough that sample std is within ~1% of the target


@pytest.mark.parametrize("name, param, expected", [
    ("linear", None, 1.0), ("sigmoid", None, 1.0), ("conv2d", None, 1.0),
    ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)),
])
def test_calculate_gain_values(name, param, expected):
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-12)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(
            torch.nn.init.calculate_gain(name), rel=1e-12)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)), rel=1e-12)


def test_calculate_gain_refuses_unknown_nonlinearity():
    with pytest.raises(ValueError, match="'swish'"):
        init.calculate_gain("swish")


def test_fans_follow_the_out_in_layout_of_linear_weights():
    assert init._calculate_fan_in_and_fan_out(nn.Linear(784, 256).weight) == (784, 256)
    assert init._calculate_fan_in_and_fan_out(tl.zeros(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init._calculate_fan_in_and_fan_out(tl.zeros(5))


def _filled(fn, *args, **kwargs):
    tl.manual_seed(0)
    return fn(tl.empty(OUT, IN), *args, **kwargs).numpy()


def test_he_normal_scales_by_sqrt_two_over_fan_in():
    w = _filled(init.kaiming_normal_, nonlinearity="relu")
    assert w.std() == pytest.approx(math.sqrt(2 / IN), rel=0.01)
    assert abs(w.mean()) < 5 * math.sqrt(2 / IN) / math.sqrt(w.size)  # 5 standard errors
    # the default (leaky_relu with a=0) is the same gain
    np.testing.assert_array_equal(w, _filled(init.kaiming_normal_))


def test_he_fan_out_mode_uses_out_features():
    w = _filled(init.kaiming_normal_, mode="fan_out", nonlinearity="relu")
    assert w.std() == pytest.approx(math.sqrt(2 / OUT), rel=0.01)
    with pytest.raises(ValueError, match="'fan_sideways'"):
        init.kaiming_normal_(tl.empty(2, 2), mode="fan_sideways")


def test_he_uniform_bound_is_sqrt_three_times_the_he_std():
    w = _filled(init.kaiming_uniform_, nonlinearity="relu")
    bound = math.sqrt(3) * math.sqrt(2 / IN)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(math.sqrt(2 / IN), rel=0.01)


def test_kaiming_uniform_with_a_sqrt5_is_linears_default_bound():
    w = _filled(init.kaiming_uniform_, a=math.sqrt(5))
    assert np.abs(w).max() <= 1 / math.sqrt(IN)
    assert np.abs(w).max() > 0.99 / math.sqrt(IN)


def test_xavier_normal_and_uniform_scale_by_sqrt_two_over_fan_sum():
    std = math.sqrt(2 / (IN + OUT))
    assert _filled(init.xavier_normal_).std() == pytest.approx(std, rel=0.01)
    w = _filled(init.xavier_uniform_, gain=2.0)
    assert w.std() == pytest.approx(2 * std, rel=0.01)
    assert np.abs(w).max() <= 2 * math.sqrt(3) * std


def test_normal_and_uniform_fill_with_the_asked_distribution():
    w = _filled(init.normal_, 3.0, 0.5)
    assert w.mean() == pytest.approx(3.0, abs=0.01) and w.std() == pytest.approx(0.5, rel=0.01)
    u = _filled(init.uniform_, -2.0, 1.0)
    assert u.min() >= -2.0 and u.max() < 1.0 and u.mean() == pytest.approx(-0.5, abs=0.01)


def test_constant_zeros_ones_fill_exactly():
    t = tl.empty(3, 2)
    assert init.constant_(t, 0.25).numpy().tolist() == [[0.25] * 2] * 3
    assert not init.zeros_(t).numpy().any()
    assert (init.ones_(t).numpy() == 1).all()


@pytest.mark.parametrize("fn, args", [
    (init.kaiming_normal_, ()), (init.kaiming_uniform_, ()), (init.xavier_normal_, ()),
    (init.xavier_uniform_, ()), (init.normal_, ()), (init.uniform_, ()), (init.zeros_, ()),
    (init.ones_, ()), (init.constant_, (0.5,)),
])
def test_init_works_in_place_on_a_parameter_and_returns_it(fn, args):
    p = nn.Linear(4, 3).weight
    memory, version = p.numpy(), p._version
    assert fn(p, *args) is p  # no error although p requires grad: the fill runs under no_grad
    assert p.numpy() is memory and p._version > version
    assert p.requires_grad and p.is_leaf and p.dtype == np.float32


def test_init_keeps_float64_and_is_reproducible_under_manual_seed():
    t = tl.empty(5, 4, dtype=tl.float64)
    tl.manual_seed(42)
    a = init.xavier_uniform_(t).numpy().copy()
    assert t.dtype == np.float64
    tl.manual_seed(42)
    np.testing.assert_array_equal(init.xavier_uniform_(t).numpy(), a)
    tl.manual_seed(43)
    assert not np.array_equal(init.xavier_uniform_(t).numpy(), a)


def test_init_does_not_record_a_graph():
    p = nn.Parameter(tl.zeros(3, 3))
    init.normal_(p)
    assert p._ctx is None and p.grad is None


@pytest.mark.parametrize("name, args", [
    ("uniform_", ()), ("normal_", ()), ("kaiming_uniform_", ()), ("kaiming_normal_", ()),
    ("xavier_uniform_", ()), ("xavier_normal_", ()), ("trunc_normal_", ()),
    ("orthogonal_", ()), ("sparse_", (0.5,))])
def test_init_draws_from_the_generator_it_is_given(name, args):
    """`generator=` as in PyTorch: two generators seeded alike give the same weights, and the
    default generator is left alone."""
    tl.manual_seed(0)
    before = tl.get_rng_state()
    fill = getattr(init, name)
    a = fill(tl.empty(4, 6), *args, generator=tl.Generator().manual_seed(7))
    b = fill(tl.empty(4, 6), *args, generator=tl.Generator().manual_seed(7))
    c = fill(tl.empty(4, 6), *args, generator=tl.Generator().manual_seed(8))
    assert tl.equal(a, b) and not tl.equal(a, c)
    assert tl.equal(tl.get_rng_state(), before)


@pytest.mark.parametrize("name, args", [
    ("uniform_", ()), ("normal_", ()), ("bernoulli_", (0.3,)), ("exponential_", ()),
    ("random_", (0, 10)), ("cauchy_", ()), ("log_normal_", ()), ("geometric_", (0.5,))])
def test_tensor_random_fills_take_a_generator(name, args):
    draw = [getattr(tl.empty(50), name)(*args, generator=tl.Generator().manual_seed(s))
            for s in (1, 1, 2)]
    assert tl.equal(draw[0], draw[1]) and not tl.equal(draw[0], draw[2])


@pytest.mark.parametrize("shape", [(0, 3), (4, 0)])
def test_he_init_of_an_empty_tensor_is_a_no_op_with_pytorchs_warning(shape):
    """A Linear with no inputs or outputs is made, as PyTorch makes it (an adaptive softmax's
    small clusters can ask for one)."""
    for init_ in (nn.init.kaiming_uniform_, nn.init.kaiming_normal_):
        with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
            assert init_(tl.empty(*shape)).shape == shape
    with pytest.warns(UserWarning, match="no-op"):
        layer = nn.Linear(shape[1], shape[0])
    out = layer(tl.randn(2, shape[1]))
    assert out.shape == (2, shape[0]) and not out.numpy().any()
    assert layer.bias.shape == (shape[0],) and not layer.bias.numpy().any()
