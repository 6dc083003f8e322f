"""Every differentiable op through the one helper: numpy forward, finite differences, PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import check_op

import tinygrad_lite as tl

UNARY_SHAPES = [(), (1,), (5,), (3, 4), (2, 3, 4)]
BINARY_SHAPES = [((), ()), ((1,), (1,)), ((3,), (3,)), ((3, 1), (1, 4)), ((4,), (3, 4)),
                 ((3, 4), ()), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name, fn, np_fn", [
    ("add", lambda x, y: x + y, np.add),
    ("sub", lambda x, y: x - y, np.subtract),
    ("mul", lambda x, y: x * y, np.multiply),
    ("maximum", lambda x, y: x.maximum(y), np.maximum),
    ("minimum", lambda x, y: x.minimum(y), np.minimum),
])
def test_binary_op_matches_numpy_fd_and_torch(name, fn, np_fn, shapes):
    check_op(shapes, fn, np_fn)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_div_matches_numpy_fd_and_torch(shapes):
    check_op(shapes, lambda x, y: x / (y * y + 0.5), lambda x, y: x / (y * y + 0.5))


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_pow_with_tensor_exponent(shapes):
    check_op(shapes, lambda x, y: x ** y, np.power, low=0.5, high=2.0)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 0])
def test_pow_with_scalar_exponent(exponent):
    check_op([(3, 4)], lambda x: x ** exponent, lambda x: x ** exponent, low=0.5, high=2.0)


def test_reflected_scalar_ops():
    check_op([(3, 4)], lambda x: 2.0 - x + 3 * x / 1.5 - 1 / (x * x + 1) + 2 ** x,
             lambda x: 2.0 - x + 3 * x / 1.5 - 1 / (x * x + 1) + 2 ** x)


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name, fn, np_fn, low, high", [
    ("neg", lambda x: -x, np.negative, -2, 2),
    ("exp", lambda x: x.exp(), np.exp, -2, 2),
    ("log", lambda x: x.log(), np.log, 0.1, 3),
    ("sqrt", lambda x: x.sqrt(), np.sqrt, 0.1, 3),
    ("abs", lambda x: x.abs(), np.abs, -2, 2),
    ("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), -2, 2),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), -4, 4),
    ("tanh", lambda x: x.tanh(), np.tanh, -3, 3),
    ("clamp", lambda x: x.clamp(-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), -2, 2),
    ("clamp_min", lambda x: x.clamp(min=0.1), lambda x: np.maximum(x, 0.1), -2, 2),
    ("square", lambda x: x.square(), np.square, -2, 2),
])
def test_unary_op_matches_numpy_fd_and_torch(name, fn, np_fn, low, high, shape):
    check_op([shape], fn, np_fn, low=low, high=high)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                    ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                                    ((2, 3), (4, 3, 2)), ((2, 1, 2, 3), (3, 3, 2)),
                                    ((4,), (2, 4, 3))], ids=str)
def test_matmul_numpy_rules(shapes):
    check_op(shapes, lambda x, y: x @ y, np.matmul)


def test_where_routes_gradients():
    cond = np.random.default_rng(3).random((3, 4)) > 0.5
    check_op([(3, 4), (4,)], lambda x, y: tl.where(tl.tensor(cond), x, y),
             lambda x, y: np.where(cond, x, y),
             torch_fn=lambda x, y: __import__("torch").where(
                 __import__("torch").tensor(cond), x, y))


REDUCTION_DIMS = [None, 0, 1, -1, (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", REDUCTION_DIMS, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
def test_reductions_over_any_dims(name, dim, keepdim):
    np_dim = dim if dim is None or isinstance(dim, int) else tuple(dim)

    def fn(x):
        if name == "logsumexp":
            return x.logsumexp(dim if dim is not None else (0, 1, 2), keepdim=keepdim)
        if dim is None and not keepdim:
            return getattr(x, name)()
        if dim is None:
            return getattr(x, name)((0, 1, 2), keepdim=True)
        return getattr(x, name)(dim, keepdim=keepdim)

    def np_fn(x):
        ax = np_dim if np_dim is not None else (None if not keepdim else (0, 1, 2))
        if name in ("var", "std"):
            return getattr(np, name)(x, axis=ax, keepdims=keepdim, ddof=1)
        if name == "logsumexp":
            ax = ax if ax is not None else (0, 1, 2)
            m = np.max(x, axis=ax, keepdims=True)
            out = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
            return out if keepdim else np.squeeze(out, axis=ax)
        return getattr(np, name)(x, axis=ax, keepdims=keepdim)

    check_op([(2, 3, 4)], fn, np_fn)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_and_min_with_dim_return_values_and_indices(dim):
    x = tl.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]], requires_grad=True)
    values, indices = x.max(dim)
    expected = np.max(x.numpy(), axis=dim)
    np.testing.assert_array_equal(values.numpy(), expected)
    np.testing.assert_array_equal(indices.numpy(), np.argmax(x.numpy(), axis=dim))
    assert indices.dtype == tl.int64 and not indices.requires_grad
    values.sum().backward()
    assert x.grad.numpy().sum() == values.numel()  # one unit per picked element
    check_op([(3, 4)], lambda t: t.max(dim)[0] + t.min(dim).values,
             lambda t: t.max(axis=dim) + t.min(axis=dim))


def test_amax_splits_gradient_between_ties_like_torch():
    x = tl.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.amax().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5])


@pytest.mark.parametrize("size", [4, 2048])  # the small path (np.where) and the multiply
def test_relu_gradient_at_nan_zero_negative_and_inf_upstream_is_pytorchs(backend, size):
    """PyTorch passes the gradient of a nan input, cuts it at 0 and below (even an inf one)."""
    values = np.resize(np.array([np.nan, -1.0, 0.0, 2.0], np.float32), size)
    upstream = np.resize(np.array([1.0, np.inf, np.inf, 3.0], np.float32), size)
    x = tl.tensor(values, requires_grad=True)
    with np.errstate(all="raise"):
        x.relu().backward(tl.tensor(upstream))
    np.testing.assert_array_equal(x.grad.numpy(), np.resize([1.0, 0.0, 0.0, 3.0], size))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, dim):
    def np_fn(x):
        m = x.max(axis=dim, keepdims=True)
        lse = np.log(np.exp(x - m).sum(axis=dim, keepdims=True)) + m
        return np.exp(x - lse) if name == "softmax" else x - lse

    check_op([(3, 5)], lambda x: getattr(x, name)(dim), np_fn)


@pytest.mark.parametrize("name, fn, np_fn", [
    ("reshape", lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    ("reshape_infer", lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3)),
    ("view", lambda x: x.view(2, 12), lambda x: x.reshape(2, 12)),
    ("flatten", lambda x: x.flatten(1), lambda x: x.reshape(2, 12)),
    ("flatten_all", lambda x: x.flatten(), lambda x: x.reshape(-1)),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None]),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0), lambda x: x),
    ("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(2, 1, 0)),
    ("permute", lambda x: x.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0)),
    ("T", lambda x: x.T, lambda x: x.T),  # reverses every dim, as numpy does
    ("expand", lambda x: x[:, :1].expand(2, 5, 4), lambda x: np.broadcast_to(x[:, :1],
                                                                               (2, 5, 4))),
    ("expand_keep", lambda x: x.unsqueeze(0).expand(3, -1, -1, -1),
     lambda x: np.broadcast_to(x, (3, 2, 3, 4))),
])
def test_movement_ops(name, fn, np_fn):
    check_op([(2, 3, 4)], fn, np_fn)


@pytest.mark.parametrize("name, index", [
    ("int", 1), ("negative_int", -1), ("slice", slice(1, None)), ("step", slice(None, None, 2)),
    ("tuple", (0, slice(1, 3))), ("none", (None, 1)), ("ellipsis", (Ellipsis, 2)),
    ("int_array", [0, 2, 0]), ("int_array_pair", ([0, 1, 1], [2, 0, 2])),
])
def test_indexing_matches_numpy_and_accumulates_repeats(name, index):
    check_op([(3, 4)], lambda x: x[index], lambda x: x[index])


def test_indexing_with_tensor_index_and_bool_mask():
    mask = np.array([[True, False, True, False]] * 3)
    idx = tl.tensor([2, 2, 1])
    x = tl.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(x[tl.tensor(mask)].numpy(), x.numpy()[mask])
    (x[idx].sum() + x[tl.tensor(mask)].sum()).backward()
    expected = np.zeros((3, 4))
    expected[2] += 2
    expected[1] += 1
    expected += mask
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    check_op([(2, 3), (2, 3), (2, 3)], lambda a, b, c: tl.cat([a, b, c], dim),
             lambda a, b, c: np.concatenate([a, b, c], axis=dim),
             torch_fn=lambda a, b, c: __import__("torch").cat([a, b, c], dim))
    check_op([(2, 3), (2, 3)], lambda a, b: tl.stack([a, b], dim),
             lambda a, b: np.stack([a, b], axis=dim),
             torch_fn=lambda a, b: __import__("torch").stack([a, b], dim))


def test_cat_of_different_sizes_along_dim():
    check_op([(2, 3), (4, 3)], lambda a, b: tl.cat([a, b]), lambda a, b: np.concatenate([a, b]),
             torch_fn=lambda a, b: __import__("torch").cat([a, b]))


def test_composite_expression_through_every_kind_of_op():
    def fn(x, w, b):
        h = (x @ w + b).relu()
        return h.softmax(-1).log().mean(0) + h.tanh().sum(1, keepdim=True).T[:, :1].sigmoid()

    check_op([(4, 3), (3, 5), (5,)], fn)


def test_comparisons_are_bool_and_record_nothing():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out, expected in [(x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]),
                          (x <= 2, [1, 1, 0]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1])]:
        assert out.dtype == tl.bool and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), np.array(expected, dtype=bool))
    assert x.argmax().item() == 2 and x.argmin().item() == 0
    assert x.argmax().dtype == tl.int64


def test_clone_is_differentiable_and_copies():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(y.numpy(), x.numpy())
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])


def test_augmented_assignments_write_the_tensor_in_place():
    """`x //= 2` and the other augmented operators keep x (and its views) the same tensor."""
    x = tl.tensor([5, 6, 7])
    view = x[1:]
    for op, expected in [("//=", [2, 3, 3]), ("%=", [0, 1, 1]), ("|=", [2, 3, 3]),
                         ("<<=", [8, 12, 12]), (">>=", [4, 6, 6]), ("^=", [5, 7, 7]),
                         ("&=", [4, 6, 6])]:
        before = x
        x = _augmented(x, op, {"//=": 2, "%=": 2, "|=": 2, "<<=": 2, ">>=": 1, "^=": 1,
                               "&=": 6}[op])
        assert x is before and x.tolist() == expected, op
    assert view.tolist() == [6, 6]
    y = tl.tensor([1.5, 2.0])
    z = _augmented(y, "**=", 2)
    assert z is y and y.tolist() == [2.25, 4.0]


def _augmented(x, op, value):
    namespace = {"x": x}
    exec(f"x {op} {value}", namespace)  # noqa: S102  (the statement itself is under test)
    return namespace["x"]


def test_0d_tensors_and_empty_reductions_without_torch():
    """PyTorch's answers, written out: a 0-d tensor is read as shape (1,) by the index ops,
    logsumexp of no terms is -inf and the median of nothing NaN."""
    x = tl.tensor(2.0, requires_grad=True)
    out = x.scatter_reduce(0, tl.tensor(0), tl.tensor(5.0), "sum")
    out.backward()
    assert out.shape == () and out.item() == 7.0 and x.grad.item() == 1.0
    assert x.index_add(0, tl.tensor(0), tl.tensor(3.0)).item() == 5.0
    assert tl.zeros(0, 3).logsumexp(0).tolist() == [-np.inf] * 3
    assert np.isnan(tl.zeros(0).median().item())
    assert tl.zeros(0, 3).median(1).values.shape == (0,)
    assert tl.zeros(0, 2, 3).flatten(1).shape == (0, 6)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.0, 0.5, -1.0])
def test_norm_of_a_vector_with_a_nan_is_nan_and_of_zeros_is_zero_with_zero_gradient(p):
    assert np.isnan(tl.tensor([1.0, float("nan"), 2.0]).norm(p).item())
    z = tl.zeros(2, requires_grad=True)
    z.norm(p).backward()
    assert z.grad.tolist() == [0.0, 0.0]
