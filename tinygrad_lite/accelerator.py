"""`tl.accelerator`: PyTorch's device-agnostic answers on a machine without one, so the
tutorials' `torch.accelerator.current_accelerator().type if torch.accelerator.is_available()
else "cpu"` runs unchanged (everything here runs on the CPU)."""
from __future__ import annotations

from .cuda import device_count, is_available

__all__ = ["current_accelerator", "device_count", "is_available"]


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator, only the CPU."""
    return None
