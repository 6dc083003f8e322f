"""`TinyJit`: record a function's backend calls once, then replay them without Python's
bookkeeping.

A training step spends most of its small-batch time outside numpy: module calls,
`Function.apply`, tensors, the engine walking the graph (tools/bench.py; the closing notes
profile it). All of it decides the same things on every step. `TinyJit` (tinygrad's name and
idea) runs the function normally, then twice more while it records every call the function
makes into the backend (`backend.active`), and turns that record into one generated Python
function of backend calls (print it with `.source`). Later calls with inputs of the same
shapes and dtypes run that function: the same matmuls, kernels and in-place optimizer
updates, on the new inputs. On the numba backend the recording fuses elementwise chains from
about a thousand elements on, and the replay launches the compiled kernels directly
(`launch(kernel3, ...)` in the source), without building the graph again.

What is replayed, and what is frozen:
- Tensor arguments are the inputs; their arrays are replaced on every call.
- Arrays that exist before the call and are the same objects in both recorded runs
  (parameters, optimizer state) are read and written in place, as the function did.
- Random ops (dropout) draw afresh on every call, from the same generator as eager code.
- An optimizer's options are read from its `param_groups` at every replay (its update
  rule gets the group), so a scheduler's new learning rate is used; a module's and an
  optimizer's `load_state_dict` write into the arrays and dicts that replay holds.
- Everything else the function decides in Python is frozen at recording time: Python
  numbers it reads (a module attribute, a closure's float), `model.train()`/`eval()`,
  `requires_grad_()`, tensors replaced by new objects (`p.data = ...`,
  `load_state_dict(assign=True)`), branches on tensor values, `.item()` inside the
  function. As in tinygrad, keep those outside the jitted function or pass them in as
  tensors, or call `reset()` after changing them. A change during the recorded calls is
  caught (below); one after is not.

The two recorded runs are compared call by call. If the function does not make the same
calls, passes a Python number that changed (a counter kept in Python), reads an array made
outside the backend (so not recorded), or writes one in place outside it (`t[i] = v` under
no_grad), replay would be silently wrong: `TinyJit` warns, naming the call, and runs the
function eagerly from then on. In-place tensor ops (`w -= lr * w.grad` under no_grad,
`zero_()`, a batch norm's running statistics) and optimizer steps are backend calls, and
replay.

Example
-------
>>> @tl.TinyJit
... def step(x, y):
...     opt.zero_grad()
...     loss = F.cross_entropy(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> for x, y in loader:
...     loss = step(x, y)     # calls 1-3 run eagerly (and record), later ones replay
"""
from __future__ import annotations

import contextlib
import functools
import gc
import math
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend as be
from .autograd import _user_line, is_grad_enabled
from .backend import lazy
from .backend.lazy import Lazy
from .tensor import Tensor

# values written into the generated source as they are; anything else is passed in by name
_LITERALS = (bool, int, str, type(None))
_RECORDED_RUNS = 2
# the backend's methods that write their first argument in place
_WRITERS = ("step_in_place", "copy_into", "add_into")
# backend methods that return a view of their array: of a constant (a weight), made once
_VIEWS = ("transpose", "reshape")


class _Recorder:
    """Stands in for the active backend while a run is recorded: every method call goes
    through to the backend and is logged as (name, args, kwargs, result, None), and so is
    every kernel the numba backend launches ("launch", (spec, *leaves), {}, (out, full),
    the node it computed).

    A call made inside another (an optimizer rule's `sgd_update`) is part of it, so it is
    not logged: replaying the outer call makes it again. A pending node passed to a method
    that does not build nodes is computed first, so replay has its value to pass.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._depth = 0
        self._lazy = getattr(backend, "LAZY", frozenset())
        self.calls: list[tuple] = []
        self.lines: dict[int, str] = {}  # a call's index -> the user's line that made it

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if name.startswith("_") or not callable(attr) or self._depth:
            return attr
        realize = self._backend.realize

        def record(*args: Any, **kwargs: Any) -> Any:
            if name not in self._lazy:
                args = _realized(args, realize)
            self._depth += 1
            try:
                out = attr(*args, **kwargs)
            finally:
                self._depth -= 1
            if type(out) is Lazy and out.op != "keep":
                # NOTE: a node that is only built is left out of replay: logged weakly, so
                # the log does not keep it (and the arrays it reads) pending
                self.calls.append((name, (), {}, weakref.ref(out), None))
            else:
                self.calls.append((name, args, kwargs, out, None))
            self.lines[len(self.calls) - 1] = _user_line()
            return out

        return record


def _realized(args: tuple, realize: Callable) -> tuple:
    """`args` with pending nodes computed (also inside lists and tuples)."""
    if not any(type(a) is Lazy or type(a) in (tuple, list) for a in args):
        return args
    return tuple(realize(a) if type(a) is Lazy else
                 type(a)(_realized(tuple(a), realize)) if type(a) in (tuple, list) else a
                 for a in args)


def _record(fn: Callable, args: tuple, kwargs: dict) -> tuple[Any, list, dict]:
    """Run `fn` with every backend call and kernel launch logged (and, on the numba
    backend, elementwise ops fused from a thousand elements on: replay launches the kernels
    without building the graph again); the active backend is restored after."""
    backend = be.active
    recorder = be.active = _Recorder(backend)
    lazy.launches = recorder.calls
    # NOTE: no garbage collection while recording: one that ran in one run only would free
    # tensors (in reference cycles) that the other run leaves for `_compute_pending` to find
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _mode_of(backend)():
            out = fn(*args, **kwargs)
            _compute_pending(recorder.calls)
            return out, recorder.calls, recorder.lines
    finally:
        be.active = backend
        lazy.launches = None
        if collecting:
            gc.enable()


def _mode_of(backend: Any) -> Callable[[], contextlib.AbstractContextManager]:
    """The backend's mode for recorded and replayed calls (numba: fuse smaller arrays)."""
    return getattr(backend, "jit_mode", contextlib.nullcontext)


def _compute_pending(calls: list) -> None:
    """Compute the pending values this run left in tensors that are still alive (what it
    returns, a `.grad`), in the order they were made: replay computes and hands them out."""
    made = {id(node): k for k, c in enumerate(calls)
            if type(c[3]) is weakref.ref and (node := c[3]()) is not None}
    left = {}
    for t in _live_tensors():
        for holder in (t, t._grad):
            if holder is not None and id(holder._data) in made:
                left[made[id(holder._data)]] = holder
    for k in sorted(left):
        left[k].numpy()


def _signature(tree: Any) -> Any:
    """What a recording is valid for: each tensor's shape, dtype and requires_grad, each
    Python number or string as it is, any other object by identity (the same module)."""
    if isinstance(tree, Tensor):
        return (tree._data.shape, tree._data.dtype, tree._requires_grad)
    if isinstance(tree, (tuple, list)):
        return tuple(_signature(v) for v in tree)
    if isinstance(tree, dict):
        return tuple((k, _signature(v)) for k, v in tree.items())
    return tree if isinstance(tree, _LITERALS + (float,)) else _Same(tree)


class _Same:
    """An object in a signature, by identity but held weakly: a recording neither keeps a
    model alive nor matches a new object that was given a dead one's id (a jitted method
    then replayed the dead instance's weights)."""

    __slots__ = ("id", "ref")

    def __init__(self, obj: Any) -> None:
        self.id = id(obj)
        try:
            self.ref: Any = weakref.ref(obj)
        except TypeError:  # NOTE: an object without weak references is held as it is
            self.ref = lambda: obj

    def __hash__(self) -> int:
        return self.id

    def __eq__(self, other: Any) -> bool:
        obj = self.ref()
        return isinstance(other, _Same) and obj is not None and obj is other.ref()


def _alive(signature: Any) -> bool:
    """Whether every object a signature names still exists."""
    if isinstance(signature, _Same):
        return signature.ref() is not None
    return not isinstance(signature, tuple) or all(map(_alive, signature))


def _live_tensors() -> list[Tensor]:
    """Every tensor (and Parameter) alive in the process: what a recorded run left behind."""
    # NOTE: type(), not isinstance(): isinstance asks a dead weakref.proxy for its class
    return [t for t in gc.get_objects() if issubclass(type(t), Tensor)]


def _flat_tensors(tree: Any) -> list[Tensor]:
    """The tensors in nested tuples, lists and dicts, in order."""
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, (tuple, list)):
        return [t for v in tree for t in _flat_tensors(v)]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in _flat_tensors(v)]
    return []


class _Refused(Exception):
    """The two recorded runs differ where replay would freeze something."""


class _Plan:
    """The generated replay of two recorded runs that made the same calls.

    Every value is named after the call that made it (`v7`), an input (`x0`), or, for what
    both runs passed alike, written as a literal or kept as a constant (`k3`: a parameter's
    array, a dtype). Anything else refuses, naming the call.
    """

    def __init__(self, runs: list[tuple], backend: Any) -> None:
        (calls, inputs, returned, out, _, made_at), (calls_b, inputs_b, returned_b, out_b,
                                                     had_grad, _) = runs
        # NOTE: the structure, not the tensors: they hold a graph
        self.returned = _returned(returned, lambda t: Tensor)
        self.mode = _mode_of(backend)
        self.constants: dict[str, Any] = {"b": backend, "launch": lazy.launch}
        # NOTE: ids are unique while the recorded calls hold every value alive; a value is
        # named after the latest call that returned it (realize returns its argument)
        names = ({id(t._data): f"x{i}" for i, t in enumerate(inputs)},
                 {id(t._data): f"x{i}" for i, t in enumerate(inputs_b)})
        if [c[0] for c in calls] != [c[0] for c in calls_b]:
            raise _Refused("made different backend calls in two runs with inputs of the same "
                           "shapes (a Python branch on tensor values?)")
        _check_writes(calls, made_at)
        lines = []
        for k, ((op, args, kwargs, result, root), (_, args_b, kwargs_b, result_b, root_b)) \
                in enumerate(zip(calls, calls_b)):
            target = "launch" if op == "launch" else f"b.{op}"
            where = _where(k, target, made_at)
            skip = _made_elsewhere(op, args, result, names[0])
            if skip != _made_elsewhere(op, args_b, result_b, names[1]):
                raise _Refused(f"{where} computed its value in one run only")
            if skip:
                continue
            if kwargs.keys() != kwargs_b.keys() or len(args) != len(args_b):
                raise _Refused(f"{where} was passed other arguments in each run")
            if op in _VIEWS and args[0] is args_b[0] and not _reads_a_value(args, names[0]) \
                    and not kwargs and _same_value(args[1], args_b[1]) \
                    and np.may_share_memory(result_b, args_b[0]):
                # NOTE: `W.T` of a weight: the same memory every call, so made once, here (a
                # reshape that had to copy is not: it would miss the optimizer's steps)
                name = self._constant(result_b)
                names[0][id(result)] = names[1][id(result_b)] = name
                continue
            params, first = [], 0
            if op == "launch":  # NOTE: a kernel and its layout, by one name: `kernel3`
                if not _same_value(args[0], args_b[0]):
                    raise _Refused(f"{where} ran another kernel in each run")
                params, first = [self._constant(args[0], "kernel")], 1
            params += [self._name(a, a_b, names, where)
                       for a, a_b in zip(args[first:], args_b[first:])]
            params += [f"{key}="
                       + self._name(kwargs[key], kwargs_b[key], names, f"{where[:-1]}, {key}=)")
                       for key in kwargs]
            lines.append(f"    v{k} = {target}({', '.join(params)})")
            _name_result(names[0], result, f"v{k}", root)
            _name_result(names[1], result_b, f"v{k}", root_b)
        output = self._name(out, out_b, names, "the returned value")
        kept = self._find_left_behind(names[1], inputs_b, returned_b, had_grad)
        self.source = "\n".join([
            f"def replay({', '.join(f'x{i}' for i in range(len(inputs)))}):", *lines,
            f"    return {output}, ({''.join(v + ', ' for v in kept)})"])
        namespace = dict(self.constants)
        exec(compile(self.source, "<TinyJit>", "exec"), namespace)  # noqa: S102
        self.replay = namespace["replay"]

    def _find_left_behind(self, names: dict, inputs: list[Tensor], returned: Any,
                          had_grad: set) -> list[str]:
        """What run 2 left in tensors that are still alive, which a replay leaves too; the
        names of those values (the replay returns them beside its result).

        `grads`: the `.grad` that backward gave (a fresh tensor each replay; at an input's
        position, to the caller's input of that call). `escaped`: any other tensor holding
        a value the run computed (pointed at the replay's value). Not the returned tensors:
        each replay makes them anew. `cleared`: the owners whose `.grad` was None when run 2
        began, so cleared by the caller: with one left in place the eager call would add to
        it, which replay cannot (`fits`).
        """
        live = _live_tensors()
        position = {id(t): i for i, t in enumerate(inputs)}
        grads = [(position.get(id(t), t), names[id(t._grad._data)], id(t) not in had_grad)
                 for t in live if t._grad is not None and id(t._grad._data) in names]
        own = {id(t) for t in _flat_tensors(returned) + inputs}
        own.update(id(t._grad) for t in live if t._grad is not None)
        escaped = [(t, names[id(t._data)]) for t in live
                   if id(t._data) in names and id(t) not in own]
        kept = list(dict.fromkeys([v for _, v in escaped] + [v for _, v, _ in grads]))
        self.escaped = [(t, kept.index(v)) for t, v in escaped]
        self.grads = [(owner, kept.index(v)) for owner, v, _ in grads]
        self.cleared = [owner for owner, _, was_none in grads if was_none]
        return kept

    def _name(self, a: Any, b: Any, names: tuple[dict, dict], where: str) -> str:
        """`a` (run 1) and `b` (run 2), one argument, as an expression of the source."""
        if id(a) in names[0] or id(b) in names[1]:
            if names[0].get(id(a)) != names[1].get(id(b)):
                raise _Refused(f"{where} reads a different value in each run")
            return names[0][id(a)]
        if type(a) in (tuple, list) and type(b) is type(a) and len(a) == len(b):
            items = [self._name(u, v, names, where) for u, v in zip(a, b)]
            if type(a) is list:
                return f"[{', '.join(items)}]"
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if a is b or _same_value(a, b):
            if type(a) in _LITERALS or type(a) is float and math.isfinite(a):
                return repr(a)
            return self._constant(a)
        if isinstance(a, np.ndarray) and a.ndim == 0:
            a, b = a.item(), b.item()  # NOTE: a Python scalar that changed: said as such
        elif isinstance(a, np.ndarray) or type(a) is Lazy:
            raise _Refused(f"{where} reads an array made outside the backend, which replay "
                           "would freeze (e.g. numpy data turned into a tensor inside the "
                           "function: pass it in as an argument)")
        raise _Refused(f"{where} was passed {a!r}, then {b!r}: replay would freeze a Python "
                       "value that changes between calls (pass it in as a tensor)")

    def fits(self, inputs: list[Tensor]) -> bool:
        """Whether replay does what the eager call would: no `.grad` to add to is left where
        the recorded call found none."""
        return not any((inputs[o] if type(o) is int else o)._grad is not None
                       for o in self.cleared)

    def _constant(self, value: Any, prefix: str = "k") -> str:
        """The name of `value` in the generated source (the same object, the same name)."""
        key = next((k for k, v in self.constants.items() if v is value), None)
        if key is None:
            key = f"{prefix}{sum(k.rstrip('0123456789') == prefix for k in self.constants)}"
            self.constants[key] = value
        return key

    def __call__(self, inputs: list[Tensor]) -> Any:
        with self.mode():
            out, kept = self.replay(*[t._data for t in inputs])
        for t, k in self.escaped:
            t._data = kept[k]
        for owner, k in self.grads:
            (inputs[owner] if type(owner) is int else owner)._grad = Tensor._wrap(kept[k])
        return _rewrap(self.returned, out)


def _where(k: int, target: str, made_at: dict) -> str:
    """How a refusal names call `k`: its place in the run and the user's line that made it
    (a call inside the library points at the user's line that led there)."""
    line = made_at.get(k)
    return f"call {k} ({target})" + (f", made at {line}," if line else "")


def _check_writes(calls: list, made_at: dict) -> None:
    """Refuse a run that writes an array in place outside the backend: replay would skip it.

    Code about to write an array in place announces it (`before_write`, for the numba
    backend's pending reads); the write must then be one of the backend's own in-place
    methods (an optimizer's step), which replay runs again.
    """
    announced = target = None
    for k, (op, args, *_) in enumerate(calls + [("end", (None,))]):
        if announced is not None and (op == "before_write" or op == "end"):
            raise _Refused(
                f"{_where(announced, 'b.before_write', made_at)} announces an in-place write "
                "that runs outside the backend, which replay would skip (an assignment into a "
                "slice under no_grad, `t[i] = v`; LBFGS)")
        if op == "before_write":
            announced, target = k, args[0]
        elif op in _WRITERS and args[0] is target:
            announced = None


def _made_elsewhere(op: str, args: tuple, result: Any, names: dict) -> bool:
    """Whether replay can leave a recorded call out: it only built a pending node (logged
    weakly; the kernel launched for it later is replayed instead), what it returned is
    already named (a pending node's value, an input that `realize` returned), or it is
    `realize` giving back the array it was passed (a parameter's, before the optimizer
    writes it). A dropout mask's node stays: making it draws the random numbers that its
    kernels read."""
    if type(result) is weakref.ref or op == "realize" and result is args[0]:
        return True
    return type(result) is not Lazy and result is not None and id(result) in names


def _reads_a_value(args: Any, names: dict) -> bool:
    """Whether `args` hold an array that a call of this run made, or an input."""
    return any(id(a) in names or type(a) is Lazy
               or type(a) in (tuple, list) and _reads_a_value(a, names) for a in args)


def _name_result(names: dict, value: Any, name: str, node: Lazy | None = None) -> None:
    """Let later calls refer to `value` (and to the arrays in a returned list) by `name`;
    `node`, the pending node a launch computed, then stands for its value too."""
    if isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            _name_result(names, v, f"{name}[{i}]")
    elif type(value) is Lazy:  # NOTE: a dropout mask: its kernels read its random seeds
        names[id(value)] = name
        for i, s in enumerate(value.srcs):
            names[id(s)] = f"{name}.srcs[{i}]"
    elif isinstance(value, np.ndarray | np.generic):
        names[id(value)] = name  # NOTE: not None or Python numbers: those are shared objects
    if node is not None and id(node.value) in names:
        names[id(node)] = names[id(node.value)]


def _same_value(a: Any, b: Any) -> bool:
    """Whether two recorded arguments are the same constant: equal Python values, or equal
    0-d arrays (the `2.0` of `x * 2.0` becomes one, made afresh by every call)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.ndim == 0 and b.ndim == 0 and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _rewrap(structure: Any, values: Any) -> Any:
    """The returned structure (`Tensor` marking each tensor) with fresh tensors around the
    replayed arrays."""
    if structure is Tensor:
        return Tensor._wrap(values)
    if isinstance(structure, (tuple, list)):
        return type(structure)(_rewrap(t, v) for t, v in zip(structure, values))
    return structure


class TinyJit:
    """Record `fn`'s backend calls and replay them on later calls (see the module's text).

    `fn` takes tensors (in any nesting of tuples, lists and dicts; other arguments too) and
    returns a tensor, a tuple or list of tensors, or None. Each new signature (the tensors'
    shapes, dtypes and requires_grad, the values of number and string arguments, the
    backend, grad mode) runs eagerly once, then is recorded twice, then replays. A function
    that cannot be replayed warns once, with the reason, and runs eagerly from then on.
    `reset()` forgets the recordings. Record from one thread at a time: while a run is
    recorded, the backend that every thread calls is the recorder.
    """

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self._runs: dict[tuple, list] = {}  # signature -> the runs recorded so far
        self._plans: dict[tuple, _Plan | None] = {}  # None: refused, runs eagerly
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and all(type(a) is Tensor for a in args):  # NOTE: the common case, fast
            inputs = list(args)
            signature = tuple([(a._data.shape, a._data.dtype, a._requires_grad) for a in args])
        else:
            inputs, signature = _flat_tensors((args, kwargs)), _signature((args, kwargs))
        backend = be.active
        # NOTE: the numba backend's size thresholds decide which calls a run makes (a kernel
        # or numpy's), so each setting of them has its own plan
        key = (backend.name, getattr(backend, "small", None), getattr(backend, "jit_small", None),
               is_grad_enabled(), signature)
        if key in self._plans:
            plan = self._plans[key]
            if plan is not None and plan.fits(inputs):
                return plan(inputs)
            return self.fn(*args, **kwargs)
        if key not in self._runs:  # NOTE: the first call makes the state (optimizer buffers)
            self._plans = {k: v for k, v in self._plans.items() if _alive(k)}
            self._runs[key] = []
            out = self.fn(*args, **kwargs)
            _tree_data(out)  # NOTE: refuses a non-tensor result before anything is recorded
            return out
        had_grad = {id(t) for t in _live_tensors() if t._grad is not None}
        out, calls, lines = _record(self.fn, args, kwargs)
        runs = self._runs[key]
        # NOTE: the arrays now: Tensor.numpy() may swap a scalar result for an array later
        runs.append((calls, inputs, out, _tree_data(out), had_grad, lines))
        if len(runs) == _RECORDED_RUNS:
            del self._runs[key]
            try:
                self._plans[key] = _Plan(runs, backend)
            except _Refused as why:
                self._plans[key] = None
                warnings.warn(f"TinyJit: {getattr(self.fn, '__name__', 'the function')} "
                              f"cannot be replayed: {why}; it runs eagerly from now on",
                              stacklevel=2)
        return out

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """As a method's decorator: bound to the instance, which the signature then holds (by
        identity: each object records its own replay)."""
        return self if obj is None else functools.partial(self, obj)

    def reset(self) -> None:
        """Forget every recording: the next calls run eagerly and record afresh. Call it
        after changing what replay froze (a learning rate, `model.eval()`)."""
        self._runs.clear()
        self._plans.clear()

    @property
    def source(self) -> str:
        """The generated replay of the most recent signature ('' before one is recorded)."""
        plans = [p for p in self._plans.values() if p is not None]
        return plans[-1].source if plans else ""


def _returned(tree: Any, leaf: Callable[[Tensor], Any]) -> Any:
    """What a function returned, with `leaf(t)` in place of each tensor t (its array, or
    the class `Tensor` as a marker); anything but tensors in tuples or lists, or None, is
    refused."""
    if isinstance(tree, Tensor):
        return leaf(tree)
    if isinstance(tree, (tuple, list)):
        return type(tree)(_returned(t, leaf) for t in tree)
    if tree is None:
        return None
    raise TypeError(f"TinyJit: the function returned {type(tree).__name__}; a jitted "
                    "function returns tensors (in tuples or lists) or None")


def _tree_data(tree: Any) -> Any:
    """The returned arrays, in the returned structure (what replay returns)."""
    return _returned(tree, lambda t: t._data)
