"""fit / evaluate / accuracy / History / plots: the training helpers in tinygrad_lite.train."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, TensorDataset, spiral_data
from tinygrad_lite.train import History, accuracy, evaluate, fit, plot_decision_boundary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def spiral_mlp(classes: int = 3, hidden: int = 32, p: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(hidden, classes))


@pytest.fixture
def spiral():
    tl.manual_seed(0)
    return spiral_data(50, 3)


# --- accuracy --------------------------------------------------------------------------------
def test_accuracy_takes_argmax_of_multiclass_logits():
    logits = tl.tensor([[2.0, 0.1, -1.0], [0.3, 0.9, 0.0], [0.0, 0.0, 5.0], [1.0, 2.0, 0.0]])
    assert accuracy(logits, tl.tensor([0, 1, 2, 0])) == 0.75


def test_accuracy_accepts_one_hot_targets():
    logits = tl.tensor([[2.0, 0.1], [0.3, 0.9]])
    assert accuracy(logits, tl.tensor([[1.0, 0.0], [1.0, 0.0]])) == 0.5


@pytest.mark.parametrize("shape", [(4, 1), (4,)])
def test_accuracy_thresholds_a_single_sigmoid_output_at_one_half(shape):
    probs = tl.tensor([0.2, 0.51, 0.49, 0.9]).reshape(shape)
    assert accuracy(probs, tl.tensor([0.0, 1.0, 1.0, 1.0]).reshape(shape)) == 0.75
    assert accuracy(probs, tl.tensor([0, 1, 0, 1])) == 1.0


# --- fit -------------------------------------------------------------------------------------
def test_fit_full_batch_learns_the_spiral_and_records_every_epoch(spiral):
    X, y = spiral
    model = spiral_mlp(hidden=64)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02),
                  (X, y), epochs=300, val_data=(X, y), progress=False)
    assert history.epochs == 300
    assert len(history.loss) == len(history.accuracy) == len(history.val_loss) == 300
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.val_accuracy[-1] > 0.75  # seeds 0-5 give 0.84-0.90
    assert evaluate(model, (X, y))["accuracy"] == pytest.approx(history.val_accuracy[-1])
    assert not history.interrupted


def test_fit_with_a_dataloader_steps_once_per_batch(spiral):
    X, y = spiral
    model = spiral_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    steps = []
    original_step = opt.step
    opt.step = lambda: steps.append(1) or original_step()
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)  # 150 rows: 5 batches
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=4, progress=False)
    assert len(steps) == 4 * 5
    assert history.epochs == 4 and history.val_loss == []


def test_fit_averages_over_rows_so_a_short_last_batch_counts_for_its_size():
    X = tl.tensor(np.zeros((5, 1), dtype=np.float32))
    y = tl.tensor(np.array([0, 0, 0, 0, 1]))
    model = nn.Linear(1, 2)
    with tl.no_grad():
        model.weight.zero_()
        model.bias.copy_(np.array([1.0, 0.0], dtype=np.float32))  # always predicts class 0
    loader = DataLoader(TensorDataset(X, y), batch_size=4)  # batches of 4 right and 1 wrong
    assert evaluate(model, loader)["accuracy"] == pytest.approx(0.8)


def test_fit_adds_the_models_l1_l2_penalties_to_the_loss():
    model = nn.Linear(3, 2, weight_l2=0.5)
    w0 = model.weight.numpy().copy()
    b0 = model.bias.numpy().copy()

    def no_data_loss(out, target):
        return (out * 0).sum()

    fit(model, no_data_loss, optim.SGD(model.parameters(), lr=0.1),
        (tl.randn(4, 3), tl.zeros(4)), epochs=1, metrics=(), progress=False)
    # d/dw of 0.5 * sum(w^2) is w, so one SGD step with lr 0.1 scales w by 0.9
    np.testing.assert_allclose(model.weight.numpy(), 0.9 * w0, rtol=1e-6)
    np.testing.assert_allclose(model.bias.numpy(), b0)


def test_fit_reports_data_loss_without_the_penalty(spiral):
    X, y = spiral
    model = nn.Sequential(nn.Linear(2, 3, weight_l2=100.0))
    loss_fn = nn.CrossEntropyLoss()
    data_loss = loss_fn(model(X), y).item()
    history = fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.0), (X, y), epochs=1,
                  progress=False)
    assert history.loss[0] == pytest.approx(data_loss, rel=1e-6)


def test_fit_steps_the_scheduler_once_per_epoch(spiral):
    model = spiral_mlp()
    opt = optim.SGD(model.parameters(), lr=0.4)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, nn.CrossEntropyLoss(), opt, spiral, epochs=3, scheduler=scheduler,
        progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("start_in_training", [True, False])
def test_fit_and_evaluate_leave_the_model_in_the_mode_it_came_in(spiral, start_in_training):
    model = spiral_mlp(p=0.5).train(start_in_training)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), spiral,
        epochs=2, val_data=spiral, progress=False)
    assert all(m.training == start_in_training for m in model.modules())
    evaluate(model, spiral)
    assert all(m.training == start_in_training for m in model.modules())


def test_fit_trains_with_dropout_on_and_validates_with_it_off(spiral):
    model = spiral_mlp(p=0.9)
    seen = []
    model[2].register_forward_hook(lambda m, args, out: seen.append(m.training))
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), spiral,
        epochs=2, val_data=spiral, progress=False)
    assert seen == [True, False, True, False]


def test_evaluate_records_no_graph(spiral):
    model = spiral_mlp()
    outputs = []
    model.register_forward_hook(lambda m, args, out: outputs.append(out))
    result = evaluate(model, spiral, nn.CrossEntropyLoss())
    assert set(result) == {"loss", "accuracy"}
    assert outputs[0]._ctx is None and not outputs[0].requires_grad


def test_fit_accepts_numpy_pairs_and_custom_metric_functions(spiral):
    X, y = spiral[0].numpy(), spiral[1].numpy()

    def error_rate(out, target):
        return 1.0 - accuracy(out, target)

    model = spiral_mlp()
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                  (X, y), epochs=3, val_data=(X, y), metrics=["accuracy", error_rate],
                  progress=False)
    np.testing.assert_allclose(np.add(history.error_rate, history.accuracy), 1.0)
    assert len(history.val_error_rate) == 3


def test_fit_rejects_an_unknown_metric_name(spiral):
    model = spiral_mlp()
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), spiral,
            epochs=1, metrics=("f1",), progress=False)


def test_fit_keyboard_interrupt_returns_history_so_far_and_a_usable_model(spiral, capsys):
    X, y = spiral
    model = spiral_mlp(p=0.5).eval()
    opt = optim.Adam(model.parameters(), lr=0.01)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        if len(calls) == 3:  # the third epoch's forward pass
            out.sum().backward()  # leave gradients behind, as a half-done step would
            raise KeyboardInterrupt
        return nn.functional.cross_entropy(out, target)

    history = fit(model, loss_fn, opt, (X, y), epochs=10, progress=False)
    assert history.interrupted and history.epochs == 2 and len(history.accuracy) == 2
    assert "interrupted" in capsys.readouterr().err
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    again = fit(model, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, progress=False)
    assert again.epochs == 2 and not again.interrupted


def test_fit_progress_bar_shows_loss_and_metrics(spiral, capsys):
    model = spiral_mlp()
    loader = DataLoader(TensorDataset(*spiral), batch_size=64)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader,
        epochs=2, val_data=spiral)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "3/3" in err
    assert "loss=" in err and "accuracy=" in err and "val_accuracy=" in err


def test_fit_with_one_batch_per_epoch_shows_one_bar_over_epochs(spiral, capsys):
    model = spiral_mlp()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), spiral,
        epochs=3)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch/s" in err and "epoch 1/3" not in err


# --- History ---------------------------------------------------------------------------------
def test_history_attributes_repr_and_unknown_names():
    history = History(["loss", "accuracy"])
    history.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 1.5, "val_accuracy": 0.25})
    history.append({"loss": 0.5, "accuracy": 0.75})
    assert history.loss == [1.0, 0.5] and history.val_accuracy == [0.25]
    assert history.epochs == 2
    assert repr(history) == ("History(epochs=2, loss=0.5, accuracy=0.75, val_loss=1.5, "
                             "val_accuracy=0.25)")
    with pytest.raises(AttributeError, match="no 'f1'"):
        _ = history.f1


def test_history_plot_saves_a_png_with_one_labelled_panel_per_quantity(tmp_path):
    pytest.importorskip("matplotlib")
    history = History(["loss", "accuracy"])
    for epoch in range(5):
        history.append({"loss": 1 / (epoch + 1), "accuracy": epoch / 5,
                        "val_loss": 1.2 / (epoch + 1), "val_accuracy": epoch / 6})
    path = tmp_path / "curve.png"
    figure = history.plot(str(path))
    assert path.read_bytes()[:8] == PNG_MAGIC
    loss_ax, acc_ax = figure.axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert "lower is better" in loss_ax.get_title()
    assert "higher is better" in acc_ax.get_title()
    assert [len(line.get_xdata()) for line in acc_ax.get_lines()] == [5, 5]


def test_plot_decision_boundary_saves_a_labelled_png(tmp_path, spiral):
    pytest.importorskip("matplotlib")
    X, y = spiral
    model = spiral_mlp(p=0.5).train()
    path = tmp_path / "boundary.png"
    figure = plot_decision_boundary(model, X, y, str(path), resolution=50)
    assert path.read_bytes()[:8] == PNG_MAGIC
    ax = figure.axes[0]
    assert "x[:, 0]" in ax.get_xlabel() and "x[:, 1]" in ax.get_ylabel()
    expected = evaluate(model, spiral)["accuracy"]
    assert f"{expected:.1%}" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1",
                                                                   "class 2"]
    assert model.training


def test_plot_decision_boundary_handles_one_sigmoid_output(tmp_path):
    pytest.importorskip("matplotlib")
    X = tl.tensor([[-1.0, 0.0], [-0.5, 1.0], [0.5, 0.0], [1.0, 1.0]])
    y = tl.tensor([[0.0], [0.0], [1.0], [1.0]])
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    with tl.no_grad():
        model[0].weight.copy_(np.array([[5.0, 0.0]], dtype=np.float32))
        model[0].bias.zero_()
    figure = plot_decision_boundary(model, X, y, str(tmp_path / "b.png"), resolution=20)
    assert "100.0%" in figure.axes[0].get_title()


def test_plot_decision_boundary_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError, match=r"2-D points \(N, 2\)"):
        plot_decision_boundary(nn.Linear(3, 2), tl.randn(4, 3), tl.zeros(4))
