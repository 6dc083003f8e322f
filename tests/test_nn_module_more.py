"""The rest of PyTorch's module contract (dtype casts, lookup by dotted name, freezing, state
dict options, dir) and the RNG state functions, each checked against torch's behaviour."""
from __future__ import annotations

import re

import numpy as np
import pytest
from nn_parity import torch_linear

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch")


def build(lib):
    """The same small model in tinygrad_lite (lib=tl) or PyTorch (lib=torch)."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.scale = nn.Parameter(lib.ones(3))
            self.register_buffer("step", lib.zeros(1))

        def forward(self, x):
            return self.bn(self.fc(x)) * self.scale

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()
            self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 1)])

        def forward(self, x):
            h = self.block(x)
            return [head(h) for head in self.heads]

    return Net()


def dtypes(model) -> dict:
    """{name: dtype name} for every parameter and buffer, in either library."""
    named = [*model.named_parameters(), *model.named_buffers()]
    return {name: str(t.dtype).removeprefix("torch.") for name, t in named}


# --------------------------------------------------------------------------- dtype casts
@pytest.mark.parametrize("method", ["double", "half", "float"])
def test_cast_methods_give_the_dtypes_torch_gives_and_return_self(method):
    ours, theirs = build(tl).double(), build(torch).double()
    assert getattr(ours, method)() is ours
    getattr(theirs, method)()
    assert dtypes(ours) == dtypes(theirs)
    assert dtypes(ours)["block.bn.num_batches_tracked"] == "int64"


TO_FORMS = {
    "dtype": (lambda m: m.to(tl.float64), lambda m: m.to(torch.float64)),
    "device": (lambda m: m.to("cpu"), lambda m: m.to("cpu")),
    "device_then_dtype": (lambda m: m.to("cpu", tl.float64),
                          lambda m: m.to("cpu", torch.float64)),
    "keywords": (lambda m: m.to(device="cpu", dtype=tl.float16, non_blocking=True),
                 lambda m: m.to(device="cpu", dtype=torch.float16, non_blocking=True)),
    "tensor": (lambda m: m.to(tl.zeros(1, dtype=tl.float64)),
               lambda m: m.to(torch.zeros(1, dtype=torch.float64))),
    "dtype_and_non_blocking": (lambda m: m.to(tl.float64, False),
                               lambda m: m.to(torch.float64, False)),
}


@pytest.mark.parametrize("form", TO_FORMS)
def test_to_accepts_torchs_argument_forms(form):
    ours_to, theirs_to = TO_FORMS[form]
    ours, theirs = build(tl), build(torch)
    assert ours_to(ours) is ours
    theirs_to(theirs)
    assert dtypes(ours) == dtypes(theirs)


def test_to_refuses_an_integer_dtype_like_torch_and_any_device_but_the_cpu():
    message = "nn.Module.to only accepts floating point"
    with pytest.raises(TypeError, match=message):
        build(torch).to(torch.int64)
    ours = build(tl)
    with pytest.raises(TypeError, match=message):
        ours.to(tl.int64)
    with pytest.raises(TypeError, match=message):
        ours.to(tl.zeros(1, dtype=tl.int32))
    with pytest.raises(RuntimeError, match="CPU only, got device 'cuda'"):
        ours.to("cuda")
    with pytest.raises(TypeError, match="unexpected keyword argument 'dtyp'"):
        ours.to(dtyp=tl.float64)
    assert set(dtypes(ours).values()) == {"float32", "int64"}  # nothing changed
    assert ours.cpu() is ours


def test_type_casts_integer_buffers_too_like_torch():
    ours, theirs = build(tl), build(torch)
    assert ours.type(tl.float64) is ours
    theirs.type(torch.float64)
    assert dtypes(ours) == dtypes(theirs)
    assert dtypes(ours)["block.bn.num_batches_tracked"] == "float64"
    ours.type("torch.FloatTensor")
    theirs.type("torch.FloatTensor")
    assert dtypes(ours) == dtypes(theirs)


def test_type_to_an_integer_dtype_is_refused_while_parameters_require_grad():
    with pytest.raises(RuntimeError):
        build(torch).type(torch.int64)
    ours = build(tl)
    with pytest.raises(RuntimeError, match="require grad must stay floating point"):
        ours.type(tl.int64)
    assert dtypes(ours)["heads.0.weight"] == "float32"
    ours.requires_grad_(False).type(tl.int64)
    assert set(dtypes(ours).values()) == {"int64"}


def test_cast_keeps_parameter_and_gradient_objects_but_replaces_buffers_like_torch():
    for lib in (tl, torch):
        model = build(lib)
        model.block(lib.ones(2, 4)).sum().backward()
        params = dict(model.named_parameters())
        grads = {name: p.grad for name, p in params.items()}
        running_mean = model.block.bn.running_mean
        model.double()
        assert all(p is params[name] for name, p in model.named_parameters()), lib.__name__
        for name, p in model.named_parameters():
            if grads[name] is not None:
                assert p.grad is grads[name] and str(p.grad.dtype).endswith("float64"), name
        assert model.block.bn.running_mean is not running_mean
        assert str(model.block.bn.running_mean.dtype).endswith("float64")


def test_optimizer_built_before_double_keeps_training_the_same_parameters_as_torch():
    ours = tl.nn.Linear(3, 2)
    theirs = torch_linear(ours)
    opt = tl.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    ours.double()
    theirs.double()
    x = np.random.default_rng(0).standard_normal((5, 3))
    for _ in range(3):
        opt.zero_grad()
        opt_t.zero_grad()
        (ours(tl.tensor(x)) ** 2).mean().backward()
        (theirs(torch.tensor(x)) ** 2).mean().backward()
        opt.step()
        opt_t.step()
    assert ours.weight.dtype == tl.float64
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.bias.numpy(), theirs.bias.detach().numpy(), rtol=1e-12)


def test_double_model_runs_a_float64_forward_and_backward_in_float64():
    model = build(tl).double()
    x = tl.randn(5, 4, dtype=tl.float64)
    out = model(x)
    assert [o.dtype for o in out] == [tl.float64, tl.float64]
    sum(o.sum() for o in out).backward()
    assert model.block.fc.weight.grad.dtype == tl.float64
    assert model.block.bn.running_mean.dtype == tl.float64


# --------------------------------------------------------------------------- freezing
def test_requires_grad_false_freezes_every_parameter_like_torch_and_returns_self():
    for lib in (tl, torch):
        model = build(lib)
        assert model.block.requires_grad_(False) is model.block
        flags = {name: p.requires_grad for name, p in model.named_parameters()}
        assert flags == {name: not name.startswith("block.")
                         for name, _ in model.named_parameters()}, lib.__name__
        x = lib.ones(2, 4, requires_grad=True)
        sum(o.sum() for o in model(x)).backward()
        assert x.grad is not None and model.block.fc.weight.grad is None
        assert model.heads[0].weight.grad is not None
        assert all(p.requires_grad for p in model.requires_grad_().parameters())


# --------------------------------------------------------------------------- lookup by name
def test_get_submodule_parameter_and_buffer_find_the_same_objects_as_attributes():
    for lib in (tl, torch):
        model = build(lib)
        assert model.get_submodule("") is model
        assert model.get_submodule("block.fc") is model.block.fc
        assert model.get_submodule("heads.1") is model.heads[1]
        assert model.get_parameter("block.scale") is model.block.scale
        assert model.get_parameter("heads.0.bias") is model.heads[0].bias
        assert model.get_buffer("block.bn.running_var") is model.block.bn.running_var
        assert model.get_buffer("block.step") is model.block.step


LOOKUP_ERRORS = [
    ("get_submodule", "block.fcc", "Block has no attribute `fcc`"),
    ("get_submodule", "blocks.fc", "Net has no attribute `blocks`"),
    ("get_submodule", "heads.2", "ModuleList has no attribute `2`"),
    ("get_submodule", "block.scale", "`scale` is not an nn.Module"),
    ("get_submodule", "block.fc.weight.data", "`weight` is not an nn.Module"),
    ("get_parameter", "block.fc.wieght", "Linear has no attribute `wieght`"),
    ("get_parameter", "block.step", "`step` is not an nn.Parameter"),
    ("get_parameter", "block.fc", "`fc` is not an nn.Parameter"),
    ("get_parameter", "head.0.weight", "Net has no attribute `head`"),
    ("get_buffer", "block.scale", "`scale` is not a buffer"),
    ("get_buffer", "block.bn.running_avg", "BatchNorm1d has no attribute `running_avg`"),
]


@pytest.mark.parametrize("getter, target, message", LOOKUP_ERRORS)
def test_lookup_errors_are_attribute_errors_naming_the_bad_part_like_torch(getter, target,
                                                                          message):
    for lib in (torch, tl):
        with pytest.raises(AttributeError, match=re.escape(message)):
            getattr(build(lib), getter)(target)


def test_lookup_error_lists_the_children_that_do_exist():
    with pytest.raises(AttributeError, match=r"its children: fc, bn\)"):
        build(tl).get_submodule("block.conv")


# --------------------------------------------------------------------------- registration, dir
def test_register_module_is_add_module_like_torch():
    names = []
    for lib in (tl, torch):
        model = build(lib)
        assert model.block.register_module("extra", lib.nn.Linear(3, 3)) is None
        model.block.register_module("fc", lib.nn.Tanh())
        names.append([name for name, _ in model.named_modules()])
        assert isinstance(model.block.fc, lib.nn.Tanh)
    assert names[0] == names[1] and "block.extra" in names[0] and "block.fc" in names[0]


def test_dir_lists_parameters_buffers_and_children_like_torch():
    for lib in (tl, torch):
        model = build(lib)
        block_names = set(dir(model.block))
        assert {"fc", "bn", "scale", "step", "forward", "training"} <= block_names
        assert "0" not in dir(model.heads) and "append" in dir(model.heads)
        assert dir(model) == sorted(dir(model))


# --------------------------------------------------------------------------- traversal options
def test_state_dict_prefix_keep_vars_and_destination_match_torch():
    ours, theirs = build(tl), build(torch)
    for kwargs in ({}, {"prefix": "net."}, {"keep_vars": True}):
        sd, sd_t = ours.state_dict(**kwargs), theirs.state_dict(**kwargs)
        assert list(sd) == list(sd_t)
        kinds = [isinstance(v, tl.nn.Parameter) for v in sd.values()]
        assert kinds == [isinstance(v, torch.nn.Parameter) for v in sd_t.values()]
        assert [v.requires_grad for v in sd.values()] == [
            v.requires_grad for v in sd_t.values()]
    assert ours.state_dict(keep_vars=True)["block.scale"] is ours.block.scale
    assert list(ours.state_dict(prefix="net."))[0] == "net.block.scale"
    destination = {"epoch": 3}
    assert ours.state_dict(destination=destination, prefix="m.") is destination
    assert list(destination)[:2] == ["epoch", "m.block.scale"]


def test_named_parameters_modules_and_buffers_options_match_torch():
    ours, theirs = build(tl), build(torch)
    shared_t = theirs.heads[0]
    ours.heads.append(ours.heads[0])
    theirs.heads.append(shared_t)

    def names(model, method, **kwargs):
        return [name for name, _ in getattr(model, method)(**kwargs)]

    calls = [("named_parameters", {"prefix": "m", "recurse": True}),
             ("named_parameters", {"recurse": False}),
             ("named_parameters", {"remove_duplicate": False}),
             ("named_buffers", {"prefix": "m", "recurse": True}),
             ("named_modules", {"prefix": "root"}),
             ("named_modules", {"prefix": "root", "remove_duplicate": False})]
    for method, kwargs in calls:
        assert names(ours, method, **kwargs) == names(theirs, method, **kwargs), (method, kwargs)
    assert len(list(ours.block.parameters(recurse=False))) == 1
    assert len(list(theirs.block.parameters(recurse=False))) == 1


# --------------------------------------------------------------------------- RNG state
def test_rng_state_is_a_uint8_tensor_like_torchs_and_round_trip_repeats_draws():
    tl.manual_seed(0)
    tl.rand(3)  # NOTE: an odd number of float32 draws leaves half a 64-bit draw buffered
    state = tl.get_rng_state()
    assert isinstance(state, tl.Tensor) and state.dtype == tl.uint8 == np.uint8
    assert torch.get_rng_state().dtype == torch.uint8
    first = [tl.rand(5).numpy(), tl.randn(4, 3).numpy(), tl.randint(0, 100, (6,)).numpy()]
    assert not tl.equal(tl.get_rng_state(), state)
    tl.set_rng_state(state)
    again = [tl.rand(5).numpy(), tl.randn(4, 3).numpy(), tl.randint(0, 100, (6,)).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(50, 20), (300, 300)])  # the second reaches numba's kernel
def test_rng_state_round_trip_repeats_dropout_masks(backend, shape):
    tl.manual_seed(1)
    drop = tl.nn.Dropout(0.5)
    x = tl.ones(*shape)
    state = tl.get_rng_state()
    first = drop(x).numpy()
    second = drop(x).numpy()
    assert not np.array_equal(first, second)
    tl.set_rng_state(state)
    np.testing.assert_array_equal(drop(x).numpy(), first)
    np.testing.assert_array_equal(drop(x).numpy(), second)


def test_set_rng_state_restores_the_draws_and_initial_seed_after_reseeding_like_torch():
    for lib in (tl, torch):
        lib.manual_seed(5)
        state = lib.get_rng_state()
        a = lib.randn(4).numpy()
        lib.manual_seed(7)
        lib.set_rng_state(state)
        np.testing.assert_array_equal(lib.randn(4).numpy(), a)
        assert lib.initial_seed() == 5, lib.__name__


def test_seed_returns_a_fresh_seed_that_initial_seed_reports_and_reproduces():
    s = tl.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and tl.initial_seed() == s
    a = tl.randn(4).numpy()
    tl.manual_seed(s)
    np.testing.assert_array_equal(tl.randn(4).numpy(), a)
    assert tl.seed() != s
    tl.manual_seed(123)
    assert tl.initial_seed() == 123


def test_rng_state_survives_tl_save_and_load(tmp_path):
    tl.manual_seed(2)
    tl.save({"rng": tl.get_rng_state()}, tmp_path / "rng.npz")
    a = tl.randn(3).numpy()
    tl.set_rng_state(tl.load(tmp_path / "rng.npz")["rng"])
    np.testing.assert_array_equal(tl.randn(3).numpy(), a)


def test_set_rng_state_refuses_anything_but_a_state_from_get_rng_state():
    state = tl.get_rng_state()
    with pytest.raises(TypeError, match="uint8 tensor of 56 bytes"):
        tl.set_rng_state(state.float())
    with pytest.raises(TypeError, match="uint8 tensor of 56 bytes"):
        tl.set_rng_state(state[:40])
    with pytest.raises(ValueError, match="seed must be in"):
        tl.manual_seed(-1)


def test_assigning_an_nn_buffer_registers_a_buffer_like_torch():
    class Stats(nn.Module):
        def __init__(self):
            super().__init__()
            self.mean = nn.Buffer(tl.ones(2))
            self.scratch = nn.Buffer(tl.zeros(1), persistent=False)

    m = Stats()
    assert type(m.mean) is tl.Tensor and m.mean.tolist() == [1.0, 1.0]
    assert [n for n, _ in m.named_buffers()] == ["mean", "scratch"]
    assert list(m.state_dict()) == ["mean"] and not list(m.parameters())
    m.mean = nn.Buffer(tl.zeros(3))  # re-assigning replaces it in place
    assert m.state_dict()["mean"].shape == (3,)
    assert m.double().mean.dtype == tl.float64  # casts reach it, as any buffer
    with pytest.raises(KeyError, match="already exists"):
        m.plain = 1
        m.plain = nn.Buffer(tl.ones(1))


def test_recurrent_layers_and_cells_share_pytorchs_public_bases():
    assert all(isinstance(m, nn.RNNBase) for m in (nn.RNN(3, 4), nn.LSTM(3, 4), nn.GRU(3, 4)))
    assert all(isinstance(m, nn.RNNCellBase)
               for m in (nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)))
    assert nn.RNNBase("RNN_TANH", 3, 4).mode == "RNN_TANH"
