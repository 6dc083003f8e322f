"""Recurrent layers: PyTorch parity of outputs and every gradient, reprs, finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from nn_parity import close

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 2


def _flat(out) -> list:
    """The tensors of a (possibly nested) recurrent output, in order."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flat(item)]
    return [out]


def _check_against_torch(spec: str, input_shape: tuple, hx_shapes: tuple | None, dtype) -> None:
    """Build nn.<spec> in both libraries with torch's weights, run both on the same input (and
    hx: one shape for h, two for (h, c)), and compare every output and the gradients of the
    input, hx and every parameter under the loss sum(out_i * w_i)."""
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ref = eval("nn." + spec, {"nn": torch.nn}).to(tdtype)
    ours = eval("nn." + spec, {"nn": nn}).to(dtype)
    ours.load_state_dict({k: tl.tensor(v.detach().numpy().copy())
                          for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(input_shape).astype(dtype)]
    arrays += [rng.standard_normal(s).astype(dtype) for s in hx_shapes or ()]
    mine = [tl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def hx(ts):
        return None if hx_shapes is None else ts[1] if len(ts) == 2 else (ts[1], ts[2])

    outs, refs = _flat(ours(mine[0], hx(mine))), _flat(ref(theirs[0], hx(theirs)))
    assert len(outs) == len(refs)
    loss_ours, loss_ref = 0, 0
    for out, r in zip(outs, refs):
        assert out.shape == tuple(r.shape) and out.dtype == dtype
        close(out.numpy(), r.detach().numpy(), dtype)
        w = rng.standard_normal(out.shape).astype(dtype)
        loss_ours = loss_ours + (out * tl.tensor(w)).sum()
        loss_ref = loss_ref + (r * torch.from_numpy(w)).sum()
    loss_ours.backward()
    loss_ref.backward()
    for i, (a, b) in enumerate(zip(mine, theirs)):
        assert a.grad is not None, f"input {i} got no gradient"
        close(a.grad.numpy(), b.grad.numpy(), dtype)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        close(p.grad.numpy(), ref_params[name].grad.numpy(), dtype)


# ------------------------------------------------------------------------------- cells
CELLS = ["RNNCell(3, 4)", "RNNCell(3, 4, bias=False, nonlinearity='relu')", "LSTMCell(3, 4)",
         "LSTMCell(3, 4, bias=False)", "GRUCell(3, 4)", "GRUCell(3, 4, bias=False)"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("spec", CELLS)
def test_cell_matches_torch_outputs_and_all_gradients(spec, batched, with_hx, dtype):
    shape = (BATCH, INPUT) if batched else (INPUT,)
    h_shape = (BATCH, HIDDEN) if batched else (HIDDEN,)
    hx = None if not with_hx else (h_shape, h_shape) if "LSTM" in spec else (h_shape,)
    _check_against_torch(spec, shape, hx, dtype)


# --------------------------------------------------------------------- sequence layers
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequence_layer_with_hx_matches_torch_outputs_and_all_gradients(
        kind, num_layers, bidirectional, batch_first, dtype):
    spec = (f"{kind}(3, 4, num_layers={num_layers}, bidirectional={bidirectional}, "
            f"batch_first={batch_first})")
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    h_shape = (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    hx = (h_shape, h_shape) if kind == "LSTM" else (h_shape,)
    _check_against_torch(spec, shape, hx, dtype)


@pytest.mark.parametrize("spec", ["RNN(3, 4, nonlinearity='relu', bias=False)",
                                  "LSTM(3, 4, 2, bias=False, bidirectional=True)",
                                  "GRU(3, 4, 2, batch_first=True)"])
@pytest.mark.parametrize("batched", [True, False])
def test_sequence_layer_without_hx_batched_and_unbatched_matches_torch(spec, batched):
    # NOTE: an unbatched input is (L, H_in) whatever batch_first says, as in PyTorch
    _check_against_torch(spec, (STEPS, BATCH, INPUT) if batched else (STEPS, INPUT), None,
                         np.float64)


@pytest.mark.parametrize("spec, layers, batch_first", [
    ("LSTM(3, 4, proj_size=2)", 1, False),
    ("LSTM(3, 4, 2, proj_size=3, bidirectional=True, batch_first=True)", 4, True),
    ("LSTM(3, 4, 2, bias=False, proj_size=1)", 2, False)])
@pytest.mark.parametrize("with_hx", [False, True])
def test_lstm_with_projections_matches_torch(spec, layers, batch_first, with_hx):
    """h (and the output) have proj_size features, c keeps hidden_size."""
    proj = int(spec.split("proj_size=")[1].split(",")[0].rstrip(")"))
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    hx = ((layers, BATCH, proj), (layers, BATCH, HIDDEN)) if with_hx else None
    _check_against_torch(spec, shape, hx, np.float64)


def test_unbatched_sequence_with_hx_matches_torch():
    _check_against_torch("LSTM(3, 4, 2, bidirectional=True)", (STEPS, INPUT),
                         ((4, HIDDEN), (4, HIDDEN)), np.float64)


# ----------------------------------------------------------------------- modules and reprs
MODULES = CELLS + ["RNN(3, 4)", "RNN(3, 4, 2, nonlinearity='relu', bias=False)",
                   "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)",
                   "GRU(3, 4, bidirectional=True)", "GRU(3, 4, 3, dropout=0.25)",
                   "LSTM(3, 4, 2, proj_size=2, bidirectional=True)"]


@pytest.mark.parametrize("spec", MODULES)
def test_recurrent_repr_state_dict_and_init_range_agree_with_torch(spec):
    tl.manual_seed(0)
    ours, ref = eval("nn." + spec, {"nn": nn}), eval("nn." + spec, {"nn": torch.nn})
    assert repr(ours) == repr(ref)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert all(p.dtype == np.float32 for p in ours.parameters())
    values = np.concatenate([p.numpy().ravel() for p in ours.parameters()])
    bound = 1 / np.sqrt(HIDDEN)  # U(-bound, bound): std bound / sqrt(3) ~ 0.58 * bound
    assert np.abs(values).max() <= bound and 0.45 * bound < values.std() < 0.7 * bound


@pytest.mark.parametrize("spec", [m for m in MODULES if "Cell" not in m])
def test_all_weights_lists_each_cells_parameters_as_pytorch_does(spec):
    ours, ref = eval("nn." + spec, {"nn": nn}), eval("nn." + spec, {"nn": torch.nn})
    assert [[tuple(p.shape) for p in cell] for cell in ours.all_weights] == [
        [tuple(p.shape) for p in cell] for cell in ref.all_weights]
    assert [id(p) for cell in ours.all_weights for p in cell] == [
        id(p) for p in ours.parameters()]


def test_inter_layer_dropout_acts_only_in_training_and_not_after_the_last_layer():
    tl.manual_seed(0)
    layer = nn.GRU(3, 4, num_layers=2, dropout=0.9)
    x = tl.randn(STEPS, BATCH, 3)
    eval_out = layer.eval()(x)[0].numpy()
    np.testing.assert_array_equal(layer(x)[0].numpy(), eval_out)
    train_out = layer.train()(x)[0].numpy()
    assert not np.allclose(train_out, eval_out)
    single = nn.GRU(3, 4, num_layers=1, dropout=0.9)
    np.testing.assert_array_equal(single.train()(x)[0].numpy(), single.eval()(x)[0].numpy())


@pytest.mark.parametrize("make, x, message", [
    (lambda: nn.LSTM(3, 4, proj_size=4), None, "proj_size must be 0 or between 1 and"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), None, "nonlinearity"),
    (lambda: nn.GRU(3, 4), tl.randn(5, 2, 7), "expected input of shape"),
    (lambda: nn.LSTMCell(3, 4), tl.randn(2, 2, 3), "expected input of shape"),
    (lambda: nn.LSTM(3, 0), None, "hidden_size must be greater than zero"),
    (lambda: nn.GRU(3, 4), tl.zeros(0, 2, 3), "Expected sequence length to be larger than 0"),
    (lambda: nn.GRU(0, 4), None, "input_size must be greater than zero"),
    (lambda: nn.Bilinear(0, 2, 3), None, r"in1_features must be > 0, but got \(in1_features=0"),
])
def test_recurrent_layers_refuse_unsupported_settings_and_wrong_inputs(make, x, message):
    with pytest.raises((ValueError, NotImplementedError, RuntimeError), match=message):
        make()(x)


def test_wrong_hidden_state_shape_is_refused_with_the_expected_shape():
    with pytest.raises(RuntimeError, match=r"expected hidden state of shape \(2, 2, 4\)"):
        nn.RNN(3, 4, bidirectional=True)(tl.randn(5, 2, 3), tl.randn(1, 2, 4))


@pytest.mark.parametrize("kind, options", [
    ("LSTM", {"bidirectional": True, "num_layers": 2, "proj_size": 3}),
    ("GRU", {"bidirectional": True}), ("RNN", {"num_layers": 2})])
@pytest.mark.parametrize("lengths, enforce_sorted", [([6, 4, 2], True), ([2, 6, 4], False)])
def test_packed_sequences_match_torch_with_gradients(kind, options, lengths, enforce_sorted):
    """Outputs, final states, and the gradients of the input and the weights."""
    ours_layer = getattr(nn, kind)(4, 5, **options).double()
    theirs_layer = getattr(torch.nn, kind)(4, 5, **options).double()
    ours_layer.load_state_dict({k: tl.tensor(v.detach().numpy())
                                for k, v in theirs_layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 3, 4))
    results = []
    for lib, layer in ((tl, ours_layer), (torch, theirs_layer)):
        inputs = lib.tensor(x, requires_grad=True)
        packed = lib.nn.utils.rnn.pack_padded_sequence(inputs, lengths,
                                                       enforce_sorted=enforce_sorted)
        out, final = layer(packed)
        finals = final if isinstance(final, tuple) else (final,)
        (out.data.sum() + sum(f.sum() for f in finals)).backward()
        results.append([out.data, out.batch_sizes, *finals, inputs.grad,
                        *[p.grad for p in layer.parameters()]])
    assert len(results[0]) == len(results[1])
    for mine, theirs in zip(*results):
        close(mine.numpy(), theirs.detach().numpy(), np.float64)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_without_bias_has_bias_attributes_holding_none(cell):
    """As PyTorch's cells: `cell.bias_ih is None`, and no bias in the parameters."""
    c = getattr(nn, cell)(3, 4, bias=False)
    assert c.bias_ih is None and c.bias_hh is None
    assert [name for name, _ in c.named_parameters()] == ["weight_ih", "weight_hh"]
    assert list(c.state_dict()) == ["weight_ih", "weight_hh"]
