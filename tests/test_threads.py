"""Threads: grad mode is per thread, and two threads training two models at once get exactly
(bitwise) what each gets alone.

The random generator behind `randn`, dropout and `nn.init` is one for the process, as
PyTorch's default generator is: two threads that draw from it at once interleave their draws
in whatever order the scheduler picks, so dropout masks (and anything else random) differ from
run to run. Training in threads is reproducible when the randomness is drawn up front, as here
(models are built and data drawn before the threads start, and there is no dropout); a
reproducible threaded dropout would need a generator per thread, which neither library has.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim

STEPS = 300


@pytest.fixture
def kernels_everywhere(backend):
    """On numba, every op in a kernel, even at these sizes (the shared `backend` fixture)."""
    if backend == "numba":
        tl.backend.active.small = 0
    return backend


@pytest.fixture
def fast_switching():
    """Switch threads every 10 µs instead of 5 ms, so the two steps interleave finely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run_in_threads(*targets):
    """Run each target in its own thread, all released at once; re-raise the first error."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as e:  # noqa: BLE001 - reported to the main thread below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_grad_and_anomaly_modes_are_per_thread():
    inside = threading.Barrier(2)
    seen = {}

    def quiet():
        with tl.no_grad(), tl.detect_anomaly():
            inside.wait()  # both threads are inside their blocks now
            x = tl.ones(2, requires_grad=True)
            seen["quiet"] = (tl.is_grad_enabled(), tl.autograd._mode.anomaly,
                             (x * 2).requires_grad)
            inside.wait()

    def recording():
        inside.wait()
        x = tl.ones(2, requires_grad=True)
        seen["recording"] = (tl.is_grad_enabled(), tl.autograd._mode.anomaly,
                             (x * 2).requires_grad)
        inside.wait()

    _run_in_threads(quiet, recording)
    assert seen == {"quiet": (False, True, False), "recording": (True, False, True)}
    assert tl.is_grad_enabled() and not tl.autograd._mode.anomaly  # the main thread's own


class Job:
    """One model, its optimizer and its data: a training run that draws nothing random."""

    def __init__(self, seed: int, features: int, classes: int) -> None:
        tl.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(features, 32), nn.ReLU(), nn.Linear(32, 32),
                                   nn.Tanh(), nn.Linear(32, classes))
        self.init = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}
        rng = np.random.default_rng(seed)
        self.x = tl.tensor(rng.standard_normal((STEPS, 16, features)), dtype=tl.float32)
        self.y = tl.tensor(rng.integers(0, classes, (STEPS, 16)))
        self.losses: list[float] = []

    def reset(self) -> None:
        self.model.load_state_dict(self.init)
        self.losses = []

    def train(self) -> None:
        opt = optim.Adam(self.model.parameters(), lr=1e-2)
        for i in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(self.model(self.x[i]), self.y[i])
            loss.backward()
            opt.step()
            self.losses.append(loss.item())

    def result(self) -> tuple:
        return (np.array(self.losses).tobytes(),
                [p.numpy().tobytes() for p in self.model.parameters()])


def test_two_threads_training_two_models_match_each_run_alone(kernels_everywhere,
                                                             fast_switching):
    jobs = [Job(seed=1, features=8, classes=3), Job(seed=2, features=12, classes=5)]
    alone = []
    for job in jobs:
        job.train()
        alone.append(job.result())
        job.reset()
    _run_in_threads(*(job.train for job in jobs))
    together = [job.result() for job in jobs]
    assert together[0] == alone[0]
    assert together[1] == alone[1]
    assert alone[0] != alone[1]
