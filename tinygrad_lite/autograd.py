"""The autograd engine: Function nodes, grad mode, and the backward pass.

A `Function` subclass is one differentiable primitive. `apply` runs its `forward` on raw
arrays and, only when grad mode is on and an input requires grad, records the node on the
output tensor. `backward` runs the recorded nodes in reverse creation order (a topological
order, taken from a heap without recursion, so a 100,000-op chain is fine), reduces every
gradient to its input's shape in one place (`unbroadcast`), and frees each node's saved arrays
as soon as it has been used.
"""
from __future__ import annotations

import abc
import contextlib
import functools
import inspect
import itertools
import os
import sys
import threading
import weakref
from heapq import heappop, heappush
from typing import Any, Callable

import numpy as np

from . import backend as be
from .backend import graph_backend


# --- grad mode and anomaly mode (thread-local) -------------------------------------------------
class _Mode(threading.local):
    enabled = True  # class defaults, so every new thread starts with grad on, anomaly off
    anomaly = False
    check_nan = True  # with anomaly: also stop at a NaN gradient (else only record lines)


_mode = _Mode()


def is_grad_enabled() -> bool:
    """Whether ops in this thread record a graph."""
    return _mode.enabled


class _SetMode:
    """Context manager and decorator that sets one mode and restores the previous value."""

    attr: str
    value: bool

    def __new__(cls, fn: Callable | None = None) -> Any:
        """`@tl.no_grad` without parentheses decorates `fn` directly, as in PyTorch."""
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __enter__(self) -> None:
        self._prev = getattr(_mode, self.attr)
        setattr(_mode, self.attr, self.value)

    def __exit__(self, *exc: Any) -> None:
        setattr(_mode, self.attr, self._prev)

    def __call__(self, fn: Callable) -> Callable:
        return _in_mode(self.__class__, fn)


def _in_mode(make_mode: Callable[[], Any], fn: Callable) -> Callable:
    """`fn` running inside a fresh `make_mode()`; a generator function's body runs in it each
    time it resumes, and the caller's mode holds between its yields (PyTorch's rule)."""
    if not inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make_mode():
                return fn(*args, **kwargs)
        return wrapper

    @functools.wraps(fn)
    def generator(*args: Any, **kwargs: Any) -> Any:
        gen = fn(*args, **kwargs)
        resume = functools.partial(gen.send, None)
        while True:
            try:
                with make_mode():
                    out = resume()
            except StopIteration as stop:
                return stop.value
            try:
                sent = yield out
            except GeneratorExit:
                with make_mode():
                    gen.close()
                raise
            except BaseException as exc:  # NOTE: thrown in by the caller: passed on inside
                resume = functools.partial(gen.throw, exc)
            else:
                resume = functools.partial(gen.send, sent)
    return generator


class no_grad(_SetMode):
    """Run ops without recording a graph: `with tl.no_grad(): ...` or `@tl.no_grad()`."""

    attr, value = "enabled", False


class enable_grad(_SetMode):
    """Turn recording back on inside a `no_grad` region."""

    attr, value = "enabled", True


class detect_anomaly:  # noqa: N801  (PyTorch's name)
    """Stop a backward at the first gradient that contains NaN, naming the op and the line
    of user code that created it (every op records its line, so this is slow: use it to hunt
    a NaN, then turn it off). As in PyTorch, forward values and infinities are not checked
    (a softmax of a -inf mask is fine); `check_nan=False` only records the lines."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = _mode.anomaly, _mode.check_nan
        set_detect_anomaly(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        set_detect_anomaly(*self._prev)

    def __call__(self, fn: Callable) -> Callable:
        return _in_mode(lambda: detect_anomaly(self.check_nan), fn)


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for this thread (see `detect_anomaly`)."""
    _mode.anomaly, _mode.check_nan = bool(mode), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return _mode.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return _mode.check_nan


class set_grad_enabled:  # noqa: N801  (PyTorch's name)
    """`tl.set_grad_enabled(False)` turns recording off (True: on) at once, as a plain call;
    as a context manager it restores the previous mode on exit; as a decorator it applies
    only while the function runs."""

    def __init__(self, mode: bool) -> None:
        self._prev, self.mode = _mode.enabled, bool(mode)
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        _mode.enabled = self._prev  # NOTE: decorating is not the moment to switch
        return (enable_grad if self.mode else no_grad)(fn)


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _user_line() -> str:
    """The innermost stack frame outside this package: where the user called the op (a walk
    up the frames, not a formatted traceback: TinyJit asks for every call it records)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not os.path.abspath(code.co_filename).startswith(_PACKAGE):
            return f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}'
        frame = frame.f_back
    return "<unknown>"


def _check_nan(grads: tuple, ctx: "Function") -> None:
    """detect_anomaly's check of one node's gradients, in PyTorch's words."""
    for i, g in enumerate(grads):
        if g is not None and np.isnan(be.active.realize(g)).any():
            where = getattr(ctx, "created_at", None) or "<not recorded>"
            raise RuntimeError(f"Function '{ctx.name()}' returned nan values in its {i}th "
                               f"output (detect_anomaly); the op was created at {where}")


# NOTE: tensor.py builds on this module and so sets these names when it is imported (a cycle)
Tensor: Any = None
_wrap: Any = None  # Tensor._wrap

# NOTE: numbers recorded nodes downwards, so the newest comes first off a min-heap (backward)
_creation = itertools.count(0, -1)


# --- the node -----------------------------------------------------------------------------------
class Function(abc.ABC):
    """One differentiable primitive: `forward` on arrays, `backward` beside it.

    `backward(grad)` returns one gradient per tensor input (a tuple, or a single array when
    there is one input), with `None` where `needs_input_grad` is False. Gradients may still
    carry broadcast dimensions; the engine reduces them. `needs_input_grad` is set before
    `forward` runs (all False without grad mode), so forward can save only what it needs.
    """

    __slots__ = ("parents", "saved", "needs_input_grad", "tick", "seq", "created_at",
                 "output_written")
    # NOTE: True where backward reads the forward's output, as PyTorch's node for the op does
    # (exp, relu, softmax, ...): writing that output in place is then an error at backward
    from_output = False
    # NOTE: True for a slice (GetItem), whose `add_into(buf, g)` adds its gradient into its
    # source's gradient so far in place, where the engine holds that buffer (`_add_slice`)
    slices = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass written PyTorch's way (`@staticmethod forward(ctx, ...)` on tensors)
        gets an `apply` that runs it as one node (`_Custom`); ours stay on arrays."""
        super().__init_subclass__(**kwargs)
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            cls.apply = classmethod(_apply_custom)

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved = arrays

    @abc.abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The op on raw backend arrays; `save_for_backward` what backward will need."""

    @abc.abstractmethod
    def backward(self, grad: Any) -> Any:
        """One gradient per tensor input, from the gradient of the output."""

    @property
    def op_name(self) -> str:
        """The op's name ("Mul"), used by the graph drawing and by error messages."""
        return type(self).__name__

    def name(self) -> str:
        """PyTorch's name for this node ("MulBackward0"), as `grad_fn.name()` gives it."""
        return f"{self.op_name}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the graph: a (node, 0) pair per input, the node being the one
        that made it, an `AccumulateGrad` for a leaf that requires grad, or None."""
        return tuple((p._ctx if p._ctx is not None else AccumulateGrad(p)
                      if p._requires_grad else None, 0) for p in self.parents or ())

    @property
    def freed(self) -> bool:
        """True once a backward has passed this node and dropped what it saved."""
        return self.parents is None

    @classmethod
    def apply(cls, *inputs: "Tensor", **kwargs: Any) -> "Tensor":
        ctx = cls()
        mode = _mode
        # NOTE: known before forward runs, so forward saves only what a gradient will read
        # NOTE: list comprehensions: ~0.1 µs an op faster than map() with an attrgetter
        ctx.needs_input_grad = needs = (tuple([t._requires_grad for t in inputs]) if mode.enabled
                                        else (False,) * len(inputs))
        try:
            out = _wrap(ctx.forward(*[t._data for t in inputs], **kwargs))
        except ValueError as e:  # numpy's broadcasting errors, reworded to name the op
            raise RuntimeError(_shape_error(cls.__name__.lower(), inputs, e)) from None
        if mode.anomaly:
            ctx.created_at = _user_line()
        if True in needs:
            ctx.parents = inputs
            ctx.tick = _modified.tick
            ctx.seq = next(_creation)
            out._requires_grad = True
            out._ctx = ctx
        return out


class AccumulateGrad:
    """The node PyTorch shows for a leaf in `next_functions`: where its gradient adds up."""

    __slots__ = ("variable",)
    op_name = "AccumulateGrad"
    next_functions = ()

    def __init__(self, variable: "Tensor") -> None:
        self.variable = variable

    def name(self) -> str:
        return self.op_name

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


# --- PyTorch-style Functions (torch.autograd.Function's API) -----------------------------------
class FunctionCtx:
    """The `ctx` a PyTorch-style Function's forward and backward share: `save_for_backward`
    / `saved_tensors`, `needs_input_grad` (one flag per forward argument), and any attribute
    the forward sets for its backward (`ctx.scale = 2.0`)."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.non_differentiable: list = []

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """These outputs get no gradient (e.g. an argmax returned beside the values)."""
        self.non_differentiable.extend(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch code; backward always receives a gradient tensor here."""


def _apply_custom(cls: type, *args: Any) -> Any:
    """`apply` of a PyTorch-style Function: the tensor arguments become the node's inputs, the
    rest are passed through as they are. Several outputs come out of one node's flat result
    (each a differentiable slice of it); integer outputs and those the forward marked
    non-differentiable come back without a graph."""
    slots = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    box: dict = {}
    out = _Custom.apply(*(args[i] for i in slots), fn=cls, args=args, slots=slots, box=box)
    returned, layout = box["returned"], box["layout"]
    if not isinstance(returned, tuple):
        return out if layout else out.detach()
    result = [t.detach() for t in returned]
    for k, start, stop in layout:
        result[k] = out[start:stop].reshape(returned[k].shape).to(returned[k].dtype)
    return tuple(result)


class _Custom(Function):
    """The node of a PyTorch-style Function subclass: its forward and backward run on tensors
    (under no_grad: they record nothing), this node carries them into the engine."""

    def forward(self, *arrays: Any, fn: type, args: tuple, slots: tuple, box: dict) -> Any:
        needs = dict(zip(slots, self.needs_input_grad))
        ctx = self.user_ctx = FunctionCtx(tuple(needs.get(i, False) for i in range(len(args))))
        self.fn = fn
        with no_grad():
            if hasattr(fn, "setup_context"):  # NOTE: PyTorch's newer style: forward(*args)
                returned = fn.forward(*args)
                fn.setup_context(ctx, args, returned)
            else:
                returned = fn.forward(ctx, *args)
        outs = returned if isinstance(returned, tuple) else (returned,)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{fn.__name__}.forward: returned {type(o).__name__}; a "
                                "Function returns tensors")
        marked = {id(t._data) for t in ctx.non_differentiable}
        differentiable = [k for k, o in enumerate(outs)
                          if o.dtype.kind == "f" and id(o._data) not in marked]
        box["returned"] = returned
        if not isinstance(returned, tuple):  # NOTE: one output is the node's own result
            box["layout"] = bool(differentiable)
            self.save_for_backward(slots, None, outs)
            return returned._data
        # several: their differentiable values end to end in one flat array
        bounds = np.cumsum([0] + [outs[k].numel() for k in differentiable])
        layout = box["layout"] = [(k, int(a), int(b)) for k, a, b
                                  in zip(differentiable, bounds[:-1], bounds[1:])]
        self.save_for_backward(slots, layout, outs)
        if not differentiable:
            return np.zeros(0)
        return np.concatenate([outs[k].numpy().reshape(-1) for k in differentiable])

    def backward(self, grad: Any, record: bool = False, saved: tuple | None = None) -> tuple:
        """The user's backward on tensors: under no_grad, or, with `record` (a backward
        with create_graph=True), with grad mode on and `saved` (`graph_saves`) in place of
        what the forward saved, so its gradients are differentiable."""
        slots, layout, outs = self.saved
        flat = _as_tensor(grad)
        if layout is None:
            grads_out = [flat]
        else:  # NOTE: outputs without a gradient get zeros, as PyTorch materialises them
            grads_out = [_wrap(np.zeros(o.shape, o.dtype)) for o in outs]
            for k, start, stop in layout:
                grads_out[k] = flat[start:stop].reshape(outs[k].shape).to(outs[k].dtype)
        kept = self.user_ctx.saved_tensors
        if saved is not None:
            self.user_ctx.saved_tensors = saved
        try:
            with (enable_grad() if record else no_grad()):
                grads = self.fn.backward(self.user_ctx, *grads_out)
        finally:
            self.user_ctx.saved_tensors = kept
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(self.user_ctx.needs_input_grad):
            raise RuntimeError(f"{self.fn.__name__}.backward: returned {len(grads)} gradients "
                               f"for {len(self.user_ctx.needs_input_grad)} forward arguments "
                               "(return None for an argument without one)")
        return tuple(None if grads[i] is None else
                     (grads[i] if record else grads[i]._data) if isinstance(grads[i], Tensor)
                     else np.asarray(grads[i]) for i in slots)

    def graph_saves(self, out: "Tensor") -> tuple | None:
        """What the user's forward saved, as tensors its backward can run on with grad mode
        on so the gradient records how it depends on them: inputs as they are, an output as
        the node's own `out` (as PyTorch unpacks a saved output); None if it saved an
        intermediate, which made under no_grad would be a wrong constant."""
        _, layout, outs = self.saved
        spans = ({id(outs[0]): None} if layout is None else
                 {id(outs[k]): (k, start, stop) for k, start, stop in layout})
        inputs = {id(p) for p in self.parents}
        saved = []
        for t in self.user_ctx.saved_tensors:
            if id(t) in spans:
                span = spans[id(t)]
                t = out if span is None else out[span[1]:span[2]].reshape(t.shape).to(t.dtype)
            elif isinstance(t, Tensor) and t.dtype.kind == "f" and id(t) not in inputs:
                return None
            saved.append(t)
        return tuple(saved)

    @property
    def op_name(self) -> str:
        return self.fn.__name__

    def name(self) -> str:
        """PyTorch names a custom Function's node without the 0: "MyReluBackward"."""
        return f"{self.op_name}Backward"


def _shape_error(op: str, inputs: tuple, e: ValueError) -> str:
    """What went wrong in a forward that numpy refused, in the same words on every backend."""
    shapes = [t.shape for t in inputs]
    listed = " and ".join(map(str, shapes))
    for d in range(1, max(map(len, shapes), default=0) + 1):
        sizes = list(dict.fromkeys(s[-d] for s in shapes if len(s) >= d and s[-d] != 1))
        if len(sizes) > 1:
            return (f"{op}: shapes {listed} do not broadcast: at dim {-d} the sizes "
                    f"{' and '.join(map(str, sizes))} differ (counting dims from the right, "
                    "sizes must match or be 1); reshape one operand, e.g. with .unsqueeze()")
    return f"{op}: shapes {listed} do not fit: {e}"


# --- in-place detection -------------------------------------------------------------------
class _Modified:
    """A clock of in-place writes: a tensor's `_version` is the tick of its last write, and
    `memory` maps each overwritten buffer (by id) to a weak reference to it and the tick of
    its last write."""

    tick = 0
    memory: dict = {}


_modified = _Modified()


def mark_modified(t: "Tensor") -> None:
    """Record that `t` was written in place, so a node that used it earlier can tell."""
    _modified.tick += 1
    t._version = _modified.tick


def base_array(a: Any) -> Any:
    """The array that owns `a`'s memory, so a view and its base count once (the in-place
    checks here, and the graph drawing and summary of `viz`)."""
    while hasattr(getattr(a, "base", None), "nbytes"):
        a = a.base
    return a


def mark_written(t: "Tensor") -> None:
    """Record that `t`'s memory was overwritten in place (outside grad mode, an optimizer
    step): a node that saved any view of that memory (a slice, `view()`, `detach()`) refuses
    backward, as PyTorch's version counter, shared by views, makes it. Writes through
    `.data` stay hidden, as in PyTorch."""
    mark_modified(t)
    if getattr(t, "_untracked", False):
        return
    owner = base_array(t.numpy())
    key = id(owner)
    entry = _modified.memory.get(key)
    if entry is not None and entry[0]() is owner:  # NOTE: written before (an optimizer's
        _modified.memory[key] = (entry[0], _modified.tick)  # parameter): the same reference
        return
    forget = lambda _: _modified.memory.pop(key, None)  # noqa: E731  (the owner is freed)
    _modified.memory[key] = (weakref.ref(owner, forget), _modified.tick)


def _overwritten_since(saved: Any, tick: int) -> Any:
    """The first array in `saved` whose memory was overwritten after `tick`, else None."""
    for value in saved:
        value = getattr(value, "value", value)  # NOTE: a computed lazy node: its array
        if type(value) is not np.ndarray:
            continue
        owner = base_array(value)
        entry = _modified.memory.get(id(owner))
        if entry is not None and entry[1] > tick and entry[0]() is owner:
            return value
    return None


# --- shapes ---------------------------------------------------------------------------------
def unbroadcast(grad: Any, shape: tuple, op: str) -> Any:
    """Sum `grad` over the dimensions that broadcasting added to an input of `shape`."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    if axes:
        grad = be.active.sum(grad, axis=axes, keepdims=True)
    if extra:
        grad = be.active.reshape(grad, shape)
    if grad.shape != shape:
        raise RuntimeError(f"{op} backward: gradient of shape {grad.shape} for an input of "
                           f"shape {shape}; this is a bug in {op}.backward")
    return grad


# --- the backward pass --------------------------------------------------------------------------
def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """PyTorch's `torch.autograd.backward`: accumulate d(tensors)/d(leaf), each seeded with its
    gradient (ones for a one-element tensor), into `.grad` of every leaf that requires grad
    and of every non-leaf that called `retain_grad()`; with `inputs`, into theirs only.
    `t.backward(g)` is `backward(t, g)`. With `create_graph=True` the gradients are recorded
    as a graph of their own, to be differentiated again (see `grad`)."""
    if create_graph:  # NOTE: the same pass, every step recorded; the graph is kept
        with _recording():
            return backward(tensors, grad_tensors, retain_graph is not False, inputs=inputs)
    seeds = _seeds(tensors, grad_tensors, "backward")
    if inputs is None:
        _run(seeds, bool(retain_graph))
        return
    captured = _captured(inputs, "backward")
    _run(seeds, bool(retain_graph), captured)
    handed_out = {_owner(g) for _, g in seeds}
    for t, g in captured.items():
        if g is not None:
            _accumulate(t, g, handed_out)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple:
    """PyTorch's `torch.autograd.grad`: the gradients of `outputs` with respect to `inputs`,
    returned instead of accumulated (no `.grad` changes).

    An input the outputs do not depend on is an error, or None with `allow_unused=True`
    (zeros with `materialize_grads=True`). With `create_graph=True` each backward step runs
    on Tensor ops (backend/graph_backend.py), so the gradients are differentiable: Hessian-
    vector products, gradient penalties. (An op whose backward reads a value computed inside
    its forward, and that cannot rebuild it, refuses, naming itself.)

    Examples
    --------
    >>> x = tl.randn(3, requires_grad=True)
    >>> (dx,) = tl.autograd.grad((x * x).sum(), x)   # 2 * x
    >>> (dx,) = tl.autograd.grad((x ** 3).sum(), x, create_graph=True)
    >>> (ddx,) = tl.autograd.grad(dx.sum(), x)       # 6 * x
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True gives zeros for unused inputs, so "
                         "allow_unused must be True or left unset")
    if create_graph:
        with _recording():
            return grad(outputs, inputs, grad_outputs, retain_graph is not False,
                        allow_unused=allow_unused, materialize_grads=materialize_grads)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    captured = _captured(inputs, "grad")
    _run(_seeds(outputs, grad_outputs, "grad"), bool(retain_graph), captured)
    result = []
    for t in inputs:
        g = captured[t]
        if g is None and materialize_grads:
            g = be.active.full(t.shape, 0, t.dtype)
        elif g is None and not allow_unused:
            raise RuntimeError("grad: one of the differentiated tensors was not used to compute "
                               "the outputs; pass allow_unused=True to get None for it")
        result.append(None if g is None else _as_tensor(g))
    return tuple(result)


@contextlib.contextmanager
def _recording() -> Any:
    """A backward pass inside records its work (create_graph=True): grad mode on, and the
    backend's methods run as Tensor ops."""
    with enable_grad(), graph_backend.recording():
        yield


def _as_tensor(g: Any) -> "Tensor":
    """A gradient as a tensor: arrays are wrapped, recorded gradients already are tensors."""
    return g if isinstance(g, Tensor) else _wrap(g)


def _captured(inputs: Any, op: str) -> dict:
    """{tensor: None} for the tensors whose gradients `_run` should capture."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError(f"{op}: inputs is empty; pass the tensors to differentiate")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"{op}: one of the differentiated tensors does not require grad")
    return dict.fromkeys(inputs)  # NOTE: tensors hash by identity


def _seeds(tensors: Any, grads: Any, op: str) -> list[tuple["Tensor", Any]]:
    """(tensor, gradient array) pairs to start backward from, checked."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grads is None:
        grads = [None] * len(tensors)
    elif isinstance(grads, (Tensor, np.ndarray)):
        grads = [grads]
    else:
        grads = list(grads)
    if len(grads) != len(tensors):
        raise RuntimeError(f"{op}: {len(tensors)} tensors but {len(grads)} gradients")
    seeds = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise RuntimeError(f"{op}: this tensor does not require grad and has no grad_fn; "
                               "did you forget requires_grad=True on an input, or compute it "
                               "under no_grad()?")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for a scalar "
                                   f"output, got shape {t.shape}; reduce it first (e.g. "
                                   "loss.sum().backward()) or pass gradient=")
            g = be.active.full(t.shape, 1, t.dtype)
        else:
            # NOTE: under create_graph a seed that requires grad stays a tensor, so gradients
            # reach it too (the cheap tests first: this runs on every backward(gradient))
            if not (isinstance(g, Tensor) and g.requires_grad
                    and isinstance(be.active, graph_backend.GraphBackend)):
                g = g._data if isinstance(g, Tensor) else Tensor(g)._data
            if g.dtype != t.dtype:
                g = be.active.cast(g, t.dtype)
            if g.shape != t.shape:
                raise RuntimeError(f"{op}: gradient of shape {g.shape} does not match the "
                                   f"tensor's shape {t.shape}")
        seeds.append((t, g))
    return seeds


# NOTE: a gradient that underflows to a denormal or 0 (g * exp(-100)) is the right answer,
# and so is one that is infinite (log'(0) = 1/0, sqrt'(0)): PyTorch gives them without a
# word. A nan (invalid) still warns. One errstate for the whole pass costs ~0.7 µs where one
# per op would cost that per node
@np.errstate(under="ignore", divide="ignore", over="ignore")
def _run(seeds: list[tuple["Tensor", Any]], retain_graph: bool,
         captured: dict | None = None) -> None:
    """The backward pass from `seeds`: into the leaves' `.grad`, or, when `captured` is given,
    into `captured[t]` for its tensors only.

    Nodes run in reverse creation order, taken from a heap of the tensors waiting for their
    backward: every consumer of a tensor was created after it, so when a tensor comes off the
    heap all its gradient contributions are in. One loop finds and runs the graph (no separate
    topological sort); leaves, which have no node, are filled in at the end.
    """
    add = be.active.add
    recording = isinstance(be.active, graph_backend.GraphBackend)
    anomaly = _mode.anomaly and _mode.check_nan and not recording
    in_place = not recording and not anomaly  # NOTE: slices' gradients added in place
    pop, push = heappop, heappush  # NOTE: locals: this loop runs once per node
    # NOTE: tensors hash by identity, so they key this dict directly
    grads: dict = {}
    owned: dict = {}  # tensor -> its gradient buffer, when this pass made it and holds it alone
    handed_out = set()  # buffers already owned by a leaf's .grad or by the caller
    waiting: list = []
    for t, g in seeds:
        handed_out.add(_owner(g))
        if t in grads:
            grads[t] = add(grads[t], g)
            continue
        grads[t] = g
        if t._ctx is not None:
            push(waiting, (t._ctx.seq, t))
    while waiting:
        t = pop(waiting)[1]
        g = grads.pop(t)
        if owned:  # NOTE: empty unless the graph has slices: no dict call per node then
            owned.pop(t, None)
        ctx = t._ctx
        if t._hooks is not None:
            g = _run_hooks(t, g, handed_out, captured is None)
        if captured is not None and t in captured:
            captured[t] = g
        parents = ctx.parents
        if parents is None:
            raise RuntimeError(
                f"backward: the graph through {ctx.op_name} was already freed by an earlier "
                "backward(); call backward(retain_graph=True) the first time if you need to "
                "go through the graph twice")
        if ctx.tick != _modified.tick:  # something was written in place since the forward
            parents = ctx.parents = _resolve_modified(ctx)
        if in_place and ctx.slices:
            if _add_slice(grads, owned, parents[0], ctx, g):
                push(waiting, (parents[0]._ctx.seq, parents[0]))
            if not retain_graph:
                ctx.saved = ctx.parents = None
            continue
        in_grads = _recorded_backward(ctx, t, g) if recording else ctx.backward(g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        if anomaly:
            _check_nan(in_grads, ctx)
        for p, needs, pg in zip(parents, ctx.needs_input_grad, in_grads):
            if not needs or pg is None:
                continue
            if pg.shape != p._data.shape:
                pg = unbroadcast(pg, p._data.shape, ctx.op_name)
            prev = grads.get(p)
            if prev is not None:
                grads[p] = add(prev, pg)
                if owned:
                    owned.pop(p, None)
            else:
                grads[p] = pg
                if p._ctx is not None:
                    push(waiting, (p._ctx.seq, p))
        if not retain_graph:
            ctx.saved = ctx.parents = None
    for leaf, g in grads.items():  # NOTE: only leaves are left
        if leaf._hooks is not None:
            g = _run_hooks(leaf, g, handed_out, captured is None)
        if captured is None:
            _accumulate(leaf, g, handed_out)
        elif leaf in captured:
            captured[leaf] = g


def _add_slice(grads: dict, owned: dict, p: "Tensor", ctx: Function, g: Any) -> bool:
    """Add the gradient `g` of the slice `ctx` of `p` into p's gradient; True when p's
    gradient starts here (p then waits for its backward, if it has one).

    A slice's backward returns zeros of p's whole shape with `g` at its place, which the
    engine then adds to p's gradient: T slices of one tensor (unbind, chunk, a loop over its
    rows) cost T arrays of its full size. Here only the first slice's backward runs, and the
    rest add their gradients into that buffer, in place (`ctx.add_into`). Only a buffer this
    pass made and holds alone (`owned`) is written: another op's gradient may be shared (an
    add hands the same array to both its inputs), so a slice's is added to it as usual.
    """
    buf = grads.get(p)
    if buf is not None and owned.get(p) is buf and ctx.add_into(buf, g):
        return False
    b = be.active
    pg = ctx.backward(g)
    grads[p] = owned[p] = pg if buf is None else b.realize(b.add(buf, pg))
    return buf is None and p._ctx is not None


# --- tensor hooks -------------------------------------------------------------------------
RETAIN = "retain_grad"  # the key of retain_grad's entry in a tensor's hook table
POST_ACCUMULATE = "post_accumulate"  # the key of the table of hooks that run after .grad is set


class RemovableHandle:
    """What registering a hook returns: `handle.remove()` unregisters it."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict, hook: Callable) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _run_hooks(t: "Tensor", g: Any, handed_out: set, retain: bool) -> Any:
    """`t`'s gradient after its hooks (in registration order); retain_grad's keeps it last
    (unless `retain` is False: `grad()` and `backward(inputs=)` fill in no other `.grad`)."""
    for key, hook in list(t._hooks.items()):
        if key in (RETAIN, POST_ACCUMULATE):
            continue
        out = hook(_as_tensor(g))
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != t.shape:
                raise RuntimeError(f"hook: a hook on a tensor of shape {t.shape} returned "
                                   f"{getattr(out, 'shape', type(out).__name__)}; it must "
                                   "return None or a gradient of the tensor's shape")
            g = out if isinstance(g, Tensor) else out._data
    if retain and RETAIN in t._hooks:
        _accumulate(t, g, handed_out)
    return g


def _owner(a: Any) -> int:
    """The id of the buffer behind an array, to tell whether two gradients share memory."""
    return id(base_array(a))


def _accumulate(t: "Tensor", g: Any, handed_out: set) -> None:
    """Add `g` into `t.grad` (a leaf's, or a retained non-leaf's)."""
    B = be.active
    owner = _owner(g)
    if owner in handed_out:
        g = B.mul(g, 1)  # NOTE: a fresh copy, so no two .grad tensors alias
        owner = _owner(g)
    handed_out.add(owner)
    old = t._grad
    if old is None:
        t._grad = _as_tensor(g)
    elif (not old._requires_grad and not isinstance(g, Tensor)
          and old.numpy().flags.writeable):
        # NOTE: in place, as PyTorch accumulates: a reference to .grad sees the new sum
        B.before_write(old._data)  # NOTE: pending reads of the old sum run first
        np.add(old._data, B.realize(g), out=old._data, casting="unsafe")
        old._version += 1
    else:
        t._grad = _as_tensor(B.add(old._data, g))
    if t._hooks is not None and POST_ACCUMULATE in t._hooks:
        for hook in list(t._hooks[POST_ACCUMULATE].values()):
            hook(t)


def _recorded_backward(ctx: Function, out: "Tensor", g: Any) -> Any:
    """`ctx.backward(g)` with the arrays it saved replaced by the tensors they belong to (its
    inputs and its output `out`), so that the gradient records how it depends on them.

    A float array saved from inside the forward (an intermediate) belongs to no tensor:
    treating it as a constant would give a wrong second derivative, so such ops refuse,
    unless they rebuild what they saved from their input tensors (`saved_in_graph`).
    """
    saved = ctx.graph_saves(out) if isinstance(ctx, _Custom) else None
    if saved is not None:
        return ctx.backward(g, record=True, saved=saved)
    if isinstance(ctx, _Custom) or getattr(ctx, "once_differentiable", False):
        raise NotImplementedError(f"backward with create_graph=True: {ctx.op_name}'s gradient "
                                  "cannot be differentiated again (a custom Function that "
                                  "saved an intermediate, or a once-differentiable op)")
    owners = {id(p._data): p for p in ctx.parents}
    owners[id(out._data)] = out

    def tensor_of(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return type(value)(tensor_of(v) for v in value)
        if id(value) in owners:
            return owners[id(value)]
        if not (hasattr(value, "ndim") and hasattr(value, "dtype")):
            return value  # shapes, axes, dtypes
        if getattr(out._data, "base", None) is value:  # the output before a reshape (amax)
            return out.reshape(value.shape)
        if value.dtype.kind in "fc":
            raise NotImplementedError(
                f"backward with create_graph=True: {ctx.op_name}'s gradient reads a value its "
                "forward computed, so it cannot be differentiated again; build the "
                "expression from simpler ops")
        return value

    saved = getattr(ctx, "saved", ())
    remake = getattr(ctx, "saved_in_graph", None)  # an op that can rebuild what it saved
    ctx.saved = remake(*ctx.parents) if remake else tensor_of(saved)
    try:
        return ctx.backward(g)
    finally:
        ctx.saved = saved


def _resolve_modified(ctx: Function) -> tuple:
    """`ctx`'s inputs as they were when it ran, for inputs changed in place since.

    An in-place op under grad mode keeps the value it replaced (`Tensor._before`), so the
    gradient goes to that value's history, as in PyTorch (`c = a + b; d = c * 2; c += 1`).
    It is an error, as in PyTorch, when the node saved that value for its gradient, when
    the input's memory was overwritten (an in-place op without grad mode), or when the node's
    own output, which its gradient reads, was written (`Function.from_output`).
    """
    written = getattr(ctx, "output_written", None)
    if written is not None:
        raise RuntimeError(
            f"backward: the output of {ctx.op_name} (shape {written}) was modified in place "
            "after it was made, and its gradient is computed from that output. Use an "
            "out-of-place op (y = y + 1, not y.add_(1)) or .clone() it first")
    saved = getattr(ctx, "saved", None) or ()
    spoiled = _overwritten_since(saved, ctx.tick)
    if spoiled is not None:
        raise RuntimeError(
            f"backward: a value of shape {spoiled.shape} that {ctx.op_name} saved for its "
            "gradient was modified in place after it was used (through its tensor, a slice "
            "or view of it, or a detach()). Use an out-of-place op (x = x * 2, not "
            "x.mul_(2)) or .clone() it first")
    parents = []
    for p in ctx.parents:
        was = p
        while was is not None and was._version > ctx.tick:
            was = getattr(was, "_before", None)
        if was is None and (p._ctx is None or p._ctx.seq > ctx.seq):  # NOTE: seq counts down
            was = p  # NOTE: its memory was written, but not what this node saved (above)
        # NOTE: a value that backward reads is refused even when kept, as PyTorch refuses it
        if was is None or (was is not p and any(s is was._data for s in saved)):
            raise RuntimeError(
                f"backward: an input of {ctx.op_name} (shape {p.shape}) was modified in place "
                "after it was used, so the value saved for its gradient is gone. Use an "
                "out-of-place op (x = x * 2, not x.mul_(2)) or .clone() it first")
        parents.append(was)
    return tuple(parents)

