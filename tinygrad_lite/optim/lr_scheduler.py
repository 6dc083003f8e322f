"""Learning-rate schedules: each `step()` sets every parameter group's "lr" for the next epoch.

Call `scheduler.step()` after `optimizer.step()`, once per epoch (or per batch, if that is
your unit); ReduceLROnPlateau takes the monitored metric, `step(val_loss)`. The values match
PyTorch's schedulers step for step; the recursive ones (StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, ConstantLR, LinearLR, MultiplicativeLR, PolynomialLR) compute the new
rate from the current one, as PyTorch does, so a rate changed by hand carries on from there.
SequentialLR and ChainedScheduler combine schedulers built on the same optimizer.

The seeds' decay `lr / (1 + decay * t)` is
`LambdaLR(optimizer, lambda t: 1 / (1 + decay * t))`.
"""
from __future__ import annotations

import abc
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from .optimizer import Optimizer


class LRScheduler(abc.ABC):
    """Base class: keeps `base_lrs` (each group's "initial_lr") and `last_epoch`.

    A subclass defines `get_lr()`: the rates for epoch `last_epoch`, already advanced; the
    constructor sets the epoch-0 rates from it, as PyTorch's does. `last_epoch=-1` starts a
    schedule; a larger value resumes one whose optimizer groups already hold "initial_lr"
    (e.g. after `optimizer.load_state_dict`).

    Examples
    --------
    >>> class Warmup(LRScheduler):
    ...     def get_lr(self):
    ...         return [base * min(1.0, (self.last_epoch + 1) / 4) for base in self.base_lrs]
    """

    # PyTorch's recursive ExponentialLR, CosineAnnealingLR, MultiplicativeLR, LinearLR and
    # PolynomialLR keep the groups' rates when built with last_epoch >= 0 (`_is_initial`);
    # the others already take the step into last_epoch + 1
    _resume_keeps_lr = False

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
        if last_epoch == -1:
            self._set_lrs(self._initial_lrs())
        elif self._resume_keeps_lr:
            self._set_lrs([group["lr"] for group in optimizer.param_groups])
        else:  # NOTE: a resumed schedule takes its step into last_epoch + 1 now, as PyTorch's
            self._set_lrs(self.get_lr())

    def _initial_lrs(self) -> list[float]:
        """The rates at construction (epoch 0)."""
        return self.get_lr()

    def _closed_form_lrs(self) -> list[float]:
        """The rates at `last_epoch` from `base_lrs` alone (PyTorch's `_get_closed_form_lr`),
        for a jump to any epoch; a schedule without a closed form uses `get_lr()`."""
        return self.get_lr()

    @abc.abstractmethod
    def get_lr(self) -> list[float]:
        """The rates for `last_epoch`, one per parameter group."""

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups.

        `epoch`, PyTorch's deprecated argument (it warns), jumps to that epoch instead.
        """
        if epoch is None:
            self.last_epoch += 1
            self._set_lrs(self.get_lr())
            return
        _warn_epoch_argument()
        self._jump_to(epoch)

    def _jump_to(self, epoch: int) -> None:
        self.last_epoch = epoch
        self._set_lrs(self._closed_form_lrs())

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


class _LRScheduler(LRScheduler):
    """The old name of `LRScheduler`, which PyTorch still accepts."""


class _RecursiveScheduler(LRScheduler):
    """A schedule whose `get_lr()` scales the current rates: it starts from the groups' own."""

    def _initial_lrs(self) -> list[float]:
        return _current_lrs(self.optimizer)


def _warn_epoch_argument() -> None:
    warnings.warn("the epoch argument of scheduler.step() is deprecated (as in PyTorch); call "
                  "step() once per epoch instead", UserWarning, stacklevel=3)


def _callable_state(fn: Callable[..., float] | None) -> dict[str, Any] | None:
    """What a state dict keeps of a user's function: a callable object's attributes, or None
    for a plain function (code is never saved), as PyTorch does."""
    return None if fn is None or isinstance(fn, types.FunctionType) else dict(vars(fn))


class _LambdaScheduler(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one function of the epoch per group."""

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        name = type(self).__name__
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"{name}: expected {n} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda should be a function of the epoch, got "
                                f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base, with plain functions stored as None (code is never saved); a
        callable object's attributes are stored instead, as PyTorch does."""
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [_callable_state(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved_fns = state.pop("lr_lambdas")
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved_fns):
            if attrs is not None:
                vars(fn).update(attrs)


class LambdaLR(_LambdaScheduler):
    """`lr = base_lr * lr_lambda(epoch)`: one function for every group, or a list of them.

    Examples
    --------
    >>> # the seeds' decay: lr / (1 + decay * t)
    >>> sched = LambdaLR(opt, lambda t: 1 / (1 + 1e-3 * t))
    """

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]


class MultiplicativeLR(_LambdaScheduler, _RecursiveScheduler):
    """Multiply each group's rate by `lr_lambda(epoch)` at every step (from epoch 1 on).

    Examples
    --------
    >>> sched = MultiplicativeLR(opt, lambda epoch: 0.95)  # same as ExponentialLR(opt, 0.95)
    """

    _resume_keeps_lr = True

    def get_lr(self) -> list[float]:
        return [group["lr"] * fn(self.last_epoch)
                for group, fn in zip(self.optimizer.param_groups, self.lr_lambdas)]


class StepLR(_RecursiveScheduler):
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

    def _closed_form_lrs(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class ExponentialLR(_RecursiveScheduler):
    """Multiply the rate by `gamma` every epoch: `lr = base_lr * gamma ** epoch`."""

    _resume_keeps_lr = True

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lrs(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(_RecursiveScheduler):
    """Follow half a cosine from base_lr down to `eta_min` over `T_max` epochs, then back up.

    Closed form: `eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`;
    the rates come from PyTorch's recursive form of it (equal to rounding error).
    """

    _resume_keeps_lr = True

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

    def _closed_form_lrs(self) -> list[float]:
        cos = math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * (1 + cos) / 2 for base in self.base_lrs]


def _current_lrs(optimizer: Optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


def _per_group(name: str, value: Any, optimizer: Optimizer) -> list[Any]:
    """`value` once per parameter group: a list of that length, or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values, but the optimizer has {n} "
                             "parameter groups; give one value, or one per group")
        return list(value)
    return [value] * n


class MultiStepLR(LRScheduler):
    """Multiply the rate by `gamma` at each epoch listed in `milestones`.

    Examples
    --------
    >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)  # 0.1, 0.01 at 30, 1e-3 at 80
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)  # a milestone listed twice decays twice
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return _current_lrs(self.optimizer)
        scale = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * scale for group in self.optimizer.param_groups]

    def _closed_form_lrs(self) -> list[float]:
        passed = sum(n for epoch, n in self.milestones.items() if epoch <= self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class _WarmupScheduler(LRScheduler):
    """Shared by ConstantLR and LinearLR: a fresh schedule starts at `lr * _start_factor()`."""

    @abc.abstractmethod
    def _start_factor(self) -> float:
        """The factor applied at epoch 0."""

    @abc.abstractmethod
    def _factor(self) -> float:
        """The factor applied to the base rates at `last_epoch` (the closed form)."""

    def _initial_lrs(self) -> list[float]:
        if self.last_epoch > 0:  # resuming: the groups already hold the rates
            return _current_lrs(self.optimizer)
        return [group["lr"] * self._start_factor() for group in self.optimizer.param_groups]

    def _closed_form_lrs(self) -> list[float]:
        return [base * self._factor() for base in self.base_lrs]


class ConstantLR(_WarmupScheduler):
    """Scale the rate by `factor` for the first `total_iters` epochs, then restore it.

    Examples
    --------
    >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)  # lr/2 for epochs 0-3, then lr
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: invalid factor={factor!r}; expected 0 <= factor <= 1")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _start_factor(self) -> float:
        return self.factor

    def _factor(self) -> float:
        return 1.0 if self.last_epoch >= self.total_iters else self.factor

    def get_lr(self) -> list[float]:
        if self.last_epoch != self.total_iters:
            return _current_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]


class LinearLR(_WarmupScheduler):
    """Scale the rate by a factor going linearly from `start_factor` to `end_factor` over
    `total_iters` epochs, then keep it (a linear warm-up with the defaults).

    Examples
    --------
    >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)  # lr/10 -> lr by epoch 10
    """

    _resume_keeps_lr = True

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: invalid start_factor={start_factor!r}; expected "
                             "0 < start_factor <= 1")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: invalid end_factor={end_factor!r}; expected "
                             "0 <= end_factor <= 1")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _start_factor(self) -> float:
        return self.start_factor

    def _factor(self) -> float:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * done

    def get_lr(self) -> list[float]:
        if self.last_epoch > self.total_iters:
            return _current_lrs(self.optimizer)
        # the ratio of consecutive factors on the line, so the rate is updated recursively
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * slope)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]


class PolynomialLR(_RecursiveScheduler):
    """Decay the rate to 0 over `total_iters` epochs: `base_lr * (1 - epoch/total_iters)^power`.

    Examples
    --------
    >>> sched = PolynomialLR(opt, total_iters=100, power=2.0)
    """

    _resume_keeps_lr = True

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        if not total_iters > 0:
            raise ValueError(f"PolynomialLR: invalid total_iters={total_iters!r}; expected "
                             "total_iters > 0")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, total = self.last_epoch, self.total_iters
        if t > total:
            return _current_lrs(self.optimizer)
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _closed_form_lrs(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * left**self.power for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: half a cosine from base_lr down to `eta_min` over `T_i` epochs, then restart;
    the first period is `T_0` and each next one `T_mult` times longer.

    `lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2`, with `T_cur`
    the epochs since the last restart.

    Examples
    --------
    >>> sched = CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)  # restarts at 10, 30, 70
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not (isinstance(T_0, int) and T_0 > 0):
            raise ValueError(f"CosineAnnealingWarmRestarts: invalid T_0={T_0!r}; expected an "
                             "int >= 1")
        if not (isinstance(T_mult, int) and T_mult >= 1):
            raise ValueError(f"CosineAnnealingWarmRestarts: invalid T_mult={T_mult!r}; "
                             "expected an int >= 1")
        self.T_0 = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_i, self.T_cur = T_0, last_epoch + 1
        if self.T_cur >= self.T_i:  # NOTE: resuming, PyTorch wraps once, as one step() does
            self.T_cur %= self.T_i
            self.T_i *= T_mult
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to `epoch`, which may be fractional (PyTorch's
        `scheduler.step(epoch + i / iters)` after every batch): T_cur and the period T_i
        are then found from it."""
        if epoch is None:
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
            super().step()
            return
        if epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch, "
                             f"got {epoch}")
        self.T_i, self.T_cur = self.T_0, epoch
        if epoch >= self.T_0 and self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        elif epoch >= self.T_0:  # NOTE: n whole periods T_0 * T_mult**k (k < n) lie behind
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    """From `start` (pct = 0) to `end` (pct = 1), along half a cosine or a line."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): warm up from `max_lr / div_factor` to `max_lr` over the first
    `pct_start` of `total_steps`, then anneal to `initial_lr / final_div_factor`.

    Step it once per batch. With `cycle_momentum`, SGD's momentum (or Adam's beta1) moves the
    opposite way, between `max_momentum` and `base_momentum`. `three_phase` anneals back to
    the initial rate first and then down to the minimum, as in the paper. `max_lr`,
    `base_momentum` and `max_momentum` may be lists (one value per parameter group).

    Examples
    --------
    >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: Literal["cos", "linear"] = "cos",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: {type(optimizer).__name__} is not an Optimizer")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and "
                                 "steps_per_epoch")
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not (isinstance(value, int) and value > 0):
                    raise ValueError(f"OneCycleLR: invalid {name}={value!r}; expected an "
                                     "int >= 1")
            total_steps = epochs * steps_per_epoch
        if not (isinstance(total_steps, int) and total_steps > 0):
            raise ValueError(f"OneCycleLR: invalid total_steps={total_steps!r}; expected an "
                             "int >= 1")
        if not (isinstance(pct_start, float) and 0 <= pct_start <= 1):
            raise ValueError(f"OneCycleLR: invalid pct_start={pct_start!r}; expected a float "
                             "in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: invalid anneal_strategy={anneal_strategy!r}; "
                             "expected 'cos' or 'linear'")
        self.total_steps = total_steps
        self._anneal_func_type = anneal_strategy
        # (last step of the phase, group keys of its start and end rate, then momentum)
        warmup_end = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._schedule_phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group("OneCycleLR: max_lr", max_lr, optimizer)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer, "OneCycleLR") == "betas"
            tops = _per_group("OneCycleLR: max_momentum", max_momentum, optimizer)
            bottoms = _per_group("OneCycleLR: base_momentum", base_momentum, optimizer)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, tops, bottoms):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rates at step `last_epoch`; also moves the momentum when cycling it."""
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is "
                             f"{self.total_steps}; the cycle is over")
        start = 0.0
        for phase in self._schedule_phases[:-1]:
            if t <= phase[0]:
                break
            start = phase[0]
        else:
            phase = self._schedule_phases[-1]
        end, lr_from, lr_to, m_from, m_to = phase
        pct = (t - start) / (end - start)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(_anneal(self._anneal_func_type, group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                _set_momentum(group, _anneal(self._anneal_func_type, group[m_from],
                                             group[m_to], pct), self.use_beta1)
        return lrs


def _momentum_key(optimizer: Optimizer, who: str) -> str:
    """The option a momentum-cycling scheduler moves: "momentum" (SGD, RMSprop) or "betas"."""
    for key in ("momentum", "betas"):
        if key in optimizer.defaults:
            return key
    raise ValueError(f"{who}: {type(optimizer).__name__} has neither momentum nor betas to "
                     "cycle; pass cycle_momentum=False")


def _set_momentum(group: dict[str, Any], value: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class CyclicLR(LRScheduler):
    """Cycle the rate between `base_lr` and `max_lr` (Smith's cyclical learning rates),
    rising for `step_size_up` steps and falling for `step_size_down` (default: the same).

    Step it once per batch. `mode` scales each cycle's height: "triangular" keeps it,
    "triangular2" halves it every cycle, "exp_range" multiplies it by `gamma` every step;
    or give your own `scale_fn` of the cycle (or, with scale_mode="iterations", of the
    step). With `cycle_momentum`, SGD's momentum (or Adam's beta1) moves the opposite way,
    between `max_momentum` and `base_momentum`. The rates and momenta may be lists (one per
    parameter group).

    Examples
    --------
    >>> sched = CyclicLR(opt, base_lr=1e-3, max_lr=0.1, step_size_up=4 * len(loader))
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None,
                 mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: Literal["cycle", "iterations"] = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: {type(optimizer).__name__} is not an Optimizer")
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR: invalid mode={mode!r}; expected 'triangular', "
                             "'triangular2' or 'exp_range', or give a scale_fn")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: invalid scale_mode={scale_mode!r}; expected 'cycle' "
                             "or 'iterations'")
        up = float(step_size_up)
        down = up if step_size_down is None else float(step_size_down)
        if not (up > 0 and down >= 0):
            raise ValueError(f"CyclicLR: invalid step sizes up={step_size_up!r}, "
                             f"down={step_size_down!r}; expected up > 0 and down >= 0")
        base_lrs = _per_group("CyclicLR: base_lr", base_lr, optimizer)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR: max_lr", max_lr, optimizer)
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # the built-in modes fix what they scale by: the cycle, or every step for exp_range
        self.scale_mode = (scale_mode if scale_fn is not None
                           else "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(optimizer, "CyclicLR") == "betas"
            self.base_momentums = _per_group("CyclicLR: base_momentum", base_momentum,
                                             optimizer)
            self.max_momentums = _per_group("CyclicLR: max_momentum", max_momentum, optimizer)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, self.max_momentums,
                                              self.base_momentums):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The height of the cycle at `x` (the cycle number, or the step), relative to the
        first."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma**x
        return 1.0

    def get_lr(self) -> list[float]:
        """The rates at step `last_epoch`; also moves the momentum when cycling it."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # how far into this cycle, 0..1
        if x <= self.step_ratio:
            rise = x / self.step_ratio
        else:
            rise = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * rise * scale
               for base, top in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, bottom, top in zip(self.optimizer.param_groups, self.base_momentums,
                                          self.max_momentums, strict=True):
                _set_momentum(group, top - (top - bottom) * rise * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As the base, with a custom `scale_fn` kept only as a callable object's
        attributes (None for a plain function), as PyTorch does."""
        state = super().state_dict()
        state["_scale_fn_custom"] = _callable_state(self._scale_fn_custom)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        attrs = state.pop("_scale_fn_custom")
        super().load_state_dict(state)
        if attrs is not None:
            vars(self._scale_fn_custom).update(attrs)


class _SchedulerList(LRScheduler):
    """Shared by SequentialLR and ChainedScheduler: checks the schedulers they wrap, and
    saves and restores their states along with its own."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
        name = type(self).__name__
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler, got none")
        for i, sched in enumerate(schedulers):
            if isinstance(sched, ReduceLROnPlateau):
                raise ValueError(f"{name}: schedulers[{i}] is a ReduceLROnPlateau, whose "
                                 "step needs a metric; step it yourself")
            if not isinstance(sched, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] is a {type(sched).__name__}, not "
                                "a learning-rate scheduler")
            if sched.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(sched).__name__}) "
                                 "belongs to another optimizer; build every scheduler on "
                                 "the same one")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)

    def get_lr(self) -> list[float]:
        """The groups' current rates (the wrapped schedulers set them)."""
        return _current_lrs(self.optimizer)

    def state_dict(self) -> dict[str, Any]:
        """As the base, with each wrapped scheduler's own state dict under "_schedulers"."""
        state = {k: v for k, v in vars(self).items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [sched.state_dict() for sched in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        if len(saved) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state dict holds "
                             f"{len(saved)} schedulers, this one wraps "
                             f"{len(self._schedulers)}")
        super().load_state_dict(state)
        for sched, sched_state in zip(self._schedulers, saved):
            sched.load_state_dict(sched_state)


class SequentialLR(_SchedulerList):
    """Run `schedulers` one after another, switching at each epoch in `milestones`.

    Each scheduler starts from its own epoch 0 when its turn comes: from the base rates, as
    PyTorch's closed forms do (MultiplicativeLR, which has none, multiplies on from the
    current rates).

    Examples
    --------
    >>> warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
    >>> decay = CosineAnnealingLR(opt, T_max=95)
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[5])
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        super().__init__(optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones (one "
                             f"fewer than schedulers), got {len(milestones)}")
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        # NOTE: each wrapped scheduler already applied its start when built; undo all of that
        # and start only the first
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first.last_epoch = 0
        first._set_lrs(first._initial_lrs())
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._jump_to(0)  # NOTE: PyTorch's restart: its closed form at epoch 0
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_SchedulerList):
    """Step every scheduler in `schedulers` at each `step()`, so their effects multiply.

    Examples
    --------
    >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2),
    ...                           ExponentialLR(opt, gamma=0.9)])
    """

    def __init__(self, schedulers: Sequence[LRScheduler],
                 optimizer: Optimizer | None = None) -> None:
        if schedulers and optimizer is None:
            optimizer = schedulers[0].optimizer
        super().__init__(optimizer, schedulers)
        self._last_lr = _current_lrs(self.optimizer)

    def step(self) -> None:
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _current_lrs(self.optimizer)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by `factor` once a metric has not improved for `patience` epochs.

    Call `step(metric)` once per epoch. "Improved" means below `best * (1 - threshold)` in
    mode 'min' with threshold_mode 'rel' (above `best * (1 + threshold)` in mode 'max'; the
    'abs' mode subtracts or adds `threshold` instead). After a reduction the scheduler waits
    `cooldown` epochs before counting again; no rate goes below its `min_lr`, and a change
    smaller than `eps` is skipped.

    Examples
    --------
    >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
    >>> for epoch in range(100):
    ...     train(); sched.step(validation_loss())
    """

    def __init__(self, optimizer: Optimizer, mode: Literal["min", "max"] = "min",
                 factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: Literal["rel", "abs"] = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an "
                            "Optimizer")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: invalid factor={factor!r}; expected "
                             "factor < 1")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode={mode!r}; expected 'min' or "
                             "'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: invalid threshold_mode={threshold_mode!r}; "
                             "expected 'rel' or 'abs'")
        self.optimizer = optimizer
        self.factor = factor
        self.min_lrs = _per_group("ReduceLROnPlateau: min_lr", min_lr, optimizer)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = _current_lrs(optimizer)
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def get_lr(self) -> list[float]:
        """The groups' current rates (only `step(metric)` changes them)."""
        return _current_lrs(self.optimizer)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel"
                            else best - threshold)
        return value > (best * (threshold + 1.0) if self.threshold_mode == "rel"
                        else best + threshold)

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element Tensor) and reduce the
        rates if it has not improved for more than `patience` epochs. `epoch`, PyTorch's
        deprecated argument, sets the epoch count instead of adding one to it."""
        current = float(metrics)
        if epoch is not None:
            _warn_epoch_argument()
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _current_lrs(self.optimizer)
