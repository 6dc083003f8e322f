"""Why the speed goals stop at the matrix products, and what would move them.

    python tools/gemm_ceiling.py [--batches 32,128,512,2048]

Issue 7 asks for a seed-MLP training step at 0.5x PyTorch's time and an inference forward at
0.7x. Past batch 128 the matrix products are 70-80% of our step and 93% of our forward, and
numpy runs them in OpenBLAS while PyTorch runs them in MKL. This tool measures, in one
process and interleaved:

1. the step's 8 products (3 forward ``x @ W.T``, 3 weight-gradient ``d.T @ h``, 2
   input-gradient ``d @ W``, the layouts tinygrad_lite runs) in numpy and in PyTorch: how far
   OpenBLAS is from MKL at each batch, in time and GFLOP/s;
2. a 4x4 register-tiled numba kernel for the first layer's ``x @ W.T`` (the largest product)
   with 512-bit vectors, serial and ``parallel=True``, alone and alternated with an OpenBLAS
   product: the only way past OpenBLAS measured here, and why it cannot be mixed with numpy.

The kernel is a measurement, not part of the library: a second thread pool next to
OpenBLAS's (which spins ~0.1 s after each product) turns a pair of products from ~0.1 ms into
milliseconds (PERF-NOTES' trap), so a numba GEMM pays only if it runs every product of a step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

# NOTE: LLVM tunes this Xeon for 256-bit vectors; the kernel below needs 512-bit ones. Numba
# reads the variable once, when it is imported, so it is set before that import.
if "NUMBA_CPU_FEATURES" not in os.environ:
    import llvmlite.binding as llvm
    os.environ["NUMBA_CPU_FEATURES"] = llvm.get_host_cpu_features().flatten() + ",-prefer-256-bit"

import numba  # noqa: E402
import numpy as np  # noqa: E402

SIZES = (784, 256, 128, 10)


def median_us(fn: Callable[[], object], rounds: int = 30, warmup_s: float = 0.25) -> float:
    """Median µs per call over `rounds` samples of enough calls to last ~2 ms each."""
    end = time.perf_counter() + warmup_s
    while time.perf_counter() < end:
        fn()
    t = time.perf_counter()
    fn()
    calls = max(1, int(2e-3 / max(time.perf_counter() - t, 1e-7)))
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t) / calls * 1e6)
    return statistics.median(samples)


def step_products(n: int, mm: Callable, T: Callable, arrays: Callable) -> Callable[[], None]:
    """The 8 products of one training step at batch `n`, in tinygrad_lite's layouts."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((o, i), dtype=np.float32) for i, o in zip(SIZES, SIZES[1:])]
    hs = [rng.standard_normal((n, W.shape[1]), dtype=np.float32) for W in Ws]
    ds = [rng.standard_normal((n, W.shape[0]), dtype=np.float32) for W in Ws]
    Ws, hs, ds = arrays(Ws), arrays(hs), arrays(ds)

    def run() -> None:
        for h, W, d in zip(hs, Ws, ds):
            mm(h, T(W))
            mm(T(d), h)
        for d, W in zip(ds[1:], Ws[1:]):
            mm(d, W)
    return run


def step_flops(n: int) -> int:
    fwd = sum(i * o for i, o in zip(SIZES, SIZES[1:]))
    dx = sum(i * o for i, o in zip(SIZES[1:], SIZES[2:]))
    return 2 * n * (2 * fwd + dx)


@numba.njit(parallel=True, fastmath=True, nogil=True)
def _nt_parallel(x, W, out):
    _nt_rows(x, W, out, numba.prange(W.shape[0] // 4))


@numba.njit(fastmath=True, nogil=True)
def _nt_serial(x, W, out):
    _nt_rows(x, W, out, range(W.shape[0] // 4))


@numba.njit(fastmath=True, inline="always")
def _nt_rows(x, W, out, blocks):
    """out = x @ W.T for M, N multiples of 4: each 4x4 tile of out is 16 dot products over K,
    kept in registers (16 vector accumulators; fastmath lets LLVM vectorise the sums)."""
    for jb in blocks:
        j = 4 * jb
        for i in range(0, x.shape[0], 4):
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0)
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = np.float32(0)
            for k in range(x.shape[1]):
                a0, a1, a2, a3 = x[i, k], x[i + 1, k], x[i + 2, k], x[i + 3, k]
                b0, b1, b2, b3 = W[j, k], W[j + 1, k], W[j + 2, k], W[j + 3, k]
                s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3  # noqa: E702
                s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3  # noqa: E702
                s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3  # noqa: E702
                s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3  # noqa: E702
            tile = ((s00, s01, s02, s03), (s10, s11, s12, s13),
                    (s20, s21, s22, s23), (s30, s31, s32, s33))
            for r in range(4):
                for c in range(4):
                    out[i + r, j + c] = tile[r][c]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="32,128,512,2048")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    try:
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
    except ImportError:
        torch = None
    from bench import blas_info  # tools/ is the script's folder
    blas = [f"{i['internal_api']} {i.get('architecture')} {i['num_threads']} threads"
            for i in blas_info() if i.get("user_api") == "blas"]
    print(f"numpy BLAS: {', '.join(blas) or 'unknown (no threadpoolctl)'}; "
          f"torch: {torch.__version__ if torch else 'absent'}")

    print("\n1. the 8 products of one training step (µs per step, GFLOP/s)")
    print("| batch | numpy (OpenBLAS) | PyTorch (MKL) | numpy / PyTorch |\n|---|---|---|---|")
    for n in batches:
        np_us = median_us(step_products(n, np.matmul, lambda a: a.T, list))
        row = f"| {n} | {np_us:.0f} µs, {step_flops(n) / np_us / 1e3:.0f} GF/s |"
        if torch is None:
            print(row + " - | - |")
            continue
        th_us = median_us(step_products(n, torch.mm, lambda a: a.t(),
                                        lambda xs: [torch.from_numpy(x) for x in xs]))
        print(row + f" {th_us:.0f} µs, {step_flops(n) / th_us / 1e3:.0f} GF/s | "
              f"{np_us / th_us:.2f} |")

    print("\n2. the first layer's x @ W.T at batch 32 (µs)")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 784), dtype=np.float32)
    W = rng.standard_normal((256, 784), dtype=np.float32)
    h = rng.standard_normal((32, 256), dtype=np.float32)
    W2 = rng.standard_normal((128, 256), dtype=np.float32)
    out, out2 = np.empty((32, 256), np.float32), np.empty((32, 128), np.float32)
    for kernel in (_nt_serial, _nt_parallel):
        kernel(x, W, out)
        assert np.allclose(out, x @ W.T, rtol=1e-4, atol=1e-3), kernel.__name__
    rows = {"OpenBLAS": lambda: x @ W.T,
            "numba serial": lambda: _nt_serial(x, W, out),
            "numba parallel": lambda: _nt_parallel(x, W, out),
            "OpenBLAS, then layer 2 in OpenBLAS": lambda: (x @ W.T, h @ W2.T),
            "numba parallel, then layer 2 in numba parallel":
                lambda: (_nt_parallel(x, W, out), _nt_parallel(h, W2, out2)),
            "numba parallel, then layer 2 in OpenBLAS":
                lambda: (_nt_parallel(x, W, out), h @ W2.T)}
    if torch is not None:
        xt, Wt = torch.from_numpy(x), torch.from_numpy(W)
        rows["PyTorch (MKL)"] = lambda: xt @ Wt.t()
    for name, fn in rows.items():
        print(f"  {name:48s} {median_us(fn, rounds=15):9.1f}")


if __name__ == "__main__":
    main()
