"""PyTorch-style autograd Functions (`@staticmethod forward(ctx, ...)` on tensors), as in
PyTorch's "extending autograd" tutorial: run as one node, checked by finite differences and
against torch."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


def _functions(L):
    """The same three Functions written against tinygrad_lite or torch (module `L`)."""

    class MyReLU(L.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class Scale(L.autograd.Function):
        """x * w * k with a plain-number k between the tensors."""

        @staticmethod
        def forward(ctx, x, k, w):
            ctx.k = k
            ctx.save_for_backward(x, w)
            return x * w * k

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
            gw = g * x * ctx.k if ctx.needs_input_grad[2] else None
            return gx, None, gw

    class Exp(L.autograd.Function):
        """PyTorch's newer style: forward without ctx, then setup_context."""

        @staticmethod
        def forward(x):
            return x.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    return MyReLU, Scale, Exp


def _run(L, x, w):
    MyReLU, Scale, Exp = _functions(L)
    z = Scale.apply(MyReLU.apply(x), 3.0, w)
    return (Exp.apply(z * 0.1) * z).sum()


def test_custom_functions_match_finite_differences():
    MyReLU, Scale, Exp = _functions(tl)
    x = tl.tensor([-1.0, 2.0, -3.0, 4.0], dtype=tl.float64, requires_grad=True)
    w = tl.tensor([1.0, 0.5, 3.0, -2.0], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda a, b: _run(tl, a, b), [x, w])
    y = MyReLU.apply(x)
    assert y.grad_fn.name() == "MyReLUBackward" and y.tolist() == [0, 2, 0, 4]


def test_custom_functions_match_torch():
    torch = pytest.importorskip("torch")
    data = np.array([-1.0, 2.0, -3.0, 4.0]), np.array([1.0, 0.5, 3.0, -2.0])
    grads = []
    for L in (tl, torch):
        x, w = (L.tensor(a, requires_grad=True) for a in data)
        _run(L, x, w).backward()
        grads.append((np.asarray(x.grad.detach().numpy()), np.asarray(w.grad.detach().numpy())))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_custom_function_without_grad_records_nothing_and_marks_non_differentiable():
    _, Scale, _ = _functions(tl)
    out = Scale.apply(tl.ones(2), 2.0, tl.ones(2))
    assert out.tolist() == [2, 2] and out.grad_fn is None and not out.requires_grad

    class Rounded(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.round()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return None

    assert not Rounded.apply(tl.tensor([1.4], requires_grad=True)).requires_grad


def _multi_output(L):
    class SinCos(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    class MaxAndIndex(L.autograd.Function):
        """An integer output beside the values: it comes back without a graph."""

        @staticmethod
        def forward(ctx, x):
            values, index = x.max(1)
            ctx.save_for_backward(x, index)
            return values, index

        @staticmethod
        def backward(ctx, g_values, g_index):
            x, index = ctx.saved_tensors
            g = L.zeros_like(x)
            g[L.arange(x.shape[0]), index] = g_values
            return g

    return SinCos, MaxAndIndex


def test_custom_functions_with_several_outputs():
    SinCos, MaxAndIndex = _multi_output(tl)
    x = tl.tensor([[0.5, 2.0, -1.0], [3.0, 0.1, 0.2]], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda t: sum(o.sum() * k for k, o in enumerate(SinCos.apply(t), 1)),
                        [x])
    x.grad = None
    values, index = MaxAndIndex.apply(x)
    assert index.tolist() == [1, 0] and not index.requires_grad and values.requires_grad
    (values * 2).sum().backward()
    assert x.grad.tolist() == [[0, 2, 0], [2, 0, 0]]
    s, _ = SinCos.apply(x.detach())           # no input needs grad: plain outputs
    assert not s.requires_grad


def test_custom_functions_with_several_outputs_match_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).random((3, 4))
    grads = []
    for L in (tl, torch):
        SinCos, MaxAndIndex = _multi_output(L)
        x = L.tensor(data, requires_grad=True)
        s, c = SinCos.apply(x)
        values, _ = MaxAndIndex.apply(x)
        (s + c * c + values.unsqueeze(1)).sum().backward()
        grads.append(x.grad.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_custom_function_mistakes_are_named():
    class Text(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, "done"

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="Text.forward: returned str"):
        Text.apply(tl.ones(2, requires_grad=True))

    class TooMany(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="TooMany.backward: returned 2 gradients for 1"):
        TooMany.apply(tl.ones(2, requires_grad=True)).sum().backward()


def test_gradcheck_leaves_its_inputs_exactly_as_they_were():
    """Values and gradients: PyTorch's gradcheck uses autograd.grad, so .grad is untouched
    (None stays None, a gradient so far stays that gradient)."""
    x = tl.tensor([0.1, 4.0, -3.0], dtype=tl.float64, requires_grad=True)
    y = tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64, requires_grad=True)
    y.grad = tl.ones(3, dtype=tl.float64)
    before = x.numpy().copy()
    assert tl.gradcheck(lambda t, u: (t * t).sin() * u, [x, y])
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None and y.grad.tolist() == [1.0, 1.0, 1.0]


class _TripledGradient(tl.autograd.Function):
    """2x forward, 3x backward: a wrong gradient for gradcheck to catch."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


def test_gradcheck_takes_torchs_calls():
    """A tensor or a tuple of arguments (non-tensors passed through), several outputs (an
    integer one skipped), PyTorch's keyword options, and its error class."""
    x = tl.tensor([0.5, 2.0], dtype=tl.float64, requires_grad=True)
    w = tl.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=tl.float64, requires_grad=True)
    assert tl.autograd.gradcheck(lambda t: t.exp(), x, eps=1e-6, atol=1e-5, rtol=1e-3,
                                 nondet_tol=0.0, fast_mode=True, check_batched_grad=True,
                                 check_grad_dtypes=True)
    assert tl.gradcheck(lambda t, k: (t @ w) ** k, (x, 3))
    assert tl.gradcheck(lambda t: (t * t, t.sum(), t.argmax()), (x,))
    assert tl.gradcheck(lambda t, m: (t @ m).sin(), (x, w), check_forward_ad=True)
    assert tl.autograd.gradgradcheck(lambda t: (t ** 3, t.exp()), x)
    assert tl.autograd.gradgradcheck(lambda t: t ** 3, (x,),
                                     tl.tensor([1.0, -2.0], dtype=tl.float64))  # grad_outputs
    assert tl.gradcheck(func=lambda t: t.sin(), inputs=(x,))
    with pytest.raises(RuntimeError, match=r"input 0 \(shape \(2,\)\): at index \(0,\)"):
        tl.gradcheck(_TripledGradient.apply, x)
    with pytest.raises(AssertionError):   # NOTE: also what a failed check is in a test
        tl.gradcheck(_TripledGradient.apply, x)
    assert tl.gradcheck(_TripledGradient.apply, x, raise_exception=False) is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        tl.gradcheck(lambda t: t, x, bogus=1)


def test_gradcheck_forward_mode_compares_jvp_with_finite_differences():
    """(jvp is built from vjp here, so a wrong backward fails the backward check first.)"""
    x = tl.tensor([0.5, 2.0, -1.0], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda t: (t * t).tanh().cumsum(0), x, check_forward_ad=True)
    assert tl.gradcheck(lambda t, u: (t * u).sum(), (x, x.detach() * 2), check_forward_ad=True)
