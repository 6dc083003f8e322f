"""`tl.linalg`: the most used of `torch.linalg` (norms, inverse, determinant, solve), each
differentiable through the Tensor ops it is written in (Inverse and Det are primitives)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .tensor import Tensor


def _square(A: Tensor, op: str) -> Tensor:
    """A batch of square float matrices, or an error naming the shape."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: needs square matrices (..., n, n), got shape {A.shape}")
    return A._floating()


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None,  # noqa: A002
                keepdim: bool = False) -> Tensor:
    """The vector `ord`-norm over `dim` (over every element when None)."""
    return x.norm(ord, dim, keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1),  # noqa: A002
                keepdim: bool = False) -> Tensor:
    """'fro' (the root of the sum of squares), or the induced norms 1 / inf (the largest
    column / row sum of magnitudes) and -1 / -inf (the smallest), over the two dims `dim`."""
    if ord == "fro":
        return A.norm(2, dim, keepdim)
    if ord not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"linalg.matrix_norm: ord={ord!r} is not supported; use 'fro', 1, "
                         "-1, inf or -inf")
    rows, cols = (d % A.ndim for d in dim)
    summed, kept = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = A.abs().sum(summed, keepdim=True)
    out = sums.amax(kept, keepdim=True) if ord > 0 else sums.amin(kept, keepdim=True)
    return out if keepdim else out.squeeze(max(rows, cols)).squeeze(min(rows, cols))


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """PyTorch's `linalg.norm`: a matrix norm for two dims (a 2-D input without `dim`), else
    a vector norm (2 by default; over every element when `ord` and `dim` are both None)."""
    two_dims = (dim is None and ord is not None and x.ndim == 2) or (
        isinstance(dim, (tuple, list)) and len(dim) == 2)
    if two_dims:
        return matrix_norm(x, "fro" if ord is None else ord, tuple(dim or (-2, -1)), keepdim)
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in `A` (..., n, n)."""
    return ops.Inverse.apply(_square(A, "inv"))


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in `A` (..., n, n)."""
    return ops.Det.apply(_square(A, "det"))


def solve(A: Tensor, B: Tensor) -> Tensor:
    """X with A @ X = B, for B of shape (..., n) or (..., n, k); gradients flow to A and B."""
    A = _square(A, "solve")
    B = B if isinstance(B, Tensor) else Tensor(B)
    if B.ndim == A.ndim - 1:  # NOTE: a batch of vectors, as in PyTorch
        return (inv(A) @ B.unsqueeze(-1)).squeeze(-1)
    return inv(A) @ B
