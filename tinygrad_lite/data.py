"""Data sets and batching: the seeds' toy data, sklearn's digits, MNIST IDX files, a DataLoader.

Every random choice reads `tinygrad_lite.rng.generator()` at call time, so `tl.manual_seed`
reproduces the data as well as the model.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .rng import generator
from .rng import generator as _shared_generator  # NOTE: random_split's `generator` hides it
from .tensor import Tensor, tensor

__all__ = [
    "MNIST_MD5", "MNIST_URL", "ConcatDataset", "DataLoader", "Dataset", "Subset",
    "TensorDataset", "load_digits", "load_mnist", "random_split", "sine_data", "spiral_data",
    "train_test_split", "vertical_data",
]

# NOTE: yann.lecun.com now asks for a login; this is the mirror torchvision uses.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_IMAGES_MAGIC = 2051  # 0x0803: unsigned bytes, 3 dimensions (count, rows, cols)
_LABELS_MAGIC = 2049  # 0x0801: unsigned bytes, 1 dimension (count)
_CHUNK = 1 << 16
_TIMEOUT_S = 60


# ----------------------------------------------------------------------------- toy data sets

def _class_labels(samples: int, classes: int) -> np.ndarray:
    return np.repeat(np.arange(classes, dtype=np.int64), samples)


def spiral_data(samples: int, classes: int) -> tuple[Tensor, Tensor]:
    """Interleaved spirals, one arm per class (the nnfs / cs231n data set).

    Linear models cannot separate the arms, which is why the seeds use it to show what a
    hidden layer buys.

    Parameters
    ----------
    samples : points per class; the radius runs from 0 to 1 along each arm.
    classes : number of arms.

    Returns
    -------
    X : float32 (samples * classes, 2); y : int64 (samples * classes,), class blocks in order.

    Example
    -------
    >>> X, y = spiral_data(100, 3)   # X.shape == (300, 2)
    """
    y = _class_labels(samples, classes)
    r = np.tile(np.linspace(0.0, 1.0, samples), classes)
    t = np.concatenate([np.linspace(c * 4, (c + 1) * 4, samples) for c in range(classes)])
    t = t + generator().standard_normal(samples * classes) * 0.2
    X = np.stack([r * np.sin(t * 2.5), r * np.cos(t * 2.5)], axis=1)
    return tensor(X.astype(np.float32)), tensor(y)


def vertical_data(samples: int, classes: int) -> tuple[Tensor, Tensor]:
    """Vertical stripes of points around x = class / 3, y = 0.5 (nnfs's easy data set).

    Linearly separable, so even random search over weights finds a decent model.

    Returns
    -------
    X : float32 (samples * classes, 2); y : int64 (samples * classes,), class blocks in order.
    """
    y = _class_labels(samples, classes)
    noise = generator().standard_normal((samples * classes, 2)) * 0.1
    X = noise + np.stack([y / 3, np.full(y.shape, 0.5)], axis=1)
    return tensor(X.astype(np.float32)), tensor(y)


def sine_data(samples: int = 1000) -> tuple[Tensor, Tensor]:
    """One period of a sine wave on a regular grid, the seeds' regression example.

    Deterministic (as in nnfs): nothing here needs randomness.

    Returns
    -------
    X : float32 (samples, 1), evenly spaced in [0, 1); y : float32 (samples, 1) = sin(2 pi X).
    """
    X = (np.arange(samples, dtype=np.float64) / samples).reshape(-1, 1)
    y = np.sin(2 * np.pi * X)
    return tensor(X.astype(np.float32)), tensor(y.astype(np.float32))


def load_digits() -> tuple[Tensor, Tensor]:
    """sklearn's 1,797 real 8x8 handwritten digits: MNIST in miniature, with no download.

    Returns
    -------
    X : float32 (1797, 64) in [0, 1] (pixel counts 0..16 divided by 16); y : int64 (1797,).
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as err:
        raise ImportError(
            'load_digits needs scikit-learn: pip install "tinygrad-lite[digits]"'
        ) from err
    X, y = sklearn_load_digits(return_X_y=True)
    return tensor((X / 16).astype(np.float32)), tensor(y.astype(np.int64))


def _as_array(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def train_test_split(
    X: Tensor | np.ndarray, y: Tensor | np.ndarray, test_fraction: float = 0.2,
    seed: int | None = 0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Shuffle the rows once and split off `ceil(test_fraction * N)` of them for testing.

    A fixed default seed keeps the test set the same across runs, so scores compare.
    `seed=None` draws from the shared generator instead.

    Returns
    -------
    X_train, X_test, y_train, y_test (the order sklearn uses).

    Example
    -------
    >>> X_tr, X_te, y_tr, y_te = train_test_split(*load_digits(), test_fraction=0.25)
    """
    X, y = _as_array(X), _as_array(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = generator() if seed is None else np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = math.ceil(test_fraction * len(X))
    test, train = order[:n_test], order[n_test:]
    return tensor(X[train]), tensor(X[test]), tensor(y[train]), tensor(y[test])


# ----------------------------------------------------------------------------- MNIST

def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file (raw or .gz) of unsigned bytes, checking its header against its size."""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{path}: not a valid, complete gzip file ({err})") from err
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        found = int.from_bytes(data[:4], "big") if len(data) >= 4 else "none (file too short)"
        kind = "images" if magic == _IMAGES_MAGIC else "labels"
        raise ValueError(f"{path}: magic number {found}, expected {magic} (IDX {kind} file)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise ValueError(
            f"{path}: {len(data)} bytes of data, but its header says dims {dims}, which is "
            f"{expected} bytes; the file is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_from(url: str, part: Path) -> tuple[Any, int]:
    """Open `url`, asking only for the bytes after `part` when a partial download exists."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=_TIMEOUT_S), offset
    except urllib.error.URLError as err:
        if getattr(err, "code", None) == 416 and offset:
            # NOTE: 416 means the .part is as long as the file or longer: start over.
            part.unlink()
            return _open_from(url, part)
        raise OSError(f"could not download {url}: {err}") from err


def _download(url: str, dest: Path, md5: str) -> None:
    """Fetch `url` to `dest` through `dest.part`, resuming a partial file, then check its md5.

    A `.part` left by an interrupted run (a network error or Ctrl-C mid-transfer) is continued
    with an HTTP Range request; a server that ignores Range (status 200) gets a fresh start.
    A short or corrupt result is deleted, so the next call starts clean instead of failing on
    the same bytes again.
    """
    part = dest.with_name(dest.name + ".part")
    response, offset = _open_from(url, part)
    with response:
        if response.status != 206:
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(part, "ab" if offset else "wb") as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, desc=dest.name
        ) as bar:
            for block in iter(lambda: response.read(_CHUNK), b""):
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        part.unlink()
        raise ValueError(
            f"download of {url} is truncated: got {size} of {total} bytes; "
            "the partial file was deleted, call again to retry"
        )
    actual = _md5(part)
    if actual != md5:
        part.unlink()
        raise ValueError(
            f"download of {url} is corrupt: md5 {actual}, expected {md5}; "
            "the file was deleted, call again to retry"
        )
    part.replace(dest)


def _find_or_fetch(root: Path, name: str, download: bool, url: str,
                   md5s: Mapping[str, str]) -> Path:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.exists():
            return candidate
    gz = f"{name}.gz"
    source = url.rstrip("/") + "/" + gz
    if not download:
        raise FileNotFoundError(
            f"MNIST file {name!r} not found in {root} (looked for {name} and {gz}). "
            "Pass download=True to load_mnist to fetch it, "
            f"or download {source} into {root} yourself."
        )
    if gz not in md5s:
        raise ValueError(f"no md5 checksum for {gz}; add it to md5s to download it")
    root.mkdir(parents=True, exist_ok=True)
    _download(source, root / gz, md5s[gz])
    return root / gz


def load_mnist(
    root: str | os.PathLike[str], train: bool = True, download: bool = False,
    url: str | None = None, md5s: Mapping[str, str] | None = None,
) -> tuple[Tensor, Tensor]:
    """Load MNIST from the standard IDX files in `root` (raw or gzipped).

    Parameters
    ----------
    root : folder holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
        `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each optionally with `.gz`).
    train : the 60,000 training images if True, else the 10,000 test images.
    download : fetch the split's missing `.gz` files (resumable, md5-checked).
    url : base URL to fetch from; default `$TINYGRAD_LITE_MNIST_URL`, else `MNIST_URL`.
    md5s : file name -> md5 of the `.gz` files; default `MNIST_MD5`.

    Returns
    -------
    X : float32 (N, 784) in [0, 1]; y : int64 (N,).

    Example
    -------
    >>> X, y = load_mnist("~/data/mnist", download=True)   # X.shape == (60000, 784)
    """
    root = Path(root).expanduser()
    url = url or os.environ.get("TINYGRAD_LITE_MNIST_URL") or MNIST_URL
    md5s = MNIST_MD5 if md5s is None else md5s
    prefix = "train" if train else "t10k"
    image_path = _find_or_fetch(root, f"{prefix}-images-idx3-ubyte", download, url, md5s)
    label_path = _find_or_fetch(root, f"{prefix}-labels-idx1-ubyte", download, url, md5s)
    images = _read_idx(image_path, _IMAGES_MAGIC)
    labels = _read_idx(label_path, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels"
        )
    X = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    return tensor(X), tensor(labels.astype(np.int64))


# ----------------------------------------------------------------------------- batching

class Dataset:
    """What a map-style dataset is, as in PyTorch: `__getitem__(i)` and `__len__()`.

    Subclassing it is optional (the DataLoader takes any object with both), but gives
    `a + b`, a ConcatDataset.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Any) -> "ConcatDataset":
        return ConcatDataset([self, other])


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Any) -> None:
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[np.asarray(self.indices)[np.asarray(index)]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.ends = np.cumsum([len(d) for d in self.datasets])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index out of range for {len(self)} items")
        which = int(np.searchsorted(self.ends, index, side="right"))
        start = int(self.ends[which - 1]) if which else 0
        return self.datasets[which][index - start]

    def __len__(self) -> int:
        return int(self.ends[-1])


def random_split(dataset: Any, lengths: Any, generator: Any = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random Subsets of the given lengths, or of the
    given fractions of its length (what rounding leaves over goes round-robin, as in
    PyTorch). The permutation comes from `generator` (a numpy Generator) or the shared one
    that `tl.manual_seed` seeds."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(x, int) for x in lengths):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} do not add up to the "
                         f"dataset's {n} items")
    order = (generator or _shared_generator()).permutation(n)
    ends = np.cumsum(lengths)
    return [Subset(dataset, order[end - size:end]) for size, end in zip(lengths, ends)]


class TensorDataset(Dataset):
    """Rows of several same-length tensors, taken together: `ds[i] == (X[i], y[i])`.

    The DataLoader gathers a whole batch from it with one fancy-index per tensor, instead of
    stacking rows one at a time.

    Example
    -------
    >>> ds = TensorDataset(*spiral_data(100, 3)); len(ds)
    300
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        lengths = [t.shape[0] for t in self.tensors]
        if len(set(lengths)) != 1:
            raise ValueError(f"all tensors need the same first dimension, got {lengths}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


def _collate(items: list[Any]) -> tuple[Tensor, ...]:
    """Stack a list of samples (tuples of arrays, Tensors or scalars) field by field."""
    rows = [tuple(item) if isinstance(item, (tuple, list)) else (item,) for item in items]
    return tuple(tensor(np.stack([_as_array(x) for x in field])) for field in zip(*rows))


class DataLoader:
    """Iterate over a dataset in mini-batches, each a tuple of Tensors.

    Parameters
    ----------
    dataset : a TensorDataset, or any object with `__len__` and `__getitem__` returning a
        tuple of arrays / Tensors / scalars (its items are stacked into a batch).
    batch_size : rows per batch; the last batch is smaller unless `drop_last`.
    shuffle : draw a fresh permutation every epoch.
    drop_last : skip the final partial batch, so every batch has `batch_size` rows.
    seed : shuffle with a private `np.random.default_rng(seed)` (same order sequence on every
        run); without it the shared generator is used, so `tl.manual_seed` governs it.
    collate_fn : makes a batch from a list of items (default: stack them field by field).
    num_workers, pin_memory : accepted so PyTorch code runs unchanged; batches are always
        made in this process (numpy gathers a batch in microseconds).

    Example
    -------
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 collate_fn: Any = None, num_workers: int = 0,
                 pin_memory: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.collate_fn = collate_fn or _collate

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n = len(self.dataset)
        if self.shuffle:
            order = (generator() if self._rng is None else self._rng).permutation(n)
        else:
            order = np.arange(n)
        for b in range(len(self)):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]
            if isinstance(self.dataset, TensorDataset) and self.collate_fn is _collate:
                yield self.dataset[index]
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in index])
