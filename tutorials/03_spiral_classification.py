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
# # 3. Spiral classification
#
# The seeds' first real task: points on interleaved spiral arms, one arm per class. No
# straight line separates the arms, so a model without a hidden layer cannot do it; a
# hidden layer of ReLU units bends the boundary around them.
#
# **What you should see**
#
# 1. Two classes, the seeds' network (2 -> 64 -> 1 with a sigmoid output), binary
#    cross-entropy, L2 5e-4 on the first layer's weights and biases, Adam: training accuracy
#    above 0.9, printed as the training goes, written as an ordinary PyTorch-style loop.
# 2. Three classes with a softmax output (2 -> 64 -> 64 -> 3, light L2 on every layer),
#    trained with the `fit` helper: training accuracy above 0.9, and loss/accuracy curves.
# 3. Decision-boundary pictures (`03_*.png`): coloured regions following the spiral arms.
#    Validation points are fresh samples from the same spirals (new noise); they score a
#    little lower than the training points, as they should.

# %%
import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import spiral_data
from tinygrad_lite.train import evaluate, fit, plot_decision_boundary

tl.manual_seed(0)

# %% [markdown]
# ## The data
#
# `spiral_data(samples, classes)` gives `X` of shape (samples * classes, 2) and integer
# labels `y`. The sigmoid output is one probability per point, so binary cross-entropy wants
# the labels as floats shaped like the output: (N, 1).

# %%
X, y = spiral_data(100, 2)
X_val, y_val = spiral_data(100, 2)
y, y_val = y.float().reshape(-1, 1), y_val.float().reshape(-1, 1)
print("X", X.shape, X.dtype, " y", y.shape, y.dtype)

# %% [markdown]
# ## Two classes: the seeds' network, the PyTorch way
#
# `weight_l2` and `bias_l2` are the seeds' per-layer `weight_regularizer_l2` and
# `bias_regularizer_l2`. `model.regularization_loss()` adds up `l2 * sum(w²)` over the layers
# that have them; it is an ordinary term of the loss, so autograd gives its gradient
# `2 * l2 * w` without any special code.

# %%
binary_model = nn.Sequential(
    nn.Linear(2, 64, weight_l2=5e-4, bias_l2=5e-4),
    nn.ReLU(),
    nn.Linear(64, 1),
    nn.Sigmoid(),
)
optimizer = optim.Adam(binary_model.parameters(), lr=0.02)
loss_fn = nn.BCELoss()

for epoch in range(1001):
    out = binary_model(X)
    data_loss = loss_fn(out, y)
    loss = data_loss + binary_model.regularization_loss()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 200 == 0:
        accuracy = ((out > 0.5).float() == y).float().mean().item()
        print(f"epoch {epoch:4d}  acc {accuracy:.3f}  data loss {data_loss.item():.3f}  "
              f"reg loss {loss.item() - data_loss.item():.4f}")

# %% [markdown]
# For the final numbers the model goes into eval mode and gradients off (`evaluate` does
# both); this network has no dropout, so eval mode changes nothing here, but it is the habit
# to keep.

# %%
binary_train = evaluate(binary_model, (X, y))["accuracy"]
binary_val = evaluate(binary_model, (X_val, y_val))["accuracy"]
print(f"2 classes: training accuracy {binary_train:.3f}, validation accuracy {binary_val:.3f}")
assert binary_train > 0.9
# NOTE: without a path the figure is made with pyplot, so a notebook shows it; then save it
figure = plot_decision_boundary(binary_model, X, y,
                                title=f"2-64-1 sigmoid, training accuracy {binary_train:.1%}")
figure.savefig("03_two_class_boundary.png")

# %% [markdown]
# ## Three classes: softmax
#
# With more than two classes the output layer gives one score (logit) per class, and
# softmax turns the scores into probabilities. `nn.CrossEntropyLoss` takes the raw logits
# and applies the softmax itself, in its stable log form, so the model ends in a Linear;
# its gradient with respect to the logits is `(softmax - onehot) / N` (tutorial 2).
#
# Three arms need a second hidden layer. A light L2 penalty (1e-4) on every layer keeps the
# weights from growing just to fit the noise of the training points: without it the
# training accuracy still rises, but the validation loss climbs (try `l2 = 0`).
#
# The seeds also decay the learning rate, `lr_t = lr / (1 + decay * t)`: late in training
# the steps get smaller, which keeps Adam from jumping out of a good minimum (without it the
# loss curve shows a sudden spike now and then). `LambdaLR` multiplies the starting rate by
# any function of the epoch.
#
# This time the `fit` helper writes the loop. It adds `model.regularization_loss()` to the
# loss itself, steps the scheduler after every epoch, measures the validation data, and
# shows a progress bar.

# %%
X3, y3 = spiral_data(100, 3)
X3_val, y3_val = spiral_data(100, 3)
l2 = 1e-4


def linear(n_in, n_out):
    return nn.Linear(n_in, n_out, weight_l2=l2, bias_l2=l2)


model = nn.Sequential(linear(2, 64), nn.ReLU(), linear(64, 64), nn.ReLU(), linear(64, 3))
optimizer = optim.Adam(model.parameters(), lr=0.01)
decay = optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1 / (1 + 1e-3 * epoch))
history = fit(model, nn.CrossEntropyLoss(), optimizer, (X3, y3), epochs=1000,
              val_data=(X3_val, y3_val), scheduler=decay)
print(history)

# %% [markdown]
# The probabilities of the first three points (one per row, summing to 1):

# %%
with tl.no_grad():
    print(model(X3[:3]).softmax(dim=1))

train_accuracy = evaluate(model, (X3, y3))["accuracy"]
val_accuracy = evaluate(model, (X3_val, y3_val))["accuracy"]
print(f"3 classes: training accuracy {train_accuracy:.3f}, "
      f"validation accuracy {val_accuracy:.3f}")
assert train_accuracy > 0.9

# %% [markdown]
# The curves: the training numbers are averaged while training, the validation numbers are
# measured after each epoch. Then the regions the model assigns to each class.

# %%
figure = history.plot()
figure.savefig("03_three_class_curves.png")

# %%
figure = plot_decision_boundary(model, X3, y3,
                                title=f"2-64-64-3 softmax, training accuracy {train_accuracy:.1%}")
figure.savefig("03_three_class_boundary.png")
