"""nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm) and the
batch-norm fusions of nn.utils, as PyTorch's: values, gradients, state_dict keys, buffers and
the module's class."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.nn.utils import parametrizations, parametrize

RNG = np.random.default_rng(0)


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).T


class Scale(nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, x):
        return x / 2


def test_a_parametrized_weight_is_recomputed_from_original_and_trains_through_it():
    layer = nn.Linear(3, 3).double()
    weight = layer.weight
    opt = optim.SGD(layer.parameters(), lr=0.1)  # made before: must still hold the parameter
    parametrize.register_parametrization(layer, "weight", Symmetric())
    assert type(layer).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert layer.parametrizations.weight.original is weight
    np.testing.assert_allclose(layer.weight.numpy(), layer.weight.numpy().T)
    layer(tl.tensor(RNG.standard_normal((4, 3)))).pow(2).sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.numpy(), layer.weight.numpy().T)  # still symmetric
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    value = layer.weight.numpy().copy()
    parametrize.remove_parametrizations(layer, "weight")
    # NOTE: re-registered last, as in torch
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["bias", "weight"]
    assert layer.weight is weight and np.allclose(weight.numpy(), value)


def test_right_inverse_chains_and_assignment():
    layer = nn.Linear(2, 2).double()
    start = layer.weight.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Scale())
    np.testing.assert_allclose(layer.weight.numpy(), start)  # right_inverse kept the value
    np.testing.assert_allclose(layer.parametrizations.weight.original.numpy(), start / 2)
    parametrize.register_parametrization(layer, "weight", Scale())  # applied after the first
    np.testing.assert_allclose(layer.weight.numpy(), 2 * start)
    layer.weight = tl.ones(2, 2, dtype=tl.float64)  # through both right_inverses
    np.testing.assert_allclose(layer.parametrizations.weight.original.numpy(), 0.25)
    np.testing.assert_allclose(layer.weight.numpy(), 1.0)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    np.testing.assert_allclose(layer.weight.numpy(), 0.25)


def test_parametrize_refuses_what_it_cannot_do():
    layer = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="changes weight's shape"):
        parametrize.register_parametrization(layer, "weight", nn.Flatten(0))
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["weight", "bias"]
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(layer, "nope", Symmetric())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(layer, "weight")
    parametrizations.weight_norm(layer)
    with pytest.raises(ValueError, match="sequence of tensors"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)


def test_weight_norm_and_spectral_norm_without_torch():
    layer = parametrizations.weight_norm(nn.Linear(4, 3).double())
    g, v = layer.parametrizations.weight.original0, layer.parametrizations.weight.original1
    assert g.shape == (3, 1) and v.shape == (3, 4)
    np.testing.assert_allclose(np.linalg.norm(layer.weight.numpy(), axis=1), g.numpy()[:, 0])
    assert tl.gradcheck(lambda g, v: layer.parametrizations.weight[0](g, v),
                        (g.detach().requires_grad_(), v.detach().requires_grad_()))
    conv = parametrizations.spectral_norm(nn.Conv2d(2, 3, 3).double(), n_power_iterations=3)
    for _ in range(20):  # power iteration in training mode converges to the top singular value
        _ = conv.weight
    matrix = conv.weight.numpy().reshape(3, -1)
    assert np.isclose(np.linalg.svd(matrix, compute_uv=False)[0], 1.0, rtol=1e-6)
    assert [n for n, _ in conv.named_buffers()] == ["parametrizations.weight.0._u",
                                                    "parametrizations.weight.0._v"]
    with pytest.raises(ValueError, match="n_power_iterations"):
        parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


def _pair(torch, make):
    theirs, ours = make(torch.nn), make(nn)
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return theirs, ours


def _same_outputs_and_grads(torch, theirs, ours, x):
    a, b = theirs(torch.tensor(x)), ours(tl.tensor(x))
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10)
    for p, q in zip(theirs.parameters(), ours.parameters(), strict=True):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, lambda m: m.Linear(4, 3).double())
    torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
    parametrizations.weight_norm(ours, dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    _same_outputs_and_grads(torch, theirs, ours, RNG.standard_normal((5, 4)))


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Linear(4, 3).double(), (2, 4)),
    (lambda m: m.Conv2d(2, 3, 3).double(), (1, 2, 5, 5)),
    (lambda m: m.ConvTranspose2d(2, 3, 3).double(), (1, 2, 4, 4))])
def test_spectral_norm_matches_torch_in_training_and_eval(make, shape):
    torch = pytest.importorskip("torch")
    theirs, ours = _pair(torch, make)
    torch.nn.utils.parametrizations.spectral_norm(theirs)
    parametrizations.spectral_norm(ours)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})  # torch's random start vectors
    x = RNG.standard_normal(shape)
    for training in (True, False):
        theirs.train(training)
        ours.train(training)
        _same_outputs_and_grads(torch, theirs, ours, x)
        np.testing.assert_allclose(ours.parametrizations.weight[0]._u.numpy(),
                                   theirs.parametrizations.weight[0]._u.numpy())


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "linear"])
def test_fusing_an_eval_batch_norm_into_the_layer_before_it(kind):
    layer, bn, shape = {
        "conv": (nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3), (2, 2, 5, 5)),
        "conv_transpose": (nn.ConvTranspose2d(2, 3, 3), nn.BatchNorm2d(3, affine=False),
                           (2, 2, 4, 4)),
        "linear": (nn.Linear(4, 3), nn.BatchNorm1d(3), (5, 4))}[kind]
    layer, bn = layer.double(), bn.double()
    x = tl.tensor(RNG.standard_normal(shape))
    bn(layer(x))  # training-mode statistics to fold in
    layer.eval()
    bn.eval()
    if kind == "linear":
        fused = nn.utils.fuse_linear_bn_eval(layer, bn)
    else:
        fused = nn.utils.fuse_conv_bn_eval(layer, bn, transpose=kind == "conv_transpose")
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(layer(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    assert fused is not layer and fused.bias is not None
    assert fused.bias.requires_grad == (layer.bias is not None)  # torch's rule
    layer.train()
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_linear_bn_eval(layer, bn) if kind == "linear" else (
            nn.utils.fuse_conv_bn_eval(layer, bn))
    torch = pytest.importorskip("torch")
    w, b = nn.utils.fuse_conv_bn_weights(tl.ones(3, 2, 1, 1), None, tl.ones(3), tl.ones(3) * 3,
                                         1.0, None, tl.ones(3))
    tw, tb = torch.nn.utils.fuse_conv_bn_weights(torch.ones(3, 2, 1, 1), None, torch.ones(3),
                                                 torch.ones(3) * 3, 1.0, None, torch.ones(3))
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy())
    np.testing.assert_allclose(b.detach().numpy(), tb.detach().numpy())
