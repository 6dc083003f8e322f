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
# # 1. Tensors and autograd
#
# A `Tensor` is a numpy array that remembers how it was made. Every operation on tensors
# that require gradients records a node (the operation, its inputs, and whatever its
# backward pass will need). `loss.backward()` walks those nodes from the loss back to the
# leaves and applies the chain rule once per node. That is all the seeds' hand-written
# `backward` methods did, but here nobody has to write them.
#
# **What you should see**
#
# 1. The graph of a one-neuron expression, drawn from what autograd recorded.
# 2. `backward()` gives the same gradients as the chain rule worked by hand.
# 3. Gradients *accumulate*: a second `backward()` adds to `.grad` (so training loops call
#    `zero_grad()`).
# 4. `tl.gradcheck` agrees with the real backward and catches a deliberately wrong one.
# 5. Training with all-zero weights learns nothing, and with all-equal weights every hidden
#    neuron stays a copy of the others; random weights break the symmetry and learn.
#
# Run it as a script (`python tutorials/01_tensors_and_autograd.py`) or open it as a
# notebook (Jupyter with jupytext, or VS Code). Pictures are written to the current folder.

# %%
from pathlib import Path

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.autograd import Function

tl.manual_seed(0)

# %% [markdown]
# ## Tensors
#
# The names and behaviour follow PyTorch: `tl.tensor`, `.shape`, `.dtype`, `sum(dim=...)`.
# Tensors are float32 by default, as in PyTorch.

# %%
x = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(x.shape, x.dtype)
print(x * 2 + 1)
print("column sums:", x.sum(dim=0), " mean:", x.mean().item())

# %% [markdown]
# ## One neuron, and the graph autograd records
#
# `out = tanh(w · x + b)`: the input `x` is data, so it needs no gradient; the weights `w`
# and the bias `b` are what we would learn, so they ask for one with `requires_grad=True`.

# %%
x = tl.tensor([2.0, -1.0])
w = tl.tensor([-0.5, 1.5], requires_grad=True)
b = tl.tensor(0.8, requires_grad=True)
z = (w * x).sum() + b
out = z.tanh()
print("z =", z.item(), " out =", out.item())

# %% [markdown]
# `tl.draw_graph` reads the recorded nodes. Blue boxes are leaves that require a gradient
# (named by the `params` dict), white ones are leaves that do not, grey boxes are operations
# (with the shape they produce), and green is the output. Data flows along the arrows.

# %%
graph = tl.draw_graph(out, params={"x": x, "w": w, "b": b})
Path("01_neuron_graph.svg").write_text(graph.pipe(format="svg", encoding="utf-8"))
graph  # noqa: B018  (a notebook shows a cell's last expression: here, the graph)

# %% [markdown]
# ## Backward, checked by hand
#
# The chain rule, one node at a time from the output:
# `d out/dz = 1 - tanh(z)²`, `dz/dw = x`, `dz/db = 1`.

# %%
out.backward()
dout_dz = 1 - out.item() ** 2
print("autograd: dw =", w.grad.numpy(), " db =", b.grad.item())
print("by hand:  dw =", dout_dz * x.numpy(), " db =", dout_dz)
assert np.allclose(w.grad.numpy(), dout_dz * x.numpy())
assert np.isclose(b.grad.item(), dout_dz)

# %% [markdown]
# Gradients **accumulate** into `.grad`. A second forward and backward doubles them, which
# is why every training loop clears them (`optimizer.zero_grad()`) before `backward()`.
# (Backward also frees the graph it walked, so the second pass needs a fresh forward.)

# %%
first = w.grad.numpy().copy()
((w * x).sum() + b).tanh().backward()
print("after a second backward:", w.grad.numpy(), "= 2 x", first)
assert np.allclose(w.grad.numpy(), 2 * first)
w.grad, b.grad = None, None

# %% [markdown]
# ## gradcheck: finite differences as the ground truth
#
# `tl.gradcheck(func, inputs)` nudges every input element by ±eps and compares the change of
# the output with what backward says. It needs float64: in float32 the rounding error of
# the difference quotient would drown the comparison.

# %%
x64 = x.double()
w64 = tl.tensor([-0.5, 1.5], dtype=tl.float64, requires_grad=True)
b64 = tl.tensor(0.8, dtype=tl.float64, requires_grad=True)


def neuron(w, b):
    return ((w * x64).sum() + b).tanh()


print("neuron passes gradcheck:", tl.gradcheck(neuron, [w64, b64]))

# %% [markdown]
# A check that cannot fail proves nothing, so here is an op with a bug. A `Function` has a
# `forward` on plain arrays and a `backward` right beside it; this one claims that the
# derivative of x³ is 2x² (it is 3x²).


# %%
class BuggyCube(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return a ** 3

    def backward(self, grad):
        (a,) = self.saved
        return grad * 2 * a ** 2  # wrong on purpose: d(a³)/da = 3a²


t = tl.tensor([0.5, -1.0, 2.0], dtype=tl.float64, requires_grad=True)
buggy_ok = tl.gradcheck(lambda t: BuggyCube.apply(t), [t], raise_exception=False)
print("BuggyCube passes gradcheck:", buggy_ok)
assert tl.gradcheck(lambda t: t ** 3, [t]) and not buggy_ok

# %% [markdown]
# ## Why the weights start random: symmetry
#
# Train the same small network (2 inputs, 16 hidden ReLU units, 1 sigmoid output) on the
# two-class spiral three times, changing only the starting weights:
#
# - **zeros**: every hidden unit outputs ReLU(0) = 0, so the output weights get no gradient,
#   and with the output weights at zero the hidden weights get none either. Nothing moves.
# - **all equal** (0.5): every hidden unit computes the same thing, so every one gets the
#   same gradient, and they stay identical forever: 16 units doing the work of one.
# - **random** (the default): each unit starts different and can learn something different.
#
# The training loop is written out, PyTorch style: forward, loss, `zero_grad`, `backward`,
# `step`.

# %%
X, y = tl.data.spiral_data(100, 2)
y = y.float().reshape(-1, 1)  # BCELoss wants float targets shaped like the output


def make_model(init):
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    if init != "random":
        for layer in (model[0], model[2]):
            nn.init.constant_(layer.weight, 0.0 if init == "zeros" else 0.5)
            nn.init.zeros_(layer.bias)
    return model


def train(model, epochs=500):
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.BCELoss()
    for _ in range(epochs):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with tl.no_grad():
        accuracy = ((model(X) > 0.5).float() == y).float().mean().item()
    return loss.item(), accuracy


results = {}
for init in ("zeros", "all equal", "random"):
    model = make_model(init)
    loss, accuracy = train(model)
    hidden = model[0].weight.numpy()  # (16, 2): one row per hidden unit
    spread = np.ptp(hidden, axis=0).max()  # how different the units' weights are
    results[init] = (loss, accuracy, spread, np.abs(hidden).max())
    print(f"{init:>9} init: loss {loss:.3f}, accuracy {accuracy:.3f}, "
          f"largest difference between hidden units' weights {spread:.4f}")

# %% [markdown]
# Zero init never left zero: the loss stays at log 2 ≈ 0.693, a coin toss. Equal init
# learned a little, but its hidden units are still exact copies (difference 0): the network
# is a one-neuron model. Random init learned the spiral much better.

# %%
assert results["zeros"][3] == 0.0, "zero-initialised weights should never move"
assert results["all equal"][2] < 1e-5, "equal-initialised units should stay identical"
assert results["random"][0] < results["all equal"][0] < results["zeros"][0]
assert results["random"][1] > results["all equal"][1]
print("symmetry demonstrated: zeros learn nothing, equal units stay clones, random learns")
