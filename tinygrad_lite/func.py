"""PyTorch's `torch.func`: `functional_call` (a module run with other parameters, as
MAML-style code does), `stack_module_state`, and the transforms `grad`, `grad_and_value`,
`vjp`, `jvp`, `linearize`, `jacrev`, `jacfwd`, `hessian` and `vmap`.

The derivative transforms are built on `autograd.grad(create_graph=True)`, so that they nest
(`grad(grad(f))`, `jacfwd(jacrev(f))`). There is no forward-mode AD here: a Jacobian-vector
product is the vector-Jacobian product of a vector-Jacobian product (the "double backward"
trick of `autograd.functional.jvp`). `vmap` runs the function once per batch element and
stacks the results: the same values and gradients as PyTorch's batching rules, at the cost
of a Python loop.

As in PyTorch, the arguments a transform differentiates need not require grad, and a result
leaves the graph unless it depends on a tensor of the caller's that requires grad.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Callable, Iterator

from . import autograd, rng
from .autograd_functional import _grads
from .nn.module import Module
from .tensor import Tensor, ones_like, stack, zeros, zeros_like

__all__ = ["functional_call", "stack_module_state", "grad", "grad_and_value", "vjp", "jvp",
           "linearize", "jacrev", "jacfwd", "hessian", "vmap"]


@contextlib.contextmanager
def _substituted(module: Module, tensors: dict[str, Tensor]) -> Iterator[None]:
    """`module`'s parameters and buffers named in `tensors` (dotted names, as state_dict's)
    replaced by those tensors for the duration, then put back."""
    swapped = []
    try:
        for name, value in tensors.items():
            owner_path, _, leaf = name.rpartition(".")
            owner = module.get_submodule(owner_path) if owner_path else module
            table = next((t for t in (owner._parameters, owner._buffers) if leaf in t), None)
            if table is None:
                raise AttributeError(f"functional_call: {type(module).__name__} has no "
                                     f"parameter or buffer {name!r}")
            swapped.append((table, leaf, table[leaf]))
            table[leaf] = value  # NOTE: past __setattr__, which wants a Parameter here
        yield
    finally:
        for table, leaf, original in reversed(swapped):
            table[leaf] = original


def functional_call(module: Module, parameter_and_buffer_dicts: Any, args: Any = (),
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """`module(*args, **kwargs)` with the named parameters and buffers replaced by the given
    tensors (one dict, or several merged): the module itself is left as it was."""
    dicts = parameter_and_buffer_dicts
    merged: dict = {}
    for d in (dicts if isinstance(dicts, (tuple, list)) else [dicts]):
        merged.update(d)
    if strict:
        missing = set(module.state_dict()) - set(merged)
        if missing:
            raise RuntimeError(f"functional_call: strict=True and no tensor for "
                               f"{sorted(missing)}")
    args = args if isinstance(args, tuple) else (args,)
    with _substituted(module, merged):
        return module(*args, **(kwargs or {}))


def stack_module_state(models: Any) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters and buffers of same-shaped `models`, each stacked along a new first
    dim (`vmap(functional_call...)` over them runs an ensemble). The stacked parameters are
    new leaves that require grad where the originals do."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: expected at least one model, got 0")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: expected all models to be of the same class")

    def stacked(named: Callable[[Module], Iterator]) -> dict[str, Tensor]:
        tables = [dict(named(m)) for m in models]
        return {name: stack([t[name].detach() for t in tables]).requires_grad_(
                    first.requires_grad) for name, first in tables[0].items()}

    return (stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers()))


# --- pytrees: torch.func takes and returns nested tuples, lists and dicts of tensors --------
def _flatten(tree: Any) -> tuple[list, Callable[[list], Any]]:
    """The leaves of `tree` in order, and a function that builds a tree of the same structure
    from new leaves."""
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, build = _flatten([tree[k] for k in keys])
        return leaves, lambda values: type(tree)(zip(keys, build(values)))
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(x) for x in tree]

        def build(values: list) -> Any:
            out, i = [], 0
            for leaves, part in parts:
                out.append(part(values[i:i + len(leaves)]))
                i += len(leaves)
            if isinstance(tree, list):
                return out
            return type(tree)(*out) if hasattr(tree, "_fields") else tuple(out)

        return [leaf for leaves, _ in parts for leaf in leaves], build
    return [tree], lambda values: values[0]


def _per_leaf(spec: Any, tree: Any, what: str) -> list:
    """`spec` given for each leaf of `tree`: an int or None covers a whole subtree, else
    `spec` is a tree of those shaped like `tree` (vmap's in_dims and out_dims)."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(_flatten(tree)[0])
    if isinstance(spec, dict) and isinstance(tree, dict) and spec.keys() == tree.keys():
        return [d for k in tree for d in _per_leaf(spec[k], tree[k], what)]
    if (isinstance(spec, (tuple, list)) and isinstance(tree, (tuple, list))
            and len(spec) == len(tree)):
        return [d for s, t in zip(spec, tree) for d in _per_leaf(s, t, what)]
    raise ValueError(f"vmap: {what}={spec!r} does not match the structure it applies to "
                     f"({type(tree).__name__} of {len(_flatten(tree)[0])} leaves)")


def _tensors(leaves: list, what: str) -> list[Tensor]:
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise TypeError(f"{what}: expected tensors, got {type(leaf).__name__}")
    return leaves


# --- the derivative transforms ------------------------------------------------------------
_level = threading.local()


@contextlib.contextmanager
def _transform() -> Iterator[bool]:
    """Grad mode on for a transform's body; yields whether this transform is the outermost
    (an inner one keeps its results in the graph, for the outer one to differentiate)."""
    depth = getattr(_level, "depth", 0)
    _level.depth = depth + 1
    try:
        with autograd.enable_grad():
            yield depth == 0
    finally:
        _level.depth = depth


def _track(args: tuple, argnums: int | tuple[int, ...], what: str
           ) -> tuple[list, list[Tensor], set, Callable[[list], Any]]:
    """(args with the tensors at `argnums` tracked by autograd, those tensors, the ids of the
    fresh leaves made for them, a function that regroups one value per tracked tensor into
    the structure of `argnums`: one tree, or a tuple of them).

    A tensor of the caller's that requires grad is tracked as it is, so an outer graph
    reaches it; any other gets a fresh leaf sharing its data."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    args, leaves, own, builds = list(args), [], set(), []
    for i in nums:
        if not isinstance(i, int) or not -len(args) <= i < len(args):
            raise RuntimeError(f"{what}: argnums {argnums!r} out of range for a function of "
                               f"{len(args)} positional arguments")
        flat, build = _flatten(args[i])
        tracked = [t if t.requires_grad else t.detach().requires_grad_()
                   for t in _tensors(flat, what)]
        own.update(id(t) for t, orig in zip(tracked, flat) if t is not orig)
        args[i] = build(tracked)
        builds.append((len(tracked), build))
        leaves += tracked

    def regroup(values: list) -> Any:
        groups, i = [], 0
        for n, build in builds:
            groups.append(build(values[i:i + n]))
            i += n
        return tuple(groups) if isinstance(argnums, tuple) else groups[0]

    return args, leaves, own, regroup


def _reaches_caller(t: Tensor, own: set) -> bool:
    """Whether `t`'s graph leads to a leaf that requires grad other than our fresh ones."""
    todo, seen = [t], set()
    while todo:
        t = todo.pop()
        if not t.requires_grad or id(t) in seen:
            continue
        seen.add(id(t))
        if t._ctx is None:
            if id(t) not in own:
                return True
        else:
            todo.extend(t._ctx.parents or ())
    return False


def _release(tree: Any, outermost: bool, own: set) -> Any:
    """At the outermost transform, the tensors of `tree` out of the graph unless they depend
    on a tensor of the caller's that requires grad (as PyTorch's results are)."""
    if not outermost:
        return tree
    leaves, build = _flatten(tree)
    return build([t.detach() if isinstance(t, Tensor) and not _reaches_caller(t, own) else t
                  for t in leaves])


def _outputs(out: Any, has_aux: bool, what: str) -> tuple[Any, Any]:
    """(func's output, its aux) from what func returned."""
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise RuntimeError(f"{what}: with has_aux=True, func must return a (output, aux) "
                           f"tuple, got {type(out).__name__}")
    return out


def _unit(t: Tensor, i: int) -> Tensor:
    """The tensor shaped like `t` that is 1 at flat index i and 0 elsewhere."""
    e = zeros(t.numel(), dtype=t.dtype)
    e[i] = 1
    return e.reshape(t.shape)


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """A function returning (d func / d args[argnums], func(*args)) for a single-element
    func; with has_aux, func returns (value, aux) and the result is (grads, (value, aux)).
    An argument may be a tree (tuple, list, dict) of tensors: its gradient is one too."""
    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> tuple:
        with _transform() as outermost:
            args, leaves, own, regroup = _track(args, argnums, "grad")
            value, aux = _outputs(func(*args, **kwargs), has_aux, "grad")
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise RuntimeError(f"grad: func must return a single-element tensor, got "
                                   f"{getattr(value, 'shape', type(value).__name__)}")
            grads = _grads((value,), tuple(leaves), (ones_like(value),), create_graph=True)
        result = regroup(list(grads)), ((value, aux) if has_aux else value)
        return _release(result, outermost, own)

    return wrapped


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning d func / d args[argnums] (and aux, with has_aux)."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(func(*primals), vjp_fn[, aux]): `vjp_fn(cotangents)` (shaped like the output) gives
    the vector-Jacobian product, a tuple with one entry per primal; it can be called again."""
    with _transform() as outermost:
        args, leaves, own, regroup = _track(primals, tuple(range(len(primals))), "vjp")
        out, aux = _outputs(func(*args), has_aux, "vjp")
    outs = _tensors(_flatten(out)[0], "vjp")

    def vjp_fn(cotangents: Any) -> tuple:
        cots = _tensors(_flatten(cotangents)[0], "vjp_fn")
        if [c.shape for c in cots] != [o.shape for o in outs]:
            raise RuntimeError(f"vjp_fn: expected cotangents of shapes "
                               f"{[o.shape for o in outs]}, got {[c.shape for c in cots]}")
        with _transform():
            grads = _grads(tuple(outs), tuple(leaves), tuple(cots), create_graph=True)
        return _release(regroup(list(grads)), outermost, own)

    result = (_release(out, outermost, own), vjp_fn)
    return result + (_release(aux, outermost, own),) if has_aux else result


def _linearized(func: Callable, primals: tuple, has_aux: bool, what: str) -> tuple:
    """(output, push, aux), where push(tangents) is the Jacobian-vector product: the
    derivative, along u, of the vector-Jacobian product u -> u^T J (linear in u)."""
    if not isinstance(primals, (tuple, list)):
        raise RuntimeError(f"{what}: expected primals to be a tuple, got "
                           f"{type(primals).__name__}")
    with _transform() as outermost:
        args, leaves, own, _ = _track(tuple(primals), tuple(range(len(primals))), what)
        out, aux = _outputs(func(*args), has_aux, what)
        outs, build = _flatten(out)
        dummies = tuple(zeros_like(o).requires_grad_() for o in _tensors(outs, what))
        pulled = _grads(tuple(outs), tuple(leaves), dummies, create_graph=True)

    def push(tangents: Any) -> Any:
        tans = _tensors(_flatten(list(tangents))[0], what)
        if [t.shape for t in tans] != [t.shape for t in leaves]:
            raise RuntimeError(f"{what}: expected tangents of shapes "
                               f"{[t.shape for t in leaves]}, got {[t.shape for t in tans]}")
        with _transform():
            products = _grads(pulled, dummies, tuple(tans), create_graph=True)
        return _release(build(list(products)), outermost, own)

    return _release(out, outermost, own), push, _release(aux, outermost, own)


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """(func(*primals), J @ tangents[, aux]), tangents shaped like primals."""
    out, push, aux = _linearized(func, primals, has_aux, "jvp")
    return (out, push(tangents), aux) if has_aux else (out, push(tangents))


def linearize(func: Callable, *primals: Any) -> tuple[Any, Callable]:
    """(func(*primals), jvp_fn): `jvp_fn(*tangents)` gives J @ tangents, reusing one graph."""
    out, push, _ = _linearized(func, primals, False, "linearize")
    return out, lambda *tangents: push(tangents)


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """A function returning the Jacobian of func at args[argnums], of shape
    output.shape + input.shape for each output and input, one row (a vector-Jacobian product
    with a unit vector) per output element."""
    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _transform() as outermost:
            args, leaves, own, regroup = _track(args, argnums, "jacrev")
            out, aux = _outputs(func(*args, **kwargs), has_aux, "jacrev")
            outs, build = _flatten(out)
            blocks = []
            for o in _tensors(outs, "jacrev"):
                rows = [_grads((o,), tuple(leaves), (_unit(o, i),), create_graph=True)
                        for i in range(o.numel())]
                blocks.append(regroup([
                    (stack([row[k] for row in rows]) if rows
                     else zeros((0,) + t.shape, dtype=t.dtype)).reshape(o.shape + t.shape)
                    for k, t in enumerate(leaves)]))
        jac = build(blocks)
        return _release((jac, aux) if has_aux else jac, outermost, own)

    return wrapped


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """jacrev's Jacobian, built column by column: one Jacobian-vector product with a unit
    vector per input element (cheaper than jacrev when the inputs are the smaller side)."""
    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _transform() as outermost:
            args, leaves, own, regroup = _track(args, argnums, "jacfwd")
            out, aux = _outputs(func(*args, **kwargs), has_aux, "jacfwd")
            outs, build = _flatten(out)
            dummies = tuple(zeros_like(o).requires_grad_() for o in _tensors(outs, "jacfwd"))
            pulled = _grads(tuple(outs), tuple(leaves), dummies, create_graph=True)
            columns = [[_grads((p,), dummies, (_unit(t, j),), create_graph=True)
                        for j in range(t.numel())] for p, t in zip(pulled, leaves)]
            blocks = [regroup([
                (stack([col[i] for col in cols], dim=-1) if cols
                 else zeros(o.shape + (0,), dtype=o.dtype)).reshape(o.shape + t.shape)
                for cols, t in zip(columns, leaves)]) for i, o in enumerate(outs)]
        jac = build(blocks)
        return _release((jac, aux) if has_aux else jac, outermost, own)

    return wrapped


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """A function returning the matrix of second derivatives of a single-element func:
    the Jacobian (jacfwd) of its gradient (jacrev), as PyTorch composes it."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap ---------------------------------------------------------------------------------
def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """func mapped over a dim of its inputs: `vmap(f)(x)[i] == f(x[i])`.

    in_dims names the mapped dim of each positional argument (an int, None for an argument
    passed whole, or a tree of those matching the arguments); out_dims where the batch dim
    goes in each output. randomness: "error" refuses random ops inside func, "different"
    draws afresh for each element, "same" gives every element the same draws.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"vmap: randomness must be 'error', 'different' or 'same', got "
                           f"{randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size}")
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not isinstance(in_dims, (int, tuple, list)):
            raise ValueError(f"vmap({name}, in_dims={in_dims!r}): expected in_dims to be an "
                             f"int or a tuple matching the inputs")
        leaves, build = _flatten(args)
        dims = _per_leaf(in_dims if isinstance(in_dims, int) else tuple(in_dims), args,
                         "in_dims")
        sizes = []
        for i, (leaf, d) in enumerate(zip(leaves, dims)):
            if d is None:
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"vmap({name}, in_dims={in_dims!r}): got in_dim={d} for an "
                                 f"input of type {type(leaf).__name__}; only tensors can be "
                                 f"mapped over (use None as its in_dim)")
            if not -leaf.ndim <= d < leaf.ndim:
                raise ValueError(f"vmap({name}): in_dim={d} is out of range for an input of "
                                 f"shape {leaf.shape}")
            dims[i] = d % leaf.ndim
            sizes.append(leaf.shape[dims[i]])
        if not sizes:
            raise ValueError(f"vmap({name}, in_dims={in_dims!r}): at least one input must be "
                             f"mapped over (every in_dim is None)")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")

        n = sizes[0]

        def element(i: int) -> Any:
            return func(*build([leaf if d is None else _sample(leaf, d, i)
                                for leaf, d in zip(leaves, dims)]), **kwargs)

        results = _mapped(element, max(n, 1), randomness, name)
        build_out = _flatten(results[0])[1]
        columns = list(zip(*(_flatten(r)[0] for r in results)))
        stacked = []
        for column, d in zip(columns, _per_leaf(out_dims, results[0], "out_dims")):
            if d is None:
                stacked.append(column[0])
                continue
            if not isinstance(column[0], Tensor):
                raise ValueError(f"vmap({name}, ...): {name} must only return Tensors, got "
                                 f"type {type(column[0]).__name__} (out_dims=None passes it "
                                 f"through)")
            out = stack(list(column), dim=d)
            stacked.append(out.narrow(d % out.ndim, 0, 0) if n == 0 else out)
        return build_out(stacked)

    return wrapped


def _sample(t: Tensor, d: int, i: int) -> Tensor:
    """Element i along dim d of t. Of a batch of 0, zeros of an element's shape: func runs
    once on them to learn the shapes of its outputs, which are then emptied."""
    if t.shape[d] == 0:
        return zeros(t.shape[:d] + t.shape[d + 1:], dtype=t.dtype)
    return t.select(d, i)


def _mapped(element: Callable[[int], Any], n: int, randomness: str, name: str) -> list:
    """[element(0), ..., element(n - 1)] under vmap's randomness rule."""
    state = rng.generator().bit_generator.state
    results = []
    for i in range(n):
        if randomness == "same":
            rng.generator().bit_generator.state = state
        results.append(element(i))
    if randomness == "error" and rng.generator().bit_generator.state != state:
        raise RuntimeError(f"vmap({name}): called random operation while in randomness error "
                           f"mode. Please either use the 'same' or 'different' randomness "
                           f"flags on vmap or perform the randomness operation out of vmap")
    return results
