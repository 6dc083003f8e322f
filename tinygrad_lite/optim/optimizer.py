"""Optimizer: parameter groups, per-parameter state, and the step loop every optimizer shares.

A built-in optimizer only says how one parameter moves (`_update`); its math is a pure
function over numpy arrays that writes its outputs in place (`_sgd_update`, `_adam_update`,
...), so a faster backend can swap in one fused kernel per parameter behind the same call.
Updates work on the arrays directly, so they never record a graph. A custom optimizer may
instead override `step` and read `self.state[p]` (a dict made on first use), as in PyTorch.
"""
from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import backend as be
from ..autograd import RemovableHandle, enable_grad, mark_written
from ..tensor import Tensor


def _with_step_hooks(step: Callable) -> Callable:
    """`step` with the optimizer's pre and post hooks around the outermost call (a subclass's
    step that calls `super().step()` runs them once)."""
    @functools.wraps(step)
    def hooked(self: "Optimizer", *args: Any, **kwargs: Any) -> Any:
        pre, post = self._step_hooks
        if self._stepping or not (pre or post):
            return step(self, *args, **kwargs)
        self._stepping = True
        args = (self, *args)  # NOTE: as PyTorch passes them, the optimizer first
        try:
            for hook in list(pre.values()):
                changed = hook(self, args, kwargs)
                if changed is not None:
                    args, kwargs = changed
            result = step(*args, **kwargs)
            for hook in list(post.values()):
                hook(self, args, kwargs)
        finally:
            self._stepping = False
        return result
    return hooked


class Optimizer:
    """Base class: holds `param_groups` and `state`, and runs `step` over every parameter.

    Parameters
    ----------
    params : an iterable of Tensors or of (name, Tensor) pairs (`model.named_parameters()`:
        the group then keeps the names as "param_names"), or of dicts (parameter groups)
        with a "params" entry and any options that override `defaults` for that group.
    defaults : the optimizer's options, filled into every group that does not set them.

    Examples
    --------
    >>> opt = optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
    ...                  {"params": model[2].parameters()}], lr=0.01)
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of Tensors "
                            f"or of dicts, got a single {type(params).__name__}; wrap it in "
                            "a list")
        self.defaults = defaults
        self._step_hooks: tuple[dict, dict] = ({}, {})  # pre, post
        self._stepping = False
        self.param_groups: list[dict[str, Any]] = []
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list; pass the parameters of a "
                             "model that has some (model.parameters() is a generator: it is "
                             "empty the second time it is read)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own `step` runs its step hooks too (PyTorch wraps it the same way)."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """`hook(optimizer, args, kwargs)` before every `step`; it may return new
        `(args, kwargs)` for the step."""
        return RemovableHandle(self._step_hooks[0], hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """`hook(optimizer, args, kwargs)` after every `step`."""
        return RemovableHandle(self._step_hooks[1], hook)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])

    # --- groups -------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones come from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("add_param_group: parameters must be an ordered collection (a set "
                            "has no fixed order, so state could not be matched on load); use "
                            "a list")
        params = list(params)
        named = [isinstance(p, tuple) for p in params]
        if any(named):
            if not all(named):
                raise ValueError("add_param_group: some parameters come with names and some "
                                 "without; pass all as (name, Tensor) pairs, or none")
            param_group = {**param_group, "param_names": [name for name, _ in params]}
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (shape {p.shape}, made by "
                                 f"{p.grad_fn.op_name}); optimize the leaf it was computed from, "
                                 "or .detach().requires_grad_() it first")
        if any(("param_names" in g) != ("param_names" in param_group)
               for g in self.param_groups):
            raise ValueError("add_param_group: every parameter group should come with "
                             "parameter names, or none")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group; pass each parameter once")
        if len({id(p) for p in params}) != len(params):  # NOTE: PyTorch 2.13 warns, steps twice
            warnings.warn(f"{type(self).__name__}: a parameter group holds a parameter twice; "
                          "it is stepped once per appearance (PyTorch will make this an "
                          "error); pass each parameter once", UserWarning, stacklevel=3)
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        self.param_groups.append(group)

    _nonnegative: tuple[str, ...] = ()  # the options that must be >= 0
    _scalar_state: tuple[str, ...] = ("step",)  # state kept as 0-d float32 Tensors
    _factored_state: tuple[str, ...] = ()  # state reduced to size 1 along some dims

    def _check_options(self, group: dict[str, Any]) -> None:
        """Raise ValueError naming any option of `group` out of its range."""
        for name in self._nonnegative:
            self._require(group[name] >= 0, name, group[name], f"{name} >= 0")

    def _require(self, ok: bool, name: str, value: Any, expected: str) -> None:
        if not ok:  # NOTE: `not x >= 0` also refuses NaN
            raise ValueError(f"{type(self).__name__}: invalid {name}={value!r}; expected "
                             f"{expected}")

    # --- the training loop --------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (set it to None, or fill it with zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @_with_step_hooks
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return `closure()` if one is given.

        The closure re-evaluates the model and returns the loss (it runs with grad mode on).
        Parameters whose `.grad` is None are skipped, as in PyTorch. A group with
        `maximize=True` ascends: its gradients are negated before the rule sees them.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        backend, rule = be.active, self._rule  # NOTE: looked up once a step, not per tensor
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.numpy()
                backend.before_write(data)  # pending lazy reads of p run first
                # NOTE: the rule runs as one backend call, so TinyJit records and replays it
                backend.step_in_place(data, p.grad.numpy(), rule, self.state[p], group)
                mark_written(p)  # NOTE: a graph that saved p before this step is now stale
        return loss

    def _rule(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
              group: dict[str, Any]) -> None:
        """`_update`, ascending for a group with `maximize=True`."""
        self._update(p, -g if group.get("maximize") else g, state, group)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Move one parameter `p` in place, given its gradient `g`, its state and its group."""
        raise NotImplementedError(f"{type(self).__name__} defines neither step() nor "
                                  "_update(); override step(), as for a PyTorch optimizer")

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot in PyTorch's layout: parameters are replaced by their indices.

        `{"state": {index: {name: Tensor or number}}, "param_groups": [{options...,
        "params": [indices]}]}`; the index counts parameters across groups in order. State
        arrays are copies, so later steps do not change a saved snapshot. Parameters without
        state (an empty entry, e.g. SGD without momentum) are left out, as in PyTorch.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {index[id(p)]: {k: Tensor(v.numpy().copy()) if isinstance(v, Tensor) else v
                                for k, v in s.items()}
                 for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state from `state_dict()` output (of this optimizer's kind).

        Groups are matched by position and must hold as many parameters as when saved; state
        arrays must fit their parameter's shape and are cast to its dtype. Nothing changes
        unless everything fits. Array-like entries (PyTorch's tensors too) become copies in
        this library's Tensor, so loading `torch_opt.state_dict()` works and shares nothing.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             "'param_groups' (the output of Optimizer.state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        by_index: dict[Any, Tensor] = {}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameters in the state dict but "
                                 f"{len(group['params'])} in this optimizer")
            by_index.update(zip(saved["params"], group["params"]))
            new_group = {**self.defaults, **saved, "params": group["params"]}
            if "param_names" in group:  # NOTE: a snapshot without names keeps the current ones
                new_group.setdefault("param_names", group["param_names"])
            self._check_options(new_group)
            new_groups.append(new_group)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key!r}, which "
                                 "no parameter group lists")
            p = by_index[key]
            new_state[p] = {k: self._load_state_entry(
                k, v, p, f"{name}.load_state_dict: state {key}.{k}")
                for k, v in saved_state.items()}
        # NOTE: into the dicts and arrays there are, in place: a TinyJit replay of a step
        # holds them, and would otherwise go on from the state before the load
        for group, new_group in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new_group)
        for p in set(self.state) | set(new_state):
            _load_in_place(self.state[p], new_state.get(p, {}))

    def _load_state_entry(self, key: Any, value: Any, p: Tensor, where: str) -> Any:
        """One saved state entry of parameter `p` as this optimizer keeps it."""
        return _state_value(key, value, p, where, self._scalar_state, self._factored_state)

    def _all_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]


def _load_in_place(state: dict[str, Any], loaded: dict[str, Any]) -> None:
    """Make `state` hold `loaded`'s entries, writing a loaded tensor into the state's tensor
    of the same shape and dtype rather than replacing it."""
    for key in [k for k in state if k not in loaded]:
        del state[key]
    for key, value in loaded.items():
        old = state.get(key)
        if (isinstance(old, Tensor) and isinstance(value, Tensor) and old.shape == value.shape
                and old.dtype == value.dtype):
            old.copy_(value)
        else:
            state[key] = value


def _state_value(key: Any, value: Any, p: Tensor, where: str,
                 scalars: tuple[str, ...] = ("step",), factored: tuple[str, ...] = ()) -> Any:
    """A saved state entry as this optimizer keeps it: anything with `__array__` (a Tensor, an
    ndarray, a torch.Tensor) becomes a Tensor copy in p's dtype, and the scalar entries (the
    step count; ASGD's eta and mu) 0-d float32 Tensors (also from the plain numbers older
    snapshots hold)."""
    if key in scalars:
        return Tensor(np.array(value, dtype=np.float32))
    if not hasattr(value, "__array__"):
        return value
    arr = np.asarray(value)
    shaped = (arr.ndim == p.ndim and all(n in (1, m) for n, m in zip(arr.shape, p.shape))
              if key in factored else arr.shape == p.shape)  # NOTE: factored: size 1 in a dim
    if not shaped:
        raise ValueError(f"{where} has shape {arr.shape}, but its parameter has shape {p.shape}")
    return Tensor(arr.astype(p.dtype, copy=True))


def _next_step(state: dict[str, Any]) -> int:
    """Count one more step in `state["step"]` and return the count (from 1).

    The count is a 0-d float32 Tensor, as PyTorch keeps it (user code calls
    `state["step"].item()`), bumped in place so a step allocates nothing.
    """
    if "step" not in state:
        state["step"] = Tensor(np.zeros((), np.float32))
    count = state["step"].numpy()
    count += 1
    return int(count)


def _buffer(state: dict[str, Any], name: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """The array `state[name]`, made on first use with the shape and dtype of `like`."""
    if name not in state:
        state[name] = Tensor(np.full_like(like, fill))
    return state[name].numpy()


# --- pieces several update rules share (each works in place on numpy arrays) -----------------
def _decay_weights(p: np.ndarray, g: np.ndarray, *, lr: float, weight_decay: float,
                   decoupled: bool) -> np.ndarray:
    """The gradient a step should use after weight decay: `g + weight_decay * p` (L2), or `g`
    itself when `decoupled`, in which case `p` shrinks by `1 - lr * weight_decay` instead."""
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    return g


def _average(avg: np.ndarray, x: np.ndarray, decay: float) -> None:
    """`avg = decay * avg + (1 - decay) * x` in place, written as PyTorch's `lerp_` is."""
    avg += (1 - decay) * (x - avg)


def _average_squares(avg: np.ndarray, x: np.ndarray, decay: float) -> None:
    """`avg = decay * avg + (1 - decay) * x * x` in place (PyTorch's `mul_` then `addcmul_`)."""
    avg *= decay
    avg += (1 - decay) * x * x
