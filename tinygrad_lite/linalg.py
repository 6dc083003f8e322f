"""`tl.linalg`: torch.linalg's functions (norms, inv, det, solve, eigh, qr, svd, lu, lstsq,
pinv, cholesky, matrix_exp, ...). Values come from numpy's LAPACK; gradients from the Tensor
ops a function is written in, or, for the factorisations, from the derivative's linear map
(`_linearized`), whose adjoint autograd finds by itself.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable

import numpy as np

from . import ops
from .autograd import is_grad_enabled
from .tensor import Tensor, cat, eye, matmul, where, zeros


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
    """'fro' (the root of the sum of squares), 'nuc' (the sum of the singular values), 2 / -2
    (the largest / smallest singular value), or the induced norms 1 / inf (the largest
    column / row sum of magnitudes) and -1 / -inf (the smallest), over the two dims `dim`.
    The singular-value norms take their gradients from `svdvals` (U @ Vh for 'nuc')."""
    if ord == "fro":
        return A.norm(2, dim, keepdim)
    if ord not in ("nuc", 2, -2, 1, -1, np.inf, -np.inf):
        raise ValueError(f"linalg.matrix_norm: ord={ord!r} is not supported; use 'fro', 'nuc', "
                         "2, -2, 1, -1, inf or -inf")
    rows, cols = (d % A.ndim for d in dim)
    # NOTE: the largest of no values is 0 here, as in PyTorch (a norm is never negative), so
    # over an empty dim a max is the sum; a min over one raises
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((rows, cols), (-2, -1)))
        if ord == -2 and not s.shape[-1]:
            raise RuntimeError(f"linalg.matrix_norm: ord=-2 of an empty matrix (shape "
                               f"{A.shape}): it has no smallest singular value")
        out = s.sum(-1) if ord == "nuc" or ord == 2 and not s.shape[-1] else (
            s[..., 0] if ord == 2 else s[..., -1])
        return out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else out
    summed, kept = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = A.abs().sum(summed, keepdim=True)
    if ord > 0:
        out = (sums.amax if sums.shape[kept] else sums.sum)(kept, keepdim=True)
    else:
        out = sums.amin(kept, keepdim=True)
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


SLogDet = namedtuple("SLogDet", ["sign", "logabsdet"])
QR = namedtuple("QR", ["Q", "R"])
SVD = namedtuple("SVD", ["U", "S", "Vh"])


def _linearized(A: Tensor, value: np.ndarray, differential: Callable[[Tensor], Tensor]) -> Tensor:
    """`value` (computed by numpy) with the gradient of `differential`, the derivative's
    linear map at A: `value + differential(A - A.detach())` is `value` exactly (the second
    term is 0), and backward applies the adjoint of `differential`, which autograd finds by
    itself. First derivatives only."""
    out = Tensor(value, dtype=A.dtype)
    if not (A.requires_grad and is_grad_enabled()):
        return out
    return out + differential(A - A.detach())


def _mT(x: Tensor) -> Tensor:  # noqa: N802
    return x.transpose(-2, -1)


def _not_differentiable(value: np.ndarray, A: Tensor, op: str) -> Tensor:
    """`value` that refuses backward with a clear error, rather than a wrong gradient; for an
    empty A there is nothing to differentiate, and the gradient is (empty) zeros."""
    if A.numel() == 0:
        return A.sum() * 0 + Tensor(value, dtype=A.dtype)
    return ops.NoGradient.apply(A, value=value.astype(A.dtype, copy=False), op=op)


def slogdet(A: Tensor) -> SLogDet:
    """(sign, logabsdet) of each square matrix: the determinant's sign and log |det|, which
    does not overflow where det itself would."""
    A = _square(A, "slogdet")
    sign, logabs = np.linalg.slogdet(A.numpy())
    inv_t = _mT(Tensor(np.linalg.inv(A.numpy()) if np.all(sign != 0) else
                       np.full(A.shape, np.nan), dtype=A.dtype))
    # NOTE: d log|det A| = tr(A^-1 dA)
    out = _linearized(A, logabs, lambda dA: (inv_t * dA).sum((-2, -1)))
    return SLogDet(Tensor(sign, dtype=A.dtype), out)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A @ A @ ... (n times) by repeated squaring; n = 0 gives the identity, n < 0 powers of
    the inverse."""
    A = A if isinstance(A, Tensor) else Tensor(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"matrix_power: needs square matrices (..., n, n), got shape "
                           f"{A.shape}")
    if n < 0:
        A, n = inv(A), -n
    result = None
    while n:
        if n & 1:
            result = A if result is None else matmul(result, A)
        n >>= 1
        if n:
            A = matmul(A, A)
    if result is None:  # NOTE: in the graph with a zero gradient, as PyTorch's
        return where(np.zeros(A.shape, dtype=bool), A, eye(A.shape[-1], dtype=A.dtype))
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = I + A + A^2/2! + ..., by scaling and squaring: the series (18 terms) of
    A / 2^s, with ||A / 2^s|| <= 1, squared s times. Composed of matmuls, so differentiable."""
    A = _square(A, "matrix_exp")
    # NOTE: in float64 whatever the dtype: the squarings multiply rounding errors
    wide = A.double()
    norm = np.abs(wide.numpy()).sum(-2).max() if A.numel() else 0.0
    s = max(0, int(np.ceil(np.log2(norm)))) if norm > 1 else 0
    X = wide / float(2 ** s)
    term = eye(A.shape[-1], dtype=wide.dtype).expand(A.shape)
    total = term
    for k in range(1, 19):
        term = matmul(term, X) / float(k)
        total = total + term
    for _ in range(s):
        total = matmul(total, total)
    return total.to(A.dtype)


def _hermitian(A: Tensor) -> Tensor:
    """The symmetric matrix that A's lower triangle stands for (what LAPACK reads)."""
    return A.tril() + A.tril(-1).mT


def pinv(A: Tensor, *, atol: float | None = None, rtol: float | None = None,
         hermitian: bool = False, rcond: float | None = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse (singular values below max(atol, rtol * the largest)
    count as 0; `hermitian` reads only the lower triangle). The gradient is PyTorch's: that
    of a matrix of constant rank, at A itself."""
    A = A._floating()
    if A.ndim < 2:
        raise RuntimeError(f"linalg.pinv: needs matrices (..., m, n), got shape {A.shape}")
    if A.numel() == 0:
        return A.mT.clone()
    a = A.numpy()
    if rcond is not None:
        rtol = rcond
    if rtol is None:
        rtol = 0.0 if atol else max(A.shape[-2:]) * np.finfo(a.dtype).eps
    if hermitian:  # NOTE: V diag(1 / L) V^T from the lower triangle's eigh, as PyTorch
        values, vectors = np.linalg.eigh(a)
        magnitude = np.abs(values)
        cutoff = np.maximum(atol or 0.0, rtol * magnitude.max(-1, initial=0.0))[..., None]
        inverse = np.where(magnitude > cutoff, 1 / np.where(magnitude > cutoff, values, 1), 0)
        P = np.matmul(vectors * inverse[..., None, :], np.swapaxes(vectors, -1, -2))
    else:
        s = np.linalg.svd(a, compute_uv=False)
        cutoff = np.maximum(atol or 0.0, rtol * s.max(-1, initial=0.0))
        P = np.linalg.pinv(a, rcond=cutoff / np.where(s.max(-1) > 0, s.max(-1), 1))
    # NOTE: PyTorch's gradient is the general formula at A itself, hermitian or not
    C = Tensor(P, dtype=A.dtype)
    eye_m, eye_n = eye(A.shape[-2], dtype=A.dtype), eye(A.shape[-1], dtype=A.dtype)
    left, right = eye_m - matmul(A.detach(), C), eye_n - matmul(C, A.detach())

    def differential(dA: Tensor) -> Tensor:
        # NOTE: Golub and Pereyra's derivative of the pseudo-inverse of constant rank
        return (-matmul(matmul(C, dA), C) + matmul(matmul(matmul(C, _mT(C)), _mT(dA)), left)
                + matmul(matmul(right, _mT(dA)), matmul(_mT(C), C)))

    return _linearized(A, P, differential)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L, lower triangular with A = L @ L^T, for symmetric positive-definite A (upper: L^T).
    As in PyTorch, only the lower triangle of A is read and the gradient is symmetric."""
    A = _square(A, "cholesky")
    try:
        L = np.linalg.cholesky(A.numpy())
    except np.linalg.LinAlgError:
        raise RuntimeError(f"linalg.cholesky: the input of shape {A.shape} is not positive-"
                           "definite") from None
    L_t = Tensor(L, dtype=A.dtype)
    L_inv = Tensor(np.linalg.inv(L), dtype=A.dtype)
    n = A.shape[-1]
    lower_half = Tensor(np.tri(n, n, -1) + 0.5 * np.eye(n), dtype=A.dtype)

    def differential(dA: Tensor) -> Tensor:
        # NOTE: dL = L Phi(L^-1 dA L^-T), Phi keeping the lower triangle and half the
        # diagonal; dA is symmetrised first, so the gradient is symmetric as PyTorch's
        sym = (dA + _mT(dA)) * 0.5
        return matmul(L_t, matmul(matmul(L_inv, sym), _mT(L_inv)) * lower_half)

    out = _linearized(A, L, differential)
    return _mT(out) if upper else out


def _square_qr_differential(Q: Tensor, R_inv: Tensor, dA: Tensor) -> tuple[Tensor, Tensor]:
    """(dQ, dR R^-1) of A = Q R for m >= n: Q^T dA R^-1 = Q^T dQ + dR R^-1 splits into a
    skew-symmetric and an upper triangular part."""
    X = matmul(matmul(_mT(Q), dA), R_inv)
    lower = X.tril(-1)
    upper = X - lower + _mT(lower)  # dR R^-1
    return matmul(dA, R_inv) - matmul(Q, upper), upper


def qr(A: Tensor, mode: str = "reduced") -> QR:
    """(Q, R) with A = Q @ R (numpy's Householder QR). Differentiable for full-rank A in
    'reduced' mode (and 'complete' for square or wide A), as PyTorch."""
    A = A._floating()
    Q, R = np.linalg.qr(A.numpy(), mode=mode)
    m, n = A.shape[-2:]
    if A.numel() == 0 or (mode == "complete" and m > n):
        return QR(_not_differentiable(Q, A, "linalg.qr"), _not_differentiable(R, A, "linalg.qr"))
    Q_t, k = Tensor(Q, dtype=A.dtype), min(m, n)
    R_inv = Tensor(np.linalg.inv(R[..., :k, :k]), dtype=A.dtype)
    if m >= n:
        dQ = _linearized(A, Q, lambda dA: _square_qr_differential(Q_t, R_inv, dA)[0])
        dR = _linearized(A, R, lambda dA: matmul(_square_qr_differential(Q_t, R_inv, dA)[1],
                                                 Tensor(R, dtype=A.dtype)))
        return QR(dQ, dR)
    # NOTE: wide A = Q [R1 R2]: the square part A1 = Q R1 as above, then R2 = Q^T A2
    A2 = Tensor(A.numpy()[..., k:], dtype=A.dtype)
    R1 = Tensor(R[..., :k], dtype=A.dtype)

    def parts(dA: Tensor) -> tuple[Tensor, Tensor]:
        dQ, upper = _square_qr_differential(Q_t, R_inv, dA[..., :k])
        return dQ, cat([matmul(upper, R1), matmul(_mT(dQ), A2)
                        + matmul(_mT(Q_t), dA[..., k:])], -1)

    return QR(_linearized(A, Q, lambda dA: parts(dA)[0]),
              _linearized(A, R, lambda dA: parts(dA)[1]))


def svd(A: Tensor, full_matrices: bool = True) -> SVD:
    """(U, S, Vh) with A = U @ diag(S) @ Vh, S descending. Differentiable where the singular
    values are distinct and nonzero, as PyTorch; with full_matrices the columns of U (rows of
    Vh) past min(m, n) complete a basis in any way, and, as in PyTorch, the gradient ignores
    them (their derivative is taken as 0)."""
    A = A._floating()
    U, S, Vh = np.linalg.svd(A.numpy(), full_matrices=full_matrices)
    m, n = A.shape[-2:]
    if A.numel() == 0:
        return SVD(*(_not_differentiable(x, A, "linalg.svd") for x in (U, S, Vh)))
    k = min(m, n)
    U_t, V_t = Tensor(U[..., :k], dtype=A.dtype), _mT(Tensor(Vh[..., :k, :], dtype=A.dtype))
    S_t = Tensor(S, dtype=A.dtype)
    with np.errstate(divide="ignore"):
        squares = S * S
        F = np.where(np.eye(S.shape[-1], dtype=bool), 0.0,
                     1 / (squares[..., None, :] - squares[..., :, None]))
        S_inv = Tensor(np.where(S > 0, 1 / np.where(S > 0, S, 1), 0), dtype=A.dtype)
    F_t = Tensor(F, dtype=A.dtype)
    left = eye(m, dtype=A.dtype) - matmul(U_t, _mT(U_t))
    right = eye(n, dtype=A.dtype) - matmul(V_t, _mT(V_t))

    def completed(thin: Tensor, axis: int, size: int) -> Tensor:
        """The thin factor's derivative, with zeros for the completing columns (rows)."""
        extra = size - thin.shape[axis]
        if not extra:
            return thin
        shape = list(thin.shape)
        shape[axis] = extra
        return cat([thin, zeros(*shape, dtype=thin.dtype)], axis)

    def d_u(dA: Tensor) -> Tensor:
        J = matmul(matmul(_mT(U_t), dA), V_t)
        inner = F_t * (J * S_t.unsqueeze(-2) + S_t.unsqueeze(-1) * _mT(J))
        dU = matmul(U_t, inner) + matmul(matmul(left, dA), V_t) * S_inv.unsqueeze(-2)
        return completed(dU, -1, U.shape[-1])

    def d_vh(dA: Tensor) -> Tensor:
        J = matmul(matmul(_mT(U_t), dA), V_t)
        inner = F_t * (S_t.unsqueeze(-1) * J + _mT(J) * S_t.unsqueeze(-2))
        dV = matmul(V_t, inner) + matmul(matmul(right, _mT(dA)), U_t) * S_inv.unsqueeze(-2)
        return completed(_mT(dV), -2, Vh.shape[-2])

    return SVD(_linearized(A, U, d_u),
               _linearized(A, S, lambda dA: (U_t * matmul(dA, V_t)).sum(-2)),
               _linearized(A, Vh, d_vh))


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending. Where they are distinct, dS = diag(U^T dA V)."""
    A = A._floating()
    U, S, Vh = np.linalg.svd(A.numpy(), full_matrices=False)
    U_t, V_t = Tensor(U, dtype=A.dtype), _mT(Tensor(Vh, dtype=A.dtype))
    return _linearized(A, S, lambda dA: (U_t * matmul(dA, V_t)).sum(-2))


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None,
                hermitian: bool = False) -> Tensor:
    """How many singular values exceed max(atol, rtol * the largest) (int64, no gradient);
    `hermitian` reads only the lower triangle. atol and rtol are numbers or tensors that
    broadcast with the batch dims; without rtol it is 0 where atol > 0, else eps * max(m, n)."""
    A = A._floating()
    a = (_hermitian(A) if hermitian else A).numpy()
    if a.size == 0:
        return Tensor(np.zeros(a.shape[:-2], dtype=np.int64))
    s = np.linalg.svd(a, compute_uv=False)
    atol, rtol = (None if t is None else np.asarray(t.numpy() if isinstance(t, Tensor) else t)
                  for t in (atol, rtol))
    if rtol is None:
        default = max(a.shape[-2:]) * np.finfo(a.dtype).eps
        rtol = default if atol is None else np.where(atol > 0, 0.0, default)
    cutoff = np.maximum(0.0 if atol is None else atol, rtol * s.max(-1, initial=0.0))
    return Tensor((s > np.expand_dims(cutoff, -1)).sum(-1).astype(np.int64))



Eigh = namedtuple("Eigh", ["eigenvalues", "eigenvectors"])
Lstsq = namedtuple("Lstsq", ["solution", "residuals", "rank", "singular_values"])
InvEx = namedtuple("InvEx", ["inverse", "info"])
CholeskyEx = namedtuple("CholeskyEx", ["L", "info"])


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """X with A X = B (X A = B when not `left`) for triangular A: only the triangle named by
    `upper` is read (its diagonal taken as ones with `unitriangular`)."""
    A = _square(A, "solve_triangular")
    n = A.shape[-1]
    keep = np.triu(np.ones((n, n), dtype=bool)) if upper else np.tril(np.ones((n, n), bool))
    if unitriangular:
        keep &= ~np.eye(n, dtype=bool)
    T = where(keep, A, 0.0)
    if unitriangular:
        T = T + eye(n, dtype=A.dtype)
    return matmul(inv(T), B) if left else matmul(B, inv(T))


def eigh(A: Tensor, UPLO: str = "L") -> Eigh:  # noqa: N803  (PyTorch's name)
    """(eigenvalues ascending, eigenvectors as columns) of symmetric matrices, reading the
    lower (UPLO='L') or upper triangle. The gradient is PyTorch's (symmetric; it assumes
    distinct eigenvalues)."""
    A = _square(A, "eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    # NOTE: each eigenvector's sign is LAPACK's choice, and numpy's LAPACK build may choose
    # differently from PyTorch's: compare eigenvectors up to sign
    values, vectors = np.linalg.eigh(A.numpy(), UPLO=UPLO)
    V = Tensor(vectors, dtype=A.dtype)
    with np.errstate(divide="ignore"):
        gaps = values[..., None, :] - values[..., :, None]  # gaps[i, j] = l_j - l_i
        F = np.where(np.eye(A.shape[-1], dtype=bool), 0.0, 1 / gaps)
    F_t = Tensor(F, dtype=A.dtype)

    def rotated(dA: Tensor) -> Tensor:
        # NOTE: dA symmetrised, as the input is taken to be symmetric: V^T dA V
        return matmul(matmul(_mT(V), (dA + _mT(dA)) * 0.5), V)

    L = _linearized(A, values, lambda dA: rotated(dA).diagonal(0, -2, -1))
    vecs = _linearized(A, vectors, lambda dA: matmul(V, rotated(dA) * F_t))
    return Eigh(L, vecs)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues of symmetric matrices, ascending."""
    return eigh(A, UPLO).eigenvalues


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *,
          driver: str | None = None) -> Lstsq:
    """The least-squares solution X of A X = B (through the pseudo-inverse, differentiable),
    with PyTorch's CPU default driver's extras: the rank, and squared residuals only for
    tall full-rank A with driver 'gelsd' / 'gelss' / 'gels'."""
    A = A._floating()
    B = B if isinstance(B, Tensor) else Tensor(B)
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    X = matmul(pinv(A, rtol=rcond), rhs)
    m, n = A.shape[-2:]
    rank = matrix_rank(A, rtol=rcond)
    residuals = singular = Tensor(np.zeros((0,), dtype=A.dtype))
    if driver in ("gelsd", "gelss", "gels") and m > n and bool((rank.numpy() == n).all()):
        residuals = ((matmul(A, X) - rhs) ** 2).sum(-2)
    if driver in ("gelsd", "gelss"):
        singular = svdvals(A)
    if driver == "gels":  # NOTE: QR without pivoting finds no rank
        rank = Tensor(np.zeros((0,), dtype=np.int64))
    return Lstsq(X.squeeze(-1) if vector else X, residuals, rank, singular)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along `dim` (the last by default, unlike torch.cross)."""
    return input.cross(other, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices in the last two dims."""
    return A.diagonal(offset, dim1, dim2)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product along `dim`, broadcasting the other dims."""
    return (x * y).sum(dim)


def multi_dot(tensors: Any) -> Tensor:
    """A chain of matrix products; the first may be 1-D (a row), the last 1-D (a column)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    first, last = tensors[0].ndim == 1, tensors[-1].ndim == 1
    out = tensors[0].unsqueeze(0) if first else tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t.unsqueeze(-1) if t.ndim == 1 else t)
    if last:
        out = out.squeeze(-1)
    return out.squeeze(0) if first else out


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, as torch.linalg.vander): running
    products, so the gradient is exact at x = 0 too."""
    x = x.reshape(1) if not x.ndim else x
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise RuntimeError(f"linalg.vander: N must be at least 1, got {n}")
    ones = x.new_ones(x.shape + (1,))
    if n == 1:
        return ones
    return cat([ones, x.unsqueeze(-1).expand(x.shape + (n - 1,)).cumprod(-1)], -1)


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number: the ratio of the largest to the smallest singular value (p None
    or 2; -2 the inverse ratio), or ||A||_p ||A^-1||_p for 'fro', 1, -1, inf, -inf."""
    if p in (None, 2, -2):
        s = svdvals(A)
        ratio = s[..., 0] / s[..., -1]
        return ratio if p != -2 else 1 / ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A seen as a matrix from its first `ind` dims to the rest."""
    rows, cols = A.shape[:ind], A.shape[ind:]
    size = int(np.prod(rows))
    if size != int(np.prod(cols)):
        raise RuntimeError(f"linalg.tensorinv: the first {ind} dims {rows} and the rest {cols} "
                           "must have equal products")
    return inv(A.reshape(size, size)).reshape(cols + rows)


def tensorsolve(A: Tensor, B: Tensor, dims: Any = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B."""
    if dims is not None:
        A = A.movedim(tuple(dims), tuple(range(A.ndim - len(dims), A.ndim)))
    x_shape = A.shape[B.ndim:]
    n = int(np.prod(x_shape))
    return solve(A.reshape(-1, n), B.reshape(-1)).reshape(x_shape)


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvEx:
    """(inverse, info): info 0 for each invertible matrix (a singular one raises here)."""
    out = inv(A)
    return InvEx(out, Tensor(np.zeros(A.shape[:-2], dtype=np.int32)))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyEx:
    """(L, info): info 0 where A is positive-definite (otherwise the error is raised)."""
    return CholeskyEx(cholesky(A, upper=upper), Tensor(np.zeros(A.shape[:-2], dtype=np.int32)))


LUFactor = namedtuple("LUFactor", ["LU", "pivots"])
PLU = namedtuple("PLU", ["P", "L", "U"])


def _lu_numpy(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packed LU, LAPACK's 1-based pivots, the row order) of LU with partial pivoting, as
    getrf computes it: the largest magnitude in each column (the first of equal ones)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    flat = a.reshape((int(np.prod(a.shape[:-2])), m, n)).astype(a.dtype, copy=True)
    rows = np.arange(flat.shape[0])
    pivots = np.zeros((flat.shape[0], k), dtype=np.int32)
    order = np.tile(np.arange(m), (flat.shape[0], 1))
    for j in range(k):
        p = j + np.argmax(np.abs(flat[:, j:, j]), axis=1)
        pivots[:, j] = p + 1
        flat[rows, j], flat[rows, p] = flat[rows, p].copy(), flat[rows, j].copy()
        order[rows, j], order[rows, p] = order[rows, p].copy(), order[rows, j].copy()
        pivot = flat[:, j, j:j + 1]
        flat[:, j + 1:, j] /= np.where(pivot == 0, 1, pivot)  # NOTE: a 0 pivot: singular
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j:j + 1] * flat[:, j:j + 1, j + 1:]
    batch = a.shape[:-2]
    return flat.reshape(a.shape), pivots.reshape(batch + (k,)), order.reshape(batch + (m,))


def _lu(A: Tensor, pivot: bool) -> tuple[PLU, np.ndarray]:
    """(P, L, U) of `lu` and LAPACK's pivots."""
    if not pivot:
        raise RuntimeError("linalg.lu: pivot=False is only supported on CUDA in PyTorch")
    A = A._floating()
    if A.ndim < 2:
        raise RuntimeError(f"linalg.lu: needs matrices (..., m, n), got shape {A.shape}")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed, pivots, order = _lu_numpy(A.numpy())
    P = np.zeros(A.shape[:-2] + (m, m), dtype=A.dtype)
    np.put_along_axis(P, order[..., None, :], 1, axis=-2)
    L = np.tril(packed[..., :, :k], -1) + np.eye(m, k, dtype=A.dtype)
    U = np.triu(packed[..., :k, :])
    if A.numel() == 0:
        return PLU(Tensor(P), *(_not_differentiable(x, A, "linalg.lu") for x in (L, U))), pivots
    P_t, L_t, U_t = (Tensor(x, dtype=A.dtype) for x in (P, L, U))
    L_inv = Tensor(np.linalg.inv(L[..., :k, :k]), dtype=A.dtype)
    U_inv = Tensor(np.linalg.inv(U[..., :k, :k]), dtype=A.dtype)

    def parts(dA: Tensor) -> tuple[Tensor, Tensor]:
        # NOTE: P^T dA = dL U + L dU; on the square k x k block, L^-1 P^T dA U^-1 splits into
        # a strictly lower part (L^-1 dL) and an upper one (dU U^-1); the rest follows
        rotated = matmul(_mT(P_t), dA)
        X = matmul(matmul(L_inv, rotated[..., :k, :k]), U_inv)
        dL1, dU1 = matmul(L_t[..., :k, :], X.tril(-1)), matmul(X.triu(), U_t[..., :, :k])
        dL, dU = dL1, dU1
        if m > k:  # tall: the rows of L below the square block
            below = matmul(rotated[..., k:, :] - matmul(L_t[..., k:, :], dU1), U_inv)
            dL = cat([dL1, below], -2)
        if n > k:  # wide: the columns of U right of the square block
            right = matmul(L_inv, rotated[..., :, k:] - matmul(dL1, U_t[..., :, k:]))
            dU = cat([dU1, right], -1)
        return dL, dU

    factors = PLU(P_t, _linearized(A, L, lambda dA: parts(dA)[0]),
                  _linearized(A, U, lambda dA: parts(dA)[1]))
    return factors, pivots


def lu(A: Tensor, *, pivot: bool = True) -> PLU:
    """(P, L, U) with A = P @ L @ U: L unit lower triangular (m, k), U upper (k, n), by
    partial pivoting as LAPACK. Differentiable for full-rank A of any shape."""
    return _lu(A, pivot)[0]


def _padded(x: Tensor, rows: int, cols: int) -> Tensor:
    """x with zero rows and columns added at the end, to (..., rows, cols)."""
    if x.shape[-1] < cols:
        x = cat([x, x.new_zeros(x.shape[:-1] + (cols - x.shape[-1],))], -1)
    if x.shape[-2] < rows:
        x = cat([x, x.new_zeros(x.shape[:-2] + (rows - x.shape[-2], cols))], -2)
    return x


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactor:
    """(LU, pivots): L (below the diagonal, its unit diagonal implied) and U packed in one
    matrix, and LAPACK's 1-based int32 row swaps."""
    (_, L, U), pivots = _lu(A, pivot)
    m, n = A.shape[-2:]
    return LUFactor(_padded(L.tril(-1), m, n) + _padded(U, m, n), Tensor(pivots))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> PLU:
    """(P, L, U) from `lu_factor`'s packed matrix and pivots."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    order = np.tile(np.arange(m), LU_data.shape[:-2] + (1,))
    swaps = LU_pivots.numpy().astype(np.int64) - 1
    for j in range(k):
        p = swaps[..., j:j + 1]
        here, there = order[..., j:j + 1].copy(), np.take_along_axis(order, p, -1)
        order[..., j:j + 1] = there
        np.put_along_axis(order, p, here, -1)
    P = np.zeros(LU_data.shape[:-2] + (m, m), dtype=LU_data.dtype)
    np.put_along_axis(P, order[..., None, :], 1, axis=-2)
    L = LU_data[..., :, :k].tril(-1) + eye(m, k, dtype=LU_data.dtype)
    return PLU(Tensor(P), L, LU_data[..., :k, :].triu())


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """X with A X = B (X A = B when not `left`; A^T in place of A with `adjoint`), A given
    by `lu_factor`; differentiable in LU and B."""
    P, L, U = lu_unpack(LU, pivots)
    A = matmul(matmul(P, L), U)
    A = _mT(A) if adjoint else A
    return matmul(inv(A), B) if left else matmul(B, inv(A))
