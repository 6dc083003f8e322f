"""PyTorch parity audit: behaviours a PyTorch user's test hits that the single-expression
sweep (test_torch_sweep.py) does not reach: autograd through in-place writes and casts,
dtype rules of reductions, module containers and hooks, losses with broadcasting targets,
optimizer keyword arguments, and tensor utilities.

Each test runs the same code with `torch` and with `tinygrad_lite` and compares values,
gradients, dtypes, shapes or which exception type is raised.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _np(t):
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.numpy())


def _same(a, b, rtol=1e-6, atol=1e-7):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert str(a.dtype) == str(b.dtype), (a.dtype, b.dtype)
    np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=rtol, atol=atol)


def _both(fn):
    return fn(torch), fn(tl)


# --- 1. autograd semantics --------------------------------------------------------------------
def test_setitem_on_non_leaf_that_requires_grad():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        y[1] = 10.0
        (y * y).sum().backward()
        return y, x.grad
    (ty, tg), (ly, lg) = _both(f)
    _same(ly, ty)
    _same(lg, tg)


def test_masked_setitem_on_non_leaf_that_requires_grad():
    def f(L):
        x = L.tensor([1.0, -2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 3
        y[y < 0] = 0
        (y * y).sum().backward()
        return y, x.grad
    (ty, tg), (ly, lg) = _both(f)
    _same(ly, ty)
    _same(lg, tg)


def test_setitem_of_graph_value_into_plain_buffer_keeps_the_graph():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        out = L.zeros(2, 3, dtype=L.float64)
        out[0] = x
        out[1] = x * x
        assert out.requires_grad
        out.sum().backward()
        return out, x.grad
    (ty, tg), (ly, lg) = _both(f)
    _same(ly, ty)
    _same(lg, tg)


def test_in_place_add_of_graph_value_into_plain_tensor_keeps_the_graph():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        acc = L.zeros(3, dtype=L.float64)
        acc += x * x
        assert acc.requires_grad
        acc.sum().backward()
        return x.grad
    tg, lg = _both(f)
    _same(lg, tg)


def test_in_place_op_on_a_view_of_a_non_leaf_writes_through_to_the_base():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 1
        y[1:].mul_(2)
        y.sum().backward()
        return y, x.grad
    (ty, tg), (ly, lg) = _both(f)
    _same(ly, ty)
    _same(lg, tg)


def test_chained_setitem_on_a_non_leaf_writes_into_it():
    def f(L):
        x = L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=L.float64, requires_grad=True)
        w = L.tensor([7.0, 8.0], dtype=L.float64, requires_grad=True)
        y = x * 1
        y[0][1] = 100.0
        row = y[1]
        row[0] = w[0]
        (y * y).sum().backward()
        return y, x.grad, w.grad
    t, got = _both(f)
    for g, w_ in zip(got, t):
        _same(g, w_)


def test_integer_cast_cuts_the_graph():
    for name in ("long", "int", "bool"):
        def f(L, name=name):
            x = L.tensor([1.5, 2.5], dtype=L.float64, requires_grad=True)
            y = getattr(x, name)()
            return y.requires_grad, y.is_leaf
        assert f(tl) == f(torch), name


def test_no_gradient_flows_back_through_an_integer_cast():
    def f(L):
        x = L.tensor([1.5, 2.5], dtype=L.float64, requires_grad=True)
        w = L.tensor([1.0, 1.0], dtype=L.float64, requires_grad=True)
        (x.long().double() * w * 3).sum().backward()
        return x.grad, w.grad
    (tx, tw), (lx, lw) = _both(f)
    assert tx is None and lx is None, lx
    _same(lw, tw)


def test_setting_requires_grad_on_an_int_tensor_raises():
    with pytest.raises(RuntimeError):
        torch.zeros(3, dtype=torch.int64).requires_grad = True
    with pytest.raises(RuntimeError):
        tl.zeros(3, dtype=tl.int64).requires_grad = True


def test_backward_inputs_restricts_accumulation():
    def f(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        w = L.tensor([3.0, 4.0], dtype=L.float64, requires_grad=True)
        (x * w).sum().backward(inputs=[x])
        return x.grad, w.grad
    (tx, tw), (lx, lw) = _both(f)
    _same(lx, tx)
    assert tw is None and lw is None


def test_zero_on_non_leaf_gives_zero_gradient_not_none():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        y.zero_()
        y.sum().backward()
        return x.grad
    tg, lg = _both(f)
    assert lg is not None
    _same(lg, tg)


def test_autograd_basics_that_already_agree():
    def f(L):
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        c = x.clone()
        y = c * 2
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        z.backward()  # second pass accumulates
        d = x.detach()
        with L.no_grad():
            n = x * 2
        return (x.grad, y.grad, c.is_leaf, d.requires_grad, n.requires_grad,
                (x > 1).requires_grad, x.argmax().dtype)
    t, got = _both(f)
    _same(got[0], t[0])
    _same(got[1], t[1])
    assert got[2:6] == t[2:6]
    assert str(got[6]).split(".")[-1] == str(t[6]).split(".")[-1]
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x.add_(1)


# --- 2. dtype rules ---------------------------------------------------------------------------
def test_mean_of_integer_tensor_raises():
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).mean()
    with pytest.raises(RuntimeError):
        tl.tensor([1, 2, 3]).mean()


def test_var_of_integer_tensor_raises():
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).var()
    with pytest.raises(RuntimeError):
        tl.tensor([1, 2, 3]).var()


def test_to_with_device_then_dtype_casts():
    t, got = _both(lambda L: L.tensor([1, 2, 3]).to("cpu", L.float64))
    _same(got, t)


def test_masked_fill_keeps_integer_dtype():
    def f(L):
        x = L.arange(6)
        return x.masked_fill(x > 2, 2.5)
    t, got = _both(f)
    _same(got, t)


def test_clamp_integer_tensor_with_float_tensor_bound_promotes():
    t, got = _both(lambda L: L.tensor([1, 2, 3]).clamp(min=L.tensor(1.5)))
    _same(got, t)


def test_dtype_rules_that_already_agree():
    exprs = [
        lambda L: L.tensor([1, 2, 3]) / L.tensor([2, 2, 2]),
        lambda L: L.tensor([1, 2, 3]) + 1.5,
        lambda L: L.tensor([True, False]) * 2,
        lambda L: L.tensor([True, False]).sum(),
        lambda L: L.tensor([1, 2, 3], dtype=L.int32).sum(0),
        lambda L: L.tensor([1, 2, 3], dtype=L.int32).cumsum(0),
        lambda L: L.tensor([1, 2], dtype=L.float64) * L.tensor([1.0, 2.0]),
        lambda L: L.tensor([1, 2]) * L.tensor(2.5, dtype=L.float64),
        lambda L: L.tensor([1.0, 2.0]) == L.tensor([1, 2]),
        lambda L: L.full((2,), 1),
        lambda L: L.full((2,), True),
        lambda L: L.zeros_like(L.tensor([1.0, 2.0]), dtype=L.int32),
        lambda L: L.arange(-1.0, 1.0, 0.4),
        lambda L: L.linspace(0, 10, 5, dtype=L.int64),
        lambda L: L.eye(2, 3),
    ]
    for e in exprs:
        t, got = _both(e)
        _same(got, t)
    assert type(tl.tensor(3.5).item()) is type(torch.tensor(3.5).item())
    assert [type(v) for v in tl.tensor([1, 2]).tolist()] == [int, int]


# --- 6. tensor utilities ---------------------------------------------------------------------
def test_contiguous_of_a_transposed_tensor_is_a_contiguous_copy():
    def f(L):
        x = L.arange(6.0).reshape(2, 3)
        c = x.t().contiguous()
        c[0, 0] = 100.0
        return c.is_contiguous(), c.stride(), x[0, 0].item()
    assert f(tl) == f(torch)


def test_view_of_a_non_contiguous_tensor_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).t().view(-1)
    with pytest.raises(RuntimeError):
        tl.ones(2, 3).t().view(-1)


def test_add_and_sub_take_alpha():
    def f(L):
        a = L.tensor([1.0, 2.0])
        return (a.add(L.tensor([1.0, 1.0]), alpha=3), a.sub(1, alpha=2),
                L.add(a, a, alpha=2))
    t, got = _both(f)
    for g, w in zip(got, t):
        _same(g, w)


def test_index_select_with_zero_dim_index_keeps_the_dim():
    t, got = _both(lambda L: L.arange(6).reshape(2, 3).index_select(0, L.tensor(1)))
    _same(got, t)


@pytest.mark.parametrize("op", [
    lambda x, L: x.scatter_reduce(0, L.tensor(0), L.tensor(5.0), "amax"),
    lambda x, L: x.scatter_reduce(0, L.tensor(0), L.tensor(5.0), "mean", include_self=False),
    lambda x, L: x.scatter_reduce(0, L.tensor(0), L.tensor(5.0), "prod"),
    lambda x, L: x.index_add(0, L.tensor(0), x * 3),
    lambda x, L: x.index_copy(0, L.tensor(0), x * 3),
    lambda x, L: x.index_reduce(0, L.tensor(0), x * 3, "prod"),
    lambda x, L: x.cummax(0)[0] + x.cumsum(0),
], ids=["scatter_reduce_amax", "scatter_reduce_mean", "scatter_reduce_prod", "index_add",
        "index_copy", "index_reduce", "cummax_cumsum"])
def test_index_and_scan_ops_read_a_0d_tensor_and_index_as_one_element(op):
    """PyTorch runs them on a 0-d tensor (and 0-d index) as on shape (1,), result 0-d."""
    def f(L):
        x = L.tensor(2.0, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NOTE: torch calls index_reduce beta
            out = op(x, L)
        out.backward()
        return out, x.grad
    (t_out, t_grad), (out, grad) = _both(f)
    assert out.shape == ()
    _same(out, t_out)
    _same(grad, t_grad)


@pytest.mark.parametrize("shape, op", [
    ((0, 3), lambda x: x.logsumexp(0)), ((2, 0), lambda x: x.logsumexp(1)),
    ((0,), lambda x: x.logsumexp(0)), ((0,), lambda x: x.median()),
    ((0, 3), lambda x: x.median()), ((0,), lambda x: x.nanmedian()),
], ids=["logsumexp_rows", "logsumexp_cols", "logsumexp_1d", "median", "median_2d",
        "nanmedian"])
def test_reductions_over_nothing_give_pytorchs_identity(shape, op):
    """logsumexp of no terms is log(0) = -inf, and the median of nothing NaN, as in torch."""
    def f(L):
        x = L.zeros(shape, requires_grad=True)
        out = op(x)
        out.sum().backward()
        return out, x.grad
    (t_out, t_grad), (out, grad) = _both(f)
    assert out.shape == tuple(t_out.shape) and grad.shape == tuple(t_grad.shape)
    np.testing.assert_array_equal(out.numpy(), t_out.detach().numpy())


def test_softmax_and_log_softmax_take_dtype():
    def f(L):
        x = L.tensor([[1.0, 2.0], [3.0, 5.0]])
        return x.softmax(-1, dtype=L.float64), x.log_softmax(0, dtype=L.float64)
    t, got = _both(f)
    for g, w in zip(got, t):
        _same(g, w)


def test_repeat_interleave():
    def f(L):
        x = L.tensor([[1, 2], [3, 4]])
        return x.repeat_interleave(2), x.repeat_interleave(2, dim=0)
    t, got = _both(f)
    for g, w in zip(got, t):
        _same(g, w)


def test_tensor_equal_and_allclose_methods():
    def f(L):
        a = L.tensor([1.0, 2.0])
        return a.equal(a.clone()), a.allclose(a + 1e-9)
    assert f(tl) == f(torch)


def test_sum_over_empty_dim_list_reduces_everything():
    t, got = _both(lambda L: L.tensor([[1.0, 2.0]]).sum(dim=()))
    _same(got, t)


def test_item_of_many_elements_raises_runtime_error():
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError):
        tl.tensor([1.0, 2.0]).item()


def test_tensor_str_uses_four_decimals():
    for data in ([1.5, 2.25], [1e-8, 1.0], 3.5):
        assert str(tl.tensor(data)) == str(torch.tensor(data)), data


def test_setitem_of_a_one_element_tensor_into_a_scalar_slot():
    def f(L):
        x = L.zeros(3)
        x[1] = L.tensor([5.0])
        return x
    t, got = _both(f)
    _same(got, t)


def test_to_with_copy_true_returns_a_copy():
    def f(L):
        x = L.ones(3)
        y = x.to(L.float32, copy=True)
        y[0] = 7.0
        return x, y is x
    (tx, tsame), (lx, lsame) = _both(f)
    _same(lx, tx)
    assert lsame == tsame


def test_linear_with_mismatched_input_dtype_raises():
    w = np.ones((2, 2), dtype=np.float32)
    with pytest.raises(RuntimeError):
        torch.nn.functional.linear(torch.ones(1, 2, dtype=torch.float64), torch.tensor(w))
    with pytest.raises(RuntimeError):
        tl.nn.functional.linear(tl.ones(1, 2, dtype=tl.float64), tl.tensor(w))


def test_device_is_a_device_with_type():
    # NOTE: shapes stay plain tuples (tl.Size is tuple, so isinstance(t.shape, tl.Size) holds);
    # torch.Size's .numel() is not there: math.prod(t.shape) or t.numel()
    def f(L):
        x = L.ones(2, 3)
        return x.device.type, x.is_cuda, x.nelement()
    assert f(tl) == f(torch)


def test_tensor_utilities_that_already_agree():
    exprs = [
        lambda L: L.arange(10).chunk(4),
        lambda L: L.arange(5).chunk(6),
        lambda L: L.arange(10).split([2, 8]),
        lambda L: L.ones(3, 1).expand(-1, 4),
        lambda L: L.tensor([1, 2]).repeat(2, 2),
        lambda L: L.arange(6).reshape(2, 3).gather(1, L.tensor([[0], [2]])),
        lambda L: L.arange(24).reshape(2, 3, 4).T,
        lambda L: L.arange(3).T,
        lambda L: L.arange(24).reshape(2, 3, 4)[:, [0, 2], [1, 3]],
    ]
    for e in exprs:
        t, got = _both(e)
        if isinstance(t, tuple):
            assert len(got) == len(t)
            for g, w in zip(got, t):
                _same(g, w)
        else:
            _same(got, t)
    tl.manual_seed(3)
    a = tl.randn(2, 3).numpy()
    tl.manual_seed(3)
    b = tl.randn((2, 3)).numpy()
    np.testing.assert_array_equal(a, b)


# --- 3. nn.Module -----------------------------------------------------------------------------
def test_sequential_setitem_replaces_a_layer():
    def f(L):
        m = L.nn.Sequential(L.nn.Linear(2, 3), L.nn.ReLU(), L.nn.Linear(3, 1))
        m[-1] = L.nn.Linear(3, 4, bias=False)
        del m[1]
        return [(n, tuple(p.shape)) for n, p in m.named_parameters()], len(m)
    assert f(tl) == f(torch)


def test_module_list_setitem_insert_pop():
    def f(L):
        m = L.nn.ModuleList([L.nn.Linear(1, 1), L.nn.ReLU()])
        m[0] = L.nn.Tanh()
        m.insert(0, L.nn.Linear(2, 2))
        m.pop(1)
        return repr(m)
    assert f(tl) == f(torch)


def test_module_list_repr_collapses_repeated_layers():
    def f(L):
        return repr(L.nn.ModuleList([L.nn.Linear(2, 2), L.nn.Linear(2, 2), L.nn.ReLU()]))
    assert f(tl) == f(torch)


def test_register_full_backward_hook():
    def f(L):
        m = L.nn.Linear(2, 1).double()
        seen = []
        m.register_full_backward_hook(
            lambda mod, gin, gout: seen.append((len(gin), tuple(gout[0].shape))))
        m(L.ones(3, 2, dtype=L.float64)).sum().backward()
        return seen
    assert f(tl) == f(torch)


def test_identity_accepts_and_ignores_arguments():
    assert repr(tl.nn.Identity(54, unused="x")) == repr(torch.nn.Identity(54, unused="x"))


def _net(L):
    nn = L.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)
            self.bn = nn.BatchNorm1d(3)
            self.register_buffer("scale", L.ones(3))
            self.extra = nn.Parameter(L.zeros(1))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            shared = nn.Linear(3, 3)
            self.seq = nn.Sequential(shared, nn.ReLU(), Block(), shared)
            self.ml = nn.ModuleList([nn.Linear(3, 2), nn.Linear(2, 2)])
            self.head = nn.Linear(2, 1)

    return Net()


def test_module_structure_that_already_agrees():
    def f(L):
        m = _net(L)
        out = [list(m.state_dict()), [n for n, _ in m.named_parameters()],
               [n for n, _ in m.named_modules()], repr(m)]
        order = []
        m.apply(lambda mod: order.append(type(mod).__name__))
        m.eval()
        out += [order, [x.training for x in m.modules()]]
        sd = m.state_dict()
        sd.pop("head.bias")
        sd["foo"] = L.zeros(1)
        r = m.load_state_dict(sd, strict=False)
        out += [list(r.missing_keys), list(r.unexpected_keys)]
        lin = L.nn.Linear(2, 1)
        lin(L.ones(1, 2)).sum().backward()
        lin.zero_grad()
        out.append(lin.weight.grad is None)
        h = lin.register_forward_hook(lambda mod, args, o: o * 0 + 7)
        out.append(lin(L.ones(1, 2)).tolist())
        h.remove()
        return out
    assert f(tl) == f(torch)


# --- 4. losses and functional ---------------------------------------------------------------
def test_mse_loss_broadcasts_with_a_warning():
    def f(L):
        x = L.tensor([[1.0], [2.0], [4.0]], dtype=L.float64, requires_grad=True)
        y = L.tensor([1.0, 3.0, 2.0], dtype=L.float64)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            loss = L.nn.functional.mse_loss(x, y)
        loss.backward()
        return loss, x.grad, len(w) > 0
    (tl_, tg, tw), (ll, lg, lw) = _both(f)
    _same(ll, tl_)
    _same(lg, tg)
    assert lw == tw


def test_mse_loss_promotes_to_the_wider_dtype():
    t, got = _both(lambda L: L.nn.functional.mse_loss(
        L.tensor([1.0, 2.0]), L.tensor([1.0, 3.0], dtype=L.float64)))
    _same(got, t)


def test_cross_entropy_with_every_target_ignored_has_zero_gradient():
    def f(L):
        x = L.tensor(np.arange(12.0).reshape(3, 4), dtype=L.float64, requires_grad=True)
        loss = L.nn.functional.cross_entropy(x, L.tensor([-100, -100, -100]))
        loss.backward()
        return x.grad
    tg, lg = _both(f)
    _same(lg, tg)


def test_embedding_max_norm():
    def f(L):
        w = L.tensor(np.arange(12.0).reshape(4, 3), dtype=L.float64)
        return L.nn.functional.embedding(L.tensor([0, 2]), w, max_norm=1.0)
    t, got = _both(f)
    _same(got, t, rtol=1e-6)


def test_losses_with_uncommon_arguments_already_agree():
    rng = np.random.default_rng(0)
    x3 = rng.standard_normal((2, 4, 3))
    x = rng.standard_normal((3, 4))

    def f(L):
        F = L.nn.functional
        a = L.tensor(x3, dtype=L.float64, requires_grad=True)
        b = L.tensor(x, dtype=L.float64, requires_grad=True)
        t3 = L.tensor([[0, 3, -100], [1, 1, 2]])
        w4 = L.tensor([1.0, 2.0, 0.5, 3.0], dtype=L.float64)
        losses = [
            F.cross_entropy(a, t3, reduction="none"),
            F.cross_entropy(a, t3, weight=w4, reduction="sum"),
            L.nn.CrossEntropyLoss(ignore_index=3)(a, t3.clamp(min=0)),
            F.nll_loss(b.log_softmax(1), L.tensor([0, 3, 1]), weight=w4),
            F.binary_cross_entropy_with_logits(b, (b > 0).double(), pos_weight=w4,
                                               reduction="none"),
            F.softmax(a, dim=-2),
            F.log_softmax(a, dim=-3),
            F.dropout(b, 0.5, training=False),
            F.normalize(a, dim=1),
            F.cosine_similarity(b, L.tensor(x[:1], dtype=L.float64), dim=1),
            F.pad(a, (1, 2, 0, 1, 1, 0)),
        ]
        total = sum((lo * (i + 1)).sum() for i, lo in enumerate(losses))
        total.backward()
        return [total, a.grad, b.grad] + losses + [F.one_hot(L.tensor([1, 0]), 3)]
    t, got = _both(f)
    for g, w in zip(got, t):
        _same(g, w, rtol=1e-6, atol=1e-9)


# --- 5. optimizers ----------------------------------------------------------------------------
_W0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
_X = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [2.0, 0.0, 1.0], [-1.0, 1.0, 1.0]])


def _train(L, make, steps=5):
    w = L.tensor(_W0.copy(), dtype=L.float64, requires_grad=True)
    b = L.tensor([0.1, -0.2], dtype=L.float64, requires_grad=True)
    opt = make(L, w, b)
    for _ in range(steps):
        opt.zero_grad()
        y = (L.tensor(_X, dtype=L.float64) @ w.T + b).tanh()
        ((y ** 2).sum() + (w ** 3).sum() * 0.1).backward()
        opt.step()
    return w, b


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_maximize(name):
    def make(L, w, b):
        return getattr(L.optim, name)([w, b], lr=0.01, maximize=True)
    (tw, tb), (lw, lb) = _both(lambda L: _train(L, make))
    _same(lw, tw)
    _same(lb, tb)


def test_optimizer_accepts_foreach_false():
    def make(L, w, b):
        return L.optim.Adam([w, b], lr=0.01, foreach=False)
    (tw, _), (lw, _) = _both(lambda L: _train(L, make))
    _same(lw, tw)


def test_adam_state_step_is_a_tensor():
    def f(L):
        w = L.tensor([1.0, -2.0], dtype=L.float64, requires_grad=True)
        opt = L.optim.Adam([w], lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
        step = opt.state[w]["step"]
        return isinstance(step, L.Tensor), float(step.item())
    assert f(tl) == f(torch)


def test_optimizers_and_schedulers_that_already_agree():
    makers = [
        lambda L, w, b: L.optim.SGD([w, b], lr=0.1, momentum=0.9, nesterov=True,
                                    weight_decay=0.01),
        lambda L, w, b: L.optim.Adam([w, b], lr=0.1, amsgrad=True, betas=(0.8, 0.9)),
        lambda L, w, b: L.optim.AdamW([{"params": [w]}, {"params": [b], "lr": 0.05}],
                                      lr=0.1, amsgrad=True, weight_decay=0.5),
        lambda L, w, b: L.optim.RMSprop([w, b], lr=0.01, centered=True, momentum=0.5),
        lambda L, w, b: L.optim.Adagrad([w, b], lr=0.1, lr_decay=0.1),
    ]
    for make in makers:
        (tw, tb), (lw, lb) = _both(lambda L, make=make: _train(L, make, 6))
        _same(lw, tw)
        _same(lb, tb)

    def lrs(L):
        p = L.zeros(1, requires_grad=True)
        opt = L.optim.SGD([p], lr=0.1)
        s1 = L.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        out = []
        for _ in range(5):
            opt.step()
            s1.step()
            out.append(s1.get_last_lr())
        opt2 = L.optim.SGD([p], lr=0.1)
        s2 = L.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=3, eta_min=0.01)
        for _ in range(5):
            opt2.step()
            s2.step()
            out.append(s2.get_last_lr())
        return out
    np.testing.assert_allclose(lrs(tl), lrs(torch), rtol=1e-12)
