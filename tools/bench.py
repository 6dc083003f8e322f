"""Benchmarks against peers: tinygrad_lite (numba and numpy backends) next to PyTorch, a
careful float32 numpy network, MyGrad and micrograd, in one process and interleaved.

    python tools/bench.py [--quick] [--json out.json] [--png out.png]
                          [--batches 1,32,128,512,2048] [--rounds N]

Suites (every contender gets the same data and the same initial weights):
  mlp_step   the seed MLP 784-256-128-10 (dropout 0.5/0.3): forward, softmax-CE, backward,
             SGD; plus the "gemm-floor": only the 8 matrix products of that step, numpy float32
  mlp_infer  the same network, eval mode under no_grad
  per_op     forward+backward of 20 elementwise ops on 4x4 float32 tensors (µs per op)
  chain      a 10,000-op chain x = x * 1.0001 + 0.0001, then backward
  tiny_mlp   a 16-8-4 MLP at batch 1 with an MSE loss: the only size micrograd (a scalar
             engine) can run; not comparable with the suites above

Each round visits every contender once (the first one rotates) and times one sample of
enough calls to last `min_sample_s`; the table shows medians over rounds, taken after a
warm-up of at least `warmup_s` per contender. A contender that cannot be imported is
skipped, one that raises is recorded as failed; neither stops the run.
"""
from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
# NOTE: appended, so an installed tinygrad_lite wins over the checkout
sys.path.append(os.path.dirname(TOOLS))

from numpy_mlp import NumpyMLP, weight_grad  # noqa: E402  (tools/ is not a package)

F32 = np.float32
SEED_SIZES = (784, 256, 128, 10)
SEED_DROPOUT = (0.5, 0.3)
TINY_SIZES = (16, 8, 4)
LR = 0.01
BASELINE = "pytorch"
SUITE_KEYS = ("mlp_step", "mlp_infer", "per_op", "chain", "tiny_mlp")
GRAPH_OPS = 20          # per_op: 4 x (add, mul, sub, relu, tanh)
CHAIN_OPS = 10_000


class Unavailable(Exception):
    """A contender that cannot run here (not installed, API missing): skipped, not failed."""


# ---------------------------------------------------------------------------------------
# shared inputs


def make_weights(sizes, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-initialised float32 ``[(W_out_in, b), ...]`` in PyTorch's layout. Biases are small
    and non-zero so that a wrong bias path shows up in the parity tests."""
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((n_out, n_in), dtype=F32) * F32(math.sqrt(2.0 / n_in))),
             rng.standard_normal(n_out, dtype=F32) * F32(0.01))
            for n_in, n_out in itertools.pairwise(sizes)]


def make_data(n: int, n_in: int, n_classes: int, seed: int = 1):
    """``X`` (n, n_in) float32 in [0, 1) like pixel intensities, ``y`` (n,) int64 labels."""
    rng = np.random.default_rng(seed)
    return rng.random((n, n_in), dtype=F32), rng.integers(0, n_classes, n, dtype=np.int64)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=F32)[y]


@dataclass
class Case:
    """One column of work: every contender of a suite runs the same case."""
    label: str
    X: np.ndarray
    y: np.ndarray | None = None          # labels (MLP) or the second operand (per_op)
    weights: list | None = None          # [(W_out_in, b), ...]
    dropout: tuple = ()
    train: bool = True
    loss: str = "ce"                     # "ce" (softmax cross-entropy) or "mse"
    ops: int = 1                         # graph size, for per-op figures


# ---------------------------------------------------------------------------------------
# the frameworks, behind one small interface


def _nothing() -> None:
    return None


@dataclass
class Lib:
    """What the makers need from a framework. Module-style libraries (PyTorch,
    tinygrad_lite) fill in nn/F/optim; every autograd library fills in the leaf ops."""
    name: str
    mod: Any
    activate: Callable[[], None] = _nothing   # run before building and before each sample
    nn: Any = None
    F: Any = None
    optim: Any = None
    tensor: Callable | None = None            # numpy -> tensor (no grad)
    no_grad: Callable | None = None
    to_numpy: Callable | None = None
    leaf: Callable | None = None              # numpy -> tensor that requires grad
    relu: Callable | None = None
    tanh: Callable | None = None
    backward: Callable | None = None          # backward(out, leaves): seed ones, fresh grads


def _reset_then_backward(ones_like):
    def backward(out, leaves):
        for t in leaves:
            t.grad = None
        out.backward(ones_like(out))
        for t in leaves:
            t.grad.numpy()                    # NOTE: a lazy backend computes when read
    return backward


@functools.cache
def torch_lib() -> Lib:
    try:
        import torch
    except ImportError as exc:
        raise Unavailable(f"torch not importable: {exc}") from None
    torch.set_num_threads(os.cpu_count() or 1)
    return Lib("pytorch", torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim,
               tensor=torch.from_numpy, no_grad=torch.no_grad,
               to_numpy=lambda t: t.detach().numpy(),
               leaf=lambda a: torch.tensor(a, requires_grad=True),
               relu=torch.relu, tanh=torch.tanh,
               backward=_reset_then_backward(torch.ones_like))


@functools.cache
def tl_lib(backend: str) -> Lib:
    try:
        import tinygrad_lite as tl
    except ImportError as exc:
        raise Unavailable(f"tinygrad_lite not importable: {exc}") from None
    set_backend = getattr(tl, "set_backend", None)
    if set_backend is None:
        if backend != "numpy":
            raise Unavailable("tinygrad_lite has no set_backend: only its default backend runs")
        activate = _nothing
    else:
        activate = functools.partial(set_backend, backend)
        previous = tl.get_backend() if hasattr(tl, "get_backend") else "numpy"
        try:
            activate()
        except (ValueError, ImportError) as exc:
            raise Unavailable(f"set_backend({backend!r}) failed: {exc}") from None
        finally:
            set_backend(previous)
    try:
        from tinygrad_lite import nn, optim
        from tinygrad_lite.nn import functional as F
    except ImportError:
        nn = F = optim = None                 # module_mlp says so; the graph suites still run
    return Lib(f"tl-{backend}", tl, activate=activate, nn=nn, F=F, optim=optim,
               tensor=tl.tensor, no_grad=tl.no_grad, to_numpy=lambda t: t.numpy(),
               leaf=lambda a: tl.tensor(a, requires_grad=True),
               relu=lambda t: t.relu(), tanh=lambda t: t.tanh(),
               backward=_reset_then_backward(tl.ones_like))


@functools.cache
def mygrad_lib() -> Lib:
    try:
        import mygrad as mg
    except ImportError as exc:
        raise Unavailable(f"mygrad not importable: {exc}") from None
    # NOTE: MyGrad sets fresh gradients on every backward; no reset needed
    return Lib("mygrad", mg, leaf=mg.tensor, relu=mg.nnet.relu, tanh=mg.tanh,
               backward=lambda out, leaves: out.backward())


@functools.cache
def micrograd_lib() -> Lib:
    try:
        import micrograd.engine
        import micrograd.nn
    except ImportError as exc:
        raise Unavailable(f"micrograd not importable: {exc}") from None

    def backward(out, leaves):
        for v in leaves:
            v.grad = 0
        out.backward()
    # NOTE: a scalar engine: a "tensor" here is one Value holding the first element
    return Lib("micrograd", micrograd, leaf=lambda a: micrograd.engine.Value(float(a.flat[0])),
               relu=lambda v: v.relu(), backward=backward)


@functools.cache
def numpy_lib() -> Lib:
    return Lib("numpy", np)


# ---------------------------------------------------------------------------------------
# makers: build everything outside the clock, return the zero-argument thing to time


def build_mlp(lib: Lib, weights, dropout):
    """``nn.Sequential`` of Linear/ReLU/Dropout holding copies of ``weights``; written once
    for PyTorch and tinygrad_lite, which share the module API."""
    nn = lib.nn
    layers = []
    for i, (W, _) in enumerate(weights):
        layers.append(nn.Linear(W.shape[1], W.shape[0]))
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
            if dropout[i] > 0:
                layers.append(nn.Dropout(dropout[i]))
    model = nn.Sequential(*layers)
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    state = {}
    for name, (W, b) in zip(linears, weights):
        state[f"{name}.weight"] = lib.tensor(W.copy())
        state[f"{name}.bias"] = lib.tensor(b.copy())
    model.load_state_dict(state)
    return model


def _compiler(lib: Lib, jit: bool) -> Callable:
    """tinygrad_lite's `TinyJit` with `jit`, else nothing: the decorator of the timed code."""
    if not jit:
        return lambda fn: fn
    if getattr(lib.mod, "TinyJit", None) is None:
        raise Unavailable(f"{lib.name} has no TinyJit")
    return lib.mod.TinyJit


def module_mlp(lib: Lib, case: Case, jit: bool = False):
    """PyTorch or tinygrad_lite: a training step (returns the loss) or an eval forward.
    With `jit`, the step (or forward) runs under tinygrad_lite's `TinyJit`: recorded on its
    first calls, replayed after."""
    if lib.nn is None or lib.F is None or lib.optim is None:
        raise Unavailable(f"{lib.name}: nn, nn.functional or optim not importable")
    compile_ = _compiler(lib, jit)
    model = build_mlp(lib, case.weights, case.dropout)
    X = lib.tensor(case.X)
    if not case.train:
        model.eval()

        @compile_
        def forward(x):
            with lib.no_grad():
                return model(x)
        return lambda: lib.to_numpy(forward(X))
    n_out = case.weights[-1][0].shape[0]
    if case.loss == "ce":
        target, loss_fn = lib.tensor(case.y), lib.F.cross_entropy
    else:
        target, loss_fn = lib.tensor(one_hot(case.y, n_out)), lib.F.mse_loss
    opt = lib.optim.SGD(model.parameters(), lr=LR)

    @compile_
    def train_step(x, t):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        return loss
    return lambda: train_step(X, target).item()


def numpy_mlp(lib: Lib, case: Case):
    if case.loss != "ce":
        raise Unavailable("NumpyMLP has only softmax cross-entropy")
    sizes = [case.weights[0][0].shape[1]] + [W.shape[0] for W, _ in case.weights]
    net = NumpyMLP(sizes, dropout=case.dropout, seed=0)
    net.load_weights(case.weights)
    if case.train:
        return lambda: net.step(case.X, case.y, LR)
    return lambda: net.forward(case.X)


def mygrad_mlp(lib: Lib, case: Case):
    """What a MyGrad user writes: (in, out) weights, a float32 dropout mask, its fused
    softmax cross-entropy, SGD on ``.data``."""
    mg = lib.mod
    if case.loss != "ce":
        raise Unavailable("only the cross-entropy MLP is wired for MyGrad")
    params = [(mg.tensor(np.ascontiguousarray(W.T)), mg.tensor(b.copy()))
              for W, b in case.weights]
    rng = np.random.default_rng(0)

    def forward(x, train):
        for i, (W, b) in enumerate(params):
            x = mg.matmul(x, W) + b
            if i < len(params) - 1:
                x = mg.nnet.relu(x)
                p = case.dropout[i]
                if train and p > 0:
                    keep = rng.random(x.shape, dtype=F32) < F32(1 - p)
                    x = x * np.multiply(keep, F32(1 / (1 - p)), dtype=F32)
        return x

    if not case.train:
        def infer():
            with mg.no_autodiff:
                return np.asarray(forward(case.X, False))
        return infer

    def step():
        loss = mg.nnet.losses.softmax_crossentropy(forward(case.X, True), case.y)
        loss.backward()
        for W, b in params:
            W.data -= LR * W.grad
            b.data -= LR * b.grad
        return loss.item()
    return step


def micrograd_mlp(lib: Lib, case: Case):
    """micrograd's own MLP with the shared weights copied in, one sample, MSE loss."""
    if case.loss != "mse" or case.X.shape[0] != 1:
        raise Unavailable("micrograd is scalar: only the batch-1 tiny MLP with MSE")
    Value, MLP = lib.mod.engine.Value, lib.mod.nn.MLP
    sizes = [case.weights[0][0].shape[1]] + [W.shape[0] for W, _ in case.weights]
    model = MLP(sizes[0], sizes[1:])
    for layer, (W, b) in zip(model.layers, case.weights):
        for neuron, w_row, b_j in zip(layer.neurons, W, b):
            neuron.w = [Value(float(v)) for v in w_row]
            neuron.b = Value(float(b_j))
    x = case.X[0].tolist()
    target = one_hot(case.y, sizes[-1])[0].tolist()
    params = model.parameters()

    def step():
        out = model(x)
        loss = sum(((o - t) ** 2 for o, t in zip(out, target)), Value(0.0)) * (1 / len(out))
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.data
    return step


def gemm_floor(lib: Lib, case: Case):
    """Only the matrix products of one training step: 3 forward, 3 weight-gradient and 2
    input-gradient GEMMs, numpy float32, on arrays of the step's shapes."""
    rng = np.random.default_rng(2)
    Ws = [np.ascontiguousarray(W.T) for W, _ in case.weights]           # (in, out)
    n = case.X.shape[0]
    hs = [case.X] + [rng.random((n, W.shape[1]), dtype=F32) for W in Ws[:-1]]
    ds = [rng.standard_normal((n, W.shape[1]), dtype=F32) for W in Ws]

    def run():
        for h, W in zip(hs, Ws):
            h @ W
        for h, d in zip(hs, ds):
            weight_grad(h, d)
        for d, W in zip(ds[1:], Ws[1:]):
            d @ W.T
    return run


def op_graph(lib: Lib, case: Case, jit: bool = False):
    """Forward+backward of ``case.ops`` elementwise ops: repeats of add, mul, sub, relu,
    tanh on two leaves (the backward is seeded with ones, no reduction)."""
    if lib.tanh is None:
        raise Unavailable(f"{lib.name} has no tanh")
    leaves = lib.leaf(case.X), lib.leaf(case.y)

    @_compiler(lib, jit)
    def run(a, b):
        x = a
        for _ in range(case.ops // 5):
            x = lib.tanh(lib.relu((x + b) * a - b))
        lib.backward(x, (a, b))
    return lambda: run(*leaves)


def op_chain(lib: Lib, case: Case, jit: bool = False):
    """A chain of ``case.ops`` ops, ``x = x * 1.0001 + 0.0001``, then backward."""
    leaf = lib.leaf(case.X)

    @_compiler(lib, jit)
    def run(x0):
        x = x0
        for _ in range(case.ops // 2):
            x = x * 1.0001 + 0.0001
        lib.backward(x, (x0,))
    return lambda: run(leaf)


@dataclass
class Contender:
    name: str
    lib: Callable[[], Lib]                    # raises Unavailable
    make: Callable[[Lib, Case], Callable[[], Any]]


TL_NUMBA = functools.partial(tl_lib, "numba")
TL_NUMPY = functools.partial(tl_lib, "numpy")
MLP_CONTENDERS = [
    Contender("pytorch", torch_lib, module_mlp),
    Contender("tl-numba", TL_NUMBA, module_mlp),
    Contender("tl-numpy", TL_NUMPY, module_mlp),
    Contender("tl-jit", TL_NUMBA, functools.partial(module_mlp, jit=True)),
    Contender("numpy-mlp", numpy_lib, numpy_mlp),
    Contender("mygrad", mygrad_lib, mygrad_mlp),
]
GRAPH_LIBS = [("pytorch", torch_lib), ("tl-numba", TL_NUMBA), ("tl-numpy", TL_NUMPY),
              ("mygrad", mygrad_lib)]


@dataclass
class Suite:
    key: str
    title: str
    cases: list[Case]
    contenders: list[Contender]
    unit: str = "ms"                          # "ms" per call or "us/op"
    refs: tuple[str, ...] = ()                # extra ratio columns (besides the baseline)


def make_suites(batches, chain_ops: int) -> list[Suite]:
    weights = make_weights(SEED_SIZES)
    mlp_cases = {train: [Case(str(n), *make_data(n, SEED_SIZES[0], SEED_SIZES[-1]),
                              weights=weights, dropout=SEED_DROPOUT, train=train)
                         for n in batches]
                 for train in (True, False)}
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal((4, 4), dtype=F32) for _ in range(2))
    tiny = Case("1", *make_data(1, TINY_SIZES[0], TINY_SIZES[-1]),
                weights=make_weights(TINY_SIZES), dropout=(0.0,), loss="mse")
    graph = [Contender(name, lib, op_graph) for name, lib in GRAPH_LIBS]
    graph.insert(3, Contender("tl-jit", TL_NUMBA, functools.partial(op_graph, jit=True)))
    # NOTE: MyGrad turns `x * 1.0001` into float64 (a Python float is a float64 constant
    # there), so its chain would not be the same work; micrograd runs it on one scalar.
    chain = [Contender(name, lib, op_chain) for name, lib in GRAPH_LIBS if name != "mygrad"]
    chain.insert(3, Contender("tl-jit", TL_NUMBA, functools.partial(op_chain, jit=True)))
    chain.append(Contender("micrograd", micrograd_lib, op_chain))
    tiny_contenders = [c for c in MLP_CONTENDERS if c.name.startswith(("pytorch", "tl-"))]
    tiny_contenders.append(Contender("micrograd", micrograd_lib, micrograd_mlp))
    sizes = "-".join(map(str, SEED_SIZES))
    return [
        Suite("mlp_step", f"MLP training step {sizes}, dropout 0.5/0.3, softmax-CE, SGD "
              "(rows: batch)", mlp_cases[True],
              MLP_CONTENDERS + [Contender("gemm-floor", numpy_lib, gemm_floor)],
              refs=("numpy-mlp", "gemm-floor")),
        Suite("mlp_infer", f"MLP inference {sizes}, eval mode, no_grad (rows: batch)",
              mlp_cases[False], MLP_CONTENDERS),
        Suite("per_op", f"Per-op overhead: forward+backward of {GRAPH_OPS} elementwise ops "
              "on 4x4 float32", [Case("4x4", a, b, ops=GRAPH_OPS)], graph, unit="us/op"),
        Suite("chain", f"{chain_ops:,}-op chain x = x * 1.0001 + 0.0001, then backward "
              "(4x4; micrograd: one scalar)", [Case("4x4", a, ops=chain_ops)], chain),
        Suite("tiny_mlp", "Tiny MLP 16-8-4 at batch 1, MSE loss, SGD (micrograd's scale; "
              "not comparable with the suites above)", [tiny], tiny_contenders),
    ]


# ---------------------------------------------------------------------------------------
# timing


@dataclass
class Timing:
    status: str                               # "ok" | "failed" | "skipped"
    median_s: float | None = None
    samples_s: list[float] = field(default_factory=list)
    calls_per_sample: int = 0
    detail: str = ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _run_for(fn: Callable[[], Any], seconds: float) -> float:
    """Call ``fn`` (at least once) until ``seconds`` have passed; return seconds per call."""
    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def time_interleaved(entries, rounds: int, warmup_s: float, settle_s: float,
                     min_sample_s: float):
    """Median seconds per call for each ``(name, fn, activate)``, interleaved.

    Each contender is warmed for at least ``warmup_s`` (JIT compiles, caches, BLAS thread
    pools), which also sizes its samples to last about ``min_sample_s``. Then every round
    times one sample per contender, starting one contender later each round. Before each
    sample the contender runs untimed for ``settle_s``: the thread pool of the previous
    contender's library (OpenBLAS, OpenMP) keeps spinning for ~0.1 s and would otherwise
    be charged to whoever runs next.
    """
    timings, live = {}, []
    for name, fn, activate in entries:
        try:
            activate()
            fn()                                # the first call pays for compiles
            per_call = _run_for(fn, warmup_s)
        except Exception as exc:                # noqa: BLE001  a peer's bug is a result
            timings[name] = Timing("failed", detail=_describe(exc))
            continue
        live.append((name, fn, activate, max(1, math.ceil(min_sample_s / per_call))))
        timings[name] = Timing("ok", calls_per_sample=live[-1][3])
    for r in range(rounds if live else 0):  # NOTE: nothing ran: every entry says why
        for name, fn, activate, calls in live[r % len(live):] + live[:r % len(live)]:
            if timings[name].status != "ok":
                continue
            activate()
            try:
                _run_for(fn, settle_s)
                start = time.perf_counter()
                for _ in range(calls):
                    fn()
                timings[name].samples_s.append((time.perf_counter() - start) / calls)
            except Exception as exc:            # noqa: BLE001
                timings[name] = Timing("failed", detail=_describe(exc))
    for t in timings.values():
        if t.status == "ok":
            t.median_s = statistics.median(t.samples_s)
    return timings


def run_suite(suite: Suite, args: argparse.Namespace):
    """``{case label: {contender: Timing}}`` in contender order."""
    results = {}
    for case in suite.cases:
        print(f"[bench] {suite.key} {case.label}", file=sys.stderr, flush=True)
        timings, entries = {}, []
        for c in suite.contenders:
            try:
                lib = c.lib()
                lib.activate()
                entries.append((c.name, c.make(lib, case), lib.activate))
            except Unavailable as exc:
                timings[c.name] = Timing("skipped", detail=str(exc))
            except Exception as exc:            # noqa: BLE001
                timings[c.name] = Timing("failed", detail=_describe(exc))
        timings.update(time_interleaved(entries, args.rounds, args.warmup_s, args.settle_s,
                                        args.min_sample_s))
        results[case.label] = {c.name: timings[c.name] for c in suite.contenders}
        del entries
        gc.collect()
    return results


# ---------------------------------------------------------------------------------------
# reporting


def blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keys = ("user_api", "internal_api", "version", "num_threads", "architecture",
            "threading_layer", "prefix")
    return [{k: d.get(k) for k in keys if d.get(k) is not None} for d in threadpool_info()]


def _value(t: Timing, suite: Suite, case: Case) -> float:
    return t.median_s * 1e6 / case.ops if suite.unit == "us/op" else t.median_s * 1e3


def _ratio(timings: dict, name: str, ref: str) -> float | None:
    a, b = timings.get(name), timings.get(ref)
    if a is None or b is None or a.status != "ok" or b.status != "ok":
        return None
    return a.median_s / b.median_s


def format_suite(suite: Suite, results: dict) -> str:
    """Median per cell with its ratio to PyTorch; for suites with ``refs``, a second table
    of ratios to those references."""
    names = [c.name for c in suite.contenders]
    unit = "µs/op" if suite.unit == "us/op" else "ms"
    head = "| case | " + " | ".join(names) + " |\n|---" + "|---" * len(names) + "|\n"
    lines = [f"### {suite.title}", f"median {unit}; (x) = ratio to {BASELINE}", "", head]
    for case in suite.cases:
        cells = []
        for name in names:
            t = results[case.label][name]
            if t.status != "ok":
                cells.append(t.status)
                continue
            ratio = _ratio(results[case.label], name, BASELINE)
            cells.append(f"{_value(t, suite, case):.4g}" + (f" ({ratio:.2f}x)" if ratio else ""))
        lines.append(f"| {case.label} | " + " | ".join(cells) + " |\n")
    if suite.refs:
        lines += ["", "ratio to " + " / ".join(suite.refs), "", head]
        for case in suite.cases:
            cells = []
            for name in names:
                ratios = [_ratio(results[case.label], name, ref) for ref in suite.refs]
                cells.append(" / ".join("-" if r is None else f"{r:.2f}x" for r in ratios))
            lines.append(f"| {case.label} | " + " | ".join(cells) + " |\n")
    notes = [f"- {name} ({case.label}): {t.status}: {t.detail}"
             for case in suite.cases for name, t in results[case.label].items()
             if t.status != "ok"]
    if notes:
        lines += [""] + [n + "\n" for n in dict.fromkeys(notes)]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def to_json(meta: dict, suites: list[Suite], all_results: dict) -> dict:
    out = {"meta": meta, "suites": {}}
    for suite in suites:
        cases = {}
        for case in suite.cases:
            timings = all_results[suite.key][case.label]
            cases[case.label] = {
                name: dict(asdict(t), ratio_to_baseline=_ratio(timings, name, BASELINE))
                for name, t in timings.items()}
        out["suites"][suite.key] = {"title": suite.title, "unit": "s", "baseline": BASELINE,
                                    "ops": {c.label: c.ops for c in suite.cases},
                                    "cases": cases}
    return out


def draw_png(path: str, suites: list[Suite], all_results: dict) -> None:
    """Bars of each contender's ratio to PyTorch, one panel per suite (log scale, one colour
    per contender across panels)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    names = list(dict.fromkeys(c.name for s in suites for c in s.contenders if c.name != BASELINE))
    colours = dict(zip(names, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(len(suites), 1, figsize=(10, 3.0 * len(suites)), squeeze=False)
    for ax, suite in zip(axes[:, 0], suites):
        ratios = {c.name: [_ratio(all_results[suite.key][case.label], c.name, BASELINE)
                           for case in suite.cases]
                  for c in suite.contenders if c.name != BASELINE}
        ratios = {name: rs for name, rs in ratios.items() if any(r is not None for r in rs)}
        width = 0.8 / max(1, len(ratios))
        for k, (name, rs) in enumerate(ratios.items()):
            xs = [i + (k - (len(ratios) - 1) / 2) * width for i in range(len(rs))]
            kept = [(x, r) for x, r in zip(xs, rs) if r is not None]
            bars = ax.bar([x for x, _ in kept], [r for _, r in kept], width, label=name,
                          color=colours[name])
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        values = [r for rs in ratios.values() for r in rs if r is not None] + [1.0]
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 1.6, max(values) * 1.6)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(suite.cases)), [c.label for c in suite.cases])
        ax.set_ylabel(f"time / {BASELINE}")
        ax.set_title(suite.title, fontsize=9)
        if ratios:
            ax.legend(fontsize=7, ncol=len(ratios), loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _limit_threads(threads: int):
    """Give PyTorch and the BLAS libraries ``threads`` threads; returns what holds the BLAS
    limit (None without threadpoolctl)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(threads, user_api="blas")


def _load_warning() -> str:
    """A warning when other processes compete for the CPUs (then no timing here is sound)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return ""
    cpus = os.cpu_count() or 1
    if load <= 0.75 * cpus + 1:
        return ""
    return (f"1-minute load average {load:.1f} on {cpus} CPUs: other processes compete for "
            "the cores and multi-threaded contenders (BLAS, OpenMP) suffer most")


def versions() -> dict:
    found = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "numba", "mygrad", "tinygrad_lite"):
        module = sys.modules.get(mod)
        if module is not None:
            found[mod] = getattr(module, "__version__", "?")
    return found


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny run for tests: batch 32, 3 rounds, short warm-up and chain")
    p.add_argument("--json", help="write all medians and samples here")
    p.add_argument("--png", help="draw ratios to PyTorch here")
    p.add_argument("--batches", help="comma-separated batch sizes (default 1,32,128,512,2048)")
    p.add_argument("--rounds", type=int, help="timed rounds per case (default 10; quick 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for PyTorch and numpy's BLAS (default: every CPU)")
    p.add_argument("--suites", default=",".join(SUITE_KEYS),
                   help=f"comma-separated subset of {','.join(SUITE_KEYS)}")
    args = p.parse_args(argv)
    default_batches = "32" if args.quick else "1,32,128,512,2048"
    args.batches = [int(b) for b in (args.batches or default_batches).split(",")]
    args.rounds = args.rounds or (3 if args.quick else 10)
    # NOTE: --quick trades hygiene for time; its numbers are a smoke test, not a result
    args.warmup_s = 0.05 if args.quick else 0.25
    args.settle_s = 0.1 if args.quick else 0.15
    args.min_sample_s = 0.002 if args.quick else 0.01
    args.chain_ops = 2_000 if args.quick else CHAIN_OPS
    args.suites = args.suites.split(",")
    unknown = set(args.suites) - set(SUITE_KEYS)
    if unknown:
        p.error(f"unknown suites {sorted(unknown)}; choose from {','.join(SUITE_KEYS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    for lib in (torch_lib, TL_NUMBA, TL_NUMPY):     # import early: BLAS pools show up below
        try:
            lib()
        except Unavailable:
            pass
    blas_limit = _limit_threads(args.threads)  # noqa: F841  (holds the limit for the run)
    meta = {"versions": versions(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "blas": blas_info(), "rounds": args.rounds, "warmup_s": args.warmup_s,
            "settle_s": args.settle_s, "min_sample_s": args.min_sample_s,
            "threads": args.threads, "batches": args.batches, "chain_ops": args.chain_ops,
            "quick": args.quick, "lr": LR}
    if "torch" in sys.modules:
        meta["torch_threads"] = sys.modules["torch"].get_num_threads()
    meta["load_before"] = _load_warning()
    print("## Benchmarks against peers\n")
    print(", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
          f"| {meta['cpu_count']} CPUs, {args.threads} threads | rounds {args.rounds}, "
          f"warm-up {args.warmup_s} s"
          + (" | QUICK MODE (smoke test)" if args.quick else ""))
    for pool in meta["blas"]:
        print("- threads:", ", ".join(f"{k}={v}" for k, v in pool.items()))
    if meta["load_before"]:
        print(f"- WARNING: {meta['load_before']}")
    print()
    suites = [s for s in make_suites(args.batches, args.chain_ops) if s.key in args.suites]
    all_results = {}
    for suite in suites:
        all_results[suite.key] = run_suite(suite, args)
        print(format_suite(suite, all_results[suite.key]), flush=True)
    meta["load_after"] = _load_warning()
    if meta["load_after"]:
        print(f"WARNING (end of run): {meta['load_after']}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(meta, suites, all_results), f, indent=1)
    if args.png:
        try:
            draw_png(args.png, suites, all_results)
        except ImportError as exc:
            print(f"no PNG: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
