"""More of torch.nn: activations, pad/normalize/embedding, norms with running statistics,
Huber / smooth L1 / KL losses, the dict and parameter containers, buffers and nn.utils.

PyTorch parity where it is installed; finite differences in float64 and plain numpy
references everywhere.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
from nn_parity import check_parity, close

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

DTYPES = [np.float32, np.float64]
# the kinks of the piecewise activations, where PyTorch's one-sided gradients are checked
KINKS = [-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0]
EXTREMES = np.array([-1e4, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e4])


def _inputs(shape, dtype, seed=0, scale=2.0):
    """Random values spread over the kinks, with the kinks themselves included."""
    a = scale * np.random.default_rng(seed).standard_normal(shape)
    a.flat[:len(KINKS)] = KINKS[:a.size]
    return a.astype(dtype)


def _extremes(dtype):
    """(2, 2, 18): every extreme value, in a shape that each activation accepts."""
    return np.tile(EXTREMES, (2, 2, 2)).astype(dtype)


def _double(*shape, seed=0):
    return tl.tensor(np.random.default_rng(seed).standard_normal(shape) + 0.05,
                     requires_grad=True)


# ------------------------------------------------------------------------------ activations
# name -> (our module, torch's module with the same settings)
ACTIVATIONS = {
    "relu6": (lambda: nn.ReLU6(), lambda t: t.nn.ReLU6()),
    "elu": (lambda: nn.ELU(), lambda t: t.nn.ELU()),
    "elu_alpha": (lambda: nn.ELU(0.5), lambda t: t.nn.ELU(0.5)),
    "celu": (lambda: nn.CELU(2.0), lambda t: t.nn.CELU(2.0)),
    "selu": (lambda: nn.SELU(), lambda t: t.nn.SELU()),
    "gelu": (lambda: nn.GELU(), lambda t: t.nn.GELU()),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh")),
    "silu": (lambda: nn.SiLU(), lambda t: t.nn.SiLU()),
    "mish": (lambda: nn.Mish(), lambda t: t.nn.Mish()),
    "softplus": (lambda: nn.Softplus(), lambda t: t.nn.Softplus()),
    "softplus_beta": (lambda: nn.Softplus(2.0, 3.0), lambda t: t.nn.Softplus(2.0, 3.0)),
    "softsign": (lambda: nn.Softsign(), lambda t: t.nn.Softsign()),
    "hardtanh": (lambda: nn.Hardtanh(), lambda t: t.nn.Hardtanh()),
    "hardtanh_range": (lambda: nn.Hardtanh(-3.0, 1.0), lambda t: t.nn.Hardtanh(-3.0, 1.0)),
    "hardsigmoid": (lambda: nn.Hardsigmoid(), lambda t: t.nn.Hardsigmoid()),
    "hardswish": (lambda: nn.Hardswish(), lambda t: t.nn.Hardswish()),
    "logsigmoid": (lambda: nn.LogSigmoid(), lambda t: t.nn.LogSigmoid()),
    "softmin": (lambda: nn.Softmin(1), lambda t: t.nn.Softmin(1)),
    "threshold": (lambda: nn.Threshold(1.0, -2.0), lambda t: t.nn.Threshold(1.0, -2.0)),
    "glu": (lambda: nn.GLU(), lambda t: t.nn.GLU()),
    "glu_dim1": (lambda: nn.GLU(1), lambda t: t.nn.GLU(1)),
    "unflatten": (lambda: nn.Unflatten(2, (3, -1)), lambda t: t.nn.Unflatten(2, (3, -1))),
}


def _parity_dtypes(name):
    # NOTE: PyTorch's float64 hardsigmoid backward multiplies by a float32 1/6 (relative
    # error 3e-8); ours is exact, which the test after these two checks instead
    return [np.float32] if name == "hardsigmoid" else DTYPES


@pytest.mark.parametrize("name, dtype", [(n, d) for n in sorted(ACTIVATIONS)
                                         for d in _parity_dtypes(n)])
def test_new_activation_matches_torch_values_and_gradients_at_and_around_kinks(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = ACTIVATIONS[name]
    check_parity(ours(), theirs(torch), [_inputs((4, 2, 6), dtype)])


@pytest.mark.parametrize("name, dtype", [(n, d) for n in sorted(ACTIVATIONS)
                                         for d in _parity_dtypes(n)])
def test_new_activation_matches_torch_at_extreme_inputs(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = ACTIVATIONS[name]
    check_parity(ours(), theirs(torch), [_extremes(dtype)])


def test_hardsigmoid_float64_gradient_is_exactly_one_sixth_inside():
    x = tl.tensor([-3.0, -1.0, 0.5, 3.0], dtype=tl.float64, requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1 / 6, 1 / 6, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_new_activation_is_finite_without_numpy_warnings_for_inputs_of_1e4(name, dtype):
    x = tl.tensor(_extremes(dtype), requires_grad=True)
    # NOTE: underflow (exp(-1e4) -> 0) is the right answer, so only it may happen
    with np.errstate(all="raise", under="ignore"):
        out = ACTIVATIONS[name][0]()(x)
        (out * out).sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()


# the log-probability functions of a classifier's or a VAE's loss, on logits a badly scaled
# network produces; each is finite with its gradient even under errstate(all="raise")
LOG_PROBABILITY = {
    "softplus": F.softplus,
    "logsigmoid": F.logsigmoid,
    "logaddexp": lambda x: x.logaddexp(-x),
    "bce_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, (x > 0).to(x.dtype)),
    "soft_margin": lambda x: F.soft_margin_loss(x, (x > 0).to(x.dtype) * 2 - 1),
    "cross_entropy": lambda x: F.cross_entropy(x.reshape(1, -1), tl.tensor([3])),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOG_PROBABILITY))
def test_log_probabilities_of_1e4_raise_nothing_not_even_underflow(backend, name, dtype):
    """exp(-100) is a float32 denormal and exp(-1e4) is 0: the right answers, but numpy flags
    the underflow. Neither the forward nor the backward pass may surface it."""
    x = tl.tensor(EXTREMES.astype(dtype), requires_grad=True)
    with np.errstate(all="raise"):
        out = LOG_PROBABILITY[name](x)
        out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_smooth_activations_have_their_limits_at_plus_and_minus_1e4():
    x = tl.tensor([-1e4, 1e4], requires_grad=True)
    limits = {F.softplus: [0, 1e4], F.logsigmoid: [-1e4, 0], F.silu: [0, 1e4],
              F.mish: [0, 1e4], F.gelu: [0, 1e4], F.elu: [-1, 1e4], F.softsign: [-1, 1]}
    for fn, expected in limits.items():
        np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-4, atol=1e-4,
                                   err_msg=fn.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_activations_with_arguments_match_torch(dtype):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = _inputs((3, 8), dtype)
    check_parity(F.relu6, tF.relu6, [x])
    check_parity(lambda t: F.elu(t, 0.3), lambda t: tF.elu(t, 0.3), [x])
    check_parity(lambda t: F.celu(t, 0.5), lambda t: tF.celu(t, 0.5), [x])
    check_parity(lambda t: F.gelu(t, approximate="tanh"),
                 lambda t: tF.gelu(t, approximate="tanh"), [x])
    check_parity(lambda t: F.softplus(t, beta=0.5, threshold=1.0),
                 lambda t: tF.softplus(t, beta=0.5, threshold=1.0), [x])
    check_parity(lambda t: F.hardtanh(t, -2.0, 0.5), lambda t: tF.hardtanh(t, -2.0, 0.5), [x])
    check_parity(lambda t: F.threshold(t, 0.0, 5.0), lambda t: tF.threshold(t, 0.0, 5.0), [x])
    check_parity(lambda t: F.softmin(t, 0), lambda t: tF.softmin(t, 0), [x])
    check_parity(lambda t: F.glu(t, 0), lambda t: tF.glu(t, 0), [_inputs((4, 3), dtype)])


GRADCHECK_FUNCTIONS = {
    "elu": lambda x: F.elu(x, 0.7), "celu": lambda x: F.celu(x, 2.0), "selu": F.selu,
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, "tanh"), "silu": F.silu, "mish": F.mish,
    "softplus": lambda x: F.softplus(x, 2.0, 1.5), "softsign": F.softsign,
    "hardtanh": F.hardtanh, "relu6": lambda x: F.relu6(x * 4), "hardsigmoid": F.hardsigmoid,
    "hardswish": lambda x: F.hardswish(x * 3), "logsigmoid": F.logsigmoid,
    "softmin": lambda x: F.softmin(x, 1), "glu": lambda x: F.glu(x, 1),
    "normalize": F.normalize, "normalize_p3_dim0": lambda x: F.normalize(x, 3, 0),
    "layer_norm": lambda x: F.layer_norm(x, (4,)),
    "pad_reflect": lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"),
    "pad_replicate": lambda x: F.pad(x, (0, 3), mode="replicate"),
    "pad_constant_crop": lambda x: F.pad(x, (1, -2, 2, 1), value=1.5),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_FUNCTIONS))
def test_new_function_gradients_match_finite_differences(name):
    assert tl.gradcheck(GRADCHECK_FUNCTIONS[name], [_double(3, 4)])


def test_gelu_is_x_times_the_normal_cdf():
    x = np.linspace(-4, 4, 9)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    close(F.gelu(tl.tensor(x)).numpy(), x * cdf, np.float64)


@pytest.mark.parametrize("cls, args", [(nn.Hardtanh, (2.0, 1.0)), (nn.GELU, ("exact",))])
def test_activation_settings_that_make_no_sense_are_refused(cls, args):
    with pytest.raises(ValueError):
        cls(*args)


def test_glu_of_an_odd_dimension_is_refused():
    with pytest.raises(RuntimeError, match="must be even"):
        F.glu(tl.zeros(2, 5))


# ------------------------------------------------------------------ pad, normalize, cosine
PADS = [((1, 2), "constant"), ((1, 1, 2, 0), "constant"), ((-1, 2), "constant"),
        ((2, 1), "reflect"), ((1, 2, 2, 1), "reflect"), ((2, 3), "replicate"),
        ((1, 0, 0, 2), "replicate"), ((1, 2), "circular")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amounts, mode", PADS)
def test_pad_matches_torch(amounts, mode, dtype):
    torch = pytest.importorskip("torch")
    kw = {"value": 0.5} if mode == "constant" else {}
    check_parity(lambda t: F.pad(t, amounts, mode=mode, **kw),
                 lambda t: torch.nn.functional.pad(t, amounts, mode=mode, **kw),
                 [_inputs((2, 3, 4), dtype)])


def test_pad_constant_reflect_and_replicate_give_numpys_values():
    a = np.arange(12.0).reshape(3, 4)
    x = tl.tensor(a)
    np.testing.assert_array_equal(F.pad(x, (1, 2, 0, 1), value=-1).numpy(),
                                  np.pad(a, ((0, 1), (1, 2)), constant_values=-1))
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="reflect").numpy(),
                                  np.pad(a, ((0, 0), (2, 1)), mode="reflect"))
    np.testing.assert_array_equal(F.pad(x, (0, 0, 2, 2), mode="replicate").numpy(),
                                  np.pad(a, ((2, 2), (0, 0)), mode="edge"))
    np.testing.assert_array_equal(F.pad(x, (1, 1), mode="circular").numpy(),
                                  np.pad(a, ((0, 0), (1, 1)), mode="wrap"))


def test_pad_refuses_odd_lengths_unknown_modes_and_reflection_past_the_edge():
    """With PyTorch's classes of error."""
    x = tl.zeros(2, 3)
    with pytest.raises(RuntimeError, match="pairs"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(NotImplementedError, match="mode"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match="does not fit"):
        F.pad(x, (3, 0), mode="reflect")


@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize_and_cosine_similarity_match_torch(dtype):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, y = _inputs((4, 5), dtype), _inputs((4, 5), dtype, seed=1)
    check_parity(F.normalize, tF.normalize, [x])
    check_parity(lambda t: F.normalize(t, p=1.0, dim=0), lambda t: tF.normalize(t, 1.0, 0), [x])
    check_parity(lambda t: F.normalize(t, p=math.inf), lambda t: tF.normalize(t, math.inf),
                 [x])
    check_parity(F.cosine_similarity, tF.cosine_similarity, [x, y])
    check_parity(lambda a, b: F.cosine_similarity(a, b, dim=-1),
                 lambda a, b: tF.cosine_similarity(a, b, dim=-1), [x, y[:1]])


def test_normalize_leaves_a_zero_row_zero_with_finite_gradients():
    x = tl.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    with np.errstate(all="raise"):
        out = F.normalize(x)
        out.sum().backward()
    np.testing.assert_allclose(out.numpy(), [[0, 0], [0.6, 0.8]], rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


def test_cosine_similarity_of_parallel_and_opposite_vectors_is_plus_and_minus_one():
    a = tl.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    b = tl.tensor([[2.0, 4.0, 6.0], [-5.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.cosine_similarity(a, b).numpy(), [1, -1], rtol=1e-6)


# -------------------------------------------------------------------------------- embedding
def _torch_copy(module, cls, *args, **kwargs):
    """A torch module `cls(*args)` holding copies of `module`'s parameters and buffers."""
    torch = pytest.importorskip("torch")
    state = module.state_dict()
    dtype = torch.float64 if any(v.dtype == np.float64 for v in state.values()) \
        else torch.float32
    ref = cls(*args, **kwargs).to(dtype)
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                         for k, v in state.items()})
    return ref


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch_for_output_and_weight_gradient(padding_idx, dtype):
    torch = pytest.importorskip("torch")
    emb = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=dtype)
    ref = _torch_copy(emb, torch.nn.Embedding, 6, 3, padding_idx=padding_idx)
    idx = np.array([[0, 2, 5, 2], [5, 1, 1, 3]])
    check_parity(emb, ref, [idx], params=[(emb.weight, ref.weight)])


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    tl.manual_seed(0)
    emb = nn.Embedding(5, 4, padding_idx=1)
    np.testing.assert_array_equal(emb.weight.numpy()[1], 0)
    emb(tl.tensor([[1, 3, 1], [0, 1, 3]])).sum().backward()
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[1], 0)
    np.testing.assert_array_equal(grad[[0, 2, 3, 4], 0], [1, 0, 2, 0])  # row 3 twice


def test_functional_embedding_keeps_the_padding_rows_value():
    w = tl.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    out = F.embedding(tl.tensor([2, 0]), w, padding_idx=2)
    np.testing.assert_array_equal(out.numpy(), [[4, 5], [0, 1]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0]])


def test_embedding_weights_start_standard_normal_and_are_seeded():
    tl.manual_seed(3)
    w = nn.Embedding(1000, 50).weight.numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    tl.manual_seed(3)
    np.testing.assert_array_equal(nn.Embedding(1000, 50).weight.numpy(), w)


def test_embedding_refuses_float_and_out_of_range_indices():
    emb = nn.Embedding(4, 2)
    with pytest.raises(TypeError, match="integer"):
        emb(tl.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="index 4 is out of range for 4"):
        emb(tl.tensor([1, 4]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


# ------------------------------------------------------------------------------ layer norm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4), (3, 4)),
                                               ((2, 3, 5), [5])])
def test_layer_norm_matches_torch_for_input_weight_and_bias(shape, normalized, dtype):
    torch = pytest.importorskip("torch")
    ln = nn.LayerNorm(normalized, dtype=dtype)
    with tl.no_grad():  # NOTE: non-trivial affine parameters, so their gradients mean something
        ln.weight.copy_(_inputs(ln.weight.shape, dtype, seed=4))
        ln.bias.copy_(_inputs(ln.bias.shape, dtype, seed=5))
    ref = _torch_copy(ln, torch.nn.LayerNorm, normalized)
    check_parity(ln, ref, [_inputs(shape, dtype)],
                 params=[(ln.weight, ref.weight), (ln.bias, ref.bias)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_without_affine_or_bias_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = _inputs((3, 5), dtype)
    check_parity(nn.LayerNorm(5, elementwise_affine=False),
                 torch.nn.LayerNorm(5, elementwise_affine=False), [x])
    ln = nn.LayerNorm(5, eps=1e-3, bias=False, dtype=dtype)
    ref = _torch_copy(ln, torch.nn.LayerNorm, 5, eps=1e-3, bias=False)
    check_parity(ln, ref, [x], params=[(ln.weight, ref.weight)])


def test_layer_norm_output_has_zero_mean_and_unit_variance_per_row():
    x = tl.tensor(np.random.default_rng(0).normal(3.0, 5.0, (4, 100)))
    out = nn.LayerNorm(100, dtype=tl.float64)(x).numpy()
    np.testing.assert_allclose(out.mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(1), 1, rtol=1e-5)


def test_layer_norm_refuses_a_shape_that_is_not_the_inputs_tail():
    with pytest.raises(RuntimeError, match="does not match"):
        nn.LayerNorm(4)(tl.zeros(4, 3))


# ------------------------------------------------------------------------------ batch norm
def _batch_norm_pair(dtype, *args, **kwargs):
    torch = pytest.importorskip("torch")
    bn = nn.BatchNorm1d(*args, dtype=dtype, **kwargs)
    with tl.no_grad():
        for seed, p in enumerate(bn.parameters()):
            p.copy_(_inputs(p.shape, dtype, seed=4 + seed))
    return bn, _torch_copy(bn, torch.nn.BatchNorm1d, *args, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
def test_batch_norm_1d_matches_torch_in_training_then_eval_with_running_stats(shape, dtype):
    bn, ref = _batch_norm_pair(dtype, 4)
    params = [(bn.weight, ref.weight), (bn.bias, ref.bias)]
    for step in range(3):
        check_parity(bn, ref, [_inputs(shape, dtype, seed=step)], params=params)
        for name in ("running_mean", "running_var"):
            close(getattr(bn, name).numpy(), getattr(ref, name).detach().numpy(), dtype)
        assert bn.num_batches_tracked.item() == ref.num_batches_tracked.item() == step + 1
        bn.zero_grad()
        ref.zero_grad()
    bn.eval(), ref.eval()
    check_parity(bn, ref, [_inputs(shape, dtype, seed=9)], params=params)
    assert bn.num_batches_tracked.item() == 3  # eval leaves the statistics alone


@pytest.mark.parametrize("kwargs", [{"momentum": None}, {"affine": False},
                                    {"track_running_stats": False}, {"bias": False},
                                    {"eps": 0.1, "momentum": 0.5}])
def test_batch_norm_1d_options_match_torch_over_train_and_eval(kwargs):
    dtype = np.float64
    bn, ref = _batch_norm_pair(dtype, 3, **kwargs)
    params = [(p, q) for p, q in zip(bn.parameters(), ref.parameters())]
    for step, training in enumerate([True, True, False]):
        bn.train(training), ref.train(training)
        check_parity(bn, ref, [_inputs((6, 3), dtype, seed=step)], params=params)
        bn.zero_grad()
        ref.zero_grad()
    if bn.track_running_stats:
        close(bn.running_var.numpy(), ref.running_var.detach().numpy(), dtype)


def test_batch_norm_running_stats_move_by_momentum_with_unbiased_variance():
    x = np.random.default_rng(0).normal(2.0, 3.0, (10, 2))
    bn = nn.BatchNorm1d(2, momentum=0.25, dtype=tl.float64)
    out = bn(tl.tensor(x)).numpy()
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * x.var(0, ddof=1),
                               rtol=1e-12)
    # training normalizes by the batch's biased variance
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    bn.eval()
    running = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(bn(tl.tensor(x)).numpy(), running, rtol=1e-10)


def test_batch_norm_with_momentum_none_keeps_the_plain_average_of_batch_means():
    bn = nn.BatchNorm1d(1, momentum=None, dtype=tl.float64)
    means = []
    for seed in range(4):
        x = np.random.default_rng(seed).normal(seed, 1.0, (5, 1))
        bn(tl.tensor(x))
        means.append(x.mean())
    np.testing.assert_allclose(bn.running_mean.numpy(), [np.mean(means)], rtol=1e-12)


def test_batch_norm_refuses_one_value_per_channel_in_training_and_wrong_ranks():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tl.zeros(1, 3))
    bn.eval()(tl.zeros(1, 3))  # eval has running statistics: one sample is fine
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(tl.zeros(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="expected 3 channels"):  # PyTorch's type
        bn(tl.zeros(2, 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_2d_matches_torch_in_training(dtype):
    torch = pytest.importorskip("torch")
    bn = nn.BatchNorm2d(3, dtype=dtype)
    ref = _torch_copy(bn, torch.nn.BatchNorm2d, 3)
    check_parity(bn, ref, [_inputs((2, 3, 4, 2), dtype)],
                 params=[(bn.weight, ref.weight), (bn.bias, ref.bias)])
    close(bn.running_var.numpy(), ref.running_var.numpy(), dtype)


# ------------------------------------------------------------------- buffers, state dicts
def test_norm_and_embedding_state_dict_keys_are_pytorchs():
    assert list(nn.BatchNorm1d(4).state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm1d(4, affine=False, track_running_stats=False).state_dict()) == []
    assert list(nn.LayerNorm(4).state_dict()) == ["weight", "bias"]
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(nn.Embedding(3, 2).state_dict()) == ["weight"]
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.LayerNorm(4))
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "3.weight", "3.bias"]


@pytest.mark.parametrize("make", [
    lambda m: m.BatchNorm1d(4), lambda m: m.BatchNorm1d(4, affine=False, momentum=None),
    lambda m: m.LayerNorm((2, 3), bias=False), lambda m: m.Embedding(5, 2, padding_idx=1),
    lambda m: m.Sequential(m.Linear(2, 4), m.BatchNorm1d(4), m.GELU(), m.Unflatten(1, (2, 2)))])
def test_new_modules_have_torchs_state_dict_keys_shapes_and_repr(make):
    torch = pytest.importorskip("torch")
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    ref = theirs.state_dict()
    assert list(ours.state_dict()) == list(ref)
    for key, value in ours.state_dict().items():
        assert value.shape == tuple(ref[key].shape), key
        assert str(ref[key].dtype) == f"torch.{value.dtype}", key


def test_reprs_of_new_modules_follow_pytorchs_format():
    assert repr(nn.BatchNorm1d(4)) == ("BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")
    assert repr(nn.LayerNorm(4)) == ("LayerNorm((4,), eps=1e-05, elementwise_affine=True, "
                                     "bias=True)")
    assert repr(nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Unflatten(1, (2, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5))"


@pytest.mark.parametrize("name", ["ReLU6", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish",
                                  "Softplus", "Softsign", "Hardtanh", "Hardsigmoid",
                                  "Hardswish", "LogSigmoid", "GLU", "SmoothL1Loss",
                                  "HuberLoss", "KLDivLoss"])
def test_default_repr_of_new_module_is_torchs(name):
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


def test_buffers_are_in_the_state_dict_but_not_in_parameters_and_load_back():
    bn = nn.BatchNorm1d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                        "num_batches_tracked"]
    bn(tl.randn(8, 3) * 4 + 2)
    saved = {k: v.numpy().copy() for k, v in bn.state_dict().items()}
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(saved)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), saved[key])
    assert fresh.num_batches_tracked.dtype == np.int64
    with pytest.raises(RuntimeError, match='Missing key.*"running_var"'):
        fresh.load_state_dict({k: v for k, v in saved.items() if k != "running_var"})


def test_register_buffer_follows_torchs_rules():
    m = nn.Module()
    m.register_buffer("steps", tl.tensor(0))
    m.register_buffer("scratch", tl.zeros(2), persistent=False)
    m.register_buffer("unused", None)
    assert list(m.state_dict()) == ["steps"]
    assert [name for name, _ in m.named_buffers()] == ["steps", "scratch"]
    m.steps = tl.tensor(5)  # assigning a tensor replaces the buffer
    assert m.state_dict()["steps"].item() == 5 and list(m.parameters()) == []
    with pytest.raises(TypeError, match="buffer 'steps'"):
        m.steps = 3
    m.plain = 1
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", tl.zeros(1))
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", tl.zeros(1))
    del m.scratch
    assert [name for name, _ in m.named_buffers()] == ["steps"]


def test_buffers_round_trip_through_save_and_load(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(tl.randn(6, 3))
    tl.save(model.state_dict(), tmp_path / "m.npz")
    clone = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    clone.load_state_dict(tl.load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(clone[1].running_mean.numpy(), model[1].running_mean.numpy())
    assert clone[1].num_batches_tracked.item() == 1


# ------------------------------------------------------------------------------ containers
def test_module_dict_registers_its_modules_in_order_and_behaves_like_a_dict():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
    heads["extra"] = nn.ReLU()
    assert list(heads) == ["cls", "box", "extra"] and len(heads) == 3 and "box" in heads
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "box.weight",
                                                        "box.bias"]
    assert isinstance(heads.pop("extra"), nn.ReLU) and list(heads.keys()) == ["cls", "box"]
    del heads["box"]
    assert repr(heads) == ("ModuleDict(\n  (cls): Linear(in_features=4, out_features=3, "
                           "bias=True)\n)")


def test_parameter_list_and_dict_wrap_tensors_and_show_in_the_parent():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([tl.ones(2), nn.Parameter(tl.zeros(3, 1))])
            self.extra = nn.ParameterDict({"b": tl.zeros(1), "a": tl.ones(2)})

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scales.0", "scales.1", "extra.a",
                                                      "extra.b"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    net.scales.append(tl.zeros(4))
    assert net.scales[-1].shape == (4,) and len(net.scales[1:]) == 2
    assert repr(net.scales) == ("ParameterList(\n"
                                "    (0): Parameter containing: [float32 of size 2]\n"
                                "    (1): Parameter containing: [float32 of size 3x1]\n"
                                "    (2): Parameter containing: [float32 of size 4]\n)")
    with pytest.raises(IndexError, match="out of range"):
        net.scales[3]


def test_parameter_containers_have_torchs_state_dict_keys_and_repr():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterDict(OrderedDict([("z", tl.zeros(2)), ("y", tl.zeros(1, 3))]))
    theirs = torch.nn.ParameterDict(OrderedDict([("z", torch.zeros(2)),
                                                 ("y", torch.zeros(1, 3))]))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["z", "y"]
    assert repr(ours) == repr(theirs).replace("torch.FloatTensor", "float32")
    assert repr(nn.ParameterList([tl.zeros(3)])) == repr(
        torch.nn.ParameterList([torch.zeros(3)])).replace("torch.float32", "float32")


# ---------------------------------------------------------------------------------- losses
def _regression_pair(dtype, shape=(6, 3)):
    x = _inputs(shape, dtype, scale=1.5)
    return [x, x + _inputs(shape, dtype, seed=1, scale=1.0)]


def _kl_inputs(dtype, log_target=False):
    rng = np.random.default_rng(2)
    logp = np.log(rng.dirichlet(np.ones(5), size=4)).astype(dtype)
    q = rng.dirichlet(np.ones(5), size=4).astype(dtype)
    return [logp, np.log(q) if log_target else q]


LOSSES = {  # name -> (ours(reduction), torch's(torch, reduction), inputs(dtype))
    "smooth_l1": (lambda r: nn.SmoothL1Loss(reduction=r),
                  lambda t, r: t.nn.SmoothL1Loss(reduction=r), _regression_pair),
    "smooth_l1_beta": (lambda r: nn.SmoothL1Loss(reduction=r, beta=0.4),
                       lambda t, r: t.nn.SmoothL1Loss(reduction=r, beta=0.4), _regression_pair),
    "smooth_l1_beta_0": (lambda r: nn.SmoothL1Loss(reduction=r, beta=0.0),
                         lambda t, r: t.nn.SmoothL1Loss(reduction=r, beta=0.0),
                         _regression_pair),
    "huber": (lambda r: nn.HuberLoss(reduction=r),
              lambda t, r: t.nn.HuberLoss(reduction=r), _regression_pair),
    "huber_delta": (lambda r: nn.HuberLoss(reduction=r, delta=2.5),
                    lambda t, r: t.nn.HuberLoss(reduction=r, delta=2.5), _regression_pair),
    "kl_div": (lambda r: nn.KLDivLoss(reduction=r),
               lambda t, r: t.nn.KLDivLoss(reduction=r), _kl_inputs),
    "kl_div_log_target": (lambda r: nn.KLDivLoss(reduction=r, log_target=True),
                          lambda t, r: t.nn.KLDivLoss(reduction=r, log_target=True),
                          lambda d: _kl_inputs(d, log_target=True)),
    "margin_ranking": (lambda r: nn.MarginRankingLoss(0.3, reduction=r),
                       lambda t, r: t.nn.MarginRankingLoss(0.3, reduction=r),
                       lambda d: _regression_pair(d, (8,)) + [np.sign(_inputs(8, d, 3)) + (
                           _inputs(8, d, 3) == 0)]),
    "cosine_embedding": (lambda r: nn.CosineEmbeddingLoss(0.2, reduction=r),
                         lambda t, r: t.nn.CosineEmbeddingLoss(0.2, reduction=r),
                         lambda d: _regression_pair(d, (5, 4)) + [np.array([1, -1, -1, 1, -1])]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_new_loss_matches_torch_for_every_reduction(name, reduction, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, inputs = LOSSES[name]
    check_parity(ours(reduction), theirs(torch, reduction), inputs(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_batchmean_matches_torch(log_target, dtype):
    torch = pytest.importorskip("torch")
    check_parity(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=log_target),
                 lambda a, b: torch.nn.functional.kl_div(a, b, reduction="batchmean",
                                                         log_target=log_target),
                 _kl_inputs(dtype, log_target))


def test_kl_div_batchmean_is_the_kl_divergence_per_sample_and_zero_targets_add_nothing():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.25, 0.25, 0.5], [0.2, 0.3, 0.5]])
    with np.errstate(all="raise"):
        loss = F.kl_div(tl.tensor(np.log(q)), tl.tensor(p), reduction="batchmean")
    assert loss.item() == pytest.approx(np.log(2) / 2, rel=1e-12)


def test_huber_and_smooth_l1_are_quadratic_inside_and_linear_outside():
    x, y = tl.tensor([0.0, 0.5, 3.0, -4.0]), tl.tensor([0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(F.huber_loss(x, y, "none", delta=2.0).numpy(),
                               [0, 0.125, 2 * (3 - 1), 2 * (4 - 1)])
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none", beta=2.0).numpy(),
                               [0, 0.0625, 3 - 1, 4 - 1])


LOSS_GRADCHECKS = {
    "smooth_l1": lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
    "huber": lambda a, b: F.huber_loss(a, b, "sum", delta=0.7),
    "kl_div": lambda a, b: F.kl_div(a, b.abs() + 0.1, reduction="batchmean"),
    "kl_div_log_target": lambda a, b: F.kl_div(a, b, reduction="none", log_target=True),
    "cosine_similarity": lambda a, b: F.cosine_similarity(a, b),
}


@pytest.mark.parametrize("name", sorted(LOSS_GRADCHECKS))
def test_new_loss_gradients_match_finite_differences(name):
    assert tl.gradcheck(LOSS_GRADCHECKS[name], [_double(3, 4), _double(3, 4, seed=1)])


def test_loss_reductions_are_checked_and_only_kl_div_takes_batchmean():
    with pytest.raises(ValueError, match="'mean', 'sum' or 'none', got 'batchmean'"):
        nn.HuberLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="'mean', 'sum', 'none' or 'batchmean'"):
        nn.KLDivLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


def test_regression_losses_warn_on_shapes_that_broadcast_and_refuse_others():
    with pytest.warns(UserWarning, match="broadcasting"):
        F.smooth_l1_loss(tl.zeros(4, 1), tl.zeros(4))
    with pytest.raises(RuntimeError):
        F.smooth_l1_loss(tl.zeros(4, 2), tl.zeros(3))


# ------------------------------------------------------------------------------- nn.utils
def _grads_like_torch(norm_type, scale):
    """Two twin models with the same gradients (times `scale`), in both frameworks."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [scale * rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2,)]]
    ours = [tl.zeros(g.shape, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = tl.tensor(g.copy()), torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch_for_norm_and_clipped_gradients(norm_type, scale):
    torch = pytest.importorskip("torch")
    ours, theirs = _grads_like_torch(norm_type, scale)
    total = nn.utils.clip_grad_norm_(ours, max_norm=1.5, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, tl.Tensor) and total.shape == () and total.dtype == np.float32
    close(total.numpy(), ref.numpy(), np.float32)
    for p, q in zip(ours, theirs):
        close(p.grad.numpy(), q.grad.numpy(), np.float32)


def test_clip_grad_norm_scales_all_gradients_jointly_to_max_norm():
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(1, requires_grad=True)
    a.grad, b.grad = tl.tensor([3.0, 0.0]), tl.tensor([4.0])
    none = tl.zeros(1, requires_grad=True)  # no gradient: skipped
    total = nn.utils.clip_grad_norm_([a, b, none], 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)
    assert none.grad is None
    assert nn.utils.clip_grad_norm_([a, b], 10.0).item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)  # under max_norm: unchanged


def test_clip_grad_norm_can_refuse_a_nonfinite_norm():
    p = tl.zeros(2, requires_grad=True)
    p.grad = tl.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_every_gradient_entry():
    model = nn.Linear(3, 2)
    (model(tl.ones(4, 3)) * 10).sum().backward()
    nn.utils.clip_grad_value_(model.parameters(), 0.5)
    np.testing.assert_array_equal(model.bias.grad.numpy(), [0.5, 0.5])
    assert np.abs(model.weight.grad.numpy()).max() == pytest.approx(0.5)


def test_parameters_to_vector_and_back_round_trips_and_keeps_the_graph():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 2 + 2 + 2 + 1,)
    (vec * vec).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * model[0].weight.numpy())
    nn.utils.vector_to_parameters(tl.arange(11, dtype=tl.float32), model.parameters())
    np.testing.assert_array_equal(model[0].weight.numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(model[1].bias.numpy(), [10])
    with pytest.raises(ValueError, match="11 values"):
        nn.utils.vector_to_parameters(tl.zeros(10), model.parameters())


# ------------------------------------------------------------------------------- training
def test_mlp_with_norms_and_new_activations_trains_like_torch_for_10_sgd_steps():
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)

    def build(m, **kw):
        return m.Sequential(m.Linear(6, 8, **kw), m.BatchNorm1d(8, **kw), m.GELU(),
                            m.Linear(8, 8, **kw), m.LayerNorm(8, **kw), m.Mish(),
                            m.Linear(8, 1, **kw))

    ours, theirs = build(nn, dtype=tl.float64), build(torch.nn, dtype=torch.float64)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 6)), rng.standard_normal((16, 1))
    losses = []
    for _ in range(10):
        loss = F.huber_loss(ours(tl.tensor(x)), tl.tensor(y))
        ref = torch.nn.functional.huber_loss(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward(), ref.backward()
        nn.utils.clip_grad_norm_(ours.parameters(), 0.5)
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5)
        with tl.no_grad(), torch.no_grad():
            for p, q in zip(ours.parameters(), theirs.parameters()):
                p -= 0.1 * p.grad
                q -= 0.1 * q.grad
                p.grad, q.grad = None, None
        losses.append((loss.item(), ref.item()))
    np.testing.assert_allclose(*zip(*losses), rtol=1e-9)
    assert losses[-1][0] < losses[0][0]
    ours.eval(), theirs.eval()
    close(ours(tl.tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(), np.float64)


INPLACE_LAYERS = ["ReLU", "ReLU6", "LeakyReLU(0.2)", "ELU(0.5)", "CELU", "SELU", "SiLU", "Mish",
                  "Hardtanh(-2.0, 2.0)", "Hardsigmoid", "Hardswish", "Threshold(0.1, -1.0)",
                  "Dropout(0.0)"]


def _layer(lib_nn, spec: str, inplace: bool):
    name, _, args = spec.partition("(")
    args = args.rstrip(")")
    return eval(f"nn.{name}({args + ', ' if args else ''}inplace={inplace})", {"nn": lib_nn})


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("spec", INPLACE_LAYERS)
def test_inplace_flag_shows_in_the_repr_like_torch(spec, inplace):
    torch = pytest.importorskip("torch")
    assert repr(_layer(nn, spec, inplace)) == repr(_layer(torch.nn, spec, inplace))


@pytest.mark.parametrize("spec", INPLACE_LAYERS)
def test_inplace_layers_overwrite_their_input_and_keep_torchs_gradients(spec):
    x0 = np.linspace(-4, 4, 12).reshape(3, 4)

    def run(lib, lib_nn):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        h = x * 1.5                      # a non-leaf: in place is allowed on it
        before = h + 0                   # an earlier user of h's old value
        out = _layer(lib_nn, spec, True)(h)
        assert out is h                  # the input tensor itself holds the result
        (out.sum() * 2 + (before * before).sum()).backward()
        return np.asarray(out.detach().numpy()), np.asarray(x.grad.numpy())

    got = run(tl, nn)
    expected_out = _layer(nn, spec, False)(tl.tensor(x0 * 1.5)).numpy()
    np.testing.assert_allclose(got[0], expected_out, rtol=1e-12)
    torch = pytest.importorskip("torch")
    want = run(torch, torch.nn)
    # NOTE: 1e-7, not 1e-10: torch's float64 hardsigmoid backward uses a float32 1/6
    np.testing.assert_allclose(got[0], want[0], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-7, atol=1e-12)


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    x = tl.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="relu_: a leaf tensor that requires grad"):
        F.relu(x, inplace=True)
