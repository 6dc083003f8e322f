"""tl.func (PyTorch's torch.func basics): functional_call, grad, grad_and_value."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

X = np.random.default_rng(0).standard_normal(4)


def _net():
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).double()


def test_grad_and_nested_grad_of_a_scalar_function():
    f = lambda x: (x ** 3).sum()  # noqa: E731
    assert np.allclose(tl.func.grad(f)(tl.tensor(X)).numpy(), 3 * X ** 2)
    second = tl.func.grad(lambda x: tl.func.grad(f)(x).sum())(tl.tensor(X))
    assert np.allclose(second.numpy(), 6 * X)


def test_grad_and_value_with_several_argnums_and_aux():
    grads, (value, aux) = tl.func.grad_and_value(
        lambda x, y: ((x * y).sum(), "aux"), argnums=(0, 1), has_aux=True)(
        tl.tensor(X), tl.tensor(2 * X))
    assert np.allclose(grads[0].numpy(), 2 * X) and np.allclose(grads[1].numpy(), X)
    assert np.isclose(value.item(), 2 * (X * X).sum()) and aux == "aux"
    with pytest.raises(RuntimeError, match="single-element"):
        tl.func.grad(lambda x: x * 2)(tl.tensor(X))


def test_functional_call_uses_the_given_parameters_and_restores_the_module():
    net = _net()
    x = tl.randn(5, 4, dtype=tl.float64)
    before = net(x).numpy()
    doubled = {k: v.detach() * 2 for k, v in net.named_parameters()}
    out = tl.func.functional_call(net, doubled, (x,))
    h = np.tanh(x.numpy() @ doubled["0.weight"].numpy().T + doubled["0.bias"].numpy())
    want = h @ doubled["2.weight"].numpy().T + doubled["2.bias"].numpy()
    assert np.allclose(out.numpy(), want)
    assert np.allclose(net(x).numpy(), before)  # the module's own parameters are back
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    with pytest.raises(AttributeError, match="no parameter or buffer 'nope'"):
        tl.func.functional_call(net, {"nope": tl.zeros(1)}, (x,))


def test_a_maml_step_matches_pytorch():
    """Inner step on fast weights, outer gradient through it (second order)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((5, 4))

    def meta_grads(lib, net, functional_call):
        params = {k: v.detach().clone().requires_grad_(True)
                  for k, v in net.named_parameters()}
        inner = functional_call(net, params, (lib.tensor(x),)).pow(2).mean()
        grads = lib.autograd.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.1 * g for (k, p), g in zip(params.items(), grads)}
        functional_call(net, fast, (lib.tensor(x),)).pow(2).mean().backward()
        return [p.grad.numpy() for p in params.values()]

    ours = _net()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                                 torch.nn.Linear(3, 1)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    for a, b in zip(meta_grads(tl, ours, tl.func.functional_call),
                    meta_grads(torch, theirs, torch.func.functional_call)):
        assert np.allclose(a, b)
    f = lambda x: (x.sin() * x ** 2).sum()  # noqa: E731
    assert np.allclose(tl.func.grad(f)(tl.tensor(X)).numpy(),
                       torch.func.grad(f)(torch.tensor(X)).numpy())
