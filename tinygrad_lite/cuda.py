"""`tl.cuda`: the answers PyTorch gives on a machine without a GPU, so the usual
`device = "cuda" if torch.cuda.is_available() else "cpu"` line runs unchanged (everything
here runs on the CPU)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Nothing to seed without a GPU (PyTorch likewise ignores it then)."""


manual_seed_all = manual_seed
