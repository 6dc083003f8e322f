"""nn.utils: weight_norm / remove_weight_norm and the split gradient clipping
(get_total_norm, clip_grads_with_norm_), against closed forms and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


@pytest.mark.parametrize("dim, g_shape", [(0, (2, 1)), (1, (1, 3)), (None, ())])
def test_weight_norm_splits_the_weight_into_magnitude_and_direction(dim, g_shape):
    tl.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    before = layer.weight.numpy().copy()
    nn.utils.weight_norm(layer, dim=dim)
    assert list(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert layer.weight_g.shape == g_shape and np.allclose(layer.weight.numpy(), before)
    x = tl.randn(4, 3, dtype=tl.float64)

    def run(g, v, b):  # NOTE: gradcheck perturbs the parameters in place
        return layer(x)

    assert tl.gradcheck(run, [layer.weight_g, layer.weight_v, layer.bias])
    with tl.no_grad():
        layer.weight_g.mul_(2.0)
    assert np.allclose(layer(x).numpy(), x.numpy() @ (2 * before).T + layer.bias.numpy())
    nn.utils.remove_weight_norm(layer)
    assert list(layer.state_dict()) == ["bias", "weight"]
    assert isinstance(layer.weight, nn.Parameter) and np.allclose(layer.weight.numpy(),
                                                                  2 * before)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(layer)


def test_weight_norm_twice_is_refused():
    layer = nn.utils.weight_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="already has weight_norm"):
        nn.utils.weight_norm(layer)


def test_clipping_in_two_steps_equals_clip_grad_norm():
    grads = [np.array([3.0, 4.0]), np.array([12.0])]
    params = [tl.zeros(len(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = tl.tensor(g)
    total = nn.utils.get_total_norm([p.grad for p in params])
    assert np.isclose(total.item(), 13.0)
    assert np.isclose(nn.utils.get_total_norm([p.grad for p in params], "inf").item(), 12.0)
    nn.utils.clip_grads_with_norm_(params, 1.3, total)
    assert np.allclose(params[0].grad.numpy(), [0.3, 0.4], atol=1e-6)
    assert np.isclose(nn.utils.clip_grad_norm_(params, 10.0).item(), 1.3, atol=1e-6)


def test_weight_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    for dim, make, shape in [(0, "Linear(3, 2)", (4, 3)), (0, "Conv1d(2, 4, 3)", (2, 2, 7)),
                             (None, "Linear(3, 2)", (4, 3)), (1, "Linear(3, 2)", (4, 3))]:
        theirs = torch.nn.utils.weight_norm(eval("nn." + make, {"nn": torch.nn}).double(),
                                            dim=dim)
        ours = nn.utils.weight_norm(eval("nn." + make, {"nn": nn}).double(), dim=dim)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: tl.tensor(v.detach().numpy())
                              for k, v in theirs.state_dict().items()})
        x = np.random.default_rng(0).standard_normal(shape)
        t_out, l_out = theirs(torch.tensor(x)), ours(tl.tensor(x))
        assert np.allclose(t_out.detach().numpy(), l_out.numpy())
        (t_out ** 2).sum().backward()
        (l_out ** 2).sum().backward()
        for (name, a), b in zip(theirs.named_parameters(), ours.parameters()):
            assert np.allclose(a.grad.numpy(), b.grad.numpy()), (make, name)
