"""No leaks: long training keeps memory flat, a finished step's graph is freed at once (no
reference cycles, so without the garbage collector), and an exception mid-forward leaves no
grad mode, anomaly mode or module hook behind."""
from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim, viz
from tinygrad_lite.autograd import Function
from tinygrad_lite.summary import summary

BATCH = 8


@pytest.fixture
def no_gc():
    """The garbage collector off: anything kept alive by a reference cycle stays alive."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@pytest.fixture
def one_blas_thread():
    """BLAS on one thread: at batch 8 its threads only hand work back and forth, which on a
    busy machine made the 2,000 steps ten times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def seed_mlp() -> nn.Sequential:
    """The seeds' MNIST network: 784-256-128-10, ReLU, dropout 0.5 and 0.3."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, 10))


def _batches(n: int = 4) -> list:
    rng = np.random.default_rng(0)
    return [(tl.tensor(rng.standard_normal((BATCH, 784)), dtype=tl.float32),
             tl.tensor(rng.integers(0, 10, BATCH))) for _ in range(n)]


def _step(model, opt, x, y) -> float:
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _live_nodes() -> int:
    # NOTE: type(), not isinstance(): isinstance on a dead weakref.proxy raises
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


def test_two_thousand_steps_keep_memory_flat(backend, no_gc, one_blas_thread):
    tl.manual_seed(0)
    model, batches = seed_mlp(), _batches()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for i in range(1, 1000):  # NOTE: untraced: tracing halves the speed
        _step(model, opt, *batches[i % len(batches)])
    tracemalloc.start()
    try:
        sizes = []
        for i in range(1000, 2001):
            _step(model, opt, *batches[i % len(batches)])
            if i in (1000, 2000):
                sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    growth = sizes[1] - sizes[0]  # about 1-2 KB: caches that filled once
    # one step's graph alone is ~60 KB at this batch size: a leak of anything per step (a
    # node, a saved array, a gradient) would grow by far more over 1,000 steps
    assert growth < 16 * 1024, f"{growth} bytes more after step 2,000 than after 1,000"


def test_a_finished_step_leaves_no_graph_alive_without_the_collector(backend, no_gc):
    tl.manual_seed(0)
    model, [(x, y)] = seed_mlp(), _batches(1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    nodes_before = _live_nodes()
    refs = []

    def step():
        hidden = model[:3](x)  # up to the first dropout
        logits = model[3:](hidden)
        loss = F.cross_entropy(logits, y)
        mask = hidden.grad_fn.saved[0]  # the dropout's keep-mask
        refs.extend(weakref.ref(o) for o in (hidden, logits, loss, mask))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    assert [r() for r in refs] == [None] * 4
    assert _live_nodes() == nodes_before


def test_a_forward_that_raises_leaves_no_graph_alive_without_the_collector(backend, no_gc):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(5, 1))  # the last one is wrong
    x = tl.randn(2, 4)
    nodes_before = _live_nodes()
    try:
        model(x)
    except RuntimeError as e:
        assert str(e).startswith("Sequential.2: Linear(in_features=5")
    assert _live_nodes() == nodes_before


def test_grad_and_anomaly_modes_are_restored_after_an_exception():
    model = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(RuntimeError):
        with tl.no_grad():
            model(tl.zeros(1, 3))
    assert tl.is_grad_enabled()

    @tl.no_grad()
    def predict(x):
        return model(x)

    with pytest.raises(RuntimeError):
        predict(tl.zeros(1, 3))
    assert tl.is_grad_enabled()
    with pytest.raises(RuntimeError), tl.no_grad():
        with tl.enable_grad():
            model(tl.zeros(1, 3))
        assert not tl.is_grad_enabled()  # not reached: the inner block raised
    assert tl.is_grad_enabled()
    with pytest.raises(RuntimeError), tl.detect_anomaly():
        model(tl.zeros(1, 3))
    assert not tl.autograd._mode.anomaly


def _hooks(model: nn.Module) -> list:
    return [h for m in model.modules() for h in (*m._forward_pre_hooks.values(),
                                                  *m._forward_hooks.values())]


def test_summary_that_fails_mid_forward_removes_its_hooks_and_restores_the_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(5, 1))
    model.eval()
    with tl.no_grad():  # summary turns grad mode on inside, to measure the graph
        with pytest.raises(RuntimeError, match="Linear\\(in_features=5"):
            summary(model, input_size=(2, 4))
        assert not tl.is_grad_enabled()
    assert _hooks(model) == []
    assert not any(m.training for m in model.modules())


def test_trace_modules_that_fails_mid_forward_removes_its_hooks():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(5, 1))
    with pytest.raises(RuntimeError), viz.trace_modules(model):
        model(tl.zeros(2, 4))
    assert _hooks(model) == []
