"""Recurrent layers and cells against finite differences: first and second derivatives.

Without PyTorch (test_nn_rnn.py compares with it). A layer without proj_size or packed input runs
each direction as one node (ops.RNNTanhLayer, ..., ops.GRULayer) whose backward is a loop of
backend calls; the others step a cell per time step (ops.LSTMCell, ops.GRUCell).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


@pytest.mark.parametrize("proj_size", [0, 1])
def test_lstm_gradients_match_finite_differences(proj_size):
    layer = nn.LSTM(2, 2, num_layers=2, bidirectional=True, proj_size=proj_size).double()
    rng = np.random.default_rng(1)
    x = tl.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = tl.tensor(rng.standard_normal((4, 2, proj_size or 2)), requires_grad=True)
    c0 = tl.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)

    # NOTE: gradcheck perturbs the parameters in place, so the layer sees them without setattr
    def run(x, h0, c0, *_parameters):
        out, (h_n, c_n) = layer(x, (h0, c0))
        return tl.cat([out.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])

    assert tl.gradcheck(run, [x, h0, c0, *layer.parameters()])


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_a_cells_first_and_second_derivatives_match_finite_differences(kind):
    """Each cell's elementwise part is one node (ops.LSTMCell, ops.GRUCell) whose backward
    is backend ops, so a gradient penalty differentiates through it too."""
    cell = getattr(nn, kind)(2, 3).double()
    rng = np.random.default_rng(2)
    x = tl.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h0 = tl.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c0 = tl.tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def run(x, h0, c0, *_parameters):
        if kind == "GRUCell":
            return cell(x, h0).reshape(-1) + 0 * c0.sum()
        h, c = cell(x, (h0, c0))
        return tl.cat([h.reshape(-1), c.reshape(-1)])

    inputs = [x, h0, c0, *cell.parameters()]
    assert tl.gradcheck(run, inputs)
    assert tl.gradgradcheck(run, inputs)


def _node_names(t) -> set:
    """The names of the nodes in t's graph."""
    seen, todo = {}, [t.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and id(node) not in seen:
            seen[id(node)] = node.name()
            todo += [n for n, _ in node.next_functions]
    return set(seen.values())


@pytest.mark.parametrize("spec, node", [
    ("RNN(2, 3, bidirectional=True)", "RNNTanhLayerBackward0"),
    ("RNN(2, 3, 2, nonlinearity='relu', bias=False)", "RNNReluLayerBackward0"),
    ("LSTM(2, 3, bidirectional=True)", "LSTMLayerBackward0"),
    ("LSTM(2, 3, 2, bias=False, batch_first=True)", "LSTMLayerBackward0"),
    ("GRU(2, 3, bidirectional=True)", "GRULayerBackward0"),
    ("GRU(2, 3, 2, bias=False)", "GRULayerBackward0"),
])
def test_whole_layer_ops_have_the_first_and_second_derivatives_of_finite_differences(spec,
                                                                                     node):
    layer = eval("nn." + spec, {"nn": nn}).double()
    rng = np.random.default_rng(3)
    cells = layer.num_layers * (2 if layer.bidirectional else 1)
    x = tl.tensor(rng.standard_normal((2, 3, 2) if layer.batch_first else (3, 2, 2)),
                  requires_grad=True)  # 3 steps of 2
    states = [tl.tensor(rng.standard_normal((cells, 2, 3)), requires_grad=True)
              for _ in range(2 if "LSTM" in spec else 1)]

    def run(x, *states_and_parameters):
        out, last = layer(x, tuple(states) if len(states) == 2 else states[0])
        last = last if isinstance(last, tuple) else (last,)
        return tl.cat([out.reshape(-1), *(s.reshape(-1) for s in last)])

    assert node in _node_names(run(x))
    inputs = [x, *states, *layer.parameters()]
    assert tl.gradcheck(run, inputs)
    assert tl.gradgradcheck(run, inputs)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_start_state_overwritten_before_backward_is_an_error(kind):
    """The layer's node keeps the state each step began with, h0 among them, as PyTorch's
    does: writing h0 in place before backward is refused, not a silently wrong gradient."""
    layer = getattr(nn, kind)(2, 3)
    x = tl.randn(4, 2, 2, requires_grad=True)
    h0 = tl.randn(1, 2, 3)
    out, _ = layer(x, (h0, tl.zeros(1, 2, 3)) if kind == "LSTM" else h0)
    with tl.no_grad():
        h0.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()
