"""The module contract: registration, traversal, modes, hooks, state dicts, repr, containers."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from nn_parity import torch_linear

import tinygrad_lite as tl
from tinygrad_lite import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.scale = nn.Parameter(tl.ones(3))

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 1)])
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        h = self.drop(self.block(x))
        return [head(h) for head in self.heads]


NET_NAMES = ["block.scale", "block.fc.weight", "block.fc.bias", "heads.0.weight",
             "heads.0.bias", "heads.1.weight", "heads.1.bias"]


# --------------------------------------------------------------------------- registration
def test_setattr_registers_parameters_and_modules_but_not_plain_tensors():
    m = nn.Module()
    m.w = nn.Parameter(tl.zeros(2))
    m.child = nn.Linear(2, 2)
    m.t = tl.zeros(2)
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert "t" in m.__dict__ and m.w is m._parameters["w"] and m.child is m._modules["child"]
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]


def test_reassigning_a_name_to_another_kind_moves_it_between_tables():
    m = nn.Module()
    m.x = nn.Linear(2, 2)
    m.x = nn.Parameter(tl.zeros(1))
    assert "x" not in m._modules and "x" in m._parameters
    m.x = nn.ReLU()
    assert "x" not in m._parameters and isinstance(m.x, nn.ReLU)
    m.y = 3
    m.y = nn.Parameter(tl.zeros(1))
    assert "y" not in m.__dict__ and m.y is m._parameters["y"]


def test_parameter_or_module_slot_accepts_none_but_refuses_other_values():
    m = nn.Linear(2, 2)
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        m.weight = tl.zeros(2, 2)
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="child module '0'"):
        setattr(seq, "0", 5)


def test_delattr_removes_parameters_and_modules():
    m = Block()
    del m.scale
    del m.fc
    assert [n for n, _ in m.named_parameters()] == []
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'fc'"):
        _ = m.fc


def test_assigning_a_parameter_before_super_init_names_the_fix():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tl.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        nn.ModuleList([nn.ReLU()])(tl.zeros(1))


# ------------------------------------------------------------------------------ Parameter
def test_parameter_is_a_tensor_that_requires_grad_and_shares_memory():
    data = tl.zeros(3)
    p = nn.Parameter(data)
    assert isinstance(p, tl.Tensor) and p.requires_grad and p.is_leaf
    p.numpy()[0] = 5.0
    assert data.numpy()[0] == 5.0
    assert not nn.Parameter(tl.zeros(1), requires_grad=False).requires_grad


def test_parameter_ops_give_plain_tensors_and_gradients():
    p = nn.Parameter(tl.tensor([1.0, 2.0]))
    out = p * 3
    assert type(out) is tl.Tensor and type(p.detach()) is tl.Tensor
    out.sum().backward()
    assert p.grad.tolist() == [3.0, 3.0]


def test_parameter_repr_matches_torch_layout():
    assert repr(nn.Parameter(tl.tensor([1.0, 2.0]))) == (
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)")


def test_integer_parameter_that_requires_grad_is_refused():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tl.tensor([1, 2]))


# ------------------------------------------------------------------------------ traversal
def test_named_parameters_are_dotted_in_registration_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_NAMES
    assert [n for n, _ in net.named_parameters(prefix="model")] == [
        "model." + n for n in NET_NAMES]
    assert [n for n, _ in net.block.named_parameters(recurse=False)] == ["scale"]
    assert len(list(net.parameters())) == 7


def test_traversal_names_match_torch_for_the_same_structure():
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = torch.nn.Linear(4, 3), torch.nn.ReLU()
            self.scale = torch.nn.Parameter(torch.ones(3))

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = TorchBlock()
            self.heads = torch.nn.ModuleList([torch.nn.Linear(3, 2), torch.nn.Linear(3, 1)])
            self.drop = torch.nn.Dropout(0.5)

    ours, theirs = Net(), TorchNet()
    for method in ("named_parameters", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, method)()] == [
            n for n, _ in getattr(theirs, method)()], method
    assert list(ours.state_dict()) == list(theirs.state_dict())
    visited, ref_visited = [], []
    ours.apply(lambda m: visited.append(type(m).__name__))
    theirs.apply(lambda m: ref_visited.append(type(m).__name__.replace("Torch", "")))
    assert visited == ref_visited


def test_modules_and_children_walk_the_tree():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Block", "ModuleList", "Dropout"]
    assert [n for n, _ in net.named_modules()] == [
        "", "block", "block.fc", "block.act", "heads", "heads.0", "heads.1", "drop"]
    assert len(list(net.modules())) == 8


def test_shared_parameter_and_shared_module_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert sum(p.numel() for p in model.parameters()) == 12
    assert len(list(model.modules())) == 3
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    # state_dict keeps both names of a tied weight, as PyTorch's does
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


# ---------------------------------------------------------------------- modes and gradients
def test_train_and_eval_reach_nested_modules_and_return_self():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.heads.train(False)
    assert net.training and not net.heads[1].training
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


def test_eval_turns_off_nested_dropout():
    net = Net()
    x = tl.ones(16, 4)
    tl.manual_seed(0)
    a = net.eval()(x)[0].numpy()
    tl.manual_seed(1)
    np.testing.assert_array_equal(a, net(x)[0].numpy())
    tl.manual_seed(1)
    assert not np.array_equal(a, net.train()(x)[0].numpy())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_clears_every_parameter_gradient(set_to_none):
    net = Net()
    sum(out.sum() for out in net.eval()(tl.randn(2, 4))).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=set_to_none)
    for p in net.parameters():
        assert p.grad is None if set_to_none else not p.grad.numpy().any()


def test_apply_visits_children_before_parents_and_returns_self():
    seen = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ---------------------------------------------------------------------------------- hooks
def test_forward_hook_sees_module_inputs_and_output_and_can_be_removed():
    layer = nn.Linear(2, 3)
    calls = []
    handle = layer.register_forward_hook(lambda m, inp, out: calls.append((m, inp, out)))
    x = tl.randn(4, 2)
    out = layer(x)
    (m, inp, seen_out), = calls
    assert m is layer and isinstance(inp, tuple) and inp[0] is x and seen_out is out
    handle.remove()
    layer(x)
    assert len(calls) == 1


def test_forward_hook_return_value_replaces_the_output():
    layer = nn.Identity()
    layer.register_forward_hook(lambda m, inp, out: out * 2)
    assert layer(tl.tensor([1.0])).tolist() == [2.0]


def test_forward_pre_hook_can_replace_the_input_and_be_removed():
    layer = nn.Identity()
    handle = layer.register_forward_pre_hook(lambda m, args: args[0] + 1)
    assert layer(tl.tensor([1.0])).tolist() == [2.0]
    handle.remove()
    assert layer(tl.tensor([1.0])).tolist() == [1.0]


def test_hooks_on_nested_modules_fire_in_call_order():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    order = []
    for name, m in model.named_modules():
        m.register_forward_pre_hook(lambda mod, args, name=name: order.append("pre " + name))
        m.register_forward_hook(lambda mod, args, out, name=name: order.append(name))
    model(tl.randn(1, 2))
    assert order == ["pre ", "pre 0", "0", "pre 1", "1", "pre 2", "2", ""]


# ----------------------------------------------------------------------------- state_dict
def test_state_dict_is_ordered_detached_and_shares_memory():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == NET_NAMES
    assert all(type(v) is tl.Tensor and not v.requires_grad for v in sd.values())
    with tl.no_grad():
        net.block.scale.fill_(7.0)
    assert sd["block.scale"].tolist() == [7.0, 7.0, 7.0]


def test_load_state_dict_round_trip_copies_in_place_and_keeps_dtype():
    src, dst = Net(), Net()
    params_before = list(dst.parameters())
    result = dst.load_state_dict({k: v.numpy().astype(np.float64)
                                  for k, v in src.state_dict().items()})
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    assert all(a is b for a, b in zip(params_before, dst.parameters()))
    for (name, a), b in zip(src.state_dict().items(), dst.parameters()):
        assert b.dtype == np.float32, name
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = tl.randn(3, 4)
    np.testing.assert_array_equal(src.eval()(x)[0].numpy(), dst.eval()(x)[0].numpy())


def test_strict_load_reports_missing_unexpected_and_mis_shaped_keys_together_unchanged():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = {"0.weight": np.zeros((3, 2)), "2.weight": np.zeros((1, 4)),
           "2.bias": np.zeros(1), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    assert str(err.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "0.bias".\n'
        '\tUnexpected key(s) in state_dict: "extra".\n'
        "\tsize mismatch for 0.weight: copying a param with shape (3, 2) from checkpoint, "
        "the shape in current model is (4, 2).\nNothing was loaded. Build the model with the "
        "checkpoint's layers and sizes, or pass strict=False to skip missing and unexpected "
        "keys.")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])  # 2.weight was not loaded either


def test_non_strict_load_loads_what_fits_and_returns_the_mismatched_names():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    result = model.load_state_dict({"2.bias": np.array([5.0]), "extra": np.zeros(1)},
                                   strict=False)
    assert result.missing_keys == ["0.weight", "0.bias", "2.weight"]
    assert result.unexpected_keys == ["extra"]
    assert model[2].bias.tolist() == [5.0]
    with pytest.raises(RuntimeError, match="size mismatch for 2.bias"):
        model.load_state_dict({"2.bias": np.zeros(2)}, strict=False)


def test_state_dict_loads_into_torch_and_back():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(fresh(tl.tensor(x)).numpy(), ours(tl.tensor(x)).numpy())


# ----------------------------------------------------------------------------------- repr
def test_repr_of_seed_mlp_is_pytorchs_string():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU())
    assert repr(model) == ("Sequential(\n"
                           "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
                           "  (1): ReLU()\n"
                           ")")


def test_repr_nests_children_and_shows_settings_like_pytorch():
    expected = (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=4, out_features=3, bias=True)\n"
        "    (act): ReLU()\n"
        "  )\n"
        "  (heads): ModuleList(\n"
        "    (0): Linear(in_features=3, out_features=2, bias=True)\n"
        "    (1): Linear(in_features=3, out_features=1, bias=True)\n"
        "  )\n"
        "  (drop): Dropout(p=0.5, inplace=False)\n"
        ")")
    assert repr(Net()) == expected


def test_repr_matches_str_of_the_same_torch_model():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    ours = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 10, bias=False),
        nn.Sequential(nn.Tanh(), nn.Sigmoid(), nn.Identity()), nn.Softmax(dim=1),
        nn.LogSoftmax(dim=-1), nn.ModuleList([nn.ReLU()]), nn.CrossEntropyLoss(), nn.MSELoss())
    theirs = tnn.Sequential(
        tnn.Flatten(), tnn.Linear(784, 256), tnn.LeakyReLU(0.2), tnn.Linear(256, 10, bias=False),
        tnn.Sequential(tnn.Tanh(), tnn.Sigmoid(), tnn.Identity()), tnn.Softmax(dim=1),
        tnn.LogSoftmax(dim=-1), tnn.ModuleList([tnn.ReLU()]), tnn.CrossEntropyLoss(),
        tnn.MSELoss())
    assert repr(ours) == str(theirs)


def test_linear_repr_lists_its_nonzero_penalties():
    assert repr(nn.Linear(2, 64, weight_l2=5e-4, bias_l2=5e-4)) == (
        "Linear(in_features=2, out_features=64, bias=True, weight_l2=0.0005, bias_l2=0.0005)")


# ----------------------------------------------------------------------------- containers
def test_sequential_indexing_slicing_len_append_and_iteration():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b)
    assert model[0] is a and model[-1] is b and len(model) == 2
    assert model.append(c) is model and model[2] is c and list(model) == [a, b, c]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    assert head[0] is b and len(model[::2]) == 2
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]
    with pytest.raises(IndexError):
        model[-4]


def test_sequential_runs_modules_in_order_and_accepts_an_ordered_dict():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    assert model.fc is model[0]
    x = tl.randn(3, 2)
    np.testing.assert_array_equal(model(x).numpy(), model.fc(x).relu().numpy())


def test_sequential_matches_torch_forward_with_copied_weights():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    theirs = torch.nn.Sequential(torch_linear(ours[0]), torch.nn.Tanh(), torch_linear(ours[2]))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_module_list_append_extend_iadd_index_slice_and_registration():
    layers = nn.ModuleList()
    first = nn.Linear(2, 2)
    assert layers.append(first) is layers
    layers.extend([nn.ReLU(), nn.Linear(2, 1)])
    layers += [nn.Sigmoid()]
    assert len(layers) == 4 and layers[0] is first and isinstance(layers[-1], nn.Sigmoid)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    tail = layers[2:]
    assert isinstance(tail, nn.ModuleList) and list(tail._modules) == ["0", "1"]
    owner = nn.Module()
    owner.layers = layers
    assert [n for n, _ in owner.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]


# ------------------------------------------------------------------------------ penalties
def test_regularization_loss_of_a_model_without_penalties_is_a_zero_scalar():
    loss = Net().regularization_loss()
    assert loss.shape == () and loss.item() == 0.0 and not loss.requires_grad


def test_regularization_loss_sums_every_nested_linear_once():
    inner = nn.Linear(3, 3, weight_l1=0.1, bias_l2=0.2, dtype=tl.float64)
    model = nn.Sequential(nn.Linear(2, 3, weight_l2=0.3, dtype=tl.float64), nn.ReLU(),
                          nn.Sequential(inner, inner))
    w0 = model[0].weight.numpy()
    expected = (0.3 * (w0 ** 2).sum() + 0.1 * np.abs(inner.weight.numpy()).sum()
                + 0.2 * (inner.bias.numpy() ** 2).sum())
    np.testing.assert_allclose(model.regularization_loss().item(), expected, rtol=1e-12)
