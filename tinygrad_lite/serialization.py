"""Checkpoints: `save` / `load` state dicts, and `load_model` for models of library layers.

One `.npz` file (a zip of `.npy` members, readable with `numpy.load`): every array is a
member named after its key path (`0.weight`, `state/3/exp_avg`), and everything else (the
nesting, key order and types, Python numbers and strings, which arrays were Tensors, a
model's architecture) is one JSON document, stored as the uint8 member `%tinygrad_lite`.

Nothing is ever unpickled, so loading a file cannot run code. `load` reads only what this
module writes and refuses anything else with a ValueError: pickles, other zips and npz
files, truncated or corrupted files (the zip CRCs are checked), compressed members (so a
zip bomb cannot expand) and array headers that disagree with the bytes behind them.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO
from urllib.parse import quote

import numpy as np

from . import nn
from .tensor import Tensor

FORMAT, VERSION = "tinygrad_lite", 1
HEADER = "%tinygrad_lite"  # NOTE: never an escaped key path: quote() always escapes '%'

# the library layers whose architecture a file can hold, and the constructor arguments that
# rebuild them (read back from the attributes of the same name, as PyTorch names them)
_INPLACE = ("inplace",)
_NORM = ("eps", "bias", "dtype")
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
         "groups", "bias", "padding_mode", "dtype")
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
_RECURRENT = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
              "bidirectional", "dtype")
_LAYERS = {
    "Linear": ("in_features", "out_features", "bias", "weight_l1", "weight_l2", "bias_l1",
               "bias_l2", "dtype"),
    "Dropout": ("p", "inplace"),
    "ReLU": _INPLACE, "ReLU6": _INPLACE, "SELU": _INPLACE, "SiLU": _INPLACE,
    "Mish": _INPLACE, "Hardsigmoid": _INPLACE, "Hardswish": _INPLACE,
    "LeakyReLU": ("negative_slope", "inplace"),
    "ELU": ("alpha", "inplace"),
    "CELU": ("alpha", "inplace"),
    "Hardtanh": ("min_val", "max_val", "inplace"),
    "Threshold": ("threshold", "value", "inplace"),
    "GELU": ("approximate",),
    "Softplus": ("beta", "threshold"),
    "Sigmoid": (), "Tanh": (), "Softsign": (), "LogSigmoid": (), "Identity": (),
    "Softmax": ("dim",), "LogSoftmax": ("dim",), "Softmin": ("dim",), "GLU": ("dim",),
    "Flatten": ("start_dim", "end_dim"),
    "Unflatten": ("dim", "unflattened_size"),
    "Embedding": ("num_embeddings", "embedding_dim", "padding_idx", "dtype"),
    "LayerNorm": ("normalized_shape", "elementwise_affine") + _NORM,
    "BatchNorm1d": ("num_features", "momentum", "affine", "track_running_stats") + _NORM,
    "BatchNorm2d": ("num_features", "momentum", "affine", "track_running_stats") + _NORM,
    "Conv1d": _CONV, "Conv2d": _CONV,
    "MaxPool1d": _MAX_POOL, "MaxPool2d": _MAX_POOL,
    "AvgPool1d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"),
    "AdaptiveAvgPool1d": ("output_size",), "AdaptiveAvgPool2d": ("output_size",),
    "PReLU": ("num_parameters", "init", "dtype"),
    "Softshrink": ("lambd",), "Hardshrink": ("lambd",), "Tanhshrink": (),
    "RMSNorm": ("normalized_shape", "eps", "elementwise_affine", "dtype"),
    "GroupNorm": ("num_groups", "num_channels", "affine") + _NORM,
    "InstanceNorm1d": ("num_features", "momentum", "affine", "track_running_stats") + _NORM,
    "InstanceNorm2d": ("num_features", "momentum", "affine", "track_running_stats") + _NORM,
    "ZeroPad1d": ("padding",), "ZeroPad2d": ("padding",),
    "ConstantPad1d": ("padding", "value"), "ConstantPad2d": ("padding", "value"),
    "ReflectionPad1d": ("padding",), "ReflectionPad2d": ("padding",),
    "ReplicationPad1d": ("padding",), "ReplicationPad2d": ("padding",),
    "CircularPad1d": ("padding",), "CircularPad2d": ("padding",),
    "Dropout1d": ("p", "inplace"), "Dropout2d": ("p", "inplace"),
    "PairwiseDistance": ("p", "eps", "keepdim"), "CosineSimilarity": ("dim", "eps"),
    "PixelShuffle": ("upscale_factor",), "PixelUnshuffle": ("downscale_factor",),
    "RNNCell": ("input_size", "hidden_size", "bias", "nonlinearity", "dtype"),
    "LSTMCell": ("input_size", "hidden_size", "bias", "dtype"),
    "GRUCell": ("input_size", "hidden_size", "bias", "dtype"),
    "RNN": _RECURRENT + ("nonlinearity",), "LSTM": _RECURRENT, "GRU": _RECURRENT,
}
_CONTAINERS = ("Sequential", "ModuleList")
_ARRAY_KINDS = ("tensor", "ndarray", "scalar")


# --- save -------------------------------------------------------------------------------------
def save(obj: Any, path: str | os.PathLike | BinaryIO, pickle_module: Any = None,
         pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Write `obj` to `path` as one .npz file, without pickle (PyTorch's pickle and format
    options are accepted so its calls run unchanged; nothing is pickled).

    Parameters
    ----------
    obj : a state dict (nested dicts, lists and tuples of Tensors, numpy arrays, numbers,
        strings, None), e.g. `model.state_dict()` or `optimizer.state_dict()`; or a model
        built from library layers, whose architecture is stored too (see `load_model`).
    path : the file to write (replaced atomically: a crash never leaves half a file), or a
        binary file object such as `io.BytesIO()`.

    Examples
    --------
    >>> tl.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3},
    ...         "ckpt.npz")
    >>> ckpt = tl.load("ckpt.npz")
    """
    model = None
    if isinstance(obj, nn.Module):
        model, obj = _describe(obj), obj.state_dict()
    arrays: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "version": VERSION, "model": model,
              "root": _encode(obj, (), arrays)}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    members = {HEADER: np.frombuffer(text, dtype=np.uint8), **arrays}
    if hasattr(path, "write"):
        _write(path, members)
        return
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            _write(f, members)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write(f: BinaryIO, members: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in members.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def _encode(obj: Any, path: tuple, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON node for `obj`; arrays go into `arrays` under a name made from `path`.

    Numbers, strings, booleans and None are their own node; anything else is a one-key
    object naming its kind: {"dict": [[key, node], ...]}, {"list": [...]}, {"tensor": name}.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        for key in obj:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: key {key!r} at {_where(path)} is a "
                                f"{type(key).__name__}; only str and int keys can be saved")
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {kind: [[k, _encode(v, path + (k,), arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_encode(v, path + (i,), arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, Tensor):
        kind, arr = "tensor", obj.numpy()
    elif isinstance(obj, np.ndarray):
        kind, arr = "ndarray", obj
    elif isinstance(obj, np.generic):
        kind, arr = "scalar", np.asarray(obj)
    else:
        raise TypeError(f"save: cannot save the {type(obj).__name__} at {_where(path)}; "
                        "save Tensors, numpy arrays, numbers, strings, None, and dicts, "
                        "lists and tuples of them")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"save: the array at {_where(path)} has dtype {arr.dtype}; only "
                        "bool, integer, float and complex arrays can be saved")
    name = "/".join(quote(str(k), safe="") for k in path) or "_"
    unique, n = name, 1
    while unique in arrays:  # e.g. int key 0 next to str key "0"
        unique, n = f"{name}~{n}", n + 1
    arrays[unique] = arr
    return {kind: unique}


def _where(path: tuple) -> str:
    return "the top level" if not path else "key " + "".join(f"[{k!r}]" for k in path)


# --- load -------------------------------------------------------------------------------------
def load(path: str | os.PathLike | BinaryIO, map_location: Any = None, *,
         weights_only: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read what `save` wrote: the same nesting, keys in order, Tensors where Tensors were.

    `path` is a file name or a binary file object holding exactly one checkpoint. For a
    file saved from a model, this is its state dict. Raises ValueError for any file `save`
    did not write (it never unpickles, so a hostile file cannot run code).
    `map_location`, `weights_only` and pickle options are accepted so that PyTorch calls
    run unchanged: every tensor lands on the CPU and nothing is ever unpickled anyway.
    """
    return _read(path)[1]


def _read(path: str | os.PathLike | BinaryIO) -> tuple[dict, Any, str]:
    """The checked JSON header, the object saved, and a name for messages."""
    if hasattr(path, "read"):
        name = str(getattr(path, "name", "the file object"))
        return (*_read_zip(path, name), name)
    name = os.fspath(path)
    with open(name, "rb") as f:  # a missing file stays a FileNotFoundError
        return (*_read_zip(f, name), name)


def _read_zip(f: BinaryIO, name: str) -> tuple[dict, Any]:
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    start = f.read(4)
    f.seek(0)
    try:
        if start[:1] == b"\x80":
            raise ValueError("it is a pickle; tinygrad_lite never unpickles (code in a "
                             "pickle runs when it is loaded)")
        if start != b"PK\x03\x04":
            raise ValueError("it is not a zip/npz archive")
        with zipfile.ZipFile(f) as zf:
            infos = _check_members(zf, size)
            arrays = {n: _read_array(zf, info) for n, info in infos.items()}
    # NOTE: a damaged zip directory surfaces as any of these (OSError: a seek before 0)
    except (zipfile.BadZipFile, ValueError, EOFError, KeyError, OverflowError, OSError,
            NotImplementedError, zlib.error, RecursionError) as e:
        reason = str(e) or type(e).__name__
        raise ValueError(f"load: {name} is not a tinygrad_lite checkpoint: {reason}") from e
    try:
        header = json.loads(arrays.pop(HEADER).tobytes().decode("utf-8"))
        if not (isinstance(header, dict) and header.get("format") == FORMAT
                and "root" in header):
            raise ValueError("no tinygrad_lite format tag")
        if header.get("version") == VERSION:
            return header, _decode(header["root"], arrays)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"load: {name} has a damaged header: {e}") from e
    raise ValueError(f"load: {name} is format version {header.get('version')!r}; this "
                     f"tinygrad_lite reads version {VERSION}")


def _check_members(zf: zipfile.ZipFile, size: int) -> dict[str, zipfile.ZipInfo]:
    """Members by array name, after checking that their sizes are true to the file's."""
    infos = zf.infolist()
    names = [info.filename for info in infos]
    if any(n.endswith(".pkl") for n in names):
        raise ValueError("it holds pickled data (a torch.save file?); tinygrad_lite never "
                         "unpickles")
    if HEADER + ".npy" not in names:
        raise ValueError("it has no tinygrad_lite header (a plain numpy .npz? read it with "
                         "numpy.load)")
    if len(set(names)) != len(names):
        raise ValueError("it names a member twice")
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise ValueError(f"unexpected member {info.filename!r}")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename!r} is compressed or encrypted; "
                             "tinygrad_lite writes members stored as they are")
        # NOTE: stored members hold their bytes in the file, so their declared sizes are
        # bounded by the file's: no member can expand past what is on disk
        if info.file_size != info.compress_size or info.header_offset + info.file_size > size:
            raise ValueError(f"member {info.filename!r}: its sizes ({info.file_size} bytes "
                             f"declared, {info.compress_size} stored) do not fit the "
                             f"{size}-byte file")
    if sum(info.file_size for info in infos) > size:
        raise ValueError("its members claim more bytes than the file holds (overlapping "
                         "members, as in a zip bomb)")
    return {info.filename[:-4]: info for info in infos}


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One .npy member, refusing object arrays and headers that disagree with the data."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"member {info.filename!r}: .npy version {version} is not "
                             "supported")
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise ValueError(f"member {info.filename!r} has dtype {dtype}; checkpoints hold "
                             "only numeric arrays")
        nbytes = math.prod(shape) * dtype.itemsize
        if min(shape, default=0) < 0 or nbytes != info.file_size - f.tell():
            raise ValueError(f"member {info.filename!r}: its header describes {shape} "
                             f"{dtype} ({nbytes} bytes) but {info.file_size - f.tell()} "
                             "bytes follow")
        arr = np.empty(math.prod(shape), dtype)
        # NOTE: reading to the end makes zipfile compare the member's CRC-32
        if f.readinto(arr.view(np.uint8)) != nbytes or f.read(1):
            raise ValueError(f"member {info.filename!r} is shorter than its header says")
    return arr.reshape(shape, order="F" if fortran else "C")


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The object a JSON node of `_encode` stands for."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        [(kind, body)] = node.items()
        if kind in ("dict", "odict") and isinstance(body, list) and all(
                isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int))
                and not isinstance(kv[0], bool) for kv in body):
            out = OrderedDict() if kind == "odict" else {}
            for key, value in body:
                out[key] = _decode(value, arrays)
            return out
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [_decode(v, arrays) for v in body]
            return tuple(items) if kind == "tuple" else items
        if kind in _ARRAY_KINDS and isinstance(body, str) and body in arrays:
            arr = arrays[body]
            if kind == "tensor":
                return Tensor(arr)
            if kind == "scalar" and arr.ndim == 0:
                return arr[()]
            if kind == "ndarray":
                return arr
    raise ValueError(f"unexpected entry {json.dumps(node)[:80]}")


# --- models -----------------------------------------------------------------------------------
def _describe(module: nn.Module) -> dict:
    """The architecture of a model of library layers as plain JSON (class, args, children)."""
    ids = [id(p) for _, p in module.named_parameters(remove_duplicate=False)]
    if len(set(ids)) != len(ids):
        raise ValueError("save: the model shares a parameter between layers, which an "
                         "architecture cannot record; save the weights with "
                         "tl.save(model.state_dict(), path) and rebuild the model in code")
    seen: set[int] = set()

    def describe(m: nn.Module | None, where: str) -> dict | None:
        if m is None:
            return None
        cls = type(m).__name__
        if getattr(nn, cls, None) is not type(m) or not (cls in _LAYERS or cls in _CONTAINERS):
            raise TypeError(f"save: {cls} (at {where or 'the top level'}) is not a "
                            "tinygrad_lite layer, so its architecture cannot be stored; save "
                            "the weights with tl.save(model.state_dict(), path) and rebuild "
                            "the model in code")
        if id(m) in seen:
            raise ValueError(f"save: the {cls} at {where} appears twice in the model, which "
                             "an architecture cannot record; save model.state_dict() instead")
        seen.add(id(m))
        node = {"class": cls, "training": m.training,
                "args": {name: _layer_arg(m, name) for name in _LAYERS.get(cls, ())}}
        if cls in _CONTAINERS:
            node["children"] = [[name, describe(child, f"{where}.{name}".lstrip("."))]
                                for name, child in m._modules.items()]
        return node

    return describe(module, "")


def _layer_arg(m: nn.Module, name: str) -> Any:
    """The constructor argument `name` of layer `m`, read from its attributes."""
    if name == "bias":  # NOTE: recurrent layers keep PyTorch's bool; the others a Parameter
        return m.bias if isinstance(m.bias, bool) else m.bias is not None
    if name == "dtype":  # NOTE: a norm layer without affine weights keeps it in its buffers
        floats = [t.dtype.name for t in (*m.parameters(), *m.buffers()) if t.dtype.kind == "f"]
        return floats[0] if floats else None
    return getattr(m, name)


def load_model(path: str | os.PathLike | BinaryIO) -> nn.Module:
    """Rebuild a model saved with `tl.save(model, path)` and load its weights.

    Examples
    --------
    >>> tl.save(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)), "mlp.npz")
    >>> model = tl.load_model("mlp.npz")
    """
    header, state, name = _read(path)
    if header.get("model") is None:
        raise ValueError(f"load_model: {name} holds a state dict, not a model; "
                         "build the model in code and call "
                         "model.load_state_dict(tl.load(path))")
    try:
        model = _build(header["model"])
        model.load_state_dict(state)
    except (TypeError, ValueError, KeyError, RuntimeError, RecursionError) as e:
        raise ValueError(f"load_model: {name} holds a damaged model: {e}") from e
    return model


def _build(node: Any) -> nn.Module | None:
    """The module an architecture node of `_describe` stands for (untrained weights)."""
    if node is None:
        return None
    cls, args = node["class"], node["args"]
    if cls in _CONTAINERS:
        module = getattr(nn, cls)()
        for name, child in node["children"]:
            module.add_module(name, _build(child))
    elif cls in _LAYERS and set(args) == set(_LAYERS[cls]):
        module = getattr(nn, cls)(**args)
    else:
        raise ValueError(f"unknown layer {cls!r} with arguments {sorted(args)}")
    module.training = bool(node["training"])
    return module
