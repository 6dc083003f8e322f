"""The LSTM and GRU cells (`cells.py`) as numba loops: one pass each way per time step.

`cells.py` on numpy takes about 35 numpy calls for an LSTM step (three stable sigmoids of 7
calls each, ...) and as many back; at a recurrent layer's sizes (a batch of 32 x 64 units)
the calls, not the arithmetic, are the cost. Here each element's gates are read, activated
and combined in registers, in `cells.py`'s order of operations; the float32 sigmoid and tanh
are the vectorisable ones of `vecmath` (within the bound its tests state), the float64
kernels are loaded with libm's (`SIGMOID = sigmoid_f64`, `TANH = math.tanh`, `F = np.float64`).

Never imported as a package module: the numba backend loads this file's text through the
kernel cache (`codegen.load`), once per dtype.
"""
from __future__ import annotations

import math  # noqa: F401  (the float64 kernels' TANH)

import numpy as np
from numba import njit

from tinygrad_lite.backend.vecmath import sigmoid_f32, sigmoid_f64, tanh_f32  # noqa: F401

SIGMOID = sigmoid_f32
TANH = tanh_f32
F = np.float32


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_forward(gi, gh, c, h_out, c_out, acts, tanh_c):
    """h_out = h', c_out = c'; acts[0..3] = i, f, g, o."""
    hs = c.shape[1]
    for r in range(c.shape[0]):
        for j in range(hs):
            i = SIGMOID(gi[r, j] + gh[r, j])
            f = SIGMOID(gi[r, hs + j] + gh[r, hs + j])
            g = TANH(gi[r, 2 * hs + j] + gh[r, 2 * hs + j])
            o = SIGMOID(gi[r, 3 * hs + j] + gh[r, 3 * hs + j])
            c_next = f * c[r, j] + i * g
            t = TANH(c_next)
            acts[0, r, j], acts[1, r, j], acts[2, r, j], acts[3, r, j] = i, f, g, o
            tanh_c[r, j] = t
            h_out[r, j] = o * t
            c_out[r, j] = c_next


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_backward(dhs, dcs, c, i, f, g, o, tanh_c, d_gates, d_c):
    hs = c.shape[1]
    for r in range(c.shape[0]):
        for j in range(hs):
            dh, t = dhs[r, j], tanh_c[r, j]
            ii, ff, gg, oo = i[r, j], f[r, j], g[r, j], o[r, j]
            dc = dcs[r, j] + (dh * oo) * (F(1) - t * t)
            d_gates[r, j] = (dc * gg) * ii * (F(1) - ii)
            d_gates[r, hs + j] = (dc * c[r, j]) * ff * (F(1) - ff)
            d_gates[r, 2 * hs + j] = (dc * ii) * (F(1) - gg * gg)
            d_gates[r, 3 * hs + j] = (dh * t) * oo * (F(1) - oo)
            d_c[r, j] = dc * ff


@njit(cache=True, nogil=True, error_model="numpy")
def gru_forward(gi, gh, h, out, acts):
    """out = h'; acts[0..3] = r, z, n, h_n."""
    hs = h.shape[1]
    for r in range(h.shape[0]):
        for j in range(hs):
            rr = SIGMOID(gi[r, j] + gh[r, j])
            z = SIGMOID(gi[r, hs + j] + gh[r, hs + j])
            h_n = gh[r, 2 * hs + j]
            n = TANH(gi[r, 2 * hs + j] + rr * h_n)
            acts[0, r, j], acts[1, r, j], acts[2, r, j], acts[3, r, j] = rr, z, n, h_n
            out[r, j] = (F(1) - z) * n + z * h[r, j]


@njit(cache=True, nogil=True, error_model="numpy")
def gru_backward(grad, h, rs, z, n, h_n, d_gi, d_gh, d_h):
    hs = h.shape[1]
    for r in range(h.shape[0]):
        for j in range(hs):
            gr, rr, zz, nn = grad[r, j], rs[r, j], z[r, j], n[r, j]
            d_n = (gr * (F(1) - zz)) * (F(1) - nn * nn)
            d_r = (d_n * h_n[r, j]) * rr * (F(1) - rr)
            d_z = (gr * (h[r, j] - nn)) * zz * (F(1) - zz)
            d_gi[r, j] = d_gh[r, j] = d_r
            d_gi[r, hs + j] = d_gh[r, hs + j] = d_z
            d_gi[r, 2 * hs + j] = d_n
            d_gh[r, 2 * hs + j] = d_n * rr
            d_h[r, j] = gr * zz
