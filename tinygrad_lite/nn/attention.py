"""nn.MultiheadAttention and the Transformer encoder built on it, from Tensor ops so the
graph shows every projection."""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np

from ..autograd import is_grad_enabled
from ..tensor import Tensor, _on_cpu, cat, empty, zeros
from . import functional as F
from . import init
from .layers import Dropout, LayerNorm, Linear
from .module import Module, ModuleList, Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name PyTorch gives MultiheadAttention.out_proj, so reprs match."""


def _additive(mask: Tensor, dtype: Any) -> Tensor:
    """A mask as a term to add to the scores: a boolean one (True: may not attend) becomes
    -inf / 0, a float one is added as it is."""
    if mask.dtype == np.bool_:
        return Tensor(np.where(mask.numpy(), -np.inf, 0.0).astype(dtype))
    return mask.to(dtype)


class MultiheadAttention(Module):
    """Attention of `num_heads` heads over projected queries, keys and values, as in
    PyTorch (same parameters, init, masks and outputs).

    Parameters
    ----------
    embed_dim, num_heads : int
        Model width and head count (each head gets embed_dim // num_heads features).
    dropout : float
        Dropout on the attention weights while training.
    bias : bool
        Whether the input and output projections have biases.
    kdim, vdim : int, optional
        Feature sizes of keys and values when they differ from embed_dim.
    batch_first : bool
        Inputs and output are (N, L, E) instead of (L, N, E).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) returns (output, weights or None).
    A boolean mask marks with True what may *not* be attended (the opposite of
    F.scaled_dot_product_attention's convention, as in PyTorch); a float mask is added.

    Examples
    --------
    >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
    >>> x = tl.randn(2, 5, 16)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((2, 5, 16), (2, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 *, device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections and zero biases; out_proj.weight keeps Linear's init;
        bias_k and bias_v are Xavier-normal."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        for b in (self.in_proj_bias, self.out_proj.bias):
            if b is not None:
                init.zeros_(b)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        if self.batch_first and query.ndim == 3:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        separate = self.in_proj_weight is None
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and query.ndim == 3:
            out = out.transpose(0, 1)
        return out, weights


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float,
        out_proj_weight: Tensor, out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """MultiheadAttention's computation with its parameters passed in (PyTorch's
    `F.multi_head_attention_forward`): inputs (L, N, E), or (L, E) unbatched; returns
    (output, weights or None). static_k / static_v, shaped (N * num_heads, S, head_dim),
    replace the projected keys and values."""
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                           "the Transformer module method `generate_square_subsequent_mask`"
                           " to create this mask.")
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, "
                             f"but got {embed_dim}")
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    length, batch, _ = query.shape
    size, heads, head_dim = key.shape[0], num_heads, embed_dim // num_heads
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    weights = ((q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight
               else in_proj_weight.chunk(3))

    q, k, v = (F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))
    if bias_k is not None:  # NOTE: one more key and value, learned, for every sample
        k = cat([k, bias_k.expand(1, batch, embed_dim)])
        v = cat([v, bias_v.expand(1, batch, embed_dim)])
    # (T, N, features) -> (N, heads, T, head_dim)
    q, k, v = (x.reshape(x.shape[0], batch, heads, head_dim).permute(1, 2, 0, 3)
               for x in (q, k, v))
    k, v = (x if static is None else static.reshape(batch, heads, -1, head_dim)
            for x, static in ((k, static_k), (v, static_v)))
    if static_k is not None:
        size = k.shape[2]
    if add_zero_attn:  # NOTE: and a key and value of zeros after them
        k, v = (cat([x, zeros(batch, heads, 1, head_dim, dtype=x.dtype)], 2) for x in (k, v))
    extra = k.shape[2] - size  # NOTE: keys the masks do not cover may be attended
    scores = (q * (1 / math.sqrt(head_dim))) @ k.transpose(-2, -1)  # (N, H, L, S)
    if attn_mask is not None:
        mask = F.pad(_additive(attn_mask, scores.dtype), (0, extra))
        scores = scores + (mask.reshape(batch, heads, length, size + extra)
                           if mask.ndim == 3 else mask)
    if key_padding_mask is not None:
        scores = scores + F.pad(_additive(key_padding_mask, scores.dtype), (0, extra)).reshape(
            batch, 1, 1, size + extra)
    # NOTE: as PyTorch: without weights to return its fast path zeroes a row with nothing to
    # attend to; with them its softmax leaves that row NaN
    attention = F.dropout(scores.softmax(-1) if need_weights else F._safe_softmax(scores),
                          dropout_p, training)
    out = (attention @ v).permute(2, 0, 1, 3).reshape(length, batch, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        attention = attention.mean(1)
    return out, attention.squeeze(0) if unbatched else attention


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        return F.relu if activation == "relu" else F.gelu
    return activation


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: self-attention (and, in the decoder,
    attention over the encoder's output), then a feed-forward block; each block is added
    back to its input and layer-normalised (after it, or before it with `norm_first`).
    Attributes are registered in PyTorch's order, under its names, so state dicts load."""

    _blocks = 0  # NOTE: 2 in the encoder, 3 in the decoder (with cross-attention)

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        attention = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, **attention)
        if self._blocks == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, **attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, self._blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in range(1, self._blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    def _residual(self, x: Tensor, *blocks: Callable[[Tensor], Tensor]) -> Tensor:
        for i, block in enumerate(blocks, 1):
            norm = getattr(self, f"norm{i}")
            x = x + block(norm(x)) if self.norm_first else norm(x + block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Tensor | None,
                  key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, f"dropout{self._blocks}")(out)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block, each added back to its input and
    layer-normalised (after, or before with `norm_first`), as in PyTorch.

    Parameters
    ----------
    d_model, nhead : int
        Width and attention heads.
    dim_feedforward : int
        Hidden width of the feed-forward block.
    dropout : float
        Dropout after the attention, inside and after the feed-forward block.
    activation : "relu", "gelu" or a callable (a Module one becomes a child).
    layer_norm_eps, batch_first, norm_first, bias : as in PyTorch.

    Examples
    --------
    >>> layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
    >>> layer(tl.randn(2, 5, 16)).shape
    (2, 5, 16)
    """

    _blocks = 2

    def forward(self, src: Tensor, src_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        return self._residual(
            src, lambda x: self._sa_block(x, src_mask, src_key_padding_mask, is_causal),
            self._ff_block)


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over the target, attention over the encoder's output (`memory`), then
    a feed-forward block; each added back and layer-normalised, as in PyTorch.

    Parameters are those of TransformerEncoderLayer; the cross-attention is
    `multihead_attn`, and norm3 / dropout3 belong to the feed-forward block.

    Examples
    --------
    >>> layer = nn.TransformerDecoderLayer(16, 4, dim_feedforward=32, batch_first=True)
    >>> layer(tl.randn(2, 5, 16), tl.randn(2, 7, 16)).shape
    (2, 5, 16)
    """

    _blocks = 3

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        return self._residual(
            tgt, lambda x: self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
            lambda x: self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                      memory_is_causal),
            self._ff_block)

    def _mha_block(self, x: Tensor, memory: Tensor, attn_mask: Tensor | None,
                   key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        out, _ = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                     key_padding_mask=key_padding_mask, need_weights=False,
                                     is_causal=is_causal)
        return self.dropout2(out)


class TransformerEncoder(Module):
    """`num_layers` independent copies of `encoder_layer` applied in turn, then `norm`.

    Examples
    --------
    >>> layer = nn.TransformerEncoderLayer(16, 4, batch_first=True)
    >>> nn.TransformerEncoder(layer, num_layers=2)(tl.randn(2, 5, 16)).shape
    (2, 5, 16)
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check
        attn = encoder_layer.self_attn
        # NOTE: PyTorch's conditions for packing padded batches into nested tensors
        self.use_nested_tensor = (
            enable_nested_tensor and isinstance(encoder_layer, TransformerEncoderLayer)
            and not encoder_layer.norm_first and attn.batch_first
            and attn._qkv_same_embed_dim and attn.in_proj_bias is not None
            and encoder_layer.activation in (F.relu, F.gelu)
            and encoder_layer.norm1.eps == encoder_layer.norm2.eps and attn.num_heads % 2 == 0)

    def forward(self, src: Tensor, mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))
        padded = self._nested_padding(src, mask, src_key_padding_mask)
        if padded is not None:
            out = out.masked_fill(padded[..., None], 0.0)
        return out if self.norm is None else self.norm(out)

    def _nested_padding(self, src: Tensor, mask: Tensor | None,
                        key_padding_mask: Tensor | None) -> np.ndarray | None:
        """The padded positions whose outputs PyTorch leaves at 0, or None.

        In inference (eval mode, and no gradient wanted from the first layer's weights),
        PyTorch packs a right-padded batch into a nested tensor, runs the layers on the real
        positions only and pads the result with zeros, before `norm`.
        """
        first = self.layers[0] if len(self.layers) else None
        if (not self.use_nested_tensor or first is None or first.training or src.ndim != 3
                or key_padding_mask is None or mask is not None):
            return None
        if is_grad_enabled() and (src.requires_grad or any(
                p.requires_grad for p in first.parameters())):
            return None
        padded = _additive(key_padding_mask, np.float64).numpy() != 0
        real = ~padded
        # NOTE: only batches padded at the end of each sequence are packed
        if self.mask_check and (real[:, 1:] & ~real[:, :-1]).any():
            return None
        return padded


class TransformerDecoder(Module):
    """`num_layers` independent copies of `decoder_layer` applied in turn (each attending
    to the same `memory`), then `norm`.

    Examples
    --------
    >>> layer = nn.TransformerDecoderLayer(16, 4, batch_first=True)
    >>> nn.TransformerDecoder(layer, 2)(tl.randn(2, 5, 16), tl.randn(2, 7, 16)).shape
    (2, 5, 16)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(decoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """The encoder-decoder Transformer of Vaswani et al. (2017), as PyTorch builds it: an
    encoder and a decoder stack, each ending in a LayerNorm; every weight matrix is
    re-initialised Xavier-uniform.

    Parameters
    ----------
    d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
    norm_first, bias : as in TransformerEncoderLayer.
    num_encoder_layers, num_decoder_layers : int
    custom_encoder, custom_decoder : Module, optional
        Used instead of the stacks built here.

    Examples
    --------
    >>> model = nn.Transformer(16, 4, 2, 2, dim_feedforward=32, batch_first=True)
    >>> mask = nn.Transformer.generate_square_subsequent_mask(5)
    >>> model(tl.randn(2, 7, 16), tl.randn(2, 5, 16), tgt_mask=mask).shape
    (2, 5, 16)
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *,
                 device: Any = None, dtype: Any = None) -> None:
        _on_cpu(device, type(self).__name__)
        super().__init__()
        settings = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                        layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                        norm_first=norm_first, bias=bias, dtype=dtype)

        def stack(custom: Module | None, kind: type, layer: type, n: int) -> Module:
            return custom if custom is not None else kind(
                layer(d_model, nhead, **settings), n,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))

        self.encoder = stack(custom_encoder, TransformerEncoder, TransformerEncoderLayer,
                             num_encoder_layers)
        self.decoder = stack(custom_decoder, TransformerDecoder, TransformerDecoderLayer,
                             num_decoder_layers)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None,
                tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Tensor:
        """A float (sz, sz) mask: -inf above the diagonal, 0 on and below it, so position i
        attends to positions 0..i only."""
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        return Tensor(np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1))
