"""PyTorch parity of module containers (item assignment, deletion, insert, pop, repr),
full backward hooks, nn.Identity, and optimizer options (maximize, foreach, a tensor step).

Torch-free assertions come first in each section; the parity tests skip without torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def _torch():
    return pytest.importorskip("torch")


# --- containers ---------------------------------------------------------------------------
def test_sequential_setitem_keeps_the_key_and_del_renumbers():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    new = nn.Linear(3, 4)
    m[-1] = new
    assert m[2] is new and list(m._modules) == ["0", "1", "2"]
    del m[1]
    assert list(m._modules) == ["0", "1"] and m[1] is new
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                    "1.bias"]


@pytest.mark.parametrize("make", [nn.Sequential, lambda *ms: nn.ModuleList(ms)])
@pytest.mark.parametrize("edit", [lambda m: m.__setitem__(2, nn.ReLU()),
                                  lambda m: m.__delitem__(-3), lambda m: m.pop(5),
                                  lambda m: m.insert(3, nn.ReLU())])
def test_container_edit_out_of_range_raises_index_error(make, edit):
    m = make(nn.ReLU(), nn.Tanh())
    with pytest.raises(IndexError):
        edit(m)
    with pytest.raises(TypeError):
        m.insert(0, 3)
    assert len(m) == 2


def test_module_list_insert_pop_and_slices():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    m = nn.ModuleList([a, b])
    assert m.insert(-1, c) is None
    assert list(m) == [a, c, b] and list(m._modules) == ["0", "1", "2"]
    assert m.pop(0) is a and list(m._modules) == ["0", "1"]
    popped = m.pop(slice(0, 1))
    assert isinstance(popped, nn.ModuleList) and list(popped) == [c] and list(m) == [b]
    m.extend([a])
    del m[0:2]
    assert len(m) == 0


def _container_ops(L):
    from collections import OrderedDict
    nn_ = L.nn
    out = []
    s = nn_.Sequential(OrderedDict(a=nn_.ReLU(), b=nn_.Tanh(), c=nn_.ELU()))
    s[1] = nn_.GELU()
    out.append(repr(s))
    out.append(repr(s.pop(-1)))
    out.append(repr(s))
    s = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 1), nn_.Tanh())
    del s[1:3]
    out.append(repr(s))
    out.append(repr(s.insert(1, nn_.ELU())))
    out.append(repr(s.insert(-1, nn_.Sigmoid())))
    out.append(repr(s.pop(slice(1, 3))))
    m = nn_.ModuleList([nn_.Linear(1, 1), nn_.ReLU()])
    m[0] = nn_.Tanh()
    m.insert(0, nn_.Linear(2, 2))
    m.insert(3, nn_.ReLU())
    out.append(repr(m.pop(1)))
    del m[-1]
    out.append(repr(m))
    out.append([n for n, _ in m.named_parameters()])
    return out


def test_container_edits_match_torch():
    torch = _torch()
    assert _container_ops(tl) == _container_ops(torch)


def _reprs(L):
    nn_ = L.nn
    inner = [nn_.ReLU(), nn_.ReLU(), nn_.Tanh()]
    return [
        repr(nn_.ModuleList()),
        repr(nn_.ModuleList([nn_.Linear(2, 2), nn_.Linear(2, 2), nn_.ReLU()])),
        repr(nn_.ModuleList([nn_.ReLU(), nn_.Linear(2, 3), nn_.Linear(2, 3), nn_.Linear(2, 3),
                             nn_.ModuleList(inner), nn_.ModuleList(inner), nn_.ReLU()])),
        repr(nn_.Sequential(nn_.Linear(2, 2), nn_.Linear(2, 2),
                            nn_.ModuleList([nn_.ReLU(), nn_.ReLU()]))),
    ]


def test_module_list_repr_collapses_runs():
    text = repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Tanh()]))
    assert text == "ModuleList(\n  (0-2): 3 x ReLU()\n  (3): Tanh()\n)"


def test_container_reprs_match_torch():
    torch = _torch()
    assert _reprs(tl) == _reprs(torch)


# --- nn.Identity ----------------------------------------------------------------------------
def test_identity_ignores_its_arguments():
    x = tl.ones(2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity(3)) == "Identity()"


def test_identity_repr_matches_torch():
    torch = _torch()
    assert repr(nn.Identity(54, unused="x")) == repr(torch.nn.Identity(54, unused="x"))


# --- full backward hooks --------------------------------------------------------------------
def _grads(gs):
    return [None if g is None else np.asarray(g.detach().numpy()) for g in gs]


def _hooked_run(L, replace=False, pre=False):
    """Record every full backward hook call of a small model (whose input needs no grad),
    and the gradients it ends with."""
    nn_ = L.nn
    L.manual_seed(0)
    model = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 1)).double()
    with L.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(L.tensor(np.linspace(-1, 1, p.numel()).reshape(p.shape) + 0.1 * i))
    seen = []
    for layer in [model, *model]:
        layer.register_full_backward_hook(
            lambda m, gin, gout: seen.append((type(m).__name__, _grads(gin), _grads(gout))))
    if replace:
        model[1].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 10,))
    if pre:
        model[2].register_full_backward_pre_hook(lambda m, gout: (gout[0] * -2,))
    x = L.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=L.float64)
    model(x).sum().backward()
    return seen, [p.grad.numpy() for p in model.parameters()]


def _assert_same_runs(a, b):
    (seen_a, grads_a), (seen_b, grads_b) = a, b
    assert [s[0] for s in seen_a] == [s[0] for s in seen_b]
    for (_, gin_a, gout_a), (_, gin_b, gout_b) in zip(seen_a, seen_b):
        for x, y in zip(gin_a + gout_a, gin_b + gout_b, strict=True):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=1e-12)
    for x, y in zip(grads_a, grads_b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_full_backward_hook_order_and_grad_input_none_for_an_input_without_grad():
    seen, _ = _hooked_run(tl)
    assert [(name, [g is None for g in gin]) for name, gin, _ in seen] == [
        ("Sequential", [True]), ("Linear", [False]), ("ReLU", [False]), ("Linear", [True])]
    assert seen[0][2][0].shape == (2, 1)


@pytest.mark.filterwarnings("ignore:Full backward hook")
@pytest.mark.parametrize("replace, pre", [(False, False), (True, False), (False, True)])
def test_full_backward_hooks_match_torch(replace, pre):
    torch = _torch()
    _assert_same_runs(_hooked_run(tl, replace, pre), _hooked_run(torch, replace, pre))


def test_full_backward_hook_sees_only_this_calls_share():
    calls = []
    relu = nn.ReLU()
    handle = relu.register_full_backward_hook(lambda m, gin, gout: calls.append(gin[0]))
    x = tl.tensor([1.0, -1.0], requires_grad=True)
    (relu(x) * 3 + x).sum().backward()
    assert calls[0].tolist() == [3.0, 0.0] and x.grad.tolist() == [4.0, 1.0]
    handle.remove()
    relu(x).sum().backward()
    assert len(calls) == 1


def test_full_backward_hook_returning_the_wrong_count_raises():
    relu = nn.ReLU()
    relu.register_full_backward_hook(lambda m, gin, gout: (gin[0], gin[0]))
    with pytest.raises(RuntimeError, match="expected 1"):
        relu(tl.ones(2, requires_grad=True)).sum().backward()


# --- optimizer options and state ------------------------------------------------------------
_OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
               "RAdam"]
_W0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
_X = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0], [2.0, 0.0, 1.0], [-1.0, 1.0, 1.0]])


def _train(L, name, steps=5, sign=1.0, **options):
    """`steps` steps of optimizer `name` on a small float64 problem; its parameters and
    optimizer. `sign=-1` trains on the negated loss."""
    w = L.tensor(_W0.copy(), dtype=L.float64, requires_grad=True)
    b = L.tensor([0.1, -0.2], dtype=L.float64, requires_grad=True)
    opt = getattr(L.optim, name)([w, b], lr=0.01, **options)
    for _ in range(steps):
        opt.zero_grad()
        y = (L.tensor(_X, dtype=L.float64) @ w.T + b).tanh()
        (((y ** 2).sum() + (w ** 3).sum() * 0.1) * sign).backward()
        opt.step()
    return (w, b), opt


@pytest.mark.parametrize("name", _OPTIMIZERS)
def test_maximize_ascends_as_minimizing_the_negated_loss(name):
    (w_max, b_max), _ = _train(tl, name, maximize=True, sign=-1.0)
    (w_min, b_min), _ = _train(tl, name)
    np.testing.assert_allclose(w_max.numpy(), w_min.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b_max.numpy(), b_min.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", _OPTIMIZERS)
def test_maximize_and_kernel_flags_match_torch(name):
    torch = _torch()
    options = {"maximize": True, "foreach": False, "differentiable": False}
    (tw, tb), topt = _train(torch, name, **options)
    (lw, lb), lopt = _train(tl, name, **options)
    np.testing.assert_allclose(lw.numpy(), tw.detach().numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(lb.numpy(), tb.detach().numpy(), rtol=1e-6, atol=1e-9)
    t_group, l_group = topt.state_dict()["param_groups"][0], lopt.state_dict()["param_groups"][0]
    assert list(l_group) == list(t_group) and l_group == t_group
    assert list(lopt.state[lw]) == list(topt.state[tw])


@pytest.mark.parametrize("name", [n for n in _OPTIMIZERS if n != "SGD"])
def test_step_is_a_0d_float32_tensor_as_in_torch(name):
    (w, _), opt = _train(tl, name, steps=3)
    step = opt.state[w]["step"]
    assert isinstance(step, tl.Tensor) and step.shape == () and step.dtype == tl.float32
    assert step.item() == 3.0
    torch = _torch()
    (tw, _), topt = _train(torch, name, steps=3)
    assert repr(step) == repr(topt.state[tw]["step"]) == "tensor(3.)"


def test_state_dict_round_trip_keeps_the_step_tensor_and_loads_an_old_int_step():
    (w, b), opt = _train(tl, "Adam", steps=2)
    sd = opt.state_dict()
    assert sd["state"][0]["step"].item() == 2.0
    opt.step()
    assert sd["state"][0]["step"].item() == 2.0  # a snapshot, not the live counter
    (w2, b2), fresh = _train(tl, "Adam", steps=0)
    fresh.load_state_dict(sd)
    assert fresh.state[w2]["step"].item() == 2.0 and fresh.state[w2]["step"].dtype == tl.float32
    sd["state"][0]["step"] = 7  # what older versions saved
    fresh.load_state_dict(sd)
    w2.grad = tl.ones_like(w2)
    fresh.step()
    assert fresh.state[w2]["step"].item() == 8.0


# --- forward's argument names -------------------------------------------------------------
def _forward_arguments(cls) -> list[str]:
    import inspect
    return [n for n, p in inspect.signature(cls.forward).parameters.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][1:]


def test_every_modules_forward_names_its_arguments_as_pytorch_does():
    """`module(input=x)` works where it works in torch (its own Linear samples do that)."""
    torch = _torch()
    differ = []
    for name in dir(nn):
        ours, theirs = getattr(nn, name), getattr(torch.nn, name, None)
        if not (isinstance(ours, type) and issubclass(ours, nn.Module) and theirs):
            continue
        mine, torchs = _forward_arguments(ours), _forward_arguments(theirs)
        if mine and torchs and mine[:len(torchs)] != torchs[:len(mine)]:
            differ.append((name, mine, torchs))
    assert not differ


def test_every_module_that_takes_device_in_torch_takes_it_here():
    """`nn.Linear(784, 256, device=device)`, PyTorch's factory pattern, runs: 'cpu' (or
    None) is accepted, as is a `tl.device`; any other device is refused, naming the layer."""
    import inspect
    torch = _torch()
    missing = []
    for name in dir(nn):
        ours, theirs = getattr(nn, name), getattr(torch.nn, name, None)
        if not (isinstance(ours, type) and issubclass(ours, nn.Module) and theirs):
            continue
        if "device" in inspect.signature(theirs.__init__).parameters and name != "RNNCellBase" \
                and "device" not in inspect.signature(ours.__init__).parameters:
            missing.append(name)
    assert not missing
    for make in (lambda **d: nn.Linear(3, 2, **d), lambda **d: nn.Conv2d(1, 2, 3, **d),
                 lambda **d: nn.LSTM(3, 4, 2, **d), lambda **d: nn.LazyLinear(2, **d),
                 lambda **d: nn.TransformerEncoderLayer(4, 2, 8, **d)):
        make(device="cpu"), make(device=tl.device("cpu")), make(device=None)
        with pytest.raises(RuntimeError, match="only the 'cpu' device"):
            make(device="cuda")
    assert nn.Linear(3, 2, device="cpu", dtype=tl.float64).weight.dtype == tl.float64


# PyTorch's legacy arguments, deliberately not taken (deprecated for years, or vmap-only);
# the losses do take size_average and reduce (tests/test_loss_signatures.py)
_LEGACY = {"size_average", "reduce", "only_inputs", "is_grads_batched", "grad_variables",
           "_preallocate_and_copy", "out", "_stacklevel"}


def test_the_python_apis_take_every_argument_torchs_take():
    """nn.functional, nn.init, nn.utils, optim, lr_scheduler, utils.data, autograd, func,
    linalg: each function and class here takes every argument name its torch twin takes."""
    import inspect
    torch = _torch()
    pairs = [(torch.nn.functional, nn.functional), (torch.nn.init, nn.init),
             (torch.nn.utils, nn.utils), (torch.optim, tl.optim),
             (torch.optim.lr_scheduler, tl.optim.lr_scheduler),
             (torch.utils.data, tl.utils.data), (torch.autograd, tl.autograd),
             (torch.func, tl.func), (torch.linalg, tl.linalg)]
    missing = []
    for theirs, ours in pairs:
        for name in dir(theirs):
            t, o = getattr(theirs, name), getattr(ours, name, None)
            if name.startswith("_") or o is None or not callable(t):
                continue
            try:
                tp = inspect.signature(t.__init__ if isinstance(t, type) else t).parameters
                op = inspect.signature(o.__init__ if isinstance(o, type) else o).parameters
            except (TypeError, ValueError):
                continue
            if any(p.kind == p.VAR_KEYWORD for p in op.values()):
                continue
            lost = set(tp) - set(op) - _LEGACY - {"self", "args", "kwargs"}
            if lost:
                missing.append((theirs.__name__, name, sorted(lost)))
    assert not missing


def test_torchs_process_and_format_options_change_nothing_here(tmp_path):
    """DataLoader's worker options, save's pickle options and clip_grad_value_'s foreach are
    accepted and the result is what it is without them."""
    import pickle
    data = tl.utils.data.TensorDataset(tl.arange(10))
    plain = [b[0].tolist() for b in tl.utils.data.DataLoader(data, batch_size=4)]
    loader = tl.utils.data.DataLoader(data, batch_size=4, num_workers=2,
                                      multiprocessing_context="spawn", pin_memory_device="",
                                      in_order=True, persistent_workers=True)
    assert [b[0].tolist() for b in loader] == plain
    tl.save({"w": tl.ones(3)}, tmp_path / "a.npz", pickle, 4,
            _use_new_zipfile_serialization=False)
    assert tl.load(tmp_path / "a.npz")["w"].tolist() == [1, 1, 1]
    w = nn.Parameter(tl.ones(3))
    w.grad = tl.tensor([-5.0, 0.5, 5.0])
    nn.utils.clip_grad_value_([w], 1.0, foreach=True)
    assert w.grad.tolist() == [-1.0, 0.5, 1.0]


def test_linear_and_a_loss_take_their_inputs_by_keyword():
    layer = nn.Linear(3, 2)
    x = tl.randn(4, 3)
    np.testing.assert_array_equal(layer(input=x).numpy(), layer(x).numpy())
    t = tl.randn(4, 2)
    assert nn.MSELoss()(input=layer(x), target=t).item() == nn.MSELoss()(layer(x), t).item()


# --- an empty batch -----------------------------------------------------------------------
EMPTY_BATCH = {
    "Linear": (lambda nn: nn.Linear(4, 3), (0, 4)),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3, padding=1), (0, 2, 5, 5)),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), (0, 4, 3)),
    "Flatten": (lambda nn: nn.Flatten(), (0, 2, 3)),
    "AdaptiveMaxPool1d": (lambda nn: nn.AdaptiveMaxPool1d(2), (0, 2, 4)),
    "LayerNorm": (lambda nn: nn.LayerNorm(4), (0, 4)),
    "LSTM": (lambda nn: nn.LSTM(4, 3, batch_first=True), (0, 2, 4)),
    "TransformerEncoderLayer": (lambda nn: nn.TransformerEncoderLayer(
        4, 2, 8, dropout=0.0, batch_first=True), (0, 3, 4)),
    "max_unpool2d": (lambda nn: lambda x: nn.functional.max_unpool2d(
        *nn.functional.max_pool2d(x, 2, return_indices=True), 2), (0, 2, 4, 4)),
    "grid_sample": (lambda nn: lambda x: nn.functional.grid_sample(
        x, x.new_zeros((0, 3, 3, 2)), align_corners=False), (0, 2, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_BATCH))
def test_a_batch_of_zero_samples_gives_pytorchs_shapes(name):
    """N = 0 reshapes with the merged sizes: a -1 next to a 0 would be ambiguous."""
    torch = _torch()
    make, shape = EMPTY_BATCH[name]
    shapes = []
    for lib in (torch, tl):
        x = lib.zeros(shape, requires_grad=True)
        out = make(lib.nn)(x)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()
        shapes.append((tuple(out.shape), tuple(x.grad.shape)))
    assert shapes[1] == shapes[0]
