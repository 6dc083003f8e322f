"""Parametrizations, as PyTorch's `torch.nn.utils.parametrize`: a module's tensor computed,
on every access, from an unconstrained one by a small module (weight = f(original)), so an
optimizer that steps `original` keeps `weight` constrained (unit norm, orthogonal, ...).

`register_parametrization(module, "weight", f)` moves the parameter to
`module.parametrizations.weight.original` (the state_dict key changes the same way) and gives
the module a class of its own, `Parametrized<Class>`, whose `weight` property runs f.

Examples
--------
>>> class Symmetric(nn.Module):
...     def forward(self, x):
...         return x.triu() + x.triu(1).T
>>> layer = nn.Linear(3, 3)
>>> parametrize.register_parametrization(layer, "weight", Symmetric())
>>> tl.equal(layer.weight, layer.weight.T)
True
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from ...autograd import no_grad
from ...tensor import Tensor
from ..module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache: dict | None = None  # NOTE: {(id(module), name): tensor} inside `cached()`, else None


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Compute each parametrized tensor once inside the block (e.g. a weight used at every
    step of an RNN), not at every access."""
    global _cache
    outer = _cache
    _cache = {} if outer is None else outer
    try:
        yield
    finally:
        _cache = outer


def _register(module: Module, name: str, value: Tensor) -> None:
    """`value` as a parameter of `module` if it is one, else as a buffer."""
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to `original` (or to
    `original0`, `original1`, ... when the first one's `right_inverse` returns several)."""

    def __init__(self, modules: Sequence[Module], original: Tensor,
                 unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        new = self._inverted(original)
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:  # NOTE: the same object, so an optimizer made before still holds it
            if new is not original:
                original.data = new.detach().clone()
            _register(self, "original", original)
        else:
            for i, t in enumerate(new):
                t = t.detach().clone()
                _register(self, f"original{i}", Parameter(t, original.requires_grad)
                          if isinstance(original, Parameter) else t)

    def _originals(self) -> list[Tensor]:
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    @no_grad()
    def _inverted(self, value: Tensor) -> Any:
        """`value` through each parametrization's right_inverse, last to first: the
        original(s) that the chain maps to `value`."""
        for module in reversed(list(self)):
            if hasattr(module, "right_inverse"):
                value = module.right_inverse(value)
        return value

    @no_grad()
    def right_inverse(self, value: Tensor) -> None:
        """Set the originals so that the parametrized tensor becomes `value` (what assigning
        to `module.<name>` does)."""
        value = self._inverted(value)
        values = [value] if self.is_tensor else list(value)
        for original, v in zip(self._originals(), values, strict=True):
            original.copy_(v)

    def forward(self) -> Tensor:
        modules = list(self)
        x = modules[0](*self._originals())
        for module in modules[1:]:
            x = module(x)
        return x


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has any parametrization (or one on `tensor_name`)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    """The module's class before `register_parametrization` gave it one of its own."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def _parametrized_property(name: str) -> property:
    def get(self: Module) -> Tensor:
        if _cache is None:
            return self.parametrizations[name]()
        key = (id(self), name)
        if key not in _cache:
            _cache[key] = self.parametrizations[name]()
        return _cache[key]

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make `module.<tensor_name>` be `parametrization(original)`; a second registration on
    the same name applies after the first. Unless `unsafe`, the parametrized tensor must
    keep the original's shape and dtype."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        before = getattr(module, tensor_name)
        if not unsafe:
            with no_grad():
                _check_keeps(tensor_name, before.shape, before.dtype, parametrization(before))
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {tensor_name!r} of "
                         f"{type(module).__name__} is None")
    shape, dtype = original.shape, original.dtype
    chain = ParametrizationList([parametrization], original, unsafe=unsafe)
    if not unsafe:
        with no_grad():
            _check_keeps(tensor_name, shape, dtype, chain())
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = chain
    return module


def _check_keeps(name: str, shape: tuple, dtype: Any, after: Tensor) -> None:
    if after.shape != shape or after.dtype != dtype:
        raise ValueError(f"register_parametrization: the parametrization changes {name}'s "
                         f"shape or dtype: {shape} {dtype} -> {after.shape} {after.dtype} "
                         f"(unsafe=True allows it)")


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo the parametrizations of `tensor_name`: it becomes a plain parameter (or buffer)
    again, holding its current parametrized value (or the original, with
    leave_parametrized=False). The module gets its own class back with the last one."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with no_grad():
                original.data = getattr(module, tensor_name).detach().clone()
    elif leave_parametrized:
        value = getattr(module, tensor_name).detach().clone()
        original = Parameter(value, chain.original0.requires_grad) if isinstance(
            chain.original0, Parameter) else value
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module

