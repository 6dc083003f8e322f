"""tl.func (PyTorch's torch.func): functional_call, stack_module_state, grad, grad_and_value,
vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap."""
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


# --- vmap -----------------------------------------------------------------------------------
RNG = np.random.default_rng(2)
A = RNG.standard_normal((3, 4))
V = RNG.standard_normal(4)
C = RNG.standard_normal((5, 4))
vmap = tl.func.vmap


def test_vmap_maps_over_the_chosen_dims_and_places_the_batch_dim():
    dot = lambda x, y: (x * y).sum()  # noqa: E731
    assert np.allclose(vmap(dot)(tl.tensor(C), tl.tensor(C)).numpy(), (C * C).sum(1))
    assert tl.vmap is vmap  # torch.vmap is torch.func.vmap too
    # an unmapped argument, a mapped one on dim 1 (negative), the batch placed last
    out = vmap(lambda a, x: a @ x, in_dims=(None, -1), out_dims=1)(tl.tensor(A),
                                                                  tl.tensor(C.T))
    assert out.shape == (3, 5) and np.allclose(out.numpy(), A @ C.T)
    # nested: an outer product; keyword arguments pass through unmapped
    outer = vmap(vmap(lambda x, y, scale: x * y * scale, in_dims=(None, 0)), in_dims=(0, None))
    assert np.allclose(outer(tl.tensor(V), tl.tensor(V), scale=2.0).numpy(),
                       2 * np.outer(V, V))
    # trees: a dict argument with per-key in_dims, a tuple output with per-output out_dims
    f = lambda d: (d["x"] + d["y"], d["x"].sum())  # noqa: E731
    total, sums = vmap(f, in_dims=({"x": 0, "y": None},), out_dims=(1, 0))(
        {"x": tl.tensor(C), "y": tl.tensor(V)})
    assert np.allclose(total.numpy(), (C + V).T) and np.allclose(sums.numpy(), C.sum(1))


def test_vmap_of_an_empty_batch_and_gradients_through_it():
    assert vmap(lambda x: x.sum(0, keepdim=True) * 2)(tl.zeros(0, 3)).shape == (0, 1)
    x = tl.tensor(C, requires_grad=True)
    vmap(lambda row: (row ** 2).sum())(x).sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * C)


def test_vmap_refuses_what_pytorch_refuses():
    x = tl.tensor(C)
    with pytest.raises(ValueError, match="same size in the mapped dimension, got sizes"):
        vmap(lambda a, b: a + b)(x, tl.ones(3, 4))
    with pytest.raises(ValueError, match="only tensors can be mapped over"):
        vmap(lambda a, n: a * n, in_dims=(0, 0))(x, 3)
    with pytest.raises(ValueError, match="at least one input must be mapped"):
        vmap(lambda a: a, in_dims=(None,))(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        vmap(lambda a: 1.0)(x)
    assert vmap(lambda a: 1.0, out_dims=None)(x) == 1.0
    with pytest.raises(ValueError, match="out of range"):
        vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError, match="does not match the structure"):
        vmap(lambda a, b: a, in_dims=(0,))(x, x)


def test_vmap_randomness_modes():
    noisy = lambda x: tl.rand(2) + x  # noqa: E731
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(noisy)(tl.zeros(3, 2))
    tl.manual_seed(0)
    same = vmap(noisy, randomness="same")(tl.zeros(3, 2)).numpy()
    assert np.allclose(same, same[:1])
    tl.manual_seed(0)
    assert np.allclose(tl.rand(2).numpy(), same[0])  # the draws of one call, and one only
    different = vmap(noisy, randomness="different")(tl.zeros(3, 2)).numpy()
    assert not np.allclose(different, different[:1])
    with pytest.raises(RuntimeError, match="randomness must be"):
        vmap(noisy, randomness="sometimes")


def test_per_sample_gradients_and_an_ensemble():
    net = _net()
    params = {k: v.detach() for k, v in net.named_parameters()}
    xs = tl.tensor(C)

    def loss(p, x):
        return tl.func.functional_call(net, p, (x.unsqueeze(0),)).pow(2).sum()

    per_sample = vmap(tl.func.grad(loss), in_dims=(None, 0))(params, xs)
    for i in range(len(C)):
        net.zero_grad()
        net(xs[i:i + 1]).pow(2).sum().backward()
        for name, p in net.named_parameters():
            assert np.allclose(per_sample[name][i].numpy(), p.grad.numpy())
    models = [_net() for _ in range(3)]
    for k, m in enumerate(models):
        with tl.no_grad():
            m[0].weight.mul_(k + 1)
    stacked, buffers = tl.func.stack_module_state(models)
    assert stacked["0.weight"].shape == (3, 3, 4) and stacked["0.weight"].is_leaf
    assert stacked["0.weight"].requires_grad and buffers == {}
    ensemble = vmap(lambda p: tl.func.functional_call(models[0], p, (xs,)))(stacked)
    for k, m in enumerate(models):
        assert np.allclose(ensemble[k].numpy(), m(xs).numpy())


# --- Jacobians and their products -----------------------------------------------------------
def _f(x):
    return tl.tensor(A) @ x.tanh()


def _jacobian_of_f(x):
    return A * (1 - np.tanh(x) ** 2)


def test_jacrev_jacfwd_and_hessian_against_the_formulas():
    x = tl.tensor(V)
    for transform in (tl.func.jacrev, tl.func.jacfwd):
        assert np.allclose(transform(_f)(x).numpy(), _jacobian_of_f(V))
        jx, jy = transform(lambda a, b: (a * b).sum(0), argnums=(0, 1))(tl.tensor(A), x)
        assert jx.shape == (4, 3, 4) and jy.shape == (4, 4)
        assert np.allclose(jy.numpy(), np.diag(A.sum(0)))
        jac, aux = transform(lambda a: (a.exp(), "aux"), has_aux=True)(x)
        assert np.allclose(jac.numpy(), np.diag(np.exp(V))) and aux == "aux"
    cube = lambda a: (a ** 3).sum() * a[0]  # noqa: E731
    h = tl.func.hessian(cube)(x).numpy()
    want = np.diag(6 * V * V[0])
    want[0, :] += 3 * V ** 2
    want[:, 0] += 3 * V ** 2
    assert np.allclose(h, want)


def test_vjp_jvp_and_linearize_against_the_jacobian():
    x, u = tl.tensor(V), tl.tensor(RNG.standard_normal(3))
    jac = _jacobian_of_f(V)
    out, vjp_fn = tl.func.vjp(_f, x)
    assert np.allclose(out.numpy(), A @ np.tanh(V))
    for _ in range(2):  # it can be called again
        (g,) = vjp_fn(u)
        assert np.allclose(g.numpy(), u.numpy() @ jac)
    with pytest.raises(RuntimeError, match="expected cotangents of shapes"):
        vjp_fn(tl.ones(4))
    out, jv = tl.func.jvp(_f, (x,), (tl.ones(4, dtype=tl.float64),))
    assert np.allclose(jv.numpy(), jac.sum(1))
    out, jvp_fn = tl.func.linearize(_f, x)
    assert np.allclose(jvp_fn(tl.tensor(V)).numpy(), jac @ V)
    with pytest.raises(RuntimeError, match="primals to be a tuple"):
        tl.func.jvp(_f, x, x)


def test_results_leave_the_graph_unless_they_depend_on_the_callers_grad_tensors():
    cube = lambda a: (a ** 3).sum()  # noqa: E731
    assert not tl.func.grad(cube)(tl.tensor(V)).requires_grad
    assert not tl.func.jacrev(_f)(tl.tensor(V)).requires_grad
    x = tl.tensor(V, requires_grad=True)
    g = tl.func.grad(cube)(x)
    assert g.requires_grad
    g.sum().backward()  # d/dx sum(3x^2) = 6x
    assert np.allclose(x.grad.numpy(), 6 * V)
    x = tl.tensor(V)
    assert tl.func.grad(cube)(x) is not None and not x.requires_grad  # the caller's untouched


@pytest.mark.parametrize("case", ["grad", "grad_tree", "jacrev", "jacfwd", "hessian", "vjp",
                                  "jvp", "linearize", "vmap_grad", "jacrev_jacrev", "vmap_jac"])
def test_transforms_match_torch_func(case):
    torch = pytest.importorskip("torch")

    def run(lib, fn):
        T = lambda a: lib.tensor(a)  # noqa: E731
        f = lambda x, y: ((x @ y).tanh() * y.sum()).sum()  # noqa: E731
        g = lambda x: (x.sin() * x.exp()).cumsum(0)  # noqa: E731
        return {
            "grad": lambda: fn.grad(f, argnums=(0, 1))(T(A), T(V)),
            "grad_tree": lambda: fn.grad(lambda d: (d["a"] @ d["v"]).exp().sum())(
                {"a": T(A), "v": T(V)}),
            "jacrev": lambda: fn.jacrev(g)(T(V)),
            "jacfwd": lambda: fn.jacfwd(lambda x, y: x @ y.sin(), argnums=1)(T(A), T(V)),
            "hessian": lambda: fn.hessian(f, argnums=1)(T(A), T(V)),
            "vjp": lambda: fn.vjp(g, T(V))[1](T(V)),
            "jvp": lambda: fn.jvp(g, (T(V),), (T(V * 2),)),
            "linearize": lambda: fn.linearize(g, T(V))[1](T(V)),
            "vmap_grad": lambda: fn.vmap(fn.grad(f), in_dims=(None, 0))(T(A), T(C)),
            "jacrev_jacrev": lambda: fn.jacrev(fn.jacrev(lambda x: (x ** 3).sum() * x))(T(V)),
            "vmap_jac": lambda: fn.vmap(fn.jacrev(g))(T(C)),
        }[case]()

    def arrays(x):
        if isinstance(x, dict):
            return [a for k in sorted(x) for a in arrays(x[k])]
        if isinstance(x, (tuple, list)):
            return [a for v in x for a in arrays(v)]
        return [x.detach().numpy()]

    for ours, theirs in zip(arrays(run(tl, tl.func)), arrays(run(torch, torch.func)),
                            strict=True):
        assert ours.shape == theirs.shape and np.allclose(ours, theirs)
