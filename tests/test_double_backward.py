"""Gradients of gradients (`create_graph=True`): second derivatives against finite differences
of the first (tl.gradgradcheck, always) and against PyTorch (when installed)."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import custom_functions

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite.autograd import Function
from tinygrad_lite.gradcheck import GradcheckError

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4))
W = rng.standard_normal((4, 2))
LABELS = [0, 3, 1]

# name -> (function of tinygrad_lite tensors, inputs); each also runs on torch by name lookup
CASES = {
    "pow": (lambda x: x ** 3, [X]),
    "mul_div": (lambda x, w: (x @ w) * (x[:, :2] / (w[:2].T.sum() ** 2 + 1)), [X, W]),
    "exp_log": (lambda x: x.exp() + (x * x + 1).log(), [X]),
    "sqrt_abs": (lambda x: (x.abs() + 1).sqrt(), [X]),
    "tanh_sigmoid": (lambda x: x.tanh() * x.sigmoid(), [X]),
    "relu": (lambda x: x.relu() * x, [X]),
    "softmax": (lambda x: x.softmax(-1) * x, [X]),
    "log_softmax": (lambda x: x.log_softmax(0) ** 2, [X]),
    "logsumexp": (lambda x: x.logsumexp(1) ** 2, [X]),
    "matmul": (lambda x, w: (x @ w).tanh(), [X, W]),
    "sum_mean": (lambda x: x.sum(0) * x.mean(1, keepdim=True), [X]),
    "amax": (lambda x: x.amax(1) ** 2 + x.amin() * x.sum(), [X]),
    "index": (lambda x: x[:, 1:] ** 2 + x[[0, 0, 2]][:, :3].sum(), [X]),
    "shape_ops": (lambda x: x.T.reshape(2, 6).expand(2, 2, 6).permute(2, 0, 1) ** 2, [X]),
    "cat_split": (lambda x: tl.cat([x, x.T @ x], 0).split([2, 5])[1] ** 2, [X]),
    "where_clamp": (lambda x: tl.where(x > 0, x ** 2, x ** 3).clamp(-1, 1), [X]),
    "cross_entropy": (lambda x, w: F.cross_entropy(x @ w @ w.T, tl.tensor(LABELS)), [X, W]),
    "mse_loss": (lambda x, w: F.mse_loss(x @ w, tl.ones(3, 2, dtype=tl.float64)), [X, W]),
    "layer_norm": (lambda x: F.layer_norm(x, (4,)) ** 3, [X]),
    "gelu_silu": (lambda x: F.gelu(x) + F.silu(x) + F.softplus(x), [X]),
}


def _setitem(a, b):
    c = a * 1
    c[0] = b[1]
    return c


# more ops, on inputs in (0.2, 0.9) where every one of them is smooth
SWEEP = {
    "sin": lambda a: a.sin(), "cos": lambda a: a.cos(), "tan": lambda a: a.tan(),
    "sinh": lambda a: a.sinh(), "cosh": lambda a: a.cosh(), "asin": lambda a: a.asin(),
    "acos": lambda a: a.acos(), "atan": lambda a: a.atan(), "asinh": lambda a: a.asinh(),
    "acosh": lambda a: (a + 1).acosh(), "atanh": lambda a: a.atanh(),
    "log1p": lambda a: a.log1p(), "expm1": lambda a: a.expm1(), "log2": lambda a: a.log2(),
    "log10": lambda a: a.log10(), "erf": lambda a: a.erf(), "erfc": lambda a: a.erfc(),
    "rsqrt": lambda a: a.rsqrt(), "reciprocal": lambda a: a.reciprocal(),
    "exp2": lambda a: a.exp2(), "atan2": lambda a, b: tl.atan2(a, b),
    "hypot": lambda a, b: tl.hypot(a, b), "logaddexp": lambda a, b: tl.logaddexp(a, b),
    "maximum": lambda a, b: tl.maximum(a, b), "fmod": lambda a, b: tl.fmod(a, b),
    "pow_tensor": lambda a, b: a ** b, "cumsum": lambda a: a.cumsum(1),
    "cumprod": lambda a: a.cumprod(0), "prod": lambda a: a.prod(1),
    "norm": lambda a: a.norm(), "std_var": lambda a: a.std(1) * a.var(0),
    "max_median": lambda a: a.max(1).values + a.median(1).values,
    "det_inv": lambda a: tl.linalg.det(a) * tl.linalg.inv(a),
    "einsum": lambda a, b: tl.einsum("ij,jk->ik", a, b),
    "solve": lambda a, b: tl.linalg.solve(a, b),
    "gather": lambda a: a.gather(1, tl.tensor([[0, 2], [1, 1], [2, 0]])),
    "take_along_dim": lambda a: tl.take_along_dim(a, tl.tensor([[0], [2], [1]]), 1),
    "flip_roll": lambda a: a.flip(0) * a.roll(1, 0), "tril_diag": lambda a: a.tril() + a.diag(),
    "repeat_stack": lambda a, b: tl.stack([a.repeat(2, 1)[:3], b]),
    "pad": lambda a: F.pad(a, (1, 1)),
    "conv1d": lambda a, b: F.conv1d(a.reshape(1, 3, 3), b.reshape(3, 3, 1)),
    "conv2d": lambda a, b: F.conv2d(a.reshape(1, 1, 3, 3), b.reshape(1, 1, 3, 3), padding=1),
    "pools": lambda a: F.max_pool1d(a.reshape(1, 3, 3), 2, 1) + F.avg_pool1d(
        a.reshape(1, 3, 3), 2, 1),
    "activations": lambda a: F.elu(a - 0.5) + F.leaky_relu(a - 0.5) + F.mish(a)
    + F.hardswish(a * 4 - 2) + F.logsigmoid(a),
    "normalize_cosine": lambda a, b: F.normalize(a) * F.cosine_similarity(a, b)[:, None],
    "bce": lambda a, b: F.binary_cross_entropy(a, b) + F.binary_cross_entropy_with_logits(a, b),
    "nll_huber_kl": lambda a, b: F.nll_loss(a.log_softmax(1), tl.tensor([0, 2, 1]))
    + F.huber_loss(a, b) + F.kl_div(a.log(), b, reduction="batchmean"),
    "norms": lambda a: F.batch_norm(a, None, None, training=True) * F.group_norm(
        a.reshape(1, 3, 3), 1).reshape(3, 3),
    "embedding_masked_fill": lambda a: F.embedding(tl.tensor([0, 2]), a).sum(0)
    + a.masked_fill(a > 0.5, 0.0),
    "index_add_scatter_add": lambda a, b: a.index_add(0, tl.tensor([0, 0, 2]), b)
    + a.scatter_add(0, tl.tensor([[0, 1, 2]] * 3), b),
    "setitem": lambda a, b: _setitem(a, b),
    "cross_entropy_smoothing": lambda a: F.cross_entropy(a, tl.tensor([0, 2, 1]),
                                                         label_smoothing=0.1),
    "attention": lambda a, b: F.scaled_dot_product_attention(
        a.reshape(1, 3, 3), b.reshape(1, 3, 3), a.reshape(1, 3, 3)),
}


def _leaves(arrays):
    return [tl.tensor(a.copy(), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_finite_differences(name):
    fn, arrays = CASES[name]
    assert tl.gradgradcheck(fn, _leaves(arrays), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name", sorted(SWEEP))
def test_second_derivatives_of_more_ops(name, backend):
    fn = SWEEP[name]
    smooth = np.random.default_rng(1).uniform(0.2, 0.9, (2, 3, 3))
    previous = tl.get_backend()
    tl.set_backend(backend)
    try:
        assert tl.gradgradcheck(fn, _leaves(list(smooth[:fn.__code__.co_argcount])))
    finally:
        tl.set_backend(previous)


def test_logcumsumexp_refuses_a_second_derivative():
    x = tl.tensor(X, requires_grad=True)
    with pytest.raises(NotImplementedError, match="LogCumSumExp's gradient cannot be"):
        tl.autograd.grad(x.logcumsumexp(1).sum(), x, create_graph=True)


def test_hessian_vector_product_of_a_cubic():
    x = tl.tensor([1.0, -2.0, 3.0], dtype=tl.float64, requires_grad=True)
    (g,) = tl.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    assert np.allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    v = tl.tensor([1.0, 1.0, 0.5], dtype=tl.float64)
    (hv,) = tl.autograd.grad((g * v).sum(), x)
    assert np.allclose(hv.numpy(), 6 * x.detach().numpy() * v.numpy())


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = tl.tensor([0.5, 2.0], dtype=tl.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    grad = x.grad
    assert grad.requires_grad and np.allclose(grad.detach().numpy(), [0.75, 12.0])
    x.grad = None
    (grad ** 2).sum().backward()  # d/dx (3x^2)^2 = 36 x^3
    assert np.allclose(x.grad.numpy(), 36 * np.array([0.5, 2.0]) ** 3)


def test_gradient_penalty_on_a_linear_layer():
    """WGAN-GP's ||d critic / d input||: the penalty's gradient reaches the weights."""
    tl.manual_seed(0)
    critic = tl.nn.Sequential(tl.nn.Linear(4, 8), tl.nn.Tanh(), tl.nn.Linear(8, 1)).double()
    x = tl.tensor(X, requires_grad=True)
    (g,) = tl.autograd.grad(critic(x).sum(), x, create_graph=True)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    grads = {name: p.grad for name, p in critic.named_parameters()}
    assert grads.pop("2.bias") is None  # NOTE: d critic / d x does not involve it (PyTorch: None)
    assert all(np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0
               for g in grads.values())


def test_create_graph_retains_the_graph_by_default():
    x = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    y = (x ** 2).sum()
    tl.autograd.grad(y, x, create_graph=True)
    (again,) = tl.autograd.grad(y, x)  # the forward graph is still there
    assert again.tolist() == [2.0, 4.0]


def test_plain_gradients_stay_outside_the_graph():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tl.autograd.grad((x ** 2).sum(), x)
    assert not g.requires_grad and g.grad_fn is None
    (x ** 2).sum().backward()
    assert not x.grad.requires_grad


class _SavesAnIntermediate(Function):
    """exp(x) * 2 that saves exp(x), an array no tensor owns."""

    def forward(self, x):
        e = tl.backend.active.exp(x)
        self.save_for_backward(e)
        return tl.backend.active.mul(e, 2.0)

    def backward(self, g):
        return tl.backend.active.mul(g, tl.backend.active.mul(self.saved[0], 2.0))


def test_an_op_that_saved_an_intermediate_refuses_by_name():
    x = tl.tensor([1.0], dtype=tl.float64, requires_grad=True)
    y = _SavesAnIntermediate.apply(x).sum()
    with pytest.raises(NotImplementedError, match="_SavesAnIntermediate's gradient reads a"):
        tl.autograd.grad(y, x, create_graph=True)
    (g,) = tl.autograd.grad(_SavesAnIntermediate.apply(x).sum(), x)  # without: fine
    assert np.allclose(g.numpy(), 2 * np.exp(1.0))


def test_a_pytorch_style_custom_function_that_saved_its_inputs_differentiates_twice():
    """Its backward runs on tensors with grad mode on, as PyTorch runs it under create_graph;
    one that saved its output gets the node's own output back (PyTorch's unpacking), so it
    differentiates twice too; one that saved an intermediate refuses."""
    square, exp = custom_functions(tl)
    x = tl.tensor([3.0, -0.5], dtype=tl.float64, requires_grad=True)
    (g,) = tl.autograd.grad((square.apply(x) * x).sum(), x, create_graph=True)  # 3 x^2
    (h,) = tl.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    assert tl.gradgradcheck(square.apply, x)
    (ge,) = tl.autograd.grad(exp.apply(x).sum(), x, create_graph=True)
    (he,) = tl.autograd.grad((ge * ge).sum(), x)  # d/dx exp(2x) = 2 exp(2x)
    np.testing.assert_allclose(he.numpy(), 2 * np.exp(2 * x.numpy()))
    assert tl.gradgradcheck(exp.apply, x)

    class Cube(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            square = x * x
            ctx.save_for_backward(square)  # an intermediate: a constant under no_grad
            return square * x

        @staticmethod
        def backward(ctx, g):
            return 3 * g * ctx.saved_tensors[0]

    with pytest.raises(NotImplementedError, match="cannot be differentiated again"):
        tl.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    torch = pytest.importorskip("torch")
    t = torch.tensor(x.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((custom_functions(torch)[0].apply(t) * t).sum(), t,
                                create_graph=True)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy())


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongCube(Function):
        """x^3 whose backward treats x as a constant: right first, wrong second derivative."""

        def forward(self, x):
            self.save_for_backward(tl.backend.active.mul(x, x))
            return tl.backend.active.mul(tl.backend.active.mul(x, x), x)

        def backward(self, g):
            return tl.backend.active.mul(g, tl.backend.active.mul(self.saved[0], 3.0))

        def saved_in_graph(self, x):  # NOTE: claims x*x, detached: a wrong rebuild
            return (x.detach() * x.detach(),)

    x = tl.tensor([1.5, -0.5], dtype=tl.float64, requires_grad=True)
    assert tl.gradcheck(lambda t: WrongCube.apply(t), [x])
    with pytest.raises(GradcheckError, match="gradcheck: input 0"):
        tl.gradgradcheck(lambda t: WrongCube.apply(t), [x])


def test_autograd_namespace_has_the_checks():
    assert tl.autograd.gradcheck is tl.gradcheck
    assert tl.autograd.gradgradcheck is tl.gradgradcheck


def test_fused_ops_record_under_both_backends():
    for name in ("numpy", "numba"):
        previous = tl.get_backend()
        tl.set_backend(name)
        try:
            assert tl.gradgradcheck(CASES["cross_entropy"][0], _leaves(CASES["cross_entropy"][1]))
            assert tl.gradgradcheck(CASES["amax"][0], _leaves(CASES["amax"][1]))
        finally:
            tl.set_backend(previous)


def test_second_derivatives_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    torch_forms = {
        "cross_entropy": lambda x, w: TF.cross_entropy(x @ w @ w.T, torch.tensor(LABELS)),
        "mse_loss": lambda x, w: TF.mse_loss(x @ w, torch.ones(3, 2, dtype=torch.float64)),
        "layer_norm": lambda x: TF.layer_norm(x, (4,)) ** 3,
        "gelu_silu": lambda x: TF.gelu(x) + TF.silu(x) + TF.softplus(x),
        "where_clamp": lambda x: torch.where(x > 0, x ** 2, x ** 3).clamp(-1, 1),
        "cat_split": lambda x: torch.cat([x, x.T @ x], 0).split([2, 5])[1] ** 2,
        "amax": lambda x: x.amax(1) ** 2 + x.amin() * x.sum(),
    }
    for name, (fn, arrays) in CASES.items():
        t_fn = torch_forms.get(name, fn)  # NOTE: the rest is the same code on either library
        t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        l_in = _leaves(arrays)
        t_out, l_out = t_fn(*t_in), fn(*l_in)
        weights = rng.standard_normal(tuple(t_out.shape))
        t_g = torch.autograd.grad((t_out * torch.tensor(weights)).sum(), t_in, create_graph=True)
        l_g = tl.autograd.grad((l_out * tl.tensor(weights)).sum(), l_in, create_graph=True)
        t_h = torch.autograd.grad(sum((g ** 2).sum() for g in t_g), t_in)
        l_total = None
        for g in l_g:
            l_total = (g ** 2).sum() if l_total is None else l_total + (g ** 2).sum()
        l_h = tl.autograd.grad(l_total, l_in)
        for a, b in zip(t_h, l_h):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-7, atol=1e-9,
                                       err_msg=name)
