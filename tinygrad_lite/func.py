"""PyTorch's `torch.func` basics: `functional_call` (a module run with other parameters, as
MAML-style code does) and the transforms `grad` / `grad_and_value`, built on
`autograd.grad(create_graph=True)` so that they nest (`grad(grad(f))`). There is no `vmap`.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from . import autograd
from .nn.module import Module
from .tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value"]


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


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """A function returning (d func / d args[argnums], func(*args)) for a scalar func; with
    has_aux, func returns (value, aux) and the result is ((grads, (value, aux)))."""
    def wrapped(*args: Any, **kwargs: Any) -> tuple:
        nums = argnums if isinstance(argnums, tuple) else (argnums,)
        args = list(args)
        for i in nums:  # NOTE: a fresh view in the graph, so the caller's tensor is untouched
            args[i] = args[i] if args[i].requires_grad else args[i].detach().requires_grad_()
        with autograd.enable_grad():
            out = func(*args, **kwargs)
            value, aux = out if has_aux else (out, None)
            if value.numel() != 1:
                raise RuntimeError(f"grad: func must return a single-element tensor, got "
                                   f"shape {value.shape}")
            grads = autograd.grad(value, [args[i] for i in nums], create_graph=True,
                                  allow_unused=True, materialize_grads=True)
        grads = grads if isinstance(argnums, tuple) else grads[0]
        return grads, ((value, aux) if has_aux else value)

    return wrapped


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning d func / d args[argnums] (and aux, with has_aux)."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped
