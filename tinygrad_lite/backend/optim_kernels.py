"""One-pass numba updates for SGD (momentum, Nesterov, weight decay) and Adam / AdamW.

The reference rules are `optim.sgd._sgd_update` and `optim.adam._adam_update`: 3-8 numpy
passes over the parameter, each allocating a temporary. These read each element of p, g and
the state once and write p and the state once. The arithmetic is the reference's, op for op,
in the parameter's dtype (the scalars arrive already cast to it, in one array: a launch
types each argument, and each numpy scalar would cost ~0.4 µs to make), and no fastmath
contracts a*b+c into an FMA, so float32 results match the numpy backend to the last bit (the
tests check it); only `sqrt` is libm's either way.

Never imported as a package module: the numba backend loads this file's text through the
kernel cache (`codegen.load`) on the first optimizer step, so its machine code is cached in
the same folder as the generated kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def sgd(p, g, buf, scalars, nesterov, first_step, use_buf):
    # NOTE: keep = 1 - dampening, rounded to p.dtype as numpy rounds it
    lr, momentum, keep, weight_decay = scalars[0], scalars[1], scalars[2], scalars[3]
    for i in range(p.shape[0]):
        gi = g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * p[i]
        if use_buf:
            b = gi if first_step else buf[i] * momentum + keep * gi
            buf[i] = b
            gi = gi + momentum * b if nesterov else b
        p[i] = p[i] - lr * gi


@njit(cache=True, nogil=True, error_model="numpy")
def adam(p, g, exp_avg, exp_avg_sq, max_sq, scalars, decoupled, amsgrad):
    # NOTE: beta1c = 1 - beta1, beta2c = 1 - beta2, decay = 1 - lr * weight_decay, the bias
    # corrections folded into step_size and bias2_sqrt: all computed in Python as the reference
    step_size, bias2_sqrt, beta1c, beta2 = scalars[0], scalars[1], scalars[2], scalars[3]
    beta2c, eps, weight_decay, decay = scalars[4], scalars[5], scalars[6], scalars[7]
    for i in range(p.shape[0]):
        gi = g[i]
        pi = p[i]
        if weight_decay != 0:
            if decoupled:
                pi = pi * decay
            else:
                gi = gi + weight_decay * pi
        m = exp_avg[i] + beta1c * (gi - exp_avg[i])
        v = exp_avg_sq[i] * beta2 + beta2c * gi * gi
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = max_sq[i] if max_sq[i] >= v or max_sq[i] != max_sq[i] else v
            max_sq[i] = v
        p[i] = pi - step_size * m / (np.sqrt(v) / bias2_sqrt + eps)
