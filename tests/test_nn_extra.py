"""Still more of torch.nn: PReLU and the shrink activations, RMS / group / instance norms,
padding modules, channel dropout, distances, six more losses, four more initialisers, pixel
shuffle and scaled dot-product attention.

Every function and module is checked against PyTorch (values and gradients, float32 and
float64) with `check_parity`; the random ones by their statistics.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from nn_parity import check_parity

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _randn(*shape, dtype=np.float64, seed=0, scale=1.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def _twin(ours, theirs, dtype, seed=1):
    """`theirs` in `dtype`, with every parameter of both set to the same random values;
    returns it and the (ours, theirs) parameter pairs for `check_parity`."""
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    if dtype == np.float64:
        ours = ours.double()
    pairs = list(zip(ours.parameters(), theirs.parameters()))
    with torch.no_grad(), tl.no_grad():
        for i, (a, b) in enumerate(pairs):
            values = _randn(*a.shape, dtype=dtype, seed=seed + i) + 1.0
            a.copy_(tl.tensor(values))
            b.copy_(torch.from_numpy(values))
    return theirs, pairs


def _module_parity(make, make_torch, arrays, dtype):
    ours = make()
    theirs, pairs = _twin(ours, make_torch(), dtype)
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    check_parity(ours, theirs, arrays, params=pairs)


# ------------------------------------------------------------------------------ activations
SHRINK_POINTS = [-1.0, -0.5, -0.3, 0.0, 0.3, 0.5, 1.0]


def _around_kinks(dtype):
    a = _randn(3, 4, 5, dtype=np.float64)
    a.flat[:len(SHRINK_POINTS)] = SHRINK_POINTS
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args", [("softshrink", ()), ("softshrink", (0.3,)),
                                        ("hardshrink", ()), ("hardshrink", (1.0,)),
                                        ("tanhshrink", ())])
def test_shrink_functions_match_torch_including_gradients_at_the_lambd_boundaries(
        name, args, dtype):
    check_parity(lambda x: getattr(F, name)(x, *args),
                 lambda x: getattr(torch.nn.functional, name)(x, *args),
                 [_around_kinks(dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", ["Softshrink()", "Hardshrink(0.3)", "Tanhshrink()"])
def test_shrink_modules_match_torch(spec, dtype):
    _module_parity(lambda: eval("nn." + spec, {"nn": nn}),
                   lambda: eval("nn." + spec, {"nn": torch.nn}), [_around_kinks(dtype)],
                   dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_parameters", [1, 4])
def test_prelu_matches_torch_for_input_and_learned_slopes(num_parameters, dtype):
    x = _around_kinks(np.float64).reshape(3, 4, 5)
    _module_parity(lambda: nn.PReLU(num_parameters), lambda: torch.nn.PReLU(num_parameters),
                   [x], dtype)


def test_prelu_starts_at_init_and_refuses_a_channel_count_mismatch():
    layer = nn.PReLU(3, init=0.1)
    np.testing.assert_array_equal(layer.weight.numpy(), np.full(3, 0.1, np.float32))
    with pytest.raises(RuntimeError, match="3 slopes"):
        layer(tl.randn(2, 4))


def test_softshrink_refuses_a_negative_lambd():
    with pytest.raises(RuntimeError, match="lambd must be >= 0"):
        F.softshrink(tl.randn(3), -0.1)


# ------------------------------------------------------------------------------ norms
NORMS = {
    "rms_norm": (lambda: nn.RMSNorm(5), lambda: torch.nn.RMSNorm(5), (3, 4, 5)),
    "rms_norm_2d_eps": (lambda: nn.RMSNorm((4, 5), eps=1e-3),
                        lambda: torch.nn.RMSNorm((4, 5), eps=1e-3), (3, 4, 5)),
    "rms_norm_plain": (lambda: nn.RMSNorm(5, elementwise_affine=False),
                       lambda: torch.nn.RMSNorm(5, elementwise_affine=False), (3, 4, 5)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4), (3, 4, 5, 2)),
    "group_norm_2d_input": (lambda: nn.GroupNorm(3, 6, eps=1e-3),
                            lambda: torch.nn.GroupNorm(3, 6, eps=1e-3), (5, 6)),
    "group_norm_plain": (lambda: nn.GroupNorm(1, 4, affine=False),
                         lambda: torch.nn.GroupNorm(1, 4, affine=False), (3, 4, 5)),
    "instance_norm1d": (lambda: nn.InstanceNorm1d(4), lambda: torch.nn.InstanceNorm1d(4),
                        (3, 4, 6)),
    "instance_norm1d_unbatched": (lambda: nn.InstanceNorm1d(4, affine=True),
                                  lambda: torch.nn.InstanceNorm1d(4, affine=True), (4, 6)),
    "instance_norm2d_affine": (lambda: nn.InstanceNorm2d(4, affine=True),
                               lambda: torch.nn.InstanceNorm2d(4, affine=True), (2, 4, 3, 5)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm_layer_matches_torch_values_and_gradients(name, dtype):
    make, make_torch, shape = NORMS[name]
    _module_parity(make, make_torch, [_randn(*shape, scale=3.0) + 0.5], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_norms_match_torch_with_weight_and_bias(dtype):
    x = _randn(2, 6, 7, dtype=dtype)
    w, b = _randn(6, dtype=dtype, seed=1), _randn(6, dtype=dtype, seed=2)
    check_parity(lambda x, w, b: F.group_norm(x, 2, w, b, 1e-4),
                 lambda x, w, b: torch.nn.functional.group_norm(x, 2, w, b, 1e-4), [x, w, b])
    check_parity(lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3),
                 lambda x, w, b: torch.nn.functional.instance_norm(x, weight=w, bias=b,
                                                                   eps=1e-3), [x, w, b])
    check_parity(lambda x, w: F.rms_norm(x, (7,), w[:1].expand(7)),
                 lambda x, w: torch.nn.functional.rms_norm(x, (7,), w[:1].expand(7)), [x, w])


def test_norm_layers_refuse_settings_they_cannot_honour():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(tl.randn(2, 4, 3), 3)
    with pytest.raises(RuntimeError, match="does not match"):
        F.rms_norm(tl.randn(2, 3), 4)


# ------------------------------------------------------------------------------ padding
PADDINGS = ["ZeroPad1d(2)", "ZeroPad1d((0, 3))", "ZeroPad2d((1, 0, 2, 1))",
            "ZeroPad2d((1, -1, 0, 2))", "ConstantPad1d((2, 1), 3.5)", "ConstantPad2d(1, -2.0)",
            "ReflectionPad1d((3, 1))", "ReflectionPad2d((1, 2, 2, 0))",
            "ReplicationPad1d(4)", "ReplicationPad2d((0, 3, 1, 2))", "CircularPad1d((2, 3))",
            "CircularPad2d(1)"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", PADDINGS)
def test_padding_module_matches_torch_values_and_gradients(spec, dtype):
    shape = (2, 3, 5) if "1d" in spec else (2, 3, 4, 5)
    _module_parity(lambda: eval("nn." + spec, {"nn": nn}),
                   lambda: eval("nn." + spec, {"nn": torch.nn}), [_randn(*shape)], dtype)


# ------------------------------------------------------------------------------ channel dropout
@pytest.mark.parametrize("nd, shape", [(1, (40, 50, 6)), (2, (40, 50, 3, 2)), (2, (80, 3, 4))])
def test_channel_dropout_zeroes_whole_channels_at_rate_p_and_scales_the_rest(nd, shape):
    tl.manual_seed(0)
    p = 0.3
    x = tl.tensor(np.random.default_rng(0).uniform(1, 2, shape), requires_grad=True)
    out = getattr(F, f"dropout{nd}d")(x, p)
    ratio = (out.numpy() / x.numpy()).reshape(shape[:-nd] + (-1,))
    per_channel = ratio[..., :1]
    np.testing.assert_allclose(ratio, np.broadcast_to(per_channel, ratio.shape), atol=1e-12)
    assert set(np.round(np.unique(per_channel), 12)) == {0.0, round(1 / (1 - p), 12)}
    dropped = (per_channel == 0).mean()
    assert abs(dropped - p) < 0.06, dropped  # ~2000 channels: 5 standard deviations
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ratio.reshape(shape))


@pytest.mark.parametrize("layer", [nn.Dropout1d(0.5), nn.Dropout2d(0.9)])
def test_channel_dropout_is_the_identity_in_eval_mode_and_checks_ranks_as_pytorch(layer):
    x = tl.randn(2, 3, 4, 5) if isinstance(layer, nn.Dropout2d) else tl.randn(2, 3, 4)
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert not np.array_equal(layer(x).numpy(), x.numpy())
    if isinstance(layer, nn.Dropout1d):
        with pytest.raises(RuntimeError, match="expected a"):
            layer(tl.randn(5))
        return
    # NOTE: PyTorch 2.13's Dropout2d warns on other ranks and goes on: elementwise on 2-D
    # (an old MNIST example puts it after a Linear), per (N, C) above 4-D
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        flat = layer(tl.ones(200, 300)).numpy()
    assert 0.85 < (flat == 0).mean() < 0.95 and 0 < (flat == 0).mean(axis=1).min()
    with pytest.warns(UserWarning, match="Received a 5-D input"):
        deep = layer(tl.ones(4, 5, 2, 3, 3)).numpy().reshape(20, -1)
    assert all(len(set(row)) == 1 for row in deep)  # NOTE: whole (N, C) groups


def test_channel_dropout_with_p_one_gives_zeros_and_p_zero_the_input():
    x = tl.randn(2, 3, 4)
    np.testing.assert_array_equal(F.dropout1d(x, 1.0).numpy(), np.zeros((2, 3, 4)))
    assert F.dropout1d(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# ------------------------------------------------------------------------------ distances
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p, keepdim", [(2.0, False), (1.0, True), (3.0, False),
                                        (math.inf, False)])
def test_pairwise_distance_matches_torch(p, keepdim, dtype):
    x1, x2 = _randn(4, 6, dtype=dtype), _randn(4, 6, dtype=dtype, seed=1)
    check_parity(lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
                 lambda a, b: torch.nn.functional.pairwise_distance(a, b, p, keepdim=keepdim),
                 [x1, x2])
    _module_parity(lambda: nn.PairwiseDistance(p, 1e-3, keepdim),
                   lambda: torch.nn.PairwiseDistance(p, 1e-3, keepdim), [x1, x2], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity_module_matches_torch_along_its_dim(dtype):
    x1, x2 = _randn(3, 4, 5, dtype=dtype), _randn(3, 4, 5, dtype=dtype, seed=1)
    _module_parity(lambda: nn.CosineSimilarity(dim=2),
                   lambda: torch.nn.CosineSimilarity(dim=2), [x1, x2], dtype)


# ------------------------------------------------------------------------------ losses
def _signs(*shape, seed=3):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


LOSSES = {
    "hinge": (lambda: nn.HingeEmbeddingLoss(), lambda: torch.nn.HingeEmbeddingLoss(),
              lambda: [_randn(4, 5, scale=2.0), _signs(4, 5).astype(np.int64)]),
    "hinge_margin_sum": (lambda: nn.HingeEmbeddingLoss(0.5, reduction="sum"),
                         lambda: torch.nn.HingeEmbeddingLoss(0.5, reduction="sum"),
                         lambda: [_randn(4, 5, scale=2.0), _signs(4, 5).astype(np.int64)]),
    "soft_margin": (lambda: nn.SoftMarginLoss(), lambda: torch.nn.SoftMarginLoss(),
                    lambda: [_randn(4, 5, scale=5.0), _signs(4, 5)]),
    "soft_margin_none": (lambda: nn.SoftMarginLoss(reduction="none"),
                         lambda: torch.nn.SoftMarginLoss(reduction="none"),
                         lambda: [_randn(4, 5, scale=5.0), _signs(4, 5)]),
    "multilabel": (lambda: nn.MultiLabelSoftMarginLoss(),
                   lambda: torch.nn.MultiLabelSoftMarginLoss(),
                   lambda: [_randn(4, 5, scale=3.0), (_signs(4, 5) > 0) * 1.0]),
    "multilabel_none": (lambda: nn.MultiLabelSoftMarginLoss(reduction="none"),
                        lambda: torch.nn.MultiLabelSoftMarginLoss(reduction="none"),
                        lambda: [_randn(4, 5, scale=3.0), (_signs(4, 5) > 0) * 1.0]),
    "poisson": (lambda: nn.PoissonNLLLoss(), lambda: torch.nn.PoissonNLLLoss(),
                lambda: [_randn(4, 5), np.arange(20.0).reshape(4, 5) % 4]),
    "poisson_rates_full": (lambda: nn.PoissonNLLLoss(False, True, reduction="sum"),
                           lambda: torch.nn.PoissonNLLLoss(False, True, reduction="sum"),
                           lambda: [np.abs(_randn(4, 5)) + 0.1,
                                    np.arange(20.0).reshape(4, 5) % 4]),
    "gaussian": (lambda: nn.GaussianNLLLoss(), lambda: torch.nn.GaussianNLLLoss(),
                 lambda: [_randn(4, 5), _randn(4, 5, seed=1), np.abs(_randn(4, 5, seed=2))]),
    "gaussian_clamped_full": (
        lambda: nn.GaussianNLLLoss(full=True, eps=0.1, reduction="none"),
        lambda: torch.nn.GaussianNLLLoss(full=True, eps=0.1, reduction="none"),
        lambda: [_randn(4, 5), _randn(4, 5, seed=1), np.abs(_randn(4, 1, seed=2))]),
    "gaussian_per_sample_var": (lambda: nn.GaussianNLLLoss(), lambda: torch.nn.GaussianNLLLoss(),
                                lambda: [_randn(4, 5), _randn(4, 5, seed=1),
                                         np.abs(_randn(4, seed=2)) + 0.1]),
    "triplet": (lambda: nn.TripletMarginLoss(), lambda: torch.nn.TripletMarginLoss(),
                lambda: [_randn(6, 5), _randn(6, 5, seed=1), _randn(6, 5, seed=2)]),
    "triplet_swap_p1": (lambda: nn.TripletMarginLoss(2.0, p=1.0, swap=True, reduction="none"),
                        lambda: torch.nn.TripletMarginLoss(2.0, p=1.0, swap=True,
                                                           reduction="none"),
                        lambda: [_randn(6, 5), _randn(6, 5, seed=1), _randn(6, 5, seed=2)]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_new_loss_matches_torch_values_and_gradients(name, dtype):
    make, make_torch, arrays = LOSSES[name]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays()]
    target = arrays.pop(1)  # NOTE: a constant: PyTorch refuses a gradient for some targets
    ours, theirs = make(), make_torch()

    def with_target(loss, wrap):
        return lambda x, *rest: loss(x, wrap(target), *rest)

    check_parity(with_target(ours, tl.tensor), with_target(theirs, torch.from_numpy), arrays)


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_losses_match_torch(dtype):
    x, y = _randn(4, 5, dtype=dtype), _signs(4, 5).astype(dtype)
    tf = torch.nn.functional
    check_parity(lambda x: F.hinge_embedding_loss(x, tl.tensor(y), 2.0),
                 lambda x: tf.hinge_embedding_loss(x, torch.from_numpy(y), 2.0), [x])
    check_parity(lambda x: F.soft_margin_loss(x, tl.tensor(y)),
                 lambda x: tf.soft_margin_loss(x, torch.from_numpy(y)), [x])
    w = np.abs(_randn(5, dtype=dtype, seed=4))
    labels = (y > 0).astype(dtype)
    check_parity(lambda x: F.multilabel_soft_margin_loss(x, tl.tensor(labels), tl.tensor(w)),
                 lambda x: tf.multilabel_soft_margin_loss(x, torch.from_numpy(labels),
                                                          torch.from_numpy(w)), [x])
    check_parity(lambda x: F.poisson_nll_loss(x, tl.tensor(labels * 3), full=True),
                 lambda x: tf.poisson_nll_loss(x, torch.from_numpy(labels * 3), full=True), [x])
    check_parity(lambda a, b, v: F.gaussian_nll_loss(a, b, v.abs()),
                 lambda a, b, v: tf.gaussian_nll_loss(a, b, v.abs()), [x, x[::-1].copy(), x + 3])
    check_parity(lambda a, p, n: F.triplet_margin_loss(a, p, n, 0.5, 3.0, swap=True),
                 lambda a, p, n: tf.triplet_margin_loss(a, p, n, 0.5, 3.0, swap=True),
                 [x, x[::-1].copy(), x * 2])


def test_gaussian_nll_loss_refuses_a_var_that_fits_neither_way():
    with pytest.raises(ValueError, match="var"):
        F.gaussian_nll_loss(tl.randn(4, 5), tl.randn(4, 5), tl.ones(4, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(tl.randn(4, 5), tl.randn(4, 5), -tl.ones(4, 5))


# ------------------------------------------------------------------------------ init
def test_trunc_normal_stays_within_its_bounds_with_the_truncated_moments():
    tl.manual_seed(0)
    w = nn.init.trunc_normal_(tl.empty(200, 200, requires_grad=True), 0.5, 2.0, -1.0, 3.0)
    values = w.numpy()
    assert values.min() >= -1.0 and values.max() <= 3.0 and w.requires_grad
    # N(0.5, 4) truncated to [-1, 3]: alpha = -0.75, beta = 1.25
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(1.25) - cdf(-0.75)
    mean = 0.5 + 2.0 * (pdf(-0.75) - pdf(1.25)) / mass
    var = 4.0 * (1 + (-0.75 * pdf(-0.75) - 1.25 * pdf(1.25)) / mass
                 - ((pdf(-0.75) - pdf(1.25)) / mass) ** 2)
    assert abs(values.mean() - mean) < 0.01 and abs(values.var() - var) < 0.02


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (8, 2, 3, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    tl.manual_seed(1)
    w = nn.init.orthogonal_(tl.empty(*shape, dtype=tl.float64), gain=2.0).numpy()
    flat = w.reshape(shape[0], -1) / 2.0
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, np.eye(len(small)), atol=1e-12)
    again = nn.init.orthogonal_(tl.empty(*shape, dtype=tl.float64)).numpy()
    assert not np.allclose(again, w / 2.0)  # a fresh draw each time


def test_orthogonal_is_uniform_so_its_diagonal_has_no_sign_bias():
    tl.manual_seed(2)
    diagonals = [np.diag(nn.init.orthogonal_(tl.empty(3, 3, dtype=tl.float64)).numpy())
                 for _ in range(400)]
    # without the sign correction numpy's Q has a biased diagonal
    assert abs(np.mean(diagonals)) < 0.06


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2),
                                           ((3, 5, 2, 3), 1), ((4, 2, 3, 3, 3), 2)])
def test_eye_and_dirac_match_torch(shape, groups):
    ours = nn.init.dirac_(tl.empty(*shape, requires_grad=True), groups).numpy()
    theirs = torch.nn.init.dirac_(torch.empty(*shape), groups).numpy()
    np.testing.assert_array_equal(ours, theirs)
    for size in [(3, 5), (4, 2)]:
        np.testing.assert_array_equal(nn.init.eye_(tl.empty(*size)).numpy(),
                                      torch.nn.init.eye_(torch.empty(*size)).numpy())


def test_dirac_convolution_passes_its_input_through():
    weight = nn.init.dirac_(tl.empty(3, 3, 3, 3))
    x = tl.randn(2, 3, 5, 5)
    np.testing.assert_allclose(F.conv2d(x, weight, padding=1).numpy(), x.numpy(), atol=1e-6)


def test_init_draws_are_reproducible_under_manual_seed():
    tl.manual_seed(5)
    a = nn.init.trunc_normal_(tl.empty(5, 5)).numpy(), nn.init.orthogonal_(tl.empty(3, 4))
    tl.manual_seed(5)
    b = nn.init.trunc_normal_(tl.empty(5, 5)).numpy(), nn.init.orthogonal_(tl.empty(3, 4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


# ------------------------------------------------------------------------------ shuffle, attention
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 1, 4, 3, 2), 1)])
def test_pixel_shuffle_and_unshuffle_match_torch_and_invert_each_other(shape, r, dtype):
    x = _randn(*shape, dtype=dtype)
    _module_parity(lambda: nn.PixelShuffle(r), lambda: torch.nn.PixelShuffle(r), [x], dtype)
    up = F.pixel_shuffle(tl.tensor(x), r)
    _module_parity(lambda: nn.PixelUnshuffle(r), lambda: torch.nn.PixelUnshuffle(r),
                   [up.numpy()], dtype)
    np.testing.assert_array_equal(F.pixel_unshuffle(up, r).numpy(), x)


def test_pixel_shuffle_refuses_indivisible_sizes():
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_shuffle(tl.randn(1, 6, 2, 2), 2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_unshuffle(tl.randn(1, 1, 3, 4), 2)


def _masks(kind):
    if kind == "bool":
        return np.random.default_rng(7).random((5, 6)) < 0.7
    if kind == "float":
        return _randn(2, 1, 5, 6, seed=8)
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask, causal, scale", [(None, False, None), ("bool", False, None),
                                                 ("float", False, 0.3), (None, True, None)])
def test_scaled_dot_product_attention_matches_torch(mask, causal, scale, dtype):
    q, k, v = (_randn(2, 3, 5, 4, dtype=dtype), _randn(2, 3, 6, 4, dtype=dtype, seed=1),
               _randn(2, 3, 6, 7, dtype=dtype, seed=2))
    m = _masks(mask)
    if mask == "bool":
        m[:, 0] = True  # NOTE: a row masked everywhere is NaN in both
    if mask == "float":
        m = m.astype(dtype)
    ours_mask = None if m is None else tl.tensor(m)
    theirs_mask = None if m is None else torch.from_numpy(m)
    check_parity(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, ours_mask, is_causal=causal,
                                                       scale=scale),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, theirs_mask, is_causal=causal, scale=scale), [q, k, v])


@pytest.mark.parametrize("dtype", DTYPES)
def test_grouped_query_attention_shares_each_key_head_with_a_group_as_torch(dtype):
    q, k, v = (_randn(2, 6, 5, 4, dtype=dtype), _randn(2, 2, 6, 4, dtype=dtype, seed=1),
               _randn(2, 2, 6, 3, dtype=dtype, seed=2))
    check_parity(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                       enable_gqa=True),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=True, enable_gqa=True), [q, k, v])
    leaves = [tl.tensor(a[:1, :, :3], dtype=tl.float64, requires_grad=True) for a in (q, k, v)]
    assert tl.gradcheck(lambda *t: F.scaled_dot_product_attention(*t, enable_gqa=True), leaves)
    with pytest.raises(RuntimeError, match="6 query heads"):
        F.scaled_dot_product_attention(tl.tensor(q), tl.ones(2, 4, 6, 4), tl.ones(2, 4, 6, 3),
                                       enable_gqa=True)


def test_scaled_dot_product_attention_dropout_drops_weights_only_with_dropout_p():
    tl.manual_seed(3)
    q = tl.randn(1, 4, 8)
    plain = F.scaled_dot_product_attention(q, q, q).numpy()
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, q, q).numpy(), plain)
    dropped = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    assert not np.allclose(dropped, plain)


# ------------------------------------------------------------------------------ reprs
REPRS = ["PReLU()", "PReLU(3, 0.1)", "Softshrink()", "Hardshrink(0.3)", "Tanhshrink()",
         "RMSNorm(4)", "RMSNorm((2, 4), eps=1e-3, elementwise_affine=False)", "GroupNorm(2, 4)",
         "GroupNorm(1, 3, eps=1e-3, affine=False)", "InstanceNorm1d(4)",
         "InstanceNorm2d(3, affine=True)", "Dropout1d(0.2)", "Dropout2d(inplace=True)",
         "PairwiseDistance()", "CosineSimilarity(dim=0)", "PixelShuffle(2)",
         "PixelUnshuffle(3)", "HingeEmbeddingLoss()", "SoftMarginLoss()",
         "MultiLabelSoftMarginLoss()", "PoissonNLLLoss()", "GaussianNLLLoss()",
         "TripletMarginLoss(swap=True)"] + PADDINGS


@pytest.mark.parametrize("spec", REPRS)
def test_new_module_repr_and_state_dict_keys_equal_torchs(spec):
    ours, theirs = eval("nn." + spec, {"nn": nn}), eval("nn." + spec, {"nn": torch.nn})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("kind, shape", [("InstanceNorm1d", (3, 4, 7)),
                                         ("InstanceNorm2d", (2, 4, 3, 5)),
                                         ("InstanceNorm3d", (2, 4, 2, 3, 3))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm_running_statistics(kind, shape, momentum):
    """Training moves the running statistics towards the batch's average of the per-sample
    means and unbiased variances (momentum None counts as 0, as in PyTorch); eval then
    normalizes by them."""
    layer = getattr(nn, kind)(4, momentum=momentum, track_running_stats=True).double()
    assert list(layer.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    x = np.random.default_rng(0).standard_normal(shape) * 3 + 1
    layer(tl.tensor(x))
    axes = tuple(range(2, len(shape)))
    m = 0.0 if momentum is None else momentum
    mean = x.mean(axes).mean(0)
    var = x.var(axes, ddof=1).mean(0)
    assert np.allclose(layer.running_mean.numpy(), m * mean)
    assert np.allclose(layer.running_var.numpy(), (1 - m) + m * var)
    layer.eval()
    ref = (x - layer.running_mean.numpy().reshape((1, 4) + (1,) * len(axes))) / np.sqrt(
        layer.running_var.numpy().reshape((1, 4) + (1,) * len(axes)) + layer.eps)
    assert np.allclose(layer(tl.tensor(x)).numpy(), ref)
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, kind)(4, momentum=momentum, track_running_stats=True).double()
    assert repr(theirs) == repr(layer)
    theirs(torch.tensor(x))
    assert np.allclose(theirs.running_var.numpy(), (1 - m) + m * var)

