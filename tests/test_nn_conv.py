"""Convolution and pooling: F.conv1d/conv2d, max/avg/adaptive pools and their modules.

Values and gradients (input, weight, bias) against PyTorch over a grid of settings, reprs
against PyTorch's, finite differences in float64 (no torch needed), and a small CNN that
trains along the same loss trajectory as PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from nn_parity import check_parity, close

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim

DTYPES = [np.float32, np.float64]


def _rand(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _tF():
    return pytest.importorskip("torch").nn.functional


# ------------------------------------------------------------------------------ convolution
# (stride, padding, dilation, groups): 'same' only with stride 1, as PyTorch allows
CONV_SETTINGS = [(s, p, d, g) for s in (1, 2) for p in (0, 1, "same") for d in (1, 2)
                 for g in (1, 2) if not (p == "same" and s != 1)]


def _conv_arrays(nd, groups, batched, dtype, bias=True):
    """Input (2, 4, 7[, 6]) or unbatched, weight (6, 4 / groups, 3[, 2]), bias (6,)."""
    spatial, kernel = (7, 6)[:nd], (3, 2)[:nd]
    x = _rand(*(((2,) if batched else ()) + (4,) + spatial), dtype=dtype, seed=1)
    w = _rand(6, 4 // groups, *kernel, dtype=dtype, seed=2)
    return [x, w] + ([_rand(6, dtype=dtype, seed=3)] if bias else [])


# batched in both dtypes, unbatched in float64 (unbatching is a reshape; float32 is covered)
LAYOUTS = [(True, np.float32), (True, np.float64), (False, np.float64)]


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("batched, dtype", LAYOUTS, ids=["batched-f32", "batched-f64",
                                                         "unbatched-f64"])
@pytest.mark.parametrize("stride, padding, dilation, groups", CONV_SETTINGS)
def test_conv_matches_torch_values_and_gradients_of_input_weight_and_bias(
        nd, dtype, batched, stride, padding, dilation, groups):
    tF = _tF()
    ours, theirs = (F.conv1d, tF.conv1d) if nd == 1 else (F.conv2d, tF.conv2d)
    settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_parity(lambda x, w, b: ours(x, w, b, **settings),
                 lambda x, w, b: theirs(x, w, b, **settings),
                 _conv_arrays(nd, groups, batched, dtype))


def test_conv2d_takes_per_dim_settings_and_no_bias_like_torch():
    tF = _tF()
    settings = dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2))
    check_parity(lambda x, w: F.conv2d(x, w, **settings),
                 lambda x, w: tF.conv2d(x, w, **settings),
                 _conv_arrays(2, 1, True, np.float64, bias=False))


def test_conv2d_same_padding_with_an_even_kernel_pads_the_extra_zero_at_the_end():
    tF = _tF()
    arrays = [_rand(1, 2, 5, 6), _rand(3, 2, 4, 2, seed=1)]
    check_parity(lambda x, w: F.conv2d(x, w, padding="same"),
                 lambda x, w: tF.conv2d(x, w, padding="same"), arrays)
    check_parity(lambda x, w: F.conv2d(x, w, padding="valid"),
                 lambda x, w: tF.conv2d(x, w, padding="valid"), arrays)


def test_depthwise_conv1d_with_groups_equal_to_channels_matches_torch():
    tF = _tF()
    arrays = [_rand(2, 4, 9), _rand(8, 1, 3, seed=1), _rand(8, seed=2)]
    check_parity(lambda x, w, b: F.conv1d(x, w, b, padding=1, groups=4),
                 lambda x, w, b: tF.conv1d(x, w, b, padding=1, groups=4), arrays)


def test_conv_runs_and_matches_torch_on_each_backend(backend):
    tF = _tF()
    check_parity(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
                 lambda x, w, b: tF.conv2d(x, w, b, stride=2, padding=1, groups=2),
                 _conv_arrays(2, 2, True, np.float32))


def test_conv_gradients_match_finite_differences_without_torch():
    x = tl.tensor(_rand(1, 2, 5, 4), requires_grad=True)
    w = tl.tensor(_rand(4, 1, 3, 2, seed=1), requires_grad=True)
    b = tl.tensor(_rand(4, seed=2), requires_grad=True)
    assert tl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1,
                                                 dilation=(1, 2), groups=2), [x, w, b])
    x1 = tl.tensor(_rand(3, 6, seed=3), requires_grad=True)
    w1 = tl.tensor(_rand(2, 3, 2, seed=4), requires_grad=True)
    assert tl.gradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=2), [x1, w1])


def test_conv2d_is_cross_correlation_so_a_one_hot_input_gives_the_flipped_kernel():
    # a cross-correlation (no flip): a 1 at (2, 2) puts w[i, j] at output (2 - i, 2 - j)
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    out = F.conv2d(tl.tensor(x), tl.tensor(w)).numpy()[0, 0]
    np.testing.assert_array_equal(out, w[0, 0, ::-1, ::-1])


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(tl.zeros(2, 3, 8, 8), tl.zeros(8, 4, 3, 3)),
     r"conv2d: input \(2, 3, 8, 8\) has 3 channels, weight \(8, 4, 3, 3\) expects 4"),
    (lambda: F.conv2d(tl.zeros(2, 3, 8, 8), tl.zeros(8, 2, 3, 3), groups=2),
     r"conv2d: input \(2, 3, 8, 8\) has 3 channels, weight \(8, 2, 3, 3\) expects 4 "
     r"\(2 x groups=2\)"),
    (lambda: F.conv1d(tl.zeros(2, 3, 8, 8), tl.zeros(8, 3, 3)),
     r"conv1d: expected a 2-D \(unbatched\) or 3-D \(batched\) input, got shape "
     r"\(2, 3, 8, 8\)"),
    (lambda: F.conv2d(tl.zeros(1, 3, 8, 8), tl.zeros(8, 3, 3, 3), stride=2, padding="same"),
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(tl.zeros(1, 3, 2, 8), tl.zeros(8, 3, 3, 3)),
     r"conv2d: the kernel \(3, 3\) .* does not fit the padded input \(2, 8\)"),
    (lambda: F.conv2d(tl.zeros(1, 4, 8, 8), tl.zeros(6, 1, 3, 3), groups=4),
     r"conv2d: groups \(4\) must .* divide the weight's 6 output channels"),
    (lambda: F.conv1d(tl.zeros(1, 3, 8), tl.zeros(8, 3, 3), tl.zeros(4)),
     r"conv1d: bias \(4,\) must be \(8,\)"),
])
def test_conv_errors_name_the_op_and_the_shapes(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_conv_layer_constructor_refuses_bad_groups_padding_and_padding_mode():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) and out_channels \(8\) "
                                         r"must be divisible by groups \(2\)"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 8, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be an int, a tuple, 'valid' or 'same'"):
        nn.Conv1d(3, 8, 3, padding="full")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv1d(3, 8, 3, stride=2, padding="same")  # NOTE: F.conv1d's is a RuntimeError


# ------------------------------------------------------------------------------ conv layers
def _torch_copy(layer, torch_cls, **settings):
    """A torch conv layer with the same settings holding a copy of `layer`'s weights."""
    torch = pytest.importorskip("torch")
    dtype = torch.float64 if layer.weight.dtype == np.float64 else torch.float32
    out = torch_cls(layer.in_channels, layer.out_channels, layer.kernel_size, dtype=dtype,
                    bias=layer.bias is not None, **settings)
    with torch.no_grad():
        out.weight.copy_(torch.from_numpy(layer.weight.numpy().copy()))
        if layer.bias is not None:
            out.bias.copy_(torch.from_numpy(layer.bias.numpy().copy()))
    return out


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2])
def test_conv_layer_matches_torch_for_each_padding_mode_with_its_parameter_gradients(
        nd, padding_mode):
    torch = pytest.importorskip("torch")
    settings = dict(stride=1, padding="same" if nd == 1 else (1, 2), dilation=(2,) * nd,
                    groups=2, padding_mode=padding_mode)
    ours = (nn.Conv1d if nd == 1 else nn.Conv2d)(4, 6, 3, **settings).double()
    theirs = _torch_copy(ours, torch.nn.Conv1d if nd == 1 else torch.nn.Conv2d, **settings)
    check_parity(ours, theirs, [_rand(2, 4, *(7, 6)[:nd])],
                 params=[(ours.weight, theirs.weight), (ours.bias, theirs.bias)])


def test_conv_layer_takes_unbatched_input():
    conv = nn.Conv2d(3, 5, 3, padding=1)
    x = tl.randn(3, 6, 6)
    out = conv(x)
    assert out.shape == (5, 6, 6)
    close(out.numpy(), conv(x.unsqueeze(0)).numpy()[0], np.float32)


@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(3, 64, (3, 5), groups=1),
    lambda m: m.Conv1d(8, 16, 4, groups=4, bias=True),
])
def test_conv_layer_init_is_torch_default_kaiming_uniform_with_fan_in_bound(make):
    tl.manual_seed(0)
    conv = make(nn)
    fan_in = conv.weight.shape[1] * math.prod(conv.kernel_size)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives exactly this
    w, b = conv.weight.numpy(), conv.bias.numpy()
    assert conv.weight.shape == (conv.out_channels, conv.in_channels // conv.groups,
                                 *conv.kernel_size)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.1)  # U(-a, a): a / sqrt 3
    torch = pytest.importorskip("torch")
    assert conv.weight.shape == tuple(make(torch.nn).weight.shape)


# ----------------------------------------------------------------------------------- pooling
# (kernel, stride, padding, ceil_mode); padding stays within half the kernel, as PyTorch asks
POOL_SETTINGS = [(2, None, 0, False), (2, 1, 1, False), (3, 2, 1, False), (3, 2, 0, True),
                 (3, 2, 1, True), ((2, 3), (1, 2), (1, 0), True), (2, 3, 0, True)]


def _pool_settings(kernel, stride, padding, ceil_mode, nd):
    def first(v):
        return v[0] if isinstance(v, tuple) and nd == 1 else v
    return dict(kernel_size=first(kernel), stride=first(stride), padding=first(padding),
                ceil_mode=ceil_mode)


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", POOL_SETTINGS)
def test_max_pool_matches_torch_values_and_gradients(nd, dtype, kernel, stride, padding,
                                                     ceil_mode):
    tF = _tF()
    settings = _pool_settings(kernel, stride, padding, ceil_mode, nd)
    ours, theirs = (F.max_pool1d, tF.max_pool1d) if nd == 1 else (F.max_pool2d, tF.max_pool2d)
    check_parity(lambda x: ours(x, **settings), lambda x: theirs(x, **settings),
                 [_rand(2, 3, *(7, 8)[:nd], dtype=dtype)])


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", POOL_SETTINGS)
def test_avg_pool_matches_torch_values_and_gradients(nd, dtype, count_include_pad, kernel,
                                                     stride, padding, ceil_mode):
    tF = _tF()
    settings = _pool_settings(kernel, stride, padding, ceil_mode, nd)
    settings["count_include_pad"] = count_include_pad
    ours, theirs = (F.avg_pool1d, tF.avg_pool1d) if nd == 1 else (F.avg_pool2d, tF.avg_pool2d)
    check_parity(lambda x: ours(x, **settings), lambda x: theirs(x, **settings),
                 [_rand(2, 3, *(7, 8)[:nd], dtype=dtype)])


def test_avg_pool2d_divisor_override_and_unbatched_input_match_torch():
    tF = _tF()
    check_parity(lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=4),
                 lambda x: tF.avg_pool2d(x, 3, 2, 1, divisor_override=4), [_rand(3, 7, 6)])


def test_max_pool_with_dilation_and_unbatched_input_matches_torch():
    tF = _tF()
    check_parity(lambda x: F.max_pool2d(x, 2, 1, 1, dilation=2, ceil_mode=True),
                 lambda x: tF.max_pool2d(x, 2, 1, 1, dilation=2, ceil_mode=True),
                 [_rand(3, 7, 6)])
    check_parity(lambda x: F.max_pool1d(x, 3, 2, 1, dilation=2),
                 lambda x: tF.max_pool1d(x, 3, 2, 1, dilation=2), [_rand(3, 9)])


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima_like_torch():
    # plateaus of equal values, with overlapping windows, so ties meet across windows too
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [0.0, 3.0, 3.0, 3.0]]]])
    xt = tl.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, 2, 1)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy()[0, 0], [[1, 2, 2], [3, 3, 3]])
    # each window's gradient lands on its first maximum in row-major order
    np.testing.assert_array_equal(xt.grad.numpy()[0, 0], [[1, 0, 0, 1], [0, 0, 1, 0],
                                                          [0, 2, 1, 0]])
    tF = _tF()
    check_parity(lambda t: F.max_pool2d(t, 2, 1), lambda t: tF.max_pool2d(t, 2, 1), [x])
    check_parity(lambda t: F.max_pool2d(t, 2, 1), lambda t: tF.max_pool2d(t, 2, 1),
                 [np.ones((1, 2, 4, 5))])


@pytest.mark.parametrize("fill, dtype", [(-np.inf, np.float32), (0, np.uint8),
                                         (-32768, np.int16)])
def test_a_max_pool_never_picks_padding_that_ties_with_the_input(fill, dtype):
    """Padding is -inf (an integer type's least value); where the input holds that value
    too, PyTorch's windows pick the input's first element, never the padding."""
    x = np.full((1, 1, 4, 5), fill, dtype=dtype)
    values, indices = F.max_pool2d(tl.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    # the first element of each window inside the 4x5 plane, row-major (PyTorch's values)
    assert indices[0, 0].tolist() == [[0, 1, 3], [5, 6, 8], [15, 16, 18]]
    assert (values.numpy() == x.flat[0]).all()
    if dtype == np.float32:
        xt = tl.tensor(x, requires_grad=True)
        F.max_pool2d(xt, 3, 2, 1, ceil_mode=True).sum().backward()
        expected = np.zeros(20)
        expected[[0, 1, 3, 5, 6, 8, 15, 16, 18]] = 1
        np.testing.assert_array_equal(xt.grad.numpy().reshape(-1), expected)


def test_max_pool_return_indices_are_torch_positions_in_the_unpadded_plane():
    torch = pytest.importorskip("torch")
    x = _rand(2, 3, 7, 8)
    for nd, ours, theirs in ((2, F.max_pool2d, torch.nn.functional.max_pool2d),
                             (1, F.max_pool1d, torch.nn.functional.max_pool1d)):
        data = x if nd == 2 else x[:, :, 0]
        values, indices = ours(tl.tensor(data), 3, 2, 1, ceil_mode=True, return_indices=True)
        ref_values, ref_indices = theirs(torch.tensor(data), 3, 2, 1, ceil_mode=True,
                                         return_indices=True)
        np.testing.assert_array_equal(values.numpy(), ref_values.numpy())
        assert indices.dtype == np.int64
        np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())
    _, unbatched = nn.MaxPool2d(2, return_indices=True)(tl.tensor(x[0]))
    assert unbatched.shape == (3, 3, 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output_size", [1, (1, 1), (3, 4), (7, 2), (4, 5), (None, 3)])
def test_adaptive_avg_pool2d_matches_torch_divisible_or_not(dtype, output_size):
    tF = _tF()
    check_parity(lambda x: F.adaptive_avg_pool2d(x, output_size),
                 lambda x: tF.adaptive_avg_pool2d(x, output_size),
                 [_rand(2, 3, 6, 8, dtype=dtype)])


def test_adaptive_avg_pool1d_and_unbatched_2d_match_torch():
    tF = _tF()
    check_parity(lambda x: F.adaptive_avg_pool1d(x, 3), lambda x: tF.adaptive_avg_pool1d(x, 3),
                 [_rand(2, 3, 7)])
    check_parity(lambda x: F.adaptive_avg_pool2d(x, 2), lambda x: tF.adaptive_avg_pool2d(x, 2),
                 [_rand(3, 5, 4)])


def test_global_adaptive_avg_pool_is_the_spatial_mean():
    x = tl.tensor(_rand(2, 3, 5, 4))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(),
                               x.numpy().mean((2, 3), keepdims=True), rtol=1e-12)


def test_pool_gradients_match_finite_differences_without_torch():
    x = tl.tensor(_rand(1, 2, 5, 6), requires_grad=True)  # distinct values: no ties
    assert tl.gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), [x])
    assert tl.gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True,
                                               count_include_pad=False), [x])
    assert tl.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 4)), [x])


def test_pool_runs_and_matches_torch_on_each_backend(backend):
    tF = _tF()
    check_parity(lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: tF.max_pool2d(x, 3, 2, 1),
                 [_rand(2, 3, 7, 8, dtype=np.float32)])
    check_parity(lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: tF.avg_pool2d(x, 3, 2, 1),
                 [_rand(2, 3, 7, 8, dtype=np.float32)])


def test_pool_errors_name_the_op_and_the_problem():
    with pytest.raises(RuntimeError, match=r"max_pool2d: padding \(2, 2\) should be at most "
                                           r"half of the kernel"):
        F.max_pool2d(tl.zeros(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(RuntimeError, match=r"avg_pool1d: expected a 2-D \(unbatched\) or 3-D"):
        F.avg_pool1d(tl.zeros(6), 2)
    with pytest.raises(RuntimeError, match=r"max_pool2d: the kernel \(3, 3\)"):
        F.max_pool2d(tl.zeros(1, 1, 2, 2), 3)


# ------------------------------------------------------------------------------------ reprs
REPRS = [
    lambda m: m.Conv2d(3, 8, 3, padding=1),
    lambda m: m.Conv2d(3, 8, 3),
    lambda m: m.Conv1d(3, 8, 5, stride=2),
    lambda m: m.Conv2d(4, 8, (3, 5), stride=2, dilation=2, groups=2, bias=False,
                       padding_mode="reflect"),
    lambda m: m.Conv2d(4, 8, 3, padding="same"),
    lambda m: m.Conv1d(4, 8, 3, padding="valid"),
    lambda m: m.MaxPool2d(2),
    lambda m: m.MaxPool2d((2, 3), stride=1, padding=1, ceil_mode=True),
    lambda m: m.MaxPool1d(3),
    lambda m: m.AvgPool2d(2),
    lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda m: m.AvgPool1d(3),
    lambda m: m.AvgPool1d(3, 2, 1),
    lambda m: m.AdaptiveAvgPool2d((1, 1)),
    lambda m: m.AdaptiveAvgPool2d(2),
    lambda m: m.AdaptiveAvgPool1d(4),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_conv_and_pool_reprs_equal_torch(i):
    torch = pytest.importorskip("torch")
    assert repr(REPRS[i](nn)) == repr(REPRS[i](torch.nn))


def test_conv_and_pool_layers_round_trip_through_save_and_load_model(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, (3, 2), padding="same", bias=False),
                          nn.MaxPool2d((2, 1), ceil_mode=True), nn.AvgPool2d(2, 1, padding=1),
                          nn.AdaptiveAvgPool2d((None, 2)))
    tl.save(model, tmp_path / "cnn.npz")
    again = tl.load_model(tmp_path / "cnn.npz")
    assert repr(again) == repr(model)
    x = tl.randn(2, 3, 5, 4)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


# --------------------------------------------------------------------------------- training
def test_small_cnn_trains_along_torch_loss_trajectory_with_the_same_weights():
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, groups=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6, 3))
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2, groups=2), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(6, 3))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    x = _rand(8, 1, 8, 8, dtype=np.float32, seed=5)
    y = np.random.default_rng(6).integers(0, 3, 8)
    opt = optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    losses, ref_losses = [], []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(ours(tl.tensor(x)), tl.tensor(y))
        loss.backward()
        opt.step()
        topt.zero_grad()
        ref = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                                torch.from_numpy(y))
        ref.backward()
        topt.step()
        losses.append(loss.item())
        ref_losses.append(ref.item())
    close(losses, ref_losses, np.float32)
    assert losses[-1] < losses[0]  # it learns, not only agrees
