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
# # 7. Experiments: initialisation and regularisation
#
# Two questions the seeds answer in prose, answered here by experiment.
#
# **How big should the starting weights be?** Each layer multiplies the size of its input by
# roughly `std(w) * sqrt(fan_in)`, and a ReLU halves the variance. Across ten layers a
# factor a little off 1 becomes enormous.
#
# **What do L1, L2 and dropout do?** All three fight overfitting, in different ways: L1
# pushes weights to exactly zero, L2 shrinks all of them, dropout makes units unreliable so
# that none can be leaned on alone.
#
# **What you should see**
#
# 1. Through ten ReLU layers the activations shrink to ~1e-10 with too small weights
#    (std 0.01), grow to ~1e10 with too large ones (std 1), fade steadily with Xavier
#    (it assumes no ReLU), and stay near 1 with He (`07_activation_scale.png`).
# 2. Training a deep network on the digits: too small learns nothing (loss stuck at
#    log 10 = 2.303), too large blows up to NaN, He learns fastest, Xavier a little slower.
# 3. On a small training set (150 digits) all four models fit the training data; L1 leaves
#    most weights at (almost) exactly zero, L2 gives the smallest weights overall, dropout
#    leaves the weights alone (`07_weight_histograms.png`). Test accuracies differ by a
#    point or so: on data this easy that difference is within the noise of the seed.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, TensorDataset, load_digits, train_test_split
from tinygrad_lite.train import evaluate, fit

FAST = os.environ.get("TINYGRAD_LITE_FAST") == "1"  # the test suite's quick run
tl.manual_seed(0)

# %% [markdown]
# ## Part 1: initialisation
#
# Four ways to draw the weights of a `Linear(fan_in, fan_out)` (biases at zero):
#
# | name      | weights drawn from                            | PyTorch name        |
# |-----------|-----------------------------------------------|---------------------|
# | too small | N(0, 0.01²), the seeds' `0.01 * randn`         | `normal_(w, 0, 0.01)` |
# | too large | N(0, 1)                                        | `normal_(w, 0, 1)`  |
# | Xavier    | N(0, 2 / (fan_in + fan_out))                   | `xavier_normal_`    |
# | He        | N(0, 2 / fan_in)                               | `kaiming_normal_`   |

# %%
INITS = {
    "too small": lambda w: nn.init.normal_(w, 0.0, 0.01),
    "too large": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "Xavier": lambda w: nn.init.xavier_normal_(w),
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


def deep_mlp(init, n_in, width, depth, n_out=10):
    """`depth` Linear+ReLU blocks of `width` units, then a Linear to `n_out` classes."""
    sizes = [n_in] + [width] * depth
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(width, n_out))
    for layer in model:
        if isinstance(layer, nn.Linear):
            INITS[init](layer.weight)
            nn.init.zeros_(layer.bias)
    return model


# %% [markdown]
# ### The forward signal through ten layers
#
# Feed a batch of standard-normal inputs through ten ReLU layers of 256 units and print the
# standard deviation of each layer's output.

# %%
x = tl.randn(512, 256)
scales = {}
for name in INITS:
    h, scales[name] = x, []
    with tl.no_grad():
        for layer in deep_mlp(name, n_in=256, width=256, depth=10):
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                scales[name].append(float(h.numpy().std()))
    print(f"{name:>9}: " + " ".join(f"{s:8.1e}" for s in scales[name]))

figure, ax = plt.subplots(figsize=(7, 4.5))
for name, values in scales.items():
    ax.semilogy(range(1, 11), values, marker="o", label=name)
ax.axhline(1.0, color="grey", linewidth=0.8)
ax.set_xlabel("layer (after its ReLU)")
ax.set_ylabel("standard deviation of the activations (log scale)")
ax.set_title("How the signal's size changes through 10 ReLU layers of 256 units")
ax.legend(title="initialisation")
figure.tight_layout()
figure.savefig("07_activation_scale.png", dpi=110)

assert scales["too small"][-1] < 1e-6 and scales["too large"][-1] > 1e6
assert scales["Xavier"][-1] < scales["Xavier"][0] / 10
assert all(0.3 < s < 3 for s in scales["He"])

# %% [markdown]
# Why: with He init each weight has variance 2/fan_in, so a layer's pre-activations have
# the variance of its inputs times 2, and the ReLU zeroes half of them, giving back the
# variance it started with. Xavier's variance 1/fan_in (for a square layer) is right for a
# linear or tanh layer, but the ReLU still halves it every time. The gradients travel back
# through the same weights, so they vanish or explode the same way.
#
# ### Training with each initialisation
#
# A network of six ReLU layers of 128 units on the 8x8 digits, plain SGD with momentum (an
# optimizer like Adam rescales the steps and hides part of the effect).

# %%
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
epochs = 4 if FAST else 10
trained = {}
for name in INITS:
    tl.manual_seed(0)
    model = deep_mlp(name, n_in=64, width=128, depth=6)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    with np.errstate(all="ignore"):  # "too large" overflows: numpy would print warnings
        history = fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs, progress=False)
        test_accuracy = evaluate(model, (X_test, y_test))["accuracy"]
    trained[name] = (history.loss, test_accuracy)
    print(f"{name:>9}: loss per epoch " + " ".join(f"{v:6.3f}" for v in history.loss)
          + f"   test accuracy {test_accuracy:.3f}")

assert abs(trained["too small"][0][-1] - math.log(10)) < 0.01  # stuck at chance
assert math.isnan(trained["too large"][0][-1])
assert trained["He"][1] > 0.9 and trained["He"][0][0] < trained["Xavier"][0][0]

# %% [markdown]
# ## Part 2: L1, L2 and dropout
#
# The same 64-256-256-10 network four times, on only 150 training digits, so it can
# memorise them: without anything, with an L1 penalty on every weight (`weight_l1`), with an
# L2 penalty (`weight_l2`, the seeds' regulariser), and with dropout 0.5 after each hidden
# layer. The penalties are loss terms, `l1 * sum|w|` and `l2 * sum w²`, whose gradients
# `l1 * sign(w)` and `2 * l2 * w` come from autograd like any other.

# %%
X_small, y_small = X_train[:150], y_train[:150]
small_loader = DataLoader(TensorDataset(X_small, y_small), batch_size=32, shuffle=True)
SETTINGS = {
    "none": ({}, 0.0),
    "L1 2e-4": ({"weight_l1": 2e-4}, 0.0),
    "L2 2e-3": ({"weight_l2": 2e-3}, 0.0),
    "dropout 0.5": ({}, 0.5),
}


def regularised_mlp(penalty, p):
    return nn.Sequential(
        nn.Linear(64, 256, **penalty), nn.ReLU(), nn.Dropout(p),
        nn.Linear(256, 256, **penalty), nn.ReLU(), nn.Dropout(p),
        nn.Linear(256, 10, **penalty),
    )


weights, rows = {}, {}
for name, (penalty, p) in SETTINGS.items():
    tl.manual_seed(0)
    model = regularised_mlp(penalty, p)
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), small_loader,
        epochs=30 if FAST else 60, progress=False)
    weights[name] = np.concatenate([p.numpy().ravel() for n, p in model.named_parameters()
                                    if n.endswith("weight")])
    rows[name] = (evaluate(model, (X_small, y_small))["accuracy"],
                  evaluate(model, (X_test, y_test))["accuracy"],
                  np.mean(np.abs(weights[name]) < 1e-3), np.linalg.norm(weights[name]))

print(f"{'':>12} {'train acc':>9} {'test acc':>9} {'|w| < 1e-3':>11} {'norm of w':>10}")
for name, (train_acc, test_acc, tiny, norm) in rows.items():
    print(f"{name:>12} {train_acc:9.3f} {test_acc:9.3f} {tiny:11.1%} {norm:10.2f}")

# %% [markdown]
# The histograms show the difference in the weights themselves: L1 piles them up at zero
# (a sparse network: most connections could be deleted), L2 pulls the whole distribution
# in, dropout leaves it as it was.

# %%
figure, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharex=True)
for ax, (name, w) in zip(axes, weights.items()):
    ax.hist(w, bins=np.linspace(-0.25, 0.25, 101), color="tab:blue")
    ax.set_yscale("log")
    ax.set_title(f"{name}: {rows[name][2]:.0%} of |w| < 1e-3")
    ax.set_xlabel("weight value")
axes[0].set_ylabel("number of weights (log scale)")
figure.suptitle("Weights after training on 150 digits")
figure.tight_layout()
figure.savefig("07_weight_histograms.png", dpi=110)

assert all(train_acc > 0.95 for train_acc, *_ in rows.values())
assert rows["L1 2e-4"][2] > 10 * rows["none"][2]  # L1 zeroes weights
assert rows["L2 2e-3"][3] < 0.75 * rows["none"][3]  # L2 shrinks them
