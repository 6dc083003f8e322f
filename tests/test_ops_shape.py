"""Shape, reduction, scan, sorting, scatter and linear-algebra ops: each differentiable one
through the one op helper (numpy forward, finite differences, PyTorch in float32 and float64),
ties and zeros against PyTorch, the ones without a gradient against PyTorch or numpy."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op, torch

import tinygrad_lite as tl

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def lib(x):
    """The library `x` belongs to, so one lambda calls `tl.einsum` or `torch.einsum`."""
    return tl if isinstance(x, tl.Tensor) else torch


def like(x, data, integer=False):
    """`data` as a tensor of x's library (x's float dtype, or int64 for indices)."""
    if isinstance(x, tl.Tensor):
        return tl.tensor(data, dtype=tl.int64 if integer else x.dtype)
    return torch.tensor(data, dtype=torch.int64 if integer else x.dtype)


SCATTER_INDEX = [[0, 1, 2, 0, 1], [2, 0, 1, 1, 0]]  # no repeats within a column
TRIANGLE_MASK = np.tri(3, 4, -1, dtype=bool)

# name -> (input shapes, fn written once for both libraries, numpy forward or None, options)
DIFFERENTIABLE = {
    "prod_all": ([(3, 4)], lambda x: x.prod(), np.prod),
    "prod_dim": ([(3, 4)], lambda x: x.prod(1), lambda x: x.prod(1)),
    "prod_negative_dim_keepdim": ([(2, 3, 4)], lambda x: x.prod(-2, keepdim=True),
                                  lambda x: x.prod(-2, keepdims=True)),
    "prod_0d": ([()], lambda x: x.prod(), np.prod),
    "cumsum_1d": ([(5,)], lambda x: x.cumsum(0), np.cumsum),
    "cumsum_negative_dim": ([(2, 3, 4)], lambda x: x.cumsum(-2), lambda x: x.cumsum(-2)),
    "cumprod_dim": ([(3, 5)], lambda x: x.cumprod(1), lambda x: x.cumprod(1)),
    "cumprod_negative_dim": ([(4, 2, 3)], lambda x: x.cumprod(-3), lambda x: x.cumprod(0)),
    "logcumsumexp": ([(3, 5)], lambda x: x.logcumsumexp(-1),
                     lambda x: np.logaddexp.accumulate(x, axis=-1)),
    "logcumsumexp_function": ([(4, 3)], lambda x: lib(x).logcumsumexp(x * 30, 0),
                              lambda x: np.logaddexp.accumulate(x * 30, axis=0)),
    "norm_fro_default": ([(3, 4)], lambda x: x.norm(), np.linalg.norm),
    "norm_2_dim": ([(3, 4)], lambda x: x.norm(2, dim=-1),
                   lambda x: np.linalg.norm(x, axis=-1)),
    "norm_1_keepdim": ([(3, 4)], lambda x: x.norm(1, dim=0, keepdim=True),
                       lambda x: np.abs(x).sum(0, keepdims=True)),
    "norm_inf": ([(3, 4)], lambda x: x.norm(float("inf"), dim=1),
                 lambda x: np.abs(x).max(1)),
    "norm_3_two_dims": ([(2, 3, 4)], lambda x: x.norm(3, dim=(0, -1)),
                        lambda x: (np.abs(x) ** 3).sum((0, 2)) ** (1 / 3)),
    "norm_fro_two_dims": ([(2, 3, 4)], lambda x: x.norm("fro", dim=(1, 2)),
                          lambda x: np.sqrt((x * x).sum((1, 2)))),
    "nansum": ([(3, 4)], lambda x: x.masked_fill(like(x, TRIANGLE_MASK, True) > 0,
                                                 float("nan")).nansum(1),
               lambda x: np.where(TRIANGLE_MASK, 0, x).sum(1)),
    "nanmean": ([(3, 4)], lambda x: x.masked_fill(like(x, TRIANGLE_MASK, True) > 0,
                                                  float("nan")).nanmean(-1),
                lambda x: np.nanmean(np.where(TRIANGLE_MASK, np.nan, x), -1)),
    "diff": ([(3, 5)], lambda x: x.diff(), lambda x: np.diff(x)),
    "diff_twice_dim0": ([(4, 3)], lambda x: x.diff(2, 0), lambda x: np.diff(x, 2, 0)),
    "diff_prepend_append": ([(2, 3), (2, 1)], lambda x, p: x.diff(dim=1, prepend=p, append=p),
                            lambda x, p: np.diff(np.concatenate([p, x, p], 1), axis=1)),
    "median_all": ([(3, 5)], lambda x: x.median(), lambda x: np.sort(x, None)[7]),
    "median_dim": ([(3, 4)], lambda x: x.median(1).values,
                   lambda x: np.sort(x, 1)[:, 1]),
    "median_dim_keepdim": ([(5, 2)], lambda x: x.median(0, keepdim=True)[0],
                           lambda x: np.median(x, 0, keepdims=True)),
    "flip": ([(3, 4)], lambda x: x.flip(0), lambda x: x[::-1]),
    "flip_two_negative_dims": ([(2, 3, 4)], lambda x: x.flip(0, -1),
                               lambda x: x[::-1, :, ::-1]),
    "roll": ([(3, 4)], lambda x: x.roll(1, 0), lambda x: np.roll(x, 1, 0)),
    "roll_two_dims": ([(3, 4)], lambda x: x.roll((1, -3), (0, -1)),
                      lambda x: np.roll(x, (1, -3), (0, 1))),
    "roll_flattened": ([(3, 4)], lambda x: x.roll(5), lambda x: np.roll(x, 5)),
    "repeat": ([(2, 3)], lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3))),
    "repeat_1d": ([(3,)], lambda x: x.repeat(2), lambda x: np.tile(x, 2)),
    "tile_short_dims": ([(2, 3)], lambda x: x.tile((2,)), lambda x: np.tile(x, 2)),
    "tril": ([(4, 4)], lambda x: x.tril(), np.tril),
    "tril_negative_diagonal_wide": ([(3, 5)], lambda x: x.tril(-1), lambda x: np.tril(x, -1)),
    "triu_batched": ([(2, 3, 4)], lambda x: x.triu(1), lambda x: np.triu(x, 1)),
    "triu_function": ([(4, 3)], lambda x: lib(x).triu(x, -1), lambda x: np.triu(x, -1)),
    "diag_of_vector": ([(4,)], lambda x: x.diag(), np.diag),
    "diag_of_vector_above": ([(3,)], lambda x: x.diag(1), lambda x: np.diag(x, 1)),
    "diag_of_vector_below": ([(3,)], lambda x: lib(x).diag(x, -2), lambda x: np.diag(x, -2)),
    "diag_of_matrix": ([(3, 4)], lambda x: x.diag(1), lambda x: np.diag(x, 1)),
    "diagonal": ([(2, 3, 4)], lambda x: x.diagonal(1, 0, 2),
                 lambda x: np.diagonal(x, 1, 0, 2)),
    "diagonal_negative_dims": ([(3, 4, 2)], lambda x: x.diagonal(-1, -1, -3),
                               lambda x: np.diagonal(x, -1, 2, 0)),
    "trace": ([(3, 4)], lambda x: x.trace(), np.trace),
    "unbind": ([(3, 4)], lambda x: x.unbind(1)[2] * x.unbind(-1)[0],
               lambda x: x[:, 2] * x[:, 0]),
    "movedim": ([(2, 3, 4)], lambda x: x.movedim(0, -1), lambda x: np.moveaxis(x, 0, -1)),
    "movedim_several": ([(2, 3, 4)], lambda x: x.movedim((0, 1), (2, 0)),
                        lambda x: np.moveaxis(x, (0, 1), (2, 0))),
    "swapaxes": ([(2, 3, 4)], lambda x: x.swapaxes(0, -1), lambda x: x.swapaxes(0, -1)),
    "swapdims": ([(2, 3)], lambda x: lib(x).swapdims(x, 1, 0), lambda x: x.T),
    "unflatten": ([(3, 6)], lambda x: x.unflatten(1, (2, 3)), lambda x: x.reshape(3, 2, 3)),
    "unflatten_inferred": ([(6, 2)], lambda x: x.unflatten(-2, (-1, 2)),
                           lambda x: x.reshape(3, 2, 2)),
    "broadcast_to": ([(3, 1)], lambda x: x.broadcast_to((2, 3, 4)),
                     lambda x: np.broadcast_to(x, (2, 3, 4))),
    "select": ([(3, 4)], lambda x: x.select(1, -1), lambda x: x[:, -1]),
    "select_function": ([(2, 3, 4)], lambda x: lib(x).select(x, 0, 1), lambda x: x[1]),
    "take_repeats_and_negatives": ([(3, 4)],
                                   lambda x: x.take(like(x, [[0, 11], [5, -1], [5, 5]], True)),
                                   lambda x: x.reshape(-1)[[[0, 11], [5, -1], [5, 5]]]),
    "masked_select_broadcast": ([(3, 4)],
                                lambda x: x.masked_select(like(x, [1, 0, 0, 1], True) > 0),
                                lambda x: x[:, [0, 3]].reshape(-1)),
    "scatter_src": ([(3, 5), (2, 5)],
                    lambda x, s: x.scatter(0, like(x, SCATTER_INDEX, True), s), None),
    "scatter_value": ([(3, 5)], lambda x: x.scatter(0, like(x, SCATTER_INDEX, True), 0.5),
                      None),
    "scatter_value_keyword": ([(3, 5)],
                              lambda x: x.scatter(1, like(x, [[4], [0], [2]], True), value=-1.0),
                              None),
    "scatter_add_repeats": ([(2, 4), (2, 3)],
                            lambda x, s: x.scatter_add(1, like(x, [[0, 0, 1], [2, 2, 2]], True),
                                                       s), None),
    "scatter_add_function": ([(3, 2), (2, 2)],
                             lambda x, s: lib(x).scatter_add(x, 0, like(x, [[2, 0], [2, 2]],
                                                                        True), s), None),
    "index_add": ([(4, 3), (3, 3)],
                  lambda x, s: x.index_add(0, like(x, [0, 2, 0], True), s, alpha=2), None),
    "index_add_last_dim": ([(2, 4), (2, 2)],
                           lambda x, s: x.index_add(-1, like(x, [3, 3], True), s), None),
    "sort": ([(3, 5)], lambda x: x.sort().values, lambda x: np.sort(x)),
    "sort_descending_dim0": ([(4, 3)], lambda x: x.sort(0, descending=True)[0],
                             lambda x: -np.sort(-x, 0)),
    "topk": ([(3, 6)], lambda x: x.topk(2).values, lambda x: -np.sort(-x)[:, :2]),
    "topk_smallest_dim0": ([(5, 3)], lambda x: x.topk(3, 0, largest=False)[0],
                           lambda x: np.sort(x, 0)[:3]),
    "bmm": ([(2, 3, 4), (2, 4, 5)], lambda a, b: a.bmm(b), np.matmul),
    "addmm": ([(3, 5), (3, 4), (4, 5)],
              lambda i, a, b: i.addmm(a, b, beta=0.5, alpha=2),
              lambda i, a, b: 0.5 * i + 2 * a @ b),
    "addmm_broadcast_input_function": ([(5,), (3, 4), (4, 5)],
                                       lambda i, a, b: lib(i).addmm(i, a, b),
                                       lambda i, a, b: i + a @ b),
    "baddbmm": ([(2, 3, 5), (2, 3, 4), (2, 4, 5)],
                lambda i, a, b: i.baddbmm(a, b, alpha=-1), lambda i, a, b: i - a @ b),
    "inner_matrices": ([(3, 4), (2, 4)], lambda a, b: a.inner(b), np.inner),
    "inner_vectors": ([(4,), (4,)], lambda a, b: a.inner(b), np.inner),
    "inner_batched": ([(2, 3, 4), (4,)], lambda a, b: lib(a).inner(a, b), np.inner),
    "einsum_matmul": ([(3, 4), (4, 5)], lambda a, b: lib(a).einsum("ij,jk->ik", a, b),
                      lambda a, b: a @ b),
    "einsum_implicit": ([(3, 4), (4, 5)], lambda a, b: lib(a).einsum("ij,jk", a, b),
                        lambda a, b: a @ b),
    "einsum_batched": ([(2, 3, 4), (2, 4, 5)],
                       lambda a, b: lib(a).einsum("bij, bjk -> bik", a, b), np.matmul),
    "einsum_transpose": ([(3, 4)], lambda a: lib(a).einsum("ij->ji", a), lambda a: a.T),
    "einsum_total": ([(3, 4)], lambda a: lib(a).einsum("ij->", a), np.sum),
    "einsum_outer": ([(3,), (4,)], lambda a, b: lib(a).einsum("i,j->ij", a, b), np.outer),
    "einsum_index_summed_in_one_operand": ([(3, 4), (5,)],
                                           lambda a, b: lib(a).einsum("ij,k->i", a, b),
                                           lambda a, b: a.sum(1) * b.sum()),
    "einsum_three_operands": ([(2, 3), (3, 4), (4, 2)],
                              lambda a, b, c: lib(a).einsum("ij,jk,kl->il", a, b, c),
                              lambda a, b, c: a @ b @ c),
    "cdist": ([(4, 3), (5, 3)], lambda a, b: lib(a).cdist(a, b),
              lambda a, b: np.linalg.norm(a[:, None] - b[None], axis=-1)),
    "cdist_p1_batched": ([(2, 4, 3), (2, 5, 3)], lambda a, b: lib(a).cdist(a, b, p=1),
                         lambda a, b: np.abs(a[:, :, None] - b[:, None]).sum(-1)),
    "meshgrid_ij": ([(3,), (4,)], lambda a, b: lib(a).stack(lib(a).meshgrid(a, b, indexing="ij")),
                    lambda a, b: np.stack(np.meshgrid(a, b, indexing="ij"))),
    "meshgrid_xy": ([(3,), (4,)], lambda a, b: lib(a).stack(lib(a).meshgrid(a, b, indexing="xy")),
                    lambda a, b: np.stack(np.meshgrid(a, b))),
    "broadcast_tensors": ([(3, 1), (4,)],
                          lambda a, b: lib(a).stack(lib(a).broadcast_tensors(a, b)),
                          lambda a, b: np.stack(np.broadcast_arrays(a, b))),
    "hstack_vectors": ([(3,), (2,)], lambda a, b: lib(a).hstack([a, b]),
                       lambda a, b: np.hstack([a, b])),
    "hstack_matrices": ([(2, 3), (2, 1)], lambda a, b: lib(a).hstack([a, b]),
                        lambda a, b: np.hstack([a, b])),
    "vstack": ([(3,), (2, 3)], lambda a, b: lib(a).vstack([a, b]),
               lambda a, b: np.vstack([a, b])),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_op_matches_numpy_finite_differences_and_torch(name):
    shapes, fn, np_fn = DIFFERENTIABLE[name]
    check_op(shapes, fn, np_fn)


def _with_grads(fn, arrays, library):
    """fn's output and the gradients of a fixed weighted sum of it, in float64."""
    make = tl.tensor if library is tl else torch.tensor
    xs = [make(a, dtype=library.float64, requires_grad=True) for a in arrays]
    out = fn(*xs)
    weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * make(weights, dtype=library.float64)).sum().backward()
    grads = [np.zeros(a.shape) if x.grad is None else np.asarray(x.grad.detach().numpy())
             for a, x in zip(arrays, xs)]
    return np.asarray(out.detach().numpy()), grads


def assert_matches_torch(fn, *arrays):
    """Values and gradients of fn on these exact inputs (ties, zeros) equal PyTorch's."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    out, grads = _with_grads(fn, arrays, tl)
    t_out, t_grads = _with_grads(fn, arrays, torch)
    np.testing.assert_allclose(out, t_out, rtol=1e-12, atol=1e-12)
    for g, tg in zip(grads, t_grads):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-12)


ZEROS = [[1.5, 0.0, 2.0, -3.0], [0.0, 2.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0],
         [1.0, -2.0, 0.5, 3.0]]  # one zero, two zeros, all zeros, none


@needs_torch
@pytest.mark.parametrize("name, fn", [
    ("prod_rows", lambda x: x.prod(1)),
    ("prod_all_with_a_zero", lambda x: x[0].prod()),
    ("prod_columns_keepdim", lambda x: x.prod(0, keepdim=True)),
    ("cumprod_rows", lambda x: x.cumprod(1)),
    ("cumprod_columns", lambda x: x.cumprod(-2)),
])
def test_products_have_exact_gradients_where_inputs_are_zero(name, fn):
    assert_matches_torch(fn, ZEROS)
    x = tl.tensor(ZEROS, dtype=tl.float64, requires_grad=True)
    tl.gradcheck(fn, [x], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_cumprod_gradient_at_a_zero_is_the_product_of_the_others_up_to_each_output():
    x = tl.tensor([2.0, 0.0, 3.0, 0.0, 5.0], dtype=tl.float64, requires_grad=True)
    x.cumprod(0).sum().backward()
    # d/dx1 of (2, 2x1, 6x1, 6x1x3, ...) = 2 + 6 + 0 + 0; a second zero leaves a zero factor
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 8.0, 0.0, 0.0, 0.0])


@needs_torch
@pytest.mark.parametrize("p", [2, "fro", 1, 3, float("inf")])
def test_norm_gradient_at_a_zero_norm_is_zero_like_torch(p):
    rows = [[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]]
    assert_matches_torch(lambda x: x.norm(p, dim=1), rows)
    x = tl.zeros(4, requires_grad=True)
    x.norm(p).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


@needs_torch
def test_cdist_of_equal_points_has_a_zero_gradient_like_torch():
    points = [[1.0, 2.0], [1.0, 2.0], [0.0, -1.0]]
    assert_matches_torch(lambda a, b: lib(a).cdist(a, b), points, points)


TIES = [[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [5.0, -1.0, 2.0, 2.0, 7.0, -1.0]]


@needs_torch
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [1, 0, -1])
def test_sort_with_ties_is_stable_like_torch_in_values_indices_and_gradients(descending, dim):
    ours = tl.tensor(TIES).sort(dim, descending=descending)
    theirs = torch.tensor(TIES).sort(dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == tl.int64 and type(ours) is type(tl.tensor(TIES).max(1))
    np.testing.assert_array_equal(
        tl.tensor(TIES).argsort(dim, descending=descending).numpy(),
        torch.tensor(TIES).argsort(dim=dim, descending=descending, stable=True).numpy())
    assert_matches_torch(
        lambda x: x.sort(dim, descending=descending)[0] if isinstance(x, tl.Tensor)
        else x.sort(dim=dim, descending=descending, stable=True)[0], TIES)


@needs_torch
@pytest.mark.parametrize("largest", [True, False])
def test_topk_with_ties_takes_the_first_equal_elements(largest):
    ours = tl.tensor(TIES).topk(3, largest=largest)
    theirs = torch.tensor(TIES).topk(3, largest=largest)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    stable = np.argsort(-np.array(TIES) if largest else np.array(TIES), 1, kind="stable")
    np.testing.assert_array_equal(ours.indices.numpy(), stable[:, :3])
    x = tl.tensor(TIES, requires_grad=True)
    x.topk(3, largest=largest).values.sum().backward()
    expected = np.zeros_like(TIES)
    np.put_along_axis(expected, stable[:, :3], 1.0, 1)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@needs_torch
def test_median_of_all_shares_the_gradient_among_ties_like_torch():
    assert_matches_torch(lambda x: x.median(), [[1.0, 2.0, 2.0], [2.0, 0.0, 5.0]])
    assert_matches_torch(lambda x: x.median(), [4.0, 1.0, 3.0, 2.0])  # even count: the lower


@needs_torch
def test_median_dim_returns_values_and_indices_like_torch():
    data = [[4.0, 1.0, 3.0, 2.0], [0.5, 9.0, -1.0, 7.0]]
    ours, theirs = tl.tensor(data).median(1), torch.tensor(data).median(1)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@needs_torch
def test_nan_sorts_as_the_largest_value_like_torch():
    data = [2.0, float("nan"), -1.0, 5.0]
    for descending in (False, True):
        ours = tl.tensor(data).sort(descending=descending)
        theirs = torch.tensor(data).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@needs_torch
def test_scatter_with_src_larger_than_index_uses_its_leading_corner():
    x, src = np.arange(12.0).reshape(3, 4), -np.arange(15.0).reshape(3, 5)
    index = [[3], [0], [1]]
    ours = tl.tensor(x).scatter(1, tl.tensor(index), tl.tensor(src))
    theirs = torch.tensor(x).scatter(1, torch.tensor(index), torch.tensor(src))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    xs = [tl.tensor(a, dtype=tl.float64, requires_grad=True) for a in (x, src)]
    # NOTE: PyTorch 2.13's backward fails on this case, so only finite differences check it
    tl.gradcheck(lambda a, s: a.scatter_add(1, tl.tensor(index), s), xs)
    tl.gradcheck(lambda a, s: a.scatter(1, tl.tensor(index), s), xs)


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_count_nonzero_matches_torch(dim):
    data = [[0.0, 1.0, 0.0], [2.0, 0.0, -0.0]]
    ours = tl.tensor(data).count_nonzero(dim)
    theirs = torch.tensor(data).count_nonzero(dim)
    assert ours.dtype == tl.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@needs_torch
@pytest.mark.parametrize("data", [[[0, 1, 0], [2, 0, 3]], [0.0, 1.5, 0.0, -2.0], [[[True]]],
                                  [[0, 0]], 7, 0], ids=str)
def test_nonzero_matches_torch_in_both_forms(data):
    ours, theirs = tl.tensor(data), torch.tensor(data)
    assert ours.nonzero().dtype == tl.int64
    np.testing.assert_array_equal(ours.nonzero().numpy(), theirs.nonzero().numpy())
    for a, b in zip(ours.nonzero(as_tuple=True), theirs.nonzero(as_tuple=True), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@needs_torch
@pytest.mark.parametrize("name, fn", [
    ("prod", lambda x: x.prod(1)), ("prod_all", lambda x: x.prod()),
    ("cumsum", lambda x: x.cumsum(0)), ("cumprod", lambda x: x.cumprod(1)),
    ("sort_values", lambda x: x.sort(1)[0]), ("tril", lambda x: x.tril()),
    ("flip", lambda x: x.flip(0)), ("diag", lambda x: x.diag()),
    ("trace", lambda x: x.int().trace()),  # NOTE: PyTorch has no trace of bools
])
@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_integer_and_bool_inputs_give_torchs_dtypes_and_values(name, fn, dtype):
    data = np.array([[1, 0, 3], [2, 2, 1]]).astype(dtype)
    ours, theirs = fn(tl.tensor(data)), fn(torch.tensor(data))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_einsum_refuses_bad_equations_naming_the_operand():
    a = tl.ones(3, 3)
    with pytest.raises(RuntimeError, match=r"einsum: subscript 'i' is repeated in 'ii' for "
                                           r"dims of sizes 3 and 2"):
        tl.einsum("ii->i", tl.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"einsum: '\.\.\.ijk': subscripts '\.\.\.ijk' do "
                                           r"not fit an operand of shape \(3, 3\)"):
        tl.einsum("...ijk", a)
    with pytest.raises(RuntimeError, match=r"einsum: 'ij,jk': index 'j' has size 3 in one "
                                           r"operand and 2 in another"):
        tl.einsum("ij,jk", a, tl.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"einsum: 'ij,jk->ik' has subscripts for 2 "
                                           r"operands but 1 were given"):
        tl.einsum("ij,jk->ik", a)


@pytest.mark.parametrize("call, error, message", [
    (lambda: tl.ones(3).tril(), RuntimeError, r"tril: needs at least 2 dims, got shape \(3,\)"),
    (lambda: tl.ones(2, 3, 4).diag(), RuntimeError, r"diag: expected a 1-D or 2-D tensor, got "
                                                     r"shape \(2, 3, 4\)"),
    (lambda: tl.ones(2, 3).repeat(2), RuntimeError, r"repeat: 1 repeat counts \(2,\) for a "
                                                     r"tensor of shape \(2, 3\)"),
    (lambda: tl.ones(2, 3).select(1, 3), IndexError, r"select: index 3 is out of range for dim "
                                                      r"1 of size 3"),
    (lambda: tl.ones(2, 3).topk(4), RuntimeError, r"topk: k=4 is out of range for dim -1 of "
                                                   r"size 3 \(tensor of shape \(2, 3\)\)"),
    (lambda: tl.ones(2, 3).sort(2), IndexError, r"sort: dim 2 is out of range"),
    (lambda: tl.ones(2, 3).scatter(0, tl.tensor([[2, 0, 1]]), 1.0), RuntimeError,
     r"scatter: index out of range for dim 0 of size 2"),
    (lambda: tl.ones(2, 3).scatter_add(0, tl.tensor([0, 1]), tl.ones(2)), RuntimeError,
     r"scatter_add: index must be an integer tensor with 2 dims like the input \(2, 3\)"),
    (lambda: tl.ones(2, 3).index_add(1, tl.tensor([0]), tl.ones(2, 2)), RuntimeError,
     r"index_add: index must be a 1-D integer tensor and source of shape \(2, 1\)"),
    (lambda: tl.ones(2, 3).bmm(tl.ones(2, 3)), RuntimeError, r"bmm: expected two 3-D tensors"),
    (lambda: tl.ones(2, 3).addmm(tl.ones(2, 3), tl.ones(3)), RuntimeError,
     r"addmm: expected 2-D matrices, got \(2, 3\) and \(3,\)"),
    (lambda: tl.ones(2, 3).inner(tl.ones(2)), RuntimeError, r"inner: the last dims of \(2, 3\) "
                                                            r"and \(2,\) differ"),
    (lambda: tl.ones(6).unflatten(0, (4, 2)), RuntimeError, r"unflatten: sizes \(4, 2\) do not "
                                                            r"make up dim 0 of size 6"),
    (lambda: tl.ones(2, 3).movedim((0, 1), 0), RuntimeError, r"movedim: source \(0, 1\) and "
                                                             r"destination \(0,\) differ"),
    (lambda: tl.ones(2, 3).roll((1, 2), 0), RuntimeError, r"roll: 2 shifts"),
    (lambda: tl.ones(2, 3).take(tl.tensor([6])), IndexError, r"take: index out of range for a "
                                                             r"tensor of 6 elements"),
    (lambda: tl.ones(2, 3).masked_select(tl.tensor([1, 0, 1])), RuntimeError,
     r"masked_select: mask must be a bool tensor"),
    (lambda: tl.ones(2, 3).masked_select(tl.tensor([True, False])), RuntimeError,
     r"masked_select: mask of shape \(2,\) does not broadcast with the tensor's shape \(2, 3\)"),
    (lambda: tl.ones(2, 3).norm("nuc", 0), RuntimeError, r"norm: p='nuc' needs two dims"),
    (lambda: tl.ones(2, 3).norm("max"), ValueError, r"norm: p='max' is not supported"),
    (lambda: tl.ones(2, 3).diagonal(0, 1, -1), RuntimeError, r"diagonal: dim1 and dim2 are the "
                                                            r"same dim"),
    (lambda: tl.ones(2, 3).prod((0, 1)), TypeError, r"prod: dim must be an int or None"),
    (lambda: tl.ones(2, 0).median(1), RuntimeError,
     r"median: cannot take the median of an empty tensor of shape \(2, 0\) along dim 1"),
    (lambda: tl.tensor(2.0).diff(), RuntimeError, r"diff: needs at least 1 dim"),
    (lambda: tl.broadcast_tensors(tl.ones(2), tl.ones(3)), RuntimeError,
     r"broadcast_tensors: shapes \[\(2,\), \(3,\)\] do not broadcast"),
    (lambda: tl.meshgrid(tl.ones(2, 2)), RuntimeError, r"meshgrid: expected 0-D or 1-D"),
    (lambda: tl.cdist(tl.ones(2, 3), tl.ones(2, 2)), RuntimeError, r"cdist: expected"),
    (lambda: tl.multinomial(tl.tensor([0.5, 0.0, 0.5]), 3), RuntimeError,
     r"multinomial: cannot draw 3 samples without replacement from 2 categories"),
    (lambda: tl.bernoulli(tl.tensor([0.5, 1.5])), RuntimeError,
     r"bernoulli: probabilities must lie in \[0, 1\]"),
    (lambda: tl.normal(0.0, -1.0, (2,)), RuntimeError, r"normal: std must be >= 0"),
])
def test_errors_name_the_op_and_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


BACKEND_CASES = {
    "prod": lambda x: x.prod(1) + x.prod(),
    "cumsum_cumprod": lambda x: x.cumsum(0) * x.cumprod(-1),
    "logcumsumexp": lambda x: x.logcumsumexp(1),
    "norm": lambda x: x.norm(dim=1) + x.norm(1, dim=1),
    "sort_topk_median": lambda x: _tie_free_sorts(x + like(x, np.arange(16.0).reshape(4, 4) / 64)),
    "scatter_add_index_add": lambda x: x.scatter_add(
        1, like(x, [[0, 0, 3], [1, 1, 1], [2, 0, 2], [3, 3, 3]], True), x[:, :3] * 2
    ).index_add(0, like(x, [3, 3], True), x[:2]),
    "diag_tril_roll_repeat": lambda x: x.diagonal().diag().tril(1).roll(1, 0).repeat(1, 2),
    "einsum": lambda x: lib(x).einsum("ij,kj->ik", x, x.flip(0)),
}


def _tie_free_sorts(x):
    """sort, topk and median(dim) together (on rows without ties: PyTorch's topk and median
    pick any of the tied indices)."""
    return x.sort(1)[0][:, :2] + x.topk(2, 1)[0] - x.median(1)[0][:, None]


BACKEND_INPUT = [[1.5, 0.0, 2.0, -3.0], [0.0, 0.5, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0],
                 [1.0, -2.0, 0.5, 3.0]]


@needs_torch
@pytest.mark.parametrize("name", sorted(BACKEND_CASES))
def test_ops_run_on_both_backends_through_the_kernels(name, backend):
    if backend == "numba":
        tl.backend.active.small = 0  # NOTE: every elementwise step through a fused kernel
    assert_matches_torch(BACKEND_CASES[name], BACKEND_INPUT)


@needs_torch
def test_every_new_function_form_exists_in_torch_by_the_same_name():
    from tinygrad_lite.functions import METHODS

    new = ("prod cumsum cumprod logcumsumexp norm nansum nanmean count_nonzero diff median flip "
           "roll tile tril triu diag diagonal trace unbind movedim moveaxis swapaxes swapdims "
           "unflatten broadcast_to select take masked_select nonzero scatter scatter_add "
           "index_add sort argsort topk bmm addmm baddbmm inner").split()
    assert set(new) <= set(METHODS)
    assert [name for name in new if not hasattr(torch, name)] == []
    for name in ("einsum", "empty_like", "as_tensor", "normal", "bernoulli", "multinomial",
                 "meshgrid", "broadcast_tensors", "hstack", "vstack", "logspace", "randint_like",
                 "cdist"):
        assert callable(getattr(tl, name)) and hasattr(torch, name)


@needs_torch
def test_logspace_matches_torch():
    np.testing.assert_allclose(tl.logspace(-2, 3, 6).numpy(), torch.logspace(-2, 3, 6).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(tl.logspace(0, 4, 5, base=2).numpy(), [1, 2, 4, 8, 16])
    assert tl.logspace(0, 1, 3).dtype == tl.float32


def test_meshgrid_defaults_to_ij_and_accepts_a_list():
    a, b = tl.arange(3), tl.arange(4)
    gi, gj = tl.meshgrid([a, b])
    assert gi.shape == (3, 4) and gi.dtype == tl.int64
    np.testing.assert_array_equal(gj.numpy(), np.broadcast_to(np.arange(4), (3, 4)))


def test_as_tensor_shares_memory_and_empty_like_keeps_shape_and_dtype():
    arr = np.arange(4.0)
    t = tl.as_tensor(arr)
    arr[0] = 9.0
    assert t[0].item() == 9.0 and tl.as_tensor(t) is t
    assert tl.as_tensor([1, 2]).dtype == tl.int64
    assert tl.as_tensor(t, tl.float32).dtype == tl.float32
    e = tl.empty_like(tl.ones(2, 3, dtype=tl.int32))
    assert e.shape == (2, 3) and e.dtype == tl.int32


def test_random_functions_follow_manual_seed():
    def draw():
        tl.manual_seed(7)
        return [tl.normal(0.0, 1.0, (3,)), tl.bernoulli(tl.full((4,), 0.5)),
                tl.multinomial(tl.tensor([1.0, 2.0, 3.0]), 2),
                tl.randint_like(tl.zeros(3, dtype=tl.int32), 10), tl.randn(2)]

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_normal_broadcasts_tensor_mean_and_std_and_keeps_their_dtype():
    tl.manual_seed(0)
    mean = tl.tensor([[0.0], [100.0]], dtype=tl.float64)
    out = tl.normal(mean, tl.tensor([1e-3, 1e-3, 1e-3]))
    assert out.shape == (2, 3) and out.dtype == tl.float64
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(mean.numpy(), (2, 3)), atol=0.01)
    big = tl.normal(2.0, 3.0, size=(20000,))
    assert big.dtype == tl.float32 and abs(big.mean().item() - 2) < 0.1
    assert abs(big.std().item() - 3) < 0.1


def test_bernoulli_draws_ones_with_the_given_probabilities():
    tl.manual_seed(0)
    p = tl.tensor([0.0, 1.0, 0.25], dtype=tl.float64)
    draws = tl.bernoulli(p.expand(20000, 3))
    assert draws.dtype == tl.float64 and set(np.unique(draws.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(0).numpy(), [0.0, 1.0, 0.25], atol=0.02)


def test_multinomial_samples_rows_without_repeats_unless_replacement():
    tl.manual_seed(0)
    weights = tl.tensor([[0.0, 1.0, 1.0, 2.0], [5.0, 0.0, 0.0, 5.0]])
    once = tl.multinomial(weights, 2)
    assert once.shape == (2, 2) and once.dtype == tl.int64
    assert sorted(once[1].tolist()) == [0, 3]  # only two categories have weight
    assert len(set(once[0].tolist())) == 2 and 0 not in once[0].tolist()
    many = tl.multinomial(weights[0], 20000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(many, minlength=4) / 20000, [0, 0.25, 0.25, 0.5],
                               atol=0.02)


def test_randint_like_draws_in_range_with_the_input_dtype():
    tl.manual_seed(0)
    r = tl.randint_like(tl.zeros(1000, dtype=tl.int32), 3, 6)
    assert r.dtype == tl.int32 and set(np.unique(r.numpy())) == {3, 4, 5}
    assert tl.randint_like(tl.zeros(2, 2), 5).dtype == tl.float32
