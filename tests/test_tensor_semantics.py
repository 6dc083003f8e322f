"""PyTorch's tensor semantics that a parity audit found missing, checked without torch (the
expected values are PyTorch 2.13's; tests/test_parity_audit.py compares with torch itself)."""
from __future__ import annotations

import numpy as np
import pytest

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
