"""Conveniences PyTorch code relies on: container arithmetic, tagged parameters, norm layers'
reset_parameters, hook handles as context managers, checkpoints without BatchNorm's
num_batches_tracked, a conv's `transposed`, kl_div's warning, `reversed(t)`."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def test_sequential_extend_add_and_repeat_share_the_module_objects():
    relu, tanh = nn.ReLU(), nn.Tanh()
    seq = nn.Sequential(relu).extend([tanh])
    assert list(seq) == [relu, tanh]
    both = seq + nn.Sequential(nn.Sigmoid())
    assert isinstance(both, nn.Sequential) and len(both) == 3 and len(seq) == 2
    twice = seq * 2
    assert [m for m in twice] == [relu, tanh, relu, tanh] and list(2 * seq) == list(twice)
    seq *= 2
    assert list(seq._modules) == ["0", "1", "2", "3"]
    seq += nn.Sequential(nn.Identity())
    assert len(seq) == 5
    with pytest.raises(ValueError):
        seq * 0
    with pytest.raises(ValueError):
        seq + [nn.ReLU()]


def test_module_list_add_and_iadd():
    ml = nn.ModuleList([nn.ReLU()])
    joined = ml + [nn.Tanh()]
    assert isinstance(joined, nn.ModuleList) and len(joined) == 2 and len(ml) == 1
    ml += [nn.Tanh(), nn.Sigmoid()]
    assert [type(m).__name__ for m in ml] == ["ReLU", "Tanh", "Sigmoid"]
    pl = nn.ParameterList([tl.ones(2)])
    pl += [tl.zeros(3)]
    assert [p.shape for p in pl] == [(2,), (3,)] and isinstance(pl[1], nn.Parameter)


def test_parameters_can_be_tagged_and_keep_their_tags_through_copies():
    model = nn.Linear(3, 2)
    model.bias._no_weight_decay = True
    decay = [p for p in model.parameters() if not getattr(p, "_no_weight_decay", False)]
    assert decay == [model.weight]
    assert copy.deepcopy(model).bias._no_weight_decay
    assert pickle.loads(pickle.dumps(model.bias))._no_weight_decay
    with pytest.raises(AttributeError):
        tl.ones(2).tag = 1  # plain tensors stay slotted (per-op cost)


@pytest.mark.parametrize("make", [lambda: nn.LayerNorm(4), lambda: nn.BatchNorm1d(4),
                                  lambda: nn.GroupNorm(2, 4), lambda: nn.RMSNorm(4),
                                  lambda: nn.InstanceNorm1d(4, affine=True)])
def test_norm_layers_reset_their_parameters(make):
    norm = make()
    with tl.no_grad():
        for p in norm.parameters():
            p.fill_(3.0)
    if getattr(norm, "running_mean", None) is not None:
        norm.train()
        norm(tl.randn(5, 4))
    norm.reset_parameters()
    assert np.array_equal(norm.weight.numpy(), np.ones(4))
    if getattr(norm, "bias", None) is not None:
        assert np.array_equal(norm.bias.numpy(), np.zeros(4))
    if getattr(norm, "running_mean", None) is not None:
        assert np.array_equal(norm.running_mean.numpy(), np.zeros(4))
        assert norm.num_batches_tracked.item() == 0


def test_hook_handle_removes_its_hook_on_leaving_a_with_block():
    layer, calls = nn.Linear(2, 2), []
    with layer.register_forward_hook(lambda *args: calls.append("hook")):
        layer(tl.ones(1, 2))
    layer(tl.ones(1, 2))
    assert calls == ["hook"]


def test_checkpoint_without_num_batches_tracked_loads_as_in_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model[1].num_batches_tracked.fill_(7)
    old = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    result = model.load_state_dict(old)
    assert result.missing_keys == [] and model[1].num_batches_tracked.item() == 7
    with pytest.raises(RuntimeError, match="running_var"):
        model.load_state_dict({k: v for k, v in old.items() if "running_var" not in k})


def test_conv_layers_say_whether_they_are_transposed():
    assert nn.Conv2d(1, 2, 3).transposed is False
    assert nn.ConvTranspose2d(1, 2, 3).transposed is True


def test_kl_div_mean_warns_as_pytorch_does_and_batchmean_does_not():
    x, y = tl.zeros(2, 3), tl.full((2, 3), 1 / 3)
    with pytest.warns(UserWarning, match="batchmean"):
        nn.KLDivLoss()(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.KLDivLoss(reduction="batchmean")(x, y)


def test_reversed_flips_dim_0():
    t = tl.tensor([[1, 2], [3, 4]])
    assert reversed(t).tolist() == [[3, 4], [1, 2]]
    assert reversed(tl.tensor(5)).item() == 5


def test_recurrent_dropout_with_one_layer_warns_as_pytorch_does():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.5)
