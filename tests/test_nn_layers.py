"""Layers and their functional forms: PyTorch parity, finite differences, seed facts, dropout."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nn_parity import check_parity, close, torch_linear

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

DTYPES = [np.float32, np.float64]


def _inputs(shape, dtype, seed=0):
    """Random values with a few exact zeros (where ReLU-like kinks are tested)."""
    a = np.random.default_rng(seed).standard_normal(shape)
    a.flat[::7] = 0.0
    return a.astype(dtype)


# ------------------------------------------------------------------------- PyTorch parity
# (our module, the torch module with the same settings)
ACTIVATIONS = {
    "relu": (lambda: nn.ReLU(), lambda t: t.nn.ReLU()),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    "leaky_relu_default": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU()),
    "sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid()),
    "tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh()),
    "softmax_dim1": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1)),
    "softmax_last": (lambda: nn.Softmax(dim=-1), lambda t: t.nn.Softmax(dim=-1)),
    "log_softmax_dim1": (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1)),
    "log_softmax_dim0": (lambda: nn.LogSoftmax(dim=0), lambda t: t.nn.LogSoftmax(dim=0)),
    "flatten": (lambda: nn.Flatten(), lambda t: t.nn.Flatten()),
    "flatten_0_1": (lambda: nn.Flatten(0, 1), lambda t: t.nn.Flatten(0, 1)),
    "identity": (lambda: nn.Identity(), lambda t: t.nn.Identity()),
    "dropout_eval": (lambda: nn.Dropout(0.3).eval(), lambda t: t.nn.Dropout(0.3).eval()),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_layer_matches_torch_values_and_gradients(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = ACTIVATIONS[name]
    check_parity(ours(), theirs(torch), [_inputs((4, 3, 5), dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_for_input_weight_and_bias_gradients(shape, bias, dtype):
    layer = nn.Linear(5, 4, bias=bias, dtype=dtype)
    ref = torch_linear(layer)
    params = [(layer.weight, ref.weight)] + ([(layer.bias, ref.bias)] if bias else [])
    check_parity(layer, ref, [_inputs(shape, dtype)], params=params)


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_forms_match_torch(dtype):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = _inputs((3, 4), dtype)
    check_parity(lambda t: F.leaky_relu(t, 0.1), lambda t: tF.leaky_relu(t, 0.1), [x])
    check_parity(lambda t: F.softmax(t, 0), lambda t: tF.softmax(t, 0), [x])
    check_parity(lambda t: F.log_softmax(t, 1), lambda t: tF.log_softmax(t, 1), [x])
    check_parity(F.relu, tF.relu, [x])
    check_parity(F.sigmoid, torch.sigmoid, [x])
    check_parity(F.tanh, torch.tanh, [x])
    w, b = _inputs((2, 4), dtype, seed=1), _inputs((2,), dtype, seed=2)
    check_parity(F.linear, tF.linear, [x, w, b])


def test_linear_records_one_node_over_input_weight_and_bias():
    layer = nn.Linear(3, 2)
    x = tl.randn(4, 3)
    out = layer(x)
    assert out._ctx.op_name == "Linear"
    assert out._ctx.parents == (x, layer.weight, layer.bias)
    assert np.allclose(out.numpy(), x.numpy() @ layer.weight.numpy().T + layer.bias.numpy(),
                       atol=1e-6)


@pytest.mark.parametrize("x_shape", [(5, 4), (2, 5, 4), (4,), (0, 4), (1, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_finite_differences_for_every_input_rank(x_shape, bias):
    layer = nn.Linear(4, 3, bias=bias, dtype=tl.float64)
    params = [layer.weight] + ([layer.bias] if bias else [])
    assert tl.gradcheck(lambda x, *ps: layer(x), [_double(*x_shape)] + params)


def test_functional_linear_with_unusual_shapes_falls_back_to_matmul_and_add():
    x, w = _double(2, 4), _double(4)  # a 1-D weight: one output per row, as in PyTorch
    b = _double(2, 1)  # a 2-D bias broadcasts
    out = F.linear(x, w, b)
    assert out.shape == (2, 2)
    assert tl.gradcheck(F.linear, [x, w, b])


def test_functional_linear_names_the_shapes_that_do_not_fit():
    with pytest.raises(RuntimeError, match=r"linear: input \(32, 784\), weight \(256, 100\)"):
        F.linear(tl.zeros(32, 784), tl.zeros(256, 100))
    with pytest.raises(RuntimeError, match=r"bias \(5,\): expected input \(\.\.\., 100\) "
                                           r"and bias \(256,\)"):
        F.linear(tl.zeros(32, 100), tl.zeros(256, 100), tl.zeros(5))


# ---------------------------------------------------------------------- finite differences
def _double(*shape, seed=0):
    return tl.tensor(_inputs(shape, np.float64, seed) + 0.05, requires_grad=True)


GRADCHECK_LAYERS = {
    "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.3), "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh, "softmax": lambda: nn.Softmax(1), "log_softmax": lambda: nn.LogSoftmax(0),
    "flatten": nn.Flatten, "identity": nn.Identity,
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_LAYERS))
def test_layer_gradients_match_finite_differences(name):
    layer = GRADCHECK_LAYERS[name]()
    # NOTE: + 0.05 keeps the inputs away from the kinks at 0, where differences are one-sided
    assert tl.gradcheck(layer, [_double(3, 4, 2)])


def test_linear_gradients_match_finite_differences_for_input_weight_and_bias():
    layer = nn.Linear(4, 3, dtype=tl.float64)
    assert tl.gradcheck(lambda x, w, b: layer(x), [_double(5, 4), layer.weight, layer.bias])


def test_linear_penalty_gradients_match_finite_differences():
    layer = nn.Linear(4, 3, weight_l1=0.1, weight_l2=0.2, bias_l1=0.3, bias_l2=0.4,
                      dtype=tl.float64)
    assert tl.gradcheck(lambda w, b: layer.regularization_loss(), [layer.weight, layer.bias])


def test_dropout_gradients_match_finite_differences_for_a_fixed_mask():
    def fn(x):
        tl.manual_seed(3)  # the same mask on every evaluation
        return F.dropout(x, 0.4)

    assert tl.gradcheck(fn, [_double(6, 5)])


# ----------------------------------------------------------------------- seed-level facts
def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_linear_784_256_has_200960_parameters():
    assert _count(nn.Linear(784, 256)) == 200_960


def test_seed_mlp_784_256_128_10_has_235146_parameters_in_940584_bytes():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    assert _count(model) == 235_146
    assert sum(p.numpy().nbytes for p in model.parameters()) == 940_584


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in_and_seeded():
    tl.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32 and p.requires_grad
        assert np.abs(p.numpy()).max() <= bound
    w = layer.weight.numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # the std of U(-b, b)
    tl.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.numpy(), w)


def test_linear_float64_dtype_gives_float64_parameters_and_output():
    layer = nn.Linear(3, 2, dtype=tl.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert layer(tl.randn(4, 3, dtype=tl.float64)).dtype == np.float64


def test_linear_float32_stays_float32_through_forward_and_backward():
    layer = nn.Linear(3, 2)
    x = tl.randn(4, 3, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == layer.weight.grad.dtype == np.float32


def test_linear_wrong_input_width_names_module_expected_width_and_shape():
    layer = nn.Linear(784, 256)
    with pytest.raises(RuntimeError) as err:
        layer(tl.zeros(32, 100))
    assert str(err.value) == ("Linear(in_features=784, out_features=256): expected input "
                              "with last dimension 784, got shape (32, 100)")
    with pytest.raises(RuntimeError, match="got shape \\(\\)"):
        layer(tl.tensor(1.0))


def test_linear_negative_penalty_strength_is_refused():
    with pytest.raises(ValueError, match="weight_l2 must be >= 0"):
        nn.Linear(2, 2, weight_l2=-1e-3)


# ----------------------------------------------------------------------------- penalties
def test_penalty_gradients_are_l1_sign_plus_two_l2_w_for_weights_and_biases():
    l1w, l2w, l1b, l2b = 0.01, 5e-4, 0.02, 3e-4
    layer = nn.Linear(6, 5, weight_l1=l1w, weight_l2=l2w, bias_l1=l1b, bias_l2=l2b,
                      dtype=tl.float64)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    penalty = layer.regularization_loss()
    expected = (l1w * np.abs(w).sum() + l2w * (w * w).sum() + l1b * np.abs(b).sum()
                + l2b * (b * b).sum())
    close(penalty.item(), expected, np.float64)
    penalty.backward()
    close(layer.weight.grad.numpy(), l1w * np.sign(w) + 2 * l2w * w, np.float64)
    close(layer.bias.grad.numpy(), l1b * np.sign(b) + 2 * l2b * b, np.float64)


def test_penalty_adds_to_data_loss_gradient_as_an_ordinary_loss_term():
    layer = nn.Linear(3, 1, weight_l2=0.1, dtype=tl.float64)
    x = tl.randn(8, 3, dtype=tl.float64)
    layer(x).sum().backward()
    data_grad = layer.weight.grad.numpy().copy()
    layer.zero_grad()
    (layer(x).sum() + layer.regularization_loss()).backward()
    close(layer.weight.grad.numpy(), data_grad + 0.2 * layer.weight.numpy(), np.float64)
    assert layer.bias.grad.numpy().tolist() == [8.0]  # no bias penalty: bias sees data only


def test_zero_strength_penalty_terms_are_left_out_of_the_graph():
    layer = nn.Linear(3, 2, weight_l2=0.5)
    layer.regularization_loss().backward()
    assert layer.bias.grad is None  # no bias term was built, so no gradient reaches it


# -------------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_p_within_three_sigma_and_preserves_the_mean(p):
    n = 100_000
    tl.manual_seed(1)
    out = F.dropout(tl.ones(n), p).numpy()
    kept = (out != 0).mean()
    assert abs(kept - (1 - p)) < 3 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    # each output is 0 or 1/(1-p): mean 1, variance p/(1-p)
    assert abs(out.mean() - 1) < 3 * math.sqrt(p / (1 - p) / n)


def test_dropout_mask_is_one_byte_booleans_and_float32_stays_float32():
    x = tl.randn(64, 32, requires_grad=True)
    out = F.dropout(x, 0.5)
    mask = out._ctx.saved[0]
    assert mask.dtype == np.bool_ and mask.nbytes == x.numel()
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_dropout_gradient_is_the_mask_scaled_by_one_over_keep_probability():
    x = tl.ones(200, requires_grad=True)
    out = F.dropout(x, 0.25)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())
    assert set(np.unique(out.numpy())) == {0.0, np.float32(1 / 0.75)}


def test_dropout_is_identity_in_eval_mode_and_for_p_zero():
    x = tl.randn(5, 4)
    layer = nn.Dropout(0.5)
    assert layer.eval()(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert nn.Dropout(0.0)(x) is x


def test_dropout_in_training_mode_zeros_some_units():
    x = tl.ones(1000)
    out = nn.Dropout(0.5).train()(x).numpy()
    assert 0 < (out == 0).sum() < 1000


def test_dropout_p_one_gives_zeros_and_zero_gradients_without_warnings():
    x = tl.randn(10, 3, requires_grad=True)
    with np.errstate(all="raise"):
        out = F.dropout(x, 1.0)
        out.sum().backward()
    assert not out.numpy().any() and not x.grad.numpy().any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_outside_zero_one_is_a_value_error(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tl.ones(3), p)


def test_dropout_mask_is_reproducible_under_manual_seed():
    tl.manual_seed(7)
    a = F.dropout(tl.ones(50), 0.5).numpy()
    tl.manual_seed(7)
    np.testing.assert_array_equal(a, F.dropout(tl.ones(50), 0.5).numpy())


# ------------------------------------------------------------------- end-to-end training
def _sgd_step(params, lr):
    with tl.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


def _train_both(model, ref, loss_fn, ref_loss_fn, X, y, lr, steps=30):
    """Plain SGD in both frameworks from the same weights; the loss of every step."""
    torch = pytest.importorskip("torch")
    Xt, yt = tl.tensor(X), tl.tensor(y)
    Xr, yr = torch.from_numpy(X), torch.from_numpy(y)
    ours, theirs = [], []
    for _ in range(steps):
        loss = loss_fn(model, Xt, yt)
        loss.backward()
        _sgd_step(list(model.parameters()), lr)
        ours.append(loss.item())
        ref_loss = ref_loss_fn(ref, Xr, yr)
        ref_loss.backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= lr * p.grad
                p.grad = None
        theirs.append(ref_loss.item())
    return np.array(ours), np.array(theirs)


def _torch_copy(model):
    """The torch twin of a Sequential of Linear/ReLU/Sigmoid/Dropout, same weights."""
    torch = pytest.importorskip("torch")
    layers = {nn.ReLU: torch.nn.ReLU, nn.Sigmoid: torch.nn.Sigmoid}
    return torch.nn.Sequential(*[torch_linear(m) if isinstance(m, nn.Linear)
                                 else layers[type(m)]() for m in model])


def test_seed_mlp_trains_like_torch_for_30_sgd_steps_in_float64():
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    f64 = tl.float64
    model = nn.Sequential(nn.Linear(784, 256, dtype=f64), nn.ReLU(),
                          nn.Linear(256, 128, dtype=f64), nn.ReLU(),
                          nn.Linear(128, 10, dtype=f64))
    ref = _torch_copy(model)
    rng = np.random.default_rng(0)
    X, y = rng.random((16, 784)), rng.integers(0, 10, 16)
    ours, theirs = _train_both(model, ref, lambda m, x, t: F.cross_entropy(m(x), t),
                               lambda m, x, t: torch.nn.functional.cross_entropy(m(x), t),
                               X, y, lr=0.3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    assert ours[-1] < 0.75 * ours[0]  # it learned (memorising 16 random rows)


def test_spiral_classifier_with_l2_penalty_trains_like_torch_for_30_sgd_steps():
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    X, y = tl.data.spiral_data(100, 2)
    X, y = X.numpy().astype(np.float64), y.numpy().astype(np.float64).reshape(-1, 1)
    model = nn.Sequential(nn.Linear(2, 64, weight_l2=5e-4, bias_l2=5e-4, dtype=tl.float64),
                          nn.ReLU(), nn.Linear(64, 1, dtype=tl.float64), nn.Sigmoid())
    ref = _torch_copy(model)

    def ref_loss(m, x, t):
        first = m[0]
        penalty = 5e-4 * (first.weight ** 2).sum() + 5e-4 * (first.bias ** 2).sum()
        return torch.nn.functional.binary_cross_entropy(m(x), t) + penalty

    ours, theirs = _train_both(
        model, ref, lambda m, x, t: F.binary_cross_entropy(m(x), t) + m.regularization_loss(),
        ref_loss, X, y, lr=0.5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_query_with_nothing_to_attend_to_gets_zeros_and_finite_gradients():
    """Causal plus left padding leaves a query row fully masked: PyTorch's attention gives
    it zeros (and a zero gradient); a NaN there made every parameter's gradient NaN."""
    q = tl.tensor(np.random.default_rng(0).standard_normal((1, 3, 4)), requires_grad=True)
    allowed = tl.tensor([[False, False, False], [True, False, False], [True, True, False]])
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=allowed)
    np.testing.assert_array_equal(out[0, 0].numpy(), np.zeros(4))
    out.sum().backward()
    assert np.isfinite(q.grad.numpy()).all()
    layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    causal = tl.tensor(np.triu(np.ones((3, 3), bool), 1))
    padding = tl.tensor([[False] * 3, [True, False, False]])
    y = layer(tl.randn(2, 3, 4), src_mask=causal, src_key_padding_mask=padding, is_causal=True)
    y[:, 1:].sum().backward()
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())


def test_lp_pool_of_odd_order_keeps_the_sign_of_the_sum_as_pytorch():
    x = tl.tensor([[[-1.0, -2.0, 0.5, -0.2]]])
    np.testing.assert_allclose(nn.LPPool1d(1, 2)(x).numpy(), [[[-3.0, 0.3]]], rtol=1e-6)
    out = nn.LPPool1d(3, 2)(x).numpy()
    assert np.isnan(out[0, 0, 0]) and np.isclose(out[0, 0, 1], (0.5**3 - 0.2**3) ** (1 / 3))
