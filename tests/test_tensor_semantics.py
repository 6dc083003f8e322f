"""PyTorch's tensor semantics that a parity audit found missing, checked without torch (the
expected values are PyTorch 2.13's; tests/test_parity_audit.py compares with torch itself)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import custom_functions

import tinygrad_lite as tl


def test_a_cast_to_an_integer_or_bool_dtype_leaves_the_graph():
    x = tl.tensor([1.5, 2.5], dtype=tl.float64, requires_grad=True)
    for cast in (x.long(), x.int(), x.bool(), x.to(tl.int64)):
        assert not cast.requires_grad and cast.is_leaf
    w = tl.tensor([1.0, 1.0], dtype=tl.float64, requires_grad=True)
    (x.long().double() * w * 3).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), [3, 6])
    assert x.float().requires_grad  # float to float stays differentiable


def test_casts_past_a_dtype_s_range_give_pytorch_s_values_without_numpy_s_warnings(backend):
    """torch.tensor([1e-45, 1e40]) is [1.4e-45, inf] and 1e5 as float16 inf, silently; numpy
    warns (raises, under errstate) on each of these casts."""
    big = np.full(5000, 1e5)  # NOTE: above the numba backend's size for eager numpy
    with np.errstate(all="raise"):
        made = tl.tensor([1e-45, 1e40, -1e40, 1e-50])
        np.testing.assert_array_equal(made.numpy(), np.array([1e-45, np.inf, -np.inf, 0],
                                                             np.float32))
        for data in ([1e5, 1e-10, np.nan], big):
            x = tl.tensor(data, dtype=tl.float64)
            assert np.isposinf(x.half().numpy()[0]) and x.float().numpy()[0] == 1e5
            assert x.long().dtype == tl.int64


def test_to_reads_device_dtype_and_other_tensor_like_pytorch():
    t = tl.tensor([1, 2, 3])
    assert t.to("cpu", tl.float64).dtype == tl.float64
    assert t.to(tl.device("cpu"), dtype=tl.float32).dtype == tl.float32
    assert t.to(tl.zeros(1, dtype=tl.float64)).dtype == tl.float64
    assert t.to("cpu") is t and t.to("cpu", copy=True) is not t
    with pytest.raises(RuntimeError, match="cpu"):
        t.to("cuda")


def test_mean_and_var_refuse_integer_tensors_and_accept_dtype():
    ints = tl.tensor([1, 2, 4])
    for reduce in (ints.mean, ints.var, ints.std):
        with pytest.raises(RuntimeError, match="floating point"):
            reduce()
    assert ints.mean(dtype=tl.float64).item() == pytest.approx(7 / 3)
    assert ints.sum().dtype == tl.int64


def test_an_empty_dim_list_reduces_every_dim():
    x = tl.arange(6.0).reshape(2, 3)
    assert x.sum(dim=()).item() == 15 and x.mean(dim=[]).item() == 2.5
    assert x.amax(dim=()).item() == 5 and x.amin(dim=[]).item() == 0


def test_masked_fill_keeps_the_dtype_and_clamp_takes_tensor_bounds():
    x = tl.arange(6)
    filled = x.masked_fill(x > 2, 2.5)
    assert filled.dtype == tl.int64 and filled.tolist() == [0, 1, 2, 2, 2, 2]
    clamped = tl.tensor([1, 2, 3]).clamp(min=tl.tensor(1.5))
    assert clamped.dtype == tl.float32 and clamped.tolist() == [1.5, 2, 3]
    lo = tl.tensor([0.0, 5.0], requires_grad=True)
    v = tl.tensor([1.0, 1.0], requires_grad=True)
    v.clamp(min=lo, max=10.0).sum().backward()
    assert v.grad.tolist() == [1, 0] and lo.grad.tolist() == [0, 1]


def test_contiguous_copies_a_transposed_tensor_and_view_refuses_it():
    x = tl.arange(6.0).reshape(2, 3)
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == t.tolist()
    assert x.contiguous() is x
    with pytest.raises(RuntimeError, match="reshape"):
        t.view(-1)
    assert t.reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]
    assert x.view(3, 2).shape == (3, 2) and x[:, 1:].view(2, 2).shape == (2, 2)
    leaf = tl.arange(6.0, requires_grad=True)
    (leaf.reshape(2, 3).t().contiguous() * tl.arange(6.0).reshape(3, 2)).sum().backward()
    assert leaf.grad.tolist() == [0, 2, 4, 1, 3, 5]


def test_add_and_sub_take_alpha_as_methods_functions_and_in_place():
    a, b = tl.tensor([1.0, 2.0]), tl.tensor([10.0, 20.0])
    assert a.add(b, alpha=2).tolist() == [21, 42]
    assert a.sub(b, alpha=0.5).tolist() == [-4, -8]
    assert tl.add(a, b, alpha=-1).tolist() == [-9, -18]
    a.add_(b, alpha=3)
    assert a.tolist() == [31, 62]


def test_index_select_with_a_0d_index_keeps_the_dim():
    x = tl.arange(6.0).reshape(2, 3)
    assert x.index_select(0, tl.tensor(1)).tolist() == [[3, 4, 5]]
    assert x.index_select(1, tl.tensor([2, 0])).tolist() == [[2, 0], [5, 3]]


def test_softmax_and_log_softmax_take_dtype():
    x = tl.tensor([[1.0, 2.0, 3.0]])
    assert x.softmax(-1, dtype=tl.float64).dtype == tl.float64
    assert x.log_softmax(dim=1, dtype=tl.float64).dtype == tl.float64


def test_item_and_bool_of_several_elements_raise_runtime_error():
    t = tl.zeros(2)
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert bool(tl.tensor([3])) is True


def test_device_attributes():
    t = tl.zeros(2, 3)
    assert t.device == "cpu" and t.device.type == "cpu" and t.device.index is None
    assert t.is_cuda is False and t.nelement() == 6


def test_requires_grad_is_checked_when_set_as_an_attribute():
    with pytest.raises(RuntimeError, match="floating point"):
        tl.zeros(3, dtype=tl.int64).requires_grad = True
    x = tl.zeros(2)
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf
    y = x * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad = False


def test_backward_with_inputs_fills_only_their_grads():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    w = tl.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3, 4] and w.grad is None
    y = x * 2
    y.retain_grad()
    (y * w).sum().backward(inputs=[y])      # a non-leaf input: its .grad, once
    assert y.grad.tolist() == [3, 4] and x.grad.tolist() == [3, 4]
    with pytest.raises(RuntimeError, match="inputs is empty"):
        (x * w).sum().backward(inputs=[])


@pytest.mark.parametrize("values, text", [
    ([1.5, 2.25], "tensor([1.5000, 2.2500])"),
    ([1e-8, 1.0], "tensor([1.0000e-08, 1.0000e+00])"),
    ([1.0, 2.0], "tensor([1., 2.])"),
    ([-0.5, 1.0], "tensor([-0.5000,  1.0000])"),
    ([float("nan"), 1.5], "tensor([   nan, 1.5000])"),
    ([[1.5, -2.0], [3.0, 4.0]], "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])"),
    (3.14159, "tensor(3.1416)"),
])
def test_float_tensors_print_as_pytorch_prints_them(values, text):
    assert repr(tl.tensor(values)) == text


def test_repeat_interleave_tensor_split_equal_allclose():
    x = tl.arange(6.0).reshape(2, 3)
    assert x.repeat_interleave(2).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert x.repeat_interleave(tl.tensor([1, 2]), dim=0).tolist() == [[0, 1, 2], [3, 4, 5],
                                                                       [3, 4, 5]]
    assert [p.shape for p in x.tensor_split(2, dim=1)] == [(2, 2), (2, 1)]
    assert [p.tolist() for p in tl.tensor_split(tl.arange(5), [1, 3])] == [[0], [1, 2], [3, 4]]
    assert x.equal(x.clone()) and not tl.equal(x, x + 1) and not x.equal(x.reshape(3, 2))
    assert x.allclose(x + 1e-9) and not tl.allclose(x, x + 1)
    leaf = tl.tensor([1.0, 2.0], requires_grad=True)
    leaf.repeat_interleave(3).sum().backward()
    assert leaf.grad.tolist() == [3, 3]


def test_setitem_drops_leading_size_one_dims_of_the_value():
    t = tl.zeros(3)
    t[1] = tl.tensor([5.0])
    t[2] = [[7.0]]
    assert t.tolist() == [0, 5, 7]
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y[0] = tl.tensor([[9.0]])
    assert y.tolist() == [9, 2]


def test_an_in_place_write_into_a_slice_of_a_graph_tensor_reaches_the_tensor():
    x = tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64, requires_grad=True)
    y = x * 1
    y[1:].mul_(2)
    assert y.tolist() == [1, 4, 6]
    y.sum().backward()
    assert x.grad.tolist() == [1, 2, 2]
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tl.float64, requires_grad=True)
    w = tl.tensor(7.0, dtype=tl.float64, requires_grad=True)
    y = x * 1
    y[0][1] = 100.0          # chained indexing, as on a numpy array
    row = y[1]
    row[0] = w
    assert y.tolist() == [[1, 100], [7, 4]] and row.tolist() == [7, 4]
    (y * y).sum().backward()
    assert x.grad.tolist() == [[2, 0], [0, 8]] and w.grad.item() == 14
    leaf = tl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf[1:].add_(1)      # a view of a leaf that requires grad: refused, as in PyTorch
    assert leaf.tolist() == [0, 0, 0]


def test_shifts_var_mean_std_mean_bincount_and_div_rounding_in_place():
    a = tl.tensor([1, 2, 8])
    assert (a << 1).tolist() == [2, 4, 16] and (a >> 1).tolist() == [0, 1, 4]
    assert tl.bitwise_left_shift(a, 2).tolist() == [4, 8, 32]
    x = tl.tensor([1.0, 2.0, 4.0], dtype=tl.float64)
    var, mean = x.var_mean()
    assert var.item() == pytest.approx(7 / 3) and mean.item() == pytest.approx(7 / 3)
    std, _ = tl.std_mean(x, 0)
    assert std.item() == pytest.approx((7 / 3) ** 0.5)
    assert tl.bincount(tl.tensor([0, 2, 2, 5])).tolist() == [1, 0, 2, 0, 0, 1]
    weighted = tl.tensor([0, 2, 2]).bincount(tl.tensor([0.5, 1.0, 2.0]), minlength=4)
    assert weighted.dtype == tl.float32 and weighted.tolist() == [0.5, 0, 3, 0]
    y = tl.tensor([7.0, -7.0])
    y.div_(2, rounding_mode="floor")
    assert y.tolist() == [3, -4]


def test_pow_gives_ieee_edge_values_without_warnings_as_pytorch(backend):
    x = tl.tensor([-8.0, 0.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = [(x ** e).tolist() for e in (-1, 0.5, 2000.0)]
        (x ** -1).sum().backward()
    np.testing.assert_allclose(values, [[-0.125, np.inf, 0.5], [np.nan, 0, 2 ** 0.5],
                                        [np.inf, 0, np.inf]], rtol=1e-7)
    np.testing.assert_allclose(x.grad.numpy(), [-1 / 64, -np.inf, -0.25])


def test_gradients_at_the_edges_of_pow_acosh_and_copysign_are_pytorchs(backend):
    """PyTorch 2.13's values: d/dy x**y is -inf at x = 0, y < 0 and nan for a negative base;
    acosh's slope is real below -1; copysign's `other` gets a zero gradient, not None."""
    x = tl.tensor([0.0, 0.0, 2.0, -2.0], requires_grad=True)
    y = tl.tensor([-0.3, 0.5, 0.5, 0.5], requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [-np.inf, 0, 0.98025, np.nan], rtol=1e-5)
    e = tl.tensor([-2.0, -1.0, 0.0, 1.0, 3.0], requires_grad=True)
    (0.0 ** e).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), [-np.inf, -np.inf, 0, 0, 0])
    a = tl.tensor([-3.0, -2.0, -1.0, 2.0], dtype=tl.float64, requires_grad=True)
    a.acosh().sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [8 ** -0.5, 3 ** -0.5, np.inf, 3 ** -0.5])
    m = tl.tensor([[-2.0, 0.0, 3.0]], requires_grad=True)
    s = tl.tensor([[1.0], [-0.0]], requires_grad=True)
    gm, gs = tl.autograd.grad(m.copysign(s).sum(), [m, s])
    np.testing.assert_array_equal(gm.numpy(), [[0, 0, 0]])  # NOTE: +1 and -1 rows cancel
    np.testing.assert_array_equal(gs.numpy(), [[0], [0]])
    m.copysign(s)[1].sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [[1, 0, -1]])


@pytest.mark.parametrize("call, error", [
    (lambda x: x.gather(0, tl.zeros(4, 5, dtype=tl.int64)), RuntimeError),  # wider than x
    (lambda x: x.gather(0, tl.tensor([[-1]])), RuntimeError),  # no negative indices
    (lambda x: x.gather(0, tl.full((2, 2), 5)), RuntimeError),
    (lambda x: x.flip((0, 0)), RuntimeError), (lambda x: x.sum((1, -1)), RuntimeError),
    (lambda x: x.clamp(), RuntimeError),
    (lambda x: x.div(2, rounding_mode="typo"), RuntimeError),
    (lambda x: tl.meshgrid(x[0], indexing="bad"), RuntimeError),
    (lambda x: tl.nn.functional.pad(x, (1, 1), mode="typo"), NotImplementedError),
    (lambda x: tl.nn.functional.cross_entropy(x, tl.zeros(3, 1)), RuntimeError),
    (lambda x: tl.nn.functional.one_hot(tl.tensor([0, 4]), 4), RuntimeError),
    (lambda x: tl.linspace(5, 10, 3, dtype=tl.bool), NotImplementedError),
    (lambda x: tl.arange(3, dtype=tl.bool), NotImplementedError),
], ids=["gather-shape", "gather-negative", "gather-bound", "flip", "sum", "clamp", "div",
        "meshgrid", "pad", "cross_entropy", "one_hot", "linspace", "arange"])
def test_bad_arguments_raise_pytorchs_class_of_error(call, error):
    """PyTorch 2.13 raises these classes (RuntimeError from its C++ checks), so code that
    catches them, and tests ported from other projects, behave the same here."""
    with pytest.raises(error):
        call(tl.ones(3, 4))


def test_view_as_a_dtype_reads_the_same_memory_without_a_gradient():
    x = tl.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    bits = x.view(tl.int32)
    assert bits.shape == (2, 2) and not bits.requires_grad
    assert bits[0, 0].item() == 0x3F800000  # NOTE: 1.0f
    assert x.view(tl.int16).shape == (2, 4) and x.view(tl.float64).shape == (2, 1)
    y = tl.zeros(4)
    y.view(tl.int32)[0] = 0x3F800000
    assert y[0].item() == 1.0  # NOTE: one memory, as in PyTorch
    with pytest.raises(RuntimeError, match="contiguous"):
        x.T.view(tl.float16)
    with pytest.raises(RuntimeError, match="0-d"):
        tl.tensor(1.0).view(tl.int16)


def test_take_along_dim_counts_negative_indices_from_the_end_where_gather_refuses_them():
    x = tl.arange(25.0).reshape(5, 5)
    idx = tl.tensor([[-1], [0], [1], [2], [3]])
    np.testing.assert_array_equal(tl.take_along_dim(x, idx, 1).numpy().ravel(),
                                  [4, 5, 11, 17, 23])  # NOTE: PyTorch 2.13's values
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.gather(1, idx)


def test_scatter_prod_gradient_where_a_factor_is_zero_is_the_product_of_the_others():
    """PyTorch 2.13's values: the one zero factor gets the product of the others; every factor
    of a product with two zeros, and the others beside one zero, get 0."""
    for src_values, src_grad, x_grad in (([0.0, 5.0, 4.0], [10, 0, 3], [0, 4]),
                                         ([0.0, 0.0, 4.0], [0, 0, 3], [0, 4])):
        x = tl.tensor([2.0, 3.0], requires_grad=True)
        src = tl.tensor(src_values, requires_grad=True)
        out = x.scatter_reduce(0, tl.tensor([0, 0, 1]), src, "prod")
        out.sum().backward()
        np.testing.assert_array_equal(out.numpy(), [0, 12])
        np.testing.assert_array_equal(src.grad.numpy(), src_grad)
        np.testing.assert_array_equal(x.grad.numpy(), x_grad)
    x = tl.tensor([0.0, 3.0], requires_grad=True)
    src = tl.tensor([5.0, 2.0, 4.0], requires_grad=True)
    x.index_reduce(0, tl.tensor([0, 0, 1]), src, "prod", include_self=False).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0])  # NOTE: not factors here
    np.testing.assert_array_equal(src.grad.numpy(), [2, 5, 1])


def test_a_second_backward_adds_into_the_same_grad_tensor(backend):
    """As PyTorch's AccumulateGrad: a reference to `.grad` taken earlier sees the sum."""
    w = tl.ones(300, 300, requires_grad=True)  # NOTE: the numba backend's kernel sizes too
    (w * 2).sum().backward()
    first = w.grad
    doubled = first * 2  # NOTE: the numba backend's pending read of the old sum
    (w * 3).sum().backward()
    assert first is w.grad
    np.testing.assert_array_equal(first.numpy(), np.full((300, 300), 5, np.float32))
    np.testing.assert_array_equal(doubled.numpy(), np.full((300, 300), 4, np.float32))


def test_half_mean_var_and_max_count_past_float16s_range():
    """PyTorch counts in float32 for float16: 70000 ones have mean 1, not nan, and their
    tied maxima a gradient of 1/70000 each, not 0."""
    x = tl.ones(70000, dtype=tl.float16, requires_grad=True)
    m = x.mean()
    assert m.dtype == tl.float16 and m.item() == 1.0 and x.var().item() == 0.0
    m.backward()
    assert x.grad.dtype == tl.float16
    # NOTE: 1.43e-5 is subnormal in float16, good to ~0.4%
    np.testing.assert_allclose(x.grad.numpy()[:3].astype(np.float64), 1 / 70000, rtol=1e-2)
    y = tl.ones(70000, dtype=tl.float16, requires_grad=True)
    y.max().backward()  # NOTE: 70000 tied maxima share the gradient
    assert y.grad.dtype == tl.float16
    np.testing.assert_allclose(y.grad.numpy()[:3].astype(np.float64), 1 / 70000, rtol=1e-2)


def test_ragged_nested_lists_raise_pytorchs_classes_naming_the_dim():
    with pytest.raises(TypeError, match="a number and a sequence side by side at dim 1"):
        tl.tensor([[1], [1], 1])
    with pytest.raises(ValueError, match=r"lengths \[1, 2\] side by side at dim 1"):
        tl.tensor([[1, 2], [1]])
    with pytest.raises(ValueError, match=r"lengths \[0, 2\] side by side at dim 1"):
        tl.tensor([[1, 2], []])


def test_nested_lists_under_an_empty_first_element_give_an_empty_tensor_as_pytorch():
    # NOTE: PyTorch 2.13 reads each dim's size off the first element and stores nothing
    # under an empty one (tinygrad's test_tensor_list_errors compares with it)
    for data, shape in (([[], [[]]], (2, 0)), ([[], [1, 2]], (2, 0)),
                        ([[[]], [[1]]], (2, 1, 0))):
        t = tl.tensor(data)
        assert t.shape == shape and t.dtype == tl.float32
    assert tl.tensor([[], [[]]], dtype=tl.int64).dtype == tl.int64


def test_functions_write_into_out_as_pytorchs_do():
    """`torch.add(x, y, out=r)` (PyTorch's first tutorial): the result lands in `out`, which is
    resized if needed and returned; with an argument that requires grad it is refused."""
    x, r = tl.ones(2), tl.zeros(2)
    assert tl.add(x, x, out=r) is r and r.tolist() == [2.0, 2.0]
    c = tl.zeros(1)
    assert tl.matmul(tl.ones(3, 2), tl.ones(2, 3), out=c) is c and c.shape == (3, 3)
    assert tl.rand(2, 2, out=c) is c and c.shape == (2, 2)
    assert tl.cat([x, x], out=c).tolist() == [1.0] * 4
    ints = tl.zeros(2, dtype=tl.int64)
    tl.zeros(2, out=ints)
    assert ints.dtype == tl.int64  # NOTE: out keeps its dtype
    values, indices = tl.zeros(3), tl.zeros(3, dtype=tl.int64)
    pair = tl.max(tl.tensor([[1.0, 5.0], [7.0, 2.0], [0.0, 3.0]]), 1, out=(values, indices))
    assert pair.values is values and indices.tolist() == [1, 0, 1]
    with pytest.raises(RuntimeError, match="out=.*requires grad"):
        tl.mul(tl.ones(2, requires_grad=True), 2, out=tl.zeros(2))


def test_what_pytorchs_tutorials_print_and_probe_matches():
    """PyTorch 2.13's outputs for lines of its beginner tutorials."""
    a = tl.ones(2, requires_grad=True)
    d = a * 2 + 1
    assert repr(d) == "tensor([3., 3.], grad_fn=<AddBackward0>)"
    assert repr(d.grad_fn).startswith("<AddBackward0 object at 0x")
    (mul, _), (constant, _) = d.grad_fn.next_functions
    assert mul.op_name == "Mul" and mul.name() == "MulBackward0" and constant is None
    (leaf, _), _ = mul.next_functions
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is a
    assert leaf.next_functions == ()
    assert (2 * d).grad_fn.next_functions[0][0] is d.grad_fn  # NOTE: the tensor first
    wide = tl.linspace(0.0, 6.0, steps=25, requires_grad=True)
    assert repr(wide).endswith("6.0000],\n       requires_grad=True)")  # NOTE: its own line
    rows = (tl.arange(16.0).reshape(2, 8) / 3).requires_grad_() * 2
    assert repr(rows) == (  # NOTE: 8 a row as PyTorch counts the width, suffix below
        "tensor([[ 0.0000,  0.6667,  1.3333,  2.0000,  2.6667,  3.3333,  4.0000,  4.6667],\n"
        "        [ 5.3333,  6.0000,  6.6667,  7.3333,  8.0000,  8.6667,  9.3333, 10.0000]],\n"
        "       grad_fn=<MulBackward0>)")
    assert repr(tl.tensor([True, True])) == "tensor([True, True])"
    assert repr(tl.tensor([[True, False]])) == "tensor([[ True, False]])"
    assert repr(tl.tensor([], dtype=tl.int64)) == "tensor([], dtype=int64)"
    assert repr(tl.zeros(0, 3)) == "tensor([], size=(0, 3))"
    m = tl.nn.Linear(2, 2)
    assert repr(m.load_state_dict(m.state_dict())) == "<All keys matched successfully>"
    assert not tl.accelerator.is_available() and tl.accelerator.current_accelerator() is None
    tl.set_default_device("cpu")
    assert tl.get_default_device() == "cpu"
    with pytest.raises(RuntimeError, match="only the 'cpu' device"):
        tl.set_default_device("cuda")
    import tinygrad_lite.functional as functional  # NOTE: `import torch.functional as F`
    assert functional.einsum is tl.einsum and functional.meshgrid is tl.meshgrid


def test_assigning_grad_checks_type_shape_and_dtype_as_pytorch():
    a = tl.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="Tensor or None"):
        a.grad = 0.0
    with pytest.raises(RuntimeError, match="does not match"):
        a.grad = tl.ones(3)
    with pytest.raises(RuntimeError, match="does not match"):
        a.grad = tl.ones(2, dtype=tl.float64)
    a.grad = tl.full((2,), 5.0)
    assert a.grad.tolist() == [5.0, 5.0]
    a.grad = None
    assert a.grad is None


def test_the_profiler_times_each_op_and_its_backward_then_unwraps():
    """PyTorch's `with torch.autograd.profiler.profile() as prf:` ... `prf.key_averages()
    .table(sort_by='self_cpu_time_total')` (its autograd tutorial)."""
    apply, backward = tl.autograd.Function.__dict__["apply"], tl.ops.Mul.__dict__["backward"]
    x, y, z = tl.randn(3, requires_grad=True), tl.randn(3), tl.randn(3)
    with tl.autograd.profiler.profile(use_cuda=False) as prf:
        for _ in range(10):
            z = (z / x) * y
        with tl.profiler.record_function("backward pass"):
            z.sum().backward()
    rows = {row.key: row for row in prf.key_averages()}
    assert rows["Mul"].count == rows["Div"].count == rows["MulBackward0"].count == 10
    block = rows["backward pass"]
    assert block.count == 1 and block.cpu_time_total >= rows["SumBackward0"].cpu_time_total
    assert block.self_cpu_time_total < block.cpu_time_total  # NOTE: the ops inside are not self
    table = prf.key_averages().table(sort_by="self_cpu_time_total", row_limit=3)
    assert "Self CPU %" in table and "# of Calls" in table and "Self CPU time total" in table
    assert len([line for line in table.splitlines() if line.endswith("  ")]) == 4 + 3  # rows
    assert tl.autograd.Function.__dict__["apply"] is apply  # NOTE: unwrapped on exit
    assert tl.ops.Mul.__dict__["backward"] is backward

    square = custom_functions(tl)[0]  # NOTE: PyTorch-style, static methods
    w = tl.ones(3, requires_grad=True)
    with tl.profiler.profile() as prf:
        square.apply(w).sum().backward()
    assert w.grad.tolist() == [2.0] * 3
    assert "SquareBackward0" in {row.key for row in prf.key_averages()}


def test_what_pytorchs_examples_call_on_a_cpu_machine():
    """Lines of pytorch/examples: device probes, cuDNN switches, the legacy typed
    constructors and `flatten_parameters()` (PyTorch's values on a CPU-only machine)."""
    assert not tl.backends.mps.is_available() and not tl.xpu.is_available()
    tl.backends.cudnn.deterministic = True  # NOTE: kept, changes nothing here
    floats = tl.FloatTensor(np.ones((2, 2), np.int32))
    assert floats.dtype == tl.float32 and floats.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert tl.LongTensor([0, 1]).dtype == tl.int64 and tl.DoubleTensor([1]).dtype == tl.float64
    assert tl.FloatTensor(2, 3).shape == (2, 3) and tl.BoolTensor([1, 0]).tolist() == [True,
                                                                                      False]
    rnn = tl.nn.LSTM(3, 4)
    assert rnn.flatten_parameters() is None
    assert rnn(tl.ones(5, 1, 3))[0].shape == (5, 1, 4)
    layer = tl.nn.Linear(3, 2, True, "cpu", tl.float64)  # NOTE: PyTorch's positional order
    assert layer.weight.dtype == tl.float64
    with pytest.warns(FutureWarning, match="xavier_uniform_"):
        tl.nn.init.xavier_uniform(layer.weight)  # NOTE: the old name, deprecated
    with pytest.warns(FutureWarning):
        assert tl.nn.init.constant(layer.bias, 0.5).tolist() == [0.5, 0.5]
