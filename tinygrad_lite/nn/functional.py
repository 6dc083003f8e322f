"""Stateless layers and losses, composed from Tensor ops (the modules in `nn` call these).

Everything here is written in terms of the primitives in `ops.py`, so the recorded graph shows
what really ran and every gradient comes from the engine. Two primitives fuse what a training
step runs most: `Linear` (x @ W.T + b) and `CrossEntropy` (log_softmax, pick, reduce, with the
gradient (softmax - onehot) / N); their uncommon cases are composed from the general ops.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor, arange, where

_REDUCTIONS = ("mean", "sum", "none")


# --- layers -------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """`input @ weight.T + bias`, with weight laid out (out_features, in_features).

    The usual shapes (a 2-D weight, a 1-D bias) record one `Linear` node; others go through
    the general `@` and `+`, with their broadcasting.
    """
    if weight.ndim != 2 or input.ndim == 0 or (bias is not None and bias.ndim != 1):
        out = input @ weight.T
        return out if bias is None else out + bias
    if input.shape[-1] != weight.shape[1] or (bias is not None
                                              and bias.shape[0] != weight.shape[0]):
        raise RuntimeError(
            f"linear: input {input.shape}, weight {weight.shape}"
            + ("" if bias is None else f", bias {bias.shape}")
            + f": expected input (..., {weight.shape[1]}) and bias ({weight.shape[0]},), as "
            "weight is (out_features, in_features)")
    if bias is None:
        return ops.Linear.apply(input, weight)
    return ops.Linear.apply(input, weight, bias)


def relu(input: Tensor) -> Tensor:  # noqa: A002
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """x where x > 0, else negative_slope * x (the slope is the gradient at 0, as in PyTorch)."""
    return where(input > 0, input, input * negative_slope)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return input.tanh()


def softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return input.log_softmax(dim)


def _check_dropout_p(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:  # noqa: A002
    """Zero each element with probability `p` and scale the rest by 1/(1-p) (inverted dropout).

    The same tensor comes back when not training or when p == 0, so evaluation costs nothing.
    The mask is kept as 1-byte booleans and float32 stays float32.
    """
    _check_dropout_p(p)
    if not training or p == 0:
        return input
    return ops.Dropout.apply(input, p=float(p))


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape labels.shape + (num_classes,), 1 at each label."""
    values = _labels(labels, "one_hot")
    if num_classes < 0:
        num_classes = int(values.max()) + 1 if values.size else 0
    _check_range(values, num_classes, "one_hot")
    return (labels.unsqueeze(-1) == arange(num_classes)).long()


# --- loss helpers -------------------------------------------------------------------------
def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, denominator: Tensor | int | None = None) -> Tensor:
    """'none', 'sum', or 'mean' (the sum over `denominator`, by default the element count)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if denominator is None else loss.sum() / denominator


def _labels(target: Tensor, op: str) -> np.ndarray:
    """The class labels as a numpy array, refusing float labels with a hint."""
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: class labels must be an integer tensor, got {target.dtype}; "
                        "convert them with .long()")
    return target.numpy()


def _check_range(values: np.ndarray, classes: int, op: str) -> None:
    bad = values[(values < 0) | (values >= classes)]
    if bad.size:
        raise IndexError(f"{op}: label {bad.flat[0]} is out of range for {classes} classes "
                         f"(labels must be in [0, {classes})); make the last layer output one "
                         f"score per class, or map the labels to 0..{classes - 1}")


def _same_shape(input: Tensor, target: Tensor, op: str) -> Tensor:  # noqa: A002
    """The target in the input's dtype, refusing shapes that would silently broadcast."""
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "differ; they would broadcast into a wrong loss. Reshape one of them "
                         "(e.g. target.view(-1, 1) or input.squeeze(1))")
    return target.to(input.dtype)


def _weighted(loss: Tensor, weight: Tensor | None) -> Tensor:
    return loss if weight is None else loss * weight.to(loss.dtype)


def _class_dim(input: Tensor, op: str) -> int:  # noqa: A002
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _class_weighted(logp: Tensor, weight: Tensor | None, class_dim: int) -> Tensor:
    """logp times per-class weights (C,) broadcast along the class dimension."""
    if weight is None:
        return logp
    return logp * weight.to(logp.dtype).reshape((-1,) + (1,) * (logp.ndim - class_dim - 1))


def _checked_labels(input: Tensor, target: Tensor, ignore_index: int,  # noqa: A002
                    op: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The labels as an array (ignored ones set to 0) and the keep-mask (None: all kept),
    refusing labels of the wrong dtype, shape or range."""
    class_dim = _class_dim(input, op)
    expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
    values = _labels(target, op)
    if target.shape != expected:
        raise ValueError(f"{op}: target shape {target.shape} does not fit input shape "
                         f"{input.shape}; expected {expected} (one label per row)")
    keep = values != ignore_index
    if keep.all():
        keep = None
    else:
        values = np.where(keep, values, 0)
    _check_range(values, input.shape[class_dim], op)
    return values, keep


def _weighted_nll(logp: Tensor, values: np.ndarray, keep: np.ndarray | None,
                  weight: Tensor | None, op: str) -> tuple[Tensor, Tensor | int, Tensor | None]:
    """Per-element -w[y] * logp[y], its mean's denominator, and the keep-mask (or None), for
    labels `values` and mask `keep` as `_checked_labels` gives them.

    Ignored elements have loss 0; the denominator is the total weight of the kept ones (their
    count without weights), as in PyTorch.
    """
    class_dim = _class_dim(logp, op)
    mask = None if keep is None else Tensor._wrap(keep.astype(logp.dtype))
    picked = ops.TakeAlongAxis.apply(logp, indices=np.expand_dims(values, class_dim),
                                     axis=class_dim).squeeze(class_dim)
    w = None if weight is None else weight.to(logp.dtype)[values]
    if mask is not None:
        w = mask if w is None else w * mask
    if w is None:
        return -picked, picked.numel(), None
    return -(picked * w), w.sum(), mask


# --- losses -------------------------------------------------------------------------------
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class labels, given log-probabilities.

    Parameters
    ----------
    input : Tensor
        Log-probabilities, (N, C), (C,) or (N, C, d1, ...).
    target : Tensor
        int64 labels in [0, C), (N,), () or (N, d1, ...); `ignore_index` marks rows to skip.
    weight : Tensor, optional
        Per-class weights (C,); the mean divides by the total weight of the labels.
    """
    op = "nll_loss"
    _check_reduction(reduction, op)
    values, keep = _checked_labels(input, target, ignore_index, op)
    loss, denominator, _ = _weighted_nll(input, values, keep, weight, op)
    return _reduce(loss, reduction, denominator)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of raw logits: log_softmax, then pick each row's label.

    Parameters
    ----------
    input : Tensor
        Logits, (N, C), (C,) or (N, C, d1, ...).
    target : Tensor
        int64 class labels (see `nll_loss`), or float class probabilities of input's shape.
    label_smoothing : float
        Mix each target with the uniform distribution: (1 - s) * target + s / C.

    Examples
    --------
    >>> loss = F.cross_entropy(model(x), y)  # y: int64 of shape (N,)
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = _class_dim(input, op)
    classes = input.shape[class_dim]
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise TypeError(f"{op}: class labels must be an integer tensor, got "
                            f"{target.dtype} of shape {target.shape}; convert them with "
                            f".long() (float targets are class probabilities and need the "
                            f"input's shape {input.shape})")
        logp = input.log_softmax(class_dim)
        probs = target.to(logp.dtype)
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / classes
        loss = -(_class_weighted(logp, weight, class_dim) * probs).sum(class_dim)
        return _reduce(loss, reduction)
    labels, keep = _checked_labels(input, target, ignore_index, op)
    if input.ndim == 2 and keep is None and weight is None and not label_smoothing:
        # NOTE: the common case: one fused node
        return ops.CrossEntropy.apply(input._floating(), reduction=reduction,
                                      picks=(np.arange(len(labels)), labels))
    logp = input.log_softmax(class_dim)
    loss, denominator, mask = _weighted_nll(logp, labels, keep, weight, op)
    if label_smoothing:
        smooth = -_class_weighted(logp, weight, class_dim).sum(class_dim)
        if mask is not None:
            smooth = smooth * mask
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)
    return _reduce(loss, reduction, denominator)


def binary_cross_entropy(input: Tensor, target: Tensor,  # noqa: A002
                         weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """-(y log p + (1-y) log(1-p)) for probabilities p; each log is clamped at -100."""
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    y = _same_shape(input, target, op)
    p = input.numpy()
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"{op}: input must be probabilities in [0, 1], got values from "
                         f"{p.min():.4g} to {p.max():.4g}; for raw logits use "
                         "binary_cross_entropy_with_logits")
    return _reduce(_weighted(ops.BinaryCrossEntropy.apply(input, y), weight), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,  # noqa: A002
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression of the logits x.

    (1-y) x + w_pos * softplus(-x), with softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)), which
    is max(x, 0) - x y + log(1 + exp(-|x|)) when there is no pos_weight. exp only ever sees
    -|x| <= 0, so logits of +-1e4 neither overflow nor lose the gradient.
    `pos_weight` (broadcast along the last dim) scales the loss of positive targets.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    y = _same_shape(input, target, op)
    # NOTE: maximum (ties split the gradient) rather than relu, so d/dx at x = 0 is 1/2 - y
    softplus = (-input).maximum(0) + ((-input.abs()).exp() + 1).log()
    if pos_weight is not None:
        softplus = softplus * ((pos_weight.to(input.dtype) - 1) * y + 1)
    return _reduce(_weighted((1 - y) * input + softplus, weight), reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """(input - target)^2, elementwise; shapes must match exactly."""
    _check_reduction(reduction, "mse_loss")
    diff = input - _same_shape(input, target, "mse_loss")
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """|input - target|, elementwise; shapes must match exactly."""
    _check_reduction(reduction, "l1_loss")
    return _reduce((input - _same_shape(input, target, "l1_loss")).abs(), reduction)
