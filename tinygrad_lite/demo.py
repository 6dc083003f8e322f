"""`tinygrad-lite demo`: the library end to end on the seeds' spiral, in a few seconds.

Makes 3-class spiral data (100 points per class), builds an MLP with dropout, prints its
summary, trains it with a progress bar, and writes three pictures meant to be read without
the code: `graph.svg` (the computation graph of one training step, grouped by layer),
`training_curve.png` (loss and accuracy per epoch) and `decision_boundary.png`.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path

from . import nn, optim
from .data import spiral_data
from .rng import manual_seed
from .summary import summary
from .train import evaluate, fit, plot_decision_boundary
from .viz import draw_graph, trace_modules

CLASSES = 3
POINTS_PER_CLASS = 100
EPOCHS = 1500

_GRAPH_TITLE = (
    "One training step of the demo MLP: data flows along the arrows, from the input batch and "
    "the parameters down to the loss.\nBlue: parameters (learned).  White: the input batch and "
    "constants.  Grey: operations, with the shape of what they produce.  Green: the loss.\n"
    "Each rounded box holds the operations of one layer; below them is the cross-entropy loss. "
    "backward() walks the arrows in reverse."
)


def spiral_model(hidden: int = 128, p: float = 0.1, l2: float = 1e-4) -> nn.Sequential:
    """2 -> hidden -> hidden -> 3 with ReLU, dropout and the seeds' L2 penalty on every layer.

    Enough capacity to wrap around three spirals; dropout and L2 keep the validation loss
    from climbing while the training loss keeps falling.
    """
    def linear(n_in: int, n_out: int) -> nn.Linear:
        return nn.Linear(n_in, n_out, weight_l2=l2, bias_l2=l2)

    return nn.Sequential(OrderedDict(
        fc1=linear(2, hidden), relu1=nn.ReLU(), drop1=nn.Dropout(p),
        fc2=linear(hidden, hidden), relu2=nn.ReLU(), drop2=nn.Dropout(p),
        fc3=linear(hidden, CLASSES),
    ))


def run_demo(out_dir: str | Path = "demo_out", epochs: int = EPOCHS, seed: int = 0,
             progress: bool = True) -> dict[str, Path | float]:
    """Train the spiral MLP, print what happened, and write the three pictures to `out_dir`.

    Returns
    -------
    "graph", "training_curve", "decision_boundary" -> the path written, and
    "train_accuracy", "val_accuracy" -> the final accuracies (eval mode, no dropout).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manual_seed(seed)
    X, y = spiral_data(POINTS_PER_CLASS, CLASSES)
    X_val, y_val = spiral_data(POINTS_PER_CLASS, CLASSES)  # the same arms, fresh noise
    model = spiral_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    print(f"Spiral data: {len(X)} training points and {len(X_val)} validation points, "
          f"{CLASSES} classes.\n")
    print(model, "\n")
    print(summary(model, input_size=tuple(X.shape), optimizer=optimizer), "\n")

    paths = {"graph": out / "graph.svg", "training_curve": out / "training_curve.png",
             "decision_boundary": out / "decision_boundary.png"}
    with trace_modules(model) as trace:
        loss = loss_fn(model(X), y)
    graph = draw_graph(loss, params={"loss": loss, "x (input batch)": X,
                                     **dict(model.named_parameters())}, modules=trace)
    graph.attr(label=_GRAPH_TITLE, labelloc="t", fontsize="12")
    paths["graph"].write_bytes(graph.pipe(format="svg"))

    print(f"Training for {epochs} epochs: Adam (lr 0.01), the whole data set as one batch, "
          "dropout 0.1 and L2 1e-4; the step recorded once and replayed (TinyJit):")
    start = time.perf_counter()
    history = fit(model, loss_fn, optimizer, (X, y), epochs,
                  val_data=(X_val, y_val), progress=progress, jit=True)
    seconds = time.perf_counter() - start
    train_accuracy = evaluate(model, (X, y))["accuracy"]
    val_accuracy = evaluate(model, (X_val, y_val))["accuracy"]
    print(f"\nTrained {history.epochs} epochs in {seconds:.1f} s.")
    print(f"training accuracy {train_accuracy:.3f}, validation accuracy {val_accuracy:.3f} "
          "(eval mode: dropout off)\n")

    history.plot(str(paths["training_curve"]))
    plot_decision_boundary(model, X, y, str(paths["decision_boundary"]),
                           title=f"Spiral, {CLASSES} classes: training accuracy "
                                 f"{train_accuracy:.1%}")
    captions = {"graph": "the computation graph of one training step",
                "training_curve": "loss and accuracy per epoch",
                "decision_boundary": "the class the model predicts at each point of the plane"}
    for key, path in paths.items():
        print(f"wrote {str(path):<32} {captions[key]}")
    return {**paths, "train_accuracy": train_accuracy, "val_accuracy": val_accuracy}
