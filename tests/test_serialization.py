"""Tests for tinygrad_lite.serialization: round trips of state dicts, optimizer state and
models, and every kind of bad file refused with a ValueError, without running code."""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from helpers import assert_same

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.serialization import load, load_model, save

NOT_OURS = "not a tinygrad_lite checkpoint"


# --- helpers to write files by hand ---------------------------------------------------------
def _npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=allow_pickle)
    return buf.getvalue()


def _header(root, model=None, **fields) -> bytes:
    doc = {"format": "tinygrad_lite", "version": 1, "model": model, "root": root, **fields}
    return _npy(np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8))


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


class _WritesMarker:
    """Unpickling this creates the file `marker`: proof that a loader ran pickled code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _assert_refused(path, match=NOT_OURS):
    before = sorted(os.listdir(os.path.dirname(path)))
    with pytest.raises(ValueError, match=match):
        load(path)
    assert sorted(os.listdir(os.path.dirname(path))) == before  # nothing written


# --- round trips ------------------------------------------------------------------------------
def test_state_dict_round_trip_keeps_keys_order_dtypes_and_values(tmp_path):
    rng = np.random.default_rng(0)
    obj = OrderedDict([
        ("z.weight", tl.tensor(rng.standard_normal((3, 4)), dtype=tl.float32)),
        ("a.bias", tl.tensor(rng.standard_normal(4), dtype=tl.float64)),
        ("labels", tl.tensor([3, 1, 2])),
        ("mask", tl.tensor([True, False])),
        ("half", tl.tensor([1.5, -2.0], dtype=tl.float16)),
        ("bytes", np.arange(5, dtype=np.uint8)),
        ("int8", np.array([-3, 4], dtype=np.int8)),
        ("complex", np.array([1 + 2j])),
        ("fortran", np.asfortranarray(rng.standard_normal((3, 2)))),
        ("strided", np.arange(10.0)[::3]),
        ("empty", np.zeros((0, 3), dtype=np.float32)),
        ("scalar0d", tl.tensor(2.5)),
        ("special", np.array([np.nan, np.inf, -np.inf, -0.0])),
    ])
    save(obj, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert_same(obj, back)
    assert back["fortran"].flags.f_contiguous or back["fortran"].flags.c_contiguous
    assert isinstance(back["z.weight"], tl.Tensor) and not back["z.weight"].requires_grad
    assert isinstance(back["bytes"], np.ndarray)


def test_nested_python_values_round_trip_exactly(tmp_path):
    obj = {
        "epoch": 7, "lr": 0.1, "nan": float("nan"), "big": 2**70, "flag": True, "none": None,
        "name": "rün/ünïcode %2F", "pair": (1, 2.0), "list": [1, [2, [3, {"deep": "x"}]]],
        "empty": {}, "empty_list": [], "empty_tuple": (),
        0: "int key", "0": "str key", -5: [tl.zeros(2)],
        "np_scalars": [np.float32(1.5), np.int64(3), np.bool_(True)],
        "a/b": tl.ones(1), "a%2Fb": tl.ones(2), "same": [tl.ones(1), tl.zeros(1)],
    }
    save(obj, tmp_path / "n.npz")
    assert_same(obj, load(tmp_path / "n.npz"))


def test_arrays_are_npz_members_named_after_their_keys(tmp_path):
    save({"0.weight": tl.ones(2, 3), "opt": {"state": {0: {"exp_avg": tl.zeros(3)}}},
          "a/b": tl.ones(1), 1: tl.ones(1), "1": tl.zeros(1)}, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        names = set(f.files)
        np.testing.assert_array_equal(f["0.weight"], np.ones((2, 3), np.float32))
    assert {"0.weight", "opt/state/0/exp_avg", "a%2Fb", "1", "1~1"} <= names


def test_optimizer_state_round_trips_through_a_file_and_training_continues(tmp_path):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2)]
    grads = [[rng.standard_normal(a.shape).astype(a.dtype) for a in init] for _ in range(8)]

    def steps(params, opt, ts):
        for t in ts:
            for p, g in zip(params, grads[t]):
                p.grad = tl.tensor(g + p.numpy())
            opt.step()

    params = [tl.tensor(a, requires_grad=True) for a in init]
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}],
                     lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + 0.1 * t))
    steps(params, opt, range(4))
    save({"params": [p.detach() for p in params], "optim": opt.state_dict(),
          "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = load(tmp_path / "ckpt.npz")
    assert_same(opt.state_dict(), ckpt["optim"])
    assert_same(sched.state_dict(), ckpt["sched"])
    copies = [tl.tensor(p.numpy(), requires_grad=True) for p in ckpt["params"]]
    resumed = optim.Adam([{"params": copies[:1]}, {"params": copies[1:]}])
    resumed.load_state_dict(ckpt["optim"])
    steps(params, opt, range(4, 8))
    steps(copies, resumed, range(4, 8))
    for a, b in zip(params, copies):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_save_refuses_unsupported_values_and_leaves_an_old_file_intact(tmp_path):
    path = tmp_path / "keep.npz"
    save({"w": tl.ones(2)}, path)
    for bad, match in [({"s": {1, 2}}, r"set at key \['s'\]"),
                       ({"o": np.array([object()])}, "dtype object"),
                       ({1.5: 2}, "only str and int keys"),
                       ({True: 2}, "only str and int keys"),
                       ({"f": lambda: 0}, "function")]:
        with pytest.raises(TypeError, match=match):
            save(bad, path)
    np.testing.assert_array_equal(load(path)["w"].numpy(), [1.0, 1.0])
    assert os.listdir(tmp_path) == ["keep.npz"]


def test_save_and_load_work_with_file_objects():
    buf = io.BytesIO()
    save({"w": tl.ones(2, 2), "n": 1}, buf)
    buf.seek(0)
    back = load(buf)
    assert back["n"] == 1 and back["w"].shape == (2, 2)


def test_load_of_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


# --- bad files --------------------------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.npz"
    obj = {"w": tl.tensor(np.arange(6.0).reshape(3, 2), dtype=tl.float32),
           "b": tl.zeros(2), "step": 3, "meta": {"name": "x", "lrs": [0.1, 0.2]}}
    save(obj, path)
    return path, obj


# the exhaustive loops read from memory: a thousand file writes would be slower than the loads
def test_every_truncation_is_refused(good_file):
    path, _ = good_file
    data = path.read_bytes()
    for n in range(len(data)):
        with pytest.raises(ValueError, match=NOT_OURS):
            load(io.BytesIO(data[:n]))
    path.write_bytes(data[: len(data) // 2])
    _assert_refused(path)


def test_every_corrupted_byte_is_refused_or_harmless(good_file):
    path, obj = good_file
    data = path.read_bytes()
    refused = 0
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        try:
            out = load(io.BytesIO(bytes(flipped)))
        except ValueError:
            refused += 1
            continue
        assert_same(obj, out)  # a byte the format does not use (a timestamp, say): same values
    assert refused > len(data) // 2


def test_bit_flip_in_array_data_is_caught_by_the_zip_crc(good_file, tmp_path):
    path, _ = good_file
    data = bytearray(path.read_bytes())
    at = data.index(np.float32(5.0).tobytes())  # the last weight's bytes
    data[at] ^= 0x01
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    _assert_refused(bad, "Bad CRC-32 for file 'w.npy'")


def test_pickle_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _WritesMarker(marker)})
    other = tmp_path / "proof"
    pickle.loads(pickle.dumps(_WritesMarker(other)))  # the payload is live: it does write
    assert other.exists()
    other.unlink()
    path = tmp_path / "model.npz"
    path.write_bytes(payload)
    _assert_refused(path, "is a pickle")
    torch_like = tmp_path / "torch_like.npz"
    _zip(torch_like, {"archive/data.pkl": payload, "archive/version": b"3"})
    _assert_refused(torch_like, "pickled data")
    assert not marker.exists()


def test_object_array_member_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _WritesMarker(marker)
    path = tmp_path / "evil.npz"
    _zip(path, {"%tinygrad_lite.npy": _header({"ndarray": "w"}),
                "w.npy": _npy(evil, allow_pickle=True)})
    _assert_refused(path, "dtype object")
    assert not marker.exists()


def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)
    _assert_refused(path, "pickled data")


def test_deflate_zip_bomb_is_refused_before_expanding(tmp_path):
    n = 32 * 2**20  # 32 MiB of zeros compress to ~32 KiB
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (n // 4,)})
    path = tmp_path / "bomb.npz"
    _zip(path, {"%tinygrad_lite.npy": _header({"tensor": "w"}),
                "w.npy": buf.getvalue() + bytes(n)}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < n // 100
    tracemalloc.start()
    try:
        _assert_refused(path, "compressed")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_overlapping_members_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "overlap.npz"
    _zip(path, {"%tinygrad_lite.npy": _header({"tensor": "w"}),
                "w.npy": _npy(np.zeros(2**16, np.float32))})
    data = path.read_bytes()
    # list the big member 20 more times in the central directory, all pointing at one copy
    eocd = len(data) - 22
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12:eocd + 20])
    central = data[cd_offset:cd_offset + cd_size]
    entry_at = central.index(b"PK\x01\x02", 1)  # the second entry: w.npy
    entry = central[entry_at:]
    copies = [entry.replace(b"w.npy", f"{chr(97 + i)}.npy".encode()) for i in range(20)]
    central += b"".join(copies)
    count = 2 + len(copies)
    tail = data[eocd:eocd + 8] + struct.pack("<HHII", count, count, len(central), cd_offset)
    path.write_bytes(data[:cd_offset] + central + tail + data[eocd + 20:])
    _assert_refused(path, "claim more bytes than the file holds")


def test_array_header_larger_than_its_data_is_refused_without_allocating(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    path = tmp_path / "liar.npz"
    _zip(path, {"%tinygrad_lite.npy": _header({"tensor": "w"}),
                "w.npy": buf.getvalue() + bytes(16)})
    _assert_refused(path, "header describes")


@pytest.mark.parametrize("make, match", [
    (lambda p: np.savez(p, a=np.arange(3)), "no tinygrad_lite header"),
    (lambda p: np.savez_compressed(p, a=np.arange(3)), "no tinygrad_lite header"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)), "not a zip"),
    (lambda p: p.write_bytes(b""), "not a zip"),
    (lambda p: p.write_text("weights = [1, 2, 3]\n"), "not a zip"),
    (lambda p: _zip(p, {"%tinygrad_lite.npy": _header(None), "notes.txt": b"hi"}),
     "unexpected member 'notes.txt'"),
])
def test_foreign_files_are_refused(tmp_path, make, match):
    path = tmp_path / "foreign.npz"
    make(path)
    _assert_refused(path, match)


@pytest.mark.parametrize("header, match", [
    (b"not json", "damaged header"),
    (json.dumps({"format": "other", "version": 1, "root": 1}).encode(), "damaged header"),
    (json.dumps({"format": "tinygrad_lite", "version": 2, "root": 1}).encode(),
     "format version 2"),
    (json.dumps({"format": "tinygrad_lite", "version": 1, "root": {"tensor": "gone"}}).encode(),
     "unexpected entry"),
    (json.dumps({"format": "tinygrad_lite", "version": 1, "root": {"eval": "x"}}).encode(),
     "unexpected entry"),
    (json.dumps({"format": "tinygrad_lite", "version": 1,
                 "root": {"dict": [[1.5, 2]]}}).encode(), "unexpected entry"),
    (b'{"format": "tinygrad_lite", "version": 1, "root": '
     + b'{"list": [' * 100_000 + b"1" + b"]}" * 100_000 + b"}", "damaged header"),
], ids=["not-json", "other-format", "version-2", "missing-member", "unknown-kind",
        "float-key", "nested-too-deep"])
def test_damaged_headers_are_refused(tmp_path, header, match):
    path = tmp_path / "damaged.npz"
    _zip(path, {"%tinygrad_lite.npy": _npy(np.frombuffer(header, dtype=np.uint8))})
    _assert_refused(path, match)


# --- models -----------------------------------------------------------------------------------
def _mlp():
    tl.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 16, weight_l1=1e-4, bias_l2=1e-3), nn.LeakyReLU(0.2),
        nn.Dropout(0.25), nn.Sequential(nn.Linear(16, 8, bias=False), nn.Tanh()),
        nn.Identity(), nn.Linear(8, 5), nn.Sigmoid(), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1))


def test_load_model_rebuilds_architecture_weights_and_outputs(tmp_path):
    model = _mlp()
    model.eval()
    save(model, tmp_path / "mlp.npz")
    loaded = load_model(tmp_path / "mlp.npz")
    assert repr(loaded) == repr(model)
    assert [m.training for m in loaded.modules()] == [False] * len(list(model.modules()))
    assert loaded[1].weight_l1 == 1e-4 and loaded[1].bias_l2 == 1e-3
    x = tl.randn(4, 3, 4)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert loaded.regularization_loss().item() == model.regularization_loss().item()
    # the same file read as a state dict fits a model built in code
    fresh = _mlp()
    fresh.load_state_dict(load(tmp_path / "mlp.npz"))
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_load_model_keeps_float64_layers_names_and_module_lists(tmp_path):
    model = nn.Sequential(OrderedDict([
        ("hidden", nn.Linear(3, 4, dtype=tl.float64)), ("act", nn.ReLU()),
        ("out", nn.Linear(4, 2, dtype=tl.float64))]))
    save(model, tmp_path / "f64.npz")
    loaded = load_model(tmp_path / "f64.npz")
    assert [n for n, _ in loaded.named_parameters()] == ["hidden.weight", "hidden.bias",
                                                         "out.weight", "out.bias"]
    assert all(p.dtype == tl.float64 for p in loaded.parameters())
    x = tl.randn(5, 3, dtype=tl.float64)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    blocks = nn.ModuleList([nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1))])
    blocks[1].eval()
    save(blocks, tmp_path / "list.npz")
    back = load_model(tmp_path / "list.npz")
    assert type(back) is nn.ModuleList and repr(back) == repr(blocks)
    assert [m.training for m in back.modules()] == [m.training for m in blocks.modules()]
    assert_same(blocks.state_dict(), back.state_dict())


class _Custom(nn.Module):
    def forward(self, x):
        return x


class _MyLinear(nn.Linear):
    pass


def _recurrent_layers() -> nn.ModuleList:
    """Every recurrent layer, with settings away from the defaults (a Sequential cannot chain
    them: they take a sequence and return a tuple)."""
    return nn.ModuleList([
        nn.RNNCell(2, 3, bias=False, nonlinearity="relu"), nn.LSTMCell(2, 3),
        nn.GRUCell(2, 3, dtype=tl.float64),
        nn.RNN(2, 3, 2, nonlinearity="relu", bias=False, batch_first=True),
        nn.LSTM(2, 3, num_layers=2, dropout=0.5, bidirectional=True),
        nn.GRU(2, 3, bidirectional=True, batch_first=True, dtype=tl.float64)])


def test_load_model_rebuilds_every_recurrent_layer_with_its_settings(tmp_path):
    layers = _recurrent_layers().eval()
    save(layers, tmp_path / "r.npz")
    again = load_model(tmp_path / "r.npz")
    assert repr(again) == repr(layers) and not again.training
    for layer, layer_again in zip(layers, again):
        dtype = next(layer.parameters()).dtype
        assert next(layer_again.parameters()).dtype == dtype
        sequence = tl.randn(2, 4, 2).to(dtype)  # a cell takes one step of it
        x = sequence[0] if "Cell" in type(layer).__name__ else sequence
        np.testing.assert_array_equal(_all_numbers(layer_again(x)), _all_numbers(layer(x)))


def _all_numbers(out) -> np.ndarray:
    """All numbers of a recurrent layer's output (a tensor or nested tuples of them)."""
    if isinstance(out, tuple):
        return np.concatenate([_all_numbers(item) for item in out])
    return out.numpy().ravel()


def test_load_model_rebuilds_every_library_layer_with_its_settings_and_buffers(tmp_path):
    from tinygrad_lite.serialization import _LAYERS
    model = nn.Sequential(
        nn.Linear(2, 4), nn.ReLU(inplace=True), nn.Dropout(0.3, inplace=True), nn.ReLU6(),
        nn.SELU(), nn.SiLU(), nn.Mish(), nn.Hardsigmoid(), nn.Hardswish(),
        nn.LeakyReLU(0.2), nn.ELU(0.5), nn.CELU(2.0), nn.Hardtanh(-2.0, 2.0),
        nn.Threshold(-5.0, 0.0), nn.GELU(approximate="tanh"), nn.Softplus(2.0, 10.0),
        nn.Sigmoid(), nn.Tanh(), nn.Softsign(), nn.LogSigmoid(), nn.Identity(),
        nn.LayerNorm(4, eps=1e-6), nn.LayerNorm(4, elementwise_affine=False),
        nn.PReLU(4, init=0.1), nn.Softshrink(0.1), nn.Hardshrink(0.05), nn.Tanhshrink(),
        nn.RMSNorm(4, eps=1e-4), nn.GroupNorm(2, 4, affine=False), nn.GroupNorm(2, 4),
        # (8, 4) -> (8, 5) -> (8, 4) -> (8, 5) -> (8, 6) -> (8, 4)
        nn.ReflectionPad1d((1, 0)), nn.ConstantPad1d((0, -1), 0.5),
        nn.ReplicationPad1d((0, 1)), nn.CircularPad1d((1, 0)), nn.ZeroPad1d((-1, -1)),
        nn.BatchNorm1d(4, momentum=None), nn.BatchNorm1d(4, affine=False),
        nn.Unflatten(1, (1, 2, 2)), nn.BatchNorm2d(1),
        # (8, 1, 2, 2) -> 4x4 -> 5x5 -> 6x6 -> 2x2 -> 2x2 -> (8, 4, 1, 1) -> (8, 1, 2, 2)
        nn.ReflectionPad2d(1), nn.ReplicationPad2d((1, 0, 0, 1)),
        nn.CircularPad2d((0, 1, 1, 0)), nn.ZeroPad2d(-2), nn.ConstantPad2d((1, -1, -1, 1), 0.5),
        nn.InstanceNorm2d(1, affine=True), nn.Dropout2d(0.2), nn.PixelUnshuffle(2),
        nn.PixelShuffle(2),
        # a conv branch: (8, 1, 2, 2) -> (8, 2, 2, 1) -> (8, 2, 2) -> (8, 4, 1)
        nn.Conv2d(1, 2, (3, 3), padding=1, padding_mode="reflect"),
        nn.MaxPool2d(2, stride=1, padding=1), nn.AvgPool2d(2, 1, count_include_pad=False),
        nn.AdaptiveAvgPool2d((2, 1)), nn.Flatten(2),
        nn.Conv1d(2, 4, 2, padding=1, groups=2, bias=False), nn.InstanceNorm1d(4),
        nn.Dropout1d(0.1), nn.MaxPool1d(2, stride=1),
        nn.AvgPool1d(2, padding=1), nn.AdaptiveAvgPool1d(1),
        nn.Flatten(), nn.GLU(), nn.Softmin(1), nn.Softmax(1), nn.LogSoftmax(1))
    # the layers of two inputs, which a Sequential cannot chain
    pair = nn.ModuleList([nn.PairwiseDistance(1.0, 1e-3, keepdim=True),
                          nn.CosineSimilarity(0, 1e-6)])
    names = {type(m).__name__ for m in (*model.modules(), *pair.modules(),
                                         *_recurrent_layers().modules())} | {"Embedding"}
    assert names >= set(_LAYERS), set(_LAYERS) - names  # every layer save knows is here
    model(tl.randn(8, 2))  # moves the running statistics away from their start
    model.eval()
    save(model, tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert repr(again) == repr(model) and not again.training
    x = tl.randn(5, 2)
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), rtol=1e-6)
    save(pair, tmp_path / "p.npz")
    pair_again = load_model(tmp_path / "p.npz")
    assert repr(pair_again) == repr(pair)
    a, b = tl.randn(3, 4), tl.randn(3, 4)
    for layer, layer_again in zip(pair, pair_again):
        np.testing.assert_array_equal(layer_again(a, b).numpy(), layer(a, b).numpy())
    emb = nn.Sequential(nn.Embedding(10, 3, padding_idx=0), nn.Flatten()).double()
    save(emb, tmp_path / "e.npz")
    emb_again = load_model(tmp_path / "e.npz")
    assert emb_again[0].weight.dtype == tl.float64 and emb_again[0].padding_idx == 0
    index = tl.tensor([[1, 0], [3, 4]])
    np.testing.assert_array_equal(emb_again(index).numpy(), emb(index).numpy())


@pytest.mark.parametrize("model, where", [
    (_Custom(), "_Custom \\(at the top level\\)"),
    (nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), _Custom())), "_Custom \\(at 1.1\\)"),
    (nn.Sequential(_MyLinear(2, 2)), "_MyLinear \\(at 0\\)"),
])
def test_saving_a_model_with_a_custom_module_names_it_and_suggests_the_state_dict(
        tmp_path, model, where):
    with pytest.raises(TypeError, match=f"{where} is not a tinygrad_lite layer.*"
                                        r"tl.save\(model.state_dict\(\), path\)"):
        save(model, tmp_path / "custom.npz")
    assert os.listdir(tmp_path) == []


def test_saving_a_model_with_a_shared_layer_is_refused(tmp_path):
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="shares a parameter"):
        save(nn.Sequential(layer, nn.ReLU(), layer), tmp_path / "tied.npz")


def test_load_model_refuses_state_dict_files_and_unknown_layers(tmp_path):
    save({"w": tl.ones(1)}, tmp_path / "sd.npz")
    with pytest.raises(ValueError, match="holds a state dict, not a model"):
        load_model(tmp_path / "sd.npz")
    path = tmp_path / "evil_model.npz"
    arch = {"class": "os.system", "training": True, "args": {"command": "touch pwned"}}
    _zip(path, {"%tinygrad_lite.npy": _header({"odict": []}, model=arch)})
    with pytest.raises(ValueError, match="damaged model: unknown layer 'os.system'"):
        load_model(path)
    arch = {"class": "Linear", "training": True, "args": {"in_features": 2}}
    _zip(path, {"%tinygrad_lite.npy": _header({"odict": []}, model=arch)})
    with pytest.raises(ValueError, match="damaged model"):
        load_model(path)
    assert sorted(os.listdir(tmp_path)) == ["evil_model.npz", "sd.npz"]
