"""TinyJit: a replayed function computes what the eager one computes, and a function that
replay would get wrong is refused (with a warning) and runs eagerly."""
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.nn import functional as F


@pytest.fixture(params=["numpy", "numba-kernels"])
def backend(request):
    """Each test on the numpy backend and on numba with every elementwise op in a kernel,
    as TinyJit records on numba (eager numba below 65,536 elements runs numpy's ops and
    masks, so replay there is compared with a tolerance, without dropout, below)."""
    previous = tl.get_backend()
    tl.set_backend(request.param.split("-")[0])
    if request.param == "numba-kernels":
        tl.backend.active.small = 0
    yield request.param
    tl.set_backend(previous)


def _training_step(model, opt, loss_fn=F.cross_entropy, clip=None):
    """The usual step: zero_grad, loss, backward, (clip), step; it returns the loss."""
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=clip)
        opt.step()
        return loss
    step.opt = opt
    return step


def _mlp_step(optimizer=optim.SGD, **opt_args):
    """A seeded MLP with dropout and its training step (returns the loss tensor)."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 8),
                          nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 4))
    return model, _training_step(model, optimizer(model.parameters(), **opt_args))


def _batches(n, size=6, seed=1):
    rng = np.random.default_rng(seed)
    return [(tl.tensor(rng.standard_normal((size, 12), dtype=np.float32)),
             tl.tensor(rng.integers(0, 4, size))) for _ in range(n)]


def _train(step, batches):
    tl.manual_seed(5)  # NOTE: the same dropout masks for both runs
    return [step(x, y).item() for x, y in batches]


def _assert_replays_as_eager(make, batches, call):
    """`make()` -> (model, step), twice: the jitted step replays (no warning, `call` in its
    source) with the same losses and final weights as the eager one, bit for bit."""
    eager_model, eager_step = make()
    jit_model, step = make()
    jitted = tl.TinyJit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _train(jitted, batches) == _train(eager_step, batches)
    assert call in jitted.source
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_replayed_training_matches_eager_training_exactly(backend):
    batches = _batches(7)
    eager_model, eager_step = _mlp_step(lr=0.1, momentum=0.9)
    jit_model, step = _mlp_step(lr=0.1, momentum=0.9)
    jitted = tl.TinyJit(step)
    assert _train(jitted, batches) == _train(eager_step, batches)
    assert jitted.source.startswith("def replay(x0, x1):")
    assert "b.matmul(" in jitted.source and "b.step_in_place(" in jitted.source
    # NOTE: W.T of each weight is made once, at recording: a view that sees every step
    assert "b.matmul(x0, k" in jitted.source
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())  # rebound by replay


def test_default_numba_replay_fuses_small_arrays_and_matches_eager_closely():
    """Eager numba runs numpy's ops below 65,536 elements; the recording fuses them into
    kernels from 1,024 on (`launch` in the source), whose float32 rounding may differ in
    the last bits."""
    previous = tl.get_backend()
    tl.set_backend("numba")
    batches = _batches(6, size=128)  # NOTE: 128 x 16 = 2,048 elements a hidden layer
    results = []
    for jit in (False, True):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = tl.TinyJit(step) if jit else step
        results.append(([run(x, y).item() for x, y in batches], model, run))
    tl.set_backend(previous)
    (eager, eager_model, _), (jitted, jit_model, run) = results
    assert "launch(" in run.source
    np.testing.assert_allclose(jitted, eager, rtol=1e-5)
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)


def test_replay_skips_the_python_function_and_records_each_new_shape_again():
    calls = []

    @tl.TinyJit
    def f(x, w):
        calls.append(x.shape)
        return (x @ w).relu().sum(1)

    w = tl.randn(3, 2)
    xs = [tl.randn(4, 3) for _ in range(5)] + [tl.randn(7, 3) for _ in range(4)]
    outs = [f(x, w) for x in xs]
    # eager once, recorded twice, then replayed: per shape
    assert calls == [(4, 3)] * 3 + [(7, 3)] * 3
    for x, out in zip(xs, outs):
        np.testing.assert_allclose(out.numpy(), (x @ w).relu().sum(1).numpy(), rtol=1e-6)
        assert out.grad_fn is None
    assert len({id(out) for out in outs}) == len(outs)  # NOTE: a fresh tensor per call


def test_changing_the_numba_backends_size_thresholds_records_a_new_plan():
    """Which calls a run makes (a kernel, a pending dropout mask, or numpy's) depends on
    `small` / `jit_small`: a plan recorded under one setting is not replayed under another
    (it read a mask node's seeds that numpy's mask does not have)."""
    previous = tl.get_backend()
    tl.set_backend("numba")
    backend = tl.backend.active
    try:
        model, step = _mlp_step(lr=0.1)
        jitted = tl.TinyJit(step)
        x, y = tl.randn(64, 12), tl.tensor(np.arange(64) % 4)
        for small in (0, 1 << 20, 0):   # kernels (a pending keep-mask), then numpy's
            backend.small = backend.jit_small = small
            losses = [jitted(x, y).item() for _ in range(5)]
            assert all(np.isfinite(losses))
        assert len(jitted._plans) == 2
    finally:
        tl.set_backend(previous)


def test_tuples_and_keyword_arguments_are_replayed():
    @tl.TinyJit
    def f(x, *, scale):
        return x * scale, (x + scale).exp()

    for _ in range(4):
        x, s = tl.randn(5), tl.randn(5)
        a, b = f(x, scale=s)
        np.testing.assert_allclose(a.numpy(), (x * s).numpy(), rtol=1e-6)
        np.testing.assert_allclose(b.numpy(), (x + s).exp().numpy(), rtol=1e-6)


def _assert_refused(f, args_per_call, expected, reason):
    """f warns once (naming `reason`) and every call still returns the eager result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for args, want in zip(args_per_call, expected):
            np.testing.assert_allclose(f(*args).numpy(), want, rtol=1e-6)
    messages = [str(w.message) for w in caught if "TinyJit" in str(w.message)]
    assert len(messages) == 1 and reason in messages[0], messages


def test_a_python_number_that_changes_is_refused_not_frozen():
    scale = [1.0]

    @tl.TinyJit
    def f(x):
        scale[0] += 1
        return x * scale[0]

    x = tl.ones(3)
    _assert_refused(f, [(x,)] * 6, [np.full(3, k) for k in range(2, 8)], "3.0, then 4.0")


def test_an_array_made_inside_the_function_is_refused_not_frozen():
    rng = np.random.default_rng(0)
    draws = [rng.standard_normal(3).astype(np.float32) for _ in range(5)]
    it = iter(draws)

    @tl.TinyJit
    def f(x):
        return x + tl.tensor(next(it))

    x = tl.zeros(3)
    _assert_refused(f, [(x,)] * 5, draws, "made outside the backend")


def test_a_branch_on_tensor_values_is_refused():
    @tl.TinyJit
    def f(x):
        return x * 2 if x.sum().item() > 0 else x.exp()

    xs = [tl.tensor([1.0, 2.0]), tl.tensor([1.0, 2.0]), tl.tensor([-1.0, -2.0]),
          tl.tensor([3.0, 1.0])]
    want = [np.array([2.0, 4.0]), np.array([2.0, 4.0]), np.exp([-1.0, -2.0]),
            np.array([6.0, 2.0])]
    _assert_refused(f, [(x,) for x in xs], want, "different backend calls")


@pytest.mark.parametrize("optimizer", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop,
                                       optim.Adagrad, optim.Adadelta, optim.Adamax,
                                       optim.NAdam, optim.RAdam, optim.ASGD, optim.Rprop,
                                       optim.Adafactor])
@pytest.mark.parametrize("maximize", [False, True])
def test_every_optimizer_replays_and_trains_exactly_as_eager(optimizer, maximize, backend):
    """Each rule runs as one backend call (step_in_place): replay updates the parameters,
    the state and the step counts as the eager step does."""
    options = {"lr": 0.01, "maximize": maximize}
    batches = _batches(6)
    eager_model, eager_step = _mlp_step(optimizer, **options)
    jit_model, step = _mlp_step(optimizer, **options)
    jitted = tl.TinyJit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NOTE: no refusal
        assert _train(jitted, batches) == _train(eager_step, batches)
    assert "b.step_in_place(" in jitted.source
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    for s, t in zip(eager_step.opt.state.values(), step.opt.state.values()):
        assert s.keys() == t.keys()
        for name in s:
            np.testing.assert_array_equal(np.asarray(s[name]), np.asarray(t[name]))


def test_the_seeds_update_written_with_in_place_tensor_ops_replays():
    """`w -= lr * w.grad` under no_grad, as the seeds write SGD: an in-place op is a
    backend call (copy_into), so replay makes the update too."""
    w = tl.ones(3, requires_grad=True)

    @tl.TinyJit
    def step(x):
        w.grad = None
        loss = (w * x).sum()
        loss.backward()
        with tl.no_grad():
            w.sub_(0.5 * w.grad)
        return loss

    x = tl.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = [step(x).item() for _ in range(6)]
    assert losses == [6.0 - 7 * k for k in range(6)]  # NOTE: w moves by -0.5 * x a step
    assert "b.copy_into(" in step.source


def test_views_of_a_weight_see_its_updates_and_a_reshape_that_copies_is_made_each_call(
        backend):
    """W.T is made once, at recording (a view of W); the reshape of a non-contiguous weight
    copies, so replay makes it on every call: both follow W as the in-place update moves it."""
    def make():
        tl.manual_seed(0)
        w = tl.randn(4, 3).T

        def step(x):  # NOTE: w is the function's own state, as a model's weight is
            out = (w.reshape(-1) * x).sum() + (w.T * 2).sum()
            w.sub_(0.1 * out)
            return out
        return step

    jitted, eager = tl.TinyJit(make()), make()
    xs = [tl.randn(12) for _ in range(6)]
    assert [jitted(x).item() for x in xs] == [eager(x).item() for x in xs]
    assert "b.reshape(" in jitted.source and "b.transpose(" not in jitted.source


def test_a_slice_assignment_under_no_grad_is_refused():
    """`t[i] = v` writes with numpy outside the backend: replay would skip it."""
    counts = tl.zeros(3)

    @tl.TinyJit
    def f(x):
        with tl.no_grad():
            counts[0] = counts[0] + x.sum()
        return counts * 1

    x = tl.ones(2)
    _assert_refused(f, [(x,)] * 5, [np.array([2.0 * k, 0, 0]) for k in range(1, 6)],
                    "in-place write")


def test_a_batch_norm_in_training_replays_with_its_running_statistics(backend):
    def run(jit):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        forward = tl.TinyJit(lambda x: model(x).detach()) if jit else (
            lambda x: model(x).detach())
        outs = [forward(x).numpy().copy() for x in xs]
        return outs, model[1]

    xs = [tl.randn(5, 3) for _ in range(6)]
    (eager, eager_bn), (jitted, jit_bn) = run(False), run(True)
    for a, b in zip(eager, jitted):
        np.testing.assert_array_equal(a, b)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(eager_bn, name).numpy(),
                                      getattr(jit_bn, name).numpy())


def test_a_function_that_returns_a_number_is_a_type_error():
    f = tl.TinyJit(lambda x: x.sum().item())
    with pytest.raises(TypeError, match="returned float"):
        f(tl.ones(2))


def test_inference_under_no_grad_replays():
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh())

    @tl.TinyJit
    def predict(x):
        with tl.no_grad():
            return model(x)

    for _ in range(5):
        x = tl.randn(2, 4)
        np.testing.assert_allclose(predict(x).numpy(), model(x).detach().numpy(), rtol=1e-6)


def test_reset_records_again_after_a_frozen_learning_rate_changes(backend):
    batches = _batches(8)

    def train(step, reset):
        tl.manual_seed(5)
        losses = []
        for k, (x, y) in enumerate(batches):
            if k == 5:  # NOTE: as a scheduler would, after replay has begun
                step.opt.param_groups[0]["lr"] = 0.01
                reset()
            losses.append(step(x, y).item())
        return losses

    eager_model, eager_step = _mlp_step(lr=0.1)
    jit_model, step = _mlp_step(lr=0.1)
    jitted = tl.TinyJit(step)
    jitted.opt = step.opt
    assert train(jitted, jitted.reset) == train(eager_step, lambda: None)
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("scheduled", [False, True])
def test_fit_with_jit_gives_the_same_history(scheduled, backend):
    """fit's jitted step (dropout, L2 penalties, Adam, a smaller last batch, validation in
    eval mode between epochs, a scheduler) trains exactly as the eager one."""
    from tinygrad_lite.data import DataLoader, TensorDataset, spiral_data
    from tinygrad_lite.optim.lr_scheduler import StepLR
    from tinygrad_lite.train import fit

    def run(jit):
        tl.manual_seed(0)
        X, y = spiral_data(30, 3)
        model = nn.Sequential(nn.Linear(2, 16, weight_l2=1e-3), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=0.02)
        loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
        scheduler = StepLR(opt, step_size=2, gamma=0.5) if scheduled else None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NOTE: no refusal: the step replays
            history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=6,
                          val_data=(X, y), scheduler=scheduler, progress=False, jit=jit)
        return history, model

    (eager, eager_model), (jitted, jit_model) = run(False), run(True)
    assert jitted.loss == eager.loss and jitted.val_accuracy == eager.val_accuracy
    for p, q in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_number_arguments_and_requires_grad_are_part_of_the_signature():
    calls = []

    @tl.TinyJit
    def f(x, w, scale):
        calls.append((scale, x.requires_grad))
        loss = (x * w * scale).sum()
        loss.backward()
        return loss

    w = tl.tensor([1.0, 2.0], requires_grad=True)
    for scale, needs in [(2.0, False)] * 4 + [(3.0, False)] * 4 + [(3.0, True)] * 4:
        w.grad = None
        x = tl.tensor([3.0, 4.0], requires_grad=needs)
        assert f(x, w, scale).item() == 11.0 * scale
        np.testing.assert_array_equal(w.grad.numpy(), [3.0 * scale, 4.0 * scale])
        if needs:  # NOTE: each call's own input gets its gradient
            np.testing.assert_array_equal(x.grad.numpy(), [scale, 2.0 * scale])
        else:
            assert x.grad is None
    assert calls == [(2.0, False)] * 3 + [(3.0, False)] * 3 + [(3.0, True)] * 3


def test_zero_grad_outside_the_jitted_function(backend):
    """Gradients cleared by the caller are given afresh by each replay; left in place, the
    eager call would add to them, so that call runs eagerly."""
    batches = _batches(7)
    models, losses = [], []
    for jit in (False, True):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 4))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def forward_backward(x, y, model=model):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        run = tl.TinyJit(forward_backward) if jit else forward_backward
        seen = []
        for k, (x, y) in enumerate(batches):
            if k != 5:  # NOTE: call 5 accumulates into the gradients of call 4
                opt.zero_grad()
            seen.append(run(x, y).item())
            opt.step()
        models.append(model)
        losses.append(seen)
    assert losses[0] == losses[1]
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_a_jitted_method_replays_per_instance():
    class Scaler:
        def __init__(self, scale):
            self.w = tl.tensor([scale])

        @tl.TinyJit
        def __call__(self, x):
            return x * self.w

    a, b = Scaler(2.0), Scaler(3.0)
    x = tl.tensor([1.0, 2.0])
    for _ in range(5):
        np.testing.assert_array_equal(a(x).numpy(), [2.0, 4.0])
        np.testing.assert_array_equal(b(x).numpy(), [3.0, 6.0])


def test_a_gradient_penalty_with_create_graph_replays(backend):
    """Double backward inside the jitted function: its Tensor-op backward is backend calls
    too, so replay gives the eager loss and gradient."""
    def make():
        tl.manual_seed(0)
        return tl.randn(3, requires_grad=True)

    def step(w, x):
        w.grad = None
        y = (w * x).tanh().sum()
        (g,) = tl.autograd.grad(y, w, create_graph=True)
        loss = y + (g * g).sum()
        loss.backward()
        return loss

    xs = [tl.randn(3) for _ in range(6)]
    w_eager, w_jit = make(), make()
    jitted = tl.TinyJit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in xs:
            assert jitted(w_jit, x).item() == step(w_eager, x).item()
            np.testing.assert_array_equal(w_jit.grad.numpy(), w_eager.grad.numpy())
    assert jitted.source


def test_gradient_clipping_replays_with_each_steps_norm(backend):
    """The clip factor is tensor ops, not a Python float frozen at recording: four small
    batches record a step that does not clip, and the large fifth batch must still clip."""
    def make():
        tl.manual_seed(0)
        model = nn.Linear(4, 2)
        return model, _training_step(model, optim.SGD(model.parameters(), lr=0.1),
                                     F.mse_loss, clip=1.0)

    batches = [(tl.full((3, 4), 0.01), tl.zeros(3, 2))] * 4 + [(tl.full((3, 4), 100.0),
                                                                tl.zeros(3, 2))]
    eager_model, eager_step = make()
    jit_model, step = make()
    jitted = tl.TinyJit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NOTE: replayed, not refused
        for x, y in batches:
            eager_step(x, y)
            jitted(x, y)
    np.testing.assert_allclose(jit_model.weight.numpy(), eager_model.weight.numpy(),
                               rtol=1e-5)
    assert np.abs(jit_model.weight.numpy()).max() < 1.0


def test_an_ignored_label_after_recording_is_an_error_not_a_wrong_loss(backend):
    """Batches without ignore_index labels record the fused loss; a later batch with one
    cannot take the eager path's way around it, and must not read outside the row."""
    tl.manual_seed(0)
    model = nn.Linear(4, 3)
    step = tl.TinyJit(_training_step(model, optim.SGD(model.parameters(), lr=0.1)))
    x = tl.randn(5, 4)
    for _ in range(4):
        step(x, tl.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(IndexError):
        step(x, tl.tensor([0, -100, 2, 0, 1]))


def test_a_jitted_method_never_replays_a_dead_instances_weights():
    """Plans are keyed by the instance, held weakly: a new object given a freed one's id
    records its own (and the dead one's plans are dropped)."""
    import gc

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        @tl.TinyJit
        def predict(self, x):
            return self.fc(x)

    x = tl.ones(1, 2)
    for _ in range(20):
        model = Model()
        with tl.no_grad():
            replayed = [model.predict(x).numpy().copy() for _ in range(4)][-1]
            np.testing.assert_allclose(replayed, model.fc(x).numpy())
        del model
        gc.collect()
    assert len(Model.predict._plans) == 1


def test_a_batch_norm_step_replays_without_a_warning(backend):
    """The running count's `add_(1)` on a 0-d buffer is the backend's own scalar result, which
    replay names (it was refused as "a Python value that changes", then ran eagerly)."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    jitted = tl.TinyJit(lambda x: model(x).detach())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):
            jitted(tl.randn(5, 3))
    assert model[1].num_batches_tracked.item() == 6 and jitted.source


def test_a_scheduler_stepping_between_replays_changes_the_replayed_rate(backend):
    """The optimizer's group options reach its update rule at every replay."""
    def make():
        tl.manual_seed(0)
        model = nn.Linear(4, 2)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = _training_step(model, opt, F.mse_loss)
        return model, step, optim.lr_scheduler.StepLR(opt, 2, 0.1)

    eager_model, eager_step, eager_sched = make()
    jit_model, step, sched = make()
    jitted = tl.TinyJit(step)
    x, y = tl.randn(3, 4), tl.randn(3, 2)
    for _ in range(8):
        eager_step(x, y)
        eager_sched.step()
        jitted(x, y)
        sched.step()
    np.testing.assert_array_equal(jit_model.weight.numpy(), eager_model.weight.numpy())


def test_a_refusal_points_at_the_users_line_that_led_to_the_call():
    """A refused call made inside the library (here cross_entropy's label smoothing) is
    named with the line of the jitted function that led to it."""
    model = nn.Linear(3, 4)

    def step(x, y):
        return F.cross_entropy(model(x), y, label_smoothing=0.1)  # the line named

    jitted = tl.TinyJit(step)
    with pytest.warns(UserWarning, match=r"made at File .*test_jit\.py.*in step"):
        for _ in range(3):
            jitted(tl.randn(2, 3), tl.tensor([0, 1]))


def test_resuming_from_a_checkpoint_reaches_a_replayed_step(backend):
    """optimizer.load_state_dict writes into the state a replay holds (it replaced it, and
    replay went on from the state before the load: Adam's step count did not move back)."""
    def run(jit):
        _, step = _mlp_step(optim.Adam, lr=0.01)
        model_params = list(step.opt._all_params())
        go = tl.TinyJit(step) if jit else step
        batches = _batches(9)
        tl.manual_seed(5)
        for x, y in batches[:3]:
            go(x, y)
        snapshot = step.opt.state_dict()
        weights = [p.numpy().copy() for p in model_params]
        for x, y in batches[3:6]:
            go(x, y)
        step.opt.load_state_dict(snapshot)
        with tl.no_grad():
            for p, w in zip(model_params, weights):
                p.copy_(tl.tensor(w))
        tl.manual_seed(7)
        return [go(x, y).item() for x, y in batches[6:]], step.opt.state_dict()

    eager_losses, eager_state = run(False)
    jit_losses, jit_state = run(True)
    np.testing.assert_allclose(jit_losses, eager_losses, rtol=1e-6)
    for k, entry in eager_state["state"].items():
        assert float(jit_state["state"][k]["step"]) == float(entry["step"]) == 6


def test_a_max_pool_cnn_replays_each_batchs_own_maxima_without_a_warning(backend):
    """A max pool's picked positions depend on the data: replay takes them from the
    backend's window_argmax on each new input, as eager training does."""
    def cnn():
        tl.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(3 * 3 * 3, 4))
        return model, _training_step(model, optim.SGD(model.parameters(), lr=0.1))

    rng = np.random.default_rng(2)
    batches = [(tl.tensor(rng.standard_normal((5, 1, 6, 6), dtype=np.float32)),
                tl.tensor(rng.integers(0, 4, 5))) for _ in range(6)]
    _assert_replays_as_eager(cnn, batches, "b.window_argmax(")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_recurrent_layer_replays_as_it_trains_eagerly(backend, kind):
    """A layer's steps are one backend call each way (`recurrent`): replay runs them on
    each new batch, with the losses and weights of eager training."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(4, 6, batch_first=True)
            self.head = nn.Linear(6, 3)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    def model_and_step():
        tl.manual_seed(0)
        model = Model()
        return model, _training_step(model, optim.Adam(model.parameters(), lr=1e-2))

    rng = np.random.default_rng(3)
    batches = [(tl.tensor(rng.standard_normal((5, 7, 4), dtype=np.float32)),
                tl.tensor(rng.integers(0, 3, 5))) for _ in range(6)]
    _assert_replays_as_eager(model_and_step, batches, "b.recurrent(")


def test_a_chunked_classifier_head_and_loss_replays_as_it_trains_eagerly(backend):
    """`LinearCrossEntropyLoss` with chunks: each chunk's labels are sliced by the backend,
    so replay takes them from each new batch."""
    def model_and_step():
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        head = nn.LinearCrossEntropyLoss(
            8, 20, bias=True, options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
        params = list(model.parameters()) + list(head.parameters())
        return model, _training_step(model, optim.Adam(params, lr=1e-2), loss_fn=head)

    rng = np.random.default_rng(4)
    batches = [(tl.tensor(rng.standard_normal((5, 4), dtype=np.float32)),
                tl.tensor(rng.integers(0, 20, 5))) for _ in range(6)]
    _assert_replays_as_eager(model_and_step, batches, "b.cross_entropy(")
