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
# # 2. Layers from ops
#
# The seeds write every layer twice: a `forward` and a hand-derived `backward`. Here a layer
# is only its forward, written with tensor operations; autograd derives the backward from
# the graph those operations record. This tutorial rebuilds the seeds' layers that way and
# checks them against the library's own.
#
# **What you should see**
#
# 1. A dense layer written as `x @ W.T + b` gives exactly what `nn.Linear` gives.
# 2. ReLU, sigmoid and softmax from elementary ops match the built-ins; the naive softmax
#    overflows on large logits and subtracting the row maximum fixes it.
# 3. The seeds' per-sample softmax Jacobian and the simple `(softmax - onehot) / N` are the
#    same gradient, and autograd's gradient of cross-entropy equals both. The simple form is
#    many times faster.
# 4. Dropout zeroes about a fraction p of the units and doubles the rest (p = 0.5) while
#    training, keeping the mean; in eval mode it passes its input through untouched.
# 5. `Linear(784, 256)` has 200,960 parameters; the 784-256-128-10 MLP has 235,146, which
#    is 940,584 bytes in float32. A dropout mask costs 1 byte per element.

# %%
import time
from pathlib import Path

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

tl.manual_seed(0)

# %% [markdown]
# ## A dense layer
#
# `z = x W^T + b`, with the weight stored as (out_features, in_features), the layout
# PyTorch uses. Registering the tensors as `nn.Parameter`s is what makes
# `model.parameters()` (and so the optimizer) find them.


# %%
class Dense(nn.Module):
    def __init__(self, n_inputs, n_neurons):
        super().__init__()
        self.weight = nn.Parameter(0.01 * tl.randn(n_neurons, n_inputs))  # the seeds' init
        self.bias = nn.Parameter(tl.zeros(n_neurons))

    def forward(self, x):
        return x @ self.weight.T + self.bias


dense = Dense(2, 4)
reference = nn.Linear(2, 4)
reference.load_state_dict(dense.state_dict())  # same names, same shapes: weight, bias
x = tl.randn(5, 2)
print(dense(x))
assert np.allclose(dense(x).numpy(), reference(x).numpy())
print("Dense(2, 4) matches nn.Linear(2, 4) with the same weights")

# %% [markdown]
# Its graph is three operations: a transpose of the weight (`Permute`), the matrix product
# and the bias addition. The backward of each is one line in `tinygrad_lite/ops.py`.

# %%
graph = tl.draw_graph(dense(x), params={"x": x, **dict(dense.named_parameters())})
Path("02_dense_graph.svg").write_text(graph.pipe(format="svg", encoding="utf-8"))
graph  # noqa: B018  (a notebook shows a cell's last expression: here, the graph)

# %% [markdown]
# ## Activations from elementary ops
#
# - ReLU: `max(0, x)`, which keeps positive values and zeroes the rest.
# - Sigmoid: `1 / (1 + exp(-x))`, squashing any number into (0, 1).
# - Softmax: `exp(x_i) / sum_j exp(x_j)` along each row: positive, summing to 1.

# %%
def relu(x):
    return x.maximum(0.0)


def sigmoid(x):
    return 1 / (1 + (-x).exp())


def naive_softmax(x):
    e = x.exp()
    return e / e.sum(dim=1, keepdim=True)


def softmax(x):
    # NOTE: softmax(x) == softmax(x - c) for any c; with c = the row max, exp never overflows
    e = (x - x.amax(dim=1, keepdim=True)).exp()
    return e / e.sum(dim=1, keepdim=True)


z = tl.randn(4, 3) * 3
assert np.allclose(relu(z).numpy(), z.relu().numpy())
assert np.allclose(sigmoid(z).numpy(), z.sigmoid().numpy(), atol=1e-6)
assert np.allclose(softmax(z).numpy(), z.softmax(dim=1).numpy(), atol=1e-6)
print("softmax rows sum to", softmax(z).sum(dim=1).numpy())

big = tl.tensor([[1000.0, 1001.0, 1002.0]])
with np.errstate(over="ignore", invalid="ignore"):  # exp(1000) overflows: numpy would warn
    naive = naive_softmax(big).numpy()
print("naive softmax of large logits: ", naive)
print("stable softmax of large logits:", softmax(big).numpy())
assert np.isnan(naive).all() and np.isfinite(softmax(big).numpy()).all()

# %% [markdown]
# ## The softmax Jacobian versus (softmax - onehot) / N
#
# The seeds' softmax backward builds, for every sample, the Jacobian of softmax,
# `J = diag(s) - s s^T`, and multiplies it by the gradient coming from the loss. For the
# mean cross-entropy `L = -1/N sum_n log s[n, y_n]`, that incoming gradient is
# `dL/ds = -onehot / (N s)`, and the product collapses to `(s - onehot) / N`.
#
# Autograd never builds a Jacobian: `log_softmax` followed by picking the label's entry
# (`F.nll_loss`) has a cheap backward for each op. All three must agree. (`F.cross_entropy`
# records the same computation as one node whose backward is the simple form itself, so a
# training step keeps fewer nodes; a test checks it against this composition.)

# %%
N, C = 2000, 10
logits = tl.randn(N, C, requires_grad=True)
labels = tl.randint(0, C, (N,))
F.nll_loss(logits.log_softmax(dim=1), labels).backward()

s = logits.detach().softmax(dim=1).numpy().astype(np.float64)
onehot = np.eye(C)[labels.numpy()]

start = time.perf_counter()
dloss_ds = -onehot / (N * s)
jacobian_grad = np.empty_like(s)
for n in range(N):  # the seeds' loop: one C x C Jacobian per sample
    jacobian = np.diagflat(s[n]) - np.outer(s[n], s[n])
    jacobian_grad[n] = jacobian @ dloss_ds[n]
jacobian_seconds = time.perf_counter() - start

start = time.perf_counter()
simple_grad = (s - onehot) / N
simple_seconds = time.perf_counter() - start

print("largest difference, Jacobian vs simple: ", np.abs(jacobian_grad - simple_grad).max())
print("largest difference, autograd vs simple:", np.abs(logits.grad.numpy() - simple_grad).max())
print(f"Jacobian loop {jacobian_seconds * 1e3:.1f} ms, simple form {simple_seconds * 1e3:.3f} ms"
      f" ({jacobian_seconds / simple_seconds:.0f}x faster)")
assert np.allclose(jacobian_grad, simple_grad, atol=1e-12)
assert np.allclose(logits.grad.numpy(), simple_grad, atol=1e-7)

# %% [markdown]
# ## Dropout: training versus evaluation
#
# While training, `nn.Dropout(p)` zeroes each element with probability p and multiplies the
# survivors by 1 / (1 - p), so the expected value of every unit is unchanged. In eval mode
# (`model.eval()`) it returns its input as it is. (The seeds' `Layer_Dropout(rate)` takes
# the same p, the fraction dropped.)

# %%
drop = nn.Dropout(p=0.5)
x = tl.arange(1, 9).float().reshape(1, 8)
print("input:      ", x.numpy())
print("train mode: ", drop(x).numpy())
drop.eval()
print("eval mode:  ", drop(x).numpy())
assert np.array_equal(drop(x).numpy(), x.numpy())

drop.train()
ones = tl.ones(1000, 1000, requires_grad=True)
out = drop(ones)
kept = (out.numpy() != 0).mean()
print(f"kept {kept:.4f} of a million units; mean of the output {out.numpy().mean():.4f}")
assert set(np.unique(out.numpy())) == {0.0, 2.0}
assert abs(kept - 0.5) < 0.005 and abs(out.numpy().mean() - 1.0) < 0.01

# %% [markdown]
# The backward pass lets the gradient through exactly where the forward let the value
# through (scaled the same way), so dropped units get no gradient. The only thing the op
# saves for backward is its mask, as booleans: 1 byte per element.

# %%
mask = out._ctx.saved[0]  # what the Dropout node saved (backward frees it, so look first)
print(f"saved mask: dtype {mask.dtype}, {mask.nbytes:,} bytes for {mask.size:,} elements")
assert mask.dtype == np.bool_ and mask.nbytes == mask.size
out.sum().backward()
assert np.array_equal(ones.grad.numpy(), out.numpy())

# %% [markdown]
# ## Counting parameters and their memory
#
# A `Linear(n_in, n_out)` holds `n_in * n_out` weights and `n_out` biases, 4 bytes each in
# float32. The seeds' MNIST network stacks three of them.

# %%
def count(module):
    return sum(p.numel() for p in module.parameters())


def nbytes(module):
    return sum(p.numpy().nbytes for p in module.parameters())


mlp = nn.Sequential(
    nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
    nn.Linear(128, 10),
)
for name, layer in mlp.named_children():
    if count(layer):
        print(f"layer {name}: {layer}  {count(layer):>9,} parameters")
print(f"total: {count(mlp):,} parameters, {nbytes(mlp):,} bytes ({nbytes(mlp) / 1e3:.1f} kB)")
assert count(nn.Linear(784, 256)) == 200_960
assert count(mlp) == 235_146 and nbytes(mlp) == 940_584

# %% [markdown]
# The parameters are only part of the memory of training: a batch's activations and what
# each op saves for backward come on top, and they grow with the batch size. Tutorial 5
# measures all of it.
