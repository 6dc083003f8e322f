"""Ready-made parametrizations, as PyTorch's `torch.nn.utils.parametrizations`: weight norm
and spectral norm, registered through `parametrize` (so the state_dict keys are PyTorch's,
e.g. `parametrizations.weight.original0`)."""
from __future__ import annotations

from ...autograd import no_grad
from ...tensor import Tensor, randn
from .. import functional as F
from ..layers import _ConvTransposeNd
from ..module import Module
from . import _norm_except, parametrize

__all__ = ["weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over every dim but `dim` (-1: over all of them, as in
    PyTorch, which is also what dim=None becomes)."""

    def __init__(self, dim: int | None) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def _over(self) -> int | None:
        return None if self.dim == -1 else self.dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except(weight_v, self._over()))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except(weight, self._over()), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise `module.<name>` as a magnitude (`original0`) times a direction
    (`original1`) over its norm (Salimans & Kingma). Returns the module."""
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


class _SpectralNorm(Module):
    """weight / sigma, sigma its largest singular value estimated by power iteration: one
    (or `n_power_iterations`) step per training-mode access, the vectors kept as buffers."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        if not -weight.ndim <= dim < max(weight.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{weight.ndim}, {weight.ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim, self.eps = dim % max(weight.ndim, 1), eps
        if weight.ndim > 1:
            self.n_power_iterations = n_power_iterations
            rows, cols = self._matrix(weight).shape
            self.register_buffer("_u", F.normalize(randn(rows, dtype=weight.dtype), 2, 0, eps))
            self.register_buffer("_v", F.normalize(randn(cols, dtype=weight.dtype), 2, 0, eps))
            self._power_method(self._matrix(weight), 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        """`weight` as a matrix whose rows run along `dim`."""
        if self.dim:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    @no_grad()
    def _power_method(self, matrix: Tensor, steps: int) -> None:
        for _ in range(steps):  # NOTE: in place, so the buffers stay the same tensors
            self._u.copy_(F.normalize(matrix @ self._v, 2, 0, self.eps))
            self._v.copy_(F.normalize(matrix.T @ self._u, 2, 0, self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, 2, 0, self.eps)
        matrix = self._matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        sigma = self._u.clone().dot(matrix @ self._v.clone())
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide `module.<name>` by its spectral norm (Miyato et al.), keeping a layer
    1-Lipschitz, as GAN discriminators want. dim defaults to 1 for transposed convolutions
    (their output channels), else 0. Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    return parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
