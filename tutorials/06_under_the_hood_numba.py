# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Under the hood: fused Numba kernels
#
# With the numpy backend every operation is one numpy call: `(a * b + c).relu().sigmoid()`
# makes four passes over memory and three temporary arrays. The numba backend waits
# instead: elementwise operations return a pending expression, and when a value is needed
# (a matmul, `.numpy()`, a print) the whole chain becomes one generated loop, compiled by
# Numba, that reads each input once and writes the result once. Matrix products still go to
# numpy's BLAS.
#
# **What you should see**
#
# 1. The source of the kernel that fuses `mul, add, relu, sigmoid` into one loop.
# 2. The fused result equals numpy's (to float32 rounding).
# 3. Timings: the fused kernel against the numpy backend and against plain numpy. On large
#    arrays the fused loop is usually several times faster; the exact numbers depend on the
#    machine, so they are printed, not promised.
# 4. A training step of the MNIST network gives the same loss and the same updated weights
#    on both backends.
# 5. `TinyJit` records that step once and replays it: the start of the generated replay,
#    the same losses as the eager step, and the time of each at batch 32.
#
# The first use of each kernel compiles it (a second or so); Numba caches the machine code
# on disk (`~/.cache/tinygrad_lite/kernels`), so later runs start fast.

# %%
import functools
import os
import time

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim

FAST = os.environ.get("TINYGRAD_LITE_FAST") == "1"  # the test suite's quick run
SIZE, REPEAT = (500, 5) if FAST else (2000, 20)
tl.manual_seed(0)


def best_time(fn, repeat=REPEAT):
    """The fastest of `repeat` runs: the least disturbed by whatever else the machine does."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# %% [markdown]
# ## A pending expression and its kernel
#
# Under the numba backend nothing below computes anything until `.numpy()`.
# `tl.debug.show_kernel` prints the kernel that would compute a pending tensor: one loop
# nest over the output, each input read once, the four ops as four local variables.

# %%
tl.set_backend("numba")
a, b = tl.randn(SIZE, SIZE), tl.randn(SIZE, SIZE)
c = tl.randn(SIZE)
y = (a * b + c).relu().sigmoid()
source = tl.debug.show_kernel(y)
assert "def kernel" in source

# %%
start = time.perf_counter()
fused = y.numpy()
print(f"first run, including compilation (or loading it from the disk cache): "
      f"{time.perf_counter() - start:.3f} s")

an, bn, cn = a.numpy(), b.numpy(), c.numpy()
reference = 1 / (1 + np.exp(-np.maximum(an * bn + cn, 0)))
print("largest difference from numpy:", np.abs(fused - reference).max())
assert np.allclose(fused, reference, rtol=1e-6, atol=1e-6)

# %% [markdown]
# ## Timing: one fused pass versus one pass per op

# %%
numba_s = best_time(lambda: (a * b + c).relu().sigmoid().numpy())
tl.set_backend("numpy")
numpy_backend_s = best_time(lambda: (a * b + c).relu().sigmoid().numpy())
plain_numpy_s = best_time(lambda: 1 / (1 + np.exp(-np.maximum(an * bn + cn, 0))))
print(f"{SIZE}x{SIZE} float32, best of {REPEAT}:")
print(f"  numba backend (one fused kernel): {numba_s * 1e3:8.2f} ms")
print(f"  numpy backend (one call per op):  {numpy_backend_s * 1e3:8.2f} ms "
      f"({numpy_backend_s / numba_s:.1f}x the fused time)")
print(f"  plain numpy expression:           {plain_numpy_s * 1e3:8.2f} ms "
      f"({plain_numpy_s / numba_s:.1f}x the fused time)")

# %% [markdown]
# ## The same training step on both backends
#
# Forward, loss, backward and an SGD step of the 784-256-128-10 network, from the same
# weights on the same batch. The backward of ReLU and of the bias additions is elementwise
# too, so it is fused as well. (Dropout is left out: its random masks are drawn in a
# different order by the two backends.)

# %%
def training_step(model, x, labels):
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(x), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def make_model():
    tl.manual_seed(1)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


x = tl.rand(256, 784)
labels = tl.randint(0, 10, (256,))
results = {}
for backend in ("numpy", "numba"):
    tl.set_backend(backend)
    model = make_model()
    loss = training_step(model, x, labels)
    results[backend] = (loss, model[0].weight.numpy().copy())
    seconds = best_time(functools.partial(training_step, model, x, labels))
    print(f"{backend:>5} backend: first loss {loss:.6f}, one training step {seconds * 1e3:.2f} ms")
tl.set_backend("numpy")

assert abs(results["numpy"][0] - results["numba"][0]) < 1e-5
assert np.allclose(results["numpy"][1], results["numba"][1], atol=1e-6)
print("same loss and same updated weights on both backends")


# %% [markdown]
# ## Recording the step once: TinyJit
#
# At small batches the arithmetic is quick and the Python around it is not: every step
# calls the modules, builds the graph node by node and walks it backwards, deciding the same
# things each time. `tl.TinyJit` runs the step eagerly once, records the backend calls of
# the next two calls (and checks that both made the same ones), then replays that record as
# one generated Python function. Dropout draws fresh masks on every replay, from the same
# generator.
#
# On the numpy backend the replay runs the very same numpy calls, so the losses are the
# eager losses exactly. On the numba backend it goes further: while recording, every
# elementwise chain from about a thousand elements on is fused into a kernel (eager numba
# leaves arrays below 65,536 elements to numpy, where building the graph would cost more than
# the kernel saves), and the replay launches those kernels directly. The printed replay shows
# them: one `launch` per layer for bias, ReLU and dropout, one per layer of the backward.

# %%
def make_step(model):
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x, labels):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss
    return step


def make_dropout_model():
    tl.manual_seed(1)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 128),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


batches = [(tl.rand(32, 784), tl.randint(0, 10, (32,))) for _ in range(6)]
tl.set_backend("numpy")
eager_step = make_step(make_dropout_model())
jitted_step = tl.TinyJit(make_step(make_dropout_model()))
tl.manual_seed(2)
eager_losses = [eager_step(x, y).item() for x, y in batches]
tl.manual_seed(2)
jitted_losses = [jitted_step(x, y).item() for x, y in batches]
print("numpy backend, eager :", np.round(eager_losses, 6))
print("numpy backend, jitted:", np.round(jitted_losses, 6))
assert eager_losses == jitted_losses

tl.set_backend("numba")
eager_step = make_step(make_dropout_model())
jitted_step = tl.TinyJit(make_step(make_dropout_model()))
x, y = batches[0]
for _ in range(3):
    jitted_step(x, y)  # NOTE: eager once, recorded twice
print("\n".join(line[:100] for line in jitted_step.source.splitlines()[:9]), "\n    ...")
assert "launch(" in jitted_step.source
eager_s = best_time(lambda: eager_step(x, y).item(), repeat=REPEAT * 5)
jitted_s = best_time(lambda: jitted_step(x, y).item(), repeat=REPEAT * 5)
print(f"numba backend, batch 32: eager step {eager_s * 1e3:.2f} ms, replayed "
      f"{jitted_s * 1e3:.2f} ms ({jitted_s / eager_s:.2f}x)")
tl.set_backend("numpy")
