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
# # 4. Handwritten digits: the seeds' MNIST network
#
# The seeds' MNIST classifier: 784 pixels -> 256 -> 128 -> 10 classes, ReLU after each hidden
# layer, dropout 0.5 and 0.3, He initialisation, softmax cross-entropy, mini-batches of 32.
#
# The MNIST files are not shipped. When they are in `$TINYGRAD_LITE_MNIST_ROOT` or
# `./data/mnist` (the four IDX files, raw or `.gz`; `tl.data.load_mnist(root, download=True)`
# fetches them) this tutorial uses them. Otherwise it uses scikit-learn's 1,797 8x8 digits
# (`load_digits`), MNIST in miniature: the same network with 64 inputs instead of 784.
#
# **What you should see**
#
# 1. The summary: 235,146 parameters for MNIST (940,584 bytes, as the seeds count them), or
#    50,826 for the 8x8 digits, and the memory of one training step.
# 2. Training, one line per epoch: the loss falls, the validation accuracy rises.
# 3. Test accuracy above 0.95 (about 0.97-0.98 on the 8x8 digits, about 0.98 on MNIST).
# 4. Training curves (`04_training_curves.png`) and a grid of test digits with their
#    predictions, the wrong ones in red (`04_predictions.png`).

# %%
import os
from collections import OrderedDict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, TensorDataset, load_digits, load_mnist, train_test_split
from tinygrad_lite.train import History, evaluate

FAST = os.environ.get("TINYGRAD_LITE_FAST") == "1"  # the test suite's quick run
tl.manual_seed(0)

# %% [markdown]
# ## The data
#
# Pixels are scaled to [0, 1]. A tenth of the training images is held out as a validation
# set to watch during training; the test set is looked at once, at the end.

# %%
root = Path(os.environ.get("TINYGRAD_LITE_MNIST_ROOT", "data/mnist"))
try:
    X_train, y_train = load_mnist(root, train=True)
    X_test, y_test = load_mnist(root, train=False)
    source, side, epochs = "MNIST", 28, 10
    if FAST:
        X_train, y_train, X_test, y_test = X_train[:6000], y_train[:6000], X_test[:1000], \
            y_test[:1000]
        epochs = 2
except FileNotFoundError:
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2)
    source, side, epochs = "8x8 digits", 8, 10 if FAST else 30

X_train, X_val, y_train, y_val = train_test_split(X_train, y_train, test_fraction=0.1)
n_pixels = X_train.shape[1]
print(f"{source}: {len(X_train)} training, {len(X_val)} validation, {len(X_test)} test "
      f"images of {n_pixels} pixels")

# %% [markdown]
# ## The network, with He initialisation
#
# `nn.Linear` starts from PyTorch's default init, uniform in ±1/sqrt(fan_in). The seeds use
# He init instead: normal with standard deviation sqrt(2 / fan_in), which keeps the size of
# the activations steady through ReLU layers (tutorial 7 shows why). `kaiming_normal_` is
# its PyTorch name; biases start at zero.

# %%
model = nn.Sequential(OrderedDict(
    fc1=nn.Linear(n_pixels, 256), relu1=nn.ReLU(), drop1=nn.Dropout(0.5),
    fc2=nn.Linear(256, 128), relu2=nn.ReLU(), drop2=nn.Dropout(0.3),
    fc3=nn.Linear(128, 10),
))
for layer in model.modules():
    if isinstance(layer, nn.Linear):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)

optimizer = optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
print(tl.summary(model, input_size=(32, n_pixels), optimizer=optimizer))

# %% [markdown]
# ## Training
#
# The loop is the PyTorch one. `model.train()` turns dropout on for the training batches;
# `evaluate` switches to eval mode (dropout off) and turns gradients off to measure the
# validation set. The numbers go into a `History`, which draws the curves.

# %%
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
history = History(["loss", "accuracy"])
for epoch in range(epochs):
    model.train()
    seen, loss_sum, correct = 0, 0.0, 0
    for xb, yb in loader:
        out = model(xb)
        loss = loss_fn(out, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(xb)
        loss_sum += loss.item() * len(xb)
        correct += (out.argmax(dim=1) == yb).sum().item()
    val = evaluate(model, (X_val, y_val), loss_fn)
    history.append({"loss": loss_sum / seen, "accuracy": correct / seen,
                    "val_loss": val["loss"], "val_accuracy": val["accuracy"]})
    print(f"epoch {epoch + 1:2d}/{epochs}  loss {loss_sum / seen:.4f}  "
          f"accuracy {correct / seen:.4f}  val_loss {val['loss']:.4f}  "
          f"val_accuracy {val['accuracy']:.4f}")

# %% [markdown]
# ## Test accuracy
#
# Measured once, on images the model has never seen and that no choice above was tuned on.

# %%
test_accuracy = evaluate(model, (X_test, y_test))["accuracy"]
print(f"{source} test accuracy: {test_accuracy:.4f}")
if not (FAST and source == "MNIST"):  # two epochs on a tenth of MNIST is only a smoke test
    assert test_accuracy > 0.95

# %%
figure = history.plot()  # made with pyplot, so a notebook shows it
figure.savefig("04_training_curves.png")

# %% [markdown]
# ## What the model gets wrong
#
# Forty test images with the predicted class above each: the mistakes first, in red, with
# the true class in brackets; then correctly classified ones.

# %%
model.eval()
with tl.no_grad():
    predicted = model(X_test).argmax(dim=1).numpy()
truth = y_test.numpy()
shown = np.argsort(predicted == truth, kind="stable")[:40]  # False (wrong) sorts first
figure, axes = plt.subplots(4, 10, figsize=(10, 4.8))
for ax, i in zip(axes.flat, shown):
    wrong = predicted[i] != truth[i]
    ax.imshow(X_test[i].numpy().reshape(side, side), cmap="gray_r")
    ax.set_title(f"{predicted[i]} ({truth[i]})" if wrong else str(predicted[i]), fontsize=10,
                 color="red" if wrong else "black")
    ax.axis("off")
figure.suptitle(f"{source} test images: predicted class above each (red: wrong, true class "
                "in brackets)")
figure.tight_layout()
figure.savefig("04_predictions.png", dpi=100)
print(f"{np.sum(predicted != truth)} mistakes in {len(truth)} test images")
