"""Learning-rate schedules: each `step()` sets every parameter group's "lr" for the next epoch.

Call `scheduler.step()` after `optimizer.step()`, once per epoch (or per batch, if that is
your unit). The values match PyTorch's schedulers step for step; the recursive ones
(StepLR, ExponentialLR, CosineAnnealingLR) compute the new rate from the current one, as
PyTorch does, so a rate changed by hand carries on from there.

The seeds' decay `lr / (1 + decay * t)` is
`LambdaLR(optimizer, lambda t: 1 / (1 + decay * t))`.
"""
from __future__ import annotations

import abc
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer


class LRScheduler(abc.ABC):
    """Base class: keeps `base_lrs` (each group's "initial_lr") and `last_epoch`.

    A subclass defines `get_lr()`: the rates for epoch `last_epoch`, already advanced.
    `last_epoch=-1` starts a schedule; a larger value resumes one whose optimizer groups
    already hold "initial_lr" (e.g. after `optimizer.load_state_dict`).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no "
                                   f"'initial_lr', so last_epoch={last_epoch} cannot resume a "
                                   "schedule; load the optimizer's state dict first, or start "
                                   "with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch + 1
        self._set_lrs(self._initial_lrs())

    def _initial_lrs(self) -> list[float]:
        """The rates at construction: a recursive schedule starts from the groups' own."""
        return [group["lr"] for group in self.optimizer.param_groups]

    @abc.abstractmethod
    def get_lr(self) -> list[float]:
        """The rates for `last_epoch`, one per parameter group."""

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """The rates the last `step()` (or the constructor) set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (save that one with its own state_dict)."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore `state_dict()` output of a scheduler of the same kind."""
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown keys "
                             f"{sorted(unknown)}; is this another scheduler's state?")
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """`lr = base_lr * lr_lambda(epoch)`: one function for every group, or a list of them.

    Examples
    --------
    >>> # the seeds' decay: lr / (1 + decay * t)
    >>> sched = LambdaLR(opt, lambda t: 1 / (1 + 1e-3 * t))
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    _initial_lrs = get_lr  # a closed form: the rate at the start is its own value there

    def state_dict(self) -> dict[str, Any]:
        """As the base, with plain functions stored as None (code is never saved); a
        callable object's attributes are stored instead, as PyTorch does."""
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved_fns = state.pop("lr_lambdas")
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved_fns):
            if attrs is not None:
                vars(fn).update(attrs)


class StepLR(LRScheduler):
    """Multiply the rate by `gamma` every `step_size` epochs.

    Examples
    --------
    >>> sched = StepLR(opt, step_size=30, gamma=0.1)  # 0.1 -> 0.01 at epoch 30 -> ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if not (isinstance(step_size, int) and step_size > 0):
            raise ValueError(f"StepLR: invalid step_size={step_size!r}; expected an int >= 1")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        scale = self.gamma if self.last_epoch % self.step_size == 0 else 1
        return [group["lr"] * scale for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply the rate by `gamma` every epoch: `lr = base_lr * gamma ** epoch`."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from base_lr down to `eta_min` over `T_max` epochs, then back up.

    Closed form: `eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`;
    the rates come from PyTorch's recursive form of it (equal to rounding error).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: invalid T_max={T_max!r}; expected T_max > 0")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T) % (2 * T) == 0:
            # NOTE: at the bottom the ratio below is 0/0; step back up by the first increment
            return [group["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [lo + ratio * (group["lr"] - lo) for group in self.optimizer.param_groups]
