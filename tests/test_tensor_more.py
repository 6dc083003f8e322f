"""More of PyTorch's surface: the in-place twins, selection and elementwise ops added late
(logit, xlogy, kthvalue, mode, unique, unfold, cross, kron, rot90, ...), the dtype utilities
(default dtype, finfo, promotion) and the stacking helpers. Differentiable ops go through
`check_op` (numpy forward, finite differences, PyTorch); the rest are compared with PyTorch.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _lib(x, values):
    """`values` as an int64 tensor of x's library (tinygrad_lite or torch)."""
    return tl.tensor(values) if isinstance(x, tl.Tensor) else torch.tensor(values)


def _np_dtype(t) -> np.dtype:
    """numpy's dtype for a torch tensor or dtype."""
    return np.dtype(str(getattr(t, "dtype", t)).replace("torch.", ""))


def _assert_like_torch(ours, theirs) -> None:
    """Same dtype and shape, and the same values (close for floats, equal otherwise)."""
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    assert ours.shape == expected.shape, (ours.shape, expected.shape)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6, equal_nan=True)


def _np_unfold(x, size, step):
    starts = range(0, x.shape[1] - size + 1, step)
    return np.stack([x[:, s:s + size] for s in starts], axis=1)


def _np_cross_rows(a, b):
    return np.cross(a, b, axis=1)


# name -> (input shapes, fn written once for both libraries, numpy forward or None, domain)
DIFFERENTIABLE = {
    "logit": ([(3, 4)], lambda x: x.logit(), lambda x: np.log(x / (1 - x)), (0.1, 0.9)),
    "logit_eps": ([(3, 4)], lambda x: x.logit(eps=0.25),
                  lambda x: np.log(np.clip(x, 0.25, 0.75) / (1 - np.clip(x, 0.25, 0.75))),
                  (0.05, 0.95)),
    "xlogy": ([(3, 4), (4,)], lambda x, y: x.xlogy(y), lambda x, y: x * np.log(y), (0.1, 2)),
    "copysign": ([(3, 4)], lambda x: x.copysign(_lib(x, [-1.0, 2.0, -0.0, 0.0])),
                 lambda x: np.copysign(x, [-1.0, 2.0, -0.0, 0.0]), (-2, 2)),
    "deg2rad": ([(3, 4)], lambda x: x.deg2rad(), np.deg2rad, (-200, 200)),
    "rad2deg": ([(3, 4)], lambda x: x.rad2deg(), np.rad2deg, (-3, 3)),
    "sinc": ([(3, 4)], lambda x: x.sinc(), np.sinc, (-2, 2)),
    "fmax": ([(3, 4), (4,)], lambda x, y: x.fmax(y), np.fmax, (-2, 2)),
    "fmin": ([(3, 1), (1, 4)], lambda x, y: x.fmin(y), np.fmin, (-2, 2)),
    "kthvalue": ([(3, 5)], lambda x: x.kthvalue(2, dim=1).values,
                 lambda x: np.sort(x, axis=1)[:, 1], (-2, 2)),
    "kthvalue_keepdim": ([(4, 3)], lambda x: x.kthvalue(3, 0, True)[0],
                         lambda x: np.sort(x, axis=0)[2:3], (-2, 2)),
    "mode_of_distinct_values_is_the_minimum": ([(3, 5)], lambda x: x.mode(1).values,
                                               lambda x: x.min(1), (-2, 2)),
    "aminmax_min": ([(3, 5)], lambda x: x.aminmax(dim=1).min, lambda x: x.min(1), (-2, 2)),
    "aminmax_max": ([(3, 5)], lambda x: x.aminmax(keepdim=True).max,
                    lambda x: x.max(keepdims=True), (-2, 2)),
    "cross": ([(4, 3), (4, 3)], lambda a, b: a.cross(b, dim=1), _np_cross_rows, (-2, 2)),
    "cross_broadcast": ([(2, 3, 2), (1, 3, 1)], lambda a, b: a.cross(b, dim=-2),
                        lambda a, b: np.cross(a, b, axis=-2), (-2, 2)),
    "kron": ([(2, 3), (3, 2)], lambda a, b: a.kron(b), np.kron, (-2, 2)),
    "kron_ranks_differ": ([(2, 2, 2), (3,)], lambda a, b: a.kron(b), np.kron, (-2, 2)),
    "dist": ([(3, 4), (4,)], lambda a, b: a.dist(b), lambda a, b: np.linalg.norm(a - b),
             (-2, 2)),
    "dist_p3": ([(3, 4), (3, 4)], lambda a, b: a.dist(b, p=3),
                lambda a, b: (np.abs(a - b) ** 3).sum() ** (1 / 3), (-2, 2)),
    "rot90": ([(2, 3, 4)], lambda x: x.rot90(1, [1, 2]),
              lambda x: np.rot90(x, 1, (1, 2)), (-2, 2)),
    "rot90_twice": ([(3, 4)], lambda x: x.rot90(2), lambda x: np.rot90(x, 2), (-2, 2)),
    "rot90_back": ([(3, 4)], lambda x: x.rot90(-1, (0, 1)), lambda x: np.rot90(x, -1),
                   (-2, 2)),
    "unfold_overlapping": ([(3, 7)], lambda x: x.unfold(1, 3, 2),
                           lambda x: _np_unfold(x, 3, 2), (-2, 2)),
    "unfold_dim0": ([(5, 2)], lambda x: x.unfold(0, 2, 3), None, (-2, 2)),
    "index_fill": ([(3, 4)], lambda x: x.index_fill(1, _lib(x, [3, 0]), -1.5),
                   lambda x: np.where(np.isin(np.arange(4), [3, 0]), -1.5, x), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_new_differentiable_op_matches_numpy_finite_differences_and_torch(name):
    shapes, fn, np_fn, (low, high) = DIFFERENTIABLE[name]
    check_op(shapes, fn, np_fn, low=low, high=high)


def _scatter_index(x):
    return _lib(x, [[1, 0, 3, 3], [2, 3, 0, 0], [0, 1, 2, 3]])  # repeats only past col 2


# in-place twins on a non-leaf (x * 1 or x + 3), so torch records them too
IN_PLACE = {
    "abs_": lambda x: (x * 1).abs_(),
    "neg_": lambda x: (x * 1).neg_(),
    "exp_": lambda x: (x * 1).exp_(),
    "log_": lambda x: (x + 3).log_(),
    "sqrt_": lambda x: (x + 3).sqrt_(),
    "sigmoid_": lambda x: (x * 1).sigmoid_(),
    "tanh_": lambda x: (x * 1).tanh_(),
    "relu_": lambda x: (x * 1).relu_(),
    "pow_": lambda x: (x * 1).pow_(3),
    "sign_": lambda x: (x * 1).sign_() * x,
    "reciprocal_": lambda x: (x + 3).reciprocal_(),
    "square_": lambda x: (x * 1).square_(),
    "clip_": lambda x: (x * 1).clip_(-0.5, 0.5),
    "masked_fill_": lambda x: (x * 1).masked_fill_(x > 0.5, 0.25),
    "scatter_": lambda x: (x * 1).scatter_(1, _scatter_index(x)[:, :2], x[:, 2:] * 2),
    "scatter_add_": lambda x: (x * 1).scatter_add_(1, _scatter_index(x), x * 3),
    "index_add_": lambda x: (x * 1).index_add_(0, _lib(x, [2, 2]), x[:2] * x[1:], alpha=2),
    "index_fill_": lambda x: (x * 1).index_fill_(0, _lib(x, [1]), 7.0),
    "fill_diagonal_": lambda x: (x * 1).fill_diagonal_(0.5),
    "logit_": lambda x: (x * 0.2 + 0.5).logit_(),
    "copysign_": lambda x: (x * 1).copysign_(-1.0),
    "sinc_": lambda x: (x * 1).sinc_(),
    "t_": lambda x: (x * 1).t_(),
    "transpose_": lambda x: (x * 1).transpose_(0, 1),
    "unsqueeze_": lambda x: (x * 1).unsqueeze_(1),
    "squeeze_": lambda x: (x[:1] * 1).squeeze_(0),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_twin_on_a_non_leaf_gives_torchs_values_and_gradients(name):
    check_op([(3, 4)], IN_PLACE[name])


def test_fill_diagonal_wraps_a_tall_matrix_like_torch_and_numpy():
    ours = tl.zeros(7, 3).fill_diagonal_(5.0, wrap=True)
    theirs = torch.zeros(7, 3).fill_diagonal_(5.0, wrap=True)
    _assert_like_torch(ours, theirs)
    _assert_like_torch(tl.zeros(3, 3, 3).fill_diagonal_(2), torch.zeros(3, 3, 3).fill_diagonal_(2))
    _assert_like_torch(tl.zeros(7, 3).fill_diagonal_(1), torch.zeros(7, 3).fill_diagonal_(1))


@pytest.mark.parametrize("name, args", [("exp_", ()), ("neg_", ()), ("pow_", (2,)),
                                        ("masked_fill_", ("mask", 9.0)), ("index_fill_",
                                                                          (0, [1], 4.0))])
def test_in_place_twin_changes_the_tensor_itself_and_keeps_its_dtype(name, args):
    data = np.array([[0.5, -1.0], [2.0, 3.0]])
    for dtype in (tl.float32, tl.float64):
        x, t = tl.tensor(data, dtype=dtype), torch.tensor(data, dtype=getattr(torch, dtype.name))
        ours_args = [x > 1 if a == "mask" else tl.tensor(a) if isinstance(a, list) else a
                     for a in args]
        theirs_args = [t > 1 if a == "mask" else torch.tensor(a) if isinstance(a, list) else a
                       for a in args]
        view = x[0]  # shares memory: an in-place op without grad mode writes through it
        assert getattr(x, name)(*ours_args) is x
        _assert_like_torch(x, getattr(t, name)(*theirs_args))
        np.testing.assert_array_equal(view.numpy(), x[0].numpy())


def test_in_place_twin_refuses_a_result_of_another_kind_naming_the_op():
    n = tl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="exp_: the result is float32"):
        n.exp_()
    n.neg_().abs_().pow_(2)  # integer results stay integers, as in torch
    assert n.dtype == tl.int64 and n.tolist() == [1, 4, 9]


def test_in_place_view_ops_keep_earlier_users_gradients_like_torch():
    data = np.arange(6.0).reshape(2, 3) / 4
    results = []
    for lib in (tl, torch):
        x = lib.tensor(data, requires_grad=True)
        h = x * 2
        y = (h + 1).exp()  # used h before the view ops changed its shape
        h.t_()
        h.unsqueeze_(0)
        (y.sum() + (h * lib.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1)).sum()).backward()
        results.append((tuple(h.shape), x.grad.numpy()))
    assert results[0][0] == results[1][0] == (1, 3, 2)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


def test_detach_in_place_cuts_the_tensor_but_not_earlier_users():
    for lib in (tl, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        y = h.exp() + h
        assert h.detach_() is h
        assert not h.requires_grad and h.grad_fn is None and h.is_leaf
        (y.sum() + (h * x).sum()).backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([2.0, 4.0]) + 2 + [2.0, 4.0],
                                   rtol=1e-6)
        assert (h * 3).grad_fn is None


def test_view_ops_and_detach_in_place_keep_a_saved_value_usable():
    # NOTE: torch refuses both (it counts them as writes); the values are unchanged, so here
    # the earlier node still gets its (right) gradient
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h * h  # saves h
    h.unsqueeze_(0).detach_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_in_place_view_op_on_a_leaf_that_requires_grad_is_refused():
    w = tl.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="t_: a leaf tensor that requires grad"):
        w.t_()
    with tl.no_grad():
        assert w.t_().shape == (3, 2)


def test_float_power_computes_in_float64_with_torchs_gradients():
    base = np.array([0.5, 1.5, 2.0, 3.0], np.float32)
    x, t = tl.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
    ours, theirs = x.float_power(2.5), t.float_power(2.5)
    _assert_like_torch(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert x.grad.dtype == tl.float32
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    n, tn = tl.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    _assert_like_torch(tl.float_power(n, n), torch.float_power(tn, tn))


def test_xlogy_is_zero_where_x_is_zero_and_nan_where_y_is_nan_like_torch():
    xs = [0.0, 0.0, 0.0, 0.0, 2.0, 1.0, -1.0]
    ys = [0.0, np.nan, 3.0, -1.0, 0.5, np.inf, 0.0]
    x, y = tl.tensor(xs, requires_grad=True), tl.tensor(ys, requires_grad=True)
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    ours, theirs = x.xlogy(y), tx.xlogy(ty)
    _assert_like_torch(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), equal_nan=True)
    # NOTE: at x = y = 0 torch's d/dy is 0/0 = nan; here it is 0
    np.testing.assert_allclose(y.grad.numpy()[1:], ty.grad.numpy()[1:], equal_nan=True)


def test_fmax_and_fmin_ignore_nan_and_send_ties_to_self_like_torch():
    a = [1.0, np.nan, np.nan, 2.0, 3.0]
    b = [np.nan, 4.0, np.nan, 2.0, -1.0]
    for name in ("fmax", "fmin"):
        x, y = tl.tensor(a, requires_grad=True), tl.tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ours, theirs = getattr(x, name)(y), getattr(tx, name)(ty)
        _assert_like_torch(ours, theirs)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
        np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


def test_sinc_is_one_with_zero_gradient_at_zero_like_torch():
    x, t = tl.tensor([0.0, 0.5], requires_grad=True), torch.tensor([0.0, 0.5],
                                                                    requires_grad=True)
    _assert_like_torch(x.sinc(), t.sinc())
    x.sinc().sum().backward()
    t.sinc().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    assert x.grad.numpy()[0] == 0


# --- no gradient: compared with torch (values and dtypes) ------------------------------------
MIXED = np.array([[3.0, -0.0, 1.0, 3.0, -2.5], [4.0, 4.0, 0.0, 1.0, 1.0]], np.float32)


NO_GRADIENT = {
    "signbit": lambda x: x.signbit(),
    "heaviside": lambda x: x.heaviside(_lib(x, [0.5]).to(x.dtype)),
    "heaviside_int": lambda x: x.long().heaviside(_lib(x, [7])),
    "argwhere": lambda x: x.argwhere(),
    "mode_indices_last_of_smallest_most_frequent": lambda x: x.mode(1).indices,
    "mode_keepdim": lambda x: x.mode(0, keepdim=True).values,
    "mode_values": lambda x: x.mode(1).values,
    "kthvalue_indices": lambda x: x.kthvalue(1, 1).indices,
    "kthvalue_int": lambda x: x.long().kthvalue(5, 1).values,
    "unique": lambda x: x.unique(),
    "unique_counts": lambda x: x.long().unique(return_counts=True)[1],
    "unique_inverse": lambda x: x.unique(return_inverse=True)[1],
    "unique_dim_inverse": lambda x: x.unique(dim=1, return_inverse=True)[1],
    "unique_dim_rows": lambda x: x.unique(dim=0),
    "deg2rad_int": lambda x: x.int().deg2rad(),
    "copysign_int": lambda x: x.long().copysign(-1),
    "logit_int": lambda x: x.long().logit(),
    "rot90_int": lambda x: x.long().rot90(1, (1, 0)),
    "kron_int": lambda x: x.long().kron(x.long()[:1]),
    "index_fill_int": lambda x: x.int().index_fill(0, _lib(x, [0]), 9),
    "unfold_bool": lambda x: x.bool().unfold(1, 2, 1),
}


@pytest.mark.parametrize("name", sorted(NO_GRADIENT))
def test_op_without_gradient_matches_torch_in_values_and_dtype(name):
    call = NO_GRADIENT[name]
    ours, theirs = call(tl.tensor(MIXED)), call(torch.tensor(MIXED))
    _assert_like_torch(ours, theirs)


def test_unique_returns_sorted_values_inverse_and_counts_like_numpy():
    x = tl.tensor([[2, 7, 2], [7, 1, 2]])
    values, inverse, counts = x.unique(return_inverse=True, return_counts=True)
    np_values, np_inverse, np_counts = np.unique(x.numpy(), return_inverse=True,
                                                 return_counts=True)
    assert values.tolist() == np_values.tolist() == [1, 2, 7]
    assert inverse.shape == x.shape and inverse.dtype == counts.dtype == tl.int64
    assert inverse.reshape(-1).tolist() == np_inverse.reshape(-1).tolist()
    assert counts.tolist() == np_counts.tolist() == [1, 3, 2]
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], x.numpy())


def test_function_forms_of_the_new_methods_exist_in_torch_and_agree():
    x, t = tl.tensor(MIXED), torch.tensor(MIXED)
    for name, args in (("signbit", ()), ("is_floating_point", ()), ("is_complex", ()),
                       ("aminmax", ()), ("kthvalue", (2,)), ("mode", ()), ("unique", ()),
                       ("rot90", ()), ("argwhere", ()), ("sinc", ()), ("fmax", ("flip",)),
                       ("dist", ("flip",)), ("deg2rad", ()), ("rad2deg", ())):
        ours = getattr(tl, name)(x, *(x.flip(0) if a == "flip" else a for a in args))
        theirs = getattr(torch, name)(t, *(t.flip(0) if a == "flip" else a for a in args))
        for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (ours, theirs))):
            if isinstance(a, bool):
                assert a is b
            else:
                _assert_like_torch(a, b)


def test_aminmax_is_a_named_min_max_pair():
    x = tl.tensor([[1.0, 5.0], [-2.0, 3.0]])
    pair = x.aminmax(dim=0)
    assert pair.min.tolist() == [-2.0, 3.0] and pair.max.tolist() == [1.0, 5.0]
    low, high = x.aminmax()
    assert (low.item(), high.item()) == (-2.0, 5.0)


def test_tensor_attributes_match_torch():
    for dtype in ("float32", "float64", "int64", "int32", "bool", "float16", "uint8"):
        x, t = tl.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
        assert x.is_floating_point() is t.is_floating_point()
        assert x.itemsize == t.itemsize
        assert tl.is_floating_point(x) is torch.is_floating_point(t)
        assert x.is_complex() is t.is_complex() is False
    x = tl.ones(2, 3, dtype=tl.float64)
    made = x.new_empty(4, 5)
    assert made.shape == (4, 5) and made.dtype == tl.float64
    assert x.new_empty((2,), dtype=tl.int32).dtype == tl.int32


def test_data_ptr_compares_views_as_torch_does():
    x, t = tl.arange(12.0).reshape(3, 4), torch.arange(12.0).reshape(3, 4)
    for view in (lambda a: a[1], lambda a: a[:, 2], lambda a: a.T, lambda a: a[0]):
        assert view(x).data_ptr() - x.data_ptr() == view(t).data_ptr() - t.data_ptr()
    assert x.clone().data_ptr() != x.data_ptr()


def test_contains_tests_elements_like_torch():
    x, t = tl.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])
    for value in (3, 5, 2.0, tl.tensor(4)):
        expected = (torch.tensor(value.item()) if isinstance(value, tl.Tensor) else value) in t
        assert (value in x) is expected
    with pytest.raises(RuntimeError, match="contains: only a tensor or a number"):
        "a" in x  # noqa: B015


def test_searchsorted_and_bucketize_match_torch():
    seq = np.array([1.0, 3.0, 3.0, 5.0, 9.0])
    vals = np.array([[0.0, 3.0, 6.0], [9.0, 10.0, 3.5]])
    s, v = tl.tensor(seq), tl.tensor(vals)
    ts, tv = torch.tensor(seq), torch.tensor(vals)
    for kw in ({}, {"right": True}, {"side": "right"}, {"out_int32": True}):
        _assert_like_torch(tl.searchsorted(s, v, **kw), torch.searchsorted(ts, tv, **kw))
    rows = np.sort(np.random.default_rng(0).uniform(0, 5, (2, 6)), axis=1)
    _assert_like_torch(tl.searchsorted(tl.tensor(rows), v, right=True),
                       torch.searchsorted(torch.tensor(rows), tv, right=True))
    _assert_like_torch(tl.searchsorted(s, 4.0), torch.searchsorted(ts, torch.tensor(4.0)))
    for right in (False, True):
        _assert_like_torch(tl.bucketize(v, s, right=right),
                           torch.bucketize(tv, ts, right=right))
    assert np.array_equal(tl.bucketize(v, s).numpy(), np.searchsorted(seq, vals))


# --- module-level utilities ----------------------------------------------------------------
def test_stacking_helpers_match_torch():
    a, b = np.arange(3.0), np.arange(3.0, 6.0)
    m = np.arange(6.0).reshape(3, 2)
    x, y, z = tl.tensor(a), tl.tensor(b), tl.tensor(m)
    tx, ty, tz = torch.tensor(a), torch.tensor(b), torch.tensor(m)
    _assert_like_torch(tl.concatenate([x, y]), torch.concatenate([tx, ty]))
    _assert_like_torch(tl.dstack([x, y]), torch.dstack([tx, ty]))
    _assert_like_torch(tl.dstack([z, z]), torch.dstack([tz, tz]))
    _assert_like_torch(tl.column_stack([x, z, y]), torch.column_stack([tx, tz, ty]))
    for ndim in (1, 2, 3):
        name = f"atleast_{ndim}d"
        for data in (np.float64(2.0), a, m, m[None]):
            _assert_like_torch(getattr(tl, name)(tl.tensor(data)),
                               getattr(torch, name)(torch.tensor(data)))
        ours, theirs = getattr(tl, name)(x, z), getattr(torch, name)(tx, tz)
        assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]


def test_stacking_helpers_pass_gradients_back():
    check_op([(3,), (3, 2)], lambda a, b: tl.column_stack([a, b]) * 2,
             lambda a, b: np.column_stack([a, b]) * 2,
             torch_fn=lambda a, b: torch.column_stack([a, b]) * 2)
    check_op([(2, 3)], lambda a: tl.dstack([a, a.exp()]),
             lambda a: np.dstack([a, np.exp(a)]),
             torch_fn=lambda a: torch.dstack([a, a.exp()]))


def test_broadcast_shapes_matches_torch_and_names_the_op():
    for shapes in [((3, 1), (4,)), ((2, 1, 4), (3, 1), ()), (5, (1,))]:
        assert tl.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(tl.broadcast_shapes((2,), (2,)), tl.Size)
    with pytest.raises(RuntimeError, match=r"broadcast_shapes: shapes \[\(3,\), \(4,\)\]"):
        tl.broadcast_shapes((3,), (4,))


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_promote_types_and_can_cast_follow_torch_for_every_pair():
    for a in DTYPES:
        for b in DTYPES:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert tl.promote_types(a, b) == _np_dtype(torch.promote_types(ta, tb)), (a, b)
            assert tl.can_cast(getattr(tl, a if a != "bool" else "bool_"), b) is \
                torch.can_cast(ta, tb), (a, b)


@pytest.mark.parametrize("first, second", [
    ((3,), 1.5), ((3,), 2), ((3,), True), ((), 2.0), ((2,), ()), ((), ()), (1, 2.5), (1, 2),
])
def test_result_type_follows_torch_for_tensors_and_numbers(first, second):
    for a in ("bool", "uint8", "int32", "int64", "float16", "float32", "float64"):
        for b in ("int16", "float64", "bool"):
            def make(spec, dtype, lib):
                if not isinstance(spec, tuple):
                    return spec
                return lib.zeros(spec, dtype=getattr(lib, dtype if lib is torch or dtype != "bool"
                                                     else "bool_"))
            ours = tl.result_type(make(first, a, tl), make(second, b, tl))
            theirs = torch.result_type(make(first, a, torch), make(second, b, torch))
            assert ours == _np_dtype(theirs), (first, a, second, b)


def test_finfo_and_iinfo_have_torchs_attributes_and_values():
    for name in ("float16", "float32", "float64"):
        ours, theirs = tl.finfo(getattr(tl, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        ours, theirs = tl.iinfo(getattr(tl, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.max, ours.min) == (theirs.bits, theirs.max, theirs.min)
    assert tl.finfo().bits == 32
    with pytest.raises(TypeError, match="finfo: needs a floating point dtype, got int64"):
        tl.finfo(tl.int64)
    with pytest.raises(TypeError, match="iinfo: needs an integer dtype, got float32"):
        tl.iinfo(tl.float32)


def test_dtype_aliases_size_and_device_match_torchs_names():
    pairs = {"half": "float16", "int": "int32", "short": "int16", "float": "float32",
             "double": "float64", "long": "int64", "uint8": "uint8", "int8": "int8"}
    for alias, name in pairs.items():
        assert getattr(tl, alias) == np.dtype(name) == _np_dtype(getattr(torch, alias))
    assert tl.Size([2, 3]) == (2, 3) == torch.Size([2, 3])
    assert isinstance(tl.zeros(2, 3).shape, tl.Size)
    device = tl.device("cpu")
    assert device == "cpu" == tl.zeros(1).device and device.type == "cpu"
    assert tl.zeros(2).to(device).shape == (2,)
    cuda = tl.device("cuda:1")  # NOTE: named without a GPU, as in PyTorch; not usable
    assert (cuda.type, cuda.index, tl.device("cuda").index) == ("cuda", 1, None)
    with pytest.raises(RuntimeError, match="only the 'cpu' device is available, got 'cuda:1'"):
        tl.zeros(2).to(cuda)


@pytest.fixture
def float64_default():
    """Switch the default float dtype to float64 for one test, and always back."""
    before = tl.get_default_dtype()
    tl.set_default_dtype(tl.float64)
    try:
        yield
    finally:
        tl.set_default_dtype(before)


def test_default_dtype_switch_reaches_every_float_constructor(float64_default):
    assert tl.get_default_dtype() == tl.float64
    made = [tl.tensor([1.5]), tl.zeros(2), tl.ones(2), tl.empty(2), tl.rand(2), tl.randn(2),
            tl.full((2,), 1.5), tl.arange(0.0, 1.0, 0.5), tl.linspace(0, 1, 3), tl.eye(2),
            tl.logspace(0, 1, 3), tl.tensor([1, 2]).exp(), tl.tensor([1, 2]) / 2,
            tl.tensor([1, 2]) * 0.5, tl.nn.Linear(2, 3).weight, tl.zeros(2).new_empty(1)]
    assert [t.dtype for t in made] == [tl.float64] * len(made)
    assert tl.finfo().bits == 64
    assert tl.result_type(1, 2.0) == tl.float64
    assert tl.tensor([1.0], dtype=tl.float32).dtype == tl.float32  # an explicit dtype wins


def test_default_dtype_fixture_restored_float32_and_refuses_other_dtypes():
    assert tl.get_default_dtype() == tl.float32 and tl.zeros(1).dtype == tl.float32
    assert tl.nn.Linear(2, 2).weight.dtype == tl.float32
    for bad in (tl.int64, tl.float16):
        with pytest.raises(TypeError, match="set_default_dtype: only float32 and float64"):
            tl.set_default_dtype(bad)
    assert tl.get_default_dtype() == tl.float32


# --- random in-place fills ------------------------------------------------------------------
def test_random_fills_keep_dtype_draw_the_right_distribution_and_reproduce():
    tl.manual_seed(0)
    b = tl.zeros(4000, dtype=tl.float64).bernoulli_(0.3)
    assert b.dtype == tl.float64 and set(np.unique(b.numpy())) == {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.05
    rows = tl.zeros(2, 2000).bernoulli_(tl.tensor([[0.0], [1.0]]))
    assert rows.sum(1).tolist() == [0.0, 2000.0]
    e = tl.empty(4000).exponential_(4.0)
    assert e.numpy().min() >= 0 and abs(e.mean().item() - 0.25) < 0.03
    r = tl.zeros(1000, dtype=tl.int32).random_(3, 7)
    assert r.dtype == tl.int32 and set(r.tolist()) == {3, 4, 5, 6}
    assert set(tl.zeros(500).random_(3).tolist()) == {0.0, 1.0, 2.0}
    wide = tl.zeros(1000).random_()
    assert wide.numpy().max() <= 2 ** 24 and wide.numpy().max() > 2 ** 20
    assert set(tl.zeros(200, dtype=tl.bool_).random_().tolist()) == {False, True}
    tl.manual_seed(5)
    first = tl.zeros(6).exponential_().tolist()
    tl.manual_seed(5)
    assert tl.zeros(6).exponential_().tolist() == first


# --- errors name the op ---------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: tl.zeros(3, 4).kthvalue(5), RuntimeError,
     r"kthvalue: k=5 is out of range for dim -1 of size 4 \(tensor of shape \(3, 4\)\)"),
    (lambda: tl.zeros(3, 0).mode(1), RuntimeError, r"mode: dim 1 .* \(3, 0\) is empty"),
    (lambda: tl.zeros(3, 4).unfold(1, 5, 1), RuntimeError,
     r"unfold: size 5 must lie in \[0, 4\] .*\(3, 4\)"),
    (lambda: tl.zeros(3, 4).unfold(1, 2, 0), RuntimeError, "unfold: .*step 0 be >= 1"),
    (lambda: tl.zeros(2, 4).cross(tl.zeros(2, 4)), RuntimeError,
     r"cross: needs a dim of size 3 .*\(2, 4\) and \(2, 4\)"),
    (lambda: tl.zeros(3, 4).rot90(1, (1, -1)), RuntimeError, "rot90: dims .* the same dim"),
    (lambda: tl.zeros(3).rot90(), RuntimeError, r"rot90: .*shape \(3,\)"),
    (lambda: tl.zeros(3).fill_diagonal_(1), RuntimeError, r"fill_diagonal_: .*\(3,\)"),
    (lambda: tl.zeros(3, 4).index_fill(1, tl.tensor([4]), 1.0), IndexError,
     r"index_fill: index out of range for dim 1 of size 4 \(tensor of shape \(3, 4\)\)"),
    (lambda: tl.zeros(3, 4).index_fill(1, tl.tensor([0]), tl.zeros(2)), RuntimeError,
     r"index_fill: value must be a number or a 0-d tensor, got shape \(2,\)"),
    (lambda: tl.searchsorted(tl.zeros(2, 3), tl.zeros(3, 1)), RuntimeError,
     r"searchsorted: the sequence \(2, 3\) and the values \(3, 1\)"),
    (lambda: tl.searchsorted(tl.zeros(3), tl.zeros(1), right=True, side="left"),
     RuntimeError, "searchsorted: side must be"),
    (lambda: tl.bucketize(tl.zeros(3), tl.zeros(2, 2)), RuntimeError,
     r"bucketize: boundaries must be 1-D, got shape \(2, 2\)"),
    (lambda: tl.zeros(2).bernoulli_(1.5), RuntimeError, "bernoulli_: p must lie in"),
    (lambda: tl.zeros(2).exponential_(0), RuntimeError, "exponential_: lambd must be > 0"),
    (lambda: tl.zeros(2).random_(5, 5), RuntimeError, r"random_: from \(5\) must be less"),
    (lambda: tl.zeros(2).heaviside(tl.zeros(3)), RuntimeError,
     r"heaviside: shapes \(2,\) and \(3,\) do not broadcast"),
    (lambda: tl.zeros(2, 3).squeeze_(0).t_().unsqueeze_(5), IndexError, "unsqueeze: dim 5"),
])
def test_new_op_errors_name_the_op_and_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()
