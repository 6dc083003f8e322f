"""Module, Parameter and the containers, with PyTorch's module contract.

Assigning a `Parameter` to a module attribute registers it in `_parameters`, assigning a
`Module` registers it in `_modules`, and `register_buffer` puts a tensor that is state but
not learned (BatchNorm's running statistics) in `_buffers`; everything else (parameters(),
state_dict(), train(), repr) walks those dicts. Calling a module runs its forward pre-hooks,
`forward`, then its forward hooks, which is how the summary tool sees every layer without
touching its code.
"""
from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from ..autograd import RemovableHandle, is_grad_enabled, no_grad
from ..tensor import Tensor, float16, float32, float64, zeros


class Parameter(Tensor):
    """A tensor that a `Module` registers as one of its parameters when assigned to it.

    Parameters
    ----------
    data : Tensor or array-like
        The initial value (a Tensor's memory is shared, not copied).
    requires_grad : bool
        Whether the optimizer should see gradients for it (default True).

    Examples
    --------
    >>> w = Parameter(tl.zeros(2))
    >>> w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)

    Unlike a plain Tensor it has a `__dict__`, so code can tag parameters
    (`p._no_weight_decay = True`) as it does in PyTorch.
    """

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.detach() if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that a `Module` registers as a buffer when assigned to it: PyTorch's
    `nn.Buffer`, the attribute form of `register_buffer` (`persistent=False` keeps it out of
    `state_dict()`). The module keeps a plain Tensor sharing its memory.

    Examples
    --------
    >>> self.running_mean = nn.Buffer(tl.zeros(4))
    """

    __slots__ = ("persistent",)

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        data = Tensor(np.empty(0, np.float32)) if data is None else data
        super().__init__(data.detach() if isinstance(data, Tensor) else data,
                         requires_grad=isinstance(data, Tensor) and data.requires_grad)
        self.persistent = persistent


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        """PyTorch's text, which the tutorials print after loading a checkpoint."""
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


_LOAD_HINT = ("Nothing was loaded. Build the model with the checkpoint's layers and sizes, or "
              "pass strict=False to skip missing and unexpected keys.")


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (how PyTorch nests a child's repr)."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


def _handle(hooks: dict, hook: Callable, prepend: bool) -> RemovableHandle:
    """Register `hook` in `hooks` (last, or first with PyTorch's `prepend=True`)."""
    handle = RemovableHandle(hooks, hook)
    if prepend:  # NOTE: in place: the handle removes its hook from this very dict
        rest = [(k, v) for k, v in hooks.items() if k != handle.id]
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(rest)
    return handle


class Module:
    """Base class of every layer and model: subclass it, assign layers, define `forward`.

    Examples
    --------
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.fc2 = nn.Linear(2, 8), nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> [name for name, _ in MLP().named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool
    # state entries a checkpoint may lack (kept as they are then), as PyTorch allows for a
    # state dict without version metadata: BatchNorm's num_batches_tracked
    _optional_state: tuple[str, ...] = ()

    def __init__(self) -> None:
        # NOTE: object.__setattr__, because our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})
        # NOTE: the ids of the hooks registered with_kwargs=True, as PyTorch keeps them
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks_always_called", set())
        object.__setattr__(self, "_backward_pre_hooks", {})
        object.__setattr__(self, "_backward_hooks", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define it in "
                                  "the subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_pre_hooks:  # NOTE: checked first: most calls have no hooks
            for key, hook in list(self._forward_pre_hooks.items()):
                if key in self._forward_pre_hooks_with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        if not (isinstance(result, tuple) and len(result) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple "
                                               f"of (new_args, new_kwargs), but got {result}.")
                        args, kwargs = result
                    continue
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        wiring = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            wiring = _BackwardHookCall(self, args)
            args = wiring.args
        try:
            out = self.forward(*args, **kwargs)
        except Exception as e:
            if isinstance(e, (RuntimeError, ValueError, TypeError, IndexError)):
                _name_the_layer(e, self)
            self._run_always_called_hooks(args, kwargs)
            raise
        if self._forward_hooks:
            for key, hook in list(self._forward_hooks.items()):
                result = (hook(self, args, kwargs, out) if key in self._forward_hooks_with_kwargs
                          else hook(self, args, out))
                if result is not None:
                    out = result
        return out if wiring is None else wiring.wrap_outputs(out)

    def _run_always_called_hooks(self, args: tuple, kwargs: dict) -> None:
        """The forward hooks registered with `always_call=True`, after forward raised: with
        None for the output, as in PyTorch; an error of theirs is a warning, not a second
        error hiding the first."""
        for key, hook in list(self._forward_hooks.items()):
            if key not in self._forward_hooks_always_called:
                continue
            try:
                (hook(self, args, kwargs, None) if key in self._forward_hooks_with_kwargs
                 else hook(self, args, None))
            except Exception as e:  # noqa: BLE001  (forward's own error is re-raised)
                warnings.warn(f"a forward hook with always_call=True raised {e!r}, silenced "
                              "as forward itself raised", stacklevel=3)

    # --- attribute routing ------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        modules = self.__dict__.get("_modules")
        if isinstance(value, Buffer):
            if params is None:
                raise AttributeError(f"cannot assign Buffer {name!r} before Module.__init__()")
            plain = value.detach().requires_grad_(value.requires_grad)
            self.register_buffer(name, plain, value.persistent)
        elif isinstance(value, (Parameter, Module)):
            if params is None:
                raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before "
                                     f"Module.__init__(); call super().__init__() first in "
                                     f"{type(self).__name__}.__init__")
            # NOTE: remove it from the other table only, so a replaced entry keeps its place
            table, other = (params, modules) if isinstance(value, Parameter) else (modules, params)
            self.__dict__.pop(name, None)
            other.pop(name, None)
            self._drop_buffer(name)
            table[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (nn.Module or None expected)")
            modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when ordinary lookup fails: parameters and children live in the dicts
        for table in ("_parameters", "_buffers", "_modules"):
            members = self.__dict__.get(table, {})
            if name in members:
                return members[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for members in (self._parameters, self._buffers, self._modules):
            if name in members:
                del members[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _drop_buffer(self, name: str) -> None:
        self._buffers.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def register_buffer(self, name: str, tensor: Tensor | None,
                        persistent: bool = True) -> None:
        """Register `tensor` as state that is saved but not learned (e.g. running statistics).

        A buffer is an attribute, is in `state_dict()` (unless `persistent=False`) and is
        loaded by `load_state_dict`, but it is not in `parameters()`, so no optimizer
        updates it. `None` reserves the name and leaves it out of the state dict.

        Examples
        --------
        >>> self.register_buffer("running_mean", tl.zeros(4))
        """
        _check_name(name, "register_buffer")
        if name in self.__dict__ or name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} to "
                            f"buffer {name!r} (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name` (for names that are not identifiers, like "0")."""
        _check_name(name, "register_parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__} as "
                            f"parameter {name!r} (nn.Parameter or None required)")
        if name in self._modules or name in self._buffers:
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register `module` as the child `name` (for names that are not identifiers)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        _check_name(name, "add_module")
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._drop_buffer(name)
        self._modules[name] = module

    def register_module(self, name: str, module: "Module | None") -> None:
        """Alias of `add_module`, as in PyTorch."""
        self.add_module(name, module)

    # --- lookup by dotted name ---------------------------------------------------------------
    def get_submodule(self, target: str) -> "Module":
        """The descendant at the dotted path `target`; "" is this module itself.

        Raises AttributeError naming the first part of the path that is missing or is not a
        module, as PyTorch does.

        Examples
        --------
        >>> model.get_submodule("block.fc")
        Linear(in_features=4, out_features=3, bias=True)
        """
        module = self
        if target == "":
            return module
        for item in target.split("."):
            module = module._lookup(item, target)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module (in {target!r})")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path `target`, e.g. `"block.fc.weight"`."""
        path, _, name = target.rpartition(".")
        param = self.get_submodule(path)._lookup(name, target)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter (in {target!r})")
        return param

    def get_buffer(self, target: str) -> Tensor | None:
        """The buffer at the dotted path `target`, e.g. `"bn.running_mean"`."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        buffer = module._lookup(name, target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer (in {target!r})")
        return buffer

    def _lookup(self, item: str, target: str) -> Any:
        """The attribute `item` on the way along `target`, or an AttributeError naming it."""
        if not hasattr(self, item):
            children = ", ".join(self._modules) or "none"
            raise AttributeError(f"{type(self).__name__} has no attribute `{item}` (in "
                                 f"{target!r}; its children: {children})")
        return getattr(self, item)

    # --- traversal ------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, depth first, with dotted names.

        A module reached twice (shared) comes once unless `remove_duplicate=False`.
        """
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, _join(prefix, name), remove_duplicate)

    def modules(self, remove_duplicate: bool = True) -> Iterator["Module"]:
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, table: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) for the entries of `table` here and in every descendant."""
        seen = set()
        owners = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                  if recurse else [(prefix, self)])
        for owner, module in owners:
            for name, t in getattr(module, table).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield _join(owner, name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers comes once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, non-persistent buffers included."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and in every descendant (dropout reads it)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set `requires_grad` on every parameter (False freezes the module); return self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or fill it with zeros if `set_to_none=False`)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call `fn` on every child (recursively), then on this module; e.g. custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- dtypes and devices ----------------------------------------------------------------
    def _cast(self, cast: Callable[[Tensor], Tensor]) -> "Module":
        """Give every parameter, gradient and buffer the value `cast(t)`; return self.

        A parameter and its gradient stay the same objects (their memory is swapped), so an
        optimizer built before still holds them; buffers are replaced, as in PyTorch.
        """
        with no_grad():
            for module in self.modules():
                for p in module._parameters.values():
                    if p is not None:
                        p.data = cast(p)
                        if p.grad is not None:
                            p.grad.data = cast(p.grad)
                for name, b in module._buffers.items():
                    if b is not None:
                        module._buffers[name] = cast(b)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Cast the floating parameters and buffers to a dtype, in place; return self.

        PyTorch's forms: `to(dtype)`, `to("cpu")`, `to("cpu", dtype)`, `to(tensor)` (its
        dtype), and the keywords `device`, `dtype`, `non_blocking`. Integer buffers (e.g.
        BatchNorm's num_batches_tracked) keep their dtype. Everything lives on the CPU, so any
        other device is refused.

        Examples
        --------
        >>> model = nn.Linear(2, 1).to(tl.float64)
        >>> model.weight.dtype
        dtype('float64')
        """
        dtype = _to_dtype(args, kwargs)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")
        return self._cast(_floating_to(dtype))

    def float(self) -> "Module":
        """Cast the floating parameters and buffers to float32; return self."""
        return self._cast(_floating_to(float32))

    def double(self) -> "Module":
        """Cast the floating parameters and buffers to float64; return self."""
        return self._cast(_floating_to(float64))

    def half(self) -> "Module":
        """Cast the floating parameters and buffers to float16; return self."""
        return self._cast(_floating_to(float16))

    def type(self, dst_type: Any) -> "Module":
        """Cast every parameter and buffer, integer buffers too (as PyTorch does), to
        `dst_type`: a dtype or a name like "torch.DoubleTensor"; return self."""
        dtype = zeros(()).type(dst_type).dtype  # NOTE: Tensor.type resolves the names
        if dtype.kind != "f" and any(p.requires_grad for p in self.parameters()):
            raise RuntimeError(f"type: parameters that require grad must stay floating "
                               f"point, got {dtype}; call requires_grad_(False) first")
        return self._cast(lambda t: t.to(dtype))

    def cpu(self) -> "Module":
        """Return self: everything already lives on the CPU (for PyTorch code)."""
        return self

    def cuda(self, device: Any = None) -> "Module":
        """`to("cuda")`, which is refused with a message: there is no GPU here."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    # --- hooks ------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """`hook(module, args)` runs before forward; returning a value replaces the args.

        With `with_kwargs=True` it is `hook(module, args, kwargs)`, and returns None or a
        tuple (new_args, new_kwargs), as in PyTorch. `prepend=True` runs it before the hooks
        already registered (with every register_* method here).
        """
        handle = _handle(self._forward_pre_hooks, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; returning a value replaces it.

        With `with_kwargs=True` it is `hook(module, args, kwargs, output)`. With
        `always_call=True` it also runs when forward raises, with output None.
        """
        handle = _handle(self._forward_hooks, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> RemovableHandle:
        """`hook(module, grad_output)` runs in backward once the gradients w.r.t. this call's
        outputs are known; returning a tuple replaces them (and so everything upstream;
        with several outputs, only the last one to get its gradient takes the replacement).

        Only calls made after registering, with grad mode on, are hooked.
        """
        return _handle(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """`hook(module, grad_input, grad_output)` runs in backward once the gradients
        w.r.t. this call's positional inputs are known; returning a tuple replaces grad_input.

        Each tuple has one entry per positional argument (per output), None where that one
        gets no gradient; when no input requires grad, the hook runs with grad_output alone
        known, as in PyTorch. Unlike PyTorch, an input that does not require grad gets None
        even when another input does. With several inputs that require grad, only the
        gradient of the last one to arrive can be replaced (a RuntimeError says so).

        Examples
        --------
        >>> h = model.fc.register_full_backward_hook(
        ...     lambda m, gin, gout: print(gout[0].abs().max()))
        >>> h.remove()
        """
        return _handle(self._backward_hooks, hook, prepend)

    # --- state ----------------------------------------------------------------------------
    def _state(self) -> Iterator[tuple[str, Tensor]]:
        """What a state dict holds, in PyTorch's order: each module's parameters, then its
        persistent buffers, then its children's, depth first."""
        for owner, module in self.named_modules(remove_duplicate=False):
            for name, p in module._parameters.items():
                if p is not None:
                    yield _join(owner, name), p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    yield _join(owner, name), b

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict:
        """Every parameter and persistent buffer by dotted name, detached (shared memory, no
        graph), in a new OrderedDict or added to `destination`.

        Each key is `prefix + name` (so write "encoder.", with the dot, as in PyTorch);
        `keep_vars=True` gives the Parameter objects themselves. A parameter shared by two
        layers appears under both names, as in PyTorch.
        """
        out = OrderedDict() if destination is None else destination
        for name, t in self._state():
            out[prefix + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, in place, after checking that they
        all fit.

        Missing and unexpected keys (with `strict=True`) and shape mismatches (always) are
        reported together in one RuntimeError, and then nothing has been changed. Values
        are cast to each tensor's dtype. `assign=True` puts the given tensors themselves in
        place instead (memory shared, their dtype kept; a parameter keeps requires_grad),
        as in PyTorch.
        """
        own = dict(self._state())
        optional = {f"{prefix}.{name}" if prefix else name
                    for prefix, m in self.named_modules() for name in m._optional_state}
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        values, errors = {}, []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ".")
        for name, p in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            values[name] = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            if values[name].shape != p.shape:
                errors.append(f"size mismatch for {name}: copying a param with shape "
                              f"{values[name].shape} from checkpoint, the shape in current "
                              f"model is {p.shape}.")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:"
                               "\n\t" + "\n\t".join(errors) + "\n" + _LOAD_HINT)
        if assign:
            for name in values:
                self._assign(name, state_dict[name], own[name])
            return IncompatibleKeys(missing, unexpected)
        with no_grad():
            for name, value in values.items():
                own[name].copy_(value)
        return IncompatibleKeys(missing, unexpected)

    def _assign(self, name: str, value: Any, old: Tensor) -> None:
        """Put `value` itself where the state entry `name` is (load_state_dict(assign=True))."""
        owner, _, attr = name.rpartition(".")
        module = self.get_submodule(owner)
        new = value.detach() if isinstance(value, Tensor) else Tensor(np.asarray(value))
        if attr in module._parameters:
            module._parameters[attr] = Parameter(new, requires_grad=old.requires_grad)
        else:
            module._buffers[attr] = new

    # --- penalties ------------------------------------------------------------------------
    def _penalty(self) -> Tensor | None:
        """This module's own regularization terms (not its children's); None if it has none.

        Layers with penalties (Linear's L1/L2 strengths) override it.
        """
        return None

    def regularization_loss(self) -> Tensor:
        """The sum of the L1/L2 penalty terms of every layer in the tree.

        Add it to the data loss; autograd then gives l1 * sign(w) + 2 * l2 * w per weight.
        A model without penalties gives a 0-d zero tensor.

        Examples
        --------
        >>> model = nn.Linear(2, 64, weight_l2=5e-4, bias_l2=5e-4)
        >>> loss = F.binary_cross_entropy(out, y) + model.regularization_loss()
        """
        total = None
        for m in self.modules():
            term = m._penalty()
            if term is not None:
                total = term if total is None else total + term
        return zeros(()) if total is None else total

    # --- printing -------------------------------------------------------------------------
    def __dir__(self) -> list[str]:
        """The class's and instance's attributes plus the names of parameters, buffers and
        children (so tab completion shows `model.fc1`); names like "0" are left out."""
        names = [*dir(type(self)), *self.__dict__, *self._parameters, *self._modules,
                 *self._buffers]
        return sorted({name for name in names if not name[0].isdigit()})

    def extra_repr(self) -> str:
        """The text inside this module's parentheses, e.g. `in_features=2, out_features=8`."""
        return ""

    def _child_lines(self) -> list[str]:
        """One `(name): Child(...)` entry per child, for the repr."""
        return [f"({name}): {child!r}" for name, child in self._modules.items()]

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [_addindent(line, 2) for line in self._child_lines()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


class _BackwardHookCall:
    """One module call's wiring for full backward hooks, done with tensor hooks.

    Each tensor input that requires grad, and each tensor output, is replaced by an alias
    (`clone()`) that only this call sees, so the gradient a tensor hook catches on it is
    exactly this call's share (not that of other users of the same tensor), as PyTorch's
    BackwardHookFunction does. The engine runs nodes in reverse creation order, so every
    output alias is done before any input alias.
    """

    def __init__(self, module: Module, args: tuple) -> None:
        self.module = module
        self.n_args = len(args)
        self.grad_input: dict[int, Tensor] = {}
        self.grad_output: list = []
        self.output_slots: list[int] = []
        self.outputs_left = 0
        wrapped = list(args)
        self.input_slots = [i for i, a in enumerate(args)
                            if isinstance(a, Tensor) and a.requires_grad]
        for i in self.input_slots:
            wrapped[i] = self._alias(args[i], self._on_input, i)
        self.args = tuple(wrapped)

    @staticmethod
    def _alias(t: Tensor, on_grad: Callable, i: int) -> Tensor:
        alias = t.clone()
        alias.register_hook(lambda g: on_grad(i, g))
        return alias

    def wrap_outputs(self, out: Any) -> Any:
        single = isinstance(out, Tensor)
        outs = [out] if single else list(out) if type(out) in (tuple, list) else []
        self.grad_output = [None] * len(outs)
        self.output_slots = [i for i, o in enumerate(outs)
                             if isinstance(o, Tensor) and o.requires_grad]
        self.outputs_left = len(self.output_slots)
        for i in self.output_slots:
            outs[i] = self._alias(outs[i], self._on_output, i)
        if single:
            return outs[0]
        return type(out)(outs) if outs else out

    def _on_output(self, i: int, g: Tensor) -> Tensor | None:
        self.grad_output[i] = g
        self.outputs_left -= 1
        if self.outputs_left:
            return None
        self.outputs_left = len(self.output_slots)  # NOTE: ready for a retain_graph rerun
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, tuple(self.grad_output))
            if result is not None:
                self.grad_output = list(self._checked(result, len(self.grad_output),
                                                      "grad_output"))
        if not self.input_slots:
            self._call_hooks()
        return self.grad_output[i]

    def _on_input(self, i: int, g: Tensor) -> Tensor | None:
        self.grad_input[i] = g
        if len(self.grad_input) < len(self.input_slots):
            return None
        grads = self._call_hooks()
        replaced = [j for j in self.input_slots if j != i and grads[j] is not self.grad_input[j]]
        self.grad_input = {}
        if replaced:
            raise RuntimeError(f"full backward hook of {type(self.module).__name__}: replacing "
                               f"grad_input[{replaced[0]}] is not supported, its gradient "
                               "has already flowed on (only the last input's can be replaced)")
        return grads[i]

    def _call_hooks(self) -> tuple:
        grads = tuple(self.grad_input.get(j) for j in range(self.n_args))
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grads, tuple(self.grad_output))
            if result is not None:
                grads = self._checked(result, self.n_args, "grad_input")
        return grads

    def _checked(self, result: Any, n: int, what: str) -> tuple:
        result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if len(result) != n:
            raise RuntimeError(f"backward hook of {type(self.module).__name__} returned "
                               f"{len(result)} {what} entries, expected {n}")
        return result


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _name_the_layer(e: Exception, module: Module) -> None:
    """Prefix an error the library raised inside a layer with the layer's path in the model
    called (`MLP.fc1: Linear(...): expected ...`): only a parent knows its child's name.

    Every enclosing module call rewrites the prefix from the original message, so the
    outermost call's full path is what the user reads. Costs nothing unless something raised.
    """
    where = getattr(e, "_tl_layer", None)
    if where is None:
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        ours = os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE)
        if not ours or len(e.args) != 1 or not isinstance(e.args[0], str):
            return  # the user's own error, or one whose arguments are not just a message
        where = e._tl_layer = (module, e.args[0])
    layer, message = where
    path = next((name for name, m in module.named_modules() if m is layer), "")
    if path:
        e.args = (f"{type(module).__name__}.{path}: {message}",)


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{what}: name must be a non-empty string without '.', got {name!r}")


def _to_dtype(args: tuple, kwargs: dict) -> np.dtype | None:
    """The dtype among `Module.to`'s arguments (None if only a device), after checking that
    the device, if any, is the CPU."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, bool):
            continue  # non_blocking: nothing to wait for on the CPU
        elif isinstance(arg, (str, int)):
            device = arg
        else:
            dtype = arg
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"to: tinygrad_lite computes on the CPU only, got device {device!r}"
                           " (dtypes are written tl.float32, tl.float64, ...)")
    return None if dtype is None else np.dtype(dtype)


def _floating_to(dtype: np.dtype) -> Callable[[Tensor], Tensor]:
    """A cast to `dtype` for floating tensors that leaves integer and bool tensors alone."""
    return lambda t: t.to(dtype) if t.dtype.kind == "f" else t


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Container(Module):
    """What Sequential, ModuleList and ParameterList share: members kept in order in one of
    the module's tables (`_modules`, or `_parameters` for ParameterList) under "0", "1", ..."""

    _table = "_modules"

    def __len__(self) -> int:
        return len(self.__dict__[self._table])

    def __iter__(self) -> Iterator[Any]:
        return iter(self.__dict__[self._table].values())

    def _key(self, idx: int) -> str:
        """The name of the member at position `idx` (negative counts from the end)."""
        members = self.__dict__[self._table]
        n = len(members)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for "
                             f"{n} {self._table[1:]}")
        return list(members)[idx % n]

    def _at(self, idx: int) -> Any:
        """The member at position `idx` (negative counts from the end)."""
        return self.__dict__[self._table][self._key(idx)]

    def append(self, module: Module) -> "_Container":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, members: Any) -> "_Container":
        for member in members:
            self.append(member)
        return self

    __iadd__ = extend

    def __setitem__(self, idx: int, module: Module) -> None:
        """Replace the member at position `idx`; it keeps its name (and its place)."""
        self.add_module(self._key(idx), module)

    def __delitem__(self, idx: int | slice) -> None:
        """Remove the member(s) at `idx`; the rest are renamed "0", "1", ... as in PyTorch."""
        members = self.__dict__[self._table]
        doomed = list(members)[idx] if isinstance(idx, slice) else [self._key(idx)]
        self._renumber([v for k, v in members.items() if k not in doomed])

    def pop(self, idx: int | slice) -> Any:
        """Remove and return the member at `idx` (a container of them for a slice)."""
        value = self[idx]
        del self[idx]
        return value

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index` (`len(self)` appends); members are renamed
        "0", "1", ...

        NOTE: PyTorch's ModuleList.insert corrupts the list for a negative or too large
        index; here both containers follow Sequential.insert: negatives count from the end,
        anything outside [-len, len] is an IndexError.
        """
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.insert: {type(module).__name__} is not a "
                            "Module")
        values = list(self.__dict__[self._table].values())
        n = len(values)
        if not -n <= index <= n:
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for "
                             f"{n} {self._table[1:]}")
        values.insert(index + n if index < 0 else index, module)
        self._renumber(values)

    def _renumber(self, values: list) -> None:
        """Hold exactly `values`, named "0", "1", ... (in place: the table object is kept)."""
        members = self.__dict__[self._table]
        members.clear()
        members.update((str(i), v) for i, v in enumerate(values))


class Sequential(_Container):
    """Modules called in order, each on the previous one's output.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    >>> model[0], model[-1], model[:2], len(model)
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for module in args:
                self.append(module)

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):  # a slice keeps the children's names, as in PyTorch
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._at(idx)

    def insert(self, index: int, module: Module) -> "Sequential":
        super().insert(index, module)
        return self

    def __add__(self, other: "Sequential") -> "Sequential":
        """A new Sequential of both one's modules (the same module objects)."""
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential + {type(other).__name__}: add another Sequential")
        return Sequential(*self, *other)

    def __mul__(self, times: int) -> "Sequential":
        """A new Sequential that runs these modules `times` times over (the same objects, so
        the repeats share parameters, as in PyTorch)."""
        if not isinstance(times, int) or times <= 0:
            raise ValueError(f"Sequential * {times!r}: repeat a positive int number of times")
        return Sequential(*(list(self) * times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> "Sequential":
        self._renumber(list(self * times))
        return self

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(_Container):
    """A list of modules whose parameters the parent module sees (a plain list hides them).

    Examples
    --------
    >>> self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in range(3))
    """

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):  # a slice is renumbered from 0, as in PyTorch
            return ModuleList(list(self._modules.values())[idx])
        return self._at(idx)

    def __add__(self, other: Any) -> "ModuleList":
        return ModuleList([*self, *other])

    def _child_lines(self) -> list[str]:
        """Runs of equal reprs collapse to `(0-2): 3 x Linear(...)`, as PyTorch prints them."""
        lines: list[str] = []
        reprs = [repr(m) for m in self]
        start = 0
        for i, text in enumerate(reprs):
            if i + 1 < len(reprs) and reprs[i + 1] == text:
                continue
            lines.append(f"({i}): {text}" if start == i
                         else f"({start}-{i}): {i - start + 1} x {text}")
            start = i + 1
        return lines


class _ByName(Module):
    """The dict protocol over one of the module's own tables (`_modules` or `_parameters`),
    so the entries are registered members, not a plain dict the module cannot see."""

    _table: str

    def _entries(self) -> dict:
        return getattr(self, self._table)

    def __getitem__(self, key: str) -> Any:
        return self._entries()[key]

    def __delitem__(self, key: str) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def keys(self) -> Any:
        return self._entries().keys()

    def items(self) -> Any:
        return self._entries().items()

    def values(self) -> Any:
        return self._entries().values()

    def pop(self, key: str) -> Any:
        return self._entries().pop(key)

    def clear(self) -> None:
        self._entries().clear()


class ModuleDict(_ByName):
    """Modules by name, registered as children (a plain dict hides their parameters).

    Examples
    --------
    >>> heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "box": nn.Linear(8, 4)})
    >>> heads["cls"](x)
    """

    _table = "_modules"

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def update(self, modules: Any) -> None:
        """Add (name, module) pairs from a mapping or an iterable of pairs, in their order."""
        for key, module in _pairs(modules):
            self[key] = module


def _pairs(entries: Any) -> Iterator[tuple[str, Any]]:
    return iter(entries.items() if hasattr(entries, "items") else entries)


def _as_parameter(value: Any) -> Any:
    """A plain Tensor becomes a Parameter (as PyTorch's parameter containers do)."""
    return Parameter(value) if isinstance(value, Tensor) and not isinstance(value,
                                                                          Parameter) else value


def _describe(entries: Iterator[tuple[str, Any]]) -> str:
    """PyTorch's lines for a parameter container: `(0): Parameter containing: [...]`."""
    lines = []
    for key, p in entries:
        size = "x".join(str(n) for n in p.shape)
        lines.append(f"  ({key}): Parameter containing: [{p.dtype} of size {size}]")
    return "\n".join(lines)


class ParameterList(_Container):
    """A list of parameters that the parent module sees, named "0", "1", ...

    Tensors are wrapped into Parameters.

    Examples
    --------
    >>> self.scales = nn.ParameterList(nn.Parameter(tl.ones(4)) for _ in range(3))
    """

    _table = "_parameters"

    def __init__(self, values: Any = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ParameterList(list(self)[idx])
        return self._at(idx)

    def __setitem__(self, idx: int, value: Any) -> None:
        self.register_parameter(self._key(idx), _as_parameter(value))

    def append(self, value: Any) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extra_repr(self) -> str:
        return _describe(self._parameters.items())


class ParameterDict(_ByName):
    """Parameters by name that the parent module sees; Tensors are wrapped into Parameters.

    A plain dict is added in sorted key order, an OrderedDict in its own order (as in
    PyTorch).
    """

    _table = "_parameters"

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_parameter(value))

    def update(self, parameters: Any) -> None:
        entries = _pairs(parameters)
        if isinstance(parameters, dict) and not isinstance(parameters, OrderedDict):
            entries = iter(sorted(parameters.items()))
        for key, value in entries:
            self[key] = value

    def extra_repr(self) -> str:
        return _describe(self._parameters.items())
