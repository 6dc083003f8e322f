"""Behaviours that a run of PyTorch's own OpInfo samples (tools/opinfo_audit.py) found to
differ, each checked on its own: without torch against the values PyTorch gives (written
out), and with torch side by side where the comparison is direct."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

FACTORIES = [
    lambda d: tl.zeros(2, 3, device=d),
    lambda d: tl.ones((2,), device=d),
    lambda d: tl.empty(2, device=d),
    lambda d: tl.full((2,), 1.5, device=d),
    lambda d: tl.arange(3, device=d),
    lambda d: tl.linspace(0, 1, 5, device=d),
    lambda d: tl.logspace(0, 1, 5, device=d),
    lambda d: tl.eye(3, device=d),
    lambda d: tl.randn(2, device=d),
    lambda d: tl.rand(2, device=d),
    lambda d: tl.randint(0, 5, (3,), device=d),
    lambda d: tl.randperm(4, device=d),
    lambda d: tl.normal(0.0, 1.0, (2,), device=d),
    lambda d: tl.tensor([1.0], device=d),
    lambda d: tl.as_tensor([1.0], device=d),
    lambda d: tl.zeros_like(tl.ones(2), device=d),
    lambda d: tl.ones_like(tl.ones(2), device=d),
    lambda d: tl.full_like(tl.ones(2), 3.0, device=d),
    lambda d: tl.empty_like(tl.ones(2), device=d),
    lambda d: tl.rand_like(tl.ones(2), device=d),
    lambda d: tl.randn_like(tl.ones(2), device=d),
    lambda d: tl.randint_like(tl.ones(2), 5, device=d),
    lambda d: tl.ones(2).new_zeros(3, device=d),
    lambda d: tl.ones(2).new_ones(3, device=d),
    lambda d: tl.ones(2).new_full((3,), 2.0, device=d),
    lambda d: tl.ones(2).new_empty(3, device=d),
    lambda d: tl.ones(2).new_tensor([1.0, 2.0], device=d),
]


@pytest.mark.parametrize("make", FACTORIES)
def test_factories_take_a_cpu_device_and_refuse_others(make):
    x = tl.ones(1)
    for where in (None, "cpu", "cpu:0", tl.device("cpu"), x.device):
        assert make(where).device == "cpu"
    with pytest.raises(RuntimeError, match="only the 'cpu' device is available, got 'cuda'"):
        make("cuda")


def test_cuda_is_refused_with_the_message_of_to_cuda():
    """t.cuda() / model.cuda() exist, as in PyTorch, and say that only the CPU is here."""
    with pytest.raises(RuntimeError, match="only the 'cpu' device is available, got 'cuda:1'"):
        tl.ones(1).cuda(1)
    with pytest.raises(RuntimeError, match="CPU only, got device 'cuda'"):
        tl.nn.Linear(2, 2).cuda()
    assert not tl.cuda.is_available()


def test_new_factories_take_requires_grad():
    x = tl.ones(2, dtype=tl.float64)
    y = x.new_zeros(3, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.dtype == tl.float64


def test_to_reads_non_blocking_and_copy_positionally():
    x = tl.ones(2, dtype=tl.float64)
    same = x.to("cpu", tl.float64, False, False)
    assert same is x
    copy = x.to("cpu", tl.float64, False, True)
    assert copy is not x and np.array_equal(copy.numpy(), x.numpy())
    assert x.to(tl.float32, False, True).dtype == tl.float32


def test_integer_pow_with_negative_tensor_exponents_truncates_as_pytorch():
    base = tl.tensor([0, 2, -2, 1, -1, 5])
    exponent = tl.tensor([-1, -1, -1, -3, -3, -2])
    assert (base ** exponent).tolist() == [0, 0, 0, 1, -1, 0]
    assert (2 ** tl.tensor([-1, 0, 3])).tolist() == [0, 1, 8]
    assert (tl.tensor([True, False]) ** tl.tensor(-1)).tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="pow: integers to negative integer powers"):
        tl.tensor([2]) ** -1
    assert (tl.tensor([2.0]) ** -1).tolist() == [0.5]


def test_flip_takes_dims_by_keyword():
    x = tl.arange(6).reshape(2, 3)
    assert x.flip(dims=(0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert tl.flip(x, dims=[1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert x.flip(0).tolist() == [[3, 4, 5], [0, 1, 2]]


def test_var_reads_correction_none_and_a_positional_unbiased():
    x = tl.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, 9.0]], dtype=tl.float64)
    data = x.numpy()
    assert np.isclose(x.var(correction=None).item(), data.var(ddof=1))
    var, mean = x.var_mean(False)
    assert var.shape == mean.shape == ()
    assert np.isclose(var.item(), data.var()) and np.isclose(mean.item(), data.mean())
    std, mean = tl.std_mean(x, True)
    assert std.shape == () and np.isclose(std.item(), data.std(ddof=1))


@pytest.mark.parametrize("fn", [tl.softmax, tl.log_softmax, F.softmin])
def test_softmax_of_an_empty_tensor_is_empty(fn):
    x = tl.zeros(5, 0, 0, requires_grad=True)
    out = fn(x, -1)
    assert out.shape == (5, 0, 0)
    out.sum().backward()
    assert x.grad.shape == (5, 0, 0)


def test_repeat_interleave_checks_output_size():
    x = tl.tensor([[1], [2], [3], [4]])
    out = x.repeat_interleave(tl.tensor([0, 1, 2, 3]), dim=0, output_size=6)
    assert out.flatten().tolist() == [2, 3, 3, 4, 4, 4]
    with pytest.raises(RuntimeError, match="output_size 5"):
        x.repeat_interleave(tl.tensor([0, 1, 2, 3]), dim=0, output_size=5)


def test_bool_square_and_diff_follow_pytorch():
    b = tl.tensor([True, False, False, True])
    assert b.square().dtype == tl.int64 and b.square().tolist() == [1, 0, 0, 1]
    assert b.diff().dtype == tl.bool and b.diff().tolist() == [True, False, True]


def test_tensor_split_takes_tensors():
    x = tl.arange(7)
    assert [p.tolist() for p in x.tensor_split(tl.tensor(3))] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [p.tolist() for p in x.tensor_split(tl.tensor([1, 5]))] == [[0], [1, 2, 3, 4],
                                                                         [5, 6]]


def test_searchsorted_with_a_sorter():
    seq = tl.tensor([3.0, 1.0, 2.0])
    found = tl.searchsorted(seq, tl.tensor([2.5, 0.0]), sorter=seq.argsort())
    assert found.tolist() == [2, 0]


def test_cosine_similarity_broadcasts_before_the_norms():
    rng = np.random.default_rng(0)
    a, b = rng.random((1, 2, 3)), rng.random((2, 1, 3))
    out = F.cosine_similarity(tl.tensor(a), tl.tensor(b), dim=-2).numpy()
    a2, b2 = np.broadcast_arrays(a, b)
    want = (a2 * b2).sum(-2) / (np.linalg.norm(a2, axis=-2) * np.linalg.norm(b2, axis=-2))
    assert out.shape == (2, 3) and np.allclose(out, want)
    assert np.all(np.abs(out) <= 1 + 1e-12)


def test_rmatmul_called_directly_keeps_both_gradients():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = tl.tensor([3.0, 4.0], requires_grad=True)
    out = x.__rmatmul__(y)
    out.backward()
    assert x.grad.tolist() == [3.0, 4.0] and y.grad.tolist() == [1.0, 2.0]


def test_cdist_accepts_compute_mode():
    x1, x2 = tl.rand(2, 4, 3), tl.rand(2, 5, 3)
    exact = tl.cdist(x1, x2)
    assert np.allclose(tl.cdist(x1, x2, 2.0, "use_mm_for_euclid_dist").numpy(), exact.numpy())


def test_against_torch_side_by_side():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.random((1, 2, 3)), rng.random((2, 1, 3))
    want = torch.nn.functional.cosine_similarity(torch.tensor(a), torch.tensor(b), dim=-2)
    got = F.cosine_similarity(tl.tensor(a), tl.tensor(b), dim=-2)
    assert np.allclose(got.numpy(), want.numpy())
    base, exponent = [0, 2, -2, 1, -1, 5, 3], [-1, -1, -1, -3, -3, -2, 2]
    assert (tl.tensor(base) ** tl.tensor(exponent)).tolist() == (
        torch.tensor(base) ** torch.tensor(exponent)).tolist()
    x = rng.random((4, 5))
    for unbiased in (True, False):
        tv, tm = torch.var_mean(torch.tensor(x), unbiased)
        lv, lm = tl.var_mean(tl.tensor(x), unbiased)
        assert lv.shape == tuple(tv.shape) and np.allclose(lv.numpy(), tv.numpy())
    b = [True, False, True, True]
    assert tl.tensor(b).diff().tolist() == torch.tensor(b).diff().tolist()
    assert tl.tensor(b).square().tolist() == torch.tensor(b).square().tolist()


def test_scatter_takes_pytorchs_older_reduce_argument():
    x = tl.ones(3, 2, requires_grad=True)
    index = tl.tensor([[0, 1], [0, 0]])
    added = x.scatter(0, index, 2.0, reduce="add")
    assert added.tolist() == [[5.0, 3.0], [1.0, 3.0], [1.0, 1.0]]
    added.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0]] * 3
    product = x.scatter(0, index, tl.full((2, 2), 2.0), reduce="multiply")
    assert product.tolist() == [[4.0, 2.0], [1.0, 2.0], [1.0, 1.0]]
    with pytest.raises(RuntimeError, match="reduce must be 'add' or 'multiply'"):
        x.scatter(0, index, 2.0, reduce="max")


def test_casts_and_copies_accept_memory_format():
    x = tl.ones(2, 3)
    for method in ("float", "double", "long", "int", "bool", "half", "contiguous"):
        assert getattr(x, method)(memory_format=None).shape == (2, 3)
    assert x.clone(memory_format=None).shape == (2, 3)


@pytest.mark.parametrize("mode, amounts, want", [
    ("circular", (-1, 2), [1, 2, 3, 4, 1, 2]),     # crop first, then wrap what is left
    ("circular", (2, -1), [2, 3, 0, 1, 2, 3]),
    ("circular", (5, 0), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]),
    ("replicate", (7, 0), [0] * 8 + [1, 2, 3, 4]),  # no limit on replicate's amounts
    ("replicate", (2, -3), [0, 0, 0, 1]),
    ("reflect", (-1, 4), [1, 2, 3, 4, 3, 2, 1, 0]),
    ("constant", (-2, 1), [2, 3, 4, 0]),
])
def test_pad_with_negative_and_large_amounts_as_pytorch(mode, amounts, want):
    x = tl.arange(5, dtype=tl.float32).reshape(1, 1, 5)
    assert F.pad(x, amounts, mode).flatten().tolist() == want


def test_circular_pad_refuses_wrapping_twice():
    with pytest.raises(RuntimeError, match="circular padding of"):
        F.pad(tl.ones(1, 1, 5), (6, 0), "circular")


LIST_DTYPES = [  # PyTorch's inference for lists holding numpy scalars
    ([np.float64(1.0)], "float64"), ([np.float32(1), 2.0], "float32"),
    ([np.int32(1)], "int32"), ([1, np.float64(2.5)], "float64"),
    ([np.int32(1), 2.5], "float32"), ([np.int32(1), 2], "int64"),
    ([np.float16(1), 2.0], "float32"), ([[np.uint8(1)], [True]], "uint8"),
    ([[np.float64(1), 2], [3, 4]], "float64"), ([1.0, 2.0], "float32"), ([1, 2], "int64"),
]


@pytest.mark.parametrize("data, dtype", LIST_DTYPES)
def test_lists_of_numpy_scalars_keep_their_dtypes(data, dtype):
    assert str(tl.tensor(data).dtype) == dtype
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(data).dtype) == f"torch.{dtype}"


@pytest.mark.parametrize("make", [
    lambda d: tl.tril_indices(3, 3, device=d), lambda d: tl.triu_indices(3, 4, 1, device=d),
    lambda d: tl.hann_window(4, device=d), lambda d: tl.hamming_window(4, device=d),
    lambda d: tl.blackman_window(4, device=d), lambda d: tl.bartlett_window(4, device=d),
    lambda d: tl.kaiser_window(4, device=d), lambda d: tl.empty_strided((2,), (1,), device=d),
])
def test_more_factories_take_a_cpu_device(make):
    assert make("cpu").device == "cpu"
    with pytest.raises(RuntimeError, match="only the 'cpu' device is available"):
        make("cuda")


def test_einsum_ellipsis_and_diagonals_without_torch():
    a = tl.arange(9, dtype=tl.float64).reshape(3, 3)
    assert tl.einsum("ii->i", a).tolist() == [0.0, 4.0, 8.0]
    assert tl.einsum("ii", a).item() == 12.0  # the trace
    b = tl.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    c = tl.ones(1, 4, 5, dtype=tl.float64)
    out = tl.einsum("...ij,...jk->...ik", b, c)  # (1, ...) broadcasts against (2, ...)
    assert out.shape == (2, 3, 5)
    assert np.allclose(out.numpy(), np.arange(24.0).reshape(2, 3, 4).sum(-1, keepdims=True))
    out.sum().backward()
    assert np.allclose(b.grad.numpy(), 5.0)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        tl.einsum("...i,...i->...", tl.ones(2, 3), tl.ones(4, 3))


EINSUMS = [("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("...ij,...jk", [(2, 3, 4), (1, 4, 5)]),
           ("bii->bi", [(2, 3, 3)]), ("iij->ij", [(3, 3, 2)]), ("i...->...", [(3, 2, 4)]),
           ("ij...,jk...->ik...", [(2, 3, 4), (3, 5, 1)]), ("...i,...i->...", [(5, 3), (3,)]),
           ("ii,jj->ij", [(2, 2), (3, 3)]), ("iii->i", [(2, 2, 2)])]


@pytest.mark.parametrize("equation, shapes", EINSUMS)
def test_einsum_forms_match_torch(equation, shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    t_out, l_out = torch.einsum(equation, *theirs), tl.einsum(equation, *ours)
    assert l_out.shape == tuple(t_out.shape)
    assert np.allclose(l_out.numpy(), t_out.detach().numpy())
    w = rng.standard_normal(l_out.shape)
    (t_out * torch.tensor(w)).sum().backward()
    (l_out * tl.tensor(w)).sum().backward()
    for a, b in zip(theirs, ours):
        assert np.allclose(b.grad.numpy(), a.grad.numpy())


@pytest.mark.parametrize("dtype, want", [("bool", "int64"), ("int32", "int64"),
                                         ("float32", "float32")])
def test_sum_to_size_promotes_as_sum_does(dtype, want):
    x = tl.tensor(np.array([1, 0, 1]).astype(dtype))
    out = x.sum_to_size(1)
    assert str(out.dtype) == want and out.tolist() == [2]


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_with_uneven_coordinates(edge_order):
    """Central weights for uneven steps are exact for a quadratic inside (and, at
    edge_order 2, at the ends too)."""
    xs = np.array([0.0, 0.5, 1.5, 1.75, 3.0])
    f = tl.tensor(xs ** 2, requires_grad=True)
    (d,) = tl.gradient(f, spacing=[tl.tensor(xs)], edge_order=edge_order)
    want = 2 * xs
    assert np.allclose(d.numpy()[1:-1], want[1:-1])
    if edge_order == 2:
        assert np.allclose(d.numpy(), want)
    else:
        assert np.isclose(d.numpy()[0], (xs[1] ** 2 - xs[0] ** 2) / xs[1])
    d.sum().backward()
    assert f.grad.shape == (5,)
    with pytest.raises(RuntimeError, match="must be 5 values"):
        tl.gradient(f, spacing=[tl.tensor(xs[:3])])
    torch = pytest.importorskip("torch")
    (t,) = torch.gradient(torch.tensor(xs ** 2), spacing=[torch.tensor(xs)],
                          edge_order=edge_order)
    assert np.allclose(d.detach().numpy(), t.numpy())


ADD_PRODUCTS = [  # beta * input + alpha * product, with the truncated scalars: 1 * 5 + 2 * 4
    ("addmv", (3,), [(3, 4), (4,)]), ("addmm", (3, 1), [(3, 4), (4, 3)]),
    ("addbmm", (3, 1), [(2, 3, 4), (2, 4, 3)]), ("baddbmm", (2, 3, 1), [(2, 3, 4), (2, 4, 3)]),
]


@pytest.mark.parametrize("name, shape, shapes", ADD_PRODUCTS)
def test_add_products_keep_int64_and_truncate_beta_and_alpha(name, shape, shapes):
    x = tl.full(shape, 5, dtype=tl.int64)
    args = [tl.ones(*s, dtype=tl.int64) for s in shapes]
    out = getattr(tl, name)(x, *args, beta=1.5, alpha=2.7)
    assert out.dtype == tl.int64
    k = 8 if name == "addbmm" else 4  # addbmm also sums over the batch of 2
    assert np.all(out.numpy() == 5 + 2 * k)
    torch = pytest.importorskip("torch")
    theirs = getattr(torch, name)(torch.tensor(x.numpy()), *[torch.tensor(a.numpy())
                                                             for a in args], beta=1.5, alpha=2.7)
    assert theirs.dtype == torch.int64 and np.array_equal(out.numpy(), theirs.numpy())


@pytest.mark.parametrize("beta, alpha", [(3, 2), (0, 1), (1, 0), (False, True)])
def test_addr_on_bools_stays_bool(beta, alpha):
    x = tl.tensor([[True, False], [False, False]])
    v = tl.tensor([True, False])
    out = tl.addr(x, v, v, beta=beta, alpha=alpha)
    want = (bool(beta) & x.numpy()) | (bool(alpha) & np.outer(v.numpy(), v.numpy()))
    assert out.dtype == tl.bool and np.array_equal(out.numpy(), want)
    torch = pytest.importorskip("torch")
    t = torch.tensor(v.numpy())
    assert np.array_equal(torch.addr(torch.tensor(x.numpy()), t, t, beta=beta,
                                     alpha=alpha).numpy(), want)


def test_gradient_of_integers_is_float32():
    (d,) = tl.gradient(tl.tensor([1, 4, 9, 16]), spacing=2.0)
    assert d.dtype == tl.float32 and d.tolist() == [1.5, 2.0, 3.0, 3.5]


def test_sum_to_size_of_a_0d_bool_gives_int64():
    out = tl.tensor(True).sum_to_size(())
    assert out.dtype == tl.int64 and out.item() == 1
    assert tl.tensor([True]).sum_to_size(1).dtype == tl.bool  # nothing to sum: kept, as torch


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_amax_amin_on_bools(reduce):
    x = tl.tensor([True, False, True])
    src = tl.tensor([False, True, False, False])
    index = tl.tensor([0, 0, 1, 2])
    out = x.scatter_reduce(0, index, src, reduce, include_self=False)
    want = [True, False, False] if reduce == "amax" else [False, False, False]
    assert out.dtype == tl.bool and out.tolist() == want
    torch = pytest.importorskip("torch")
    theirs = torch.tensor(x.numpy()).scatter_reduce(0, torch.tensor(index.numpy()),
                                                    torch.tensor(src.numpy()), reduce,
                                                    include_self=False)
    assert theirs.tolist() == want


ZERO_GRADIENTS = [  # torch keeps these in the graph with a zero gradient
    ("div trunc", lambda x, y: x.div(y, rounding_mode="trunc"), [1.0, -1.0, -2.0]),
    ("div floor", lambda x, y: x.div(y, rounding_mode="floor"), [1.0, -2.0, -3.0]),
    ("norm 0", lambda x, y: x.norm(0), 3.0),
    ("vector_norm 0", lambda x, y: tl.linalg.vector_norm(x, ord=0), 3.0),
    ("linalg.norm 0", lambda x, y: tl.linalg.norm(x, 0), 3.0),
    ("cdist 0", lambda x, y: tl.cdist(x.reshape(3, 1), y.reshape(3, 1), p=0),
     [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]),
    ("pdist 0", lambda x, y: F.pdist(x.reshape(3, 1), p=0), [1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("name, fn, want", ZERO_GRADIENTS, ids=[z[0] for z in ZERO_GRADIENTS])
def test_piecewise_constant_results_stay_in_the_graph_with_zero_gradients(name, fn, want):
    xs = np.array([3.0, -3.0, -6.0])
    ys = np.array([2.0, 2.0, 2.5])

    def run(lib):
        x, y = lib.tensor(xs, requires_grad=True), lib.tensor(ys, requires_grad=True)
        out = fn(x, y)
        assert out.requires_grad
        out.sum().backward()
        return out.detach().numpy(), [t.grad for t in (x, y) if t.grad is not None]

    value, grads = run(tl)
    assert np.allclose(value, want)
    assert len(grads) == (1 if name.endswith("norm 0") or name == "pdist 0" else 2)
    for g in grads:
        assert np.array_equal(g.numpy(), np.zeros(3))
    torch = pytest.importorskip("torch")
    t_value, t_grads = run(torch)  # NOTE: torch leaves a norm's grad None: an undefined zero
    assert np.allclose(value, t_value)
    assert all(np.array_equal(g.numpy(), np.zeros(3)) for g in t_grads)


@pytest.mark.parametrize("p, value, grad", [
    (0.5, 9.0, [0.0, 3.0, -1.5]),  # sign(x) |x|**(p - 1) norm**(1 - p), 0 where x = 0
    (-1, 0.0, [0.0, 0.0, 0.0]),  # a zero makes a negative p's norm 0, flat everywhere
    (-3.5, 0.0, [0.0, 0.0, 0.0]),
])
def test_norms_below_one_have_finite_gradients_at_zeros(p, value, grad):
    x = tl.tensor([0.0, 1.0, -4.0], dtype=tl.float64, requires_grad=True)
    out = tl.linalg.norm(x, p)
    out.backward()
    assert np.isclose(out.item(), value) and np.allclose(x.grad.numpy(), grad)
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.0, 1.0, -4.0], dtype=torch.float64, requires_grad=True)
    torch.linalg.norm(t, p).backward()
    assert np.allclose(t.grad.numpy(), grad)


@pytest.mark.parametrize("p", [0.5, -0.5, -2])
def test_norms_below_one_gradcheck_away_from_zero(p):
    x = tl.tensor([0.5, 1.0, -4.0], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda t: t.norm(p), (x,))


ZERO_D_INDEXING = [  # a 0-d input reads as (1,), as in PyTorch: (result, shape, d result/d x)
    ("gather 0-d index", lambda x: x.gather(0, tl.tensor(0)), 2.5, (), 1.0),
    ("gather (1,) index", lambda x: x.gather(0, tl.tensor([0])), [2.5], (1,), 1.0),
    ("scatter", lambda x: x.scatter(0, tl.tensor(0), tl.tensor(1.0, dtype=tl.float64)), 1.0,
     (), 0.0),
    ("scatter value", lambda x: x.scatter(0, tl.tensor(0), 4.0), 4.0, (), 0.0),
    ("scatter_add", lambda x: x.scatter_add(0, tl.tensor(0), tl.tensor(1.0, dtype=tl.float64)),
     3.5, (), 1.0),
    ("index_select", lambda x: x.index_select(0, tl.tensor([0])), 2.5, (), 1.0),
    ("index_add", lambda x: x.index_add(0, tl.tensor([0]), tl.tensor(1.0, dtype=tl.float64),
                                        alpha=2), 4.5, (), 1.0),
]


@pytest.mark.parametrize("name, fn, value, shape, grad", ZERO_D_INDEXING,
                         ids=[z[0] for z in ZERO_D_INDEXING])
def test_indexing_ops_read_a_0d_input_as_one_element(name, fn, value, shape, grad):
    x = tl.tensor(2.5, dtype=tl.float64, requires_grad=True)
    out = fn(x)
    assert out.shape == shape and np.allclose(out.numpy(), value)
    out.sum().backward()
    assert x.grad.item() == grad


def test_gather_with_an_empty_index_of_any_shape():
    out = tl.arange(5.0).gather(0, tl.zeros(2, 0, dtype=tl.uint8))
    assert out.shape == (2, 0) and out.dtype == tl.float32
    with pytest.raises(RuntimeError, match="index_select: a 0-d tensor takes one index"):
        tl.tensor(1.0).index_select(0, tl.tensor([0, 0]))


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div_of_0d_inputs_sums_and_negative_targets_give_nan(reduction):
    x = tl.tensor(-0.5, dtype=tl.float64)
    out = F.kl_div(x, tl.tensor(0.3, dtype=tl.float64), reduction=reduction)
    assert out.shape == () and np.isclose(out.item(), 0.3 * (np.log(0.3) + 0.5))
    assert F.kl_div(x, tl.tensor(0.0, dtype=tl.float64), reduction=reduction).item() == 0.0
    assert np.isnan(F.kl_div(x, tl.tensor(-0.3, dtype=tl.float64), reduction=reduction).item())


def test_prelu_keeps_a_0d_input_0d():
    x = tl.tensor(-2.0, dtype=tl.float64, requires_grad=True)
    w = tl.tensor([0.25], dtype=tl.float64, requires_grad=True)
    out = F.prelu(x, w)
    assert out.shape == () and out.item() == -0.5
    out.backward()
    assert x.grad.item() == 0.25 and w.grad.tolist() == [-2.0]
    assert tl.nn.PReLU()(tl.tensor(3.0)).shape == ()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multi_margin_loss_of_a_0d_input_is_one_class(reduction):
    out = F.multi_margin_loss(tl.tensor(0.7), tl.tensor(0), reduction=reduction)
    assert out.shape == () and out.item() == 0.0  # no other class to compare with


@pytest.mark.parametrize("op", ["quantile", "nanquantile"])
def test_quantile_of_a_0d_input_with_keepdim_stays_0d(op):
    x = tl.tensor(2.0)
    assert getattr(x, op)(0.5, dim=0, keepdim=True).shape == ()
    assert getattr(x, op)(tl.tensor([0.5, 0.2]), dim=0, keepdim=True).shape == (2,)
    assert getattr(tl.tensor([1.0, 2.0]), op)(0.5, dim=0, keepdim=True).shape == (1,)


@pytest.mark.parametrize("args, dtype, want", [
    ((0.0, -8.000001, -4.0), "int64", [0, -4]),  # int64 counts in truncated integers
    ((0.0, -8.000001, -4.0), "int32", [0, -4, -8]),  # the others count in floats
    ((1.0, 5.000001, 2.0), "int64", [1, 3]),
    ((0.5, 5, 1), "int64", [0, 1, 2, 3, 4]),
    ((0, 5.5, 1.5), "int64", [0, 1, 2, 3, 4]),  # the step truncates to 1
    ((0.9, 4.1, 1.1), "int16", [0, 1, 2]),  # ceil(3.2 / 1.1) values
    ((-2.7, 3.9, 1.9), "int32", [-2, -1, 0, 1]),
])
def test_arange_with_an_integer_dtype_truncates_as_pytorch(args, dtype, want):
    out = tl.arange(*args, dtype=dtype)
    assert str(out.dtype) == dtype and out.tolist() == want
    torch = pytest.importorskip("torch")
    assert torch.arange(*args, dtype=getattr(torch, dtype)).tolist() == want


def test_arange_refuses_a_step_that_truncates_to_zero():
    with pytest.raises(RuntimeError, match="arange: step 0.7 truncates to 0 for int64"):
        tl.arange(-0.5, 3, 0.7, dtype=tl.int64)
    with pytest.raises(RuntimeError, match="arange: step must be nonzero"):
        tl.arange(1, 5, 0)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_passes_an_empty_1d_input_through(training):
    out = F.batch_norm(tl.zeros(0), tl.zeros(0), tl.zeros(0), training=training)
    assert out.shape == (0,)
    with pytest.raises(ValueError, match="batch_norm: expected input"):
        F.batch_norm(tl.ones(3), tl.zeros(3), tl.ones(3))


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_local_response_norm_hands_an_empty_input_back(dtype):
    out = F.local_response_norm(tl.zeros(0, 1, 2, dtype=dtype), 1)
    assert out.shape == (0, 1, 2) and str(out.dtype) == dtype


NUCLEAR = np.array([[3.0, 0.0], [4.0, 5.0]])  # singular values 3 sqrt(5) and sqrt(5)


@pytest.mark.parametrize("fn", [lambda t: t.norm("nuc"),
                                lambda t: tl.linalg.matrix_norm(t, "nuc"),
                                lambda t: tl.linalg.norm(t, "nuc"),
                                lambda t: tl.nuclear_norm(t)])
def test_nuclear_norm_sums_the_singular_values(fn):
    x = tl.tensor(NUCLEAR, requires_grad=True)
    out = fn(x)
    assert np.isclose(out.item(), 4 * np.sqrt(5))
    out.backward()
    u, _, vh = np.linalg.svd(NUCLEAR)
    assert np.allclose(x.grad.numpy(), u @ vh)  # d sum(S) = U @ Vh


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_singular_value_matrix_norms_over_any_two_dims(ord):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 5))
    assert tl.gradcheck(lambda t: tl.linalg.matrix_norm(t, ord, dim=(2, 0)),
                        (tl.tensor(a, requires_grad=True),))
    x = tl.tensor(a, requires_grad=True)
    out = tl.linalg.matrix_norm(x, ord, dim=(-1, 0), keepdim=True)
    assert out.shape == (1, 4, 1)
    torch = pytest.importorskip("torch")
    t = torch.tensor(a, requires_grad=True)
    theirs = torch.linalg.matrix_norm(t, ord, dim=(-1, 0), keepdim=True)
    assert np.allclose(out.detach().numpy(), theirs.detach().numpy())
    w = rng.standard_normal(out.shape)
    (out * tl.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    assert np.allclose(x.grad.numpy(), t.grad.numpy())
    assert np.allclose(tl.tensor(a).norm("nuc", [1, 2]).numpy(),
                       torch.norm(torch.tensor(a), "nuc", [1, 2]).numpy())


# --- found by `torch_audit.py --samples 40` (session 14) --------------------------------------
@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", [tl.int16, tl.int32, tl.uint8])
def test_sums_and_products_with_a_small_int_dtype_keep_it_and_wrap_around(name, dtype):
    """numpy widens small ints as it adds or multiplies; PyTorch computes in dtype=."""
    x = tl.tensor([[200, 100, 3], [7, 8, 9]])
    dims = (1,) if name.startswith("cum") else ()
    got = getattr(tl, name)(x, *dims, dtype=dtype)
    wide = getattr(np, name)(np.array([[200, 100, 3], [7, 8, 9]]), *dims)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), wide.astype(dtype))  # uint8: 300 -> 44


def test_a_bool_sum_is_any_and_a_bool_product_is_all():
    x = tl.tensor([[True, False], [False, False], [True, True]])
    assert tl.sum(x, 1, dtype=tl.bool).tolist() == [True, False, True]
    assert tl.prod(x, 1, dtype=tl.bool).tolist() == [False, False, True]
    assert tl.prod(x, dtype=tl.bool).dtype == tl.bool and not tl.prod(x, dtype=tl.bool).item()
    assert tl.sum(tl.tensor([[1, 2]]), 1).dtype == tl.int64  # no dtype: widened, as before


def test_diff_of_order_0_is_the_input_alone_and_a_negative_order_is_refused():
    x = tl.arange(6.0).reshape(2, 3)
    got = tl.diff(x, 0, 0, prepend=tl.ones(1, 3), append=tl.ones(2, 3))
    np.testing.assert_array_equal(got.numpy(), x.numpy())  # PyTorch ignores the ends too
    assert not np.shares_memory(got.numpy(), x.numpy())
    with pytest.raises(RuntimeError, match="non-negative"):
        tl.diff(x, -1)


def test_an_integer_linspace_converts_its_ends_first_and_truncates_each_value():
    # PyTorch's values: steps of -7/8 from 4 (not 4.3), the second half counted back from
    # -3 (-3 + 3 * 7/8 = -0.375 truncates to 0)
    assert tl.linspace(4.3, -3, 9, dtype=tl.int64).tolist() == [4, 3, 2, 1, 0, 0, -1, -2, -3]
    assert tl.linspace(4.3, 50, 6, dtype=tl.int32).tolist() == [4, 13, 22, 31, 40, 50]
    assert tl.linspace(-3, 50, 3, dtype=tl.uint8).tolist() == [253, 151, 50]  # -3 is 253
    assert tl.linspace(0.5, 10, 1, dtype=tl.int64).tolist() == [0]
    np.testing.assert_allclose(tl.linspace(4.3, -3, 5).numpy(), np.linspace(4.3, -3, 5),
                               rtol=1e-6)


def test_scatter_multiply_on_a_0_d_tensor():
    assert tl.tensor(2.0).scatter(0, tl.tensor(0), value=2.5, reduce="multiply").item() == 5.0
    got = tl.tensor([1.0, 2.0, 3.0]).scatter(0, tl.tensor([0, 0, 2]), value=2.0,
                                              reduce="multiply")
    assert got.tolist() == [4.0, 2.0, 6.0]


def test_cov_keeps_float32_aweights_in_float32_as_pytorch():
    """PyTorch sums float32 weights and forms the normalisation in float32, even for float64
    data: with correction 2 and these weights the divisor is close to 0, so its rounding
    shows (torch gives these values)."""
    x = tl.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=tl.float64)
    w = tl.tensor([0.3666, 0.0583, 0.7006])
    total = np.float32(w.numpy().sum())
    norm = total - np.float32(2) * np.float32((w.numpy() * w.numpy()).sum()) / total
    xs, ws = x.numpy(), w.numpy().astype(np.float64)
    centred = xs - (xs * ws).sum(1, keepdims=True) / np.float64(total)
    expected = centred @ (centred * ws).T / np.float64(norm)
    got = x.cov(correction=2, aweights=w)
    assert got.dtype == tl.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    # and the other way round, float64 weights make float32 data's covariance float64
    assert x.float().cov(aweights=w.double()).dtype == tl.float64
    assert x.float().cov(fweights=tl.tensor([1, 2, 1])).dtype == tl.float32


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_a_linear_quantile_has_a_gradient_for_q(name):
    x = tl.tensor([[1.0, 5.0, 2.0, 7.0], [3.0, np.nan, 1.0, 0.0]], dtype=tl.float64)
    q = tl.tensor([0.0, 0.3, 1.0], dtype=tl.float64, requires_grad=True)
    getattr(tl, name)(x, q, dim=1).nan_to_num().sum().backward()
    # row 0 sorted 1 2 5 7: q = 0.3 sits between 1 and 2, d(out)/dq = (2 - 1) * 3; a NaN row
    # adds nothing to quantile's gradient, and nanquantile's row 3 0 1 (sorted 0 1 3) adds
    # (1 - 0) * 2 at q = 0.3
    assert q.grad.tolist() == ([0.0, 3.0, 0.0] if name == "quantile" else [0.0, 5.0, 0.0])
    x = tl.tensor([1.0, 5.0, 2.0, 7.0], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda x, q: getattr(tl, name)(x, q),
                        [x, tl.tensor([0.2, 0.55], dtype=tl.float64, requires_grad=True)])


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (2, 0, 3)])
def test_a_positive_matrix_norm_of_an_empty_matrix_is_0(shape):
    for order in (np.inf, 1, 2, "nuc", "fro"):
        got = tl.linalg.matrix_norm(tl.zeros(*shape), order)
        assert got.shape == shape[:-2] and not got.numpy().any()
    with pytest.raises(RuntimeError):
        tl.linalg.matrix_norm(tl.zeros(0, 0), -2)  # no smallest singular value, as PyTorch


def test_matrix_rank_takes_tolerances_per_matrix():
    A = tl.tensor(np.stack([np.diag([3.0, 0.5, 0.1]), np.diag([3.0, 2.0, 1.5])]))
    assert tl.linalg.matrix_rank(A, atol=tl.tensor([1.0, 1.0])).tolist() == [1, 3]
    assert tl.linalg.matrix_rank(A, atol=tl.tensor([0.0, 1.8]),
                                 rtol=tl.tensor([0.1, 0.0])).tolist() == [2, 2]
    assert tl.linalg.matrix_rank(A, atol=0.2).tolist() == [2, 3]


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 3)])
def test_a_full_svd_of_a_non_square_matrix_has_the_thin_svds_gradient(shape):
    """PyTorch ignores the completing columns of U (rows of Vh) in the gradient; the rest is
    the thin SVD's, checked here on a loss that does not see the singular vectors' signs."""
    a = np.random.default_rng(1).standard_normal(shape)
    k = min(shape[-2:])
    grads = []
    for full in (True, False):
        x = tl.tensor(a, requires_grad=True)
        U, S, Vh = tl.linalg.svd(x, full_matrices=full)
        ((U[..., :k] * U[..., :k]).sum() + S.pow(3).sum() + (Vh[..., :k, :] ** 4).sum()
         ).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)


def test_an_integer_logspace_raises_the_base_to_integer_exponents():
    assert tl.logspace(1.2, 4, 4, dtype=tl.int64).tolist() == [10, 100, 1000, 10000]
    assert tl.logspace(0, 1.2, 2, dtype=tl.int64).tolist() == [1, 10]  # ends converted first
    assert tl.logspace(1.2, 4, 1, dtype=tl.int64).tolist() == [15]  # one step: 10**1.2
    assert tl.logspace(0, 3, 4, base=2, dtype=tl.int32).tolist() == [1, 2, 4, 8]


def test_a_range_with_tensor_ends_is_computed_in_float64():
    got = tl.linspace(tl.tensor(4.3), -3, 3, dtype=tl.float64)
    np.testing.assert_array_equal(got.numpy(), np.linspace(float(np.float32(4.3)), -3, 3))


def test_searchsorted_with_empty_rows():
    got = tl.searchsorted(tl.zeros(2, 0), tl.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 2.0]]))
    assert got.shape == (2, 3) and not got.numpy().any() and got.dtype == tl.int64
    assert tl.searchsorted(tl.zeros(0, 0), tl.zeros(0, 0)).shape == (0, 0)
    assert tl.searchsorted(tl.zeros(2, 3), tl.zeros(2, 0)).shape == (2, 0)


@pytest.mark.parametrize("name", ["unique", "unique_consecutive"])
def test_unique_along_an_empty_dim_and_refused_along_another(name):
    x = tl.zeros(5, 0, 5)
    values, inverse, counts = getattr(tl, name)(x, dim=1, return_inverse=True,
                                                return_counts=True)
    assert values.shape == (5, 0, 5) and inverse.shape == counts.shape == (0,)
    for dim in (0, 2):
        with pytest.raises(RuntimeError, match="0 sized dims"):
            getattr(tl, name)(x, dim=dim)


def test_all_and_any_of_uint8_are_uint8_as_in_pytorch():
    x = tl.tensor([[1, 0], [2, 3]], dtype=tl.uint8)
    assert x.all().dtype == tl.uint8 and x.all().item() == 0
    assert x.any(1).dtype == tl.uint8 and x.any(1).tolist() == [1, 1]
    assert tl.tensor([1, 2], dtype=tl.int16).all().dtype == tl.bool


def test_an_int_out_of_a_dtypes_range_wraps_around_when_filled():
    assert tl.full((2,), -9, dtype=tl.uint8).tolist() == [247, 247]
    assert tl.full_like(tl.zeros(2, dtype=tl.uint8), -9).tolist() == [247, 247]
    assert tl.scalar_tensor(-5, dtype=tl.uint8).item() == 251
    assert (tl.tensor([1, 2], dtype=tl.uint8) + -3).tolist() == [254, 255]


def test_an_integer_max_pool_pads_with_the_least_integer():
    x = tl.tensor(np.arange(36, dtype=np.int16).reshape(1, 1, 6, 6) - 40)
    values, indices = F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    # PyTorch's values: every window's largest element, never the padding
    assert values.dtype == tl.int16
    assert values[0, 0].tolist() == [[-33, -31, -29, -29], [-21, -19, -17, -17],
                                     [-9, -7, -5, -5], [-9, -7, -5, -5]]
    assert indices[0, 0, 0].tolist() == [7, 9, 11, 11]


def test_int32_batched_products_stay_int32():
    b = tl.tensor(np.arange(24, dtype=np.int32).reshape(2, 3, 4))
    c = tl.tensor(np.ones((2, 4, 2), dtype=np.int32))
    got = tl.zeros(3, 2, dtype=tl.int32).addbmm(b, c)
    assert got.dtype == tl.int32 and got.tolist() == [[60, 60], [92, 92], [124, 124]]
    w = tl.tensor(np.ones((2, 3, 4), dtype=np.int32))
    y = F.bilinear(tl.tensor(np.ones((5, 3), np.int32)), tl.tensor(np.ones((5, 4), np.int32)), w)
    assert y.dtype == tl.int32 and y.tolist() == [[12, 12]] * 5
