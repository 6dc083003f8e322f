"""The engine: accumulation, freeing, errors, grad mode, invariants, and big graphs."""
from __future__ import annotations

import copy
import gc
import pickle
import re
import threading
import weakref

import numpy as np
import pytest

import tinygrad_lite as tl


def test_micrograd_sum_of_self_then_square():
    a = tl.tensor(3.0, requires_grad=True)
    b = a + a
    c = b * b
    c.backward()
    assert a.grad.item() == pytest.approx(24.0)  # d(4a^2)/da = 8a


def test_non_leaf_reused_in_two_branches_gets_both_contributions():
    x = tl.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum() + h.sum()  # dy/dh = 2h + 1
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * 3 * x.numpy() + 1))


def test_leaf_gradients_accumulate_across_backward_calls():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5, 5])


def test_second_backward_through_freed_graph_names_retain_graph():
    x = tl.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = tl.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_backward_on_non_scalar_names_shape_and_suggests_sum():
    y = tl.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\.sum\(\)"):
        y.backward()


def test_backward_with_explicit_gradient_and_its_shape_check():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(tl.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2, 0, -2])
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(tl.tensor([1.0, 2.0]))


def test_backward_without_requires_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.ones(2).sum().backward()


def test_chain_of_100k_ops_runs_backward_without_recursion_error():
    # NOTE: also the guard on complexity: a quadratic engine would take hours here
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_graph_is_freed_during_backward():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h)
    y = (h * 2).sum()
    ctx = y.grad_fn
    del h
    y.backward()
    assert ctx.freed and ctx.saved is None
    gc.collect()
    assert ref() is None


def test_no_graph_is_recorded_without_requires_grad_or_under_no_grad():
    a = tl.ones(3)
    assert (a * 2).grad_fn is None
    x = tl.ones(3, requires_grad=True)
    with tl.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_is_a_decorator_and_restores_state_on_exception():
    @tl.no_grad()
    def f():
        return tl.is_grad_enabled()

    assert f() is False and tl.is_grad_enabled()

    @tl.no_grad
    def g():
        return tl.is_grad_enabled()

    assert g() is False and tl.is_grad_enabled()
    with pytest.raises(ValueError):
        with tl.no_grad():
            raise ValueError
    assert tl.is_grad_enabled()
    with tl.no_grad():
        with tl.enable_grad():
            assert tl.is_grad_enabled()
        assert not tl.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = {}

    def worker():
        seen["worker"] = tl.is_grad_enabled()

    with tl.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not tl.is_grad_enabled()
    assert seen["worker"] is True


def test_invariants_inputs_and_upstream_not_mutated_and_grads_do_not_alias():
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = tl.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True)
    x0, y0 = x.numpy().copy(), y.numpy().copy()
    upstream = np.ones((2, 2), dtype=np.float32)
    up0 = upstream.copy()
    z = x + y  # Add hands the same gradient to both inputs
    z.backward(upstream)
    np.testing.assert_array_equal(x.numpy(), x0)
    np.testing.assert_array_equal(y.numpy(), y0)
    np.testing.assert_array_equal(upstream, up0)
    assert x.grad.shape == x.shape and y.grad.shape == y.shape
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), upstream)
    x.grad.numpy()[0, 0] = 100.0
    assert y.grad.numpy()[0, 0] == 1.0


def test_detach_cuts_the_graph_and_shares_memory():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert d.grad_fn is None and not d.requires_grad
    assert np.shares_memory(x.detach().numpy(), x.numpy())


def test_in_place_change_of_a_saved_tensor_is_detected():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    x = tl.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    with tl.no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_in_place_on_a_leaf_that_requires_grad_is_refused_in_grad_mode():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])  # state untouched


def test_in_place_updates_under_no_grad_write_into_shared_memory():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    alias = w.data
    with tl.no_grad():
        w -= 0.5 * tl.tensor([2.0, 2.0])
        w.mul_(2)
    np.testing.assert_array_equal(alias.numpy(), [0.0, 2.0])
    assert w.dtype == tl.float32 and w.is_leaf and w.requires_grad


def test_in_place_on_a_non_leaf_is_recorded():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.add_(1.0)
    h.mul_(3.0)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6, 6])


def _micrograd_more_ops(lib):
    """micrograd's test_more_ops, where `c += ...` is an in-place add on a non-leaf that
    earlier ops (c + 1, d * 2) already used."""
    a = lib.tensor([-4.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([2.0], dtype=lib.float64, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.sum().backward()
    return [np.asarray(t.detach().numpy()) for t in (g, a.grad, b.grad)]


def test_in_place_on_a_non_leaf_after_other_ops_used_it_matches_micrograd_and_torch():
    got = _micrograd_more_ops(tl)
    np.testing.assert_allclose(got, [[24.70408163265306], [138.83381924198252],
                                     [645.5772594752186]], rtol=1e-12)  # micrograd's values
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(got, _micrograd_more_ops(torch), rtol=1e-12)


def test_in_place_on_a_non_leaf_that_a_node_saved_is_refused_like_torch():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    w = tl.tensor([3.0, 4.0], requires_grad=True)
    h = w * 1.0   # a non-leaf
    y = (x * h).sum()  # Mul saves h for x's gradient
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


_WRITES = {
    "add_": lambda y: y.add_(1.0),
    "a slice's mul_": lambda y: y[0:1].mul_(2.0),
    "relu_": lambda y: y.relu_(),
    "F.relu(inplace=True)": lambda y: tl.nn.functional.relu(y, inplace=True),
}


@pytest.mark.parametrize("write", list(_WRITES))
@pytest.mark.parametrize("op", ["exp", "sigmoid", "relu", "tanh", "sqrt", "softmax", "amax",
                                "cumprod", "logsumexp"])
def test_writing_an_output_that_its_own_backward_reads_is_refused_like_torch(op, write, backend):
    # NOTE: PyTorch's nodes for these ops save their result; a later in-place write bumps its
    # version and backward through the node raises. Ours keeps the old value but refuses too
    x = tl.tensor([0.3, 0.7, 1.1, 1.9], requires_grad=True)
    y = {"softmax": lambda: x.softmax(0), "amax": lambda: x.reshape(2, 2).amax(0),
         "cumprod": lambda: x.cumprod(0), "logsumexp": lambda: x.reshape(2, 2).logsumexp(0),
         }.get(op, lambda: getattr(x, op)())()
    _WRITES[write](y)
    shape = re.escape(f"(shape {tuple(y.shape)})")
    with pytest.raises(RuntimeError, match=f"output of .* {shape} was modified in place"):
        y.sum().backward()
    z = x.exp()
    with tl.no_grad():  # NOTE: memory overwritten: the saved output is wrong, so refused too
        z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


_MEMORY_WRITES = {
    "a detach()": lambda t: t.detach().mul_(2),
    "a slice": lambda t: t[1:].mul_(2),
    "a view": lambda t: t.view(2, 2).t().add_(1),
    "setitem": lambda t: t.__setitem__(0, 5.0),
}


@pytest.mark.parametrize("write", list(_MEMORY_WRITES))
@pytest.mark.parametrize("saved", ["an input", "an output", "a leaf"])
def test_a_memory_write_through_any_view_reaches_the_graph_like_torch(saved, write, backend):
    # NOTE: these share memory with what a node saved: PyTorch's version counter, shared by
    # views, raises; using the new values would silently give a wrong gradient
    x = tl.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    if saved == "an input":
        target = x * 1
        y = target * target
    elif saved == "an output":
        target = y = x.exp()
    else:
        target, y = x, x * x
    with tl.no_grad():
        _MEMORY_WRITES[write](target)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_memory_writes_that_no_saved_value_sees_keep_backward_working_like_torch(backend):
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    y = (a + 1).sum() + (a * 3).sum()  # neither node saves a
    with tl.no_grad():
        a.add_(1)
    kept = x.exp()
    kept.data.add_(1)  # NOTE: `.data` writes stay hidden from autograd, as in PyTorch
    logged = [kept.detach() + 1]  # read, not written
    (y + kept.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 + np.exp([1.0, 2.0]) + 1, rtol=1e-6)
    assert logged[0].shape == (2,)


@pytest.mark.parametrize("write, values, grad", [
    # NOTE: PyTorch 2.13's values; the loss is (y * y).sum() after the write
    (lambda y: y.view(2, 2).add_(1), [2, 3, 4, 5], [4, 6, 8, 10]),
    (lambda y: y.view(2, 2)[0].mul_(3), [3, 6, 3, 4], [18, 36, 6, 8]),
    (lambda y: y.reshape(1, 2, 2).permute(2, 0, 1).add_(1), [2, 3, 4, 5], [4, 6, 8, 10]),
    (lambda y: y.unsqueeze(0).squeeze(0).flatten()[1:3].mul_(10), [1, 20, 30, 4],
     [2, 400, 600, 8]),
    (lambda y: tl.nn.functional.relu(y.view(2, 2) - 2, inplace=True), [1, 2, 3, 4],
     [2, 4, 6, 8]),
])
def test_an_in_place_op_on_a_view_in_grad_mode_writes_through_to_its_base(write, values,
                                                                         grad, backend):
    x = tl.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    write(y)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.numpy(), values)
    np.testing.assert_allclose(x.grad.numpy(), grad)


def _siblings(y):
    first, both = y[0:2], y.view(2, 2)
    first.mul_(3)
    return both, (both * both).sum() + (first * 1).sum()


def _base_then_view(y):
    view = y.view(2, 2)
    y.add_(1)
    return view, (view * view).sum()


def _view_of_view_then_base(y):
    view = y.view(2, 2).t()
    y.mul_(2)
    return view, (view * view).sum()


def _base_twice(y):
    view = y[1:3]
    y.add_(1)
    y.mul_(2)
    return view, (view * view).sum()


def _slice_then_base(y):
    view = y[0:2]
    view.mul_(3)
    return y, (y * y).sum() + (view * 1).sum()


@pytest.mark.parametrize("scene, values, grad", [
    # NOTE: PyTorch 2.13's values and gradients
    (_siblings, [[3, 6], [3, 4]], [21, 39, 6, 8]),
    (_base_then_view, [[2, 3], [4, 5]], [4, 6, 8, 10]),
    (_view_of_view_then_base, [[2, 6], [4, 8]], [8, 16, 24, 32]),
    (_base_twice, [6, 8], [0, 24, 32, 0]),
    (_slice_then_base, [3, 6, 3, 4], [21, 39, 6, 8]),  # NOTE: backward crashed here before
], ids=lambda v: getattr(v, "__name__", ""))
def test_views_see_in_place_writes_to_their_base_and_siblings_like_torch(scene, values, grad,
                                                                         backend):
    x = tl.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    seen, loss = scene(x * 1)
    loss.backward()
    np.testing.assert_allclose(seen.numpy(), values)
    np.testing.assert_allclose(x.grad.numpy(), grad)


def test_a_reshape_that_copied_is_not_a_view_and_an_expanded_tensor_refuses_writes():
    x = tl.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = (x * 1).reshape(2, 2).t()
    y.reshape(4).add_(100)  # NOTE: a transposed tensor reshapes by copying, as in PyTorch
    np.testing.assert_array_equal(y.numpy(), [[1, 3], [2, 4]])
    with pytest.raises(RuntimeError, match="add_: more than one element .* single memory"):
        (x * 1)[:1].expand(3).add_(1)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        x.view(2, 2).add_(1)
    np.testing.assert_array_equal(x.numpy(), [1, 2, 3, 4])


@pytest.mark.parametrize("make", [lambda x: x * 2, lambda x: x / 3, lambda x: x ** 2,
                                  lambda x: x.sin(), lambda x: x.abs(), lambda x: x.log()])
def test_writing_an_output_whose_backward_reads_only_the_inputs_is_allowed(make):
    x = tl.tensor([0.3, 0.7, 1.1, 1.9], requires_grad=True)
    y = make(x)
    expected = tl.autograd.grad(make(x).sum(), x)[0].numpy()
    y.add_(1.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_scaling_by_a_constant_saves_nothing_that_a_later_in_place_op_could_spoil():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x + 0.0
    y = h * 3.0   # saves only the constant (3.0), as torch does
    h.mul_(10.0)  # h's earlier value is kept for y's gradient
    (y.sum() + h.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [13.0, 13.0])
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])


def test_every_in_place_op_keeps_the_value_it_replaced_for_earlier_users():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = h + 1     # used h before sin_ changed it
    h.sin_()
    (y.sum() + h.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 + np.cos([1.0, 2.0]), rtol=1e-6)


def test_in_place_results_keep_the_dtype_within_a_kind_and_refuse_across_kinds():
    f = tl.tensor([1.0])
    f += tl.tensor([1.0], dtype=tl.float64)   # float64 into float32: allowed, as in torch
    assert f.dtype == tl.float32 and f.item() == 2.0
    i = tl.tensor([1, 2])
    with pytest.raises(RuntimeError, match="add_: the result is float32"):
        i += 0.5
    np.testing.assert_array_equal(i.numpy(), [1, 2])


def test_setitem_on_a_plain_tensor_and_refused_on_a_leaf_that_requires_grad():
    t = tl.zeros(3)
    t[1] = 5.0
    assert t.tolist() == [0, 5, 0] and not t.requires_grad
    w = tl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 1.0
    assert w.tolist() == [0, 0, 0] and w.is_leaf
    with tl.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1, 0, 0]


def test_setitem_in_the_graph_splits_the_gradient_between_old_and_new_values():
    x = tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64, requires_grad=True)
    v = tl.tensor(7.0, dtype=tl.float64, requires_grad=True)
    y = x * 2
    y[1:] = v                      # a 0-d value broadcast into a slice
    (y * y).sum().backward()
    assert y.tolist() == [2, 7, 7] and not y.is_leaf
    np.testing.assert_allclose(x.grad.numpy(), [8, 0, 0])
    np.testing.assert_allclose(v.grad.numpy(), 28)
    out = tl.zeros(2, 3, dtype=tl.float64)    # a plain buffer joins the graph
    out[0] = x
    out[1, [0, 2]] = x[:2] * x[:2]
    assert out.requires_grad
    x.grad = None
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 + 2, 1 + 4, 1])


@pytest.mark.parametrize("fn", [
    lambda x: x.softmax(-1), lambda x: x.log_softmax(-1), lambda x: x.logsumexp(-1),
    lambda x: x.sigmoid(), lambda x: x.tanh(), lambda x: (x.sigmoid() + 1e-30).log(),
])
def test_stable_on_extreme_inputs_without_warnings(fn):
    for dtype in (tl.float32, tl.float64):
        x = tl.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, 0.0, 1e4]], dtype=dtype,
                      requires_grad=True)
        with np.errstate(all="raise"):
            out = fn(x)
            out.sum().backward()
        assert np.all(np.isfinite(out.numpy())) and np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("name", ["log", "log2", "log10", "sqrt"])
def test_log_and_sqrt_of_zero_give_torchs_infinities_without_a_warning(backend, name):
    """log(0) = -inf and the gradients 1/0 = inf at 0 are PyTorch's answers, not errors:
    nothing is raised even under errstate(all="raise")."""
    x = tl.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="raise"):
        out = getattr(x, name)()
        out.sum().backward()
    assert out.numpy()[0] == (0 if name == "sqrt" else -np.inf)
    assert x.grad.numpy()[0] == np.inf and np.isfinite(x.grad.numpy()[1])


def test_dtypes_follow_pytorch():
    assert tl.tensor([1.0, 2.0]).dtype == tl.float32
    assert tl.tensor([1, 2]).dtype == tl.int64
    assert tl.tensor([True]).dtype == tl.bool
    assert tl.tensor(np.zeros(2)).dtype == tl.float64  # numpy's dtype is kept, as in torch
    assert tl.tensor([1.0], dtype=tl.float64).dtype == tl.float64
    assert (tl.tensor([1, 2]) * 1.5).dtype == tl.float32
    assert (tl.tensor([1, 2]) / 2).dtype == tl.float32
    assert (tl.tensor([1.0]) + tl.tensor([1.0], dtype=tl.float64)).dtype == tl.float64
    assert (tl.tensor([1.0]) * np.float64(2.0)).dtype == tl.float32
    x = tl.ones(3, 3, requires_grad=True)
    for out in [x * 2, x / 3, x ** 2, x.exp(), x.sigmoid(), x.mean(), x.var(), x.softmax(0),
                2 - x, x.clamp(0, 1), x @ x]:
        assert out.dtype == tl.float32


def test_creation_functions():
    tl.manual_seed(0)
    a = tl.randn(2, 3)
    tl.manual_seed(0)
    assert np.array_equal(a.numpy(), tl.randn((2, 3)).numpy())
    assert tl.zeros(2, 3).shape == (2, 3) and tl.ones((4,)).numpy().sum() == 4
    assert tl.full((2, 2), 7.0).dtype == tl.float32 and tl.full((2,), 3).dtype == tl.int64
    assert tl.arange(5).tolist() == [0, 1, 2, 3, 4] and tl.arange(5).dtype == tl.int64
    assert tl.arange(0, 1, 0.25).dtype == tl.float32
    assert tl.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert tl.eye(3).numpy().trace() == 3
    r = tl.randint(0, 10, (100,))
    assert r.dtype == tl.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10
    assert tl.randint(5, (3,)).shape == (3,)
    u = tl.rand(1000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1
    assert tl.zeros_like(a).shape == a.shape and tl.randn_like(a).dtype == a.dtype
    arr = np.ones(3)
    assert np.shares_memory(tl.from_numpy(arr).numpy(), arr)
    assert not np.shares_memory(tl.tensor(arr).numpy(), arr)


def test_attributes_and_conversions():
    t = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.size(1) == 3
    assert t.numel() == 6 and len(t) == 2 and t.is_leaf and t.grad is None
    assert np.asarray(t).shape == (2, 3) and t.tolist()[1] == [4, 5, 6]
    assert t[0, 1].item() == 2.0 and float(t[1, 2]) == 6.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        t.item()
    total = t.sum()  # a full reduction: numpy hands back a scalar, numpy() an array
    assert type(total.numpy()) is np.ndarray and total.numpy().shape == ()
    assert np.asarray(total) == 21 and np.asarray(total, dtype=np.float64).dtype == np.float64


def test_np_array_copies_and_np_asarray_shares_the_tensors_memory():
    """numpy's protocol as with PyTorch's CPU tensors: writing into np.array(t) cannot change
    t; np.asarray(t) is a view; a cast under copy=False is refused, as numpy refuses it."""
    t = tl.tensor([1.0, 2.0])
    np.array(t)[0] = 99.0
    np.array(t, copy=True)[1] = 77.0
    assert t.tolist() == [1.0, 2.0]
    view = np.asarray(t)
    view[0] = 5.0
    assert t.tolist() == [5.0, 2.0]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="float32 to float64 needs a copy"):
        np.array(t, dtype=np.float64, copy=False)


def test_repr_looks_like_pytorch():
    assert repr(tl.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tl.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = tl.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"
    assert "dtype=float64" in repr(tl.tensor([1.0], dtype=tl.float64))
    assert repr(tl.tensor([1, 2])) == "tensor([1, 2])"


@pytest.fixture
def print_options():
    """Put PyTorch's default print options back after a test that changes them."""
    yield
    tl.set_printoptions(profile="default")


def test_set_printoptions_sets_decimals_scientific_notation_and_summaries(print_options):
    tl.set_printoptions(precision=2)
    assert repr(tl.tensor([1.23456, -2.5])) == "tensor([ 1.23, -2.50])"
    tl.set_printoptions(sci_mode=True)
    assert repr(tl.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
    tl.set_printoptions(threshold=5, edgeitems=1, sci_mode=None)
    assert repr(tl.arange(20.0)) == "tensor([ 0.,  ..., 19.])"
    tl.set_printoptions(profile="default")
    assert repr(tl.tensor([1.23456])) == "tensor([1.2346])"
    with pytest.raises(ValueError, match="profile must be one of default, short, full"):
        tl.set_printoptions(profile="long")


@pytest.mark.parametrize("options", [{}, {"precision": 2}, {"sci_mode": True},
                                     {"sci_mode": False}, {"threshold": 5, "edgeitems": 1},
                                     {"profile": "short"}, {"profile": "full"}])
def test_printed_tensors_match_pytorchs_under_each_print_option(options, print_options):
    """Summarized prints too: their format suits the entries shown, as PyTorch's does."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    values = [np.array([1.23456, -2.5, 3.0]), np.array([1e-5, 2.0]), np.arange(2000) / 7,
              rng.standard_normal((5, 300, 2)), np.arange(3000)]
    torch.set_printoptions(**options)
    tl.set_printoptions(**options)
    try:
        for v in values:
            for dtype in ("float32", "int64"):
                assert repr(tl.tensor(v.astype(dtype))) == repr(torch.tensor(v.astype(dtype)))
    finally:
        torch.set_printoptions(profile="default")


@pytest.mark.parametrize("call, message", [
    (lambda: tl.ones(32, 784) @ tl.ones(256, 128),
     r"matmul: \(32, 784\) @ \(256, 128\): inner dimensions 784 and 256 differ"),
    (lambda: tl.ones(2, 3) + tl.ones(4), r"add.*\(2, 3\).*\(4,\)"),
    (lambda: tl.ones(2, 3) * tl.ones(3, 2), r"mul.*\(2, 3\).*\(3, 2\)"),
    (lambda: tl.ones(6).reshape(4), r"reshape.*\(6,\).*\(4,\)"),
    (lambda: tl.ones(2, 3).sum(2), r"sum: dim 2 is out of range"),
    (lambda: tl.ones(2, 3)[5], r"index.*\(2, 3\)"),
    (lambda: tl.ones(2, 3).expand(4, 3), r"expand"),
    (lambda: tl.cat([tl.ones(2, 3), tl.ones(2, 4)]), r"cat.*\(2, 3\).*\(2, 4\)"),
    (lambda: tl.ones(2) @ tl.ones(2, dtype=tl.float64), r"dtypes float32 and float64"),
    (lambda: tl.tensor([1, 2], requires_grad=True), r"floating point"),
])
def test_errors_name_the_op_and_the_shapes(call, message):
    with pytest.raises((RuntimeError, ValueError, IndexError)) as info:
        call()
    assert __import__("re").search(message, str(info.value)), str(info.value)


def test_failed_op_leaves_nothing_half_updated():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x + tl.ones(3)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2])


def test_detect_anomaly_names_the_op_and_the_user_line_in_backward():
    x = tl.tensor([-1.0, 1.0], requires_grad=True)
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        y = x.sqrt()  # NaN forward and gradient at -1
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values "
                                               r"in its 0th output.*test_autograd\.py"):
            y.sum().backward()
    assert not tl.is_anomaly_enabled()


def test_detect_anomaly_lets_infinities_and_forward_values_through_as_pytorch_does():
    x = tl.tensor([0.0, 1.0, 2.0], requires_grad=True)
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        scores = x.masked_fill(tl.tensor([True, False, False]), float("-inf")).softmax(-1)
        (scores * tl.tensor([1.0, 2.0, 3.0])).sum().backward()  # a -inf mask is fine
        assert np.isfinite(x.grad.numpy()).all() and x.grad[0].item() == 0
        x.grad = None
        x.sqrt().sum().backward()  # an infinite gradient at 0 is not NaN
        assert np.isinf(x.grad[0].item())
        assert np.isnan((x - 1).log().numpy()[0])  # forward values are never checked


def test_detect_anomaly_without_check_nan_and_the_global_switch():
    x = tl.tensor([-1.0], requires_grad=True)
    with tl.detect_anomaly(check_nan=False), np.errstate(all="ignore"):
        x.sqrt().sum().backward()
        assert tl.is_anomaly_enabled() and not tl.is_anomaly_check_nan_enabled()
    assert np.isnan(x.grad.item())
    tl.set_detect_anomaly(True)
    try:
        with np.errstate(all="ignore"), pytest.raises(RuntimeError, match="nan values"):
            x.sqrt().sum().backward()
    finally:
        tl.set_detect_anomaly(False)
    assert not tl.is_anomaly_enabled() and tl.is_anomaly_check_nan_enabled()


def test_grad_mode_decorators_reach_inside_generators():
    @tl.no_grad()
    def quiet():
        yield tl.is_grad_enabled()
        yield tl.is_grad_enabled()

    steps = quiet()
    assert next(steps) is False and tl.is_grad_enabled()  # the caller's mode between yields
    assert next(steps) is False
    with tl.no_grad():
        @tl.enable_grad()
        def recording():
            yield tl.is_grad_enabled()
        assert list(recording()) == [True] and not tl.is_grad_enabled()


def test_inference_mode_false_changes_nothing():
    with tl.no_grad(), tl.inference_mode(False):
        assert not tl.is_grad_enabled()
    with tl.inference_mode(False):
        assert tl.is_grad_enabled()

    @tl.inference_mode(False)
    def keeps():
        return tl.is_grad_enabled()

    @tl.inference_mode
    def quiet():
        return tl.is_grad_enabled()

    assert keeps() and not quiet()


def _hooked_grads(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    seen = []
    h = x * 2
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    h.retain_grad()
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: None)  # None keeps the gradient
    (h * h).sum().backward()
    first = [x.grad.numpy().copy(), h.grad.numpy().copy(), seen[0], h.retains_grad,
             x.retains_grad]
    handle.remove()
    x.grad = None
    h2 = x * 2
    (h2 * h2).sum().backward()
    return first + [x.grad.numpy().copy()]


def test_register_hook_replaces_gradients_in_order_and_retain_grad_sees_the_result():
    got = _hooked_grads(tl)
    np.testing.assert_array_equal(got[0], [81.0, -159.0, 241.0])  # 8x * 10 + 1
    np.testing.assert_array_equal(got[1], [40.0, -80.0, 120.0])   # after h's hook
    np.testing.assert_array_equal(got[2], [4.0, -8.0, 12.0])      # what the hook saw
    assert got[3] is True and got[4] is False
    np.testing.assert_array_equal(got[5], [9.0, -15.0, 25.0])     # h's hook removed
    torch = pytest.importorskip("torch")
    for a, b in zip(got, _hooked_grads(torch)):
        np.testing.assert_array_equal(a, b)


def test_register_hook_refuses_tensors_without_grad_and_wrong_shapes():
    with pytest.raises(RuntimeError, match="register_hook: .* does not require grad"):
        tl.tensor([1.0]).register_hook(lambda g: g)
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"hook: a hook on a tensor of shape \(2,\)"):
        (x * 3).sum().backward()


def _grad_api(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, 0.5, 2.0], requires_grad=True)
    h = x * w
    y = (h * h).sum()
    dx, dh = lib.autograd.grad(y, [x, h], retain_graph=True)
    (dw,) = lib.autograd.grad(y, w, grad_outputs=lib.tensor(2.0))
    z1, z2 = (x * 3).sum(), (x * x).sum()
    lib.autograd.backward([z1, z2])                 # two roots at once, into .grad
    return [dx.numpy(), dh.numpy(), dw.numpy(), x.grad.numpy(), w.grad is None]


def test_autograd_grad_returns_gradients_without_touching_dot_grad_like_torch():
    got = _grad_api(tl)
    np.testing.assert_allclose(got[0], 2 * np.array([1.0, -2.0, 3.0]) * [0.25, 0.25, 4.0])
    np.testing.assert_allclose(got[3], 3 + 2 * np.array([1.0, -2.0, 3.0]))
    assert got[4] is True
    torch = pytest.importorskip("torch")
    want = _grad_api(torch)
    for a, b in zip(got[:4], want[:4]):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)
    assert got[4] == want[4]


def test_autograd_grad_unused_inputs_and_create_graph():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    unused = tl.tensor([3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used to compute the outputs"):
        tl.autograd.grad((x * 2).sum(), [x, unused])
    dx, du = tl.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert du is None and dx.tolist() == [2.0, 2.0]
    _, zeros = tl.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert zeros.tolist() == [0.0]
    (twice,) = tl.autograd.grad((x * x).sum(), x, create_graph=True)
    assert twice.requires_grad and twice.tolist() == [2.0, 4.0]  # test_double_backward.py
    with pytest.raises(RuntimeError, match="1 tensors but 2 gradients"):
        tl.autograd.backward([x.sum()], [None, None])


def test_post_accumulate_grad_hooks_run_after_grad_is_set():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 3).sum().backward()
    (w * 2).sum().backward()
    assert seen == [[3.0, 3.0], [5.0, 5.0]]  # after accumulating, with the tensor itself
    tl.autograd.grad((w * 2).sum(), w)  # fills no .grad: no call
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2

    def step(t):  # PyTorch's optimizer-in-backward recipe
        with tl.no_grad():
            t -= 0.5 * t.grad
        t.grad = None

    w.grad = None
    w.register_post_accumulate_grad_hook(step)
    (w * w).sum().backward()
    assert w.tolist() == [0.0, 0.0] and w.grad is None
    with pytest.raises(RuntimeError, match="only a leaf"):
        (w * 2).register_post_accumulate_grad_hook(step)


def test_a_tensor_with_views_still_pickles_and_copies_without_them():
    # NOTE: the weak set of views is per-process bookkeeping; pickle (multiprocessing) and
    # deepcopy (model copies) keep everything else
    layer = tl.nn.Linear(3, 2)
    (tl.ones(4, 3) @ layer.weight.T).sum().backward()
    for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert type(clone.weight) is type(layer.weight) and clone.weight.requires_grad
        np.testing.assert_array_equal(clone.weight.numpy(), layer.weight.numpy())
        np.testing.assert_array_equal(clone.weight.grad.numpy(), layer.weight.grad.numpy())
        assert getattr(clone.weight, "_views", None) is None


# --- slices' gradients added in place ----------------------------------------------------------
@pytest.fixture
def slice_calls(monkeypatch):
    """Counts of the backend calls that make and fill a sliced tensor's gradient."""
    from tinygrad_lite.backend.numpy_backend import NumpyBackend

    calls = {"index_add": 0, "add_into": 0}
    for name in calls:
        original = getattr(NumpyBackend, name)

        def counted(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)
        monkeypatch.setattr(NumpyBackend, name, staticmethod(counted))
    return calls


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_slices_of_one_tensor_fill_one_gradient_buffer(slice_calls, backend):
    """unbind, chunk and a loop over rows: one zeros of the whole, then each slice's
    gradient added at its place (before, every slice made zeros of the whole shape)."""
    previous = tl.get_backend()
    tl.set_backend(backend)
    try:
        data = np.random.default_rng(0).standard_normal((6, 4))
        x = tl.tensor(data, requires_grad=True)
        loss = sum(((k + 1) * row ** 2).sum() for k, row in enumerate(x.unbind(0)))
        loss = loss + sum(c.sum() for c in x.chunk(2, 1))
        loss.backward()
        expected = 2 * data * np.arange(1, 7)[:, None] + 1
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
        assert slice_calls["index_add"] == 1 and slice_calls["add_into"] == 7
    finally:
        tl.set_backend(previous)


def test_slices_after_another_ops_gradient_never_write_into_it():
    """The first contribution may be an array another op shares (an add hands the same
    gradient to both its inputs): a slice's gradient is added to a copy, and only buffers
    the engine made itself are written in place."""
    from tinygrad_lite.autograd import _add_slice

    p = tl.tensor(np.zeros((2, 3)), requires_grad=True)
    first, second = p[0], p[1, 1:]
    shared = np.ones((2, 3))
    grads, owned = {p: shared}, {}
    assert not _add_slice(grads, owned, p, first._ctx, np.full(3, 2.0))
    np.testing.assert_array_equal(shared, np.ones((2, 3)))
    made = grads[p]
    assert owned[p] is made
    _add_slice(grads, owned, p, second._ctx, np.array([5.0, 7.0]))
    assert grads[p] is made  # NOTE: the second slice went into the engine's own buffer
    np.testing.assert_array_equal(made, [[3.0, 3.0, 3.0], [1.0, 6.0, 8.0]])
    # and through a whole backward pass, with an add sharing its gradient
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = tl.tensor(np.zeros((2, 2)), requires_grad=True)
    y = x * 1
    rows = y[0].sum() * 2 + y[1].sum() * 3  # NOTE: made first, so their backward runs last
    (((y + w) * 1).sum() + rows).backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 3.0], [4.0, 4.0]])


def test_a_leafs_gradient_from_slices_accumulates_across_backward_calls():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[0].backward()
    held = x.grad
    before = held.numpy().copy()
    (x[1] * 2 + x[2] * 3).backward()
    np.testing.assert_array_equal(before, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    assert x.grad is held  # PyTorch accumulates into the same tensor
    g, = tl.autograd.grad(x[0] * 5 + x[2], [x])
    np.testing.assert_array_equal(g.numpy(), [5.0, 0.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])  # grad() leaves .grad


def test_a_hook_on_a_sliced_tensor_sees_every_slices_gradient_summed():
    x = tl.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    (y[0].sum() + y[2, 1] * 4 + y[:, 0].sum()).backward()
    np.testing.assert_array_equal(seen[0], [[2.0, 1.0], [1.0, 0.0], [1.0, 4.0]])
    np.testing.assert_array_equal(x.grad.numpy(), 2 * seen[0])


def test_a_slicing_step_replays_under_tinyjit_as_it_ran_eagerly():
    def make():
        tl.manual_seed(0)
        w = tl.nn.Parameter(tl.randn(4, 3))
        opt = tl.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = sum((row * w).sum() ** 2 for row in x.unbind(0))
            loss = loss + sum(r.abs().sum() for r in w.unbind(0))
            loss.backward()
            opt.step()
            return loss
        return w, step

    batches = [tl.tensor(np.random.default_rng(k).standard_normal((5, 4, 3))) for k in range(6)]
    w_eager, eager = make()
    w_jit, jitted = make()
    jitted = tl.TinyJit(jitted)
    assert [eager(x).item() for x in batches] == [jitted(x).item() for x in batches]
    np.testing.assert_array_equal(w_eager.numpy(), w_jit.numpy())
    assert "b.add_into(" in jitted.source
