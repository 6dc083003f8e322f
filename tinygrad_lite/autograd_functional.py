"""PyTorch's `torch.autograd.functional` (here `tl.autograd.functional`): Jacobians,
Hessians and their products with vectors, for functions of tensors.

Each is a few calls of `autograd.grad`: reverse mode gives a vector-Jacobian product per
backward; a Jacobian-vector product is the vector-Jacobian product of a vector-Jacobian
product (the "double backward" trick, which `create_graph=True` makes possible); a Hessian
is the Jacobian of the gradient.
"""
from __future__ import annotations

from typing import Any, Callable

from . import autograd
from .tensor import Tensor, ones_like, stack, zeros_like

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x: Any) -> tuple[tuple, bool]:
    """(x as a tuple of tensors, whether it was one already)."""
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _leaves(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs to differentiate with respect to: the caller's tensors when their graph is
    wanted (create_graph), else fresh leaves of the same values."""
    return tuple(t if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                 for t in inputs)


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool,
           strict: str = "") -> tuple:
    """d(sum(outputs * grad_outputs)) / d(inputs), zeros where an input is not used; with
    `strict` (the caller's name) an unused input is an error instead, as in PyTorch."""
    used = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if used:
        grads = autograd.grad([o for o, _ in used], inputs, [g for _, g in used],
                              retain_graph=True, create_graph=create_graph, allow_unused=True,
                              materialize_grads=not strict)
    else:
        grads = (None,) * len(inputs) if strict else tuple(zeros_like(t) for t in inputs)
    unused = [k for k, g in enumerate(grads) if g is None]
    if unused:
        raise RuntimeError(f"{strict}: the output of the function is independent of input "
                           f"{unused[0]}, which strict=True does not allow")
    return grads


def _result(values: tuple, was_tuple: bool, create_graph: bool) -> Any:
    values = values if create_graph else tuple(v.detach() for v in values)
    return values if was_tuple else values[0]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    inputs, inputs_tuple = _as_tuple(inputs)
    leaves = _leaves(inputs, create_graph)
    with autograd.enable_grad():
        outputs, outputs_tuple = _as_tuple(func(*leaves))
        if v is None:
            if any(o.numel() != 1 for o in outputs):
                raise RuntimeError("vjp: v can be omitted only when every output has one "
                                   "element")
            v = tuple(ones_like(o) for o in outputs)
        v, _ = _as_tuple(v)
        grads = _grads(outputs, leaves, v, create_graph, strict and "vjp")
    return (_result(outputs, outputs_tuple, create_graph),
            _result(grads, inputs_tuple, create_graph))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product, by differentiating the vector-
    Jacobian product u -> u^T J with respect to u (two backward passes)."""
    inputs, inputs_tuple = _as_tuple(inputs)
    if v is None:
        if any(t.numel() != 1 for t in inputs):
            raise RuntimeError("jvp: v can be omitted only when every input has one element")
        v = tuple(ones_like(t) for t in inputs)
    v, _ = _as_tuple(v)
    leaves = _leaves(inputs, create_graph)
    with autograd.enable_grad():
        outputs, outputs_tuple = _as_tuple(func(*leaves))
        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        grads = _grads(outputs, leaves, dummies, True, strict and "jvp")
        products = _grads(grads, dummies, v, create_graph)
    return (_result(outputs, outputs_tuple, create_graph),
            _result(products, outputs_tuple, create_graph))


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func / d inputs, of shape output.shape + input.shape (a tuple per output and
    input when either is a tuple), one backward pass per output element."""
    inputs, inputs_tuple = _as_tuple(inputs)
    leaves = _leaves(inputs, create_graph)
    with autograd.enable_grad():
        outputs, outputs_tuple = _as_tuple(func(*leaves))
        blocks = []
        for out in outputs:
            flat = out.reshape(-1)
            rows = [_grads((flat[i],), leaves, (ones_like(flat[i]),), create_graph,
                           strict and "jacobian") for i in range(flat.shape[0])]
            blocks.append(tuple(
                (stack([row[k] for row in rows]) if rows else zeros_like(t).reshape(0, -1)
                 ).reshape(out.shape + t.shape)
                for k, t in enumerate(leaves)))
    blocks = [_result(b, True, create_graph) for b in blocks]
    if not outputs_tuple:
        return blocks[0] if inputs_tuple else blocks[0][0]
    return tuple(b if inputs_tuple else b[0] for b in blocks)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The matrix of second derivatives of a scalar func: the Jacobian of its gradient."""
    inputs, inputs_tuple = _as_tuple(inputs)

    def gradient(*xs: Tensor) -> tuple:
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError(f"hessian: func must return one element, got shape "
                               f"{out.shape}")
        return _grads((out,), xs, (ones_like(out),), create_graph=True)

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return result if inputs_tuple else result[0][0]


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T H) for a scalar func: the gradient's vector-Jacobian product."""
    inputs, inputs_tuple = _as_tuple(inputs)
    v, _ = _as_tuple(v)
    leaves = _leaves(inputs, create_graph)
    with autograd.enable_grad():
        out = func(*leaves)
        if out.numel() != 1:
            raise RuntimeError(f"vhp: func must return one element, got shape {out.shape}")
        grads = _grads((out,), leaves, (ones_like(out),), True, strict and "vhp")
        products = _grads(grads, leaves, v, create_graph)
    return _result((out,), False, create_graph), _result(products, inputs_tuple, create_graph)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), H v); the Hessian of a twice-differentiable scalar is symmetric, so
    this is vhp's product."""
    return vhp(func, inputs, v, create_graph, strict)
