"""AdaptiveLogSoftmaxWithLoss: a softmax over many classes, cheap for the frequent ones.

The frequent classes (below the first cutoff) and one entry per rarer cluster share a head
softmax; a row whose label is in a cluster adds that cluster's own softmax, computed from a
smaller projection (in_features / div_value ** k features), for its rows only (Grave et al.,
2017). Composed from Tensor ops, so autograd and the graph tools see what ran.
"""
from __future__ import annotations

import itertools
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, cat, tensor
from .layers import Linear
from .module import Module, ModuleList, Sequential

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """PyTorch's adaptive softmax: `forward(input, target)` gives each row's log-probability
    of its target (`output`) and the mean negative of them (`loss`); `log_prob(input)` the
    full (N, n_classes) log-probabilities; `predict(input)` the most likely classes.

    Parameters
    ----------
    cutoffs : increasing classes in [1, n_classes - 1] that split the classes into the
        head's shortlist and the clusters.
    div_value : each further cluster's projection has this many times fewer features.
    head_bias : whether the head Linear has a bias.

    Examples
    --------
    >>> asm = nn.AdaptiveLogSoftmaxWithLoss(64, 1000, cutoffs=[10, 100])
    >>> out, loss = asm(hidden, labels)  # hidden (N, 64), labels (N,)
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1 \
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device,
                           dtype=dtype)
        self.tail = ModuleList(
            Sequential(Linear(in_features, int(in_features // div_value ** (i + 1)), bias=False,
                              device=device, dtype=dtype),
                       Linear(int(in_features // div_value ** (i + 1)), high - low, bias=False,
                              device=device, dtype=dtype))
            for i, (low, high) in enumerate(itertools.pairwise(self.cutoffs)))

    def reset_parameters(self) -> None:
        """Initialise every Linear again, as at construction."""
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        # NOTE: PyTorch's argument names, trailing underscores included
        input, target = input_, target_  # noqa: A001
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found "
                                   f"inputs with size {input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found "
                                   f"inputs with size {input.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target.ndim == 1
        x = input if batched else input.unsqueeze(0)
        labels = np.atleast_1d(target.numpy()).astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{labels.min()}, {labels.max()}] were found. ")
        # NOTE: cluster 0 is the head's shortlist; a row of cluster k picks head entry
        # shortlist_size + k - 1, then adds its label's log-probability within the cluster
        clusters = np.searchsorted(self.cutoffs, labels, side="right")
        picks = np.where(clusters == 0, labels, self.shortlist_size + clusters - 1)
        head = self.head(x).log_softmax(1)
        output = head.gather(1, tensor(picks[:, None])).squeeze(1)
        for k, low in enumerate(self.cutoffs[:-1], start=1):
            rows = np.flatnonzero(clusters == k)
            if rows.size:
                local = self.tail[k - 1](x[rows]).log_softmax(1)
                within = local.gather(1, tensor((labels[rows] - low)[:, None])).squeeze(1)
                output = output.index_add(0, tensor(rows), within)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input: Tensor, head: Tensor) -> Tensor:  # noqa: A002
        """(N, n_classes) log-probabilities, given the head's output for `input`."""
        head = head.log_softmax(1)
        parts = [head[:, :self.shortlist_size]]
        for k, projection in enumerate(self.tail):
            cluster = head[:, self.shortlist_size + k].unsqueeze(1)
            parts.append(projection(input).log_softmax(1) + cluster)
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:  # noqa: A002
        """Log-probabilities of every class, (N, n_classes), from (N, in_features)."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:  # noqa: A002
        """The most likely class of each row: `log_prob(input).argmax(1)`, with the full
        distribution computed only for rows whose head points into a cluster."""
        head = self.head(input)
        best = head.argmax(1)
        rare = best.numpy() >= self.shortlist_size
        if not rare.any():
            return best
        rows = np.flatnonzero(rare)
        out = best.numpy().copy()
        out[rows] = self._full_log_prob(input[rows], head[rows]).argmax(1).numpy()
        return tensor(out)
