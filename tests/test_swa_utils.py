"""optim.swa_utils (PyTorch's torch.optim.swa_utils): AveragedModel, SWALR, update_bn."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.optim import swa_utils as swa

RNG = np.random.default_rng(0)


def _model(lib, mods):
    return mods.Sequential(mods.Linear(3, 4), mods.BatchNorm1d(4), mods.ReLU(),
                           mods.Linear(4, 2)).double()


def _train_and_average(lib, mods, optimizers, averaged_kwargs, batches, model=None):
    """A few SGD steps on `model`, averaging after each: (model, averaged, snapshots)."""
    model = model or _model(lib, mods)
    averaged = swa.AveragedModel(model, **averaged_kwargs) if lib is tl else (
        lib.optim.swa_utils.AveragedModel(model, **averaged_kwargs))
    opt = optimizers.SGD(model.parameters(), lr=0.1)
    snapshots = []
    for x in batches:
        opt.zero_grad()
        model(lib.tensor(x)).pow(2).sum().backward()
        opt.step()
        averaged.update_parameters(model)
        snapshots.append([p.detach().numpy().copy() for p in model.parameters()])
    return model, averaged, snapshots


def test_swa_is_the_running_mean_and_ema_the_moving_average():
    batches = [RNG.standard_normal((5, 3)) for _ in range(4)]
    model, averaged, snaps = _train_and_average(tl, nn, optim, {}, batches)
    assert averaged.n_averaged.item() == 4
    for k, p in enumerate(averaged.module.parameters()):
        np.testing.assert_allclose(p.numpy(), np.mean([s[k] for s in snaps], axis=0))
    for mine, theirs in zip(averaged.module.buffers(), model.buffers()):  # copied, not averaged
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    x = tl.tensor(batches[0])
    averaged.eval()
    assert np.allclose(averaged(x).numpy(), averaged.module(x).numpy())
    _, ema, snaps = _train_and_average(tl, nn, optim,
                                       {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.9)}, batches)
    want = snaps[0]
    for snap in snaps[1:]:
        want = [0.9 * w + 0.1 * s for w, s in zip(want, snap)]
    for p, w in zip(ema.module.parameters(), want):
        np.testing.assert_allclose(p.numpy(), w)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa.AveragedModel(model, avg_fn=swa.get_swa_avg_fn(),
                          multi_avg_fn=swa.get_swa_multi_avg_fn())


def test_update_bn_recomputes_statistics_as_a_plain_mean_over_the_loader():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=0.3)).double()
    data = [RNG.standard_normal((6, 3)) for _ in range(3)]
    model.eval()
    swa.update_bn([(tl.tensor(d), 0) for d in data], model)
    bn = model[1]
    with tl.no_grad():
        h = np.stack([model[0](tl.tensor(d)).numpy() for d in data])
    np.testing.assert_allclose(bn.running_mean.numpy(), h.mean(axis=1).mean(axis=0))
    np.testing.assert_allclose(bn.running_var.numpy(), h.var(axis=1, ddof=1).mean(axis=0))
    assert bn.momentum == 0.3 and not model.training  # both put back
    swa.update_bn([tl.ones(2, 3)], nn.Linear(3, 1))  # no batch norm: nothing to do


def test_swalr_anneals_to_swa_lr_and_holds_it():
    p = nn.Parameter(tl.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")
    lrs = [sched.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [1.0, 0.7625, 0.525, 0.2875, 0.05, 0.05, 0.05])
    cos = swa.SWALR(optim.SGD([p], lr=1.0), swa_lr=0.0, anneal_epochs=2)
    cos.step()
    assert np.isclose(cos.get_last_lr()[0], 0.5)  # halfway along the cosine
    assert swa.SWALR(optim.SGD([p], lr=1.0), 0.02, anneal_epochs=0).get_last_lr() == [0.02]
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa.SWALR(opt, 0.05, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa.SWALR(opt, 0.05, anneal_epochs=-1)


@pytest.mark.parametrize("kind", ["swa", "ema", "avg_fn", "use_buffers"])
def test_averaged_model_and_update_bn_match_torch(kind):
    torch = pytest.importorskip("torch")
    theirs_swa = torch.optim.swa_utils
    kwargs = {"swa": lambda m: {}, "ema": lambda m: {"multi_avg_fn": m.get_ema_multi_avg_fn(0.9)},
              "avg_fn": lambda m: {"avg_fn": m.get_ema_avg_fn(0.8)},
              "use_buffers": lambda m: {"use_buffers": True}}[kind]
    batches = [RNG.standard_normal((5, 3)) for _ in range(4)]
    t_model = _model(torch, torch.nn)
    l_model = _model(tl, nn)
    l_model.load_state_dict({k: tl.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    _, t_avg, _ = _train_and_average(torch, torch.nn, torch.optim, kwargs(theirs_swa), batches,
                                     t_model)
    _, l_avg, _ = _train_and_average(tl, nn, optim, kwargs(swa), batches, l_model)
    data = [RNG.standard_normal((6, 3)) for _ in range(3)]
    theirs_swa.update_bn([torch.tensor(d) for d in data], t_avg)
    swa.update_bn([tl.tensor(d) for d in data], l_avg)
    t_state, l_state = t_avg.state_dict(), l_avg.state_dict()
    assert list(t_state) == list(l_state)
    for name in t_state:
        np.testing.assert_allclose(l_state[name].numpy(), t_state[name].numpy(), err_msg=name)


@pytest.mark.parametrize("anneal_epochs, strategy, swa_lr", [(3, "cos", 0.05),
                                                             (0, "linear", 0.02),
                                                             (5, "linear", [0.05, 0.1])])
def test_swalr_matches_torch(anneal_epochs, strategy, swa_lr):
    torch = pytest.importorskip("torch")
    rates = []
    for lib, opt_mod, sched_cls in ((torch, torch.optim, torch.optim.swa_utils.SWALR),
                                    (tl, optim, swa.SWALR)):
        groups = [{"params": [lib.zeros(1, requires_grad=True)]},
                  {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5}]
        opt = opt_mod.SGD(groups, lr=1.0)
        sched = sched_cls(opt, swa_lr, anneal_epochs, strategy)
        seen = [sched.get_last_lr()]
        for _ in range(7):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        rates.append(seen)
    np.testing.assert_allclose(rates[1], rates[0])
