"""PyTorch's lazy modules: a layer whose input size (in_features, in_channels or
num_features) is read off its first input, so a model can be written without working out
the sizes that flow into it (e.g. the features after a stack of convolutions).

Until that first call the parameters and buffers are empty placeholders. The call gives
them their sizes and initial values in place, so an optimizer made before holds the real
tensors, and the module becomes the plain layer (`cls_to_become`), as in PyTorch.

Examples
--------
>>> layer = nn.LazyLinear(4)
>>> layer(tl.randn(2, 7)).shape, type(layer).__name__, layer.weight.shape
((2, 4), 'Linear', (4, 7))
"""
from __future__ import annotations

from typing import Any

from ..autograd import no_grad
from ..tensor import Tensor, _on_cpu, empty
from .layers import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    Linear,
)
from .module import Module

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class _LazyModule:
    """What every lazy module shares. A family names the size (`_size`), says how to read
    it off an input (`_size_of`) and how to build the plain layer with it (`_built`): that
    layer's fresh tensors, initialised as its constructor does, become this module's."""

    cls_to_become: type
    _size = ""

    def has_uninitialized_params(self) -> bool:
        """Whether the first input has yet to size the parameters."""
        return getattr(self, self._size) == 0

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:  # noqa: A002
        """Size and initialise the parameters and buffers from `input`; become the plain
        layer."""
        built = self._built(self._size_of(input))
        with no_grad():
            for table in ("_parameters", "_buffers"):
                for name, value in getattr(built, table).items():
                    if value is not None:
                        getattr(self, table)[name].data = value.data
        setattr(self, self._size, getattr(built, self._size))
        self.__class__ = self.cls_to_become

    def forward(self, input: Tensor, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
        layer = self.cls_to_become  # NOTE: read first: initializing changes our class
        if self.has_uninitialized_params():
            self.initialize_parameters(input)
        return layer.forward(self, input, *args, **kwargs)

    def _dtype(self) -> Any:
        return next((t.dtype for t in (*self._parameters.values(), *self._buffers.values())
                     if t is not None and t.dtype.kind == "f"), None)


class LazyLinear(_LazyModule, Linear):
    """A Linear whose in_features is the last dim of its first input."""

    cls_to_become = Linear
    _size = "in_features"

    def __init__(self, out_features: int, bias: bool = True, *, device: Any = None,
                 dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(0, out_features, bias, dtype=dtype)

    def _size_of(self, input: Tensor) -> int:  # noqa: A002
        if input.ndim == 0:
            raise RuntimeError("LazyLinear: cannot infer in_features from a 0-d input")
        return input.shape[-1]

    def _built(self, size: int) -> Module:
        return Linear(size, self.out_features, self.bias is not None, dtype=self._dtype())

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> Any:
        """Loading a weight into an uninitialised layer sizes it from that weight first."""
        weight = state_dict.get("weight")
        if self.has_uninitialized_params() and weight is not None and len(weight.shape) == 2:
            self.initialize_parameters(empty(weight.shape[1], dtype=self.weight.dtype))
        return Module.load_state_dict(self, state_dict, strict, assign)


class _LazyConvNd(_LazyModule):
    """in_channels from dim 1 of a batched input (dim 0 of an unbatched one)."""

    _size = "in_channels"

    def _size_of(self, input: Tensor) -> int:  # noqa: A002
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise RuntimeError(f"{type(self).__name__}: expected {nd + 1}D (unbatched) or "
                               f"{nd + 2}D (batched) input, got input of shape {input.shape}")
        return input.shape[1] if input.ndim == nd + 2 else input.shape[0]

    def _built(self, size: int) -> Module:
        if size % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({size}) must be divisible "
                             f"by groups ({self.groups})")
        settings = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                        groups=self.groups, bias=self.bias is not None,
                        padding_mode=self.padding_mode, dtype=self._dtype())
        if self.transposed:
            settings["output_padding"] = self.output_padding
        return self.cls_to_become(size, self.out_channels, self.kernel_size, **settings)


class _LazyConv(_LazyConvNd):
    def __init__(self, out_channels: int, kernel_size: int | tuple, stride: int | tuple = 1,
                 padding: str | int | tuple = 0, dilation: int | tuple = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)


class _LazyConvTranspose(_LazyConvNd):
    def __init__(self, out_channels: int, kernel_size: int | tuple, stride: int | tuple = 1,
                 padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                 bias: bool = True, dilation: int | tuple = 1, padding_mode: str = "zeros", *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups,
                         bias, dilation, padding_mode, dtype=dtype)


class _LazyNorm(_LazyModule):
    """num_features from the channel dim of the first input. Lazy instance norms are
    affine and track running statistics by default, as PyTorch's are (unlike the plain
    ones)."""

    _size = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(0, eps, momentum, affine, track_running_stats, dtype=dtype)

    def _built(self, size: int) -> Module:
        bias = self.bias is not None if self.affine else True
        return self.cls_to_become(size, self.eps, self.momentum, self.affine,
                                  self.track_running_stats, bias=bias, dtype=self._dtype())


class _LazyBatchNorm(_LazyNorm):
    def _size_of(self, input: Tensor) -> int:  # noqa: A002
        if input.ndim < 2:
            raise ValueError(f"{type(self).__name__}: expected an input with a channel dim "
                             f"(N, C, ...), got shape {input.shape}")
        return input.shape[1]


class _LazyInstanceNorm(_LazyNorm):
    def _size_of(self, input: Tensor) -> int:  # noqa: A002
        if input.ndim not in (self._nd + 1, self._nd + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._nd + 1}D or "
                             f"{self._nd + 2}D input, got shape {input.shape}")
        return input.shape[0] if input.ndim == self._nd + 1 else input.shape[1]


def _lazy(name: str, family: type, layer: type) -> type:
    """The lazy form of `layer`: `family`'s behaviour, then `layer` once sized."""
    return type(name, (family, layer), {"cls_to_become": layer, "__module__": __name__,
                                        "__doc__": f"A {layer.__name__} whose input size is "
                                                   f"read off its first input."})


LazyConv1d = _lazy("LazyConv1d", _LazyConv, Conv1d)
LazyConv2d = _lazy("LazyConv2d", _LazyConv, Conv2d)
LazyConv3d = _lazy("LazyConv3d", _LazyConv, Conv3d)
LazyConvTranspose1d = _lazy("LazyConvTranspose1d", _LazyConvTranspose, ConvTranspose1d)
LazyConvTranspose2d = _lazy("LazyConvTranspose2d", _LazyConvTranspose, ConvTranspose2d)
LazyConvTranspose3d = _lazy("LazyConvTranspose3d", _LazyConvTranspose, ConvTranspose3d)
LazyBatchNorm1d = _lazy("LazyBatchNorm1d", _LazyBatchNorm, BatchNorm1d)
LazyBatchNorm2d = _lazy("LazyBatchNorm2d", _LazyBatchNorm, BatchNorm2d)
LazyBatchNorm3d = _lazy("LazyBatchNorm3d", _LazyBatchNorm, BatchNorm3d)
LazyInstanceNorm1d = _lazy("LazyInstanceNorm1d", _LazyInstanceNorm, InstanceNorm1d)
LazyInstanceNorm2d = _lazy("LazyInstanceNorm2d", _LazyInstanceNorm, InstanceNorm2d)
LazyInstanceNorm3d = _lazy("LazyInstanceNorm3d", _LazyInstanceNorm, InstanceNorm3d)
