"""Recurrent layers each way: the reference arithmetic of every step (`layer`,
`layer_backward`) and of the LSTM and GRU cells after their products, written once for numpy
arrays (the numpy backend) and Tensors (the graph backend, create_graph=True).

They take the array library's functions (`sigmoid`, `tanh`, `cat`, ... as arguments, or as
a namespace `lib`); slicing, `@` and `+ - *` are the same on arrays and Tensors.
`rnn_kernels.py` is the cells' arithmetic as numba loops, in the same order. The state is
(N, H); gate blocks are PyTorch's: i, f, g, o for the LSTM and r, z, n for the GRU.
"""
from __future__ import annotations

from typing import Any, Callable

Fn = Callable[..., Any]


def lstm_cell(gi: Any, gh: Any, c: Any, sigmoid: Fn, tanh: Fn) -> tuple:
    """gi = x W_ih.T + b_ih and gh = h W_hh.T + b_hh (each (N, 4H)) and c (N, H) -> (h', c',
    i, f, g, o, tanh(c')): with gates = gi + gh, c' = f * c + i * g and h' = o * tanh(c');
    the rest is what the backward reads."""
    hs = c.shape[-1]
    gates = gi + gh
    i, f = sigmoid(gates[:, :hs]), sigmoid(gates[:, hs:2 * hs])
    g, o = tanh(gates[:, 2 * hs:3 * hs]), sigmoid(gates[:, 3 * hs:])
    c_next = f * c + i * g
    tanh_c = tanh(c_next)
    return o * tanh_c, c_next, i, f, g, o, tanh_c


def lstm_cell_backward(dh: Any, dc_next: Any, c: Any, i: Any, f: Any, g: Any, o: Any,
                       tanh_c: Any, cat: Fn) -> tuple:
    """The gradients of `lstm_cell`'s gates (gi's and gh's) and c, given those of h' and c'."""
    dc = dc_next + (dh * o) * (1 - tanh_c * tanh_c)
    d_gates = cat([(dc * g) * i * (1 - i), (dc * c) * f * (1 - f), (dc * i) * (1 - g * g),
                   (dh * tanh_c) * o * (1 - o)])
    return d_gates, dc * f


def gru_cell(gi: Any, gh: Any, h: Any, sigmoid: Fn, tanh: Fn) -> tuple:
    """gi = x W_ih.T + b_ih and gh = h W_hh.T + b_hh (each (N, 3H)) and h (N, H) -> (h', r,
    z, n, h_n): r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n) (the
    reset gate scales h's part after its bias) and h' = (1 - z) * n + z * h."""
    hs = h.shape[-1]
    r = sigmoid(gi[:, :hs] + gh[:, :hs])
    z = sigmoid(gi[:, hs:2 * hs] + gh[:, hs:2 * hs])
    h_n = gh[:, 2 * hs:]
    n = tanh(gi[:, 2 * hs:] + r * h_n)
    return (1 - z) * n + z * h, r, z, n, h_n


def gru_cell_backward(grad: Any, h: Any, r: Any, z: Any, n: Any, h_n: Any,
                      cat: Fn) -> tuple:
    """The gradients of `gru_cell`'s gi, gh and h, given the gradient of h'."""
    d_n = (grad * (1 - z)) * (1 - n * n)
    d_r = (d_n * h_n) * r * (1 - r)
    d_z = (grad * (h - n)) * z * (1 - z)
    return cat([d_r, d_z, d_n]), cat([d_r, d_z, d_n * r]), grad * z


# --- a whole layer in one direction ------------------------------------------------------------
# `lib` gives the array library's sigmoid, tanh, relu, tanh_backward, relu_backward, stack and
# cat (numpy's through the numpy backend, Tensor ops through the graph backend)
def _lstm_step(gi: Any, gh: Any, states: tuple, lib: Any) -> tuple:
    h, c, *cell = lstm_cell(gi, gh, states[1], lib.sigmoid, lib.tanh)
    return (*states, *cell), (h, c)


def _gru_step(gi: Any, gh: Any, states: tuple, lib: Any) -> tuple:
    out, *cell = gru_cell(gi, gh, states[0], lib.sigmoid, lib.tanh)
    return (states[0], *cell), (out,)


def _rnn_step(activation: str) -> Fn:
    def step(gi: Any, gh: Any, states: tuple, lib: Any) -> tuple:
        h = getattr(lib, activation)(gi + gh)
        return (states[0], h), (h,)
    return step


# kind -> (its step, the arrays each step keeps for backward)
STEPS = {"LSTM": (_lstm_step, "h c i f g o tanh_c"), "GRU": (_gru_step, "h r z n h_n"),
         "RNN_TANH": (_rnn_step("tanh"), "h h_next"), "RNN_RELU": (_rnn_step("relu"), "h h_next")}


def layer(kind: str, gi: Any, w_hh_t: Any, b_hh: Any, states: tuple, reverse: bool,
          lib: Any) -> tuple:
    """Every step of one layer in one direction, from the input products gi (T, N, G) of
    every step: (h at every step (T, N, H), the last states, then what each step kept
    (`STEPS`), each stacked over the steps in time order)."""
    step = STEPS[kind][0]
    length = gi.shape[0]
    hs, kept = [None] * length, [None] * length
    for t in range(length - 1, -1, -1) if reverse else range(length):
        gh = states[0] @ w_hh_t
        kept[t], states = step(gi[t], gh if b_hh is None else gh + b_hh, states, lib)
        hs[t] = states[0]
    return (lib.stack(hs), *states, *(lib.stack(list(k)) for k in zip(*kept)))


def layer_backward(kind: str, grad: Any, grad_c: Any, w_hh: Any, reverse: bool,
                   kept: tuple, lib: Any) -> tuple:
    """`layer`'s gradients, from those of every h (T, N, H) and of the last c (an LSTM's;
    None otherwise): (d gi (T, N, G), d gh, then d of each start state)."""
    length = grad.shape[0]
    d_gi, d_gh = [None] * length, [None] * length
    dh, dc = None, grad_c
    for t in range(length) if reverse else range(length - 1, -1, -1):
        dh_t = grad[t] if dh is None else grad[t] + dh
        at_t = [k[t] for k in kept]
        if kind == "LSTM":
            d_gi[t], dc = lstm_cell_backward(dh_t, dc, *at_t[1:], lib.cat)
            d_gh[t] = d_gi[t]
            dh = d_gi[t] @ w_hh
        elif kind == "GRU":
            d_gi[t], d_gh[t], d_h = gru_cell_backward(dh_t, *at_t, lib.cat)
            dh = d_gh[t] @ w_hh + d_h
        else:  # NOTE: from the step's output h', as the activations' backwards take it
            d_gi[t] = d_gh[t] = getattr(lib, kind[4:].lower() + "_backward")(at_t[1], dh_t)
            dh = d_gi[t] @ w_hh
    d_gi = lib.stack(d_gi)
    return (d_gi, d_gi if kind != "GRU" else lib.stack(d_gh), dh,
            *((dc,) if kind == "LSTM" else ()))
