"""optim.Muon (PyTorch 2.13's): momentum whose step for a 2-D weight is orthogonalised by a
Newton-Schulz iteration that PyTorch runs in bfloat16 (emulated here, in float32)."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.optim.muon import _bfloat16, _orthogonalized


@pytest.mark.parametrize("shape, tol", [((6, 4), 1e-6), ((4, 6), 1e-6), ((128, 256), 3e-2)])
@pytest.mark.parametrize("kw", [{}, {"nesterov": False, "momentum": 0.9, "weight_decay": 0.0},
                                {"adjust_lr_fn": "match_rms_adamw", "lr": 0.02}])
def test_matches_pytorch_to_bfloat16s_rounding(shape, tol, kw):
    """Small weights: the same bits, or a float32 ulp off. Large ones: within 3% of the
    step, as bfloat16 products that round the other way spread through the iteration."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    start = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    ours, theirs = tl.tensor(start.copy()), torch.tensor(start.copy())
    ours.requires_grad_(True)
    theirs.requires_grad_(True)
    opt, ref = optim.Muon([ours], **kw), torch.optim.Muon([theirs], **kw)
    for _ in range(4):
        g = rng.standard_normal(shape).astype(np.float32)
        ours.grad, theirs.grad = tl.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    moved = theirs.detach().numpy() - start
    np.testing.assert_allclose(ours.numpy() - start, moved, rtol=0, atol=tol * np.abs(moved).max())
    assert list(opt.state_dict()["state"][0]) == list(ref.state_dict()["state"][0])
    assert opt.param_groups[0].keys() == ref.param_groups[0].keys()


def test_bfloat16_rounding_is_to_nearest_even_and_keeps_specials():
    """PyTorch's `.bfloat16()` (checked against it once): 8 significant bits, halfway cases
    to the even one, infinities and nan kept, the largest float32 rounded up to inf."""
    x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 3 * 2 ** -9, 1 + 2 ** -9, np.inf, np.nan,
                  -0.0, np.finfo(np.float32).max], np.float32)
    out = _bfloat16(x)
    np.testing.assert_array_equal(out[:4], [1.0, 1 + 2 ** -6, 1 + 2 ** -7, 1.0])
    assert np.isposinf(out[4]) and np.isnan(out[5]) and np.signbit(out[6])
    assert np.isposinf(out[7])


@pytest.mark.parametrize("shape", [(64, 16), (16, 64), (32, 32)])
def test_newton_schulz_gives_a_near_orthogonal_direction(shape):
    """The iteration aims at U V^T with singular values ~ Uniform(0.5, 1.5) (PyTorch's
    docs), whatever the gradient's scale, for wide and tall matrices alike."""
    g = np.random.default_rng(2).standard_normal(shape).astype(np.float32) * 1e3
    s = np.linalg.svd(_orthogonalized(g, (3.4445, -4.775, 2.0315), 5, 1e-7), compute_uv=False)
    assert 0.5 < s.min() and s.max() < 1.5


def test_only_2d_parameters_and_known_options_are_accepted():
    with pytest.raises(ValueError, match="only supports 2D parameters"):
        optim.Muon(nn.Linear(3, 2).parameters())
    with pytest.raises(ValueError, match="not supported"):
        optim.Muon([nn.Linear(3, 2).weight], adjust_lr_fn="rms")
    with pytest.raises(ValueError, match="lr"):
        optim.Muon([nn.Linear(3, 2).weight], lr=-1.0)


def test_a_jitted_step_with_muon_replays_as_it_trains_eagerly():
    def run(jit):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.ReLU(),
                              nn.Linear(16, 3, bias=False))
        opt = optim.Muon(model.parameters(), lr=0.02)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        go = tl.TinyJit(step) if jit else step
        rng = np.random.default_rng(3)
        return [go(tl.tensor(rng.standard_normal((5, 8), dtype=np.float32)),
                   tl.tensor(rng.integers(0, 3, 5))).item() for _ in range(6)]

    losses = run(False)
    assert run(True) == losses and losses[-1] < losses[0]
