"""Model summary: one row per module call, and the memory of one training step, byte-exact.

Rows come from forward hooks (`viz.trace_modules`), named as torchinfo does:
`Layer (type:depth-idx)` with depth the nesting of the call and idx its rank at that depth.
Totals come from the root's `parameters()`, so a shared parameter counts once. Mult-adds are
torchinfo's count (each weight and bias times the output positions it serves), summed over
the calls of modules without children.

Memory is not a heuristic: the summary runs one forward and one backward (of the outputs'
sum) and adds up the arrays that really exist, each numpy buffer once (a view counts with its
base). Sizes are in decimal units (kB = 1000 bytes) with the exact byte count beside them.

- parameters, and their gradients as backward produced them
- optimizer state: the arrays one `step()` creates, from a run on a copy of the optimizer
- activations: the output of every op; saved: every array an op saved for its backward
  (dropout's boolean masks at 1 byte per element); graph: both together, as the graph holds
  them (a node keeps its input tensors, so every op output lives until backward passes it)

The peak is a model of one training step once the optimizer has state (every step but the
first), with the two moments that can be highest:

    peak = params + inputs + optimizer state + grads
           + max(graph + largest activation,   # backward: the graph, and the gradient of
                                               # its largest tensor, before nodes are freed
                 step temporaries)             # measured on a copy of the optimizer

The graph is gone before the step runs, so the two are not added. `measure=True` also runs
forward + backward + step on copies under `tracemalloc` and shows the measured peak beside it.
"""
from __future__ import annotations

import copy
import math
import numbers
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend as be
from . import rng
from .autograd import enable_grad
from .tensor import Tensor
from .viz import ModuleTrace, base_array, saved_arrays, tensors_in, trace_modules, walk

_MODES = ("train", "eval", "same")
# torchinfo's column names and headers
_COLUMNS = {"input_size": "Input Shape", "output_size": "Output Shape", "num_params": "Param #",
            "params_percent": "Param %", "kernel_size": "Kernel Shape",
            "mult_adds": "Mult-Adds", "trainable": "Trainable"}
_DEFAULT_COLUMNS = ("input_size", "output_size", "num_params", "trainable")


@dataclass
class Row:
    """One line of the table: a module call (or, without input, a module)."""

    depth: int
    index: int
    type: str
    input_shape: str
    output_shape: str
    params: int | None  # None: the module's second call ("(recursive)")
    trainable: str  # "True", "False", "Partial" or "--"
    mult_adds: int | None = None  # None: a container row above the deepest shown ("--")
    kernel: str = "--"  # a convolution's or pooling's kernel_size
    tree: str = ""  # the `├─` prefix, filled in when the table is laid out

    @property
    def name(self) -> str:
        """`Sequential` for the root, `Linear: 1-2` below it."""
        return self.type if self.depth == 0 else f"{self.type}: {self.depth}-{self.index}"


@dataclass
class ModelSummary:
    """What `summary()` found; `str()` (and `repr()`, for notebooks) is the table.

    All byte counts are exact sizes of arrays (see the module docstring); `peak_bytes` is the
    modelled peak and `measured_peak_bytes` the tracemalloc one (None unless `measure=True`).
    """

    model_name: str
    rows: list[Row]
    total_params: int
    trainable_params: int
    param_bytes: int
    total_mult_adds: int = 0
    col_names: tuple[str, ...] = _DEFAULT_COLUMNS
    input_bytes: int = 0
    activation_bytes: int = 0
    saved_bytes: int = 0
    graph_bytes: int = 0
    grad_bytes: int = 0
    optimizer_bytes: int = 0
    optimizer_name: str | None = None
    peak_bytes: int = 0
    measured_peak_bytes: int | None = None
    has_input: bool = False

    def __str__(self) -> str:
        headers = ("Layer (type:depth-idx)",) + tuple(_COLUMNS[c] for c in self.col_names)
        cells = [headers] + [self._cells(r) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) + 3 for i in range(len(headers))]
        width = sum(widths)
        lines = ["=" * width]
        for i, line in enumerate(cells):
            lines.append("".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
            if i == 0:
                lines.append("=" * width)
        lines += ["=" * width,
                  f"Total params: {_count(self.total_params)}",
                  f"Trainable params: {_count(self.trainable_params)}",
                  f"Non-trainable params: {_count(self.total_params - self.trainable_params)}"]
        if self.has_input:
            lines.append(f"Total mult-adds (M): {self.total_mult_adds / 1e6:.2f}")
        lines.append("=" * width)
        if not self.has_input:
            lines += [_line("Params size", self.param_bytes),
                      "(pass input_size= or input_data= for the memory of a training step)"]
        else:
            opt = f" ({self.optimizer_name})" if self.optimizer_name else " (no optimizer)"
            lines += [
                "Memory of one training step (forward + backward of the outputs' sum + step):",
                _line("Parameters", self.param_bytes),
                _line("Gradients", self.grad_bytes),
                _line("Optimizer state" + opt, self.optimizer_bytes),
                _line("Inputs", self.input_bytes),
                _line("Activations (op outputs)", self.activation_bytes),
                _line("Saved for backward", self.saved_bytes),
                _line("Graph (both, held until backward)", self.graph_bytes),
                _line("Peak (model, see tl.summary docs)", self.peak_bytes),
            ]
            if self.measured_peak_bytes is not None:
                lines.append(_line("Peak (measured, tracemalloc)", self.measured_peak_bytes))
            lines.append("kB = 1000 bytes, MB = 1000 kB")
        lines.append("=" * width)
        return "\n".join(lines)

    __repr__ = __str__

    def _cells(self, row: Row) -> tuple[str, ...]:
        values = {"input_size": row.input_shape, "output_size": row.output_shape,
                  "num_params": _param_cell(row.params),
                  "params_percent": (f"{row.params / self.total_params:.2%}"
                                     if row.params and self.total_params else "--"),
                  "kernel_size": row.kernel,
                  "mult_adds": _count(row.mult_adds) if row.mult_adds else "--",
                  "trainable": row.trainable}
        return (row.tree + row.name,) + tuple(values[c] for c in self.col_names)


def summary(model: Any, input_size: Sequence | None = None, input_data: Any = None,
            dtype: Any = None, depth: int = 3, optimizer: Any = None, mode: str = "train",
            measure: bool = False, dtypes: Sequence | None = None, *,
            col_names: Sequence[str] | None = None, batch_dim: int | None = None,
            device: Any = None, verbose: int = 0, **kwargs: Any) -> ModelSummary:
    """Summarise `model`: a row per module call, parameter totals and training-step memory.

    Parameters
    ----------
    input_size : shape of one input, e.g. (32, 784), or a list of shapes for several inputs;
        the summary makes that input itself (zeros, in `dtype`, default float32).
    input_data : the input tensor(s) instead; a dict is passed as keyword arguments. Without
        any input: the parameter table only.
    depth : deepest nesting shown; a row at that depth counts its hidden children's params.
    optimizer : its state's bytes are counted (one step on a copy; the original is untouched).
    mode : "train" (the default: dropout's masks belong to a training step), "eval" or
        "same" (leave each module's mode as it is).
    measure : also measure the peak with tracemalloc (forward + backward + step on copies).
    dtypes : one dtype per input of `input_size` (torchinfo's name), e.g. `[tl.int64]` for
        an `nn.Embedding`; `dtype` gives every input the same one.
    col_names : torchinfo's columns, any of "input_size", "output_size", "num_params",
        "params_percent", "kernel_size", "mult_adds", "trainable" (default: all but the
        percent, kernel and mult-adds columns).
    batch_dim : as in torchinfo, a batch dimension of size 1 inserted there into every input.
    device : "cpu" or None (the only device there is).
    verbose : 1 or 2 also prints the table (torchinfo prints by default; here `print` it).
    kwargs : passed on to the model's forward, as torchinfo does.

    The model is left as it was found: each module's mode, every parameter's `.grad`, every
    buffer (BatchNorm's running statistics move in train mode), the random generator's state
    (train-mode dropout draws from it); the hooks are removed.

    Examples
    --------
    >>> s = tl.summary(model, input_size=(32, 784), optimizer=opt)
    >>> print(s); s.total_params, s.total_mult_adds, s.peak_bytes
    """
    if mode not in _MODES:
        raise ValueError(f"summary: mode must be one of {_MODES}, got {mode!r}")
    if depth < 0:
        raise ValueError(f"summary: depth must be >= 0, got {depth}")
    if input_size is not None and input_data is not None:
        raise ValueError("summary: pass input_size or input_data, not both")
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"summary: device {str(device)!r} is not available; only 'cpu' is")
    col_names = tuple(_DEFAULT_COLUMNS if col_names is None else col_names)
    unknown = [c for c in col_names if c not in _COLUMNS]
    if unknown:
        raise ValueError(f"summary: unknown col_names {unknown}; choose from {list(_COLUMNS)}")
    params = list(model.parameters())
    result = ModelSummary(
        model_name=type(model).__name__, rows=[],
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        param_bytes=_bytes(p._data for p in params), col_names=col_names)
    inputs = _inputs(input_size, input_data, dtype, dtypes, batch_dim)
    if inputs is None:
        result.rows = _rows_without_input(model, depth)
    else:
        if isinstance(inputs, Mapping):
            inputs, kwargs = (), {**inputs, **kwargs}
        _run(result, model, inputs, kwargs, depth, optimizer, mode, measure)
    _draw_tree(result.rows)
    if verbose:
        print(result)
    return result


def _run(result: ModelSummary, model: Any, inputs: tuple, kwargs: dict, depth: int,
         optimizer: Any, mode: str, measure: bool) -> None:
    """One traced forward + backward (+ the measured step), then the model put back."""
    params = list(model.parameters())
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.grad) for p in params]
    buffers = [(m, dict(m._buffers)) for m in model.modules()]
    values = [(b, np.array(b)) for _, table in buffers for b in table.values() if b is not None]
    rng_state = rng.generator().bit_generator.state
    try:
        if mode != "same":
            model.train(mode == "train")
        for p in params:
            p.grad = None
        with enable_grad():  # NOTE: the memory is that of a graph, even inside no_grad()
            with trace_modules(model) as trace:
                output = model(*inputs, **kwargs)
            leaf_adds = {i: _mult_adds(c["module"], c["outputs"])
                         for i, c in enumerate(trace.calls) if _is_leaf(c["module"])}
            result.rows = _rows(trace, depth, leaf_adds)
            result.total_mult_adds = sum(leaf_adds.values())
            _count_step(result, output, params, inputs, optimizer)
            if measure:
                result.measured_peak_bytes = _measure(model, inputs, kwargs, optimizer)
    finally:
        for m, training in modes:
            m.training = training
        for p, g in grads:
            p.grad = g
        for m, table in buffers:
            m._buffers.clear()
            m._buffers.update(table)
        for b, value in values:
            b._data = value
        rng.generator().bit_generator.state = rng_state


# --- input ----------------------------------------------------------------------------------
def _inputs(input_size: Sequence | None, input_data: Any, dtype: Any,
            dtypes: Sequence | None, batch_dim: int | None) -> tuple | Mapping | None:
    if input_data is not None:
        if isinstance(input_data, Mapping):
            return input_data
        inputs = tuple(input_data) if isinstance(input_data, (tuple, list)) else (input_data,)
        if batch_dim is None:
            return inputs
        return tuple(t.unsqueeze(batch_dim) if isinstance(t, Tensor) else t for t in inputs)
    if input_size is None:
        return None
    sizes = ([input_size] if not isinstance(input_size, (tuple, list)) or not input_size
             or not isinstance(input_size[0], (tuple, list)) else input_size)
    for size in sizes:
        _check_size(size)
    if batch_dim is not None:
        sizes = [list(s[:batch_dim]) + [1] + list(s[batch_dim:]) for s in sizes]
    if dtypes is None:
        dtypes = [dtype or np.float32] * len(sizes)
    elif len(dtypes) != len(sizes):
        raise ValueError(f"summary: {len(dtypes)} dtypes for {len(sizes)} input sizes")
    # NOTE: zeros, not random numbers, so the user's random stream is not consumed
    return tuple(Tensor(np.zeros(tuple(int(n) for n in s), dtype=d))
                 for s, d in zip(sizes, dtypes))


def _check_size(size: Any) -> None:
    """An input size is a non-empty tuple or list of positive whole numbers."""
    if (not isinstance(size, (tuple, list))
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                       for n in size)):
        raise TypeError(f"summary: input_size must be a tuple of ints such as (32, 784), or a "
                        f"list of them, got {size!r}")
    if not size or min(size) < 1:
        raise ValueError(f"summary: input_size needs at least one dimension, each >= 1, "
                         f"got {size!r}")


# --- rows -------------------------------------------------------------------------------------
def _rows(trace: ModuleTrace, depth: int, leaf_adds: dict[int, int]) -> list[Row]:
    """A row per call at most `depth` deep; each parameter is counted in one row: the deepest
    shown call of a module that owns it. `leaf_adds`: the mult-adds of each call of a module
    without children, by the call's index."""
    calls = trace.calls
    depths = [len(trace.chain(i)) - 1 for i in range(len(calls))]
    shown = [i for i in range(len(calls)) if depths[i] <= depth]
    rows, per_depth, first_calls = [], {}, set()
    for i in shown:
        call = calls[i]
        per_depth[depths[i]] = per_depth.get(depths[i], 0) + 1
        if id(call["module"]) in first_calls:
            params = None
        else:
            first_calls.add(id(call["module"]))
            inner = {id(p) for j in shown if j != i and i in trace.chain(j)
                     for p in calls[j]["module"].parameters()}
            params = [p for p in call["module"].parameters() if id(p) not in inner]
        if i in leaf_adds:
            adds = leaf_adds[i]
        elif depths[i] == depth:  # the deepest row shown counts the calls it hides
            adds = sum(n for j, n in leaf_adds.items() if i in trace.chain(j))
        else:
            adds = None
        rows.append(Row(depths[i], per_depth[depths[i]], call["type"],
                        _shapes(call["inputs"]), _shapes(call["outputs"]),
                        None if params is None else sum(p.numel() for p in params),
                        "--" if not params else _trainable(params), adds,
                        _kernel(call["module"])))
    return rows


def _is_leaf(module: Any) -> bool:
    return next(iter(module.children()), None) is None


def _mult_adds(module: Any, outputs: list) -> int:
    """Multiply-adds of one call of a module without children, counted as torchinfo does:
    each weight and bias element once per output position it serves. A convolution's serve
    every batch and spatial position; a Linear's every row of its input (torchinfo counts
    only the first dimension's, the same for a 2-D input); any other layer's once per batch
    element, and an RNN's per batch and time step."""
    if not outputs or not outputs[0].shape:
        return 0
    shape = outputs[0].shape
    total = 0
    for name, p in module.named_parameters():
        if name in ("weight", "bias"):
            if "Conv" in type(module).__name__:
                positions = shape[0] * math.prod(shape[2:])
            elif type(module).__name__ == "Linear":
                positions = math.prod(shape[:-1])
            else:
                positions = shape[0]
        elif "weight" in name or "bias" in name:
            positions = math.prod(shape[:2])
        else:
            continue
        total += p.numel() * positions
    return total


def _kernel(module: Any) -> str:
    k = getattr(module, "kernel_size", None)
    return "--" if k is None else str(list(k) if isinstance(k, (tuple, list)) else k)


def _rows_without_input(model: Any, depth: int) -> list[Row]:
    """Without an input nothing runs: one row per module, in registration order."""
    rows, per_depth = [], {}
    for name, module in model.named_modules():
        d = 0 if not name else name.count(".") + 1
        if d > depth:
            continue
        per_depth[d] = per_depth.get(d, 0) + 1
        params = list(module.parameters(recurse=d == depth))
        rows.append(Row(d, per_depth[d], type(module).__name__, "--", "--",
                        sum(p.numel() for p in params), _trainable(params) if params else "--"))
    return rows


def _trainable(params: list) -> str:
    flags = {p.requires_grad for p in params}
    return "Partial" if len(flags) == 2 else str(flags.pop())


def _shapes(tensors: list) -> str:
    return ", ".join(str(list(t.shape)) for t in tensors) or "--"


def _draw_tree(rows: list[Row]) -> None:
    """Fill in each row's `├─` / `└─` prefix, with `│` for ancestors that have more below."""
    for i, row in enumerate(rows):
        if row.depth == 0:
            continue
        parts = []
        for d in range(1, row.depth + 1):
            more = _has_sibling_below(rows, i, d)
            if d == row.depth:
                parts.append("├─" if more else "└─")
            else:
                parts.append("│    " if more else "     ")
        row.tree = "".join(parts)


def _has_sibling_below(rows: list[Row], i: int, depth: int) -> bool:
    """Whether a later row at `depth` comes before the subtree at that depth ends."""
    for row in rows[i + 1:]:
        if row.depth < depth:
            return False
        if row.depth == depth:
            return True
    return False


# --- memory ---------------------------------------------------------------------------------
def _count_step(result: ModelSummary, output: Any, params: list, inputs: tuple,
                optimizer: Any) -> None:
    """Fill in the byte counts from the graph one forward recorded and one backward."""
    result.has_input = True
    input_arrays = [t._data for t in inputs if isinstance(t, Tensor)]
    result.input_bytes = _bytes(input_arrays)
    param_ids = {id(_buffer(p._data)) for p in params}
    input_ids = {id(_buffer(a)) for a in input_arrays}
    activations: dict[int, int] = {}  # id of the buffer -> its bytes
    saved: dict[int, int] = {}
    loss = outputs_sum(output)
    if loss is not None:
        for t in walk([loss]):  # NOTE: before backward, which frees what the nodes saved
            if t._ctx is not None:
                _add(activations, t._data, param_ids | input_ids)
                for a in saved_arrays(t._ctx):
                    _add(saved, a, param_ids | input_ids)
        loss.backward()
    graph = {**activations, **saved}
    result.activation_bytes = sum(activations.values())
    result.saved_bytes = sum(saved.values())
    result.graph_bytes = sum(graph.values())
    result.grad_bytes = _bytes(p.grad._data for p in params if p.grad is not None)
    step_transient = 0
    if optimizer is not None:
        result.optimizer_name = type(optimizer).__name__
        result.optimizer_bytes, step_transient = _optimizer_bytes(optimizer)
    backward_transient = max(activations.values(), default=0)
    result.peak_bytes = (result.param_bytes + result.input_bytes + result.optimizer_bytes
                         + result.grad_bytes
                         + max(result.graph_bytes + backward_transient, step_transient))


def _buffer(a: Any) -> np.ndarray:
    """The numpy array that owns `a`'s memory (a pending lazy array is computed first, so
    counts are those of eager execution)."""
    return base_array(be.active.realize(a))


def outputs_sum(output: Any) -> Tensor | None:
    """The sum of every output that needs grad: what the summary (and `tinygrad-lite graph
    --backward`) runs backward from, since no loss function is known. None if there is none.
    """
    outputs = [t for t in tensors_in(output) if t.requires_grad]
    if not outputs:
        return None
    loss = outputs[0].sum()
    for t in outputs[1:]:
        loss = loss + t.sum()
    return loss


def _add(counted: dict[int, int], a: Any, skip: set) -> None:
    base = _buffer(a)
    if id(base) not in skip:
        counted.setdefault(id(base), base.nbytes)


def _bytes(arrays: Any) -> int:
    """Bytes of the distinct buffers behind `arrays`."""
    return sum({id(b): b.nbytes for b in map(_buffer, arrays)}.values())


def _optimizer_bytes(optimizer: Any) -> tuple[int, int]:
    """Bytes of the state arrays after one step, and the temporaries a later step allocates
    at its peak (measured: a fused kernel needs none, numpy's update a few), taken on a copy
    with zero gradients."""
    opt = copy.deepcopy(optimizer)
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = Tensor(np.zeros_like(p.numpy()))
    opt.step()
    return _state_bytes(opt), _traced_peak(opt.step)


def _state_bytes(optimizer: Any) -> int:
    return _bytes(v._data if isinstance(v, Tensor) else v
                  for state in optimizer.state.values() for v in state.values()
                  if isinstance(v, (Tensor, np.ndarray)))


def _measure(model: Any, inputs: tuple, kwargs: dict, optimizer: Any) -> int:
    """Peak bytes of forward + backward + step, run on copies under tracemalloc.

    The copies start as in any training step but the first: the optimizer has its state and
    the gradients are None. What exists before (parameters, inputs, state) is added to the
    traced peak, since tracemalloc sees only new allocations.
    """
    model, optimizer = copy.deepcopy((model, optimizer))
    params = list(model.parameters())
    if optimizer is not None:
        for p in params:
            p.grad = Tensor(np.zeros_like(p.numpy()))
        optimizer.step()
    for p in params:
        p.grad = None
    before = (_bytes(p._data for p in params) + _bytes(t._data for t in tensors_in(inputs))
              + (_state_bytes(optimizer) if optimizer is not None else 0))

    def step() -> None:
        loss = outputs_sum(model(*inputs, **kwargs))
        if loss is not None:
            loss.backward()
        if optimizer is not None:
            optimizer.step()

    return before + _traced_peak(step)


def _traced_peak(fn: Any) -> int:
    """Peak bytes that `fn()` allocates beyond what existed when it started (tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        if not was_tracing:
            tracemalloc.stop()


# --- formatting -------------------------------------------------------------------------------
def _count(n: int) -> str:
    return f"{n:,}"


def _param_cell(n: int | None) -> str:
    return "(recursive)" if n is None else _count(n) if n else "--"


def _size(n: int) -> str:
    """Decimal units, as the seeds write them: 940,584 bytes is 940.58 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def _line(label: str, n: int) -> str:
    return f"{label + ':':<42}{_size(n):>10}   ({n:,} bytes)"
