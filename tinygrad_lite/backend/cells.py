"""The LSTM and GRU cells after their products, each way: the reference arithmetic, written
once for numpy arrays (the numpy backend) and Tensors (the graph backend, create_graph=True).

Both take the array library's `sigmoid`, `tanh` and `cat` / `stack`; slicing and `+ - *` are
the same on arrays and Tensors. `rnn_kernels.py` is this arithmetic as numba loops, in the
same order. The state is (N, H); gate blocks are PyTorch's: i, f, g, o for the LSTM and r,
z, n for the GRU.
"""
from __future__ import annotations

from typing import Any, Callable

Fn = Callable[..., Any]


def lstm_cell(gi: Any, gh: Any, c: Any, sigmoid: Fn, tanh: Fn, stack: Fn) -> tuple:
    """gi = x W_ih.T + b_ih and gh = h W_hh.T + b_hh (each (N, 4H)) and c (N, H) -> ((h', c')
    stacked as (2, N, H), i, f, g, o, tanh(c')): with gates = gi + gh, c' = f * c + i * g and
    h' = o * tanh(c'); the rest is what the backward reads."""
    hs = c.shape[-1]
    gates = gi + gh
    i, f = sigmoid(gates[:, :hs]), sigmoid(gates[:, hs:2 * hs])
    g, o = tanh(gates[:, 2 * hs:3 * hs]), sigmoid(gates[:, 3 * hs:])
    c_next = f * c + i * g
    tanh_c = tanh(c_next)
    return stack([o * tanh_c, c_next]), i, f, g, o, tanh_c


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
