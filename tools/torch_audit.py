"""Run PyTorch's own test samples through tinygrad_lite and report every difference.

PyTorch describes each of its ops (`OpInfo`, ~700), modules (`ModuleInfo`, ~110) and
optimizers (`OptimizerInfo`) with sample inputs covering broadcasting, 0-d and empty
tensors, keyword arguments, dtypes and option sets.
This tool feeds the same samples to the op or module of the same name here, and compares
results (shape, dtype, values) and gradients (of the inputs, and of a module's parameters
after loading torch's state_dict). A sample that torch refuses is skipped; one that torch
takes and we refuse is reported.

    python tools/torch_audit.py                 # every op, module and optimizer
    python tools/torch_audit.py ops add matmul  # some ops
    python tools/torch_audit.py modules Linear
    python tools/torch_audit.py optims Adam     # a few steps with each of its option sets

Needs the `parity` extra (torch and expecttest, which torch's test database imports).
"""
from __future__ import annotations

import argparse
import collections
import itertools
import sys
import types
import warnings
from typing import Any, Callable, Iterable

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

# random ops cannot agree with torch's draws; sort-like ops may order ties differently (their
# values are compared, not their indices)
RANDOM = {"bernoulli", "normal", "rand_like", "randn_like", "randint_like", "multinomial",
          "empty", "empty_like", "new_empty", "nn.functional.dropout", "nn.functional.dropout2d",
          "nn.functional.dropout3d", "nn.functional.alpha_dropout", "nn.functional.rrelu",
          "nn.functional.feature_alpha_dropout", "uniform", "cauchy", "exponential",
          "geometric", "log_normal", "randint", "randn", "rand", "empty_strided",
          "new_empty_strided", "empty_permuted", "svd_lowrank", "pca_lowrank"}
TIES = {"sort", "argsort", "topk", "kthvalue", "mode", "msort"}
# random window placement that both take as an argument: given the same draws, they agree
FRACTIONAL = {"nn.functional.fractional_max_pool2d": 2, "nn.functional.fractional_max_pool3d": 3,
              "FractionalMaxPool2d": 2, "FractionalMaxPool3d": 3}
DTYPES = ("float32", "float64", "int64", "bool")


def _torch():
    import torch  # noqa: PLC0415  (the tool's only hard requirement, checked in main)
    return torch


def tl_op(info: Any) -> Callable | None:
    """The function here that corresponds to an OpInfo: tl.<name>, F.<name>, tl.linalg.<name>,
    tl.special.<name> or the Tensor method; None when there is none. When PyTorch's op is a
    lambda (its argument order may differ from the plain call's), that lambda itself, reading
    tinygrad_lite wherever it reads torch."""
    name = info.name
    method = info.method_variant is not None and callable(getattr(tl.Tensor, name, None))
    if getattr(info.op, "__name__", "") == "<lambda>":
        return _method(name) if method else _translated(info.op)
    if name.startswith("nn.functional."):
        return getattr(F, name.removeprefix("nn.functional."), None)
    for space in ("linalg", "special"):
        if name.startswith(f"{space}."):
            return getattr(getattr(tl, space), name.removeprefix(f"{space}."), None)
    if "." in name:
        return None
    fn = getattr(tl, name, None)
    if callable(fn) and not isinstance(fn, type):
        return fn
    return _method(name) if method else None


class Missing(AttributeError):
    """A translated lambda read a name that tinygrad_lite does not have: the op is missing."""


class _AsTorch:
    """Stands in for the `torch` module inside a translated lambda: `torch.x` is `tl.x`,
    `torch.nn.functional.x` is `F.x`, `torch.Tensor` is `tl.Tensor`."""

    def __init__(self, namespace: Any = tl) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        if self._namespace is tl and name == "nn":
            return _AsTorch(tl.nn)
        if self._namespace is tl.nn and name == "functional":
            return _AsTorch(F)
        value = getattr(self._namespace, name, None)
        if value is None:
            raise Missing(f"{self._namespace.__name__} has no {name}")
        return value


def _translated(fn: Callable) -> Callable | None:
    """`fn` (a lambda of torch's test database) reading tinygrad_lite instead of torch; None
    when it closes over torch objects, which cannot be swapped."""
    if fn.__closure__:
        return None
    names = dict(fn.__globals__, torch=_AsTorch(), wrapper_set_seed=lambda f, *a, **k: f(*a, **k))
    translated = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__)

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return translated(*args, **kwargs)
        except AttributeError as e:  # NOTE: x.bfloat16() and the like: a method we lack
            if isinstance(e, Missing) or e.name not in fn.__code__.co_names:
                raise
            raise Missing(str(e)) from e

    return run


def _method(name: str) -> Callable:
    return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def to_tl(x: Any, grad: bool) -> Any:
    """torch tensors (inside lists, tuples and dicts too) as tinygrad_lite tensors, keeping
    requires_grad when `grad`; torch dtypes as ours."""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        wants = grad and x.requires_grad and x.is_floating_point()
        return tl.tensor(x.detach().numpy().copy(), requires_grad=wants)
    if isinstance(x, torch.dtype):
        return getattr(tl, str(x).split(".")[1], x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[to_tl(v, grad) for v in x])
    if isinstance(x, (list, tuple)):
        return type(x)(to_tl(v, grad) for v in x)
    if isinstance(x, dict):
        return {k: to_tl(v, grad) for k, v in x.items()}
    if isinstance(x, torch.nn.Module) and not list(x.parameters()):  # e.g. PairwiseDistance()
        return getattr(tl.nn, type(x).__name__)()
    if callable(x) and str(getattr(x, "__module__", "")).startswith("torch"):
        return getattr(F, getattr(x, "__name__", ""), x)  # F.gelu, F.relu ...
    return x


def leaves(x: Any) -> list:
    """Every value in a nest of lists and tuples, in order."""
    if isinstance(x, (list, tuple)):
        return [y for v in x for y in leaves(v)]
    return [x]


def _array(x: Any) -> Any:
    torch = _torch()
    if isinstance(x, torch.Tensor):
        return x.detach().numpy(force=True)
    if isinstance(x, tl.Tensor):
        return np.asarray(x.detach().numpy())
    return x


def compare(want: Iterable, got: Iterable, rtol: float | None = None) -> str | None:
    """The first difference between two lists of results, or None."""
    want, got = list(want), list(got)
    if len(want) != len(got):
        return f"{len(want)} outputs, got {len(got)}"
    for a, b in zip(want, got):
        a, b = _array(a), _array(b)
        if not isinstance(a, np.ndarray):
            same = a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))
            if not same:
                return f"value {a!r}, got {b!r}"
            continue
        b = np.asarray(b)
        if a.shape != b.shape:
            return f"shape {a.shape}, got {b.shape}"
        if a.dtype != b.dtype:
            return f"dtype {a.dtype}, got {b.dtype}"
        if a.dtype.kind == "f":
            tol = rtol or (1e-4 if a.dtype == np.float32 else 1e-7)
            if not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
                return f"values differ by up to {np.nanmax(np.abs(a - b))}"
        elif not np.array_equal(a, b):
            return "values differ"
    return None


def _weighted_sum(outputs: list, weights: list, lib: Any) -> Any:
    """sum(out * w): one scalar whose gradient checks every output."""
    total = None
    for out, w in zip(outputs, weights):
        term = (out * (w if lib is _torch() else tl.tensor(w.numpy()))).sum()
        total = term if total is None else total + term
    return total


def compare_grads(t_outs: list, t_ins: list, l_outs: list, l_ins: list) -> str | None:
    """The gradients of one random weighting of the outputs, torch's against ours."""
    torch = _torch()
    weights = [torch.randn_like(t).detach() for t in t_outs]
    want = torch.autograd.grad(_weighted_sum(t_outs, weights, torch), t_ins, allow_unused=True)
    try:
        got = tl.autograd.grad(_weighted_sum(l_outs, weights, tl), l_ins, allow_unused=True)
    except Exception as e:  # noqa: BLE001  (any refusal is a finding)
        return f"backward raises {type(e).__name__}: {e}"
    for i, (a, b) in enumerate(zip(want, got)):
        a = np.zeros(0) if a is None else a.numpy(force=True)
        b = np.zeros(0) if b is None else np.asarray(b.numpy())
        if a.size == 0 or b.size == 0:
            if np.abs(a).sum() or np.abs(b).sum():
                return f"gradient {i}: one side has none"
            continue
        problem = compare([a], [b], rtol=1e-3 if a.dtype == np.float32 else 1e-6)
        if problem:
            return f"gradient {i}: {problem}"
    return None


def _sorted_by(x: Any, order: Any, dim: int) -> Any:
    """x's values in the order an argsort gave (PyTorch's sort is not stable by default)."""
    values, picks = _array(x), _array(order)
    return np.take_along_axis(values, picks, dim) if np.ndim(values) else values


def audit_op(info: Any, dtypes: Iterable[str] = DTYPES, samples: int = 12) -> list[str]:
    """Every difference between torch and tinygrad_lite on the OpInfo's samples."""
    torch = _torch()
    fn = tl_op(info)
    if fn is None or info.name in RANDOM:
        return []
    found = []
    for dtype in dtypes:
        dt = getattr(torch, dtype)
        if dt not in info.supported_dtypes("cpu"):
            continue
        grad = dt == torch.float64 and info.supports_autograd
        try:
            cases = list(itertools.islice(info.sample_inputs("cpu", dt, requires_grad=grad),
                                          samples))
        except Exception:  # noqa: BLE001  (torch's own sample maker failed: nothing to compare)
            continue
        for case in cases:
            if _random_sample(info, case):
                continue
            case.kwargs.update(_same_draws(info.name, case.input))
            where = f"{info.name} {dtype} {_describe(case)}"
            try:
                want = info.op(case.input, *case.args, **case.kwargs)
            except Exception:  # noqa: BLE001  (torch refuses: not ours to take)
                continue
            l_in, l_args, l_kwargs = (to_tl(v, grad) for v in (case.input, case.args,
                                                                case.kwargs))
            try:
                got = fn(l_in, *l_args, **l_kwargs)
            except Missing:
                raise
            except Exception as e:  # noqa: BLE001
                found.append(f"{where}: raises {type(e).__name__}: {str(e)[:150]}")
                continue
            w, g = leaves(want), leaves(got)
            if info.name == "argsort":  # NOTE: the values it orders: ties may go either way
                dim = case.kwargs.get("dim", case.args[0] if case.args else -1)
                w, g = [_sorted_by(case.input, w[0], dim)], [_sorted_by(case.input, g[0], dim)]
            elif info.name in TIES:
                w, g = w[:1], g[:1]
            problem = compare(w, g)
            if problem is None and grad:
                t_outs = [t for t in w if isinstance(t, torch.Tensor) and t.requires_grad]
                l_outs = [b for a, b in zip(w, g) if isinstance(a, torch.Tensor)
                          and a.requires_grad]
                t_ins = [t for t in leaves((case.input, case.args, list(case.kwargs.values())))
                         if isinstance(t, torch.Tensor) and t.requires_grad]
                l_ins = [t for t in leaves((l_in, l_args, list(l_kwargs.values())))
                         if isinstance(t, tl.Tensor) and t.requires_grad]
                if t_outs and len(t_ins) == len(l_ins):
                    problem = compare_grads(t_outs, t_ins, l_outs, l_ins)
            if problem:
                found.append(f"{where}: {problem}")
    return found


def _same_draws(name: str, x: Any) -> dict:
    """`_random_samples` for a fractional max pool of input `x` (one draw per plane and
    spatial dim), passed to both libraries; no arguments for any other op."""
    nd = FRACTIONAL.get(name)
    if nd is None or not hasattr(x, "shape"):
        return {}
    shape = tuple(x.shape)
    batch = shape[0] if len(shape) == nd + 2 else 1
    return {"_random_samples": _torch().rand(batch, shape[-nd - 1], nd, dtype=x.dtype)}


def _random_sample(info: Any, case: Any) -> bool:
    """Whether a sample draws random numbers (dropout on), which cannot agree with torch's."""
    p = case.kwargs.get("dropout_p", 0)
    if info.name == "nn.functional.multi_head_attention_forward" and case.kwargs.get(
            "training", True):
        p = case.args[9]
    return bool(p)


def _describe(case: Any) -> str:
    torch = _torch()

    def short(v: Any) -> Any:
        return tuple(v.shape) if isinstance(v, torch.Tensor) else v
    args = [short(a) for a in case.args]
    return f"input {short(case.input)} args {args} kwargs {case.kwargs}"[:200]


def audit_module(info: Any, dtypes: Iterable[str] = ("float64", "float32"),
                 samples: int = 8) -> list[str]:
    """Every difference between torch's module and ours on the ModuleInfo's samples: the
    state_dict's keys and shapes, then (with torch's weights loaded) outputs, buffers after
    the forward, and the gradients of inputs and parameters."""
    torch = _torch()
    name = info.module_cls.__name__
    ours = getattr(tl.nn, name, None)
    if ours is None:
        return []
    found = []
    for dtype in dtypes:
        dt = getattr(torch, dtype)
        for training in (True, False):
            try:
                cases = info.module_inputs_func(info, device="cpu", dtype=dt,
                                                requires_grad=True, training=training)
            except Exception:  # noqa: BLE001
                continue
            for case in cases[:samples]:
                if case.forward_input is None:
                    continue
                where = f"{name} {dtype} train={training} {case.constructor_input.args} " \
                        f"{case.constructor_input.kwargs}"[:200]
                problem = _module_case(info, ours, case, dt, training)
                if problem:
                    found.append(f"{where}: {problem}")
    return found


def _module_case(info: Any, ours: type, case: Any, dt: Any, training: bool) -> str | None:
    torch = _torch()
    c_args, c_kwargs = case.constructor_input.args, case.constructor_input.kwargs
    f_args, f_kwargs = case.forward_input.args, case.forward_input.kwargs
    if f_args:
        c_kwargs = {**c_kwargs, **_same_draws(info.module_cls.__name__, f_args[0])}
    try:
        theirs = info.module_cls(*c_args, **c_kwargs).to(dt).train(training)
        state = {k: v.clone() for k, v in theirs.state_dict().items()}
        inputs = [a.detach().clone().requires_grad_(a.requires_grad)
                  if isinstance(a, torch.Tensor) else a for a in f_args]
        want = theirs(*inputs, **f_kwargs)
    except Exception:  # noqa: BLE001
        return None
    try:
        mine = ours(*to_tl(c_args, False), **to_tl(c_kwargs, False))
        mine.to(getattr(tl, str(dt).split(".")[1])).train(training)
    except Exception as e:  # noqa: BLE001
        return f"constructor raises {type(e).__name__}: {str(e)[:150]}"
    keys = set(state) ^ set(mine.state_dict())
    if keys:
        return f"state_dict keys differ: {sorted(keys)}"
    for k, v in mine.state_dict().items():
        if tuple(v.shape) != tuple(state[k].shape):
            return f"{k} has shape {tuple(v.shape)}, torch's {tuple(state[k].shape)}"
    mine.load_state_dict({k: tl.tensor(v.numpy()) for k, v in state.items()})
    l_inputs, l_kwargs = to_tl(inputs, True), to_tl(f_kwargs, True)
    try:
        got = mine(*l_inputs, **l_kwargs)
    except Exception as e:  # noqa: BLE001
        return f"forward raises {type(e).__name__}: {str(e)[:150]}"
    w, g = leaves(want), leaves(got)
    after = theirs.state_dict()
    problem = compare(w, g) or compare(list(after.values()),
                                       [mine.state_dict()[k] for k in after])
    if problem:
        return problem
    t_outs = [t for t in w if isinstance(t, torch.Tensor) and t.requires_grad]
    l_outs = [b for a, b in zip(w, g) if isinstance(a, torch.Tensor) and a.requires_grad]
    if not t_outs:
        return None
    t_ins = [a for a in inputs if isinstance(a, torch.Tensor) and a.requires_grad]
    l_ins = [a for a in l_inputs if isinstance(a, tl.Tensor) and a.requires_grad]
    return compare_grads(t_outs, t_ins + list(theirs.parameters()), l_outs,
                         l_ins + list(mine.parameters()))


def op_db() -> list:
    from torch.testing._internal.common_methods_invocations import op_db as ops  # noqa: PLC0415
    return ops


def optim_db() -> list:
    from torch.testing._internal.common_optimizers import optim_db as optims  # noqa: PLC0415
    return optims


def audit_optimizer(info: Any, steps: int = 6) -> list[str]:
    """Every difference between torch's optimizer and ours of the same name, over `steps`
    steps on two float64 parameters (a matrix and a vector) of a quadratic, for each of the
    option sets of the OptimizerInfo (those for devices or fused kernels are skipped)."""
    torch = _torch()
    name = info.optim_cls.__name__
    ours, found = getattr(tl.optim, name), []
    rng = np.random.default_rng(0)
    for case in info.optim_inputs_func(device="cpu", dtype=torch.float64):
        kwargs = {k: float(v) if isinstance(v, torch.Tensor) else v
                  for k, v in case.kwargs.items()}
        if any(kwargs.get(k) for k in ("capturable", "fused", "differentiable")):
            continue
        start = [rng.standard_normal(shape) for shape in ((4, 3), (5,))]
        pulls = [[rng.standard_normal(a.shape) for a in start] for _ in range(steps)]
        where = f"{name} {case.desc or kwargs}"
        try:
            theirs_params = [torch.tensor(a, requires_grad=True) for a in start]
            theirs = info.optim_cls(theirs_params, **kwargs)
        except Exception:  # noqa: BLE001  (torch refuses: not ours to take)
            continue
        try:
            ours_params = [tl.tensor(a, requires_grad=True) for a in start]
            _train(torch, theirs, theirs_params, pulls)
            _train(tl, ours(ours_params, **kwargs), ours_params, pulls)
        except Exception as e:  # noqa: BLE001
            found.append(f"{where}: raises {type(e).__name__}: {str(e)[:150]}")
            continue
        # NOTE: LBFGS's curvature pairs (1/ro up to 6e7 near the optimum) amplify a last-bit
        # difference in a dot product (MKL's summation order, OpenBLAS's) to ~3e-6 over its
        # 45 evaluations; both land within 1e-5 of the optimum
        problem = compare([p.detach() for p in theirs_params], ours_params,
                          rtol=1e-5 if name == "LBFGS" else None)
        if problem:
            found.append(f"{where}: {problem}")
    return found


def _train(lib: Any, opt: Any, params: list, pulls: list) -> None:
    """`len(pulls)` steps on sum(p * pull + p^2), through a closure (LBFGS needs one)."""
    for pull in pulls:
        def closure(pull: list = pull) -> Any:
            opt.zero_grad()
            loss = sum((p * lib.tensor(g)).sum() + (p * p).sum() for p, g in zip(params, pull))
            loss.backward()
            return loss
        opt.step(closure)


def module_db() -> list:
    from torch.testing._internal.common_modules import module_db as modules  # noqa: PLC0415
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", nargs="?", choices=("ops", "modules", "optims", "all"),
                        default="all")
    parser.add_argument("names", nargs="*", help="only these ops or modules")
    parser.add_argument("--samples", type=int, default=12, help="samples per op and dtype")
    args = parser.parse_args(argv)
    try:
        _torch()
        import expecttest  # noqa: F401, PLC0415
    except ImportError as e:
        print(f"torch_audit needs the parity extra (pip install -e '.[parity]'): {e}")
        return 2
    warnings.filterwarnings("ignore")
    tl.manual_seed(0)
    report: dict = collections.defaultdict(list)
    missing, checked = [], 0
    if args.kind in ("ops", "all"):
        for info in op_db():
            if args.names and info.name not in args.names:
                continue
            if tl_op(info) is None:
                missing.append(info.name)
                continue
            try:
                report[info.name] += audit_op(info, samples=args.samples)
            except Missing:
                missing.append(info.name)
                continue
            checked += 1
    # NOTE: modules and optimizers: (database, its class, our namespace, report prefix, audit)
    classes = {"modules": (module_db, lambda i: i.module_cls, tl.nn, "nn",
                           lambda i: audit_module(i, samples=args.samples)),
               "optims": (optim_db, lambda i: i.optim_cls, tl.optim, "optim", audit_optimizer)}
    for kind, (db, cls_of, namespace, prefix, audit) in classes.items():
        if args.kind not in (kind, "all"):
            continue
        for info in db():
            name = cls_of(info).__name__
            if args.names and name not in args.names:
                continue
            if getattr(namespace, name, None) is None:
                missing.append(f"{prefix}.{name}")
                continue
            checked += 1
            report[f"{prefix}.{name}"] += audit(info)
    differing = {k: v for k, v in report.items() if v}
    for name, problems in sorted(differing.items()):
        print(f"{name}: {len(problems)} sample(s) differ")
        for line in dict.fromkeys(problems):  # NOTE: unique, in order
            print(f"    {line}")
    print(f"\n{checked} checked, {checked - len(differing)} agree on every sample, "
          f"{len(differing)} differ; {len(missing)} not here or not comparable: "
          f"{' '.join(sorted(set(missing)))}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
