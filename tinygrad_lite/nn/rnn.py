"""Recurrent layers with PyTorch's names, layouts and init: RNN, LSTM, GRU and their cells.

Each kind of layer is one op over all its steps (`_KINDS`: ops.RNNTanhLayer, ...,
ops.GRULayer), run one layer and direction at a time (`_layer`). A cell is that op over a
sequence of one (`_step`), and so is each step of an LSTM with proj_size or of packed input
(`_run_direction`), which need something between the steps. A state is always a tuple,
`(h,)` or, for an LSTM, `(h, c)`.
"""
from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Callable

import numpy as np

from .. import ops
from ..tensor import Tensor, _on_cpu, cat, empty, stack, where, zeros
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _packed_like, pad_packed_sequence

State = tuple  # (h,) or (h, c), each (N, hidden_size); an LSTM's h is (N, proj_size) with one
Weights = tuple  # (weight_ih, weight_hh, bias_ih, bias_hh, weight_hr), each possibly None


# --- a layer, or one step of it -----------------------------------------------------------
def _layer(op: type, x: Tensor, state: State, weights: Weights, reverse: bool = False
           ) -> tuple[Tensor, State]:
    """One layer in one direction over the steps of x (T, N, F) as one op
    (`ops._RecurrentLayer`): (h at every step (T, N, H), the last state)."""
    w_ih, w_hh, b_ih, b_hh, _ = weights
    out = op.apply(x, *state, w_ih, w_hh, *(() if b_ih is None else (b_ih, b_hh)),
                   reverse=reverse)
    length = x.shape[0]
    last = out[0 if reverse else length - 1]
    return (out, (last,)) if len(state) == 1 else (out[:length], (last, out[length]))


def _step(op: type, x: Tensor, state: State, weights: Weights) -> State:
    """One time step (a cell; a layer with proj_size or packed input, step by step): the
    layer's op over a sequence of one, then an LSTM's projection of h by weight_hr."""
    new = _layer(op, x.unsqueeze(0), state, weights)[1]
    w_hr = weights[4]
    return new if w_hr is None else (F.linear(new[0], w_hr), *new[1:])


# mode (PyTorch's names) -> (the op of a layer, number of gates stacked in weight_ih's rows)
_KINDS: dict[str, tuple[type, int]] = {
    "RNN_TANH": (ops.RNNTanhLayer, 1), "RNN_RELU": (ops.RNNReluLayer, 1),
    "LSTM": (ops.LSTMLayer, 4), "GRU": (ops.GRULayer, 3),
}


def _rnn_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                         "'relu'.")
    return "RNN_" + nonlinearity.upper()


def _run_direction(step: Callable, xs: list[Tensor], state: State, weights: Weights,
                   reverse: bool, running: list[Tensor] | None) -> tuple[list[Tensor], State]:
    """Run one layer in one direction over the time steps `xs`: (h at every step, last state).

    The outputs stay in time order whichever way the layer reads the sequence. With
    `running` (packed input: per step, which sequences have not ended, (N, 1)) a sequence's
    state stays as it is outside its steps: frozen after its end, and at the start state
    until the backward direction reaches its last step.
    """
    outputs: list[Tensor] = [None] * len(xs)  # type: ignore[list-item]
    for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
        new = step(xs[t], state, weights)
        state = new if running is None else tuple(
            where(running[t], n, old) for n, old in zip(new, state))
        outputs[t] = state[0]
    return outputs, state


def _new_weights(module: Module, suffix: str, input_size: int, hidden_size: int, gates: int,
                 bias: bool, dtype: Any, proj_size: int = 0) -> list[str]:
    """Register weight_ih, weight_hh (and biases, and an LSTM's projection weight_hr) +
    suffix on `module`, in PyTorch's order; return their names."""
    state_size = proj_size or hidden_size
    shapes = {"weight_ih": (gates * hidden_size, input_size),
              "weight_hh": (gates * hidden_size, state_size)}
    if bias:
        shapes.update(bias_ih=(gates * hidden_size,), bias_hh=(gates * hidden_size,))
    if proj_size:
        shapes.update(weight_hr=(proj_size, hidden_size))
    for name, shape in shapes.items():
        module.register_parameter(name + suffix, Parameter(empty(*shape, dtype=dtype)))
    return [name + suffix for name in shapes]


def _weights(module: Module, names: list[str]) -> Weights:
    """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of one cell, None for those it
    does not have."""
    found = {name.split("_l")[0]: getattr(module, name) for name in names}
    return tuple(found.get(kind) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                              "weight_hr"))


def _initial_states(name: str, hx: Any, shapes: list[tuple], batch_dim: int, batched: bool,
                    dtype: Any) -> State:
    """The starting states (h, or h and c) as tensors of `shapes` (zeros when `hx` is None).

    A given `hx` must have those shapes, or without the batch dim `batch_dim` for unbatched
    input (it is put back, of size 1).
    """
    if hx is None:
        return tuple(zeros(*shape, dtype=dtype) for shape in shapes)
    states = tuple(hx) if len(shapes) == 2 else (hx,)
    for h, shape in zip(states, shapes):
        want = shape if batched else shape[:batch_dim] + shape[batch_dim + 1:]
        if h.shape != want:
            raise RuntimeError(f"{name}: expected hidden state of shape {want}, got {h.shape}")
    return states if batched else tuple(h.unsqueeze(batch_dim) for h in states)


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init for every recurrent weight and bias: U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


# --- cells: one time step ------------------------------------------------------------------
class RNNCellBase(Module):
    """A cell of kind `mode`: forward(input, hx=None) for (N, input_size) or (input_size,).
    The base of RNNCell, LSTMCell and GRUCell under PyTorch's name, for isinstance checks
    (its constructor takes the mode where PyTorch's takes a gate count)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool,
                 dtype: Any) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self._mode = mode
        self._names = _new_weights(self, "", input_size, hidden_size, _KINDS[mode][1], bias,
                                   dtype)
        if not bias:  # NOTE: as PyTorch's cells: the names exist, holding None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def _cell(self, input: Tensor, hx: Any, n_states: int) -> State:  # noqa: A002
        """The next state as a tuple, with the unbatched case handled on the way in and out."""
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {input.shape}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        state = _initial_states(name, hx, [(x.shape[0], self.hidden_size)] * n_states, 0,
                                batched, x.dtype)
        new = _step(_KINDS[self._mode][0], x, state, _weights(self, self._names))
        return new if batched else tuple(h.squeeze(0) for h in new)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh), one time step.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
        Whether to learn b_ih and b_hh (default True).
    nonlinearity : str
        'tanh' (the default) or 'relu'.
    dtype : dtype, optional
        float32 (the default) or float64.

    Examples
    --------
    >>> cell = nn.RNNCell(3, 5)
    >>> cell(tl.randn(2, 3)).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._cell(input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c'); hx is (h, c) or None for zeros.

    Examples
    --------
    >>> h, c = nn.LSTMCell(3, 5)(tl.randn(2, 3))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__("LSTM", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._cell(input, hx, 2)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step: returns h'.

    Examples
    --------
    >>> nn.GRUCell(3, 5)(tl.randn(3)).shape
    (5,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__("GRU", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._cell(input, hx, 1)[0]


# --- sequence layers -----------------------------------------------------------------------
class RNNBase(Module):
    """Layers of cells of kind `mode` run over a sequence, optionally in both directions.

    Parameters are named as in PyTorch (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
    then the `_reverse` ones, then layer 1, ...), so state dicts load both ways.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        name = type(self).__name__
        # NOTE: PyTorch's messages, word for word (a cell may have size 0, a layer not)
        for size, what in ((input_size, "input_size"), (hidden_size, "hidden_size")):
            if size <= 0:
                raise ValueError(f"{what} must be greater than zero")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported by LSTM, not RNN or GRU")
        if proj_size < 0 or (proj_size and proj_size >= hidden_size):
            raise ValueError(f"{name}: proj_size must be 0 or between 1 and hidden_size - 1 "
                             f"({hidden_size - 1}), got {proj_size}")
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        F._check_dropout_p(dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} applies between stacked layers, so with "
                          "num_layers=1 it does nothing (PyTorch warns the same)", UserWarning,
                          stacklevel=3)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.proj_size = bias, batch_first, proj_size
        self.dropout, self.bidirectional = float(dropout), bidirectional
        directions = 2 if bidirectional else 1
        # _all_weights[layer * directions + direction]: that cell's parameter names
        self._all_weights = [
            _new_weights(self, f"_l{layer}{'_reverse' if d else ''}",
                         input_size if layer == 0 else (proj_size or hidden_size) * directions,
                         hidden_size, _KINDS[mode][1], bias, dtype, proj_size)
            for layer in range(num_layers) for d in range(directions)]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def _run(self, input: Any, hx: Any, n_states: int) -> tuple[Any, State]:  # noqa: A002
        """(output, final states stacked as (num_layers * directions, N, hidden_size));
        with proj_size, h (and the output) have proj_size features instead. A packed input
        gives a packed output, each sequence run over its own steps only."""
        name = type(self).__name__
        running = None  # NOTE: packed input: per step, the sequences not yet ended
        if isinstance(input, PackedSequence):
            x, lengths = pad_packed_sequence(input)  # (L, N, *), in the batch's own order
            ended = lengths.numpy()[None, :, None] <= np.arange(x.shape[0])[:, None, None]
            running = list(Tensor(~ended).unbind(0))
            batched = True
        elif input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (L, N, {self.input_size}), "
                             f"(N, L, {self.input_size}) with batch_first, or "
                             f"(L, {self.input_size}), got {input.shape}")
        else:
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        cells = self.num_layers * directions
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:n_states]  # h, c
        states = _initial_states(name, hx, [(cells, x.shape[1], n) for n in sizes], 1,
                                 batched, x.dtype)
        if not x.shape[0]:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        op = _KINDS[self.mode][0]
        stepwise = running is not None or self.proj_size  # NOTE: something between steps
        output, finals = x, []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                output = F.dropout(output, self.dropout)
            per_direction = []
            for d in range(directions):
                k = layer * directions + d
                state, weights = tuple(s[k] for s in states), _weights(self, self._all_weights[k])
                if stepwise:
                    outputs, last = _run_direction(functools.partial(_step, op),
                                                   list(output.unbind(0)), state, weights,
                                                   reverse=d == 1, running=running)
                    out = stack(outputs)
                else:
                    out, last = _layer(op, output, state, weights, reverse=d == 1)
                per_direction.append(out)
                finals.append(last)
            output = cat(per_direction, -1) if directions == 2 else per_direction[0]
        final = tuple(stack(s) for s in zip(*finals))
        if running is not None:
            return _packed_like(output, input), final
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output, final = output.squeeze(1), tuple(s.squeeze(1) for s in final)
        return output, final

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights for cuDNN here; on the CPU there is nothing to do."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """Each layer and direction's parameters (weight_ih, weight_hh, biases, weight_hr),
        in PyTorch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        for setting, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                                 ("batch_first", False), ("dropout", 0.0),
                                 ("bidirectional", False)):
            if getattr(self, setting) != default:
                text += f", {setting}={getattr(self, setting)}"
        return text


class RNN(RNNBase):
    """Elman RNN over a sequence: forward(input, hx=None) returns (output, h_n).

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers : int
        Cells stacked on each other; layer k > 0 reads layer k-1's output (default 1).
    nonlinearity : str
        'tanh' (the default) or 'relu'.
    bias : bool
        Whether to learn b_ih and b_hh (default True).
    batch_first : bool
        Input and output are (N, L, features) instead of (L, N, features); the hidden
        states stay (num_layers * directions, N, hidden_size).
    dropout : float
        Dropout probability on the output of every layer but the last, while training.
    bidirectional : bool
        Also read the sequence backwards; the output concatenates both directions.
    dtype : dtype, optional
        float32 (the default) or float64.

    Examples
    --------
    >>> out, h_n = nn.RNN(3, 5, num_layers=2)(tl.randn(7, 2, 3))
    >>> out.shape, h_n.shape
    ((7, 2, 5), (2, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor,  # noqa: A002
                hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, hx, 1)
        return output, h_n


class LSTM(RNNBase):
    """LSTM over a sequence: forward(input, hx=None) with hx = (h_0, c_0) returns
    (output, (h_n, c_n)).

    Parameters as for `RNN` (without nonlinearity); `proj_size` > 0 projects each h to that
    many features (weight_hr_l{k}), as in PyTorch.

    Examples
    --------
    >>> out, (h_n, c_n) = nn.LSTM(3, 5, bidirectional=True)(tl.randn(7, 2, 3))
    >>> out.shape, c_n.shape
    ((7, 2, 10), (2, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, (h_n, c_n) = self._run(input, hx, 2)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """GRU over a sequence: forward(input, hx=None) returns (output, h_n).

    Parameters as for `RNN` (without nonlinearity).

    Examples
    --------
    >>> out, h_n = nn.GRU(3, 5, batch_first=True)(tl.randn(2, 7, 3))
    >>> out.shape, h_n.shape
    ((2, 7, 5), (1, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype=dtype)

    def forward(self, input: Tensor,  # noqa: A002
                hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, hx, 1)
        return output, h_n

