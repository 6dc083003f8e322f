"""Tests for tinygrad_lite.optim: update rules (against torch.optim and by hand), groups,
state dicts, zero_grad, dtypes and argument checks."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim

SHAPES = [(3, 4), (5,), (2, 2)]
STEPS = 50

# (optimizer name, options): every option each rule has, in some case
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "weight_decay": 0.05}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CASES]


def _problem(dtype, seed=0):
    """Initial values and one fixed noise array per step and parameter."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    noise = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return init, noise


def _groups(params):
    """Two groups, the second with its own lr, as users write them."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.03}]


def _grad(p_value, noise):
    # the gradient of a quadratic bowl plus fixed noise: it depends on where p is
    return 0.5 * p_value + noise


def _train_tl(name, kw, init, noise, steps=STEPS, start=0, params=None, opt=None):
    """Steps `start` to `steps` on the problem; a fresh optimizer unless `params, opt` are
    given (to resume)."""
    if params is None:
        params = [tl.tensor(a, requires_grad=True) for a in init]
        opt = getattr(optim, name)(_groups(params), **kw)
    for t in range(start, steps):
        for p, n in zip(params, noise[t]):
            p.grad = tl.tensor(_grad(p.numpy(), n))
        opt.step()
    return params, opt


def _train_torch(torch, name, kw, init, noise, steps=STEPS):
    """The same steps with torch.optim; its parameters."""
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)(_groups(theirs), **kw)
    for t in range(steps):
        for p, n in zip(theirs, noise[t]):
            p.grad = torch.from_numpy(_grad(p.detach().numpy(), n))
        opt.step()
    return theirs


# --- parity with torch.optim ----------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_optimizer_matches_torch_over_50_steps_with_two_groups(name, kw, dtype, tol):
    torch = pytest.importorskip("torch")
    init, noise = _problem(dtype)
    ours, _ = _train_tl(name, kw, init, noise)
    theirs = _train_torch(torch, name, kw, init, noise)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_adam_trains_a_model_through_backward_like_torch():
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for (_, a), b in zip(model.named_parameters(), ref.parameters()):
            b.copy_(torch.from_numpy(a.numpy()))
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 2))
    y = y.astype(np.float32)
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01, weight_decay=0.01)
    for _ in range(20):
        opt.zero_grad()
        ((model(tl.tensor(x)) - tl.tensor(y)) ** 2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        ((ref(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean().backward()
        ref_opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- single steps by hand (no torch needed) -------------------------------------------------
def _one_param(values, grad, dtype=np.float64):
    p = tl.tensor(np.array(values, dtype=dtype), requires_grad=True)
    p.grad = tl.tensor(np.array(grad, dtype=dtype))
    return p


def test_sgd_plain_momentum_and_nesterov_steps_by_hand():
    g1, g2 = np.array([0.5, -1.0]), np.array([0.25, 2.0])
    p0 = np.array([1.0, 2.0])
    for nesterov in (False, True):
        p = _one_param(p0, g1)
        opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=nesterov)
        opt.step()
        buf = g1  # the buffer starts as the first gradient, undamped
        step1 = g1 + 0.9 * buf if nesterov else buf
        np.testing.assert_allclose(p.numpy(), p0 - 0.1 * step1, rtol=1e-15)
        p.grad = tl.tensor(g2)
        opt.step()
        buf = 0.9 * buf + g2
        step2 = g2 + 0.9 * buf if nesterov else buf
        np.testing.assert_allclose(p.numpy(), p0 - 0.1 * step1 - 0.1 * step2, rtol=1e-15)
    p = _one_param(p0, g1)
    optim.SGD([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.numpy(), p0 - 0.1 * (g1 + 0.5 * p0), rtol=1e-15)


def test_adam_first_step_moves_each_coordinate_by_lr_times_sign():
    p = _one_param([1.0, -2.0, 3.0], [0.5, -4.0, 1e-3])
    optim.Adam([p], lr=0.1, eps=1e-8).step()
    g = np.array([0.5, -4.0, 1e-3])
    # bias correction makes m_hat = g and v_hat = g^2 after one step
    np.testing.assert_allclose(p.numpy(), [1.0, -2.0, 3.0] - 0.1 * g / (np.abs(g) + 1e-8),
                               rtol=1e-12)


def test_adamw_decays_weights_directly_while_adam_decays_through_the_gradient():
    p = _one_param([1.0, -2.0], [0.0, 0.0])
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.numpy(), np.array([1.0, -2.0]) * (1 - 0.1 * 0.5), rtol=1e-15)
    q = _one_param([1.0, -2.0], [0.0, 0.0])
    optim.Adam([q], lr=0.1, weight_decay=0.5).step()  # the gradient becomes 0.5 * p
    np.testing.assert_allclose(q.numpy(), [1.0 - 0.1, -2.0 + 0.1], rtol=1e-7)


def test_adam_amsgrad_divides_by_the_largest_second_moment_seen():
    p = _one_param([0.0], [10.0])
    opt = optim.Adam([p], lr=0.1, betas=(0.0, 0.5), amsgrad=True, eps=0.0)
    opt.step()
    p.grad = tl.tensor(np.array([1.0]))
    before = p.numpy().copy()
    opt.step()
    v = 0.5 * (0.5 * 100.0) + 0.5 * 1.0  # exp_avg_sq after step 2; the max is still 50
    v_max = max(v, 50.0)
    expected = before - 0.1 * 1.0 / (math.sqrt(v_max) / math.sqrt(1 - 0.5**2))
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(opt.state[p]["max_exp_avg_sq"].numpy(), [50.0])


def test_rmsprop_first_step_and_centered_variant_by_hand():
    g = np.array([0.5, -2.0])
    p = _one_param([1.0, 1.0], g)
    optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-8).step()
    np.testing.assert_allclose(p.numpy(), 1.0 - 0.01 * g / (np.sqrt(0.1 * g * g) + 1e-8),
                               rtol=1e-12)
    p = _one_param([1.0, 1.0], g)
    optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-8, centered=True).step()
    var = 0.1 * g * g - (0.1 * g) ** 2
    np.testing.assert_allclose(p.numpy(), 1.0 - 0.01 * g / (np.sqrt(var) + 1e-8), rtol=1e-12)


def test_adagrad_accumulates_squares_and_decays_its_rate():
    g = np.array([0.5, -2.0])
    p = _one_param([1.0, 1.0], g)
    opt = optim.Adagrad([p], lr=0.1, lr_decay=0.5, initial_accumulator_value=1.0, eps=0.0)
    opt.step()
    p1 = 1.0 - 0.1 * g / np.sqrt(1.0 + g * g)
    np.testing.assert_allclose(p.numpy(), p1, rtol=1e-15)
    opt.step()
    np.testing.assert_allclose(p.numpy(), p1 - 0.1 / 1.5 * g / np.sqrt(1.0 + 2 * g * g),
                               rtol=1e-15)


# --- dtypes, skipping, zero_grad, closure ---------------------------------------------------
@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_float32_parameters_and_state_stay_float32(name, kw):
    init, noise = _problem(np.float32)
    kw = {**kw, "lr": np.float64(kw["lr"])}  # a numpy float64 option must not promote
    params, opt = _train_tl(name, kw, init, noise, steps=3)
    for p in params:
        assert p.dtype == np.float32 and p.numpy().dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, tl.Tensor):
                assert value.dtype == np.float32


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_step_leaves_the_gradients_untouched(name, kw):
    init, noise = _problem(np.float64)
    params = [tl.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(_groups(params), **kw)
    for _ in range(2):
        for p, n in zip(params, noise[0]):
            p.grad = tl.tensor(n)
        opt.step()
        for p, n in zip(params, noise[0]):
            np.testing.assert_array_equal(p.grad.numpy(), n)


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES}))
def test_parameters_without_grad_are_skipped_and_get_no_state(name):
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    a.grad = tl.tensor([1.0, 1.0])
    opt = getattr(optim, name)([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])
    assert b not in opt.state and a in opt.state
    assert not np.array_equal(a.numpy(), [1.0, 2.0])


def test_zero_grad_sets_none_or_zeros_in_place():
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = tl.tensor([5.0, 6.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    assert b.grad is None
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_runs_the_closure_with_grad_enabled_and_returns_its_loss():
    w = tl.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tl.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.numpy(), [2.0 - 0.25 * 4.0])


def test_step_marks_parameters_modified_so_a_stale_graph_cannot_backward():
    w = tl.tensor([2.0, 3.0], requires_grad=True)
    y = (w * w).sum()  # saves w for its backward
    w.grad = tl.tensor([1.0, 1.0])
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# --- param groups and argument checks ---------------------------------------------------------
def test_param_groups_hold_every_option_with_group_overrides():
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    first, second = opt.param_groups
    assert list(first) == ["params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                           "maximize", "foreach", "differentiable", "fused"]
    assert (first["lr"], first["momentum"], first["nesterov"]) == (0.1, 0, False)
    assert second["lr"] == 0.5 and second["momentum"] == 0.9
    assert len(second["params"]) == 1 and second["params"][0] is b  # a Tensor becomes a list
    assert "Parameter Group 1" in repr(opt) and "lr: 0.5" in repr(opt)


def test_add_param_group_fills_defaults_and_its_params_are_stepped():
    a, b = tl.ones(2, requires_grad=True), tl.ones(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.5, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.5, 0.9) and opt.param_groups[1]["lr"] == 0.2
    b.grad = tl.ones(2)
    opt.step()
    np.testing.assert_allclose(b.numpy(), [0.8, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(a.numpy(), [1.0, 1.0])


def test_optimizer_accepts_model_parameters_generator():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert [p.shape for p in opt.param_groups[0]["params"]] == [(2, 3), (2,)]


def test_empty_duplicate_non_leaf_and_non_tensor_parameters_are_refused_or_warned():
    a = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.warns(UserWarning, match="twice"):  # NOTE: PyTorch 2.13 warns, steps twice
        twice = optim.SGD([a, a], lr=0.1)
    a.grad = tl.ones(2)
    twice.step()
    np.testing.assert_allclose(a.numpy(), [-0.2, -0.2])
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {a}}], lr=0.1)


@pytest.mark.parametrize("name, kw, option", [
    ("SGD", {"lr": -0.1}, "lr"),
    ("SGD", {"lr": float("nan")}, "lr"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "momentum"),
    ("SGD", {"lr": 0.1, "weight_decay": -1}, "weight_decay"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "nesterov"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "nesterov"),
    ("Adam", {"lr": -1e-3}, "lr"),
    ("Adam", {"betas": (1.0, 0.999)}, "betas[0]"),
    ("Adam", {"betas": (0.9, -0.1)}, "betas[1]"),
    ("Adam", {"eps": -1e-8}, "eps"),
    ("AdamW", {"weight_decay": -0.01}, "weight_decay"),
    ("RMSprop", {"alpha": -0.9}, "alpha"),
    ("RMSprop", {"momentum": -0.9}, "momentum"),
    ("RMSprop", {"eps": -1.0}, "eps"),
    ("Adagrad", {"lr_decay": -1.0}, "lr_decay"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
])
def test_invalid_options_are_value_errors_naming_the_option(name, kw, option):
    p = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=f"invalid {re.escape(option)}="):
        getattr(optim, name)([p], **kw)
    with pytest.raises(ValueError, match=f"invalid {re.escape(option)}="):
        getattr(optim, name)([{"params": [p], **kw}])  # a group's own options are checked too


def test_defaults_match_pytorch():
    p = tl.zeros(1, requires_grad=True)
    flags = {"maximize": False, "foreach": None, "differentiable": False}
    assert optim.SGD([p]).defaults == {"lr": 1e-3, "momentum": 0, "dampening": 0,
                                       "weight_decay": 0, "nesterov": False, **flags,
                                       "fused": None}
    assert optim.Adam([p]).defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0, "amsgrad": False, **flags,
                                        "capturable": False, "fused": None,
                                        "decoupled_weight_decay": False}
    assert optim.AdamW([p]).defaults["weight_decay"] == 1e-2
    assert optim.AdamW([p]).defaults["decoupled_weight_decay"] is True
    assert optim.RMSprop([p]).defaults == {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8,
                                           "weight_decay": 0, "momentum": 0, "centered": False,
                                           **flags, "capturable": False}
    assert optim.Adagrad([p]).defaults == {"lr": 1e-2, "lr_decay": 0, "eps": 1e-10,
                                           "weight_decay": 0, "initial_accumulator_value": 0,
                                           **flags, "fused": None}


# --- state dicts ------------------------------------------------------------------------------
def test_state_dict_has_pytorch_layout_and_is_a_snapshot():
    init, noise = _problem(np.float32)
    params, opt = _train_tl("Adam", {"lr": 0.01, "amsgrad": True}, init, noise, steps=2)
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.03 and sd["param_groups"][0]["lr"] == 0.01
    assert sorted(sd["state"]) == [0, 1, 2]
    assert list(sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert sd["state"][0]["step"] == 2 and isinstance(sd["state"][0]["exp_avg"], tl.Tensor)
    saved = sd["state"][0]["exp_avg"].numpy().copy()
    params[0].grad = tl.ones(*SHAPES[0])
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), saved)


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_mid_training_continues_identically(name, kw):
    init, noise = _problem(np.float32)
    params, opt = _train_tl(name, kw, init, noise, steps=10)
    copies = [tl.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    resumed = getattr(optim, name)(_groups(copies), lr=123.0)  # options come from the dict
    resumed.load_state_dict(opt.state_dict())
    assert resumed.param_groups[1]["lr"] == 0.03
    for t in range(10, 20):
        for ps, o in ((params, opt), (copies, resumed)):
            for p, n in zip(ps, noise[t]):
                p.grad = tl.tensor(_grad(p.numpy(), n))
            o.step()
    for a, b in zip(params, copies):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_casts_state_to_the_parameter_dtype_and_copies_it():
    init, noise = _problem(np.float64)
    _, opt64 = _train_tl("SGD", {"lr": 0.1, "momentum": 0.9}, init, noise, steps=2)
    params = [tl.tensor(a.astype(np.float32), requires_grad=True) for a in init]
    opt = optim.SGD(_groups(params), lr=0.1, momentum=0.9)
    sd = opt64.state_dict()
    opt.load_state_dict(sd)
    buf = opt.state[params[0]]["momentum_buffer"]
    assert buf.dtype == np.float32
    buf.numpy()[...] = 7
    assert not np.any(sd["state"][0]["momentum_buffer"].numpy() == 7)


def test_load_state_dict_refuses_mismatches_without_changing_anything():
    init, noise = _problem(np.float32)
    _params, opt = _train_tl("Adam", {"lr": 0.01}, init, noise, steps=2)
    good = opt.state_dict()
    before = opt.state_dict()
    other = optim.Adam([tl.zeros(3, requires_grad=True)], lr=0.5)
    with pytest.raises(ValueError, match="2 parameter groups.*has 1"):
        other.load_state_dict(good)
    bad_sizes = {"state": {}, "param_groups": [dict(good["param_groups"][0], params=[0]),
                                               good["param_groups"][1]]}
    with pytest.raises(ValueError, match="group 0 has 1 parameters"):
        opt.load_state_dict(bad_sizes)
    bad_shape = {"state": {**good["state"], 2: {**good["state"][2],
                                                "exp_avg": tl.zeros(7)}},
                 "param_groups": good["param_groups"]}
    with pytest.raises(ValueError, match=r"state 2\.exp_avg has shape \(7,\)"):
        opt.load_state_dict(bad_shape)
    bad_lr = {"state": good["state"],
              "param_groups": [dict(good["param_groups"][0], lr=-1), good["param_groups"][1]]}
    with pytest.raises(ValueError, match="invalid lr=-1"):
        opt.load_state_dict(bad_lr)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"param_groups": good["param_groups"]})
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, s in before["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(np.asarray(after["state"][i][k]), np.asarray(v))
