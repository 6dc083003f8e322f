"""tl.autograd.functional (PyTorch's torch.autograd.functional): Jacobians, Hessians and their
vector products, checked against closed forms and against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

AF = tl.autograd.functional
rng = np.random.default_rng(0)
X = rng.standard_normal(3)
Y = rng.standard_normal((2, 3))
V = rng.standard_normal(3)


def _cubic(x):
    return (x ** 3).sum()


def test_jacobian_of_a_linear_map_is_its_matrix():
    jx, jy = AF.jacobian(lambda x, y: y @ x, (tl.tensor(X), tl.tensor(Y)))
    assert np.allclose(jx.numpy(), Y)
    assert jy.shape == (2, 2, 3)  # d(y @ x)_i / d y_jk = [i == j] x_k
    assert np.allclose(jy.numpy(), np.einsum("ij,k->ijk", np.eye(2), X))


def test_hessian_of_a_cubic_is_diagonal():
    h = AF.hessian(_cubic, tl.tensor(X))
    assert np.allclose(h.numpy(), np.diag(6 * X))
    assert not h.requires_grad


def test_vector_products():
    out, hv = AF.hvp(_cubic, tl.tensor(X), tl.tensor(V))
    assert np.isclose(out.item(), (X ** 3).sum()) and np.allclose(hv.numpy(), 6 * X * V)
    out, vj = AF.vjp(lambda x: x ** 2, tl.tensor(X), tl.tensor(V))
    assert np.allclose(vj.numpy(), 2 * X * V)
    out, jv = AF.jvp(lambda x: tl.tensor(Y) @ x, tl.tensor(X), tl.tensor(V))
    assert np.allclose(jv.numpy(), Y @ V)  # NOTE: J v of x -> Y x is Y v


def test_create_graph_keeps_the_results_differentiable():
    x = tl.tensor(X, requires_grad=True)
    h = AF.hessian(_cubic, x, create_graph=True)
    assert h.requires_grad
    (third,) = tl.autograd.grad(h.sum(), x)  # d/dx sum(diag(6x)) = 6
    assert np.allclose(third.numpy(), 6.0)


def test_a_seed_that_requires_grad_joins_the_graph():
    """The double-backward trick behind jvp: d(u^T J)/du is J^T."""
    x = tl.tensor(X, requires_grad=True)
    u = tl.zeros(2, dtype=tl.float64, requires_grad=True)
    (g,) = tl.autograd.grad(tl.tensor(Y) @ x, x, u, create_graph=True)
    (back,) = tl.autograd.grad(g, u, tl.tensor(V))
    assert np.allclose(back.numpy(), Y @ V)


def test_vjp_without_v_needs_a_scalar():
    with pytest.raises(RuntimeError, match="one element"):
        AF.vjp(lambda x: x * 2, tl.tensor(X))


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    TAF = torch.autograd.functional

    def same(a, b):
        if isinstance(a, (tuple, list)):
            return len(a) == len(b) and all(same(p, q) for p, q in zip(a, b))
        return tuple(a.shape) == tuple(b.shape) and np.allclose(a.detach().numpy(), b.numpy())

    def both(name, fn, inputs, *vs, **kw):
        t = getattr(TAF, name)(fn, *[tuple(map(torch.tensor, a)) if isinstance(a, tuple)
                                     else torch.tensor(a) for a in (inputs, *vs)], **kw)
        ours = getattr(AF, name)(fn, *[tuple(map(tl.tensor, a)) if isinstance(a, tuple)
                                       else tl.tensor(a) for a in (inputs, *vs)], **kw)
        assert same(t, ours), name

    both("jacobian", lambda x: (x ** 2).tanh(), X)
    both("jacobian", lambda x, y: (y @ x, x * 2), (X, Y))
    both("hessian", lambda x: (x ** 3).sum() + (x.tanh() * x).sum(), X)
    both("hessian", lambda x, y: (y @ x).pow(2).sum(), (X, Y))
    both("vjp", lambda x: (x ** 2).tanh(), X, V)
    both("jvp", lambda x, y: y @ x.exp(), (X, Y), (V, Y * 0.5))
    both("hvp", lambda x: (x.sigmoid() * x).sum(), X, V)
    both("vhp", lambda x: (x.sigmoid() * x).sum(), X, V)


def test_strict_mode_refuses_an_output_independent_of_an_input_as_pytorch_does():
    x, y = tl.ones(2), tl.ones(2)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        tl.autograd.functional.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 0"):
        tl.autograd.functional.hessian(lambda a: (a * 2).sum(), x, strict=True)  # linear
    with pytest.raises(RuntimeError, match="vjp: .*independent of input 1"):
        tl.autograd.functional.vjp(lambda a, b: (a * 2).sum(), (x, y), strict=True)
    blocks = tl.autograd.functional.jacobian(lambda a, b: a * 2, (x, y))  # not strict: zeros
    assert np.array_equal(blocks[1].numpy(), np.zeros((2, 2)))


def test_materialize_grads_needs_allow_unused():
    x = tl.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="allow_unused"):
        tl.autograd.grad((x * 2).sum(), [x, tl.ones(1, requires_grad=True)],
                         materialize_grads=True, allow_unused=False)
