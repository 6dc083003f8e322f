"""Weight averaging, as PyTorch's `torch.optim.swa_utils`: `AveragedModel` keeps a running
average of a model's weights (SWA's equal-weight mean, or an exponential moving average),
`SWALR` anneals the rate to a constant for the averaging phase, and `update_bn` recomputes
batch-norm statistics for the averaged weights.

Examples
--------
>>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
>>> for x, y in loader:
...     loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad()
...     ema.update_parameters(model)
"""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import no_grad
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor, int64, tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

AvgFn = Callable[[Tensor, Tensor, Any], Tensor]
MultiAvgFn = Callable[[list[Tensor], list[Tensor], Any], None]


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The exponential moving average of one tensor: decay * average + (1 - decay) * new."""
    return lambda averaged, current, num_averaged: decay * averaged + (1 - decay) * current


def get_swa_avg_fn() -> AvgFn:
    """The running mean of one tensor over the models averaged so far."""
    return lambda averaged, current, num_averaged: (
        averaged + (current - averaged) / (num_averaged + 1))


def _in_place(avg_fn: AvgFn) -> MultiAvgFn:
    """`avg_fn` applied to each pair of a list, written into the averages."""
    @no_grad()
    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Any) -> None:
        for a, c in zip(averaged, current):
            a.copy_(avg_fn(a, c, num_averaged))

    return update


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """get_ema_avg_fn for lists of tensors, in place."""
    return _in_place(get_ema_avg_fn(decay))


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """get_swa_avg_fn for lists of tensors, in place."""
    return _in_place(get_swa_avg_fn())


class AveragedModel(Module):
    """A copy of `model` whose weights are an average of the weights it is updated with.

    The first `update_parameters(model)` copies the model's weights; each later one folds
    them in with `multi_avg_fn` (lists, in place) or `avg_fn` (one tensor at a time), by
    default the equal-weight running mean of SWA. Buffers are copied from the model unless
    `use_buffers=True`, which averages them too. Calling it runs the averaged copy.
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _averaged(self, model: Module) -> Iterable[Tensor]:
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    @no_grad()
    def update_parameters(self, model: Module) -> None:
        """Fold `model`'s current weights into the average."""
        mine = [p.detach() for p in self._averaged(self.module)]
        theirs = [p.detach() for p in self._averaged(model)]
        n = self.n_averaged.item()
        if n == 0:
            for a, c in zip(mine, theirs):
                a.copy_(c)
        elif self.avg_fn is not None:
            _in_place(self.avg_fn)(mine, theirs, self.n_averaged)
        else:
            (self.multi_avg_fn or get_swa_multi_avg_fn())(mine, theirs, self.n_averaged)
        if not self.use_buffers:  # NOTE: the copy's buffers follow the model's
            for a, c in zip(self.module.buffers(), model.buffers()):
                a.copy_(c.detach())
        self.n_averaged += 1


@no_grad()
def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every batch norm's running statistics as the plain mean over one pass of
    `loader` (a batch may be a tensor, or a list or tuple whose first item is the input):
    the averaged weights need statistics of their own."""
    momenta = {m: m.momentum for m in model.modules()
               if isinstance(m, _BatchNorm)}
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.reset_running_stats()
        m.momentum = None  # NOTE: None makes the running statistics a cumulative mean
    for batch in loader:
        model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to `swa_lr` over `anneal_epochs` epochs ('cos' or 'linear'),
    then hold it there: the constant rate of SWA's averaging phase."""

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float],
                 anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        for lr, group in zip(_per_group("swa_lr", swa_lr, optimizer), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return t if self.anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    def get_lr(self) -> list[float]:
        # NOTE: recursive, as PyTorch's: the rate before annealing is recovered from the
        # group's current one, so a rate changed from outside carries on
        step = self.last_epoch if self.anneal_epochs else max(1, self.last_epoch)
        span = max(1, self.anneal_epochs)
        before = self._anneal(max(0.0, min(1.0, (step - 1) / span)))
        now = self._anneal(max(0.0, min(1.0, step / span)))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            start = swa_lr if before == 1 else (group["lr"] - before * swa_lr) / (1 - before)
            lrs.append(swa_lr * now + start * (1 - now))
        return lrs
