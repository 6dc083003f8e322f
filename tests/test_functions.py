"""PyTorch's other spellings: the function forms (`tl.exp(t)`) and the Tensor methods composed
from the primitives (mm, dot, outer, split, masked_fill, ...), checked by the one op helper
(numpy forward, finite differences, PyTorch) and against PyTorch where they have no gradient.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import check_op, torch

import tinygrad_lite as tl
from tinygrad_lite.functions import METHODS

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

# name -> (input shapes, fn written once for both libraries, numpy forward)
COMPOSED = {
    "mm": ([(3, 4), (4, 2)], lambda a, b: a.mm(b), lambda a, b: a @ b),
    "dot": ([(5,), (5,)], lambda a, b: a.dot(b), np.dot),
    "outer": ([(3,), (4,)], lambda a, b: a.outer(b), np.outer),
    "reciprocal": ([(3, 4)], lambda x: (x + 3).reciprocal(), lambda x: 1 / (x + 3)),
    "rsqrt": ([(3, 4)], lambda x: (x + 3).rsqrt(), lambda x: 1 / np.sqrt(x + 3)),
    "mT": ([(2, 3, 4)], lambda x: x.mT, lambda x: x.swapaxes(-1, -2)),
    "narrow": ([(4, 5)], lambda x: x.narrow(1, 1, 3), lambda x: x[:, 1:4]),
    "index_select": ([(4, 5)], lambda x: x.index_select(0, _index(x)), lambda x: x[[2, 0, 2]]),
    "split_sizes": ([(5, 3)], lambda x: x.split([2, 3])[1], lambda x: x[2:]),
    "split_step": ([(5, 3)], lambda x: x.split(2, dim=0)[2], lambda x: x[4:]),
    "chunk": ([(3, 7)], lambda x: x.chunk(3, dim=1)[1], lambda x: x[:, 3:6]),
    "masked_fill": ([(3, 4)], lambda x: x.masked_fill(x > 0.5, -1.0),
                    lambda x: np.where(x > 0.5, -1.0, x)),
    "reshape_as": ([(3, 4)], lambda x: x.reshape_as(x.T), lambda x: x.reshape(4, 3)),
    "sign": ([(3, 4)], lambda x: x.sign() * x, lambda x: np.sign(x) * x),
    "gather": ([(3, 4)], lambda x: x.gather(1, _gather_index(x)),
               lambda x: np.take_along_axis(x, np.array([[0, 0], [3, 1], [2, 2]]), 1)),
}


def _gather_index(x):
    """Indices along dim 1 with repeats (row 0 picks column 0 twice)."""
    rows = [[0, 0], [3, 1], [2, 2]]
    return tl.tensor(rows) if isinstance(x, tl.Tensor) else torch.tensor(rows)


def _index(x):
    """[2, 0, 2] in the library of x: a repeated index, whose gradients must add up."""
    return tl.tensor([2, 0, 2]) if isinstance(x, tl.Tensor) else torch.tensor([2, 0, 2])


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_method_matches_numpy_finite_differences_and_torch(name):
    shapes, fn, np_fn = COMPOSED[name]
    check_op(shapes, fn, np_fn)


def test_gather_refuses_an_index_of_another_rank_or_dtype():
    with pytest.raises(RuntimeError, match=r"gather: index must be an integer tensor with 2 "
                                           r"dims like the input \(3, 4\)"):
        tl.zeros(3, 4).gather(1, tl.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="gather: .*got float32"):
        tl.zeros(3, 4).gather(1, tl.zeros(3, 1))


def test_split_and_chunk_cover_the_tensor_like_torch():
    x = tl.arange(10).reshape(5, 2)
    assert [p.shape for p in x.split(2)] == [(2, 2), (2, 2), (1, 2)]
    assert [p.shape for p in x.chunk(2)] == [(3, 2), (2, 2)]
    assert [p.shape for p in x.chunk(6)] == [(1, 2)] * 5  # torch: at most 6, here 5
    with pytest.raises(RuntimeError, match=r"split: sizes \[2, 2\] add up to 4"):
        x.split([2, 2])
    with pytest.raises(RuntimeError, match="split: split_size must be at least 1, got 0"):
        x.split(0)
    with pytest.raises(RuntimeError, match="chunk: chunks must be at least 1, got 0"):
        x.chunk(0)


@pytest.mark.parametrize("a, b, op", [((3, 4), (4,), "mm"), ((3,), (3, 1), "dot"),
                                      ((2, 2), (2,), "outer")])
def test_shape_checks_name_the_op_and_both_shapes(a, b, op):
    with pytest.raises(RuntimeError, match=rf"^{op}: .*{re.escape(str(a))}.*{re.escape(str(b))}"):
        getattr(tl.zeros(*a), op)(tl.zeros(*b))


@needs_torch
def test_boolean_reductions_and_new_tensors_match_torch():
    data = np.array([[0.0, 1.5, -2.0], [3.0, 0.0, 0.0]], np.float32)
    x, t = tl.tensor(data), torch.tensor(data)
    for dim in (None, 0, 1):
        for keepdim in (False, True):
            kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
            for name in ("all", "any"):
                ours, theirs = getattr(x, name)(**kw), getattr(t, name)(**kw)
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
                assert ours.dtype == np.bool_
    np.testing.assert_array_equal(x.logical_not().numpy(), t.logical_not().numpy())
    assert x.new_zeros(2, 3).dtype == np.float32 and x.new_ones((2,)).shape == (2,)
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == np.float32  # PyTorch: new_tensor keeps self's dtype
    assert x.element_size() == 4 and x.nbytes == 24


def _elementwise_args(name: str, x: tl.Tensor) -> tuple:
    """The input and extra arguments for the elementwise math ops that take more than x."""
    ints = tl.tensor([[1, 6, 3], [4, 5, 2]])
    if name.startswith("bitwise"):
        return ints, (() if name == "bitwise_not" else (tl.tensor([[3, 0, 7], [2, 5, 1]]),))
    other = x * 0.5 + 0.25
    return x, {"clamp_min": (0.9,), "clamp_max": (0.9,), "clip": (0.7, 1.5),
               "lerp": (other, 0.3), "addcmul": (other, x), "addcdiv": (other, x)
               }.get(name, (other,))


ELEMENTWISE_WITH_ARGS = {
    "logaddexp", "hypot", "atan2", "arctan2", "clamp_min", "clamp_max", "clip", "isclose",
    "fmod", "remainder", "floor_divide", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "subtract", "multiply",
    "divide", "true_divide", "lerp", "addcmul", "addcdiv", "xlogy", "float_power", "copysign",
    "heaviside", "fmax", "fmin"}



def _shape_args(name: str, x: tl.Tensor) -> tuple | None:
    """The input and extra arguments for the shape, scan, sorting and linear-algebra ops that
    take more than x (None: the op needs none)."""
    index = tl.tensor([[2, 0, 1, 1]])
    cube = lambda: x.reshape(1, 3, 4)
    args = {"cumsum": lambda: (1,), "cumprod": lambda: (0,), "logcumsumexp": lambda: (1,),
            "roll": lambda: (1, 0), "movedim": lambda: (0, 1), "moveaxis": lambda: (1, 0),
            "swapaxes": lambda: (0, 1), "swapdims": lambda: (1, 0),
            "unflatten": lambda: (1, (2, 2)), "broadcast_to": lambda: ((2, 3, 4),),
            "select": lambda: (1, -1), "take": lambda: (tl.tensor([0, 5, 5]),),
            "masked_select": lambda: (x > 1,), "scatter": lambda: (0, index, 0.0),
            "scatter_add": lambda: (0, index, x), "topk": lambda: (2,),
            "index_add": lambda: (0, tl.tensor([2, 2]), x[:2]), "inner": lambda: (x,),
            "addmm": lambda: (x, tl.eye(4, dtype=x.dtype)), "kthvalue": lambda: (2,),
            "cross": lambda: (x,), "kron": lambda: (x,), "dist": lambda: (x * 2,),
            "index_fill": lambda: (1, tl.tensor([0, 2]), -1.0),
            "allclose": lambda: (x + 1e-9,), "equal": lambda: (x,),
            "repeat_interleave": lambda: (2, 1), "tensor_split": lambda: ([1, 3], 1)}
    if name in ("bmm", "baddbmm"):
        return cube(), (cube().mT,) if name == "bmm" else (cube(), cube().mT @ cube())
    if name in ("bincount", "bitwise_left_shift", "bitwise_right_shift"):  # integer inputs
        return tl.tensor([1, 2, 2, 8]), () if name == "bincount" else (1,)
    return (x, args[name]()) if name in args else None


@pytest.mark.parametrize("name", METHODS)
def test_every_function_form_forwards_to_the_method(name):
    x = tl.tensor(np.linspace(0.5, 2.0, 12).reshape(3, 4), requires_grad=True)
    y = tl.tensor(np.linspace(2.0, 0.5, 12).reshape(4, 3))
    args = {"clamp": (0.7, 1.5), "maximum": (x.T.T * 0.9,), "minimum": (x * 1.1,),
            "softmax": (1,), "log_softmax": (0,), "logsumexp": (1,), "max": (1,), "min": (0,),
            "argmax": (1,), "argmin": (0,), "reshape": (4, 3), "squeeze": (), "unsqueeze": (0,),
            "transpose": (0, 1), "permute": (1, 0), "narrow": (0, 1, 2),
            "index_select": (1, tl.tensor([3, 1])), "split": (2,), "chunk": (2,),
            "masked_fill": (x > 1, 0.0), "mm": (y,), "dot": (), "outer": (),
            "add": (x,), "sub": (2.0,), "mul": (x,), "div": (x + 1,), "pow": (2,),
            "gather": (0, tl.tensor([[2, 0, 1, 1]])),
            **dict.fromkeys(("eq", "ne", "lt", "le", "gt", "ge"), (1.25,))}.get(name, ())
    if name in ("dot", "outer"):
        x, args = x[0], (x[1],)
    if name in ELEMENTWISE_WITH_ARGS:
        x, args = _elementwise_args(name, x)
    if _shape_args(name, x) is not None:
        x, args = _shape_args(name, x)
    ours = getattr(tl, name)(x, *args)
    method = getattr(x, name)(*args)
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (ours, method))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@needs_torch
@pytest.mark.parametrize("name, args", [("exp", ()), ("sum", (1,)), ("mean", (0,)),
                                        ("amax", (1,)), ("softmax", (1,)),
                                        ("clamp", (-0.5, 0.5)), ("flatten", ())])
def test_function_forms_match_torch_by_the_same_name(name, args):
    check_op([(3, 4)], lambda x: getattr(tl, name)(x, *args),
             torch_fn=lambda x: getattr(torch, name)(x, *args))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_two_tensors_are_elementwise_as_in_torch(name):
    check_op([(3, 4), (4,)], lambda a, b: getattr(a, name)(b),
             lambda a, b: getattr(np, name + "imum")(a, b))
    check_op([(3, 4), (3, 4)], lambda a, b: getattr(tl, name)(a, b),
             torch_fn=lambda a, b: getattr(torch, name)(a, b))


def test_set_grad_enabled_as_call_context_manager_and_decorator():
    x = tl.ones(2, requires_grad=True)
    tl.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        tl.set_grad_enabled(True)
    with tl.set_grad_enabled(False):
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()

    @tl.set_grad_enabled(False)
    def inside():
        return tl.is_grad_enabled()

    assert tl.is_grad_enabled() and inside() is False and tl.is_grad_enabled()
    with tl.inference_mode():
        assert not (x * 2).requires_grad


def test_small_helpers_match_their_torch_meaning():
    a = tl.tensor([1.0, 2.0])
    assert tl.is_tensor(a) and not tl.is_tensor(np.ones(2))
    assert tl.allclose(a, a + 1e-9) and not tl.allclose(a, a + 1)
    assert tl.equal(a, a.clone()) and not tl.equal(a, a.reshape(2, 1))
    assert tl.concat([a, a]).shape == (4,)
    tl.manual_seed(0)
    perm = tl.randperm(6)
    assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(6))


def test_star_import_brings_the_api_but_leaves_pythons_builtins_alone():
    namespace: dict = {}
    exec("from tinygrad_lite import *", namespace)
    assert {"tensor", "Tensor", "nn", "optim", "exp", "cat", "no_grad"} <= set(namespace)
    assert not {"sum", "max", "min", "abs", "all", "any", "pow", "float", "bool"} & set(namespace)
    assert tl.sum is not sum and tl.float is tl.float32  # still there as attributes


@pytest.mark.parametrize("dims, shapes", [(2, [(2, 3, 4), (3, 4, 5)]), (1, [(3, 4), (4, 2)]),
                                          (0, [(3,), (2,)]), (([1], [0]), [(2, 3, 4), (3, 5)]),
                                          (([0, 2], [2, 0]), [(4, 3, 2), (2, 5, 4)])], ids=str)
def test_tensordot_matches_numpy_fd_and_torch(dims, shapes):
    axes = dims if isinstance(dims, int) else tuple(dims)
    check_op(shapes, lambda a, b: tl.tensordot(a, b, dims),
             lambda a, b: np.tensordot(a, b, axes=axes),
             torch_fn=lambda a, b: torch.tensordot(a, b, dims))


def test_tensordot_broadcasts_a_contracted_dim_of_size_1_as_torch():
    # NOTE: torch.tensordot(a, b, ([1], [1])) of (2, 1) and (4, 3) sums a's one column
    # against all 3 of b's (torch 2.13), where numpy refuses
    check_op([(2, 1), (4, 3)], lambda a, b: tl.tensordot(a, b, ([1], [1])),
             lambda a, b: np.tensordot(np.repeat(a, 3, axis=1), b, axes=([1], [1])),
             torch_fn=lambda a, b: torch.tensordot(a, b, ([1], [1])))


def test_tensordot_names_mismatched_dims():
    with pytest.raises(RuntimeError, match=r"tensordot: dims \[1\] of \(2, 3\) and dims \[0\]"):
        tl.tensordot(tl.ones(2, 3), tl.ones(4, 2), dims=1)


@pytest.mark.parametrize("call", [
    "x.sum(axis=1)", "x.sum(axis=0, keepdims=True)", "x.mean(axis=1, keepdim=True)",
    "x.max(axis=1).values", "x.argmax(axis=1)", "x.softmax(axis=0)", "x.std(axis=0)",
    "x.cumsum(axis=1)", "x.logsumexp(axis=1, keepdims=True)", "L.cat([x, x], axis=1)",
    "L.stack([x, x], axis=1)", "L.concat([x, x], axis=1)", "L.concatenate([x, x], axis=0)",
])
@needs_torch
def test_numpy_axis_and_keepdims_are_accepted_like_torch(call):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    got = eval(call, {"x": tl.tensor(a), "L": tl})
    want = eval(call, {"x": torch.tensor(a), "L": torch})
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("call", ["x.var(1, False, True)", "x.std(0, True, True)",
                                  "x.var(False)", "x.std(1, False)", "x.var(dim=0, keepdim=True)",
                                  "x.var(1, correction=0)"])
def test_var_and_std_take_torchs_positional_order(call):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    got, want = eval(call, {"x": tl.tensor(a)}), eval(call, {"x": torch.tensor(a)})
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_sum_and_mean_with_dtype_cast_first():
    x = tl.tensor([1.5, 2.5])
    assert x.sum(dtype=tl.float64).dtype == tl.float64
    assert x.mean(dtype=tl.float64).item() == 2.0
    assert tl.tensor([True, True]).sum(dtype=tl.float32).item() == 2.0


def test_type_half_stride_and_contiguity_like_torch():
    x = tl.zeros(3, 4)
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.type(tl.float64).dtype == tl.float64
    assert x.type("torch.IntTensor").dtype == tl.int32
    assert x.half().dtype == tl.float16
    assert x.stride() == (4, 1) and x.stride(0) == 4 and x.T.stride() == (1, 4)
    assert x.is_contiguous() and not x.T.is_contiguous()


def test_where_with_only_a_condition_gives_the_indices():
    rows, cols = tl.where(tl.tensor([[0, 1], [1, 1]]) > 0)
    np.testing.assert_array_equal(rows.numpy(), [0, 1, 1])
    np.testing.assert_array_equal(cols.numpy(), [1, 0, 1])


def test_cuda_answers_like_torch_without_a_gpu_so_device_lines_run():
    device = "cuda" if tl.cuda.is_available() else "cpu"
    assert device == "cpu" and tl.cuda.device_count() == 0
    tl.cuda.manual_seed_all(0)
    model = tl.nn.Linear(2, 1).to(device)
    assert model(tl.ones(3, 2).to(device)).shape == (3, 1)


@needs_torch
def test_norm_casts_to_the_dtype_it_is_given_like_torch():
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 3
    for args in ((), (1, 0), (2, 1, True)):
        got = tl.tensor(a).norm(*args, dtype=tl.float64)
        want = torch.tensor(a).norm(*args, dtype=torch.float64)
        assert got.dtype == tl.float64
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("call", [
    "x.numpy(force=True)", "x.prod(dtype=L.float64)", "x.prod(1, dtype=L.float64)",
    "x.nansum(dtype=L.float64)", "x.nanmean(1, dtype=L.float64)",
    "L.zeros_like(input=x)", "L.ones_like(input=x, dtype=L.float64)",
    "L.full_like(input=x, fill_value=2.0)", "L.matmul(input=x, other=x.T)",
    "x.swapdims(dim0=0, dim1=1)", "x.mm(mat2=x.T)", "x[0].outer(vec2=x[1])",
    "x[0].ger(vec2=x[1])", "L.randint(3, (2,), requires_grad=False) * 0",
])
def test_torchs_keyword_names_are_accepted(call):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    got = eval(call, {"x": tl.tensor(a), "L": tl})
    want = eval(call, {"x": torch.tensor(a), "L": torch})
    got, want = np.asarray(got.numpy() if hasattr(got, "numpy") else got), np.asarray(
        want.numpy() if hasattr(want, "numpy") else want)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)
