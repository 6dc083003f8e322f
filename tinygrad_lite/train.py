"""Training helpers: `fit` writes the loop for you, `History` and the two plots show the result.

`fit` runs exactly the loop the tutorials write by hand: forward, loss, `zero_grad`,
`backward`, `step`, once per mini-batch. On top it adds the model's L1/L2 penalties to the
loss, keeps one number per epoch in a `History`, shows a tqdm bar, and stops cleanly on
Ctrl-C. The plots need matplotlib; they import it only when called.

Example
-------
>>> X, y = tl.data.spiral_data(100, 3)
>>> model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))
>>> history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02),
...               (X, y), epochs=500)
>>> history.accuracy[-1], history.plot("training_curve.png")
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from .autograd import no_grad
from .jit import TinyJit
from .tensor import Tensor, tensor

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .nn import Module
    from .optim import Optimizer
    from .optim.lr_scheduler import LRScheduler

__all__ = ["History", "accuracy", "evaluate", "fit", "plot_decision_boundary"]

Batches = Iterable[tuple[Tensor, Tensor]]
Metric = Callable[[Tensor, Tensor], float]


# --- metrics ---------------------------------------------------------------------------------
def _predicted_classes(scores: np.ndarray) -> np.ndarray:
    """Class per row: argmax of several class scores, or `p > 0.5` of one sigmoid output."""
    if scores.ndim >= 2 and scores.shape[-1] > 1:
        return scores.argmax(-1)
    return (scores.reshape(len(scores)) > 0.5).astype(np.int64)


def accuracy(output: Tensor, target: Tensor) -> float:
    """Fraction of rows whose predicted class is the target class.

    Several output columns are class scores (logits or probabilities): the prediction is
    their argmax, and the target holds class indices or one-hot rows. A single column (or a
    1-d output) is a sigmoid probability: the prediction is `output > 0.5` and the target
    holds 0/1. (Logits from a model trained with BCEWithLogitsLoss need `output.sigmoid()`.)

    Example
    -------
    >>> accuracy(tl.tensor([[2.0, 0.1], [0.3, 0.9]]), tl.tensor([0, 0]))
    0.5
    """
    scores, labels = _numpy(output), _numpy(target)
    if labels.shape == scores.shape and scores.ndim >= 2 and scores.shape[-1] > 1:
        labels = labels.argmax(-1)  # one-hot rows
    labels = labels.reshape(len(labels))
    if not (scores.ndim >= 2 and scores.shape[-1] > 1):
        labels = labels > 0.5  # 0/1 targets, whether stored as floats or ints
    return float(np.mean(_predicted_classes(scores) == labels))


METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _metric_functions(metrics: Sequence[str | Metric]) -> dict[str, Metric]:
    """Names from METRICS, or callables `fn(output, target) -> float` named by `__name__`."""
    functions = {}
    for metric in metrics:
        if callable(metric):
            functions[metric.__name__] = metric
        elif metric in METRICS:
            functions[metric] = METRICS[metric]
        else:
            raise ValueError(f"unknown metric {metric!r}; use one of {sorted(METRICS)} or a "
                             "function fn(output, target) -> float")
    return functions


def _numpy(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


# --- History ---------------------------------------------------------------------------------
class History:
    """What `fit` measured: one float per completed epoch for each quantity.

    `history.loss` and `history.accuracy` (or `history.<name>` for any other metric) were
    measured on the training batches as they were trained on: running averages over the
    epoch, with dropout active. `history.val_loss`, `history.val_accuracy` are measured on
    the validation data after the epoch, in eval mode, and stay empty without `val_data`.
    The reported loss is the data loss only, so training and validation losses compare;
    the L1/L2 penalties are added to what the optimizer minimises, not to these numbers.

    Attributes
    ----------
    names : the quantities measured on the training data ("loss", then each metric).
    values : name -> list of per-epoch floats, for training and `val_` names.
    interrupted : True when Ctrl-C stopped `fit`; the epochs completed before it are kept.
    """

    def __init__(self, names: Sequence[str] = ("loss", "accuracy")) -> None:
        self.names = list(names)
        self.values: dict[str, list[float]] = {n: [] for n in self.names}
        self.values.update({f"val_{n}": [] for n in self.names})
        self.interrupted = False

    def __getattr__(self, name: str) -> list[float]:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"History has no {name!r}; it holds {sorted(values)}")

    @property
    def epochs(self) -> int:
        return len(self.values[self.names[0]]) if self.names else 0

    def append(self, numbers: dict[str, float]) -> None:
        """Record one epoch: `numbers` maps names (training or `val_`) to floats."""
        for name, value in numbers.items():
            self.values[name].append(value)

    def __repr__(self) -> str:
        last = ", ".join(f"{name}={v[-1]:.4g}" for name, v in self.values.items() if v)
        stopped = ", interrupted" if self.interrupted else ""
        return f"History(epochs={self.epochs}{stopped}{', ' if last else ''}{last})"

    def plot(self, path: str | None = None) -> "Figure":
        """Draw one panel per quantity (loss, accuracy, ...): training and validation curves.

        Parameters
        ----------
        path : save the figure there (PNG, SVG, PDF by suffix) with matplotlib's Agg
            renderer, which needs no display and leaves pyplot alone. Without it the figure
            is made with pyplot, so a notebook shows it (assign the result, or it shows
            twice) and `plt.show()` opens it; `figure.savefig(...)` still saves it.

        Returns
        -------
        The matplotlib Figure.
        """
        figure = _new_figure(path, (5.5 * len(self.names), 4.5), len(self.names))
        epochs = np.arange(1, self.epochs + 1)
        for ax, name in zip(figure.axes, self.names):
            ax.plot(epochs, self.values[name], color="tab:blue", linewidth=2,
                    label="training (train mode)")
            val = self.values[f"val_{name}"]
            if val:
                ax.plot(epochs[:len(val)], val, color="tab:orange", linewidth=2,
                        linestyle="--", label="validation (eval mode)")
            better = "lower" if name == "loss" else "higher"
            ax.set_title(f"{name} per epoch ({better} is better)")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        return _finish_figure(figure, path)


# --- the loop --------------------------------------------------------------------------------
def _as_batches(data: Any) -> Batches:
    """An (X, y) pair is one full batch per epoch (how the seeds train); else a DataLoader."""
    if isinstance(data, tuple) and len(data) == 2:
        X, y = data
        return [(X if isinstance(X, Tensor) else tensor(X),
                 y if isinstance(y, Tensor) else tensor(y))]
    return data


@contextlib.contextmanager
def _mode_restored(model: "Module") -> Iterator[None]:
    """Whatever happens inside, leave the model in the train/eval mode it came in with."""
    was_training = model.training
    try:
        yield
    finally:
        model.train(was_training)


def _train_step(model: "Module", loss_fn: Callable[[Tensor, Tensor], Tensor],
                optimizer: "Optimizer") -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """One training step on a batch, returning the output and the loss (before the step)."""
    def step(xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor]:
        out = model(xb)
        loss = loss_fn(out, yb)
        optimizer.zero_grad()
        (loss + model.regularization_loss()).backward()
        optimizer.step()
        return out, loss
    return step


def _run_epoch(model: "Module", batches: Batches, loss_fn: Callable | None,
               metrics: dict[str, Metric], step: Callable | None = None,
               report: Callable[[dict[str, float]], None] | None = None) -> dict[str, float]:
    """One pass over the batches: train on each with `step` (see `_train_step`) when given,
    else only measure.

    Returns each quantity averaged over rows (batches weighted by their size), so a smaller
    last batch counts for what it is. `report` gets the running averages after each batch.
    """
    names = (["loss"] if loss_fn is not None else []) + list(metrics)
    sums = dict.fromkeys(names, 0.0)
    rows = 0
    for xb, yb in batches:
        if step is not None:
            out, loss = step(xb, yb)
        else:
            out = model(xb)
            loss = None if loss_fn is None else loss_fn(out, yb)
        n = len(xb)
        if loss is not None:
            sums["loss"] += loss.item() * n
        for name, metric in metrics.items():
            sums[name] += metric(out, yb) * n
        rows += n
        if report is not None:
            report({name: total / rows for name, total in sums.items()})
    if rows == 0:
        raise ValueError("the data gave no batches (is the DataLoader empty?)")
    return {name: total / rows for name, total in sums.items()}


def evaluate(model: "Module", data: Any, loss_fn: Callable | None = None,
             metrics: Sequence[str | Metric] = ("accuracy",)) -> dict[str, float]:
    """Measure the model on `data` in eval mode (no dropout), without recording a graph.

    Parameters
    ----------
    data : a DataLoader, or an (X, y) pair taken as one batch.
    loss_fn : also report its mean as "loss" when given.
    metrics : names from `METRICS` ("accuracy") or functions `fn(output, target) -> float`.

    Returns
    -------
    name -> value averaged over all rows; the model's train/eval mode is left as it was.

    Example
    -------
    >>> evaluate(model, (X_test, y_test))["accuracy"]
    """
    return _measure(model, _as_batches(data), loss_fn, _metric_functions(metrics))


def _measure(model: "Module", batches: Batches, loss_fn: Callable | None,
             metrics: dict[str, Metric]) -> dict[str, float]:
    with no_grad(), _mode_restored(model):
        model.eval()
        return _run_epoch(model, batches, loss_fn, metrics)


def fit(model: "Module", loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: "Optimizer",
        train_data: Any, epochs: int, val_data: Any = None,
        metrics: Sequence[str | Metric] = ("accuracy",),
        scheduler: "LRScheduler | None" = None, progress: bool = True,
        jit: bool = False) -> History:
    """Train `model` for `epochs` passes over `train_data` and return what was measured.

    Each mini-batch: `out = model(x)`, `loss = loss_fn(out, y) + model.regularization_loss()`,
    `optimizer.zero_grad()`, `loss.backward()`, `optimizer.step()`. After each epoch the
    model is measured on `val_data` (in eval mode) and `scheduler.step()` is called.

    Parameters
    ----------
    model : an nn.Module; it trains in train mode and is left in the mode it came in with.
    loss_fn : `loss_fn(output, target) -> scalar Tensor`, e.g. `nn.CrossEntropyLoss()`.
    optimizer : built over `model.parameters()`.
    train_data, val_data : DataLoaders, or (X, y) pairs taken as one full batch per epoch.
    epochs : passes over the training data.
    metrics : names from `METRICS` ("accuracy") or functions `fn(output, target) -> float`.
    scheduler : a learning-rate scheduler, stepped once per epoch.
    progress : show a tqdm bar with the loss and metrics: one bar per epoch over its
        batches, or a single bar over the epochs when each epoch is one batch.
    jit : run the training step under `TinyJit` (recorded on its first calls, then
        replayed without Python's bookkeeping; the same numbers, faster at small batches).
        A step it cannot replay warns and runs as usual. With a scheduler it records again
        after each epoch, as the learning rate changed.

    Returns
    -------
    History: per-epoch lists (`history.loss`, `history.accuracy`, `history.val_loss`, ...).

    Ctrl-C (KeyboardInterrupt) stops training cleanly: the epoch in progress is dropped, the
    gradients are cleared, the model keeps its weights and its mode, and the History so far
    comes back with `interrupted=True`.
    """
    batches = _as_batches(train_data)
    step = _train_step(model, loss_fn, optimizer)
    if jit:
        step = TinyJit(step)
    val_batches = None if val_data is None else _as_batches(val_data)
    functions = _metric_functions(metrics)
    history = History(["loss", *functions])
    one_batch = len(batches) == 1  # NOTE: a bar over a single batch would say nothing
    with _mode_restored(model), tqdm(total=epochs, desc="fit", unit="epoch",
                                     disable=not progress or not one_batch) as epoch_bar:
        try:
            for epoch in range(epochs):
                model.train()
                # NOTE: the bar is updated by hand, not iterated: iterating it closes it at
                # the last batch, before the validation numbers could be shown on it
                with tqdm(total=len(batches), desc=f"epoch {epoch + 1}/{epochs}",
                          unit="batch", disable=not progress or one_batch) as batch_bar:

                    def report(running: dict[str, float]) -> None:
                        batch_bar.set_postfix(running, refresh=False)
                        batch_bar.update()

                    numbers = _run_epoch(model, batches, loss_fn, functions, step, report)
                    if val_batches is not None:
                        measured = _measure(model, val_batches, loss_fn, functions)
                        numbers.update({f"val_{k}": v for k, v in measured.items()})
                    batch_bar.set_postfix(numbers)
                history.append(numbers)
                if scheduler is not None:
                    scheduler.step()  # NOTE: a replay reads the new rate from the groups
                epoch_bar.set_postfix(numbers, refresh=False)
                epoch_bar.update()
        except KeyboardInterrupt:
            optimizer.zero_grad()
            history.interrupted = True
            print(f"fit: interrupted; keeping the {history.epochs} completed epoch(s)",
                  file=sys.stderr)
    return history


# --- pictures --------------------------------------------------------------------------------
def _new_figure(path: str | None, size: tuple[float, float], panels: int = 1) -> "Figure":
    """pyplot's figure when it is to be shown, a standalone Agg one when it is to be saved."""
    try:
        if path is None:
            import matplotlib.pyplot as plt
            figure = plt.figure(figsize=size)
        else:
            from matplotlib.figure import Figure
            figure = Figure(figsize=size)  # NOTE: never touches pyplot or a GUI backend
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from err
    figure.subplots(1, panels, squeeze=False)
    return figure


def _finish_figure(figure: "Figure", path: str | None) -> "Figure":
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_decision_boundary(model: "Module", X: Any, y: Any, path: str | None = None,
                           resolution: int = 300, title: str | None = None) -> "Figure":
    """Colour the plane by the class the model predicts there, with the data points on top.

    Parameters
    ----------
    model : maps (N, 2) float32 inputs to class scores (N, C), or to one sigmoid
        probability (N, 1); run in eval mode, its mode is restored afterwards.
    X, y : the 2-D points (N, 2) and their true classes (N,) or (N, 1).
    path : save the figure there (Agg renderer, no display needed); see `History.plot`.
    resolution : grid cells along each axis.
    title : defaults to the accuracy on (X, y).

    Returns
    -------
    The matplotlib Figure.
    """
    points = _numpy(X).astype(np.float32)
    labels = _numpy(y).reshape(len(points)).astype(np.int64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points (N, 2), got {points.shape}")
    low, high = points.min(0), points.max(0)
    pad = 0.1 * (high - low)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution, dtype=np.float32)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution, dtype=np.float32)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    with no_grad(), _mode_restored(model):
        model.eval()
        regions = _predicted_classes(model(tensor(grid)).numpy()).reshape(grid_x.shape)
        predicted = _predicted_classes(model(tensor(points)).numpy())
    classes = int(max(labels.max(), regions.max())) + 1

    from matplotlib.colors import ListedColormap, to_rgb

    dark = [to_rgb(f"C{c % 10}") for c in range(classes)]
    light = [tuple(0.35 * np.array(c) + 0.65) for c in dark]  # the same hue, mixed with white
    figure = _new_figure(path, (7.5, 5.0))
    ax = figure.axes[0]
    ax.pcolormesh(grid_x, grid_y, regions, cmap=ListedColormap(light), vmin=-0.5,
                  vmax=classes - 0.5, shading="auto")
    ax.contour(grid_x, grid_y, regions, levels=np.arange(classes - 1) + 0.5, colors="0.3",
               linewidths=0.8)
    for c in range(classes):
        mine = labels == c
        ax.scatter(points[mine, 0], points[mine, 1], color=dark[c], edgecolors="black",
                   linewidths=0.5, s=22, label=f"class {c}", zorder=3)
    ax.legend(title="true class of each point\n(shading: predicted class)", fontsize=8,
              title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_xlabel("x[:, 0] (first input feature)")
    ax.set_ylabel("x[:, 1] (second input feature)")
    accuracy_text = f"{np.mean(predicted == labels):.1%} of points in their class's region"
    ax.set_title(title or f"Decision boundary: {accuracy_text}")
    ax.set_aspect("equal")
    return _finish_figure(figure, path)
