"""`torch.nn.utils.rnn.pad_sequence`: variable-length sequences into one padded batch."""
from __future__ import annotations

from collections.abc import Sequence

from ...tensor import Tensor, cat, full, stack


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
