"""PyTorch parity, second tensor audit: advanced-index placement beside ints, slice steps,
scalar wrap-around in integer ops, bool subtraction, in-place integer casts, arange's sign
check, median with NaN, legacy empty tensors in cat, and gradients of clamp and std.

Each test states the expected value without torch where it can, then compares with torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _same(a, b) -> None:
    """Same values, shape and dtype name for a torch tensor `a` and a tinygrad_lite one `b`."""
    a, b = a.detach().numpy(), b.detach().numpy()
    assert a.shape == b.shape and str(a.dtype) == str(b.dtype), (a.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a.astype(float), b.astype(float), equal_nan=True)


def _grad(lib, fn, data, *others):
    """The gradient of `fn(x, *others).sum()` at `x = data` (float64), in `lib`."""
    x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
    fn(x, *others).sum().backward()
    return x.grad


INDICES = [
    lambda x: x[0, :, [1, 2]],
    lambda x: x[None, 0, :, [1, 2]],
    lambda x: x[[0, 1], None, 0, [1, 2]],
    lambda x: x[0, ..., [1, 2]],
    lambda x: x[:, [0, 1], 0, [[1], [2]]],
    lambda x: x[1, :, x.new_tensor([True, False, True, False]).bool()],
]


@pytest.mark.parametrize("case", range(len(INDICES)))
def test_int_between_advanced_indices_keeps_them_in_place_as_torch(case):
    pick = INDICES[case]
    x_t = torch.arange(120.0, dtype=torch.float64).reshape(2, 3, 4, 5).requires_grad_()
    x_l = tl.arange(120.0, dtype=tl.float64).reshape(2, 3, 4, 5).requires_grad_()
    out_t, out_l = pick(x_t), pick(x_l)
    _same(out_t, out_l)
    weights = np.arange(out_t.numel(), dtype=np.float64).reshape(out_t.shape)
    (out_t * torch.tensor(weights)).sum().backward()
    (out_l * tl.tensor(weights)).sum().backward()
    _same(x_t.grad, x_l.grad)


def test_int_between_advanced_indices_shape_and_setitem():
    x = tl.zeros(2, 3, 4)
    assert x[0, :, [1, 2]].shape == (3, 2)  # numpy would give (2, 3)
    assert x[tl.tensor(0), :, [1, 2]].shape == (3, 2)
    value = np.arange(6.0).reshape(3, 2)
    x[0, :, [1, 2]] = tl.tensor(value)
    np.testing.assert_array_equal(x[0, :, 1:3].numpy(), value)
    w = tl.tensor(2.0, requires_grad=True)
    y = tl.zeros(2, 3, 4) * 1
    y[0, :, [1, 2]] = w * tl.tensor(value)
    y.sum().backward()
    assert w.grad.item() == value.sum()


def test_zero_dim_int_tensor_index_is_a_view_and_uint8_tensor_is_a_mask():
    a = tl.arange(5)
    b, c = a[tl.tensor(1)], a[2]
    b += 10
    c.add_(20)
    assert a.tolist() == [0, 11, 22, 3, 4]
    x = tl.arange(24).reshape(2, 3, 4)
    assert x[tl.tensor([0, 1], dtype=tl.uint8)].shape == (1, 3, 4)
    assert x[[]].shape == (0, 3, 4) and x[[]].dtype == tl.int64


def test_negative_slice_step_raises_as_torch_and_flip_still_works():
    for lib in (torch, tl):
        with pytest.raises(ValueError):
            lib.arange(6)[::-1]
    assert tl.arange(3).flip(0).tolist() == [2, 1, 0]


def test_uint8_with_negative_python_int_wraps_around():
    x = tl.tensor([3, 254], dtype=tl.uint8)
    assert (x + -3).tolist() == [0, 251]
    assert (x - -3).tolist() == [6, 1]
    np.testing.assert_allclose((x / -3).numpy(), [-1.0, -254 / 3], rtol=1e-6)
    xt = torch.tensor([3, 254], dtype=torch.uint8)
    for op in (lambda a: a + -3, lambda a: -3 * a, lambda a: a / -3, lambda a: -3 / a,
               lambda a: a < -3, lambda a: a == -3, lambda a: a % -3):
        _same(op(xt), op(x))


@pytest.mark.parametrize("expr", [
    lambda T: T.tensor([True, False]) - True,
    lambda T: T.tensor([1.0]) - T.tensor([True]),
    lambda T: 2 - T.tensor([True]),
    lambda T: T.tensor([1]).sub_(T.tensor([True])),
])
def test_subtracting_bools_raises_as_torch(expr):
    for lib in (torch, tl):
        with pytest.raises(RuntimeError):
            expr(lib)


def test_in_place_int_result_into_uint8_is_allowed_as_torch():
    x = tl.tensor([1, 2], dtype=tl.uint8)
    x.sub_(tl.tensor([3, -2]))
    assert x.dtype == tl.uint8 and x.tolist() == [254, 4]
    xt = torch.tensor([1, 2], dtype=torch.uint8).sub_(torch.tensor([3, -2]))
    _same(xt, x)
    with pytest.raises(RuntimeError):
        tl.tensor([1, 2]).add_(0.5)  # a float result still cannot go into an int tensor


@pytest.mark.parametrize("args", [(0, -1, 0.5), (1, 0), (0, 1, -1)])
def test_arange_with_step_of_the_wrong_sign_raises(args):
    for lib in (torch, tl):
        with pytest.raises(RuntimeError):
            lib.arange(*args)
    assert tl.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert tl.arange(0, 0).shape == (0,)


def test_median_is_nan_where_a_row_has_nan():
    data = [[1.0, float("nan"), 3.0, float("nan")], [4.0, 1.0, 2.0, 3.0]]
    values, indices = tl.tensor(data).median(1)
    assert np.isnan(values[0].item()) and values[1].item() == 2.0
    assert indices.tolist() == [1, 2]
    assert np.isnan(tl.tensor(data).median().item())
    _same(torch.tensor(data).median(), tl.tensor(data).median())
    for a, b in zip(torch.tensor(data).median(1), tl.tensor(data).median(1)):
        _same(a, b)


def test_cat_skips_a_legacy_empty_tensor():
    out = tl.cat([tl.tensor([]), tl.ones(2, 3)])
    assert out.shape == (2, 3)
    _same(torch.cat([torch.tensor([]), torch.ones(2, 3)]), out)
    _same(torch.cat([torch.ones(2, 3), torch.zeros(0)], 1),
          tl.cat([tl.ones(2, 3), tl.zeros(0)], 1))


def test_cumsum_and_cumprod_take_a_dtype():
    assert tl.tensor([1, 2], dtype=tl.int32).cumsum(0, dtype=tl.float64).tolist() == [1.0, 3.0]
    for name in ("cumsum", "cumprod"):
        _same(getattr(torch, name)(torch.tensor([1, 2, 3]), 0, dtype=torch.float32),
              getattr(tl, name)(tl.tensor([1, 2, 3]), 0, dtype=tl.float32))


def test_clamp_with_tensor_bounds_gives_the_whole_gradient_at_the_bounds():
    grads = {}
    for lib in (torch, tl):
        x = lib.tensor([1.0, 5.0, 3.0, 0.0], requires_grad=True)
        lo = lib.tensor([2.0, 2.0, 3.0, 0.0], requires_grad=True)
        hi = lib.tensor([4.0, 4.0, 3.0, 0.0], requires_grad=True)
        x.clamp(lo, hi).sum().backward()
        grads[lib] = (x.grad, lo.grad, hi.grad)
    assert grads[tl][0].tolist() == [0.0, 0.0, 1.0, 1.0]
    for a, b in zip(grads[torch], grads[tl]):
        _same(a, b)
    nan = float("nan")
    _same(torch.tensor([1.0, nan]).clamp(torch.tensor(2.0)), tl.tensor([1.0, nan]).clamp(
        tl.tensor(2.0)))


def test_std_gradient_is_zero_where_std_is_zero():
    assert _grad(tl, lambda x: x.std(), [1.0, 1.0]).tolist() == [0.0, 0.0]
    data = [[1.0, 1.0], [2.0, 3.0]]
    _same(_grad(torch, lambda x: x.std(1), data), _grad(tl, lambda x: x.std(1), data))
    _same(torch.tensor(data).std(1), tl.tensor(data).std(1))


def test_generator_objects_draw_reproducibly_and_manual_seed_returns_one():
    assert isinstance(tl.manual_seed(1), tl.Generator) and tl.initial_seed() == 1
    g = tl.Generator().manual_seed(3)
    assert g.initial_seed() == 3
    draws = [tl.rand(3, generator=g), tl.randn(2, 2, generator=g),
             tl.randint(0, 5, (4,), generator=g), tl.randperm(5, generator=g),
             tl.normal(0.0, 1.0, (2,), generator=g)]
    g.manual_seed(3)
    again = [tl.rand(3, generator=g), tl.randn(2, 2, generator=g),
             tl.randint(0, 5, (4,), generator=g), tl.randperm(5, generator=g),
             tl.normal(0.0, 1.0, (2,), generator=g)]
    assert all(tl.equal(a, b) for a, b in zip(draws, again))
    state = g.get_state()
    x = tl.rand(2, generator=g)
    assert tl.equal(x, tl.rand(2, generator=g.set_state(state)))
    tg = torch.Generator().manual_seed(0)  # the same calls work in torch
    assert torch.rand(3, generator=tg).shape == tl.rand(3, generator=g).shape


def test_transpose_of_a_zero_dim_tensor_is_itself():
    for lib in (torch, tl):
        assert lib.tensor(3.0).transpose(0, -1).item() == 3.0


def test_clone_and_detach_have_function_forms():
    x = tl.ones(2, requires_grad=True)
    assert tl.clone(x).requires_grad and not tl.detach(x).requires_grad
    _same(torch.clone(torch.ones(2)), tl.clone(tl.ones(2)))


def test_max_along_a_non_empty_dim_of_an_empty_tensor_is_empty():
    values, indices = tl.zeros(0, 3).max(1)
    assert values.shape == (0,) and indices.shape == (0,)
    _same(torch.zeros(0, 3).min(1, keepdim=True).values, tl.zeros(0, 3).min(1, keepdim=True)[0])
    for lib in (torch, tl):
        with pytest.raises((RuntimeError, IndexError)):
            lib.zeros(0, 3).max(0)


@pytest.mark.parametrize("name", ["int32", "uint8", "float64", "float16", "bool_"])
def test_tensor_of_a_numpy_scalar_keeps_its_dtype(name):
    value = getattr(np, name)(1)
    assert tl.tensor(value).dtype == np.dtype(name)
    assert str(torch.tensor(value).dtype).removeprefix("torch.") == np.dtype(name).name


def test_index_put_writes_or_accumulates_and_ravel_flattens():
    x = tl.zeros(3)
    x.index_put_((tl.tensor([0, 0]),), tl.tensor([1.0, 2.0]), accumulate=True)
    assert x.tolist() == [3.0, 0.0, 0.0]
    assert tl.zeros(2, 3).ravel().shape == (6,) and tl.ravel(tl.zeros(2, 3)).shape == (6,)
    grads = {}
    for lib in (torch, tl):
        base = lib.ones(3, requires_grad=True)
        values = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = base.index_put((lib.tensor([0, 0, 2]),), values, accumulate=True)
        out.pow(2).sum().backward()
        grads[lib] = (out, base.grad, values.grad)
    for a, b in zip(grads[torch], grads[tl]):
        _same(a, b)
    _same(torch.zeros(2, 3).index_put((torch.tensor([True, False]),), torch.tensor(7.0)),
          tl.zeros(2, 3).index_put((tl.tensor([True, False]),), tl.tensor(7.0)))
