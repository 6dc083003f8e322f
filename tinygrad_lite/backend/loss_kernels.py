"""Softmax cross-entropy of logits (N, C) and class labels, one pass over each row each way.

The numpy backend's `cross_entropy` takes about ten numpy calls (max, subtract, exp, sum,
log, ...), each a full pass and a temporary; at a classifier's sizes (N x 10) their call
overhead is most of a small training step's loss. Here a row's max, sum of exponentials and
log-probabilities are computed while it is in registers. The arithmetic is the reference's:
the max taken off first, then `(x - max) - log(sum(exp(x - max)))`, with the sum kept in
float64 and rounded once, so results are within an ulp or two of numpy's (the tests check).

Never imported as a package module: the numba backend loads this file's text through the
kernel cache (`codegen.load`), once per dtype. As written, EXP is the vectorisable float32
exp; the float64 kernels are loaded with `EXP = math.exp` (libm, exactly numpy's).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from tinygrad_lite.backend.vecmath import exp_f32

EXP = exp_f32


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})
def forward(x, labels, logp, losses):
    for i in range(x.shape[0]):
        m = x[i, 0]
        for j in range(1, x.shape[1]):
            v = x[i, j]
            m = v if v > m or v != v else m  # NOTE: a nan anywhere is the max, as in numpy
        total = 0.0
        for j in range(x.shape[1]):
            total += EXP(x[i, j] - m)
        lse = math.log(total)
        for j in range(x.shape[1]):
            logp[i, j] = (x[i, j] - m) - lse
        if not 0 <= labels[i] < x.shape[1]:
            # NOTE: numba does not check bounds; an ignore_index label reaches here only in a
            # TinyJit replay recorded on batches without one (the eager path takes them out)
            raise IndexError("cross_entropy: a label is outside [0, classes): a TinyJit "
                             "replay recorded without ignore_index labels cannot skip them")
        losses[i] = -logp[i, labels[i]]


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def backward(logp, labels, g, grad):
    """grad = (exp(logp) - onehot) * g, with g one value (g.shape == (1,)) or one per row."""
    one = g.shape[0] == 1
    for i in range(logp.shape[0]):
        gi = g[0] if one else g[i]
        label = labels[i]
        for j in range(logp.shape[1]):
            p = EXP(logp[i, j])
            grad[i, j] = (p - np.float32(1) if j == label else p) * gi  # NOTE: p's dtype
