"""Draw the recorded computation graph with Graphviz.

`draw_graph(out)` reads what autograd recorded (each tensor's `_ctx` node, its `.parents` and
`.saved` arrays) and returns a `graphviz.Digraph`. Legend:

- light blue: leaf tensors that require grad, named when they are parameters (`fc1.weight`)
- white: leaf tensors that do not (inputs, constants; a one-element constant shows its value)
- grey: ops, labelled with the op's name (`MatMul`, `Relu`, ...)
- orange: arrays an op saved for backward (dashed edge into that op), with `show_saved`
- green: the output

Tensors are labelled `name\\n(shape) dtype`. Intermediate tensors are the edges between ops.

Module clusters (`modules=`) need to know which ops ran inside which module call; forward
pre/post hooks record it while the forward runs: `draw_graph(model, input_data=x,
modules=True)` runs the forward itself, or record your own forward with
`with tl.viz.trace_modules(model) as trace: out = model(x)` and pass `modules=trace`. A call
owns the ops between its outputs and its inputs; what two calls share (the weight of a layer
that runs twice) sits in the call around both.

The walk is iterative (a 100,000-op chain is fine) and breadth-first from the output, so the
same graph always gives the same DOT source: node ids (`n0`, `n1`, ...) follow that order.

Rendering (`.render()`, `.pipe()`, Jupyter's display) needs a `dot` program: the system
Graphviz's when one is on PATH, otherwise the one the `graphviz-pure` package installs.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.metadata
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import graphviz

from .autograd import base_array, enable_grad
from .tensor import Tensor

if TYPE_CHECKING:
    from .nn import Module

__all__ = ["Graph", "ModuleTrace", "RendererNotFound", "base_array", "dot_program",
           "draw_graph", "saved_arrays", "tensors_in", "to_dot", "trace_modules", "walk"]

_FILL = {"param": "lightblue", "const": "white", "op": "lightgrey", "saved": "orange",
         "output": "darkolivegreen1", "cut": "white"}
_DIRECTIONS = ("TB", "LR", "BT", "RL")


# --- the graph walk (shared with summary.py) ---------------------------------------------------
def walk(roots: Sequence[Tensor], stop: frozenset = frozenset()) -> Iterator[Tensor]:
    """Every tensor that leads to `roots` through recorded ops, breadth-first, each once.

    Tensors whose id is in `stop` are neither yielded nor walked through. Raises a clear error
    when the graph was freed by `backward()` (which drops `ctx.parents` unless
    `retain_graph=True`).
    """
    seen = set(stop)
    queue = deque()
    for t in roots:
        if id(t) not in seen:
            seen.add(id(t))
            queue.append(t)
    while queue:
        t = queue.popleft()
        yield t
        ctx = t._ctx
        if ctx is None:
            continue
        if ctx.freed:
            raise RuntimeError(
                f"the graph through {ctx.op_name} was freed by backward(); to draw or measure a "
                "graph after backward, call backward(retain_graph=True)")
        for p in ctx.parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)


def saved_arrays(ctx: Any) -> list:
    """The arrays (not shapes, axes or dtypes) that an op node saved for its backward."""
    saved = getattr(ctx, "saved", None) or ()  # NOTE: ops that save nothing leave it unset
    return [a for a in saved if hasattr(a, "shape") and hasattr(a, "dtype")]


# --- module calls ----------------------------------------------------------------------------
class ModuleTrace:
    """The module calls of one forward pass: which module ran, on which tensors, inside which.

    Made by `trace_modules`; `draw_graph(out, modules=trace)` draws one cluster per call.
    """

    def __init__(self) -> None:
        self.calls: list[dict] = []  # name, type, parent (index or None), inputs, outputs
        self._stack: list[int] = []

    def _enter(self, name: str, module: Any, args: tuple) -> None:
        parent = self._stack[-1] if self._stack else None
        repeat = sum(c["module"] is module for c in self.calls)
        self.calls.append({"name": name, "module": module, "type": type(module).__name__,
                           "repeat": repeat, "parent": parent, "inputs": tensors_in(args),
                           "outputs": []})
        self._stack.append(len(self.calls) - 1)

    def _exit(self, output: Any) -> None:
        self.calls[self._stack.pop()]["outputs"] = tensors_in(output)

    def label(self, index: int) -> str:
        """`fc1: Linear`, with `(call 2)` when a shared module runs again."""
        call = self.calls[index]
        label = f"{call['name']}: {call['type']}" if call["name"] else call["type"]
        return label + (f" (call {call['repeat'] + 1})" if call["repeat"] else "")

    def owners(self) -> dict[int, int]:
        """id(tensor) -> index of the innermost call that made it (or used it, for leaves).

        A call owns what lies between its outputs and its inputs and no call inside it owns; a
        tensor that two separate calls reach (a shared parameter) belongs to their closest
        common enclosing call.
        """
        owner: dict[int, int] = {}
        for i in sorted(range(len(self.calls)), key=lambda i: -len(self.chain(i))):
            stop = frozenset(id(t) for t in self.calls[i]["inputs"])
            for t in walk(self.calls[i]["outputs"], stop):
                if id(t) not in owner:
                    owner[id(t)] = i
                elif i not in self.chain(owner[id(t)]):  # not inside this call: a sibling's
                    owner[id(t)] = self.common(owner[id(t)], i)
        return owner

    def chain(self, i: int | None) -> list[int]:
        """Call `i` and the calls around it, innermost first."""
        chain = []
        while i is not None:
            chain.append(i)
            i = self.calls[i]["parent"]
        return chain

    def common(self, a: int | None, b: int | None) -> int | None:
        """The innermost call around both calls `a` and `b` (None: the top level)."""
        around_a = set(self.chain(a))
        return next((c for c in self.chain(b) if c in around_a), None)


def tensors_in(obj: Any) -> list:
    """The tensors in a forward's arguments or result (a tensor, or a tuple/list/dict of them)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in tensors_in(item)]
    return []


@contextlib.contextmanager
def trace_modules(model: Module) -> Iterator[ModuleTrace]:
    """Record every module call of the forward passes run inside the block.

    Examples
    --------
    >>> with tl.viz.trace_modules(model) as trace:
    ...     out = model(x)
    >>> tl.draw_graph(out, params=model, modules=trace)
    """
    trace = ModuleTrace()
    handles = []
    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(
                functools.partial(_pre_hook, trace, name)))
            handles.append(module.register_forward_hook(
                lambda module, args, output: trace._exit(output)))
        yield trace
    finally:
        for handle in handles:
            handle.remove()


def _pre_hook(trace: ModuleTrace, name: str, module: Any, args: tuple) -> None:
    trace._enter(name, module, args)


# --- drawing ---------------------------------------------------------------------------------
class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that finds its renderer itself: system Graphviz or graphviz-pure.

    `render`, `pipe`, `view` and Jupyter's display work with only `pip install graphviz-pure`.
    """

    def render(self, *args: Any, **kwargs: Any) -> str:
        with _dot_on_path():
            return super().render(*args, **kwargs)

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        with _dot_on_path():
            return super().pipe(*args, **kwargs)

    def _repr_svg_(self) -> str:
        return self.pipe(format="svg", encoding="utf-8")


def draw_graph(output: Tensor | Sequence[Tensor] | Module, params: Any = None,
               show_shapes: bool = True, show_saved: bool = False, show_grads: bool = False,
               modules: bool | ModuleTrace = False, direction: str = "TB",
               max_nodes: int | None = None, *, input_data: Any = None) -> Graph:
    """Draw the graph that produced `output` (see the module docstring for the legend).

    Parameters
    ----------
    output : the tensor (or tensors) to draw from; or a Module: then its forward runs here on
        `input_data` (with grad mode on) and `params` defaults to the module.
    params : dict name -> Tensor, or a Module (its `named_parameters()`), to name leaves.
    show_saved : also draw the arrays each op saved for backward (orange).
    show_grads : add each leaf's gradient shape. Backward frees the graph it walked, so call
        `loss.backward(retain_graph=True)` before drawing that graph.
    modules : True (with a Module as `output`) or a `ModuleTrace` from `trace_modules`: group
        the ops of each module call into a cluster labelled `fc1: Linear`.
    direction : Graphviz rankdir, one of "TB", "LR", "BT", "RL".
    max_nodes : draw at most this many nodes, nearest the output first; a marker node says
        how many were left out.
    input_data : the input (a Tensor or a tuple of them) when `output` is a Module.

    Examples
    --------
    >>> g = tl.draw_graph(loss, params=model)
    >>> g.render("graph", format="svg")              # writes graph.svg
    >>> tl.draw_graph(model, input_data=x, modules=True)
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"draw_graph: direction must be one of {_DIRECTIONS}, got {direction!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int, got {max_nodes}")
    trace = modules if isinstance(modules, ModuleTrace) else None
    input_names = {}
    if hasattr(output, "named_modules"):
        if input_data is None:
            raise ValueError("draw_graph: to draw a Module, pass input_data= (a Tensor, or a "
                             "tuple of them, for its forward)")
        model = output
        params = model if params is None else params
        args = input_data if isinstance(input_data, tuple) else (input_data,)
        with enable_grad(), trace_modules(model) as trace:
            output = model(*args)
        inputs = tensors_in(args)
        input_names = {"input": inputs[0]} if len(inputs) == 1 else {
            f"input{i}": t for i, t in enumerate(inputs)}
    elif modules is True:
        raise ValueError("draw_graph: modules=True needs the module calls: pass the model "
                         "and input_data (draw_graph(model, input_data=x, modules=True)), or "
                         "a trace (with tl.viz.trace_modules(model) as t: ...; modules=t)")
    roots = tensors_in(output)
    if not roots:
        raise TypeError(f"draw_graph: expected a Tensor (or tensors), got {type(output).__name__}")
    names = _param_names(params)
    for name, t in input_names.items():
        names.setdefault(id(t), name)
    if not modules:
        trace = None

    nodes, edges = _layout(roots, names, trace, show_shapes, show_saved, show_grads)
    graph = Graph(graph_attr={"rankdir": direction},
                  node_attr={"shape": "box", "style": "filled", "fontsize": "10",
                             "fontname": "Courier", "height": "0.2"})
    if max_nodes is not None and len(nodes) > max_nodes:
        nodes, edges = _cut(nodes, edges, max_nodes)
    _emit(graph, nodes, trace)
    for src, dst, style in edges:
        graph.edge(src, dst, **({"style": style} if style else {}))
    return graph


def to_dot(output: Tensor | Sequence[Tensor] | Module, params: Any = None,
           **kwargs: Any) -> str:
    """The DOT source of `draw_graph(output, params, **kwargs)`; needs no renderer."""
    return draw_graph(output, params, **kwargs).source


def make_dot(var: Tensor | Sequence[Tensor], params: Any = None, show_attrs: bool = False,
             show_saved: bool = False, max_attr_chars: int = 50) -> Graph:
    """torchviz's `make_dot`, so its users' calls carry over: `draw_graph` with the saved
    arrays drawn when `show_attrs` or `show_saved` asks for them (`max_attr_chars` is
    accepted for compatibility; nodes here show shapes, not values)."""
    return draw_graph(var, params, show_saved=show_attrs or show_saved)


def _param_names(params: Any) -> dict[int, str]:
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    names: dict[int, str] = {}
    for name, t in params.items():
        names.setdefault(id(t), name)
    return names


def _layout(roots: list, names: dict, trace: ModuleTrace | None, show_shapes: bool,
            show_saved: bool, show_grads: bool) -> tuple[list, list]:
    """Nodes as (id, label, kind, owner call) and edges as (src, dst, style), in walk order."""
    tensors = list(walk(roots))
    owner = trace.owners() if trace is not None else {}
    leaf_buffers = {id(base_array(t._data)) for t in tensors if t._ctx is None}
    node_of: dict[tuple, str] = {}
    nodes: list[tuple] = []
    edges: list[tuple] = []

    def add(key: tuple, label: str, kind: str, where: int | None) -> str:
        node_of[key] = f"n{len(nodes)}"
        nodes.append((node_of[key], label, kind, where))
        return node_of[key]

    root_ids = {id(t) for t in roots}
    for t in tensors:
        where = owner.get(id(t))
        if id(t) in root_ids:
            out = add(("out", id(t)), _tensor_label(t, names.get(id(t), "output"),
                                                    show_shapes, show_grads), "output", None)
        if t._ctx is None:
            if id(t) in root_ids:
                node_of[("t", id(t))] = out  # a leaf that is also an output: one node
            else:
                kind = "param" if t.requires_grad else "const"
                add(("t", id(t)), _tensor_label(t, names.get(id(t)), show_shapes, show_grads),
                    kind, where)
            continue
        label = t._ctx.op_name + (f"\\n{_shape(t.shape)}" if show_shapes else "")
        add(("t", id(t)), label, "op", where)
        if show_saved:
            for a in saved_arrays(t._ctx):
                if id(base_array(a)) in leaf_buffers:
                    continue  # a leaf's own array: the leaf is already drawn
                key = ("saved", id(a))
                if key not in node_of:
                    add(key, f"{_shape(a.shape)} {a.dtype}" if show_shapes else "saved",
                        "saved", where)
                elif trace is not None:  # saved by ops of two calls: the call around both
                    i = int(node_of[key][1:])
                    nodes[i] = nodes[i][:3] + (trace.common(nodes[i][3], where),)
                edges.append((node_of[key], node_of[("t", id(t))], "dashed"))
    for t in tensors:
        if id(t) in root_ids and t._ctx is not None:
            edges.append((node_of[("t", id(t))], node_of[("out", id(t))], ""))
        if t._ctx is not None:
            for p in t._ctx.parents:
                edges.append((node_of[("t", id(p))], node_of[("t", id(t))], ""))
    # NOTE: sorted by target, so edges appear in the order their nodes do
    order = {node[0]: i for i, node in enumerate(nodes)}
    edges.sort(key=lambda e: order[e[1]])
    return nodes, edges


def _cut(nodes: list, edges: list, max_nodes: int) -> tuple[list, list]:
    """Keep the first `max_nodes` nodes; one marker node stands for the rest."""
    kept = nodes[:max_nodes]
    ids = {n[0] for n in kept}
    marker = "n_cut"
    label = f"... {len(nodes) - max_nodes} more nodes not drawn (max_nodes={max_nodes})"
    cut_edges, cut_targets = [], []
    for src, dst, style in edges:
        if dst not in ids:
            continue
        if src in ids:
            cut_edges.append((src, dst, style))
        elif dst not in cut_targets:
            cut_targets.append(dst)
            cut_edges.append((marker, dst, "dotted"))
    return kept + [(marker, label, "cut", None)], cut_edges


def _emit(graph: graphviz.Digraph, nodes: list, trace: ModuleTrace | None) -> None:
    """Write nodes into the graph, each module call's inside its (nested) cluster."""
    by_call: dict[int | None, list] = {}
    for node in nodes:
        by_call.setdefault(node[3], []).append(node)
    children: dict[int | None, list] = {}
    if trace is not None:
        for i, call in enumerate(trace.calls):
            children.setdefault(call["parent"], []).append(i)

    def nonempty(i: int) -> bool:
        return i in by_call or any(nonempty(c) for c in children.get(i, ()))

    def fill(g: graphviz.Digraph, call: int | None) -> None:
        for node_id, label, kind, _ in by_call.get(call, ()):
            attrs = {"fillcolor": _FILL[kind]}
            if kind == "cut":
                attrs["style"] = "dashed"
            g.node(node_id, label, **attrs)
        for child in children.get(call, ()):
            if nonempty(child):  # NOTE: an identity call (returns its input) owns no node
                with g.subgraph(name=f"cluster_{child}") as sub:
                    sub.attr(label=trace.label(child), style="rounded", color="grey40",
                             fontname="Courier", fontsize="10")
                    fill(sub, child)

    fill(graph, None)


def _tensor_label(t: Tensor, name: str | None, show_shapes: bool, show_grads: bool) -> str:
    lines = [name] if name else []
    if not name and not t.requires_grad and t.numel() == 1:
        lines.append(f"{t.item():.4g}")
    elif show_shapes:
        lines.append(f"{_shape(t.shape)} {t.dtype}")
    if show_grads and t.is_leaf and t.grad is not None:
        lines.append(f"grad {_shape(t.grad.shape)}")
    return "\\n".join(lines) or "tensor"


def _shape(shape: tuple) -> str:
    return str(tuple(int(n) for n in shape))


# --- rendering -------------------------------------------------------------------------------
class RendererNotFound(RuntimeError):
    """No `dot` program: neither a system Graphviz nor the graphviz-pure package."""


def dot_program() -> str:
    """The `dot` program used to render: the system Graphviz's, else graphviz-pure's."""
    found = shutil.which("dot") or _graphviz_pure_program()
    if found is None:
        raise RendererNotFound(
            "no Graphviz `dot` program to render the graph: pip install graphviz-pure (no "
            "system libraries needed) or apt-get install graphviz; tl.viz.to_dot() gives the "
            "DOT source without rendering")
    return found


def _graphviz_pure_program() -> str | None:
    """The executable the graphviz-pure wheel installs (it may not be on PATH, e.g. in a
    Jupyter kernel started from outside its virtual environment)."""
    try:
        files = importlib.metadata.files("graphviz-pure") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name in ("graphviz-pure", "graphviz-pure.exe"):
            path = str(f.locate())
            if os.path.isfile(path):
                return path
    return shutil.which("graphviz-pure")


@functools.cache
def _folder_with_dot(program: str) -> str:
    """A private folder where `dot` is `program`: the graphviz library runs `dot` by name."""
    folder = tempfile.mkdtemp(prefix="tinygrad_lite_dot_")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    link = os.path.join(folder, "dot" + os.path.splitext(program)[1])
    try:
        os.symlink(program, link)
    except OSError:  # NOTE: Windows without symlink rights
        shutil.copy2(program, link)
    return folder


@contextlib.contextmanager
def _dot_on_path() -> Iterator[None]:
    """Make `dot` resolve to `dot_program()` while the graphviz library runs it."""
    program = dot_program()
    if program == shutil.which("dot"):
        yield
        return
    old = os.environ.get("PATH")
    os.environ["PATH"] = _folder_with_dot(program) + os.pathsep + (old or "")
    try:
        yield
    finally:
        if old is None:
            del os.environ["PATH"]
        else:
            os.environ["PATH"] = old
