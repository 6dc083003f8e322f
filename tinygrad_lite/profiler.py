"""`tl.profiler.profile` (also `tl.autograd.profiler.profile`, as in PyTorch): how long each
op took while a block ran, printed as PyTorch's table.

While a profile is open, `Function.apply` and every op's `backward` are wrapped with a timer
(restored when it closes), so a run outside one pays nothing. Each recorded op is an event
named after its node (`Mul`, and `MulBackward0` for its gradient); `record_function(name)`
times a block of your own. Self time leaves out the events nested inside an event. Profile
from one thread at a time.
"""
from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from .autograd import Function

_open: list["profile"] = []  # the profile that record_function reports to


class FunctionEventAvg:
    """One row of `key_averages()`: an event's calls and times in µs, PyTorch's names."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    @property
    def cpu_time(self) -> float:
        """The average time of one call."""
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}"
                f"us cpu_time={self.cpu_time_total:.3f}us count={self.count}>")


def _us(t: float) -> str:
    return f"{t:.3f}us" if t < 1e3 else f"{t / 1e3:.3f}ms" if t < 1e6 else f"{t / 1e6:.3f}s"


class EventList(list):
    """The rows of `key_averages()`; `table()` prints them as PyTorch does."""

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_name_column_width: int = 55, **kwargs: Any) -> str:
        rows = sorted(self, key=lambda r: -getattr(r, sort_by)) if sort_by else list(self)
        total = sum(r.self_cpu_time_total for r in self) or 1.0
        heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                 "# of Calls"]
        rule = "-" * max_name_column_width + "  " + "  ".join(["-" * 12] * len(heads)) + "  "
        lines = [rule, f"{'Name':>{max_name_column_width}}  "
                 + "".join(f"{h:>12}  " for h in heads), rule]
        for r in rows[:row_limit]:
            cells = [f"{100 * r.self_cpu_time_total / total:.2f}%", _us(r.self_cpu_time_total),
                     f"{100 * r.cpu_time_total / total:.2f}%", _us(r.cpu_time_total),
                     _us(r.cpu_time), str(r.count)]
            lines.append(f"{r.key[:max_name_column_width]:>{max_name_column_width}}  "
                         + "".join(f"{c:>12}  " for c in cells))
        lines += [rule, f"Self CPU time total: {_us(total if self else 0.0)}", ""]
        return "\n".join(lines)


def _subclasses(cls: type) -> list[type]:
    found, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


class profile:  # noqa: N801  (PyTorch's name)
    """Time every op run inside the block; `key_averages().table()` prints the totals.

    PyTorch's keyword options (use_cuda, record_shapes, profile_memory, with_stack, ...)
    are accepted and change nothing here: everything runs on the CPU.
    """

    def __init__(self, enabled: bool = True, **options: Any) -> None:
        self.enabled = enabled
        self._rows: dict[str, FunctionEventAvg] = {}
        self._children: list[float] = []  # the time of events nested in each open event
        self._saved: list[tuple[type, str, Any]] = []

    def _timed(self, name: str, fn: Callable, /, *args: Any, **kwargs: Any) -> Any:
        self._children.append(0.0)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self._record(name, (time.perf_counter() - start) * 1e6)

    def _record(self, name: str, took: float) -> None:
        """Close the innermost open event: `took` µs, less its nested events' for self."""
        inner = self._children.pop()
        if self._children:
            self._children[-1] += took
        row = self._rows.get(name) or self._rows.setdefault(name, FunctionEventAvg(name))
        row.count += 1
        row.cpu_time_total += took
        row.self_cpu_time_total += took - inner

    def __enter__(self) -> "profile":
        if not self.enabled:
            return self
        timed, apply = self._timed, Function.__dict__["apply"].__func__

        def timed_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
            return timed(cls.__name__, apply, cls, *args, **kwargs)

        def timed_backward(original: Callable) -> Callable:
            def backward(ctx: Function, *args: Any, **kwargs: Any) -> Any:
                return timed(f"{ctx.op_name}Backward0", original, ctx, *args, **kwargs)
            return backward

        self._saved = [(Function, "apply", Function.__dict__["apply"])]
        Function.apply = classmethod(timed_apply)
        for cls in _subclasses(Function):
            original = cls.__dict__.get("backward")
            if inspect.isfunction(original):  # NOTE: not PyTorch-style staticmethods
                self._saved.append((cls, "backward", original))
                cls.backward = timed_backward(original)
        _open.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled:
            return
        for cls, name, value in reversed(self._saved):
            setattr(cls, name, value)
        self._saved = []
        _open.remove(self)

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """One row per event name: its calls, total and self times."""
        return EventList(self._rows.values())

    def table(self, **kwargs: Any) -> str:
        return self.key_averages().table(**kwargs)


class record_function:  # noqa: N801  (PyTorch's name)
    """Time this block as an event called `name` in the open profile (if any)."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self._prof: profile | None = None

    def __enter__(self) -> "record_function":
        self._prof = _open[-1] if _open else None
        if self._prof is not None:
            self._prof._children.append(0.0)
            self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._prof is not None:
            self._prof._record(self.name, (time.perf_counter() - self._start) * 1e6)
