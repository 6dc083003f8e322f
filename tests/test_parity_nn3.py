"""PyTorch parity, third sweep: the 3-d convolutions, pools, norms, dropouts and pads,
max pools' indices and max_unpool, the Transformer decoder, EmbeddingBag, more losses,
gumbel_softmax, LazyLinear, affine_grid / grid_sample, more interpolate modes, CTC loss, and
the LBFGS and ASGD optimizers.

Each function is checked against PyTorch (values and gradients, float64) when torch is
installed, and with finite differences (tl.gradcheck) without it.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim

RNG = np.random.default_rng(3)
VOLUME = RNG.standard_normal((2, 3, 4, 5, 4))
IMAGE = RNG.standard_normal((2, 3, 5, 6))
SIGNAL = RNG.standard_normal((2, 3, 7))


def _torch():
    return pytest.importorskip("torch")


def _run(lib, functional, name, kwargs, arrays, differentiable=None):
    """Output and input gradients of functional.name(*arrays) under a weighted sum; float64
    arrays among the first `differentiable` get gradients."""
    count = len(arrays) if differentiable is None else differentiable
    leaves = [lib.tensor(a, requires_grad=a.dtype == np.float64 and i < count)
              for i, a in enumerate(arrays)]
    out = getattr(functional, name)(*leaves, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    weights = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape)) % 7 - 3
    (out * lib.tensor(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in leaves if t.requires_grad]


def _check_against_torch(name, kwargs, arrays, differentiable=None, rtol=1e-9):
    torch = _torch()
    out, grads = _run(tl, F, name, kwargs, arrays, differentiable)
    want, want_grads = _run(torch, torch.nn.functional, name, kwargs, arrays, differentiable)
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=rtol, atol=1e-10)
    assert len(grads) == len(want_grads)
    for got, expected in zip(grads, want_grads):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-10)


def _leaf(a):
    return tl.tensor(a, requires_grad=True)


def _copy_weights(theirs, ours):
    """Load a torch module's state into ours, so both start from the same numbers."""
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


# --- 3-d convolution, pooling, padding ------------------------------------------------------
WEIGHT3 = RNG.standard_normal((4, 3, 2, 3, 2))
CASES_3D = [
    ("conv3d", {}, [VOLUME, WEIGHT3]),
    ("conv3d", {"stride": (1, 2, 1), "padding": 1, "dilation": (2, 1, 1)},
     [VOLUME, WEIGHT3, RNG.standard_normal(4)]),
    ("conv3d", {"padding": "same", "groups": 3}, [VOLUME, RNG.standard_normal((6, 1, 3, 2, 3))]),
    ("conv3d", {}, [VOLUME[0], WEIGHT3]),
    ("conv_transpose3d", {"stride": 2, "padding": 1, "output_padding": (1, 0, 1)},
     [VOLUME, RNG.standard_normal((3, 2, 3, 2, 3)), RNG.standard_normal(2)]),
    ("conv_transpose3d", {"groups": 3, "dilation": (1, 2, 1)},
     [VOLUME, RNG.standard_normal((3, 2, 2, 2, 2))]),
    ("max_pool3d", {"kernel_size": 2}, [VOLUME]),
    ("max_pool3d", {"kernel_size": (2, 3, 2), "stride": 1, "padding": 1, "dilation": (1, 1, 2),
                    "ceil_mode": True}, [VOLUME]),
    ("avg_pool3d", {"kernel_size": 2, "stride": (1, 2, 1)}, [VOLUME]),
    ("avg_pool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}, [VOLUME]),
    ("avg_pool3d", {"kernel_size": 2, "divisor_override": 3}, [VOLUME[0]]),
    ("adaptive_avg_pool3d", {"output_size": (3, 2, None)}, [VOLUME]),
    ("adaptive_max_pool3d", {"output_size": (3, 4, 3)}, [VOLUME]),
    ("lp_pool3d", {"norm_type": 2, "kernel_size": 2, "stride": 1}, [VOLUME]),
    ("pad", {"pad": (1, 2, 0, 1, 2, 1), "mode": "reflect"}, [VOLUME]),
    ("pad", {"pad": (1, 2, 0, 1, 2, 1), "mode": "replicate"}, [VOLUME]),
    ("pad", {"pad": (1, 2, 0, 1, 2, 1), "mode": "circular"}, [VOLUME]),
    ("max_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True},
     [SIGNAL]),
    ("adaptive_max_pool2d_with_indices", {"output_size": (2, 4)}, [IMAGE]),
    ("max_pool2d_with_indices", {"kernel_size": 2, "stride": 1}, [IMAGE]),
]


@pytest.mark.parametrize("name, kwargs, arrays", CASES_3D,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES_3D)])
def test_3d_and_index_functions_match_torch(name, kwargs, arrays):
    _check_against_torch(name, kwargs, arrays)


@pytest.mark.parametrize("fn, arrays", [
    (lambda x, w: F.conv3d(x, w, stride=(2, 1, 1), padding=(0, 1, 0)),
     [VOLUME[:1], WEIGHT3[:2]]),
    (lambda x, w: F.conv_transpose3d(x, w, stride=(1, 2, 1)),
     [VOLUME[:1, :, :2, :3, :2], RNG.standard_normal((3, 2, 2, 1, 2))]),
    (lambda x: F.max_pool3d(x, 2, stride=1), [VOLUME[:1, :2]]),
    (lambda x: F.avg_pool3d(x, 2, padding=1, count_include_pad=False), [VOLUME[:1, :2]]),
    (lambda x: F.adaptive_max_pool3d(x, (3, 2, 3)), [VOLUME[:1, :2]]),
], ids=["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_max_pool3d"])
def test_3d_functions_pass_gradcheck(fn, arrays):
    assert tl.gradcheck(fn, [_leaf(a) for a in arrays])


@pytest.mark.parametrize("nd, shape", [(1, (2, 3, 8)), (2, (2, 3, 6, 5)), (3, (1, 2, 4, 5, 4))])
def test_max_unpool_inverts_max_pool_and_matches_torch(nd, shape):
    x = RNG.standard_normal(shape)
    pool = getattr(F, f"max_pool{nd}d")
    unpool = getattr(F, f"max_unpool{nd}d")
    values, indices = pool(tl.tensor(x), 2, return_indices=True)
    leaf = _leaf(values.numpy())
    out = unpool(leaf, indices, 2, output_size=x.shape)
    assert out.shape == x.shape
    # every maximum is back where it came from; everything else is 0
    kept = out.numpy() != 0
    np.testing.assert_array_equal(out.numpy()[kept], x[kept])
    assert kept.sum() == values.numel()
    assert tl.gradcheck(lambda v: unpool(v, indices, 2, output_size=x.shape), [leaf])
    torch = _torch()
    tv, ti = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), 2,
                                                            return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    want = getattr(torch.nn.functional, f"max_unpool{nd}d")(tv, ti, 2, output_size=x.shape)
    np.testing.assert_array_equal(out.numpy(), want.numpy())


def test_max_unpool_checks_output_size_and_indices():
    values, indices = F.max_pool2d(tl.tensor(IMAGE), 2, return_indices=True)
    assert F.max_unpool2d(values, indices, 2).shape == (2, 3, 4, 6)
    assert F.max_unpool2d(values, indices, 2, output_size=(5, 7)).shape == (2, 3, 5, 7)
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool2d(values, indices, 2, output_size=(7, 6))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(values, indices, 2, output_size=(5,))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(values, indices + 100, 2)
    with pytest.raises(RuntimeError, match="max_unpool2d.*shape"):
        F.max_unpool2d(values, indices[:1], 2)


MODULES_3D = [
    "Conv3d(3, 4, 2)", "Conv3d(3, 6, (1, 2, 3), stride=2, padding=1, groups=3, bias=False)",
    "Conv3d(3, 4, 3, padding='same', padding_mode='reflect')",
    "ConvTranspose3d(3, 4, 2, stride=2, output_padding=1)", "MaxPool3d(2)",
    "MaxPool3d((1, 2, 2), stride=1, padding=(0, 1, 1), ceil_mode=True)", "AvgPool3d(2)",
    "AvgPool3d(3, stride=2, padding=1, count_include_pad=False)", "AdaptiveAvgPool3d((2, 3, 2))",
    "AdaptiveMaxPool3d(2)", "BatchNorm3d(3)", "BatchNorm3d(3, momentum=None, affine=False)",
    "InstanceNorm3d(3)", "InstanceNorm3d(3, affine=True)", "Dropout3d(0.3)", "ZeroPad3d(1)",
    "ConstantPad3d((1, 0, 2, 1, 0, 1), 2.5)", "ReflectionPad3d(1)",
    "ReplicationPad3d((1, 0, 1, 0, 1, 0))",
    "CircularPad3d(1)", "LPPool3d(2, 2)", "MaxUnpool1d(2)", "MaxUnpool2d(2, stride=1)",
    "MaxUnpool3d((2, 1, 2), padding=(1, 0, 1))",
]


@pytest.mark.parametrize("expr", MODULES_3D)
def test_3d_modules_match_torch(expr):
    """Repr, state_dict keys and shapes, and (with the same weights) the train-mode output
    and gradients; unpooling modules are fed a real max pool's output."""
    torch = _torch()
    ours, theirs = eval("nn." + expr), eval("torch.nn." + expr, {"torch": torch})
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.double()
    theirs.double()
    _copy_weights(theirs, ours)
    if "Unpool" in expr:
        nd = int(expr[len("MaxUnpool")])
        x = VOLUME[0, :, 0] if nd == 1 else VOLUME[0] if nd == 2 else VOLUME
        k, s, p = ours.kernel_size, ours.stride, ours.padding
        tv, ti = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), k, s, p,
                                                                return_indices=True)
        want = theirs(tv, ti).numpy()
        np.testing.assert_array_equal(ours(tl.tensor(tv.numpy()), tl.tensor(ti.numpy())).numpy(),
                                      want)
        return
    if "Dropout" in expr:
        ours.eval()
        theirs.eval()
    x, tx = _leaf(VOLUME), torch.tensor(VOLUME, requires_grad=True)
    out, want = ours(x), theirs(tx)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-10)
    w = np.cos(np.arange(out.numel())).reshape(out.shape)
    (out * tl.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=name)
    for key, value in theirs.state_dict().items():  # running statistics moved alike
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-9)


def test_3d_modules_without_torch():
    conv = nn.Conv3d(3, 4, (2, 3, 1), padding=1)
    assert conv.weight.shape == (4, 3, 2, 3, 1)
    bound = 1 / np.sqrt(3 * 6)
    assert np.abs(conv.weight.numpy()).max() <= bound
    assert conv(tl.tensor(VOLUME, dtype=tl.float32)).shape == (2, 4, 5, 5, 6)
    assert nn.ConvTranspose3d(3, 2, 2, stride=2).weight.shape == (3, 2, 2, 2, 2)
    bn = nn.BatchNorm3d(3)
    out = bn(tl.tensor(VOLUME)).numpy()
    np.testing.assert_allclose(out.mean((0, 2, 3, 4)), 0, atol=1e-7)
    with pytest.raises(ValueError, match="5D"):
        bn(tl.tensor(IMAGE))
    drop = nn.Dropout3d(0.5)
    kept = drop(tl.ones(20, 8, 2, 2, 2)).numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0}
    assert (kept.reshape(20, 8, -1).std(-1) == 0).all()  # whole volumes go together
    assert nn.ReflectionPad3d(1)(tl.tensor(VOLUME)).shape == (2, 3, 6, 7, 6)
    with pytest.warns(UserWarning, match="dropout3d"):  # NOTE: PyTorch 2.13 warns, goes on
        F.dropout3d(tl.tensor(IMAGE[0, 0]))
    a, b = nn.AdaptiveMaxPool3d(2, return_indices=True)(tl.tensor(VOLUME))
    assert a.shape == b.shape == (2, 3, 2, 2, 2) and b.dtype == tl.int64


# --- Transformer decoder --------------------------------------------------------------------
def _masks(lib, batch_first):
    """A causal target mask and padding masks for a batch of 2, target 4 and source 6 long."""
    src_pad = np.zeros((2, 6), bool)
    src_pad[1, 4:] = True
    tgt_pad = np.zeros((2, 4), bool)
    tgt_pad[0, 3] = True
    causal = np.triu(np.full((4, 4), -np.inf), 1)
    memory_mask = np.zeros((4, 6), bool)
    memory_mask[0, 5] = True
    return dict(tgt_mask=lib.tensor(causal), memory_mask=lib.tensor(memory_mask),
                tgt_key_padding_mask=lib.tensor(tgt_pad),
                memory_key_padding_mask=lib.tensor(src_pad)), lib.tensor(src_pad)


@pytest.mark.parametrize("kw", [{}, {"batch_first": True, "norm_first": True},
                                {"activation": "gelu", "bias": False}])
def test_transformer_loads_a_torch_state_dict_and_matches_it(kw):
    torch = _torch()
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(8, 2, 2, 1, 16, dropout=0.1, **kw).double().eval()
    ours = nn.Transformer(8, 2, 2, 1, 16, dropout=0.1, **kw).double().eval()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours)
    shape = (lambda n, t: (n, t, 8)) if kw.get("batch_first") else (lambda n, t: (t, n, 8))
    src, tgt = RNG.standard_normal(shape(2, 6)), RNG.standard_normal(shape(2, 4))
    (masks, src_pad), (tmasks, tsrc_pad) = _masks(tl, False), _masks(torch, False)
    x, y = _leaf(src), _leaf(tgt)
    tx, ty = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    out = ours(x, y, src_key_padding_mask=src_pad, **masks)
    want = theirs(tx, ty, src_key_padding_mask=tsrc_pad, **tmasks)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12)
    w = np.sin(np.arange(out.numel())).reshape(out.shape)
    (out * tl.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    for a, b in ((x, tx), (y, ty)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-12)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-8,
                                   atol=1e-12, err_msg=name)


def test_decoder_layer_with_a_module_activation_matches_torch():
    torch = _torch()
    theirs = torch.nn.TransformerDecoderLayer(8, 2, 16, 0.0, torch.nn.GELU(), batch_first=True)
    ours = nn.TransformerDecoderLayer(8, 2, 16, 0.0, nn.GELU(), batch_first=True)
    assert repr(ours) == repr(theirs)
    _copy_weights(theirs, ours)
    tgt, memory = RNG.standard_normal((2, 4, 8)), RNG.standard_normal((2, 6, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    want = theirs(torch.tensor(tgt, dtype=torch.float32), torch.tensor(memory,
                  dtype=torch.float32), tgt_mask=torch.tensor(mask.numpy()), tgt_is_causal=True)
    out = ours(tl.tensor(tgt, dtype=tl.float32), tl.tensor(memory, dtype=tl.float32),
               tgt_mask=mask, tgt_is_causal=True)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_transformer_without_torch():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf],
                                                 [0, 0, 0]])
    assert mask.dtype == tl.float32
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=tl.float64).dtype == tl.float64
    model = nn.Transformer(8, 2, 1, 2, 16, batch_first=True)
    names = [n for n, _ in model.named_parameters()]
    assert "decoder.layers.1.multihead_attn.in_proj_weight" in names
    assert "decoder.norm.weight" in names and "encoder.norm.bias" in names
    w = model.encoder.layers[0].linear1.weight.numpy()  # re-initialised Xavier-uniform
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) and np.abs(w).max() > 1 / np.sqrt(8)
    out = model(tl.randn(2, 5, 8), tl.randn(2, 3, 8), tgt_mask=mask)
    assert out.shape == (2, 3, 8)
    # the target's first position cannot see the later ones: changing them leaves it alone
    model.eval()
    src, tgt = tl.randn(2, 5, 8), tl.randn(2, 3, 8)
    changed = tgt.clone()
    changed[:, 2] = 5.0
    a, b = model(src, tgt, tgt_mask=mask), model(src, changed, tgt_mask=mask)
    np.testing.assert_allclose(a.numpy()[:, :2], b.numpy()[:, :2], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.numpy()[:, 2], b.numpy()[:, 2])
    with pytest.raises(RuntimeError, match="batch number"):
        model(tl.randn(2, 5, 8), tl.randn(3, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        model(tl.randn(2, 5, 4), tl.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")
    with pytest.raises(RuntimeError, match="attn_mask"):
        nn.TransformerDecoderLayer(8, 2)(tl.randn(3, 2, 8), tl.randn(4, 2, 8),
                                         tgt_is_causal=True)
    layer = nn.TransformerDecoderLayer(8, 2, dropout=0.0)
    stack = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(8))
    assert stack.layers[0] is not layer and stack.layers[0] is not stack.layers[1]
    assert stack(tl.randn(3, 2, 8), tl.randn(4, 2, 8)).shape == (3, 2, 8)


# --- EmbeddingBag and new losses --------------------------------------------------------------
TABLE = RNG.standard_normal((10, 3))
FLAT = np.array([1, 2, 4, 5, 4, 3, 2, 9])
OFFSETS = np.array([0, 4, 4, 6])
MULTILABEL = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 1, 2, 3, 4]])
LOG_PROBS = RNG.standard_normal((12, 3, 5))
CTC_TARGETS = np.array([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 3, 1]])
CASES_MORE = [
    ("embedding_bag", {}, [np.array([[1, 2, 4], [4, 3, 9]]), TABLE]),
    ("embedding_bag", {"mode": "max"}, [FLAT, TABLE, OFFSETS]),
    ("embedding_bag", {"mode": "sum", "padding_idx": 4}, [FLAT, TABLE, OFFSETS]),
    ("embedding_bag", {"padding_idx": 4, "include_last_offset": True},
     [FLAT, TABLE, np.array([0, 4, 4, 8])]),
    ("embedding_bag", {"mode": "sum", "per_sample_weights": None}, [FLAT, TABLE, OFFSETS]),
    ("multilabel_margin_loss", {}, [RNG.standard_normal((3, 5)), MULTILABEL]),
    ("multilabel_margin_loss", {"reduction": "none"}, [RNG.standard_normal(5), MULTILABEL[0]]),
    ("triplet_margin_with_distance_loss", {"swap": True, "margin": 0.5},
     [RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))]),
    ("affine_grid", {"size": (2, 3, 4, 5), "align_corners": False},
     [RNG.standard_normal((2, 2, 3))]),
    ("affine_grid", {"size": (2, 1, 3, 4, 2), "align_corners": True},
     [RNG.standard_normal((2, 3, 4))]),
    ("interpolate", {"size": (8, 4), "mode": "bicubic"}, [IMAGE]),
    ("interpolate", {"scale_factor": 1.7, "mode": "bicubic", "align_corners": True}, [IMAGE]),
    ("interpolate", {"size": (4, 3), "mode": "area"}, [IMAGE]),
    ("interpolate", {"scale_factor": 0.6, "mode": "area"}, [SIGNAL]),
    ("interpolate", {"scale_factor": 1.5, "mode": "trilinear"}, [VOLUME]),
    ("interpolate", {"size": (5, 3, 7), "mode": "trilinear", "align_corners": True}, [VOLUME]),
    ("interpolate", {"size": (5, 3, 7), "mode": "nearest"}, [VOLUME]),
    ("interpolate", {"size": (3, 4), "mode": "bilinear", "antialias": True}, [IMAGE]),
    ("interpolate", {"scale_factor": 0.45, "mode": "bicubic", "antialias": True}, [IMAGE]),
    ("interpolate", {"size": (7, 9), "mode": "bicubic", "antialias": True,
                     "align_corners": True}, [IMAGE]),
]


@pytest.mark.parametrize("name, kwargs, arrays", CASES_MORE,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES_MORE)])
def test_more_functions_match_torch(name, kwargs, arrays):
    _check_against_torch(name, kwargs, arrays)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("nd", [2, 3])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, nd):
    """Points inside and well outside the input, so every padding rule is exercised."""
    x = IMAGE if nd == 2 else VOLUME
    if mode == "bicubic" and nd == 3:
        with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
            F.grid_sample(tl.tensor(x), tl.zeros(2, 1, 1, 1, 3, dtype=tl.float64), mode)
        return
    grid = RNG.standard_normal((2,) + (3,) * nd + (nd,)) * 1.5
    _check_against_torch("grid_sample", {"mode": mode, "padding_mode": padding_mode,
                                         "align_corners": align_corners}, [x, grid])


def test_embedding_bag_per_sample_weights_and_module_match_torch():
    torch = _torch()
    weights = RNG.standard_normal(FLAT.size)
    ours = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2).double()
    theirs = torch.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2).double()
    assert repr(ours) == repr(theirs)
    assert (ours.weight.numpy()[2] == 0).all()
    _copy_weights(theirs, ours)
    w, tw = _leaf(weights), torch.tensor(weights, requires_grad=True)
    out = ours(tl.tensor(FLAT), tl.tensor(OFFSETS), per_sample_weights=w)
    want = theirs(torch.tensor(FLAT), torch.tensor(OFFSETS), per_sample_weights=tw)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12)
    (out * out).sum().backward()
    (want * want).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)


def test_embedding_bag_without_torch():
    table = _leaf(TABLE)
    out = F.embedding_bag(tl.tensor(FLAT), table, tl.tensor(OFFSETS), mode="sum")
    np.testing.assert_allclose(out.numpy()[0], TABLE[[1, 2, 4, 5]].sum(0))
    np.testing.assert_array_equal(out.numpy()[1], 0)  # an empty bag
    mean = F.embedding_bag(tl.tensor(FLAT), table, tl.tensor(OFFSETS), padding_idx=4)
    np.testing.assert_allclose(mean.numpy()[0], TABLE[[1, 2, 5]].mean(0))
    assert tl.gradcheck(lambda t: F.embedding_bag(tl.tensor(FLAT), t, tl.tensor(OFFSETS),
                                                  mode="max"), [table])
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(tl.tensor(FLAT), table, tl.tensor(OFFSETS),
                        per_sample_weights=tl.ones(8, dtype=tl.float64))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(tl.tensor([[1, 2]]), table, tl.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        F.embedding_bag(tl.tensor(FLAT), table)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(tl.tensor([[1, 12]]), table)
    with pytest.raises(ValueError, match="mode has to be"):
        F.embedding_bag(tl.tensor([[1, 2]]), table, mode="min")


def test_new_losses_without_torch():
    x = _leaf(RNG.standard_normal((3, 5)))
    assert tl.gradcheck(lambda t: F.multilabel_margin_loss(t, tl.tensor(MULTILABEL)), [x])
    # sample 0 has targets {3, 0}: every (target, other class) pair adds its hinge
    xs = x.numpy()[0]
    pairs = [max(0, 1 - (xs[j] - xs[i])) for j in (3, 0) for i in (1, 2, 4)]
    loss = F.multilabel_margin_loss(x, tl.tensor(MULTILABEL), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [sum(pairs) / 5, 0, 0])
    a, p, n = (_leaf(RNG.standard_normal((4, 3))) for _ in range(3))
    cosine = lambda u, v: 1 - F.cosine_similarity(u, v, 1)  # noqa: E731
    assert tl.gradcheck(lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=cosine, margin=0.3, swap=True), [a, p, n])
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0)
    default = nn.TripletMarginWithDistanceLoss(margin=0.5)(a, p, n)
    np.testing.assert_allclose(default.numpy(),
                               F.triplet_margin_loss(a, p, n, margin=0.5).numpy())
    assert nn.MultiLabelMarginLoss(reduction="sum")(x, tl.tensor(MULTILABEL)).numpy() == (
        pytest.approx(sum(pairs) / 5))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss_matches_torch(reduction, concatenated):
    torch = _torch()
    lengths, target_lengths = np.array([12, 9, 7]), np.array([4, 2, 4])
    targets = (np.concatenate([t[:k] for t, k in zip(CTC_TARGETS, target_lengths)])
               if concatenated else CTC_TARGETS)
    results = []
    for lib in (tl, torch):
        x = lib.tensor(LOG_PROBS, requires_grad=True)
        loss = lib.nn.CTCLoss(reduction=reduction)(x.log_softmax(2), lib.tensor(targets),
                                                   lib.tensor(lengths),
                                                   lib.tensor(target_lengths))
        (loss * lib.tensor(np.arange(1.0, loss.numel() + 1).reshape(tuple(loss.shape)))).sum(
        ).backward()
        results.append((loss.detach().numpy(), x.grad.numpy()))
    (out, grad), (want, want_grad) = results
    np.testing.assert_allclose(out, want, rtol=1e-10)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-8, atol=1e-12)


def test_ctc_loss_impossible_alignment_and_gradcheck():
    x = _leaf(LOG_PROBS[:5, :2])
    targets, lengths = tl.tensor(CTC_TARGETS[:2]), tl.tensor([5, 2])
    # sample 1 has 2 steps for 2 labels: possible; sample 0 needs at least 5 for 1 2 2 3
    loss = F.ctc_loss(x.log_softmax(2), targets, lengths, [4, 2], reduction="none")
    assert np.isfinite(loss.numpy()).all()
    short = F.ctc_loss(x.log_softmax(2), targets, tl.tensor([4, 2]), [4, 2], reduction="none")
    assert np.isinf(short.numpy()[0]) and np.isfinite(short.numpy()[1])
    zeroed = F.ctc_loss(x.log_softmax(2), targets, tl.tensor([4, 2]), [4, 2],
                        reduction="sum", zero_infinity=True)
    np.testing.assert_allclose(zeroed.numpy(), short.numpy()[1])
    zeroed.backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[:, 1] != 0).any()
    assert tl.gradcheck(lambda t: F.ctc_loss(t.log_softmax(2), targets, lengths, [4, 2]), [x])
    single = F.ctc_loss(x[:, 0].log_softmax(1), tl.tensor(CTC_TARGETS[0]), [5], [4],
                        reduction="sum")
    np.testing.assert_allclose(single.numpy(), loss.numpy()[0])


# --- gumbel_softmax, LazyLinear -----------------------------------------------------------------
def test_gumbel_softmax_samples_the_softmax_distribution():
    tl.manual_seed(0)
    logits = tl.tensor(np.log([[0.1, 0.2, 0.7]] * 20000))
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1, rtol=1e-12)
    hard = F.gumbel_softmax(logits, hard=True).numpy()
    assert set(np.unique(hard)) == {0.0, 1.0} and (hard.sum(-1) == 1).all()
    np.testing.assert_allclose(hard.mean(0), [0.1, 0.2, 0.7], atol=0.015)
    assert F.gumbel_softmax(tl.randn(2, 3, 4), dim=1).sum(1).numpy() == pytest.approx(1)


def test_gumbel_softmax_hard_passes_the_soft_gradient_straight_through():
    x = _leaf(RNG.standard_normal((4, 5)))
    tl.manual_seed(1)
    hard = F.gumbel_softmax(x, tau=0.7, hard=True)
    tl.manual_seed(1)
    soft = F.gumbel_softmax(x, tau=0.7)
    np.testing.assert_array_equal(hard.numpy().argmax(-1), soft.numpy().argmax(-1))
    w = tl.tensor(RNG.standard_normal((4, 5)))
    (hard * w).sum().backward()
    straight = x.grad.numpy().copy()
    x.grad = None
    (soft * w).sum().backward()
    np.testing.assert_allclose(straight, x.grad.numpy(), rtol=1e-12)
    assert np.abs(straight).sum() > 0


def test_lazy_linear_infers_in_features_and_becomes_linear():
    layer = nn.LazyLinear(4)
    assert repr(layer) == "LazyLinear(in_features=0, out_features=4, bias=True)"
    assert layer.has_uninitialized_params()
    weight = layer.weight
    opt = optim.SGD(layer.parameters(), lr=0.1)
    out = layer(tl.randn(2, 7))
    assert out.shape == (2, 4) and type(layer) is nn.Linear and isinstance(layer, nn.Linear)
    assert layer.weight is weight and weight.shape == (4, 7) and layer.in_features == 7
    assert np.abs(weight.numpy()).max() <= 1 / np.sqrt(7) and weight.numpy().std() > 0
    out.sum().backward()
    before = weight.numpy().copy()
    opt.step()  # the optimizer made before the first call moves the real weight
    assert not np.allclose(before, weight.numpy())
    assert repr(layer) == "Linear(in_features=7, out_features=4, bias=True)"
    lazy = nn.LazyLinear(3, bias=False)
    lazy.load_state_dict({"weight": tl.ones(3, 5)})
    np.testing.assert_array_equal(lazy(tl.ones(1, 5)).numpy(), [[5, 5, 5]])
    torch = _torch()
    assert repr(nn.LazyLinear(4)) == repr(torch.nn.LazyLinear(4))


@pytest.mark.parametrize("name, args, shape, in_size", [
    ("LazyConv1d", (3, 2), (2, 4, 9), 4), ("LazyConv2d", (4, 3), (4, 6, 6), 4),
    ("LazyConv3d", (2, 2), (1, 3, 4, 4, 4), 3), ("LazyConvTranspose2d", (3, 3), (2, 4, 5, 5), 4),
    ("LazyBatchNorm1d", (), (5, 3), 3), ("LazyBatchNorm2d", (), (5, 3, 2, 2), 3),
    ("LazyInstanceNorm1d", (), (2, 3, 6), 3)])
def test_lazy_modules_size_themselves_from_the_first_input(name, args, shape, in_size):
    layer = getattr(nn, name)(*args).double()
    assert layer.has_uninitialized_params()
    params = list(layer.parameters())
    opt = optim.SGD(params, lr=0.1)
    x = RNG.standard_normal(shape)
    out = layer(tl.tensor(x))
    plain = getattr(nn, name.removeprefix("Lazy"))
    assert type(layer) is plain and not hasattr(layer, "cls_to_become")
    assert getattr(layer, "num_features" if "Norm" in name else "in_channels") == in_size
    assert all(a is b for a, b in zip(params, layer.parameters()))  # filled in place
    out.sum().backward()
    opt.step()  # the optimizer made before the first call moves the real tensors
    torch = _torch()
    theirs = getattr(torch.nn, name)(*args).double()
    theirs(torch.tensor(x))
    assert repr(theirs) == repr(layer)
    assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == {
        k: v.shape for k, v in layer.state_dict().items()}
    layer.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                           theirs.state_dict().items()})
    np.testing.assert_allclose(layer(tl.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_lazy_modules_refuse_inputs_they_cannot_size_from():
    with pytest.raises(RuntimeError, match="expected 3D \\(unbatched\\) or 4D"):
        nn.LazyConv2d(3, 3)(tl.ones(5, 5))
    with pytest.raises(ValueError, match="must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(tl.ones(1, 3, 5, 5))
    with pytest.raises(ValueError, match="channel dim"):
        nn.LazyBatchNorm1d()(tl.ones(4))


# --- optimizers ---------------------------------------------------------------------------------
A_MATRIX, B_VECTOR = RNG.standard_normal((6, 3)), RNG.standard_normal(6)
START = RNG.standard_normal(3), RNG.standard_normal(1)


def _optimize(lib, optimizer, kwargs, steps):
    """Losses, iterates and the optimizer after `steps` steps on a least-squares problem with
    a quartic term, in float64."""
    w = lib.tensor(START[0].copy(), requires_grad=True)
    c = lib.tensor(START[1].copy(), requires_grad=True)
    a, b = lib.tensor(A_MATRIX), lib.tensor(B_VECTOR)
    opt = getattr(lib.optim, optimizer)([w, c], **kwargs)

    def closure():
        opt.zero_grad()
        r = a @ w + c - b
        loss = (r * r).sum() + (w * w * w * w).sum() * 0.1
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        loss = opt.step(closure)
        history.append((float(loss.detach().numpy()), w.detach().numpy().copy()))
    return history, opt


OPTIMIZERS = [
    ("LBFGS", {"max_iter": 4}), ("LBFGS", {"line_search_fn": "strong_wolfe", "max_iter": 5}),
    ("LBFGS", {"history_size": 2, "max_iter": 5, "lr": 0.5}),
    ("LBFGS", {"history_size": 3, "line_search_fn": "strong_wolfe", "tolerance_change": 1e-5}),
    ("ASGD", {"lr": 0.01}), ("ASGD", {"lr": 0.02, "t0": 3, "lambd": 0.01, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 0, "maximize": True}),
]


@pytest.mark.parametrize("optimizer, kwargs", OPTIMIZERS)
def test_new_optimizers_match_torch_step_by_step(optimizer, kwargs):
    torch = _torch()
    ours, opt = _optimize(tl, optimizer, kwargs, 5)
    theirs, topt = _optimize(torch, optimizer, kwargs, 5)
    for (loss, w), (want_loss, want_w) in zip(ours, theirs):
        np.testing.assert_allclose(loss, want_loss, rtol=1e-10)
        np.testing.assert_allclose(w, want_w, rtol=1e-9, atol=1e-12)
    assert repr(opt) == repr(topt)
    state, want = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert list(state) == list(want)
    if optimizer == "LBFGS":
        assert state["func_evals"] == want["func_evals"] and state["n_iter"] == want["n_iter"]


def test_optimizers_without_torch():
    history, opt = _optimize(tl, "LBFGS", {"line_search_fn": "strong_wolfe"}, 3)
    losses = [loss for loss, _ in history]
    assert losses[1] < losses[0] * 0.5 and losses[2] <= losses[1] + 1e-12
    state = opt.state[opt._params[0]]
    assert state["n_iter"] >= 1 and len(state["old_dirs"]) <= 100
    again = optim.LBFGS(opt._params, line_search_fn="strong_wolfe")
    again.load_state_dict(opt.state_dict())  # flat vectors and histories come back whole
    restored = again.state[opt._params[0]]
    assert restored["n_iter"] == state["n_iter"]
    np.testing.assert_array_equal(restored["d"], state["d"])
    assert [len(restored[k]) for k in ("old_dirs", "old_stps", "ro")] == [
        len(state[k]) for k in ("old_dirs", "old_stps", "ro")]
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [tl.zeros(1, requires_grad=True)]},
                     {"params": [tl.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS([tl.zeros(1, requires_grad=True)], line_search_fn="armijo").step(
            lambda: tl.zeros(()))
    history, opt = _optimize(tl, "ASGD", {"lr": 0.05, "t0": 2}, 6)
    assert history[-1][0] < history[0][0]
    state = next(iter(opt.state.values()))
    assert float(state["mu"].item()) == pytest.approx(1 / 4)
    assert float(state["eta"].item()) == pytest.approx(0.05 / (1 + 1e-4 * 0.05 * 6) ** 0.75)
    saved = opt.state_dict()
    opt.load_state_dict(saved)
    assert float(next(iter(opt.state.values()))["eta"].item()) == float(state["eta"].item())
    with pytest.raises(ValueError, match="lr"):
        optim.ASGD([tl.zeros(1, requires_grad=True)], lr=-1)


def test_interpolate_antialias_is_a_normalised_wider_kernel():
    x = _leaf(IMAGE)
    out = F.interpolate(x, size=(2, 3), mode="bilinear", antialias=True)
    ones = F.interpolate(tl.ones(1, 1, 5, 6), size=(2, 3), mode="bicubic", antialias=True)
    np.testing.assert_allclose(ones.numpy(), 1, rtol=1e-6)  # weights sum to 1
    # shrinking by 2 or more: every input pixel reaches the output (plain bilinear skips some)
    out.sum().backward()
    assert (x.grad.numpy() > 0).all()
    plain = _leaf(IMAGE)
    F.interpolate(plain, size=(2, 3), mode="bilinear").sum().backward()
    assert (plain.grad.numpy() == 0).any()
    with pytest.raises(ValueError, match="Anti-alias"):
        F.interpolate(x, size=(2, 3), mode="nearest", antialias=True)
    assert tl.gradcheck(lambda t: F.interpolate(t, scale_factor=0.6, mode="bicubic",
                                                antialias=True), [_leaf(IMAGE[:1, :1])])


@pytest.mark.parametrize("nd, shape, size", [
    (1, (2, 3, 5), (10,)), (2, (2, 3, 5, 4), (2, 4, 10, 8)), (3, (3, 4, 3, 4), (8, 5, 7))])
def test_conv_transpose_output_size_picks_the_output_padding(nd, shape, size):
    layer = getattr(nn, f"ConvTranspose{nd}d")(3, 4, 3, stride=2, padding=1).double()
    x = tl.tensor(RNG.standard_normal(shape))
    out = layer(x, output_size=size)
    assert out.shape[-nd:] == tuple(size)[-nd:]
    extra = tuple(n - m for n, m in zip(out.shape[-nd:], layer(x).shape[-nd:]))
    np.testing.assert_allclose(out.numpy(), getattr(F, f"conv_transpose{nd}d")(
        x, layer.weight, layer.bias, 2, 1, extra).numpy())
    with pytest.raises(ValueError, match="valid sizes range"):
        layer(x, output_size=(20,) * nd)
    torch = _torch()
    theirs = getattr(torch.nn, f"ConvTranspose{nd}d")(3, 4, 3, stride=2, padding=1).double()
    _copy_weights(theirs, layer)
    want = theirs(torch.tensor(x.numpy()), output_size=size)
    np.testing.assert_allclose(layer(x, output_size=size).numpy(), want.detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_grid_sample_passes_gradcheck_and_identity_grid_copies(mode):
    x, grid = _leaf(IMAGE[:1, :2]), _leaf(RNG.uniform(-1.2, 1.2, (1, 3, 2, 2)))
    assert tl.gradcheck(lambda a, g: F.grid_sample(a, g, mode, "reflection", False), [x, grid])
    identity = F.affine_grid(tl.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=tl.float64),
                             (1, 2, 5, 6), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, identity, mode, align_corners=False).numpy(),
                               IMAGE[:1, :2], atol=1e-12)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(x, identity, mode)
    with pytest.raises(ValueError, match="mode must be one of"):  # torch's error type too
        F.grid_sample(x, identity, "cubic", align_corners=False)


def test_embedding_bag_from_pretrained():
    bag = nn.EmbeddingBag.from_pretrained(tl.tensor(TABLE), mode="max")
    assert not bag.weight.requires_grad and bag.mode == "max"
    out = bag(tl.tensor([[1, 2], [3, 3]]))
    np.testing.assert_allclose(out.numpy(), [TABLE[[1, 2]].max(0), TABLE[3]])
    trainable = nn.EmbeddingBag.from_pretrained(tl.tensor(TABLE), freeze=False)
    assert trainable.weight.requires_grad


@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_scale_grad_by_freq_matches_torch(padding_idx):
    idx = np.array([[1, 2, 2, 4], [4, 4, 4, 9]])
    table = _leaf(TABLE)
    out = F.embedding(tl.tensor(idx), table, padding_idx, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.numpy(), TABLE[idx])
    out.sum().backward()
    counted = np.zeros(10)
    counted[[1, 2, 9]] = 1  # each index's gradient adds to 1 whatever its count
    if padding_idx is None:
        counted[4] = 1
    np.testing.assert_allclose(table.grad.numpy(), np.repeat(counted[:, None], 3, 1))
    torch = _torch()
    ours = nn.Embedding(10, 3, padding_idx, scale_grad_by_freq=True, sparse=True)
    assert repr(ours) == repr(torch.nn.Embedding(10, 3, padding_idx, scale_grad_by_freq=True,
                                                 sparse=True))
    t = torch.tensor(TABLE, requires_grad=True)
    w = RNG.standard_normal(idx.shape + (3,))
    want = torch.nn.functional.embedding(torch.tensor(idx), t, padding_idx,
                                         scale_grad_by_freq=True)
    (want * torch.tensor(w)).sum().backward()
    table.grad = None
    (F.embedding(tl.tensor(idx), table, padding_idx, scale_grad_by_freq=True)
     * tl.tensor(w)).sum().backward()
    np.testing.assert_allclose(table.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_embedding_bag_scale_grad_by_freq_divides_by_the_index_count():
    table = _leaf(TABLE)
    F.embedding_bag(tl.tensor(FLAT), table, tl.tensor(OFFSETS), mode="sum",
                    scale_grad_by_freq=True).sum().backward()
    used = np.isin(np.arange(10), FLAT)
    np.testing.assert_allclose(table.grad.numpy(), np.repeat(used[:, None], 3, 1) * 1.0)
    with pytest.raises(ValueError, match="max mode"):
        F.embedding_bag(tl.tensor(FLAT), table, tl.tensor(OFFSETS), mode="max",
                        scale_grad_by_freq=True)


def test_ctc_loss_gradient_is_pytorchs_for_log_probs_leaves():
    """PyTorch's backward gives exp(log_probs) - posterior for log_probs themselves (the
    docs' example makes them a leaf after log_softmax): the posterior sums to 1 over the
    classes at each step, so that gradient sums to 0 there, unlike the plain derivative."""
    lp = _leaf(np.log(np.random.default_rng(5).dirichlet(np.ones(5), (12, 3))))
    loss = F.ctc_loss(lp, tl.tensor(CTC_TARGETS), [12, 9, 7], [4, 2, 4], reduction="sum")
    loss.backward()
    grad = lp.grad.numpy()
    np.testing.assert_allclose(grad[:7].sum(-1), 0, atol=1e-12)
    np.testing.assert_array_equal(grad[9:, 1], 0)  # past sample 1's input length
    torch = _torch()
    t = torch.tensor(lp.numpy(), requires_grad=True)
    torch.nn.functional.ctc_loss(t, torch.tensor(CTC_TARGETS), [12, 9, 7], [4, 2, 4],
                                 reduction="sum").backward()
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_functional_instance_norm_with_running_statistics_matches_torch():
    torch = _torch()
    stats = [np.zeros(3), np.ones(3)]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    ours = [tl.tensor(a) for a in stats]
    for step in range(2):
        x = VOLUME + step
        out = F.instance_norm(tl.tensor(x), *ours, momentum=0.2)
        want = torch.nn.functional.instance_norm(torch.tensor(x), *theirs, momentum=0.2)
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    frozen = F.instance_norm(tl.tensor(VOLUME), *ours, use_input_stats=False)
    want = torch.nn.functional.instance_norm(torch.tensor(VOLUME), *theirs,
                                             use_input_stats=False)
    np.testing.assert_allclose(frozen.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.instance_norm(tl.tensor(VOLUME), use_input_stats=False)


def test_norm_and_pool_edge_cases_follow_torch():
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(tl.ones(2, 3, 1))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(tl.ones(1, 3))
    bn = nn.BatchNorm2d(3)
    assert bn(tl.ones(0, 3, 2, 2)).shape == (0, 3, 2, 2)
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)
    assert F.avg_pool3d(tl.zeros(0, 1, 4, 5, 4), 2).shape == (0, 1, 2, 2, 2)
    ints = tl.arange(-20, 28).reshape(1, 1, 3, 4, 4)
    pooled = F.avg_pool3d(ints, (1, 2, 2))
    assert pooled.dtype == tl.int64  # C's truncating division, as PyTorch
    np.testing.assert_array_equal(pooled.numpy().ravel()[:6], [-17, -15, -9, -7, -1, 0])
    assert F.avg_pool2d(tl.tensor(IMAGE), 2, stride=()).shape == (2, 3, 2, 3)
    x = _leaf(np.array(0.7))
    loss = F.multilabel_margin_loss(x, tl.tensor(0))
    assert loss.shape == () and loss.numpy() == 0


def test_transformer_encoder_zeroes_padded_outputs_in_inference_as_torch_does():
    """PyTorch packs a right-padded batch into a nested tensor in inference and pads the
    result with zeros (batch_first, an even head count, no grad): so do we."""
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2).eval()
    pad = np.zeros((2, 5), bool)
    pad[1, 3:] = True
    x = tl.randn(2, 5, 8)
    with tl.no_grad():
        out = encoder(x, src_key_padding_mask=tl.tensor(pad)).numpy()
    np.testing.assert_array_equal(out[1, 3:], 0)
    assert np.abs(out[0]).min() > 0
    kept = encoder(x, src_key_padding_mask=tl.tensor(pad)).numpy()  # grad on: no packing
    assert np.abs(kept[1, 3:]).min() > 0
    np.testing.assert_allclose(kept[:, :3], out[:, :3], rtol=1e-5, atol=1e-6)
    torch = _torch()
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True), 2, enable_nested_tensor=True).eval()
    _copy_weights(theirs, encoder)
    with torch.no_grad():
        want = theirs(torch.tensor(x.numpy()), src_key_padding_mask=torch.tensor(pad))
    with tl.no_grad():
        out = encoder(x, src_key_padding_mask=tl.tensor(pad)).numpy()
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [{"add_bias_kv": True}, {"add_zero_attn": True},
                                {"add_bias_kv": True, "add_zero_attn": True}])
def test_multihead_attention_bias_kv_and_zero_attn_match_torch(kw):
    ours = nn.MultiheadAttention(8, 2, **kw).double()
    assert (ours.bias_k is not None) == bool(kw.get("add_bias_kv"))
    x = RNG.standard_normal((5, 2, 8))
    pad = np.zeros((2, 5), bool)
    pad[1, 4] = True
    out, weights = ours(*[tl.tensor(x)] * 3, key_padding_mask=tl.tensor(pad))
    extra = bool(kw.get("add_bias_kv")) + bool(kw.get("add_zero_attn"))
    assert out.shape == (5, 2, 8) and weights.shape == (2, 5, 5 + extra)
    torch = _torch()
    theirs = torch.nn.MultiheadAttention(8, 2, **kw).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours)
    out, weights = ours(*[tl.tensor(x)] * 3, key_padding_mask=tl.tensor(pad))
    want, want_w = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), want_w.detach().numpy(), rtol=1e-10)


def test_functional_multi_head_attention_with_separate_weights_and_static_kv():
    """F.multi_head_attention_forward, the computation MultiheadAttention runs, with its
    parameters passed in: separate q/k/v weights, and static keys and values."""
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=5).double()
    q, k, v = (RNG.standard_normal(s) for s in ((6, 2, 4), (7, 2, 3), (7, 2, 5)))
    args = [mha.in_proj_bias, None, None, False, 0.0, mha.out_proj.weight, mha.out_proj.bias]
    kwargs = dict(use_separate_proj_weight=True, q_proj_weight=mha.q_proj_weight,
                  k_proj_weight=mha.k_proj_weight, v_proj_weight=mha.v_proj_weight)
    out, weights = F.multi_head_attention_forward(tl.tensor(q), tl.tensor(k), tl.tensor(v), 4,
                                                  2, None, *args, **kwargs)
    want, want_w = mha(tl.tensor(q), tl.tensor(k), tl.tensor(v))
    np.testing.assert_allclose(out.numpy(), want.numpy())
    # static keys and values equal to the projected ones change nothing
    static_k = (tl.tensor(k) @ mha.k_proj_weight.T + mha.in_proj_bias[4:8]).reshape(
        7, 4, 2).transpose(0, 1)
    static_v = (tl.tensor(v) @ mha.v_proj_weight.T + mha.in_proj_bias[8:]).reshape(
        7, 4, 2).transpose(0, 1)
    same, _ = F.multi_head_attention_forward(tl.tensor(q), tl.tensor(k), tl.tensor(v), 4, 2,
                                             None, *args, static_k=static_k,
                                             static_v=static_v, **kwargs)
    np.testing.assert_allclose(same.numpy(), want.numpy())
    with pytest.raises(AssertionError, match="embedding dimension of 8"):
        F.multi_head_attention_forward(tl.tensor(q), tl.tensor(k), tl.tensor(v), 8, 2, None,
                                       *args, **kwargs)
    torch = _torch()
    t_args = [torch.tensor(a.detach().numpy()) for a in args[:1]] + args[1:5] + [
        torch.tensor(a.detach().numpy()) for a in args[5:]]
    t_kwargs = dict(kwargs, **{n: torch.tensor(kwargs[n].detach().numpy())
                               for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight")},
                    static_k=torch.tensor(static_k.detach().numpy() * 2),
                    static_v=torch.tensor(static_v.detach().numpy()))
    theirs, theirs_w = torch.nn.functional.multi_head_attention_forward(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), 4, 2, None, *t_args, **t_kwargs)
    ours, ours_w = F.multi_head_attention_forward(
        tl.tensor(q), tl.tensor(k), tl.tensor(v), 4, 2, None, *args, **dict(
            kwargs, static_k=static_k * 2, static_v=static_v))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.numpy(), rtol=1e-10)


def test_gaussian_nll_loss_and_integer_hardtanh_follow_torch():
    x, v = RNG.standard_normal((4, 3)), np.abs(RNG.standard_normal((1, 3))) + 0.1
    loss = F.gaussian_nll_loss(tl.tensor(x), tl.zeros(4, 3, dtype=tl.float64), tl.tensor(v))
    want = (0.5 * (np.log(v) + x * x / v)).mean()
    np.testing.assert_allclose(loss.numpy(), want, rtol=1e-12)
    scalar = F.gaussian_nll_loss(tl.tensor(x), tl.zeros(4, 3, dtype=tl.float64), 2.0)
    np.testing.assert_allclose(scalar.numpy(), (0.5 * (np.log(2) + x * x / 2)).mean())
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(tl.tensor(x), tl.tensor(x), tl.ones(2, 2, dtype=tl.float64))
    ints = F.hardtanh(tl.arange(-3, 4), -1.5, 2.5)
    assert ints.dtype == tl.int64 and ints.tolist() == [-1, -1, -1, 0, 1, 2, 2]
    assert F.relu6(tl.arange(-3, 4) * 3).tolist() == [0, 0, 0, 0, 3, 6, 6]
