"""Layers: thin modules around `nn.functional`, holding parameters and settings."""
from __future__ import annotations

import math
from typing import Any

from ..autograd import no_grad
from ..tensor import Tensor, _on_cpu, empty, ones, tensor, zeros
from . import functional as F
from . import init
from .module import Module, Parameter


def _reset_uniform_fan_in(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default init of Linear and Conv: kaiming_uniform_(a=sqrt(5)) on the weight,
    i.e. U(+-1/sqrt(fan_in)), and the same bound for the bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ W.T + b, with optional per-layer L1/L2 penalties (the seeds' dense layer).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input row and each output row.
    bias : bool
        Whether to learn an additive bias (default True).
    weight_l1, weight_l2, bias_l1, bias_l2 : float
        Penalty strengths; `model.regularization_loss()` adds
        l1 * sum|W| + l2 * sum W^2 (and the same for b) over every Linear in the model.
    device, dtype : optional
        'cpu' (every layer takes `device=` as in PyTorch; another device is refused), and
        float32 (the default) or float64.

    Attributes
    ----------
    weight : Parameter (out_features, in_features), PyTorch's layout and init:
        U(-1/sqrt(in_features), 1/sqrt(in_features)).
    bias : Parameter (out_features,) or None, same init.

    Examples
    --------
    >>> layer = nn.Linear(784, 256)
    >>> layer(tl.randn(32, 784)).shape
    (32, 256)
    >>> sum(p.numel() for p in layer.parameters())
    200960
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *, weight_l1: float = 0.0,
                 weight_l2: float = 0.0, bias_l1: float = 0.0, bias_l2: float = 0.0) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        strengths = {"weight_l1": weight_l1, "weight_l2": weight_l2, "bias_l1": bias_l1,
                     "bias_l2": bias_l2}
        for name, value in strengths.items():
            if value < 0:
                raise ValueError(f"Linear: {name} must be >= 0, got {value}")
        self.in_features, self.out_features = in_features, out_features
        self.weight_l1, self.weight_l2 = float(weight_l1), float(weight_l2)
        self.bias_l1, self.bias_l2 = float(bias_l1), float(bias_l2)
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: U(+-1/sqrt(in_features)) for the weight and the bias."""
        _reset_uniform_fan_in(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"Linear(in_features={self.in_features}, out_features="
                               f"{self.out_features}): expected input with last dimension "
                               f"{self.in_features}, got shape {input.shape}")
        return F.linear(input, self.weight, self.bias)

    def _penalty(self) -> Tensor | None:
        terms = []
        for p, l1, l2 in ((self.weight, self.weight_l1, self.weight_l2),
                          (self.bias, self.bias_l1, self.bias_l2)):
            if p is None:
                continue
            if l1:
                terms.append(p.abs().sum() * l1)
            if l2:
                terms.append((p * p).sum() * l2)
        return sum(terms[1:], terms[0]) if terms else None

    def extra_repr(self) -> str:
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
        for name in ("weight_l1", "weight_l2", "bias_l1", "bias_l2"):
            if getattr(self, name):
                text += f", {name}={getattr(self, name)}"
        return text


class Bilinear(Module):
    """y = x1^T A_o x2 + b_o for each output o: weight (out, in1, in2), bias (out,), both
    U(+-1/sqrt(in1_features)) as in PyTorch.

    Examples
    --------
    >>> nn.Bilinear(3, 4, 5)(tl.randn(2, 3), tl.randn(2, 4)).shape
    (2, 5)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features})")
        bound = 1 / math.sqrt(self.in1_features)
        for p in (self.weight, self.bias):
            if p is not None:
                init.uniform_(p, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class _InPlace(Module):
    """A layer with PyTorch's `inplace` flag: True writes the result into the input tensor
    (and shows in the repr, as PyTorch shows it)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def _with_inplace(self, settings: str) -> str:
        return settings + (", inplace=True" if self.inplace else "")


class Dropout(_InPlace):
    """Zero each element with probability p while training; scale the kept ones by 1/(1-p).

    In eval mode (`model.eval()`) it returns its input unchanged. The mask is 1 byte per element.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__(inplace)
        F._check_dropout_p(p)
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p while training,
    scaling the kept ones by 1/(1-p); identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Dropout for SELU networks: keeps zero mean and unit variance while training;
    identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels of (N, C, *) input; identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """Zero whole feature maps of (N, C, H, W) or (C, H, W) input with probability p while
    training, scaling the kept ones by 1/(1-p); identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """Zero whole volumes of (N, C, D, H, W) or (C, D, H, W) input with probability p while
    training, scaling the kept ones by 1/(1-p); identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class ReLU(_InPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)


class LeakyReLU(_InPlace):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return self._with_inplace(f"negative_slope={self.negative_slope}")


class RReLU(_InPlace):
    """Leaky ReLU with a random slope from U(lower, upper) per element while training, the
    mean slope in eval mode (a regulariser)."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        self.lower, self.upper = lower, upper

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return self._with_inplace(f"lower={self.lower}, upper={self.upper}")


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class ReLU6(_InPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, self.inplace)


class ELU(_InPlace):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return self._with_inplace(f"alpha={self.alpha}")


class CELU(ELU):
    """x for x > 0, alpha * (exp(x / alpha) - 1) otherwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class SELU(_InPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)


class GELU(Module):
    """x * Phi(x) with the normal CDF Phi, exact ('none') or by its tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got "
                             f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)


class Mish(_InPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, self.inplace)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Hardtanh(_InPlace):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        super().__init__(inplace)
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return self._with_inplace(f"min_val={self.min_val}, max_val={self.max_val}")


class _HardInPlace(_InPlace):
    def extra_repr(self) -> str:
        return ""  # NOTE: PyTorch's repr of Hardsigmoid and Hardswish leaves the flag out


class Hardsigmoid(_HardInPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)


class Hardswish(_HardInPlace):
    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)


class LogSigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Threshold(_InPlace):
    """x where x > threshold, else `value`."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.threshold, self.value = threshold, value

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return self._with_inplace(f"threshold={self.threshold}, value={self.value}")


class _AlongDim(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Softmax along `dim` (None picks PyTorch's deprecated implicit axis, with its warning)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along `dim`, computed stably as x - logsumexp(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(_AlongDim):
    """softmax(-x) along `dim`."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class Softmax2d(Module):
    """Softmax over the channels at each position of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             "instead")
        return F.softmax(input, -3)


class GLU(_AlongDim):
    """a * sigmoid(b) for the two halves a, b of the input along `dim`."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (by default every dim but the batch)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """Returns its input; takes and ignores any arguments, so it can stand in for a layer
    built with them (`nn.Identity(54, unused="x")`), as PyTorch's does.

    Examples
    --------
    >>> model.fc = nn.Identity()  # drop the head, keep the features
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size` (the inverse of Flatten; one entry may be -1).

    Examples
    --------
    >>> nn.Unflatten(1, (2, 5))(tl.zeros(3, 10)).shape
    (3, 2, 5)
    """

    def __init__(self, dim: int, unflattened_size: tuple) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        d = input._axis(self.dim, "Unflatten")
        return input.reshape(input.shape[:d] + self.unflattened_size + input.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    """A lookup table: integer indices in, rows of `weight` (num_embeddings, embedding_dim) out.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
        Rows and columns of the table; weight starts as N(0, 1), as in PyTorch.
    padding_idx : int, optional
        A row that starts as zeros and gets no gradient (e.g. for padded sequence positions).
    max_norm : float, optional
        Rows looked up are first scaled down in place to this `norm_type`-norm at most.

    Examples
    --------
    >>> emb = nn.Embedding(10, 3, padding_idx=0)
    >>> emb(tl.tensor([[1, 2, 0]])).shape
    (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = (None if padding_idx is None
                            else F._padding_index(padding_idx, num_embeddings))
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, "
                                 f"expected ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding over the 2-d table `embeddings` (memory shared, padding row kept as
        given, as in PyTorch); `freeze` leaves it out of training.

        Examples
        --------
        >>> emb = nn.Embedding.from_pretrained(tl.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb.weight.requires_grad
        False
        """
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text + ", sparse=True" if self.sparse else text


class EmbeddingBag(Module):
    """Sum, mean or max of the embeddings of each bag of indices (see F.embedding_bag):
    a bag-of-words layer without the (indices, dim) intermediate in user code.

    Parameters are those of Embedding, plus `mode` ('sum', 'mean' or 'max') and
    `include_last_offset`; forward(input, offsets=None, per_sample_weights=None).

    Examples
    --------
    >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag(tl.tensor([1, 2, 4, 5, 4]), tl.tensor([0, 2])).shape
    (2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = (None if padding_idx is None
                            else F._padding_index(padding_idx, num_embeddings))
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"EmbeddingBag: _weight has shape {tuple(_weight.shape)}, "
                                 f"expected ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight)

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag over the 2-d table `embeddings`; `freeze` leaves it out of
        training."""
        if embeddings.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-d, got "
                             f"shape {tuple(embeddings.shape)}")
        bag = cls(*embeddings.shape, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input: Tensor, offsets: Tensor | None = None,  # noqa: A002
                per_sample_weights: Tensor | None = None) -> Tensor:
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"


def _scale_and_shift(shape: Any, affine: bool, bias: bool,
                     dtype: Any) -> tuple[Parameter | None, Parameter | None]:
    """A norm layer's learned weight (ones) and bias (zeros, unless `bias` is False), or
    None for each left out."""
    if not affine:
        return None, None
    return (Parameter(ones(shape, dtype=dtype)),
            Parameter(zeros(shape, dtype=dtype)) if bias else None)


def _reset_affine(norm: Module) -> None:
    """A normalization layer's weight back to ones and its bias to zeros: what each of
    PyTorch's norm layers does in `reset_parameters`."""
    with no_grad():
        if norm.weight is not None:
            norm.weight.fill_(1)
        if getattr(norm, "bias", None) is not None:
            norm.bias.zero_()


class RMSNorm(Module):
    """Scale each sample by the root mean square over its trailing `normalized_shape` dims.

    Parameters
    ----------
    normalized_shape : int or tuple
        The trailing dims to normalize over.
    eps : float, optional
        Added to the mean square; None: the machine epsilon of the input's dtype.
    elementwise_affine : bool
        Learn a weight (ones) of `normalized_shape`.
    """

    def __init__(self, normalized_shape: int | tuple, eps: float | None = None,
                 elementwise_affine: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.normalized_shape = F._shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = (Parameter(ones(self.normalized_shape, dtype=dtype))
                       if elementwise_affine else None)

    reset_parameters = _reset_affine

    def forward(self, x: Tensor) -> Tensor:  # NOTE: PyTorch names this one x
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalize (N, C, *) input over groups of C / num_groups channels, then scale and
    shift each channel by a learned weight (ones) and bias (zeros) when `affine`."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible "
                             f"by num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        self.weight, self.bias = _scale_and_shift(num_channels, affine, bias, dtype)

    reset_parameters = _reset_affine

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class LayerNorm(Module):
    """Normalize each sample over its trailing `normalized_shape` dims, then scale and shift.

    Parameters
    ----------
    normalized_shape : int or tuple
        The trailing dims to normalize over, e.g. the feature size.
    eps : float
        Added to the variance, so a constant input does not divide by 0.
    elementwise_affine, bias : bool
        Learn a weight (ones) and, with `bias`, a bias (zeros) of `normalized_shape`.
    """

    def __init__(self, normalized_shape: int | tuple, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.normalized_shape = F._shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight, self.bias = _scale_and_shift(self.normalized_shape, elementwise_affine,
                                                  bias, dtype)

    reset_parameters = _reset_affine

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
                f"{self.elementwise_affine}, bias={self.bias is not None}")


class _NormBase(Module):
    """What batch and instance norm share: the affine weight and bias, and
    (with track_running_stats) the running_mean, running_var and num_batches_tracked
    buffers."""

    _optional_state = ("num_batches_tracked",)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight, self.bias = _scale_and_shift(num_features, affine, bias, dtype)
        stats = track_running_stats
        self.register_buffer("running_mean", zeros(num_features, dtype=dtype) if stats else None)
        self.register_buffer("running_var", ones(num_features, dtype=dtype) if stats else None)
        self.register_buffer("num_batches_tracked", tensor(0) if stats else None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Per-channel normalization by batch statistics while training, running ones in eval.

    Parameters
    ----------
    num_features : int
        Channels C (dim 1 of the input).
    eps : float
        Added to the variance.
    momentum : float or None
        How far each training batch moves the running statistics; None: their plain
        average over every batch so far.
    affine : bool
        Learn a per-channel weight (ones) and bias (zeros; leave it out with bias=False).
    track_running_stats : bool
        Keep running_mean, running_var and num_batches_tracked as buffers (in the state
        dict, not in parameters()); without them eval mode also uses batch statistics.
    """

    _ranks: tuple = ()

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._ranks:
            ranks = " or ".join(f"{n}D" for n in self._ranks)
            raise ValueError(f"{type(self).__name__}: expected {ranks} input, got shape "
                             f"{input.shape}")
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"{type(self).__name__}({self.num_features}): expected "
                               f"{self.num_features} channels in dim 1, got shape "
                               f"{input.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # NOTE: a cumulative average over the batches so far
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # eval mode without running statistics normalizes by the batch, as in PyTorch
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over N (and L), per channel C.

    Examples
    --------
    >>> bn = nn.BatchNorm1d(64)
    >>> out = bn(tl.randn(32, 64))  # train mode: batch stats; bn.eval() uses running ones
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W, per channel C."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) input over N, D, H and W, per channel C."""

    _ranks = (5,)


class _InstanceNorm(_NormBase):
    """Normalize each channel of each sample over its positions; see InstanceNorm1d. With
    track_running_stats, training moves running statistics (by `momentum`; None counts as
    0, as in PyTorch) and eval normalizes by them."""

    _nd = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias,
                         dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        batched, unbatched = F._batched(input, self._nd, name)
        if batched.shape[1] != self.num_features and (self.affine or
                                                      self.track_running_stats):
            raise ValueError(f"{name}({self.num_features}): expected {self.num_features} "
                             f"channels, got input of shape {input.shape}")
        out = F.instance_norm(batched, self.running_mean, self.running_var, self.weight,
                              self.bias, self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) input over L, per sample and channel."""

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) input over H and W."""

    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) input over D, H and W."""

    _nd = 3


# --- convolution and pooling --------------------------------------------------------------
def _setting(value: Any) -> Any:
    """A size as PyTorch keeps it (an int, or a tuple: a saved model's list becomes one)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


class _ConvNd(Module):
    """Convolution over `_nd` spatial dims; see Conv1d, Conv2d and the transposed ones."""

    _nd = 0
    transposed = False  # NOTE: a transposed conv's weight is (in, out / groups, *kernel)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: str | int | tuple = 0,
                 dilation: int | tuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in F._PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of "
                             f"{tuple(F._PADDING_MODES)}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._ntuple(stride, nd, "stride", name)
        self.dilation = F._ntuple(dilation, nd, "dilation", name)
        self.padding = (padding if isinstance(padding, str)
                        else F._ntuple(padding, nd, "padding", name))
        self.padding_mode = padding_mode
        self.output_padding = (0,) * nd
        if padding == "same" and any(s != 1 for s in self.stride):  # NOTE: torch's ValueError
            raise ValueError(f"{name}: padding='same' is not supported for strided "
                             f"convolutions (stride {self.stride})")
        # NOTE: checks bad strings now rather than at the first call
        self._pads = F._conv_padding(self.padding, self.kernel_size, self.stride,
                                     self.dilation, name)
        channels = ((in_channels, out_channels // groups) if self.transposed
                    else (out_channels, in_channels // groups))
        self.weight = Parameter(empty(*channels, *self.kernel_size, dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: U(+-1/sqrt(fan_in)) for the weight and the bias, with
        fan_in = weight.shape[1] * prod(kernel_size) (in_channels / groups, or out_channels /
        groups when transposed)."""
        _reset_uniform_fan_in(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
        input = F._pad_spatial(input, self._pads, F._PADDING_MODES[self.padding_mode])
        return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        nd = self._nd
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * nd:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-d convolution of (N, C_in, L) or (C_in, L) input, with PyTorch's settings and init.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size, stride, dilation : int or (int,)
    padding : int, (int,), 'valid' or 'same'
        'same' (stride 1 only) keeps the length.
    groups : int
        Split the channels into `groups` independent convolutions.
    padding_mode : str
        'zeros', 'reflect', 'replicate' or 'circular'.

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, kernel_size)
    bias : Parameter (out_channels,) or None

    Examples
    --------
    >>> nn.Conv1d(3, 8, 5, padding=2)(tl.randn(4, 3, 20)).shape
    (4, 8, 20)
    """

    _nd = 1


class Conv2d(_ConvNd):
    """2-d convolution of (N, C_in, H, W) or (C_in, H, W) input, with PyTorch's settings and
    init (see Conv1d for the parameters; sizes are ints or (height, width) pairs).

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, kH, kW)
    bias : Parameter (out_channels,) or None

    Examples
    --------
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv(tl.randn(2, 3, 32, 32)).shape
    (2, 8, 32, 32)
    """

    _nd = 2


class Conv3d(_ConvNd):
    """3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) input, with PyTorch's
    settings and init (see Conv1d for the parameters; sizes are ints or triples).

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels / groups, kD, kH, kW)
    bias : Parameter (out_channels,) or None
    """

    _nd = 3


class _ConvTransposeNd(_ConvNd):
    """Transposed convolution over `_nd` spatial dims; see ConvTranspose1d and 2d."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: int | tuple = 0,
                 output_padding: int | tuple = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple = 1, padding_mode: str = "zeros", *,
                 device: Any = None, dtype: Any = None) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only 'zeros' padding mode is supported, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple, got {padding!r}")
        _on_cpu(device, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)
        self.output_padding = F._ntuple(output_padding, self._nd, "output_padding", name)

    def forward(self, input: Tensor, output_size: tuple | None = None) -> Tensor:
        """`output_size` (spatial, or with the leading dims) picks the output padding that
        gives that size, among those a strided conv maps to the input's size."""
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._nd - 1]
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)

    def _output_padding(self, x: Tensor, output_size: tuple | None) -> tuple:
        if output_size is None:
            return self.output_padding
        nd, lead = self._nd, x.ndim - self._nd
        size = tuple(int(n) for n in output_size)
        if len(size) == lead + nd:
            size = size[lead:]
        if len(size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {x.ndim}D input, output_size must have "
                             f"{nd} or {lead + nd} elements (got {len(size)})")
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in zip(
            x.shape[lead:], self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [n + s - 1 for n, s in zip(smallest, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(size, smallest, largest)):
            raise ValueError(f"requested an output size of {list(size)}, but valid sizes range "
                             f"from {smallest} to {largest} (for an input of "
                             f"{x.shape[lead:]})")
        return tuple(n - lo for n, lo in zip(size, smallest))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution of (N, C_in, L) or (C_in, L) input (see
    F.conv_transpose1d), with PyTorch's settings and init.

    Attributes
    ----------
    weight : Parameter (in_channels, out_channels / groups, kernel_size)
    bias : Parameter (out_channels,) or None
    """

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution of (N, C_in, H, W) or (C_in, H, W) input: with stride 2
    it upsamples, as in the decoders of U-Nets and GANs.

    Parameters
    ----------
    output_padding : int or (int, int)
        Extra size added to one side of the output (less than the stride or dilation), to
        pick among the input sizes a strided conv2d maps to the same output size.

    Attributes
    ----------
    weight : Parameter (in_channels, out_channels / groups, kH, kW)
    bias : Parameter (out_channels,) or None

    Examples
    --------
    >>> nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)(
    ...     tl.randn(1, 8, 5, 5)).shape
    (1, 4, 10, 10)
    """

    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) input (see
    ConvTranspose2d).

    Attributes
    ----------
    weight : Parameter (in_channels, out_channels / groups, kD, kH, kW)
    bias : Parameter (out_channels,) or None
    """

    _nd = 3


class _MaxPoolNd(Module):
    """The maximum of each window; see MaxPool2d."""

    _nd = 0

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, dilation: int | tuple = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _setting(kernel_size)
        self.stride = self.kernel_size if stride is None else _setting(stride)
        self.padding, self.dilation = _setting(padding), _setting(dilation)
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[self._nd - 1]
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window of (N, C, L) or (C, L) input (see MaxPool2d)."""

    _nd = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum of each window of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    kernel_size, stride, padding, dilation : int or (int, int)
        stride defaults to kernel_size; padding (at most half the kernel) is -inf.
    return_indices : bool
        Also return each maximum's flat position in its (H, W) plane.
    ceil_mode : bool
        Round the output size up, keeping a last partial window.

    Examples
    --------
    >>> nn.MaxPool2d(2)(tl.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    _nd = 2


class MaxPool3d(_MaxPoolNd):
    """The maximum of each window of (N, C, D, H, W) or (C, D, H, W) input (see MaxPool2d)."""

    _nd = 3


class _FractionalMaxPoolNd(Module):
    """Fractional max pooling over `_nd` spatial dims; see FractionalMaxPool2d."""

    _nd = 0

    def __init__(self, kernel_size: int | tuple, output_size: int | tuple | None = None,
                 output_ratio: float | tuple | None = None, return_indices: bool = False,
                 _random_samples: Tensor | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        as_tuple = lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v,) * self._nd  # noqa: E731
        self.kernel_size, self.return_indices = as_tuple(kernel_size), return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = None if output_size is None else as_tuple(output_size)
        self.output_ratio = None if output_ratio is None else as_tuple(output_ratio)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             "ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor) -> Any:
        pool = (F.fractional_max_pool2d, F.fractional_max_pool3d)[self._nd - 2]
        return pool(input, self.kernel_size, self.output_size, self.output_ratio,
                    self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Max pooling at pseudo-random window starts that shrink (N, C, H, W) or (C, H, W)
    input to `output_size`, or to `output_ratio` of H and W (Graham, 2014). Each call draws
    new starts per plane, unless `_random_samples` (N, C, 2) in [0, 1) fixes them.

    Examples
    --------
    >>> nn.FractionalMaxPool2d(3, output_ratio=0.5)(tl.randn(1, 3, 10, 10)).shape
    (1, 3, 5, 5)
    """

    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """FractionalMaxPool2d over (N, C, D, H, W) or (C, D, H, W) input; `_random_samples` is
    (N, C, 3)."""

    _nd = 3


class _MaxUnpoolNd(Module):
    """Undo a max pool from its indices; see MaxUnpool2d."""

    _nd = 0

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = F._ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._ntuple(kernel_size if stride is None else stride, nd, "stride", name)
        self.padding = F._ntuple(padding, nd, "padding", name)

    def forward(self, input: Tensor, indices: Tensor,  # noqa: A002
                output_size: tuple | None = None) -> Tensor:
        unpool = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[self._nd - 1]
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Undo MaxPool1d(return_indices=True): values back at their indices, zeros elsewhere."""

    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Undo MaxPool2d(return_indices=True): each value back at its index in a plane of zeros.

    Examples
    --------
    >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    >>> out, idx = pool(tl.randn(1, 1, 4, 4))
    >>> unpool(out, idx).shape
    (1, 1, 4, 4)
    """

    _nd = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Undo MaxPool3d(return_indices=True): each value back at its index in a volume."""

    _nd = 3


class AvgPool1d(Module):
    """The mean of each window of (N, C, L) or (C, L) input (see AvgPool2d)."""

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        # NOTE: PyTorch keeps these three as 1-tuples here (and shows them so)
        self.kernel_size = F._ntuple(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = F._ntuple(kernel_size if stride is None else stride, 1, "stride",
                                "AvgPool1d")
        self.padding = F._ntuple(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    """The mean of each window over `_nd` spatial dims; see AvgPool2d."""

    _nd = 0

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = _setting(kernel_size)
        self.stride = self.kernel_size if stride is None else _setting(stride)
        self.padding, self.ceil_mode = _setting(padding), ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F._avg_pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                           self.count_include_pad, self.divisor_override, self._nd)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """The mean of each window of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    kernel_size, stride, padding : int or (int, int)
        stride defaults to kernel_size; padding adds zeros (at most half the kernel).
    ceil_mode : bool
        Round the output size up, keeping a last partial window.
    count_include_pad : bool
        Count the padding in each window's size (True) or only the input's elements.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Examples
    --------
    >>> nn.AvgPool2d(2)(tl.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    _nd = 2


class AvgPool3d(_AvgPoolNd):
    """The mean of each window of (N, C, D, H, W) or (C, D, H, W) input (see AvgPool2d)."""

    _nd = 3


class _AdaptivePoolNd(Module):
    def __init__(self, output_size: int | tuple) -> None:
        super().__init__()
        self.output_size = _setting(output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average (N, C, L) or (C, L) input down to length `output_size`."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average (N, C, H, W) or (C, H, W) input down to `output_size` (an int, or a pair in
    which None keeps that dim), whatever the input size: PyTorch's adaptive windows.

    Examples
    --------
    >>> nn.AdaptiveAvgPool2d(1)(tl.randn(2, 8, 7, 7)).shape  # global average pooling
    (2, 8, 1, 1)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    """Average (N, C, D, H, W) or (C, D, H, W) input down to `output_size` (an int, or a
    triple in which None keeps that dim)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size: int | tuple, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """The maximum of each of `output_size` adaptive windows of (N, C, L) or (C, L) input;
    with `return_indices`, also each maximum's position."""

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """The maximum of each adaptive window of (N, C, H, W) or (C, H, W) input, down to
    `output_size` (an int, or a pair in which None keeps that dim).

    Examples
    --------
    >>> nn.AdaptiveMaxPool2d((1, 1))(tl.randn(2, 8, 7, 7)).shape  # global max pooling
    (2, 8, 1, 1)
    """

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """The maximum of each adaptive window of (N, C, D, H, W) or (C, D, H, W) input."""

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


# --- more activations -----------------------------------------------------------------------
class PReLU(Module):
    """x where x > 0, else a * x with a learned slope a (one, or one per channel).

    Parameters
    ----------
    num_parameters : int
        1 (a slope shared by all channels) or the number of channels C (dim 1).
    init : float
        Every slope's starting value.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _Shrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(_Shrink):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Hardshrink(_Shrink):
    """x where |x| > lambd, else 0."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class Tanhshrink(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


# --- padding --------------------------------------------------------------------------------
class _PadNd(Module):
    """F.pad of the last `_nd` dims by `padding` (an int for every side, or
    (left, right[, top, bottom])) in mode `_mode`; see ZeroPad2d."""

    _nd, _mode = 0, "constant"
    value: float | None = None  # NOTE: set by the constant pads; the other modes take none

    def __init__(self, padding: int | tuple) -> None:
        super().__init__()
        self.padding = F._ntuple(padding, 2 * self._nd, "padding", type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | tuple, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with `value`; negative amounts crop."""

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with `value` by (left, right, top, bottom)."""

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with `value` by (left, right, top, bottom, front, back)."""

    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | tuple) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros."""

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dims with zeros by (left, right, top, bottom).

    Examples
    --------
    >>> nn.ZeroPad2d((1, 1, 2, 0))(tl.ones(1, 1, 3, 3)).shape
    (1, 1, 5, 5)
    """

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dims with zeros."""

    _nd = 3


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image, the edge not repeated."""

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dims with their mirror image, the edges not repeated."""

    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last three dims with their mirror image, the edges not repeated."""

    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values."""

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating their edge values."""

    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last three dims by repeating their edge values."""

    _nd, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dim by wrapping around."""

    _nd, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dims by wrapping around."""

    _nd, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Pad the last three dims by wrapping around."""

    _nd, _mode = 3, "circular"


# --- distances, pixel shuffle ---------------------------------------------------------------
class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    @property
    def p(self) -> float:
        """The constructor's `p` (PyTorch keeps it as `norm`)."""
        return self.norm

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """The cosine of the angle between x1 and x2 along `dim`, each norm at least eps."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class Upsample(Module):
    """Resize the spatial dims to `size` or by `scale_factor`; see `F.interpolate`.

    Examples
    --------
    >>> nn.Upsample(scale_factor=2, mode="bilinear")(tl.randn(1, 3, 4, 4)).shape
    (1, 3, 8, 8)
    """

    def __init__(self, size: int | tuple | None = None,
                 scale_factor: float | tuple | None = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample with mode 'nearest', for (N, C, H, W) input."""

    def __init__(self, size: int | tuple | None = None,
                 scale_factor: float | tuple | None = None) -> None:
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample with mode 'bilinear' and align_corners=True, for (N, C, H, W) input."""

    def __init__(self, size: int | tuple | None = None,
                 scale_factor: float | tuple | None = None) -> None:
        super().__init__(size, scale_factor, "bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) for r = upscale_factor."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W) for r = downscale_factor."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of `groups` groups (ShuffleNet)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class LocalResponseNorm(Module):
    """Normalise each channel by the mean square of `size` neighbouring channels (AlexNet)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Unfold(Module):
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), one column per sliding window."""

    def __init__(self, kernel_size: int | tuple, dilation: int | tuple = 1,
                 padding: int | tuple = 0, stride: int | tuple = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    """col2im: (N, C * kh * kw, L) -> (N, C, *output_size), summing overlapping windows."""

    def __init__(self, output_size: int | tuple, kernel_size: int | tuple,
                 dilation: int | tuple = 1, padding: int | tuple = 0,
                 stride: int | tuple = 1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


class _LPPoolNd(Module):
    _nd = 0

    def __init__(self, norm_type: float, kernel_size: int | tuple,
                 stride: int | tuple | None = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


    def forward(self, input: Tensor) -> Tensor:
        return F._lp_pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode,
                          self._nd)


class LPPool1d(_LPPoolNd):
    """(sum of x^p over each window)^(1/p) of (N, C, L) input."""

    _nd = 1


class LPPool2d(_LPPoolNd):
    """(sum of x^p over each window)^(1/p) of (N, C, H, W) input."""

    _nd = 2


class LPPool3d(_LPPoolNd):
    """(sum of x^p over each window)^(1/p) of (N, C, D, H, W) input."""

    _nd = 3
