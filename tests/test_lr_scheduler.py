"""Tests for tinygrad_lite.optim.lr_scheduler: against torch's schedulers, against the
closed forms, resuming, and state dicts."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.optim import lr_scheduler

LRS = (0.1, 0.3)  # two parameter groups with their own rates
EPOCHS = 60


def _seeds_decay(t):
    return 1 / (1 + 0.05 * t)


def _growing_shrink(t):
    return 0.9 + 0.002 * t  # a per-epoch factor that changes with the epoch


CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 13, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": _seeds_decay}),
    ("LambdaLR", {"lr_lambda": [_seeds_decay, lambda t: 0.9**t]}),
    ("MultiStepLR", {"milestones": [5, 20, 20, 45], "gamma": 0.5}),  # 20 twice: decays twice
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 10}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.8, "total_iters": 30}),
    ("MultiplicativeLR", {"lr_lambda": _growing_shrink}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 40, "power": 2.0}),
    ("CosineAnnealingWarmRestarts", {"T_0": 7}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.01}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 60}),
    ("OneCycleLR", {"max_lr": [0.5, 1.0], "epochs": 6, "steps_per_epoch": 11,
                    "three_phase": True, "anneal_strategy": "linear"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.5], "step_size_up": 5,
                  "step_size_down": 3, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 6, "mode": "exp_range",
                  "gamma": 0.97}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items() if k != 'lr_lambda')}"
            for name, kw in CASES]


def _optimizer(lib=tl, opt_module=optim):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    return opt_module.SGD([{"params": [a]}, {"params": [b], "lr": LRS[1]}], lr=LRS[0])


def _schedule(scheduler, epochs=EPOCHS):
    """The rates of every group at epochs 0..epochs-1, stepping as a training loop does."""
    out = []
    for _ in range(epochs):
        out.append([g["lr"] for g in scheduler.optimizer.param_groups])
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(out)


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_scheduler_matches_torch_for_60_epochs(name, kw):
    torch = pytest.importorskip("torch")
    ours = getattr(lr_scheduler, name)(_optimizer(), **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(_optimizer(torch, torch.optim), **kw)
    np.testing.assert_allclose(_schedule(ours), _schedule(theirs), rtol=1e-12, atol=0)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    assert ours.last_epoch == theirs.last_epoch == EPOCHS


def _closed_form(name, kw, t, base, group):
    if name == "StepLR":
        return base * kw.get("gamma", 0.1) ** (t // kw["step_size"])
    if name == "ExponentialLR":
        return base * kw["gamma"] ** t
    if name == "CosineAnnealingLR":
        lo = kw.get("eta_min", 0.0)
        return lo + (base - lo) * (1 + math.cos(math.pi * t / kw["T_max"])) / 2
    if name == "LambdaLR":  # e.g. the seeds' lr / (1 + decay * t)
        fns = kw["lr_lambda"]
        return base * (fns[group] if isinstance(fns, list) else fns)(t)
    if name == "MultiplicativeLR":
        return base * math.prod(kw["lr_lambda"](k) for k in range(1, t + 1))
    if name == "MultiStepLR":
        return base * kw["gamma"] ** sum(m <= t for m in kw["milestones"])
    if name == "ConstantLR":
        return base * (kw.get("factor", 1 / 3) if t < kw.get("total_iters", 5) else 1.0)
    if name == "LinearLR":
        start, end, total = (kw.get("start_factor", 1 / 3), kw.get("end_factor", 1.0),
                             kw.get("total_iters", 5))
        return base * (start + (end - start) * min(t, total) / total)
    if name == "PolynomialLR":
        total = kw.get("total_iters", 5)
        return base * (1 - min(t, total) / total) ** kw.get("power", 1.0)
    if name == "CosineAnnealingWarmRestarts":  # SGDR: T_i = T_0 * T_mult^n after n restarts
        t0, mult, lo = kw["T_0"], kw.get("T_mult", 1), kw.get("eta_min", 0.0)
        n = t // t0 if mult == 1 else int(math.log(t / t0 * (mult - 1) + 1, mult))
        since = t - t0 * n if mult == 1 else t - t0 * (mult**n - 1) // (mult - 1)
        return lo + (base - lo) * (1 + math.cos(math.pi * since / (t0 * mult**n))) / 2
    if name == "CyclicLR":  # a triangle wave between the two rates, its height scaled
        lo, hi = (kw[k][group] if isinstance(kw[k], list) else kw[k]
                  for k in ("base_lr", "max_lr"))
        up = kw["step_size_up"]
        down = kw.get("step_size_down", up)
        into = t % (up + down)
        height = {"triangular": 1.0, "triangular2": 0.5 ** (t // (up + down)),
                  "exp_range": kw.get("gamma", 1.0) ** t}[kw.get("mode", "triangular")]
        return lo + (hi - lo) * min(into / up, (up + down - into) / down) * height
    raise KeyError(name)


CLOSED_FORM_CASES = [(name, kw) for name, kw in CASES if name != "OneCycleLR"]


@pytest.mark.parametrize("name, kw", CLOSED_FORM_CASES,
                         ids=[i for i, (n, _) in zip(CASE_IDS, CASES) if n != "OneCycleLR"])
def test_scheduler_follows_its_closed_form(name, kw):
    got = _schedule(getattr(lr_scheduler, name)(_optimizer(), **kw))
    want = np.array([[_closed_form(name, kw, t, base, i) for i, base in enumerate(LRS)]
                     for t in range(EPOCHS)])
    # the recursive forms drift from the closed forms by rounding only
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_lambda_lr_list_gives_each_group_its_own_function():
    sched = lr_scheduler.LambdaLR(_optimizer(), [lambda t: 1.0, lambda t: 0.5**t])
    for _ in range(3):
        sched.step()
    assert sched.get_last_lr() == [0.1, 0.3 * 0.125]
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(_optimizer(), [lambda t: 1.0])


def test_scheduler_sets_initial_lr_base_lrs_and_writes_the_groups():
    opt = _optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    assert sched.base_lrs == list(LRS) and sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    sched.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.03])
    last = sched.get_last_lr()
    last[0] = 99.0  # a copy: changing it changes nothing
    assert sched.get_last_lr()[0] == pytest.approx(0.01)


def _resume(lib, opt_module, name, kw):
    """12 epochs, then the optimizer and scheduler rebuilt from their state dicts (the
    scheduler with last_epoch=11), then 18 more: the rates of those 18."""
    opt = _optimizer(lib, opt_module)
    sched = getattr(opt_module.lr_scheduler, name)(opt, **kw)
    _schedule(sched, 12)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched and saved_sched["last_epoch"] == 12
    opt2 = _optimizer(lib, opt_module)
    opt2.load_state_dict(saved_opt)  # brings each group's lr and initial_lr back
    sched2 = getattr(opt_module.lr_scheduler, name)(opt2, **kw, last_epoch=11)
    sched2.load_state_dict(saved_sched)
    return _schedule(sched2, 18)


@pytest.mark.parametrize("name, kw", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_resumes_as_pytorchs(name, kw):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_resume(tl, optim, name, kw),
                               _resume(torch, torch.optim, name, kw), rtol=1e-12)


def test_lambda_lr_state_dict_keeps_callable_objects_but_not_functions():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, t):
            return 1 / (1 + self.rate * t)

    sched = lr_scheduler.LambdaLR(_optimizer(), [Decay(0.5), _seeds_decay])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(_optimizer(), [Decay(9.0), _seeds_decay])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5 and other.lr_lambdas[1] is _seeds_decay
    assert "lr_lambdas" in state  # loading does not consume the caller's dict


def test_resuming_without_initial_lr_and_bad_arguments_are_refused():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(_optimizer(), gamma=0.9, last_epoch=5)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.ExponentialLR([1, 2], gamma=0.9)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(_optimizer(), step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(_optimizer(), T_max=0)
    sched = lr_scheduler.StepLR(_optimizer(), step_size=3)
    with pytest.raises(ValueError, match="unknown keys"):
        sched.load_state_dict({"T_max": 10})


def test_recursive_schedules_continue_from_a_rate_changed_by_hand():
    opt = _optimizer()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.param_groups[0]["lr"] = 1.0
    sched.step()
    assert sched.get_last_lr() == [0.5, 0.15]


def _resumed_lrs(lib, name: str, kw: dict) -> list[float]:
    """The rate a schedule built with last_epoch=3 sets, then the next five."""
    p = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = getattr(lib.optim.lr_scheduler, name)(opt, last_epoch=3, **kw)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


RESUMED = [("StepLR", dict(step_size=2, gamma=0.5)), ("ExponentialLR", dict(gamma=0.9)),
           ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3)), ("LinearLR", dict(total_iters=6)),
           ("CosineAnnealingLR", dict(T_max=6)), ("PolynomialLR", dict(total_iters=6)),
           ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)), ("ConstantLR", dict(factor=0.5)),
           ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e))),
           ("CosineAnnealingWarmRestarts", dict(T_0=3))]


def test_a_resumed_schedule_takes_its_first_step_as_pytorch():
    """Built with last_epoch=3, StepLR is already at epoch 4 (decayed); ExponentialLR, like
    PyTorch's other recursive schedules, keeps the group's rate until its first step."""
    assert _resumed_lrs(tl, "StepLR", dict(step_size=2, gamma=0.5))[:3] == pytest.approx(
        [0.05, 0.05, 0.025])
    assert _resumed_lrs(tl, "ExponentialLR", dict(gamma=0.5))[:3] == pytest.approx(
        [0.1, 0.05, 0.025])


@pytest.mark.parametrize("name, kw", RESUMED, ids=[name for name, _ in RESUMED])
def test_resumed_schedules_match_pytorch(name, kw):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_resumed_lrs(tl, name, kw), _resumed_lrs(torch, name, kw),
                               rtol=1e-12)


def _warm_restarts_by_epoch(L, T_mult: int) -> list[float]:
    """SGDR stepped with fractional epochs after every batch (PyTorch's documented use),
    then plainly, then jumped to epoch 26; and ReduceLROnPlateau given an epoch."""
    p = L.nn.Parameter(L.ones(1))
    opt = L.optim.SGD([p], lr=1.0)
    sched = L.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult,
                                                             eta_min=0.01)
    lrs = []
    for epoch in range(12):
        for i in range(4):
            opt.step()
            sched.step(epoch + i / 4)
            lrs.append(opt.param_groups[0]["lr"])
    for epoch in (None, None, 26, None):
        sched.step(epoch)
        lrs.append(opt.param_groups[0]["lr"])
    lrs.append(sched.last_epoch)
    plateau = L.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0, 5)
    plateau.step(2.0)
    return lrs + [plateau.last_epoch, opt.param_groups[0]["lr"]]


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_take_a_fractional_epoch_as_pytorch_does(T_mult):
    lrs = _warm_restarts_by_epoch(tl, T_mult)
    period = 3 * T_mult  # NOTE: epoch 3.25 lies 0.25 into the second period
    assert lrs[13] == pytest.approx(0.01 + 0.99 * (1 + math.cos(math.pi * 0.25 / period)) / 2)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(lrs, _warm_restarts_by_epoch(torch, T_mult), rtol=1e-12)
