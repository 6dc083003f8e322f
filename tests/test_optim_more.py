"""Tests for the optimizers Adadelta, Adafactor, Adamax, NAdam and RAdam (against torch.optim
and by hand) and for the schedulers that combine others or set more than the rate:
OneCycleLR's momentum, SequentialLR, ChainedScheduler and ReduceLROnPlateau."""
from __future__ import annotations

import contextlib
import math
import re

import numpy as np
import pytest
from test_optim import _groups, _problem, _train_tl, _train_torch

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.optim import lr_scheduler

STEPS = 20  # NOTE: test_optim's problem (its noise covers more steps than these take)

# (optimizer name, options): every option of each rule, in some case
CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.05}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 2.0,
                   "weight_decay": 0.1}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05,
               "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),  # rho_t passes 5 at step 6: both branches run
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.05}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CASES]
NAMES = ["Adadelta", "Adafactor", "Adamax", "NAdam", "RAdam"]


@contextlib.contextmanager
def _torch_default_dtype(torch, dtype):
    # NOTE: torch keeps NAdam's mu_product (and every step count) in the default dtype, so
    # at float32 its float64 runs drift from ours by ~1e-9; float64 makes them comparable
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


# --- parity with torch.optim ----------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_new_optimizer_matches_torch_over_20_steps_with_two_groups(name, kw, dtype, tol):
    torch = pytest.importorskip("torch")
    init, noise = _problem(dtype)
    ours, _ = _train_tl(name, kw, init, noise, steps=STEPS)
    with _torch_default_dtype(torch, torch.float64 if dtype == np.float64 else torch.float32):
        theirs = _train_torch(torch, name, kw, init, noise, steps=STEPS)
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_new_optimizer_trains_a_linear_model_through_backward_like_torch(name):
    torch = pytest.importorskip("torch")
    tl.manual_seed(0)
    model = nn.Linear(4, 3)
    ref = torch.nn.Linear(4, 3)
    with torch.no_grad():
        for a, b in zip(model.parameters(), ref.parameters()):
            b.copy_(torch.from_numpy(a.numpy()))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    opt = getattr(optim, name)(model.parameters(), weight_decay=0.01)
    ref_opt = getattr(torch.optim, name)(ref.parameters(), weight_decay=0.01)
    for _ in range(STEPS):
        opt.zero_grad()
        ((model(tl.tensor(x)) - tl.tensor(y)) ** 2).mean().backward()
        opt.step()
        ref_opt.zero_grad()
        ((ref(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean().backward()
        ref_opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- single steps by hand (no torch needed) -------------------------------------------------
def _one_param(values, grad):
    p = tl.tensor(np.array(values, dtype=np.float64), requires_grad=True)
    p.grad = tl.tensor(np.array(grad, dtype=np.float64))
    return p


P0, G = np.array([1.0, -2.0, 3.0]), np.array([0.5, -4.0, 1e-3])


def test_adadelta_first_two_steps_by_hand():
    p = _one_param(P0, G)
    opt = optim.Adadelta([p], lr=0.5, rho=0.9, eps=1e-6)
    opt.step()
    sq = 0.1 * G * G
    delta1 = math.sqrt(1e-6) / np.sqrt(sq + 1e-6) * G  # acc_delta starts at 0
    np.testing.assert_allclose(p.numpy(), P0 - 0.5 * delta1, rtol=1e-14)
    opt.step()
    sq, acc = 0.9 * sq + 0.1 * G * G, 0.1 * delta1 * delta1
    delta2 = np.sqrt(acc + 1e-6) / np.sqrt(sq + 1e-6) * G
    np.testing.assert_allclose(p.numpy(), P0 - 0.5 * (delta1 + delta2), rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["acc_delta"].numpy(),
                               0.9 * acc + 0.1 * delta2 * delta2, rtol=1e-14)


def test_adamax_first_step_moves_by_lr_times_sign_and_keeps_the_largest_norm():
    p = _one_param(P0, G)
    opt = optim.Adamax([p], lr=0.1, betas=(0.9, 0.5), eps=0.0)
    opt.step()
    np.testing.assert_allclose(p.numpy(), P0 - 0.1 * np.sign(G), rtol=1e-14)
    p.grad = tl.tensor(G / 100)  # smaller: the decayed old norm, 0.5 |G|, stays the max
    opt.step()
    np.testing.assert_allclose(opt.state[p]["exp_inf"].numpy(), 0.5 * np.abs(G), rtol=1e-14)


def test_nadam_first_step_by_hand_and_its_momentum_product():
    p = _one_param(P0, G)
    opt = optim.NAdam([p], lr=0.1, betas=(0.9, 0.999), eps=0.0, momentum_decay=0.004)
    opt.step()
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96**0.008)
    # v / (1 - beta2) = g^2 after one step, so both terms divide by |g|
    want = P0 - 0.1 * np.sign(G) - 0.1 * mu2 / (1 - mu1 * mu2) * 0.1 * np.sign(G)
    np.testing.assert_allclose(p.numpy(), want, rtol=1e-14)
    assert opt.state[p]["mu_product"] == pytest.approx(mu1, rel=1e-15)


def test_radam_steps_like_momentum_sgd_until_rho_t_passes_five():
    p = _one_param([0.0], [2.0])
    opt = optim.RAdam([p], lr=0.1, betas=(0.9, 0.999), eps=0.0)
    rho_inf = 2 / 0.001 - 1
    for t in range(1, 8):
        before = p.numpy().copy()
        opt.step()  # a constant gradient: the bias-corrected mean is exactly 2
        rho_t = rho_inf - 2 * t * 0.999**t / (1 - 0.999**t)
        if rho_t <= 5:
            want = 0.1 * 2.0
        else:  # adaptive: sqrt(v_hat) = 2 as well, times the rectification
            want = 0.1 * math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                   / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        np.testing.assert_allclose(before - p.numpy(), [want], rtol=1e-12)
    assert opt.state[p]["step"] == 7


@pytest.mark.parametrize("name", ["NAdam", "RAdam"])
def test_decoupled_weight_decay_shrinks_weights_while_l2_goes_through_the_moments(name):
    p = _one_param([1.0, -2.0], [0.0, 0.0])
    opt = getattr(optim, name)([p], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    opt.step()
    np.testing.assert_allclose(p.numpy(), np.array([1.0, -2.0]) * (1 - 0.1 * 0.5), rtol=1e-15)
    np.testing.assert_array_equal(opt.state[p]["exp_avg"].numpy(), [0.0, 0.0])
    q = _one_param([1.0, -2.0], [0.0, 0.0])
    l2 = getattr(optim, name)([q], lr=0.1, weight_decay=0.5, betas=(0.5, 0.999))
    l2.step()  # the gradient becomes 0.5 * q
    np.testing.assert_allclose(l2.state[q]["exp_avg"].numpy(), [0.25, -0.5], rtol=1e-15)


# --- options, defaults, dtypes --------------------------------------------------------------
def test_new_optimizer_defaults_match_pytorch():
    p = tl.zeros(1, requires_grad=True)
    flags = {"maximize": False, "foreach": None, "capturable": False, "differentiable": False}
    assert optim.Adadelta([p]).defaults == {"lr": 1.0, "rho": 0.9, "eps": 1e-6,
                                            "weight_decay": 0, **flags}
    assert optim.Adamax([p]).defaults == {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                          "weight_decay": 0, **flags}
    assert optim.NAdam([p]).defaults == {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                         "weight_decay": 0, "momentum_decay": 4e-3,
                                         "decoupled_weight_decay": False, **flags}
    assert optim.RAdam([p]).defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                         "weight_decay": 0, "decoupled_weight_decay": False,
                                         **flags}


@pytest.mark.parametrize("name, kw, option", [
    ("Adadelta", {"lr": -1.0}, "lr"),
    ("Adadelta", {"rho": 1.5}, "rho"),
    ("Adadelta", {"rho": -0.1}, "rho"),
    ("Adadelta", {"eps": -1e-6}, "eps"),
    ("Adadelta", {"weight_decay": -0.1}, "weight_decay"),
    ("Adamax", {"lr": float("nan")}, "lr"),
    ("Adamax", {"betas": (1.0, 0.999)}, "betas[0]"),
    ("Adamax", {"eps": -1.0}, "eps"),
    ("NAdam", {"betas": (0.9, 1.0)}, "betas[1]"),
    ("NAdam", {"momentum_decay": -4e-3}, "momentum_decay"),
    ("NAdam", {"weight_decay": -0.1}, "weight_decay"),
    ("RAdam", {"lr": -1e-3}, "lr"),
    ("RAdam", {"betas": (-0.1, 0.999)}, "betas[0]"),
])
def test_new_optimizer_invalid_options_are_value_errors_naming_the_option(name, kw, option):
    p = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=f"{name}: invalid {re.escape(option)}="):
        getattr(optim, name)([p], **kw)
    with pytest.raises(ValueError, match=f"invalid {re.escape(option)}="):
        getattr(optim, name)([{"params": [p], **kw}])


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_new_optimizer_keeps_float32_parameters_and_state_float32(name, kw):
    init, noise = _problem(np.float32)
    kw = {**kw, "lr": np.float64(kw.get("lr", 0.01))}  # a numpy float64 option must not promote
    params, opt = _train_tl(name, kw, init, noise, steps=3)
    for p in params:
        assert p.numpy().dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, tl.Tensor):
                assert value.dtype == np.float32


# --- state dicts ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, keys", [
    ("Adadelta", ["step", "square_avg", "acc_delta"]),
    ("Adamax", ["step", "exp_avg", "exp_inf"]),
    ("NAdam", ["step", "mu_product", "exp_avg", "exp_avg_sq"]),
    ("RAdam", ["step", "exp_avg", "exp_avg_sq"]),
])
def test_new_optimizer_state_uses_pytorch_key_names(name, keys):
    init, noise = _problem(np.float64)
    _, opt = _train_tl(name, {}, init, noise, steps=2)
    sd = opt.state_dict()
    assert list(sd["state"][0]) == keys and sd["state"][0]["step"] == 2


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_new_optimizer_state_dict_round_trip_continues_identically(name, kw):
    init, noise = _problem(np.float32)
    params, opt = _train_tl(name, kw, init, noise, steps=10)
    copies = [tl.tensor(p.numpy().copy(), requires_grad=True) for p in params]
    resumed = getattr(optim, name)(_groups(copies), lr=123.0)  # options come from the dict
    resumed.load_state_dict(opt.state_dict())
    assert resumed.param_groups[1]["lr"] == 0.03
    _train_tl(name, kw, init, noise, STEPS, start=10, params=params, opt=opt)
    _train_tl(name, kw, init, noise, STEPS, start=10, params=copies, opt=resumed)
    for a, b in zip(params, copies):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# --- schedulers -------------------------------------------------------------------------------
LRS = (0.1, 0.3)
EPOCHS = 60


def _optimizer(lib=tl, opt_module=optim, name="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    return getattr(opt_module, name)([{"params": [a]}, {"params": [b], "lr": LRS[1]}],
                                     lr=LRS[0])


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _schedule(scheduler, epochs=EPOCHS):
    """Each epoch's rates and momenta (as a training loop sees them) for every group."""
    out = []
    for _ in range(epochs):
        groups = scheduler.optimizer.param_groups
        out.append([g["lr"] for g in groups] + [_momentum(g) for g in groups])
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(out)


def _both(build):
    """`build(lr_scheduler_module, optimizer)` run on ours and (if installed) torch's."""
    ours = build(lr_scheduler, _optimizer())
    torch = pytest.importorskip("torch")
    theirs = build(torch.optim.lr_scheduler, _optimizer(torch, torch.optim))
    return ours, theirs


def _warmup_then_decay(lib, opt):
    return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=5),
                                  lib.CosineAnnealingLR(opt, T_max=20),
                                  lib.MultiplicativeLR(opt, lambda t: 0.9),
                                  lib.ConstantLR(opt, factor=0.5)], milestones=[5, 25, 40])


def _restarts_then_lambda(lib, opt):
    return lib.SequentialLR(opt, [lib.ConstantLR(opt, factor=0.2, total_iters=3),
                                  lib.CosineAnnealingWarmRestarts(opt, T_0=6),
                                  lib.LambdaLR(opt, lambda t: 1 / (1 + t))], milestones=[10, 30])


def _chain(lib, opt):
    return lib.ChainedScheduler([lib.ConstantLR(opt, factor=0.1, total_iters=4),
                                 lib.ExponentialLR(opt, gamma=0.9), lib.LinearLR(opt)])


COMBINED = [_warmup_then_decay, _restarts_then_lambda, _chain]


@pytest.mark.parametrize("build", COMBINED, ids=lambda f: f.__name__)
def test_combined_scheduler_matches_torch_for_60_epochs(build):
    ours, theirs = _both(build)
    np.testing.assert_allclose(_schedule(ours), _schedule(theirs), rtol=1e-12, atol=0)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_sequential_lr_switches_schedules_at_the_milestones_by_hand():
    got = _schedule(_warmup_then_decay(lr_scheduler, _optimizer()), 42)[:, 0]
    warmup = [0.1 * (0.1 + 0.9 * t / 5) for t in range(5)]
    cosine = [0.1 * (1 + math.cos(math.pi * t / 20)) / 2 for t in range(20)]
    # MultiplicativeLR carries on from the current rate, lr_lambda(0) included; ConstantLR
    # starts again from the base rate
    multiplied = [cosine[-1] * 0.9 ** (t + 1) for t in range(15)]
    np.testing.assert_allclose(got, warmup + cosine + multiplied + [0.1 / 2] * 2, rtol=1e-12)


def test_chained_scheduler_multiplies_its_schedules_effects():
    got = _schedule(_chain(lr_scheduler, _optimizer()), 10)[:, 1]
    want = [0.3 * (0.1 if t < 4 else 1) * 0.9**t * (1 / 3 + 2 / 3 * min(t, 5) / 5)
            for t in range(10)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


CYCLING = [
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 60}),
    ("OneCycleLR", {"max_lr": [0.5, 1.0], "epochs": 6, "steps_per_epoch": 10,
                    "three_phase": True, "anneal_strategy": "linear",
                    "base_momentum": [0.8, 0.7]}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": [0.1, 0.2], "step_size_up": 6,
                  "mode": "exp_range", "gamma": 0.97, "base_momentum": [0.7, 0.75]}),
]


@pytest.mark.parametrize("name", ["SGD", "Adam"])
@pytest.mark.parametrize("sched_name, kw", CYCLING,
                         ids=["one-cycle", "one-cycle-three-phase", "cyclic", "cyclic-exp"])
def test_scheduler_cycles_momentum_or_beta1_like_torch(name, sched_name, kw):
    torch = pytest.importorskip("torch")
    ours = getattr(lr_scheduler, sched_name)(_optimizer(name=name), **kw)
    theirs = getattr(torch.optim.lr_scheduler, sched_name)(
        _optimizer(torch, torch.optim, name), **kw)
    np.testing.assert_allclose(_schedule(ours), _schedule(theirs), rtol=1e-12, atol=0)
    if name == "Adam":
        assert ours.optimizer.param_groups[0]["betas"][1] == 0.999  # beta2 untouched


def test_cyclic_lr_momentum_falls_as_the_rate_rises_by_hand():
    sched = lr_scheduler.CyclicLR(_optimizer(), base_lr=0.1, max_lr=0.5, step_size_up=2,
                                  step_size_down=4, mode="triangular2")
    got = _schedule(sched, 13)
    rise = [0, 0.5, 1, 0.75, 0.5, 0.25] * 2 + [0]
    height = [1.0] * 6 + [0.5] * 6 + [0.25]
    np.testing.assert_allclose(got[:, 0], [0.1 + 0.4 * r * h for r, h in zip(rise, height)],
                               rtol=1e-12)
    np.testing.assert_allclose(got[:, 2], [0.9 - 0.1 * r * h for r, h in zip(rise, height)],
                               rtol=1e-12)


def test_cyclic_lr_state_dict_keeps_a_callable_scale_object_but_not_a_function():
    class Halving:
        def __init__(self, base):
            self.base = base

        def __call__(self, cycle):
            return self.base ** (cycle - 1)

    sched = lr_scheduler.CyclicLR(_optimizer(), 0.1, 0.5, step_size_up=2, scale_fn=Halving(0.5))
    _schedule(sched, 5)
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"base": 0.5} and state["last_epoch"] == 5
    other = lr_scheduler.CyclicLR(_optimizer(), 0.1, 0.5, step_size_up=2, scale_fn=Halving(9))
    other.optimizer.load_state_dict(sched.optimizer.state_dict())
    other.load_state_dict(state)
    assert other._scale_fn_custom.base == 0.5
    np.testing.assert_allclose(_schedule(other, 4), _schedule(sched, 4), rtol=1e-12)
    plain = lr_scheduler.CyclicLR(_optimizer(), 0.1, 0.5, scale_fn=lambda c: 1.0)
    assert plain.state_dict()["_scale_fn_custom"] is None


def test_one_cycle_rises_to_max_lr_then_falls_to_its_minimum_by_hand():
    opt = _optimizer()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.5,
                                    div_factor=10, final_div_factor=100)
    got = _schedule(sched, 20)
    np.testing.assert_allclose(got[0, :2], [0.1, 0.1])  # max_lr / div_factor
    assert got[0, 2] == 0.95  # momentum starts at max_momentum
    peak = 9  # the warm-up's last step: pct_start * total_steps - 1
    np.testing.assert_allclose(got[peak], [1.0, 1.0, 0.85, 0.85], rtol=1e-12)
    np.testing.assert_allclose(got[19, :2], [0.1 / 100] * 2, rtol=1e-12)
    assert np.all(np.diff(got[:peak + 1, 0]) > 0) and np.all(np.diff(got[peak:, 0]) < 0)
    with pytest.raises(ValueError, match="stepped 21 times, but total_steps is 20"):
        sched.step()


def _plateau_metrics():
    rng = np.random.default_rng(0)
    return np.concatenate([np.linspace(5, 1, 15), 1 + 0.01 * rng.standard_normal(45)])


def _plateau_run(sched):
    out = []
    for value in _plateau_metrics():
        sched.step(value)
        out.append(sched.get_last_lr() + [sched.num_bad_epochs, sched.cooldown_counter])
    return np.array(out)


PLATEAU_CASES = [{}, {"patience": 2, "cooldown": 3, "factor": 0.5, "min_lr": [0.01, 0.05]},
                 {"mode": "max", "threshold_mode": "abs", "patience": 1, "threshold": 0.1}]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=["defaults", "cooldown-min_lr", "max-abs"])
def test_reduce_lr_on_plateau_matches_torch_on_a_scripted_metric(kw):
    ours, theirs = _both(lambda lib, opt: lib.ReduceLROnPlateau(opt, **kw))
    np.testing.assert_array_equal(_plateau_run(ours), _plateau_run(theirs))


def test_reduce_lr_on_plateau_by_hand_with_patience_cooldown_and_floor():
    sched = lr_scheduler.ReduceLROnPlateau(_optimizer(), factor=0.5, patience=1, cooldown=1,
                                           min_lr=0.04)
    lrs = []
    for metric in [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 0.1]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    # bad epochs at 0.6, 0.7 -> halve; cooldown eats 0.8; 0.9, 1.0 -> halve; 1.1 cools down;
    # a halving below min_lr is clamped, then 0.1 is a new best
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04])
    assert sched.best == 0.1 and sched.num_bad_epochs == 0


@pytest.mark.parametrize("build", COMBINED + [
    lambda lib, opt: lib.ReduceLROnPlateau(opt, patience=2, cooldown=1)],
    ids=[f.__name__ for f in COMBINED] + ["ReduceLROnPlateau"])
def test_combined_and_plateau_state_dict_round_trip_resumes_the_same_rates(build):
    def advance(sched, start, stop):
        for epoch in range(start, stop):
            if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
                sched.step(_plateau_metrics()[epoch])
            else:
                sched.step()

    full_opt = _optimizer()
    full = build(lr_scheduler, full_opt)
    advance(full, 0, 27)
    opt = _optimizer()
    sched = build(lr_scheduler, opt)
    advance(sched, 0, 12)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched
    opt2 = _optimizer()
    sched2 = build(lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    advance(sched2, 12, 27)
    assert sched2.get_last_lr() == pytest.approx(full.get_last_lr(), rel=1e-12)
    assert [g["lr"] for g in opt2.param_groups] == pytest.approx(
        [g["lr"] for g in full_opt.param_groups], rel=1e-12)
    assert sched2.get_last_lr() != list(LRS)  # mid-schedule: resuming from scratch differs


def test_bad_scheduler_arguments_are_refused():
    opt = _optimizer()
    cases = [
        (lambda: lr_scheduler.ConstantLR(opt, factor=1.5), "invalid factor"),
        (lambda: lr_scheduler.LinearLR(opt, start_factor=0), "invalid start_factor"),
        (lambda: lr_scheduler.LinearLR(opt, end_factor=2), "invalid end_factor"),
        (lambda: lr_scheduler.PolynomialLR(opt, total_iters=0), "invalid total_iters"),
        (lambda: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0), "invalid T_0"),
        (lambda: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=0),
         "invalid T_mult"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0), "give total_steps"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=0),
         "invalid total_steps"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=0),
         "invalid steps_per_epoch"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=9, pct_start=1.5),
         "invalid pct_start"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=9,
                                         anneal_strategy="exp"), "invalid anneal_strategy"),
        (lambda: lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=9),
         "max_lr has 1 values, but the optimizer has 2"),
        (lambda: lr_scheduler.OneCycleLR(optim.Adagrad([tl.zeros(1, requires_grad=True)]),
                                         max_lr=1.0, total_steps=9), "neither momentum"),
        (lambda: lr_scheduler.SequentialLR(opt, [lr_scheduler.ExponentialLR(opt, 0.9)],
                                           milestones=[3]), "expected 0 milestones"),
        (lambda: lr_scheduler.SequentialLR(opt, [], milestones=[]), "at least one"),
        (lambda: lr_scheduler.ChainedScheduler(
            [lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.ExponentialLR(_optimizer(),
                                                                              0.9)]),
         "another optimizer"),
        (lambda: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt)]),
         "needs a metric"),
        (lambda: lr_scheduler.CyclicLR(opt, 0.1, 0.5, mode="sawtooth"), "invalid mode"),
        (lambda: lr_scheduler.CyclicLR(opt, 0.1, 0.5, step_size_up=0), "invalid step sizes"),
        (lambda: lr_scheduler.CyclicLR(opt, [0.1], 0.5), "base_lr has 1 values"),
        (lambda: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), "invalid factor"),
        (lambda: lr_scheduler.ReduceLROnPlateau(opt, mode="up"), "invalid mode"),
        (lambda: lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="pct"),
         "invalid threshold_mode"),
        (lambda: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0]), "min_lr has 1 values"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            build()
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        lr_scheduler.MultiplicativeLR(opt, 0.9)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau([1, 2])
