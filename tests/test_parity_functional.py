"""nn.functional parity fixes, each checked against PyTorch (values, dtypes, gradients) and,
where it makes sense, against finite differences without it."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
pytestmark = [pytest.mark.filterwarnings("ignore:Using a target size"),
              pytest.mark.filterwarnings("ignore:reduction. .mean. divides")]


def _leaf(L, a, dtype=None):
    return L.tensor(a, dtype=dtype or L.float64, requires_grad=True)


def _run(L, fn, arrays):
    """fn(*leaves) for float64 leaves of `arrays`, then the gradients of a fixed weighted sum
    of the output (weights 1, 2, 3, ... so every element's gradient is distinct)."""
    leaves = [_leaf(L, a) for a in arrays]
    out = fn(L, *leaves)
    weights = L.tensor(np.arange(1.0, out.numel() + 1).reshape(out.shape), dtype=out.dtype)
    (out * weights).sum().backward()
    return out, [x.grad for x in leaves]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def _check(fn, *arrays, rtol=1e-7, atol=1e-10):
    """Same output (value and dtype) and same input gradients in PyTorch and here."""
    (want, want_grads), (got, got_grads) = _run(torch, fn, arrays), _run(tl, fn, arrays)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=atol)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(_np(g), _np(w), rtol=rtol, atol=atol)


# --- 1. regression losses broadcast a differently shaped target, with PyTorch's warning ------
_BROADCASTING = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]
_SILENT = ["kl_div", "poisson_nll_loss", "multilabel_soft_margin_loss"]


@pytest.mark.parametrize("name", _BROADCASTING + _SILENT)
@pytest.mark.parametrize("shapes", [((3, 1), (3,)), ((3,), (3, 1)), ((3, 2), (2,))])
def test_losses_broadcast_a_target_of_another_shape_as_pytorch_does(name, shapes):
    x, y = RNG.random(shapes[0]), RNG.random(shapes[1])
    for L in (torch, tl):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(L.nn.functional, name)(L.tensor(x), L.tensor(y))
        sizes = [w for w in caught if "different to the input size" in str(w.message)]
        assert len(sizes) == (name in _BROADCASTING), (L.__name__, caught)
    _check(lambda L, a, b: getattr(L.nn.functional, name)(a, b, reduction="none"), x, y)


@pytest.mark.parametrize("name", _BROADCASTING)
def test_loss_modules_broadcast_too_and_non_broadcasting_shapes_still_raise(name):
    module = {"mse_loss": nn.MSELoss, "l1_loss": nn.L1Loss, "smooth_l1_loss": nn.SmoothL1Loss,
              "huber_loss": nn.HuberLoss}[name]()
    with pytest.warns(UserWarning, match=r"target size \(\(3,\)\).*input size \(\(3, 1\)\)"):
        assert module(tl.zeros(3, 1), tl.ones(3)).item() == pytest.approx(
            0.5 if name in ("smooth_l1_loss", "huber_loss") else 1.0)
    with pytest.raises(RuntimeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(F, name)(tl.zeros(3, 2), tl.zeros(4))


def test_soft_margin_loss_takes_a_target_that_broadcasts_to_the_input_only():
    x, y = RNG.standard_normal((3, 2)), np.array([1.0, -1.0])
    _check(lambda L, a: L.nn.functional.soft_margin_loss(a, L.tensor(y), reduction="none"), x)
    with pytest.raises(RuntimeError, match="broadcast"):
        F.soft_margin_loss(tl.zeros(3, 1), tl.ones(3))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_binary_cross_entropies_refuse_another_target_shape_as_pytorch_does(name):
    for L in (torch, tl):
        with pytest.raises(ValueError):
            getattr(L.nn.functional, name)(L.full((3, 1), 0.5), L.ones(3))


# --- 2. mixed-precision losses promote as PyTorch does ---------------------------------------
@pytest.mark.parametrize("name", _BROADCASTING + _SILENT + ["soft_margin_loss"])
@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"),
                                    ("float32", "int64")])
def test_loss_dtype_follows_pytorch_type_promotion(name, dtypes):
    x, y = RNG.random((2, 3)), np.array([[0, 1, 1], [1, 0, 2]])

    def call(L):
        return getattr(L.nn.functional, name)(L.tensor(x, dtype=getattr(L, dtypes[0])),
                                              L.tensor(y, dtype=getattr(L, dtypes[1])))
    if name == "kl_div" and dtypes[1] == "int64":
        for L in (torch, tl):
            with pytest.raises(RuntimeError, match="(?i)integral"):
                call(L)
        return
    want, got = call(torch), call(tl)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6)


# --- 3. linear refuses an input whose dtype differs from the weight's --------------------------
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_linear_refuses_an_input_of_another_dtype_than_the_weight(dtype):
    w = np.ones((2, 2), dtype=np.float32)
    for L in (torch, tl):
        with pytest.raises(RuntimeError, match="same dtype"):
            L.nn.functional.linear(L.ones(1, 2, dtype=getattr(L, dtype)), L.tensor(w))


def test_linear_of_matching_dtypes_matches_pytorch():
    _check(lambda L, x, w, b: L.nn.functional.linear(x, w, b), RNG.standard_normal((4, 3)),
           RNG.standard_normal((2, 3)), RNG.standard_normal(2))


# --- 4. every label ignored: a nan mean with a zero gradient ----------------------------------
@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([-100, -100, -100])),
    lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([2, 2, 2]), ignore_index=2,
                                               label_smoothing=0.1),
    lambda L, x: L.nn.functional.nll_loss(x.log_softmax(1), L.tensor([-100, -100, -100])),
])
def test_mean_loss_over_only_ignored_labels_is_nan_with_a_zero_gradient(call):
    _check(call, np.arange(12.0).reshape(3, 4))
    out, (grad,) = _run(tl, call, [np.arange(12.0).reshape(3, 4)])
    assert np.isnan(out.item()) and not grad.numpy().any()


# --- 5. embedding renormalises the rows it looks up -------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_embedding_max_norm_renormalises_looked_up_rows_in_place(norm_type):
    table = np.arange(15.0).reshape(5, 3) / 4
    results = []
    for L in (torch, tl):
        emb = L.nn.Embedding(5, 3, max_norm=1.5, norm_type=norm_type, dtype=L.float64)
        with L.no_grad():
            emb.weight.copy_(L.tensor(table))
        out = emb(L.tensor([[0, 2], [2, 4]]))
        (out * L.tensor(np.arange(12.0).reshape(2, 2, 3))).sum().backward()
        results.append((out, emb.weight, emb.weight.grad, repr(emb)))
    (*want, want_repr), (*got, got_repr) = results
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-12)
    assert got_repr == want_repr
    assert np.linalg.norm(_np(got[1])[[0, 2, 4]], norm_type, axis=1).max() <= 1.5
    np.testing.assert_array_equal(_np(got[1])[[1, 3]], table[[1, 3]])


def test_functional_embedding_max_norm_matches_pytorch():
    want, got = (L.nn.functional.embedding(L.tensor([0, 2]),
                                           L.tensor(np.arange(12.0).reshape(4, 3)),
                                           max_norm=1.0) for L in (torch, tl))
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12)


# --- 6. softmax, log_softmax and softmin take dtype -------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_functional_softmaxes_cast_to_dtype_first(name):
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    for dim in (0, 1):
        leaves = [L.tensor(x, requires_grad=True) for L in (torch, tl)]
        want, got = (getattr(L.nn.functional, name)(a, dim, dtype=L.float64)
                     for L, a in zip((torch, tl), leaves))
        assert str(got.dtype) == "float64" == str(want.dtype).replace("torch.", "")
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12)
        for L, out in zip((torch, tl), (want, got)):
            (out * L.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
        assert str(leaves[1].grad.dtype) == "float32"
        np.testing.assert_allclose(_np(leaves[1].grad), _np(leaves[0].grad), rtol=1e-5)


# --- 7. adaptive max pooling, interpolate and Upsample ----------------------------------------
@pytest.mark.parametrize("shape, size", [((2, 3, 10), 4), ((3, 7), 3), ((2, 2, 9, 6), (4, 4)),
                                         ((2, 3, 7, 5), (3, None)), ((3, 5, 5), 2),
                                         ((1, 1, 3, 3), (5, 2))])
def test_adaptive_max_pool_values_indices_and_gradients_match_pytorch(shape, size):
    nd = 2 if isinstance(size, tuple) or shape == (3, 5, 5) else 1
    x = RNG.standard_normal(shape)

    def pool(L, a):
        return getattr(L.nn.functional, f"adaptive_max_pool{nd}d")(a, size)
    _check(pool, x)
    module = getattr(nn, f"AdaptiveMaxPool{nd}d")(size, return_indices=True)
    want = getattr(torch.nn, f"AdaptiveMaxPool{nd}d")(size, return_indices=True)
    np.testing.assert_array_equal(module(tl.tensor(x))[1].numpy(), want(torch.tensor(x))[1])
    assert repr(module) == repr(want)


def test_adaptive_max_pool_gradients_match_finite_differences():
    x = _leaf(tl, RNG.standard_normal((2, 2, 7, 5)))
    assert tl.gradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 4)), [x])


_SIZES = [{"size": 9}, {"size": 2}, {"scale_factor": 2}, {"scale_factor": 1.7},
          {"scale_factor": 0.6}, {"scale_factor": 1 / 3},
          {"scale_factor": 3, "recompute_scale_factor": True}]


@pytest.mark.parametrize("kwargs", _SIZES)
@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("nearest-exact", None),
                                                 ("linear", False), ("linear", True),
                                                 ("bilinear", False), ("bilinear", True)])
def test_interpolate_matches_pytorch(mode, align_corners, kwargs):
    shapes = [(2, 1, 7, 3)] if mode == "bilinear" else [(2, 3, 5)]
    if mode.startswith("nearest"):
        shapes.append((1, 2, 4, 6))
    for shape in shapes:
        _check(lambda L, a: L.nn.functional.interpolate(a, mode=mode, align_corners=align_corners,
                                                        **kwargs), RNG.standard_normal(shape))


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_in_float32_lands_on_pytorch_samples(mode):
    x = RNG.standard_normal((1, 2, 5, 7)).astype(np.float32)
    want, got = (L.nn.functional.interpolate(L.tensor(x), scale_factor=(1.3, 0.7), mode=mode)
                 for L in (torch, tl))
    assert str(got.dtype) == "float32"
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [False, True])
def test_interpolate_resizes_a_uint8_image_to_uint8_within_2_of_pytorch(mode, antialias):
    """PyTorch's uint8 kernel works in fixed point: over 30 random images, at most 2 away
    from float rounding, and 0.24 on average at most."""
    x = RNG.integers(0, 256, (2, 3, 16, 16)).astype(np.uint8)
    want, got = (L.nn.functional.interpolate(L.tensor(x), size=(20, 12), mode=mode,
                                             antialias=antialias) for L in (torch, tl))
    assert str(got.dtype) == "uint8"
    diff = np.abs(got.numpy().astype(int) - want.numpy())
    assert diff.max() <= 2 and diff.mean() < 0.25


def test_interpolate_gradients_match_finite_differences():
    x = _leaf(tl, RNG.standard_normal((1, 2, 4, 3)))
    assert tl.gradcheck(lambda t: F.interpolate(t, size=(5, 7), mode="bilinear"), [x])
    assert tl.gradcheck(lambda t: F.interpolate(t, scale_factor=1.5), [x])


@pytest.mark.parametrize("kwargs, error", [
    ({"scale_factor": 2, "mode": "bilinear"}, NotImplementedError),
    ({"scale_factor": 2, "align_corners": True}, ValueError),
    ({}, ValueError),
    ({"size": 2, "scale_factor": 2}, ValueError),
])
def test_interpolate_refuses_what_pytorch_refuses(kwargs, error):
    for L in (torch, tl):
        with pytest.raises(error):
            L.nn.functional.interpolate(L.ones(1, 1, 3), **kwargs)


@pytest.mark.parametrize("make", [
    lambda M: M.Upsample(scale_factor=2), lambda M: M.Upsample(size=(3, 5), mode="bilinear"),
    lambda M: M.Upsample(scale_factor=(1.5, 2), mode="bilinear", align_corners=True),
    lambda M: M.UpsamplingNearest2d(scale_factor=2), lambda M: M.UpsamplingBilinear2d((5, 4)),
])
def test_upsample_modules_match_pytorch(make):
    _check(lambda L, a: make(L.nn)(a), RNG.standard_normal((2, 1, 3, 4)))
    assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.filterwarnings("ignore:.*is deprecated")
@pytest.mark.parametrize("call", [
    lambda F_, a: F_.upsample(a, scale_factor=2),
    lambda F_, a: F_.upsample(a, size=(3, 7), mode="bilinear"),
    lambda F_, a: F_.upsample_nearest(a, size=5),
    lambda F_, a: F_.upsample_bilinear(a, (5, 4)),
    lambda F_, a: F_.upsample_bilinear(a, scale_factor=1.5),
])
def test_the_deprecated_upsample_functions_match_pytorch(call):
    """upsample_bilinear aligns the corners, as PyTorch's does (interpolate does not)."""
    _check(lambda L, a: call(L.nn.functional, a), RNG.standard_normal((2, 1, 3, 4)))


# --- 7b. transposed convolution -----------------------------------------------------------------
_TRANSPOSE_SETTINGS = [{}, {"stride": 2}, {"stride": 3, "padding": 2, "output_padding": 1},
                       {"stride": 2, "padding": 1, "dilation": 2, "output_padding": 1},
                       {"groups": 2, "padding": 2}]


@pytest.mark.parametrize("nd, settings", [(nd, s) for nd in (1, 2) for s in _TRANSPOSE_SETTINGS]
                         + [(2, {"stride": (2, 1), "padding": (1, 0)})])
def test_conv_transpose_values_and_gradients_match_pytorch(nd, settings):
    groups = settings.get("groups", 1)
    x = RNG.standard_normal((2, 4) + (5, 4)[:nd])
    w = RNG.standard_normal((4, 6 // groups) + (3, 2)[:nd])

    def call(L, a, weight, bias):
        return getattr(L.nn.functional, f"conv_transpose{nd}d")(a, weight, bias, **settings)
    _check(call, x, w, RNG.standard_normal(6))


def test_conv_transpose_of_unbatched_input_and_finite_differences():
    x, w = RNG.standard_normal((3, 4, 5)), RNG.standard_normal((3, 2, 2, 3))
    _check(lambda L, a, weight: L.nn.functional.conv_transpose2d(a, weight, stride=2), x, w)
    leaves = [_leaf(tl, x), _leaf(tl, w)]
    assert tl.gradcheck(lambda a, weight: F.conv_transpose2d(a, weight, stride=(2, 1),
                                                             padding=1), leaves)


def test_conv_transpose_is_the_input_gradient_of_conv():
    x = _leaf(tl, RNG.standard_normal((2, 3, 7, 6)))
    w = tl.tensor(RNG.standard_normal((5, 3, 3, 3)))
    y = F.conv2d(x, w, stride=2, padding=1)
    upstream = tl.tensor(RNG.standard_normal(y.shape))
    (y * upstream).sum().backward()
    back = F.conv_transpose2d(upstream, w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(back.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nd, args, kwargs", [
    (1, (8, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    (2, (4, 6, (3, 2)), {"groups": 2, "bias": False, "dilation": 2}),
    (2, (3, 3, 3), {}),
])
def test_conv_transpose_modules_match_pytorch_shape_repr_and_output(nd, args, kwargs):
    ours = getattr(nn, f"ConvTranspose{nd}d")(*args, **kwargs, dtype=tl.float64)
    theirs = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        if theirs.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    x = RNG.standard_normal((2, args[0]) + (5, 4)[:nd])
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(), theirs(torch.tensor(x)).detach(),
                               rtol=1e-10)
    for bad in ({"padding_mode": "reflect"}, {"padding": "same"}):
        with pytest.raises(ValueError):
            getattr(nn, f"ConvTranspose{nd}d")(*args, **bad)
    with pytest.raises(RuntimeError, match="output_padding"):
        F.conv_transpose1d(tl.ones(1, 2, 3), tl.ones(2, 1, 3), output_padding=1)
