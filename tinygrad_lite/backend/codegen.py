"""Kernel source generation and the kernel cache (in memory and on disk).

A kernel is described completely by its key (built in `lazy.py`):

    (mode, reduced, leaves, nodes)
    mode     None for an elementwise kernel, or (kind, where): kind "sum" | "max" | "min",
             where "last" (reduced loops innermost) or "first" (reduced loops outermost; the
             kernel also stores the unreduced values in `full`: that is the bias gradient's
             sum, and the same gradient goes on to a matmul)
    reduced  one bool per loop: is the loop reduced
    leaves   per input: (dtype, real) for an array, `real` saying which loops index it
             (False = broadcast along that loop); (dtype,) for a scalar
    nodes    per op in topological order: (op, dtype, ctype, refs, real); refs >= 0 name
             earlier nodes, ~j names leaf j; `real` is only used by the random "keep" op

so `source(key)` is a pure function and the key is all the caches need. numba's cache=True
wants a real file, so each kernel's source is written once into the cache folder (named by a
hash of the source) and imported from there; numba stores the machine code beside it and a
later process loads it instead of compiling (skipping numba's context refresh: `_warm_cache`).
An unwritable folder falls back to kernels kept in memory only, with one warning.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

# --- source ---------------------------------------------------------------------------------
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

# op -> template; {a} {b} {c} are the operands (already cast to the op's ctype), {zero} {one}
# {m1} typed constants, {t} the ctype's numpy name
_TEMPLATES = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}",
    "pow": "{t}({a} ** {b})", "neg": "-{a}", "abs": "abs({a})", "sqrt": "np.sqrt({a})",
    "sign": "{one} if {a} > {zero} else ({m1} if {a} < {zero} else {a} - {a})",
    # NOTE: `or a != a` lets nan through, as np.maximum / np.minimum do
    "maximum": "{a} if {a} >= {b} or {a} != {a} else {b}",
    "minimum": "{a} if {a} <= {b} or {a} != {a} else {b}",
    "relu": "{a} if {a} > {zero} or {a} != {a} else {zero}",
    "relu_backward": "{b} if {a} != 0 else {zero}",  # {a} is relu's output: > 0, 0 or nan
    "sigmoid_backward": "{b} * {a} * ({one} - {a})",
    "tanh_backward": "{b} * ({one} - {a} * {a})",
    "where": "{b} if {a} else {c}",
    "eq": "{a} == {b}", "ne": "{a} != {b}", "lt": "{a} < {b}", "le": "{a} <= {b}",
    "gt": "{a} > {b}", "ge": "{a} >= {b}",
    "dropout_apply": "{a} * {b} * {c}",
    # NOTE: libm's double erf, as the numpy backend's math.erf per element, so results agree
    "erf": "{t}(math.erf(np.float64({a})))", "erfc": "{t}(math.erfc(np.float64({a})))",
}
_TRANSCENDENTAL = {  # float32 -> vectorisable helpers; float64 -> libm, exactly as numpy
    "exp": ("exp_f32", "math.exp"), "log": ("log_f32", "math.log"),
    "tanh": ("tanh_f32", "math.tanh"), "sigmoid": ("sigmoid_f32", "sigmoid_f64"),
}
_LIBM = ("sqrt", "pow", "erf", "erfc")  # ops that call libm in every dtype
_BOOL_TEMPLATES = {"add": "{a} or {b}", "mul": "{a} and {b}", "maximum": "{a} or {b}",
                   "minimum": "{a} and {b}"}
# the operands an op takes as they are, not cast to its ctype
_UNCAST = {"relu_backward": (0,), "where": (0,), "keep": (0, 1, 2)}


def _reassociable(nodes: tuple) -> bool:
    """Whether a sum kernel may have fastmath's reassoc, which lets LLVM vectorise the sum:
    not with a libm call in it, which reassoc also lets LLVM simplify (a float64
    log(exp(x)) became x, hiding exp's overflow to inf; sqrt(x * x) would become |x|)."""
    return not any(op in _LIBM or op in _TRANSCENDENTAL and np.dtype(ct) != _F32
                   for op, _, ct, _, _ in nodes)


def _np_name(dt: np.dtype) -> str:
    return "np.bool_" if dt.kind == "b" else f"np.{dt.name}"


def supported(op: str, ctype: np.dtype, dtypes: tuple) -> bool:
    """Whether a kernel can compute `op` in `ctype` from operands of `dtypes`."""
    if any(dt.kind not in "biuf" or dt.kind == "f" and dt.itemsize < 4
           for dt in dtypes + (ctype,)):
        return False  # float16, complex, strings: numba has no (exact) arithmetic for them
    if ctype.kind == "b":
        return op in _BOOL_TEMPLATES or op in ("eq", "ne", "lt", "le", "gt", "ge", "where",
                                               "cast", "keep")
    if op in _TRANSCENDENTAL or op in _LIBM and op != "pow":
        return ctype.kind == "f"
    return op != "pow" or ctype.kind == "f"  # NOTE: int ** negative int raises in numpy


def _converted(name: str, src: np.dtype, dst: np.dtype) -> str:
    """`name`, of dtype `src`, as a `dst`. From a bool, a select: `np.float32(keep)` kept the
    dropout kernels from vectorising fully (2048x256: 0.31 ms, 0.28 ms as a select)."""
    if dst.kind == "b":
        return f"{name} != 0"
    if src.kind == "b":
        return f"({_np_name(dst)}(1) if {name} else {_np_name(dst)}(0))"
    return f"{_np_name(dst)}({name})"


def _expr(op: str, args: list, ctype: np.dtype, dtype: np.dtype, lin: str) -> str:
    t = _np_name(ctype)
    if op == "cast":
        return args[0]  # NOTE: converted as an operand (`_converted`)
    if op == "keep":
        return f"keep_bit({args[0]}, {args[1]}, {args[2]}, np.uint32({lin}))"
    if op in _TRANSCENDENTAL:
        return f"{_TRANSCENDENTAL[op][ctype != _F32]}({args[0]})"
    template = _BOOL_TEMPLATES.get(op, _TEMPLATES.get(op)) if ctype.kind == "b" \
        else _TEMPLATES[op]
    names = dict(zip("abc", args), t=t, zero=f"{t}(0)", one=f"{t}(1)", m1=f"{t}(-1)")
    text = template.format(**names)
    if ctype.kind in "iu" and ctype.itemsize < 8 and dtype == ctype:
        text = f"{t}({text})"  # NOTE: numba widens small ints; numpy wraps them around
    return text


def source(key: tuple) -> str:
    """The Python source of the kernel described by `key` (see the module docstring)."""
    mode, reduced, leaves, nodes = key
    n_loops = len(reduced)
    loops = [f"i{g}" for g in range(n_loops)]
    params = [f"n{g}" for g in range(n_loops)] + ["out"]
    if mode is not None and mode[1] == "first":
        params.append("full")
    params += [f"x{j}" if len(spec) == 2 else f"s{j}" for j, spec in enumerate(leaves)]

    def index(real: tuple, only: tuple | None = None) -> str:
        picks = [loops[g] if real[g] else "0" for g in range(n_loops)
                 if only is None or only[g]]
        return ", ".join(picks) if picks else "0"

    def linear(real: tuple) -> str:
        text = ""
        for g in range(n_loops):
            if real[g]:
                text = loops[g] if not text else f"({text}) * n{g} + {loops[g]}"
        return text or "0"

    body, dtypes, names = [], [], []
    for j, spec in enumerate(leaves):
        dtypes.append(np.dtype(spec[0]))
        if len(spec) == 2:
            body.append(f"l{j} = x{j}[{index(spec[1])}]")
            names.append(f"l{j}")
        else:
            names.append(f"s{j}")
    node_dtypes = []
    for k, (op, dt, ct, refs, real) in enumerate(nodes):
        dt, ct = np.dtype(dt), np.dtype(ct)
        args = []
        for pos, r in enumerate(refs):
            name, src_dt = (f"v{r}", node_dtypes[r]) if r >= 0 else (names[~r], dtypes[~r])
            if op == "cast":
                name = _converted(name, src_dt, dt)
            elif src_dt != ct and pos not in _UNCAST.get(op, ()):
                name = _converted(name, src_dt, ct)
            args.append(name)
        lin = linear(real) if op == "keep" else ""
        body.append(f"v{k} = {_expr(op, args, ct, dt, lin)}")
        node_dtypes.append(dt)
    result = f"v{len(nodes) - 1}"
    out_dt = node_dtypes[-1]

    flags = '{"contract"}'
    lines = []
    if mode is None:
        order = list(range(n_loops))
        tail = [f"out[{index((True,) * n_loops)}] = {result}"]
        head_init, after = [], []
    else:
        kind, where = mode
        keep = tuple(not r for r in reduced)
        red = [g for g in range(n_loops) if reduced[g]]
        kept = [g for g in range(n_loops) if not reduced[g]]
        if kind == "sum":
            acc_init = "0.0" if out_dt.kind == "f" else "0"  # float32 sums add in float64
            combine = f"acc += {result}"
        else:
            acc_init = (f"{_np_name(out_dt)}({'-' if kind == 'max' else ''}np.inf)"
                        if out_dt.kind == "f" else
                        str(np.iinfo(out_dt).min if kind == "max" else np.iinfo(out_dt).max))
            cmp = ">" if kind == "max" else "<"
            combine = f"acc = {result} if {result} {cmp} acc or {result} != {result} else acc"
        if where == "last":
            order = kept + red
            if kind == "sum" and _reassociable(nodes):
                flags = '{"contract", "reassoc"}'  # NOTE: lets LLVM vectorise the sum
            head_init = [(len(kept), f"acc = {acc_init}")]
            tail = [combine]
            after = [(len(kept), f"out[{index(keep, keep)}] = acc")]
        else:  # "first": reduced loops outside, out (zeroed by the caller) accumulates
            order = red + kept
            head_init, after = [], []
            tail = [f"full[{index((True,) * n_loops)}] = {result}",
                    f"out[{index(keep, keep)}] += {result}"]

    for depth, g in enumerate(order):
        for d, text in head_init:
            if d == depth:
                lines.append("    " * (depth + 1) + text)
        lines.append("    " * (depth + 1) + f"for {loops[g]} in range(n{g}):")
    for d, text in head_init:
        if d == len(order):
            lines.append("    " * (d + 1) + text)
    pad = "    " * (len(order) + 1)
    lines += [pad + text for text in body + tail]
    for d, text in after:
        lines.append("    " * (d + 1) + text)

    ops = ", ".join(n[0] for n in nodes)
    what = "elementwise" if mode is None else f"{mode[0]} over the {mode[1]} loops"
    header = [
        f"# tinygrad_lite fused kernel ({what}): {ops}",
        "# generated by tinygrad_lite/backend/codegen.py; numba caches its machine code in",
        "# __pycache__ beside this file",
        "import math",
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from tinygrad_lite.backend.vecmath import (exp_f32, keep_bit, log_f32, sigmoid_f32,",
        "                                           sigmoid_f64, tanh_f32)",
        "",
        "",
        f'@njit(cache=True, nogil=True, error_model="numpy", fastmath={flags})',
        f"def kernel({', '.join(params)}):",
    ]
    return "\n".join(header + lines) + "\n"


# --- the cache --------------------------------------------------------------------------------
_kernels: dict[tuple, Any] = {}
_hits: dict[int, int] = {}
_stats = {"compiled": 0, "loaded_from_disk": 0, "compile_seconds": 0.0, "calls": 0}
_UNSET = object()
_folder: Any = _UNSET


def _version_tag() -> str:
    """Names the cache subfolder: a new numba or a change to the generator starts afresh."""
    import numba

    here = Path(__file__).parent
    h = hashlib.sha1()
    for name in ("codegen.py", "vecmath.py"):
        h.update((here / name).read_bytes())
    h.update(f"{numba.__version__} {np.__version__} {platform.python_version()} "
             f"{platform.machine()}".encode())
    return h.hexdigest()[:12]


def default_cache_dir() -> Path:
    """`$TINYGRAD_LITE_CACHE`, else `~/.cache/tinygrad_lite/kernels` (XDG_CACHE_HOME honoured)."""
    if os.environ.get("TINYGRAD_LITE_CACHE"):
        return Path(os.environ["TINYGRAD_LITE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinygrad_lite" / "kernels"


def cache_folder() -> Path | None:
    """The folder kernels are written to, or None when it cannot be written (memory only)."""
    global _folder
    if _folder is _UNSET:
        path = default_cache_dir() / _version_tag()
        try:
            (path / "__pycache__").mkdir(parents=True, exist_ok=True)
            for where in (path, path / "__pycache__"):
                with tempfile.TemporaryFile(dir=where):
                    pass
            _folder = path
        except OSError as e:
            warnings.warn(f"tinygrad_lite: cannot write the kernel cache {path} ({e}); "
                          "kernels are compiled in memory only, so every new process "
                          "compiles them again. Set TINYGRAD_LITE_CACHE to a writable folder.",
                          RuntimeWarning, stacklevel=2)
            _folder = None
    return _folder


def load(src: str) -> Any:
    """The module that the Python source `src` defines, loaded through the cache folder (or
    only in memory when the folder cannot be written), so numba caches its machine code
    there: `TINYGRAD_LITE_CACHE` holds every compiled kernel of the backend."""
    digest = hashlib.sha1(src.encode()).hexdigest()[:20]
    name = f"tinygrad_lite_kernel_{digest}"
    folder = cache_folder()
    if folder is None:
        module = ModuleType(name)
        exec(compile(src.replace("cache=True", "cache=False"), f"<kernel {digest}>", "exec"),
             module.__dict__)
        return module
    path = folder / f"k_{digest}.py"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(src)
        os.replace(tmp, path)  # NOTE: atomic, so a concurrent process never reads half a file
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # NOTE: numba finds a cached kernel's globals by importing its module by name
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _load_without_refresh(module)
    return module


def _load_without_refresh(module: ModuleType) -> None:
    """Give the module's cached numba functions a disk cache that loads machine code without
    refreshing numba's contexts (see `_warm_cache`)."""
    from numba.core.caching import FunctionCache
    from numba.core.dispatcher import Dispatcher

    for value in vars(module).values():
        # NOTE: getattr: a numba whose internals moved keeps its own (slower) cache
        if isinstance(value, Dispatcher) and type(getattr(value, "_cache", None)) is FunctionCache:
            value._cache = _warm_cache()(value.py_func)


@functools.cache
def _warm_cache() -> type:
    """numba's disk cache, minus the context refresh before a load.

    numba's `Cache.load_overload` first runs `target_context.refresh()`, which imports every
    lowering registry numba has (arrays, linalg, random, typed containers, ...; linalg imports
    scipy.linalg for its BLAS check): ~0.3 s of a new process's first kernel. Installing
    cached machine code needs only numba's runtime (NRT) symbols; a compile still refreshes
    both contexts itself (`CompilerBase.__init__`), so nothing goes missing.
    """
    from numba.core.caching import FunctionCache
    from numba.core.runtime import rtsys

    class WarmCache(FunctionCache):
        def load_overload(self, sig: Any, target_context: Any) -> Any:
            if not hasattr(self, "_load_overload"):
                return super().load_overload(sig, target_context)
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)

    return WarmCache


def kernel(key: tuple) -> Any:
    """The compiled-on-first-call numba function for `key`."""
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = load(source(key)).kernel
    return k


def call(k: Any, args: list) -> Any:
    """Run kernel `k`, counting whether numba compiled it or loaded it from disk."""
    _stats["calls"] += 1
    before = len(k.overloads)
    start = time.perf_counter()
    out = k(*args)
    if len(k.overloads) != before:  # a new signature: numba compiled it or read its cache
        hits = sum(k.stats.cache_hits.values())
        if hits > _hits.get(id(k), 0):
            _stats["loaded_from_disk"] += 1
        else:
            _stats["compiled"] += 1
            _stats["compile_seconds"] += time.perf_counter() - start
        _hits[id(k)] = hits
    return out


def stats() -> dict:
    """Counters: kernels compiled and loaded from disk in this process, calls, cache folder."""
    folder = None if _folder is _UNSET else _folder
    return dict(_stats, kernels_in_memory=len(_kernels),
                cache_folder=str(folder) if folder else None)

