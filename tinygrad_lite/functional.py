"""`tl.functional`: the functions PyTorch also exports from `torch.functional` (einsum,
meshgrid, norm, split, ...), for code that imports them from there. They are the package's
own `tl.einsum` and so on; nothing is defined here."""
from __future__ import annotations

from . import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    cdist,
    chain_matmul,
    einsum,
    lu,
    meshgrid,
    norm,
    split,
    tensordot,
    unique,
    unique_consecutive,
    unravel_index,
)

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
           "broadcast_tensors", "cartesian_prod", "cdist", "chain_matmul", "einsum", "lu",
           "meshgrid", "norm", "split", "tensordot", "unique", "unique_consecutive",
           "unravel_index"]
