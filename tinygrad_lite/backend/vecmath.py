"""float32 exp / log / tanh / sigmoid that LLVM can vectorise, for the fused numba kernels.

Why: the pip llvmlite has no SVML, so `math.exp` in a numba loop is one scalar libm call per
element and loses to numpy's SIMD exp. These helpers are straight-line arithmetic (range
reduction, a polynomial, exponent bits built with integer ops, selects instead of branches),
which LLVM turns into AVX2 code.

They work in float64 internally and round once to float32 at the end: a float32 input is exact
in float64, the range reduction `x - n*ln2` needs no Cody-Waite split at float32's range,
denormal and overflowing results come out right from the single float64 -> float32 rounding,
and a denormal float32 input is a normal float64. The polynomials are accurate to ~1e-8
relative, so every result is within 1 ulp of the correctly rounded value (tests check <= 2 ulp
against numpy, whose own float32 exp is up to 2 ulp off). float64 kernels use `math.*`.

Nothing here is compiled at import: numba compiles a helper inside the first kernel using it.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _f64_bits(typingctx, x):
    """The bit pattern of a float64 as an int64 (an LLVM bitcast: free, vectorises)."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, x):
    """The float64 whose bit pattern is the int64 `x`."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
_SQRT2 = 1.4142135623730951


@njit(inline="always")
def exp_d(d):
    """e**d in float64 to ~1e-8 relative (enough for a float32 result), d finite or not."""
    # NOTE: `d if d > lo else lo` also maps nan to lo, so the int conversion never sees nan;
    # callers put nan back. The clamps keep 2**n a normal float64; float32 results are 0 / inf
    # far inside them.
    d = d if d > -160.0 else -160.0
    d = d if d < 160.0 else 160.0
    # NOTE: floor, not the 1.5 * 2**52 shifter trick: a reassociating (fastmath) kernel
    # would fold the shifter's add and subtract away
    n = np.floor(d * _LOG2E + 0.5)  # NOTE: math.floor returns an int in numba: no SIMD
    r = d - n * _LN2  # |r| <= ln2 / 2
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (
        1 / 120 + r * (1 / 720 + r * (1 / 5040)))))))
    # p * 2**n, 2**n built from its bits (int32 first: AVX2 has no float64 -> int64 convert)
    return p * _bits_f64((np.int64(np.int32(n)) + 1023) << 52)


@njit(inline="always")
def exp_f32(x):
    y = np.float32(exp_d(np.float64(x)))
    return y if x == x else x


@njit(inline="always")
def log_f32(x):
    d = np.float64(x)
    bits = _f64_bits(d)
    # x = m * 2**e with m in [sqrt(1/2), sqrt(2)); then log(m) = 2 atanh(f / (2 + f)), f = m-1
    m = _bits_f64((bits & _MANTISSA) | _ONE_BITS)
    e = np.float64(np.int32((bits >> 52) & 0x7FF)) - 1023.0
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = 2.0 * s * (1.0 + z * (1 / 3 + z * (1 / 5 + z * (1 / 7 + z * (1 / 9 + z * (1 / 11))))))
    y = np.float32(e * _LN2 + p)
    # special cases, as numpy: log(0) = -inf, log(inf) = inf, log(<0) = log(nan) = nan
    ok = x > 0 and x < np.inf
    return y if ok else (np.float32(-np.inf) if x == 0 else (x if x == np.inf else
                                                              np.float32(np.nan)))


@njit(inline="always")
def tanh_f32(x):
    d = np.float64(x)
    a = abs(d)
    a = a if a < 20.0 else 20.0  # tanh is 1.0f from 9.1 on; also maps nan away from exp
    # NOTE: 1 - 2/(e^2a + 1) cancels for small a; below 0.25 the Taylor series (radius pi/2)
    # converges to 1e-8 in six terms
    big = 1.0 - 2.0 / (exp_d(2.0 * a) + 1.0)
    z = a * a
    small = a + a * z * (-1 / 3 + z * (2 / 15 + z * (-17 / 315 + z * (
        62 / 2835 + z * (-1382 / 155925 + z * (21844 / 6081075))))))
    t = small if a < 0.25 else big
    y = np.float32(t if d >= 0 else -t)
    return y if x == x else x


@njit(inline="always")
def sigmoid_f32(x):
    # NOTE: 1/(1+exp(-x)) overflows for x << 0; exp(-|x|) never does (as the numpy backend)
    d = np.float64(x)
    e = exp_d(-abs(d))
    y = np.float32(1.0 / (1.0 + e) if d >= 0 else e / (1.0 + e))
    return y if x == x else x


@njit(inline="always")
def sigmoid_f64(x):
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


@njit(inline="always")
def _lowbias32(h):
    """C. Wellons' `lowbias32` integer hash: every output bit depends on every input bit."""
    h = np.uint32(h ^ (h >> np.uint32(16)))
    h = np.uint32(h * np.uint32(0x7FEB352D))
    h = np.uint32(h ^ (h >> np.uint32(15)))
    h = np.uint32(h * np.uint32(0x846CA68B))
    return np.uint32(h ^ (h >> np.uint32(16)))


@njit(inline="always")
def keep_bit(k0, k1, threshold, i):
    """Dropout's keep decision for element `i`: a counter-based hash, so no RNG state.

    One round of `lowbias32` on the index keyed with 32 seed bits, its result xored with the
    other 32; the top 24 bits are a uniform integer compared with p * 2**24. Recomputing
    element i gives the same answer, so a mask never has to be stored to be reused. One round
    passes the tests' independence checks (neighbours, rows, successive masks, index bits);
    a second round cost 0.4 ms of a 9 ms training step at batch 2048 (the four dropout
    kernels went 1.24 -> 0.82 ms). `i` comes as a uint32 (the kernel casts its flat index):
    cast inside, the int64 index kept LLVM to half-width vectors.
    """
    h = np.uint32(_lowbias32(np.uint32(i ^ k0)) ^ k1)
    return (h >> np.uint32(8)) >= threshold
