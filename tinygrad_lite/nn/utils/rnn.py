"""`torch.nn.utils.rnn`: variable-length sequences padded into one batch (`pad_sequence`) or
packed (`PackedSequence`), which the recurrent layers read without running past each
sequence's end."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ...tensor import Tensor, cat, full, stack, tensor


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (max L, B, *), or (B, max L, *) with
    `batch_first`, filling with `padding_value` after each (or before, with
    padding_side="left"); gradients flow back to every sequence.

    Examples
    --------
    >>> pad_sequence([tl.ones(3), tl.ones(1)], batch_first=True).tolist()
    [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        fill = full((longest - s.shape[0], *s.shape[1:]), padding_value, dtype=s.dtype)
        padded.append(cat([s, fill] if padding_side == "right" else [fill, s]))
    return stack(padded, 0 if batch_first else 1)


class PackedSequence(NamedTuple):
    """Sequences of different lengths packed time step by time step, as PyTorch packs them.

    `data` holds, for each step t, the entries of the `batch_sizes[t]` sequences still
    running, longest first; `sorted_indices` is that order of the batch (None: the batch
    was sorted already) and `unsorted_indices` its inverse.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def pack_padded_sequence(input: Tensor, lengths: Sequence[int] | Tensor,  # noqa: A002
                         batch_first: bool = False, enforce_sorted: bool = True
                         ) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with `batch_first`) whose sequence i has
    `lengths[i]` steps; with `enforce_sorted` the lengths must already decrease."""
    lengths = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths,
                         dtype=np.int64).reshape(-1)
    steps = input.transpose(0, 1) if batch_first else input  # (T, B, *)
    longest, batch = steps.shape[:2]
    if lengths.size != batch or batch and not 1 <= lengths.min() <= lengths.max() <= longest:
        raise RuntimeError(f"pack_padded_sequence: expected {batch} lengths in [1, {longest}], "
                           f"got {lengths.tolist()}")
    order = None
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               "decreasing order when `enforce_sorted` is True; pass "
                               "enforce_sorted=False to pack unsorted sequences")
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
    batch_sizes = tensor((lengths[None, :] > np.arange(lengths[0])[:, None]).sum(1))
    layout = PackedSequence(None, batch_sizes) if order is None else PackedSequence(
        None, batch_sizes, tensor(order), tensor(np.argsort(order, kind="stable")))
    return _packed_like(steps, layout)


def _packed_like(padded: Tensor, layout: PackedSequence) -> PackedSequence:
    """`padded` (T, B, *), in the batch's own order, packed as `layout` is packed (a
    recurrent layer packs its output like its input)."""
    steps = padded if layout.sorted_indices is None else padded.index_select(
        1, layout.sorted_indices)
    data = cat([steps[t, :n] for t, n in enumerate(layout.batch_sizes.tolist())])
    return layout._replace(data=data)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    """The padded batch (T, B, *) (or (B, T, *)) back from `sequence`, in the batch's own
    order, and each sequence's length; `total_length` pads T further."""
    data, sizes = sequence.data, sequence.batch_sizes.numpy()
    longest = len(sizes)
    if total_length is not None and total_length < longest:
        raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than "
                         f"the longest sequence ({longest} steps)")
    batch, rest = int(sizes[0]), data.shape[1:]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    rows = [cat([data[starts[t]:starts[t + 1]],
                 full((batch - n, *rest), padding_value, dtype=data.dtype)])
            for t, n in enumerate(sizes)]
    rows += [full((batch, *rest), padding_value, dtype=data.dtype)] * (
        (total_length or longest) - longest)
    padded = stack(rows)
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.numpy()]
    return (padded.transpose(0, 1) if batch_first else padded), tensor(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack tensors of shapes (L_i, *): `pad_sequence`, then `pack_padded_sequence`."""
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Sequence[int] | Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length."""
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [batch[i, :n] for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The sequences of a `PackedSequence`, each as long as it is, in the batch's order."""
    return unpad_sequence(*pad_packed_sequence(packed_sequences, batch_first=True),
                          batch_first=True)
