"""Fractional max pooling (F.fractional_max_pool2d/3d, nn.FractionalMaxPool2d/3d): against
PyTorch with the same window samples, and on its own."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

CASES = [  # nd, input shape, kernel, output size (None: the ratio 0.5)
    (2, (2, 3, 10, 9), (3, 2), (4, 5)),
    (2, (3, 7, 7), 2, (5, 3)),
    (2, (1, 2, 9, 9), 3, None),
    (3, (2, 2, 6, 7, 8), (2, 3, 2), (3, 4, 5)),
    (3, (2, 5, 6, 7), 2, None),
]


def _input(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    x.reshape(-1)[::7] = x.reshape(-1)[3]  # NOTE: ties: the first of them wins
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd, shape, kernel, out", CASES)
def test_matches_pytorch_given_the_same_samples(nd, shape, kernel, out, dtype):
    torch = pytest.importorskip("torch")
    x = _input(shape, dtype)
    if nd == 2 and out is None:
        x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan  # NOTE: the last nan of a window wins
    batch = shape[0] if len(shape) == nd + 2 else 1
    samples = np.random.default_rng(1).random((batch, shape[-nd - 1], nd)).astype(dtype)
    size = {"output_size": out} if out else {"output_ratio": (0.5,) * nd}
    mine, theirs = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, ours_idx = getattr(F, f"fractional_max_pool{nd}d")(
        mine, kernel, **size, return_indices=True, _random_samples=tl.tensor(samples))
    ref, ref_idx = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")(
        theirs, kernel, **size, return_indices=True, _random_samples=torch.tensor(samples))
    np.testing.assert_array_equal(ours.numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(ours_idx.numpy(), ref_idx.numpy())
    seed = np.random.default_rng(2).standard_normal(ours.shape).astype(dtype)
    (ours * tl.tensor(seed)).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_each_output_is_its_windows_maximum_and_the_gradient_goes_there():
    x = tl.tensor(np.random.default_rng(3).permutation(2 * 3 * 11 * 12).reshape(2, 3, 11, 12)
                  .astype(np.float64), requires_grad=True)
    out, idx = F.fractional_max_pool2d(x, 3, output_size=(6, 5), return_indices=True)
    planes = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(out.numpy().reshape(2, 3, -1),
                                  np.take_along_axis(planes, idx.numpy().reshape(2, 3, -1), 2))
    out.sum().backward()
    expected = np.zeros_like(planes)
    for n, c in np.ndindex(2, 3):  # NOTE: overlapping windows can pick one element twice
        np.add.at(expected[n, c], idx.numpy()[n, c].reshape(-1), 1.0)
    np.testing.assert_array_equal(x.grad.numpy().reshape(2, 3, -1), expected)
    assert tl.gradcheck(lambda t: F.fractional_max_pool2d(
        t, 2, output_size=4, _random_samples=tl.full((2, 3, 2), 0.3, dtype=tl.float64)),
        [tl.tensor(x.numpy() / 100, requires_grad=True)])


def test_new_windows_each_call_unless_the_samples_are_given_and_manual_seed_repeats_them():
    x = tl.randn(1, 4, 20, 20)
    pool = nn.FractionalMaxPool2d(2, output_ratio=0.6, return_indices=True)
    tl.manual_seed(0)
    first = pool(x)[1].numpy()
    assert any(not np.array_equal(first, pool(x)[1].numpy()) for _ in range(5))
    tl.manual_seed(0)
    np.testing.assert_array_equal(pool(x)[1].numpy(), first)
    fixed = nn.FractionalMaxPool2d(2, output_size=12, _random_samples=tl.rand(1, 4, 2))
    np.testing.assert_array_equal(fixed(x).numpy(), fixed(x).numpy())
    assert repr(pool) == "FractionalMaxPool2d()" and list(pool.state_dict()) == []


@pytest.mark.parametrize("make, message", [
    (lambda: nn.FractionalMaxPool2d(3), "either an output size, or a pooling ratio"),
    (lambda: nn.FractionalMaxPool2d(3, output_size=3, output_ratio=0.5), "only one of"),
    (lambda: nn.FractionalMaxPool3d(3, output_ratio=1.5), "between 0 and 1"),
    (lambda: F.fractional_max_pool2d(tl.zeros(1, 1, 5, 5), 3), "either an output_size"),
])
def test_options_are_checked_as_pytorch_checks_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_pool_larger_than_the_input_allows_is_refused():
    with pytest.raises(RuntimeError, match="pool height 3 too large relative to input height 5"):
        F.fractional_max_pool2d(tl.zeros(1, 1, 5, 5), 3, output_size=4)


@pytest.mark.parametrize("call, message", [
    (lambda: F.fractional_max_pool3d(tl.zeros(1, 1, 4, 4, 4), 2, output_size=(3, 2, 2)),
     r"fractional_max_pool3d_out\(\): pool time 2 too large relative to input time 4"),
    (lambda: F.fractional_max_pool3d(tl.zeros(1, 1, 5, 5, 4), 2, output_size=(2, 4, 3)),
     "pool width 2 too large"),  # NOTE: PyTorch checks time, then width, then height
])
def test_three_d_sizes_are_checked_as_pytorch_checks_them(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_an_output_size_of_zero_gives_an_empty_pool():
    out, idx = F.fractional_max_pool2d(tl.randn(1, 2, 3, 5), (1, 2), output_ratio=(0.3, 0.5),
                                       return_indices=True)
    assert out.shape == idx.shape == (1, 2, 0, 2)


def test_an_empty_batch_pools_to_an_empty_batch_and_empty_planes_are_refused():
    out, idx = nn.FractionalMaxPool2d(2, output_size=2, return_indices=True)(tl.zeros(0, 3, 5, 5))
    assert out.shape == idx.shape == (0, 3, 2, 2)
    with pytest.raises(RuntimeError, match="non-zero size for non-batch dimensions"):
        F.fractional_max_pool2d(tl.zeros(2, 0, 5, 5), 2, output_size=2)
