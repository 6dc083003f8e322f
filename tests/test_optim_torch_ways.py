"""Tests that optimizer code written the PyTorch way runs here: custom optimizers and
schedulers, named parameters, torch's optimizer state dicts, and clipping a NaN norm."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.optim import lr_scheduler

RNG = np.random.default_rng(0)
W0 = RNG.standard_normal((3, 4)).astype(np.float32)
X = RNG.standard_normal((8, 4)).astype(np.float32)
Y = RNG.standard_normal((8, 3)).astype(np.float32)


def _momentum_sgd(lib):
    """SGD with momentum written against `lib`'s Optimizer as PyTorch's docs teach it."""
    no_grad = lib.no_grad

    class MomentumSGD(lib.optim.Optimizer):
        def __init__(self, params, lr, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = p.grad.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(state["momentum_buffer"], alpha=-group["lr"])

    return MomentumSGD


def _train(lib, make_opt, steps=5):
    """Fit W0 @ x to y by least squares with `lib`; return the final weight as numpy."""
    w = lib.nn.Parameter(lib.tensor(W0.copy()))
    opt = make_opt([w])
    x, y = lib.tensor(X), lib.tensor(Y)
    for _ in range(steps):
        opt.zero_grad()
        ((x @ w.T - y) ** 2).mean().backward()
        opt.step()
    return w.detach().numpy()


# --- 1. custom optimizers ---------------------------------------------------------------------
def test_custom_optimizer_overriding_only_step_trains_like_builtin_sgd():
    custom = _train(tl, lambda ps: _momentum_sgd(tl)(ps, lr=0.1))
    builtin = _train(tl, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    np.testing.assert_allclose(custom, builtin, rtol=1e-6, atol=1e-6)


def test_custom_optimizer_matches_same_class_written_against_torch():
    torch = pytest.importorskip("torch")
    ours = _train(tl, lambda ps: _momentum_sgd(tl)(ps, lr=0.1))
    theirs = _train(torch, lambda ps: _momentum_sgd(torch)(ps, lr=0.1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_optimizer_state_gives_an_empty_dict_for_a_parameter_without_state():
    w = tl.nn.Parameter(tl.ones(2))
    opt = _momentum_sgd(tl)([w], lr=0.1)
    assert opt.state[w] == {}
    assert opt.state_dict()["state"] == {}  # the empty entry is not saved


def test_optimizer_subclass_without_step_or_update_says_to_override_step():
    class Nothing(optim.Optimizer):
        pass

    w = tl.nn.Parameter(tl.ones(2))
    opt = Nothing([w], {"lr": 0.1})
    w.sum().backward()
    with pytest.raises(NotImplementedError, match="override step"):
        opt.step()


def test_sgd_without_momentum_saves_no_per_parameter_state():
    opt = optim.SGD([tl.nn.Parameter(tl.tensor(W0.copy()))], lr=0.1)
    opt.param_groups[0]["params"][0].sum().backward()
    opt.step()
    assert opt.state_dict()["state"] == {}


def test_sgd_without_momentum_state_dict_state_matches_torch():
    torch = pytest.importorskip("torch")
    saved = []
    for lib in (tl, torch):
        w = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([w], lr=0.1)
        w.sum().backward()
        opt.step()
        saved.append(opt.state_dict()["state"])
    assert saved[0] == saved[1] == {}


# --- 2. custom LR schedulers, the old alias, step(epoch) --------------------------------------
def _warmup_lrs(lib, epochs=30):
    """The rates a custom 4-epoch linear warm-up (only get_lr overridden) gives over `epochs`."""
    class Warmup(lib.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            return [b * min(1.0, (self.last_epoch + 1) / 4) for b in self.base_lrs]

    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.8)
    sched = Warmup(opt)
    lrs = [sched.get_last_lr()[0]]
    assert opt.param_groups[0]["lr"] == lrs[0]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


def test_custom_scheduler_sets_epoch_zero_rate_from_get_lr():
    assert _warmup_lrs(tl) == pytest.approx([0.2, 0.4, 0.6] + [0.8] * 28)


def test_custom_scheduler_rates_match_torch():
    torch = pytest.importorskip("torch")
    assert _warmup_lrs(tl) == pytest.approx(_warmup_lrs(torch), rel=1e-12)


def test_old_scheduler_alias_is_a_subclass_of_lrscheduler():
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler.__name__ == "_LRScheduler"


EPOCH_JUMPS = [3, 7, 2, 12, 12, 0, 25]
JUMP_CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
    ("ConstantLR", {"factor": 0.25, "total_iters": 4}),
    ("LinearLR", {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 6}),
    ("PolynomialLR", {"total_iters": 8, "power": 2.0}),
    ("MultiplicativeLR", {"lr_lambda": lambda epoch: 0.9}),  # no closed form: get_lr()
    ("LambdaLR", {"lr_lambda": lambda epoch: 1 / (1 + epoch)}),
]


def _jump_lrs(lib, name, kwargs):
    """get_last_lr() after a step() and then step(epoch) to each of EPOCH_JUMPS."""
    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.5)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    opt.step()
    sched.step()
    lrs = []
    for epoch in EPOCH_JUMPS:
        with pytest.warns(UserWarning):
            sched.step(epoch)
        lrs.append(sched.get_last_lr()[0])
        assert opt.param_groups[0]["lr"] == lrs[-1]
    return lrs


def test_step_with_epoch_warns_and_uses_the_closed_form():
    lrs = _jump_lrs(tl, "StepLR", {"step_size": 3, "gamma": 0.5})
    assert lrs == pytest.approx([0.5 * 0.5 ** (e // 3) for e in EPOCH_JUMPS])
    lrs = _jump_lrs(tl, "MultiplicativeLR", {"lr_lambda": lambda epoch: 0.9})
    assert lrs == pytest.approx([0.5 * 0.9 ** (i + 2) for i in range(len(EPOCH_JUMPS))])


@pytest.mark.parametrize("name,kwargs", JUMP_CASES, ids=[c[0] for c in JUMP_CASES])
def test_step_with_epoch_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's order-of-steps warnings
        theirs = _jump_lrs(torch, name, kwargs)
    assert _jump_lrs(tl, name, kwargs) == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def test_reduce_lr_on_plateau_step_with_epoch_warns():
    sched = lr_scheduler.ReduceLROnPlateau(optim.SGD([tl.nn.Parameter(tl.ones(1))], lr=0.1))
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(1.0, epoch=5)
    assert sched.last_epoch == 5


# --- 3. named parameters ----------------------------------------------------------------------
OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop",
              "Adagrad", "Adadelta", "ASGD", "Adafactor"]


def _named_model():
    model = tl.nn.Linear(4, 3)
    model.weight.data = tl.tensor(W0.copy())
    model.bias.data = tl.zeros(3)
    return model


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_accepts_named_parameters_and_trains_the_same(name):
    trained = []
    for named in (True, False):
        model = _named_model()
        opt = getattr(optim, name)(model.named_parameters() if named else model.parameters())
        for _ in range(3):
            opt.zero_grad()
            ((model(tl.tensor(X)) - tl.tensor(Y)) ** 2).mean().backward()
            opt.step()
        trained.append(model.weight.numpy())
        assert ("param_names" in opt.param_groups[0]) == named
    assert opt.param_groups[0]["params"][0] is model.weight
    np.testing.assert_array_equal(trained[0], trained[1])


def test_named_parameters_keep_names_in_groups_and_state_dict():
    model = _named_model()
    opt = optim.Adam(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    fresh = optim.Adam(model.named_parameters(), lr=0.1)
    saved = opt.state_dict()
    del saved["param_groups"][0]["param_names"]
    fresh.load_state_dict(saved)  # a snapshot without names keeps the optimizer's own
    assert fresh.param_groups[0]["param_names"] == ["weight", "bias"]


def test_named_parameters_match_torch_param_names():
    torch = pytest.importorskip("torch")
    theirs = torch.optim.Adam(torch.nn.Linear(4, 3).named_parameters())
    ours = optim.Adam(tl.nn.Linear(4, 3).named_parameters())
    assert ours.param_groups[0]["param_names"] == theirs.param_groups[0]["param_names"]


def test_mixing_named_and_unnamed_parameters_is_refused():
    model = _named_model()
    with pytest.raises(ValueError, match="names"):
        optim.SGD([("weight", model.weight), model.bias], lr=0.1)
    opt = optim.SGD([("weight", model.weight)], lr=0.1)
    with pytest.raises(ValueError, match="names"):
        opt.add_param_group({"params": [model.bias]})


# --- 4. loading state whose arrays are another library's -------------------------------------
class _ArrayLike:
    """A foreign array type: only `__array__` says how to read it."""

    def __init__(self, values):
        self.values = np.array(values, dtype=np.float32)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def test_load_state_dict_copies_array_like_state_into_tensors():
    w = tl.nn.Parameter(tl.ones(2))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    foreign = _ArrayLike([1.0, 2.0])
    opt.load_state_dict({"state": {0: {"momentum_buffer": foreign}},
                         "param_groups": [{**opt.param_groups[0], "params": [0]}]})
    buf = opt.state[w]["momentum_buffer"]
    assert isinstance(buf, tl.Tensor)
    w.grad = tl.ones(2)
    opt.step()
    np.testing.assert_allclose(buf.numpy(), [1.9, 2.8], rtol=1e-6)
    np.testing.assert_array_equal(foreign.values, [1.0, 2.0])  # the caller's object is intact
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict({"state": {0: {"momentum_buffer": _ArrayLike([1.0, 2.0, 3.0])}},
                             "param_groups": [{**opt.param_groups[0], "params": [0]}]})


TORCH_STATE_CASES = [("SGD", {"lr": 0.1, "momentum": 0.9}),
                     ("Adam", {"lr": 0.05, "amsgrad": True}),
                     ("NAdam", {"lr": 0.01}),  # a 0-d mu_product
                     ("ASGD", {"lr": 0.05, "t0": 2}),  # 0-d eta and mu
                     ("Rprop", {"lr": 0.01})]


@pytest.mark.parametrize("name,kwargs", TORCH_STATE_CASES, ids=[c[0] for c in TORCH_STATE_CASES])
def test_load_torch_optimizer_state_dict_continues_torch_trajectory(name, kwargs):
    torch = pytest.importorskip("torch")
    tw = torch.nn.Parameter(torch.tensor(W0.copy()))
    topt = getattr(torch.optim, name)([tw], **kwargs)
    x, y = torch.tensor(X), torch.tensor(Y)

    def torch_step():
        topt.zero_grad()
        ((x @ tw.T - y) ** 2).mean().backward()
        topt.step()

    for _ in range(3):
        torch_step()
    lw = tl.nn.Parameter(tl.tensor(tw.detach().numpy().copy()))
    lopt = getattr(optim, name)([lw], **kwargs)
    lopt.load_state_dict(topt.state_dict())
    assert not any(isinstance(v, torch.Tensor) for v in lopt.state[lw].values())
    saved = {k: v.clone() for k, v in topt.state[tw].items()}
    for _ in range(3):
        lopt.zero_grad()
        ((tl.tensor(X) @ lw.T - tl.tensor(Y)) ** 2).mean().backward()
        lopt.step()
    for k, v in topt.state[tw].items():  # stepping ours wrote nothing into torch's state
        assert torch.equal(v, saved[k])
    for _ in range(3):
        torch_step()
    np.testing.assert_allclose(lw.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- 5. clip_grad_norm_ with a non-finite norm ------------------------------------------------
def _grads_with(bad: float):
    grads = [RNG.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,))]
    grads[1][0] = bad
    return grads


def _clip(lib, grads):
    params = [lib.nn.Parameter(lib.zeros(*g.shape)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = lib.tensor(g.copy())
    norm = lib.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=False)
    return float(norm), [p.grad.numpy() for p in params]


def test_clip_grad_norm_with_nan_norm_makes_every_grad_nan():
    norm, grads = _clip(tl, _grads_with(float("nan")))
    assert np.isnan(norm)
    assert all(np.isnan(g).all() for g in grads)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 3.0])
def test_clip_grad_norm_nonfinite_matches_torch(bad):
    torch = pytest.importorskip("torch")
    grads = _grads_with(bad)
    ours, theirs = _clip(tl, grads), _clip(torch, grads)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)


def test_step_hooks_run_around_every_step_until_removed():
    p = tl.nn.Parameter(tl.ones(2))
    p.grad = tl.ones(2)
    opt = tl.optim.SGD([p], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", args)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", args)))
    opt.step()
    assert calls == [("pre", (opt,)), ("post", (opt,))]  # PyTorch's args: the optimizer first
    pre.remove()
    opt.step()
    post.remove()
    opt.step()
    assert [c[0] for c in calls] == ["pre", "post", "post"]
    np.testing.assert_allclose(p.numpy(), [0.7, 0.7], rtol=1e-6)


def test_a_pre_hook_can_replace_the_step_arguments_and_a_subclass_step_is_hooked_once():
    class Counting(tl.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    p = tl.nn.Parameter(tl.ones(1))
    p.grad = tl.ones(1)
    opt, seen = Counting([p], lr=1.0), []
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o, lambda: seen.append(1) or 5.0), {}))
    opt.register_step_post_hook(lambda *a: seen.append("post"))
    assert opt.step() == 5.0  # the closure the hook put in ran
    assert seen == [1, "post"]
