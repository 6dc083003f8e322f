"""PyTorch parity, second audit: implicit softmax dims, Embedding.from_pretrained, loss
weights as buffers, torch.load's keyword arguments, the DataLoader's default collate and
unbatched loading, ConcatDataset.cumulative_sizes and the optimizer repr.

Torch-free assertions come first in each section; the parity tests skip without torch.
"""
from __future__ import annotations

import collections
import io
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn, optim
from tinygrad_lite.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)


def _torch():
    return pytest.importorskip("torch")


def _copy_weights(theirs, ours):
    """Load a torch module's state into ours, so both start from the same numbers."""
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


# --- softmax without dim ------------------------------------------------------------------
@pytest.mark.parametrize("shape, axis", [((3,), 0), ((2, 3), 1), ((2, 3, 4), 0),
                                         ((2, 3, 4, 5), 1)])
def test_softmax_without_dim_warns_and_takes_torchs_legacy_axis(shape, axis):
    x = tl.randn(*shape)
    for layer, f, name in [(nn.Softmax(), F.softmax, "softmax"),
                           (nn.LogSoftmax(), F.log_softmax, "log_softmax")]:
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            out = layer(x)
        with pytest.warns(UserWarning):
            np.testing.assert_allclose(f(x).numpy(), out.numpy())
        np.testing.assert_allclose(out.numpy(), f(x, axis).numpy() if f is F.softmax
                                   else F.log_softmax(x, axis).numpy())
    assert repr(nn.Softmax()) == "Softmax(dim=None)"


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_without_dim_matches_torch(name, shape):
    torch = _torch()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(nn, name)()(tl.tensor(x)).numpy()
        theirs = getattr(torch.nn, name)()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# --- Embedding.from_pretrained ------------------------------------------------------------
def test_embedding_from_pretrained_shares_the_table_and_freezes_it():
    table = tl.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and isinstance(emb.weight, nn.Parameter)
    np.asarray(table)[0, 0] = 9.0
    assert emb.weight.numpy()[0, 0] == 9.0
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    np.testing.assert_array_equal(trainable.weight.numpy()[0], [9.0, 2.0])  # kept as given
    trainable(tl.tensor([0, 1, 1])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy(), [[0, 0], [2, 2], [0, 0]])
    with pytest.raises(ValueError, match="2-d"):
        nn.Embedding.from_pretrained(tl.ones(3))


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_matches_torch(freeze):
    torch = _torch()
    w = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    ours = nn.Embedding.from_pretrained(tl.tensor(w), freeze=freeze, padding_idx=2)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=freeze, padding_idx=2)
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad == theirs.weight.requires_grad
    idx = np.array([[2, 0], [4, 2]])
    np.testing.assert_array_equal(ours(tl.tensor(idx)).numpy(),
                                  theirs(torch.tensor(idx)).detach().numpy())


# --- loss weights are buffers ---------------------------------------------------------------
def test_loss_weights_are_buffers_in_the_state_dict_and_follow_casts():
    ce = nn.CrossEntropyLoss(weight=tl.ones(3))
    assert list(ce.state_dict()) == ["weight"] and not list(ce.parameters())
    bce = nn.BCEWithLogitsLoss(pos_weight=tl.ones(2)).double()
    assert list(bce.state_dict()) == ["pos_weight"] and bce.pos_weight.dtype == tl.float64
    assert list(nn.NLLLoss().state_dict()) == []


@pytest.mark.parametrize("make", [
    lambda m, w: m.CrossEntropyLoss(weight=w), lambda m, w: m.NLLLoss(weight=w),
    lambda m, w: m.BCELoss(weight=w), lambda m, w: m.BCEWithLogitsLoss(w, pos_weight=w),
    lambda m, w: m.MultiLabelSoftMarginLoss(weight=w)])
def test_loss_buffers_match_torch(make):
    torch = _torch()
    ours = make(nn, tl.ones(3))
    theirs = make(torch.nn, torch.ones(3))
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


# --- tl.load takes torch.load's keywords ----------------------------------------------------
def test_load_accepts_map_location_and_weights_only(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    path = tmp_path / "model.pt"
    tl.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    fresh.load_state_dict(tl.load(path, map_location="cpu", weights_only=True))
    for (k, a), b in zip(fresh.state_dict().items(), model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    buf = io.BytesIO()
    tl.save({"epoch": 2}, buf)
    buf.seek(0)
    assert tl.load(buf, "cpu", weights_only=False) == {"epoch": 2}


# --- DataLoader ---------------------------------------------------------------------------
class _Items(Dataset):
    def __init__(self, make):
        self.make = make

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.make(i)


def _describe(batch):
    """Types, shapes and dtypes of a batch, the same words for either library's tensors."""
    if isinstance(batch, (tuple, list)):
        return type(batch).__name__, [_describe(x) for x in batch]
    if isinstance(batch, dict):
        return {k: _describe(v) for k, v in batch.items()}
    if hasattr(batch, "shape"):
        return (tuple(batch.shape), str(batch.dtype).replace("torch.", ""))
    return batch


_SAMPLES = {
    "tensor and int": lambda lib: lambda i: (lib.ones(2), i),
    "dict": lambda lib: lambda i: {"x": lib.ones(3), "y": i, "name": f"s{i}"},
    "numpy and float64": lambda lib: lambda i: (np.ones(3, np.float32) * i, np.float64(i)),
    "python float and bool": lambda lib: lambda i: (float(i), i % 2 == 0),
    "nested": lambda lib: lambda i: [lib.ones(2), (i, float(i))],
    "bare int": lambda lib: lambda i: i,
    "bare tensor": lambda lib: lambda i: lib.ones(2, 3),
    "numpy float64 array": lambda lib: lambda i: np.ones(2),
}


def test_default_collate_types_without_torch():
    batch = next(iter(DataLoader(_Items(lambda i: (tl.ones(2), i)), batch_size=4)))
    assert type(batch) is list  # NOTE: a tuple sample gives a list, as in PyTorch
    xb, yb = batch
    assert xb.shape == (4, 2) and yb.dtype == tl.int64
    batch = next(iter(DataLoader(_Items(lambda i: {"f": float(i), "s": "a"}), batch_size=2)))
    assert batch["f"].dtype == tl.float64 and batch["s"] == ["a", "a"]
    whole = next(iter(DataLoader(list(range(7)), batch_size=3)))
    assert isinstance(whole, tl.Tensor) and whole.tolist() == [0, 1, 2]
    Point = collections.namedtuple("Point", "x y")
    p = next(iter(DataLoader([Point(i, 2.0 * i) for i in range(3)], batch_size=3)))
    assert isinstance(p, Point) and p.y.tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(RuntimeError, match="equal size"):
        next(iter(DataLoader([[1, 2], [3]], batch_size=2)))


@pytest.mark.parametrize("name", sorted(_SAMPLES))
def test_default_collate_matches_torch(name):
    torch = _torch()
    from torch.utils import data as tdata

    class TorchItems(tdata.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return _SAMPLES[name](torch)(i)

    ours = next(iter(DataLoader(_Items(_SAMPLES[name](tl)), batch_size=3)))
    theirs = next(iter(tdata.DataLoader(TorchItems(), batch_size=3)))
    assert _describe(ours) == _describe(theirs)


def test_dataloader_batch_size_none_yields_items_unbatched():
    ds = TensorDataset(tl.arange(6.0).reshape(3, 2), tl.tensor([0, 1, 2]))
    loader = DataLoader(ds, batch_size=None)
    assert len(loader) == 3
    x, y = next(iter(loader))
    assert x.shape == (2,) and y.shape == ()
    items = list(DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    assert all(isinstance(t, tl.Tensor) for t in items)
    tl.manual_seed(0)
    assert sorted(int(y) for _, y in DataLoader(ds, batch_size=None, shuffle=True)) == [0, 1, 2]


def test_dataloader_batch_size_none_matches_torch():
    torch = _torch()
    from torch.utils import data as tdata
    x = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    ours = list(DataLoader(TensorDataset(tl.tensor(x)), batch_size=None))
    theirs = list(tdata.DataLoader(tdata.TensorDataset(torch.tensor(x)), batch_size=None))
    assert len(ours) == len(theirs) == 4
    assert _describe(ours) == _describe(theirs)
    assert _describe(list(DataLoader(list(range(3)), batch_size=None))) == _describe(
        list(tdata.DataLoader(list(range(3)), batch_size=None)))


def test_concat_dataset_cumulative_sizes_match_torch():
    a, b = TensorDataset(tl.zeros(3, 1)), TensorDataset(tl.ones(2, 1))
    both = ConcatDataset([a, b])
    assert both.cumulative_sizes == [3, 5] and len(both) == 5 and both[3][0].item() == 1
    torch = _torch()
    from torch.utils import data as tdata
    theirs = tdata.ConcatDataset([tdata.TensorDataset(torch.zeros(3, 1)),
                                  tdata.TensorDataset(torch.ones(2, 1))])
    assert theirs.cumulative_sizes == both.cumulative_sizes


# --- optimizer repr -------------------------------------------------------------------------
def test_optimizer_repr_lists_group_options_sorted_like_torch():
    text = repr(optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))
    keys = [line.split(":")[0].strip() for line in text.splitlines()[2:-1]]
    assert keys == sorted(keys)
    torch = _torch()
    theirs = repr(torch.optim.Adam(torch.nn.Linear(2, 2).parameters(), lr=0.1, amsgrad=True))
    assert repr(optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1, amsgrad=True)) == theirs


# --- forward hooks with kwargs, load_state_dict(assign=True) ----------------------------------
def _scaled(lib):
    class Scaled(lib.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scaled()
    pre = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "scale": 3.0}),
                                      with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["scale"],
                            with_kwargs=True)
    first = m(lib.ones(2), scale=2.0).tolist()
    pre.remove()
    return first, m(lib.ones(2), scale=2.0).tolist()


def test_forward_hooks_with_kwargs_see_and_replace_the_keyword_arguments():
    assert _scaled(tl) == ([6.0, 6.0], [4.0, 4.0])
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        m(tl.ones(1))


def test_forward_hooks_with_kwargs_match_torch():
    assert _scaled(tl) == _scaled(_torch())


def _hook_order(L) -> tuple[list, int]:
    """prepend=True hooks run first; an always_call forward hook runs when forward raises
    (with output None); modules(remove_duplicate=False) lists a shared module twice."""
    log = []
    m = L.nn.Linear(2, 2)
    m.register_forward_hook(lambda mod, a, o: log.append("a"))
    first = m.register_forward_hook(lambda mod, a, o: log.append("b"), prepend=True)
    m.register_forward_pre_hook(lambda mod, a: log.append("pre1"))
    m.register_forward_pre_hook(lambda mod, a: log.append("pre0"), prepend=True)
    m.register_forward_hook(lambda mod, a, o: log.append(("always", o is None)),
                            always_call=True)
    m.register_full_backward_hook(lambda mod, gi, go: log.append("back1"))
    m.register_full_backward_hook(lambda mod, gi, go: log.append("back0"), prepend=True)
    m(L.ones(1, 2, requires_grad=True)).sum().backward()
    first.remove()
    m(L.ones(1, 2))
    with pytest.raises(RuntimeError):
        m(L.ones(1, 3))
    return log, len(list(L.nn.Sequential(m, m).modules(remove_duplicate=False)))


def test_hook_prepend_always_call_and_duplicate_modules_match_torch():
    ours = _hook_order(tl)
    assert ours[0][:4] == ["pre0", "pre1", "b", "a"] and ours[0][-1] == ("always", True)
    assert ours == _hook_order(_torch())


def test_load_state_dict_assign_puts_the_given_tensors_in_place():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    sd = {k: v.double() + 1 for k, v in model.state_dict().items()}
    assert model.load_state_dict(sd, assign=True) == ([], [])
    w = model[0].weight
    assert isinstance(w, nn.Parameter) and w.requires_grad and w.dtype == tl.float64
    assert model[1].running_mean.dtype == tl.float64
    np.asarray(sd["0.weight"])[0, 0] = 7.0
    assert w.numpy()[0, 0] == 7.0
    torch = _torch()
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()}, assign=True)
    assert str(theirs[0].weight.dtype) == "torch.float64" and theirs[0].weight.requires_grad


# --- samplers ---------------------------------------------------------------------------------
def test_dataloader_takes_samplers_and_batch_samplers():
    ds = TensorDataset(tl.arange(10.0), tl.arange(10))
    tl.manual_seed(0)
    seen = [int(y) for _, yb in DataLoader(ds, batch_size=2,
                                           sampler=SubsetRandomSampler([1, 3, 5]))
            for y in yb]
    assert sorted(seen) == [1, 3, 5]
    heavy = WeightedRandomSampler([0.0, 0.0, 1.0], num_samples=6)
    assert list(heavy) == [2] * 6 and len(heavy) == 6
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))
    assert loader.batch_size is None and len(loader) == 3
    assert [yb.tolist() for _, yb in loader][-1] == [8, 9]
    drawn = RandomSampler(ds, replacement=True, num_samples=25)
    assert len(list(drawn)) == len(drawn) == 25
    assert sorted(RandomSampler(range(4), num_samples=8)) == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option"):
        DataLoader(ds, batch_size=4, batch_sampler=BatchSampler(range(10), 4, False))
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (5, True), (12, False)])
def test_batch_sampler_matches_torch(batch_size, drop_last):
    _torch()
    from torch.utils import data as tdata
    ours = BatchSampler(SequentialSampler(range(10)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(10)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    loader = DataLoader(list(range(10)), batch_size=batch_size, drop_last=drop_last)
    tloader = tdata.DataLoader(list(range(10)), batch_size=batch_size, drop_last=drop_last)
    assert [b.tolist() for b in loader] == [b.tolist() for b in tloader]
    assert len(loader) == len(tloader)


# --- in-place function forms, Softmax2d, init.sparse_ -----------------------------------------
_IN_PLACE = [("relu_", ()), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.5)),
             ("elu_", (0.7,)), ("celu_", (0.7,)), ("selu_", ()), ("threshold_", (0.1, 9.0)),
             ("rrelu_", (0.1, 0.3))]


@pytest.mark.parametrize("name, args", _IN_PLACE)
def test_in_place_functional_forms_overwrite_and_return_their_input(name, args):
    x = tl.tensor([-1.0, 0.05, 2.0])
    expected = getattr(F, name[:-1])(tl.tensor([-1.0, 0.05, 2.0]), *args).numpy()
    assert getattr(F, name)(x, *args) is x
    np.testing.assert_allclose(x.numpy(), expected)
    torch = _torch()
    t = torch.tensor([-1.0, 0.05, 2.0])
    getattr(torch.nn.functional, name)(t, *args)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)


def test_in_place_functional_forms_take_keyword_arguments_too():
    x = tl.tensor([-1.0, 2.0])
    assert F.leaky_relu_(x, negative_slope=0.25) is x and x.tolist() == [-0.25, 2.0]
    y = tl.full((1000,), -1.0)
    assert F.rrelu_(y, lower=0.1, upper=0.3, training=True) is y
    slopes = -y.numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and slopes.std() > 0.03


def test_softmax2d_normalises_over_channels_like_torch():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    out = nn.Softmax2d()(tl.tensor(x)).numpy()
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax2d()(tl.tensor(x[0])).numpy(), out[0], rtol=1e-6)
    with pytest.raises(ValueError, match="3D or 4D"):
        nn.Softmax2d()(tl.ones(2, 3))
    torch = _torch()
    assert repr(nn.Softmax2d()) == repr(torch.nn.Softmax2d())
    np.testing.assert_allclose(out, torch.nn.Softmax2d()(torch.tensor(x)).numpy(), rtol=1e-5)


def test_init_sparse_zeroes_a_fraction_of_every_column():
    w = tl.empty(10, 4)
    assert nn.init.sparse_(w, 0.25, std=0.5) is w
    assert ((w.numpy() == 0).sum(0) == 3).all() and w.dtype == tl.float32
    with pytest.raises(ValueError, match="2 dimensions"):
        nn.init.sparse_(tl.empty(2, 2, 2), 0.1)
    torch = _torch()
    t = torch.empty(10, 4)
    torch.nn.init.sparse_(t, 0.25, std=0.5)
    assert ((t.numpy() == 0).sum(0) == 3).all()


# --- MultiheadAttention -------------------------------------------------------------------
def test_multihead_attention_shapes_masks_and_init_without_torch():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias",
                                                      "out_proj.weight", "out_proj.bias"]
    assert (mha.in_proj_bias.numpy() == 0).all()
    x = tl.randn(3, 5, 8)
    out, weights = mha(x, x, x)
    assert out.shape == (3, 5, 8) and weights.shape == (3, 5, 5)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1, rtol=1e-5)
    causal = tl.tensor(np.triu(np.ones((5, 5), dtype=bool), 1))
    _, w = mha(x, x, x, attn_mask=causal, average_attn_weights=False)
    assert w.shape == (3, 2, 5, 5) and (w.numpy()[..., causal.numpy()] == 0).all()
    out, none = mha(x[0], x[0], x[0], need_weights=False)
    assert out.shape == (5, 8) and none is None
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)


@pytest.mark.parametrize("kw", [{}, {"batch_first": True}, {"bias": False},
                                {"kdim": 6, "vdim": 5, "batch_first": True}])
@pytest.mark.parametrize("masks", ["none", "bool", "padding", "float3d+padding", "per-head"])
def test_multihead_attention_matches_torch(kw, masks):
    torch = _torch()
    rng = np.random.default_rng(4)
    e, h, n, q_len, k_len = 8, 2, 3, 4, 5
    theirs = torch.nn.MultiheadAttention(e, h, **kw)
    ours = nn.MultiheadAttention(e, h, **kw)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours)

    def shaped(t_len, d):
        shape = (n, t_len, d) if kw.get("batch_first") else (t_len, n, d)
        return rng.standard_normal(shape).astype(np.float32)

    q, k, v = shaped(q_len, e), shaped(k_len, kw.get("kdim", e)), shaped(k_len, kw.get("vdim", e))
    bool_mask = rng.random((q_len, k_len)) > 0.7
    bool_mask[:, 0] = False
    padding = rng.random((n, k_len)) > 0.7
    padding[:, 1] = False
    extra = {"none": {}, "bool": {"attn_mask": bool_mask},
             "padding": {"key_padding_mask": padding},
             "float3d+padding": {"attn_mask": rng.standard_normal((n * h, q_len, k_len)).astype(
                 np.float32), "key_padding_mask": padding},
             "per-head": {"average_attn_weights": False}}[masks]
    qt, ql = torch.tensor(q, requires_grad=True), tl.tensor(q, requires_grad=True)
    out_t, w_t = theirs(qt, torch.tensor(k), torch.tensor(v), **{
        a: torch.tensor(b) if isinstance(b, np.ndarray) else b for a, b in extra.items()})
    out_l, w_l = ours(ql, tl.tensor(k), tl.tensor(v), **{
        a: tl.tensor(b) if isinstance(b, np.ndarray) else b for a, b in extra.items()})
    np.testing.assert_allclose(out_l.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w_l.numpy(), w_t.detach().numpy(), rtol=1e-4, atol=1e-6)
    g = rng.standard_normal(out_t.shape).astype(np.float32)
    (out_t * torch.tensor(g)).sum().backward()
    (out_l * tl.tensor(g)).sum().backward()
    np.testing.assert_allclose(ql.grad.numpy(), qt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, p), p_t in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


# --- Rprop, Bilinear ------------------------------------------------------------------------
def test_rprop_grows_steps_while_the_sign_holds_and_skips_after_a_flip():
    w = nn.Parameter(tl.tensor([1.0]))
    opt = optim.Rprop([w], lr=0.1, etas=(0.5, 2.0), step_sizes=(1e-3, 0.3))
    values = []
    for g in [1.0, 1.0, 1.0, -1.0, -1.0]:
        w.grad = tl.tensor([g])
        opt.step()
        values.append(round(w.item(), 6))
    # steps 0.1, 0.2, 0.3 (capped); the flip halves the size to 0.15 and skips; then +0.15
    assert values == [0.9, 0.7, 0.4, 0.4, 0.55]
    assert set(opt.state[w]) == {"step", "prev", "step_size"}


@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "etas": (0.3, 1.5),
                                     "step_sizes": (1e-3, 0.06), "maximize": True}])
def test_rprop_matches_torch_and_resumes_from_its_state_dict(kw):
    torch = _torch()
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal((8, 1))
    theirs = torch.nn.Linear(3, 1)
    ours = nn.Linear(3, 1)
    _copy_weights(theirs, ours)
    opt_t = torch.optim.Rprop(theirs.parameters(), **kw)
    opt_l = optim.Rprop(ours.parameters(), **kw)
    assert repr(opt_l) == repr(opt_t)
    for i in range(8):
        if i == 4:
            opt_l2 = optim.Rprop(ours.parameters(), **kw)
            opt_l2.load_state_dict(opt_l.state_dict())
            opt_l = opt_l2
        for model, opt, lib in ((theirs, opt_t, torch), (ours, opt_l, tl)):
            opt.zero_grad()
            ((model(lib.tensor(x)) - lib.tensor(y.astype(np.float32))) ** 2).mean().backward()
            opt.step()
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("lead", [(), (2,), (2, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(lead, bias):
    torch = _torch()
    rng = np.random.default_rng(6)
    theirs, ours = torch.nn.Bilinear(3, 4, 5, bias=bias), nn.Bilinear(3, 4, 5, bias=bias)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours)
    a = rng.standard_normal(lead + (3,)).astype(np.float32)
    b = rng.standard_normal(lead + (4,)).astype(np.float32)
    at, al = torch.tensor(a, requires_grad=True), tl.tensor(a, requires_grad=True)
    out_t, out_l = theirs(at, torch.tensor(b)), ours(al, tl.tensor(b))
    np.testing.assert_allclose(out_l.numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    out_t.sum().backward()
    out_l.sum().backward()
    np.testing.assert_allclose(al.grad.numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_bilinear_init_bound_without_torch():
    layer = nn.Bilinear(4, 2, 3)
    assert layer.weight.shape == (3, 4, 2) and np.abs(layer.weight.numpy()).max() <= 0.5
    assert F.bilinear(tl.ones(4), tl.ones(2), layer.weight).shape == (3,)


# --- pad_sequence, tl.Generator in data -------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch_with_gradients(batch_first, side):
    from tinygrad_lite.nn.utils.rnn import pad_sequence
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1, 4)]
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(ours, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    assert out.shape == ((3, 4, 2) if batch_first else (4, 3, 2))
    torch = _torch()
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-1.5,
                                            padding_side=side)
    np.testing.assert_array_equal(out.numpy(), out_t.detach().numpy())
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * tl.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_data_takes_a_tl_generator_like_torch_code_passes():
    from tinygrad_lite.data import random_split

    def split():
        return [s.indices for s in random_split(range(10), [0.8, 0.2],
                                                generator=tl.Generator().manual_seed(42))]

    assert split() == split() and sorted(sum(split(), [])) == list(range(10))
    ds = TensorDataset(tl.arange(6))

    def epoch():
        return [b[0].tolist() for b in DataLoader(ds, batch_size=2, shuffle=True,
                                                  generator=tl.Generator().manual_seed(1))]

    assert epoch() == epoch()
    drawn = RandomSampler(ds, generator=tl.Generator().manual_seed(3))
    assert list(drawn) == list(RandomSampler(ds, generator=tl.Generator().manual_seed(3)))


# --- Transformer encoder --------------------------------------------------------------------
def test_transformer_encoder_copies_its_layer_and_keeps_shapes():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(8))
    assert encoder.layers[0] is not layer and encoder.layers[0] is not encoder.layers[1]
    assert len(list(encoder.parameters())) == 2 * len(list(layer.parameters())) + 2
    encoder.eval()
    assert encoder(tl.randn(3, 5, 8)).shape == (3, 5, 8)
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


@pytest.mark.parametrize("kw", [{}, {"batch_first": True, "norm_first": True},
                                {"activation": "gelu", "bias": False}])
def test_transformer_encoder_matches_torch_with_gradients(kw):
    torch = _torch()
    rng = np.random.default_rng(8)
    theirs_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw)
    ours_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw)
    assert repr(ours_layer) == repr(theirs_layer)
    theirs = torch.nn.TransformerEncoder(theirs_layer, 2, norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False)
    ours = nn.TransformerEncoder(ours_layer, 2, norm=nn.LayerNorm(8))
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    _copy_weights(theirs, ours)
    x = rng.standard_normal((3, 4, 8)).astype(np.float32)
    length = 4 if kw.get("batch_first") else 3
    causal = np.triu(np.ones((length, length), dtype=bool), 1)
    xt, xl = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
    out_t, out_l = theirs(xt, mask=torch.tensor(causal)), ours(xl, mask=tl.tensor(causal))
    np.testing.assert_allclose(out_l.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    out_t.pow(2).sum().backward()
    out_l.pow(2).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc_is_conv1d_in_time_batch_channel_layout_like_torch(pad):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in ((7, 2, 3), (3, 3, 4), (4,))]
    mine = [tl.tensor(a, requires_grad=True) for a in arrays]
    out = F.conv_tbc(*mine, pad)
    assert out.shape == (7 + 2 * pad - 2, 2, 4)
    assert tl.gradcheck(lambda *t: F.conv_tbc(*t, pad),
                        [tl.tensor(a, requires_grad=True) for a in arrays])
    torch = _torch()
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = torch.nn.functional.conv_tbc(*theirs, pad)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
