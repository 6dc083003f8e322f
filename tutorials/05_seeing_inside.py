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
# # 5. Seeing inside: graphs and memory
#
# Everything autograd knows sits in the recorded graph: which op made each tensor, from which
# inputs, and which arrays it saved for backward. The drawing and the memory summary read
# that graph (and module hooks) and nothing else, so what they show is what really ran.
#
# **What you should see**
#
# 1. The op-level graph of one training step of the seeds' MNIST network: each layer is one
#    `Linear` node (x @ W.T + b), then `Relu` and `Dropout`; the loss is one `CrossEntropy`.
# 2. The same graph with the arrays each op saved for backward (orange): the memory that
#    training holds on to until `backward()` frees it.
# 3. The module-level view: one box per layer call, named `fc1: Linear` and so on.
# 4. The summary: 235,146 parameters (940,584 bytes), and the memory of a training step:
#    parameters, gradients, Adam's two moments, activations, saved arrays.
# 5. Estimated versus measured: the summary's modelled peak is within 10% of the peak
#    `tracemalloc` measures, at several batch sizes. Parameters dominate at batch 32; the
#    graph dominates at large batches.
# 6. What dropout costs: a 1-byte mask per element, plus its output, which the next layer
#    saves.

# %%
from collections import OrderedDict
from pathlib import Path

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim

# NOTE: the summary's memory model describes the numpy backend, one array per op; the numba
# backend fuses elementwise ops into kernels that skip most temporaries and needs less
tl.set_backend("numpy")
tl.manual_seed(0)


def save_svg(graph, path):
    Path(path).write_text(graph.pipe(format="svg", encoding="utf-8"))
    return graph


model = nn.Sequential(OrderedDict(
    fc1=nn.Linear(784, 256), relu1=nn.ReLU(), drop1=nn.Dropout(0.5),
    fc2=nn.Linear(256, 128), relu2=nn.ReLU(), drop2=nn.Dropout(0.3),
    fc3=nn.Linear(128, 10),
))
x = tl.rand(32, 784)  # a batch of 32 "images"
labels = tl.randint(0, 10, (32,))

# %% [markdown]
# ## The op-level graph
#
# `params=` names the leaves: the parameters by their dotted names, and the input.
# Blue: parameters. White: inputs and constants. Grey: ops, with the shape they produce.
# Green: the output, here the loss.

# %%
loss = F.cross_entropy(model(x), labels)
save_svg(tl.draw_graph(loss, params={"loss": loss, "x": x, **dict(model.named_parameters())}),
         "05_ops_graph.svg")

# %% [markdown]
# With `show_saved=True`, each array an op saved for its backward is drawn in orange with a
# dashed edge into that op: the inputs of each `Linear` (to form the weight gradient),
# dropout's boolean masks, and the log-probabilities `CrossEntropy` needs.
# `show_grads=True` adds each parameter's gradient shape; the graph must still exist, so
# backward keeps it with `retain_graph=True`.

# %%
loss.backward(retain_graph=True)
save_svg(tl.draw_graph(loss, params={"loss": loss, "x": x, **dict(model.named_parameters())},
                       show_saved=True, show_grads=True), "05_saved_for_backward.svg")

# %% [markdown]
# ## The module-level graph
#
# Given the model and an input, `draw_graph` runs the forward itself with hooks on every
# module, and groups the ops of each module call in a box.

# %%
save_svg(tl.draw_graph(model, input_data=x, modules=True), "05_module_graph.svg")

# %% [markdown]
# ## The summary
#
# One row per module call (the layout of torchinfo), then the memory of one training step.
# Every number is a sum of the sizes of arrays that really exist during one forward,
# backward and optimizer step; `measure=True` also runs that step under `tracemalloc`.

# %%
optimizer = optim.Adam(model.parameters(), lr=1e-3)
summary = tl.summary(model, input_size=(32, 784), optimizer=optimizer, measure=True)
print(summary)
assert summary.total_params == 235_146 and summary.param_bytes == 940_584
# Adam: two moments per weight, plus a 4-byte step count per parameter tensor
assert summary.optimizer_bytes == 2 * summary.param_bytes + 6 * 4

# %% [markdown]
# ## Estimated versus measured, as the batch grows
#
# Parameters, gradients and optimizer state do not depend on the batch; activations and
# saved arrays grow with it.

# %%
print(f"{'batch':>6} {'params+grads+Adam':>18} {'graph':>11} {'estimated peak':>15} "
      f"{'measured peak':>14} {'measured/estimated':>19}")
for batch in (32, 256, 1024):
    s = tl.summary(model, input_size=(batch, 784), optimizer=optimizer, measure=True)
    fixed = s.param_bytes + s.grad_bytes + s.optimizer_bytes
    ratio = s.measured_peak_bytes / s.peak_bytes
    print(f"{batch:>6} {fixed:>18,} {s.graph_bytes:>11,} {s.peak_bytes:>15,} "
          f"{s.measured_peak_bytes:>14,} {ratio:>19.3f}")
    assert 0.9 < ratio < 1.1, "the modelled peak should be within 10% of the measured one"

# %% [markdown]
# ## What dropout costs
#
# The same summary in eval mode (dropout off) saves less. The difference is dropout's
# masks, 1 byte per element (32 x (256 + 128) = 12,288 bytes), and dropout's outputs,
# 4 bytes per element: in eval mode the next `Linear` saves the ReLU output, which ReLU
# itself already keeps, so it is counted once.

# %%
train_saved = tl.summary(model, input_size=(32, 784), mode="train").saved_bytes
eval_saved = tl.summary(model, input_size=(32, 784), mode="eval").saved_bytes
masks, outputs = 32 * (256 + 128), 32 * (256 + 128) * 4
print(f"saved for backward: train {train_saved:,} bytes, eval {eval_saved:,} bytes, "
      f"difference {train_saved - eval_saved:,} = masks {masks:,} + outputs {outputs:,}")
assert train_saved - eval_saved == masks + outputs
