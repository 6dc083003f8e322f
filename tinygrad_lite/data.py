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
    "MNIST_MD5", "MNIST_URL", "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader",
    "Dataset", "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate",
    "default_convert", "load_digits", "load_mnist", "random_split", "sine_data", "spiral_data",
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
    `a + b`, a ConcatDataset. It defines no `__len__`, as in PyTorch, so `len()` of a
    dataset (or of a DataLoader over a stream) without one raises TypeError.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Any) -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of items, as in PyTorch: `__iter__` yields them (a generator, a file read
    line by line); the DataLoader batches them in order. `a + b` chains two streams."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Any) -> "ChainDataset":
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets, one after another."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for dataset in self.datasets:
            yield from dataset

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


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
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index out of range for {len(self)} items")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]


def _numpy_rng(gen: Any) -> np.random.Generator:
    """The numpy Generator to draw from: `gen` itself, a `tl.Generator`'s (what PyTorch code
    passes as generator=), or the shared one that `tl.manual_seed` seeds for None."""
    return gen if isinstance(gen, np.random.Generator) else _shared_generator(gen)


def random_split(dataset: Any, lengths: Any, generator: Any = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random Subsets of the given lengths, or of the
    given fractions of its length (what rounding leaves over goes round-robin, as in
    PyTorch). The permutation comes from `generator` (a tl.Generator or numpy Generator) or
    the shared one that `tl.manual_seed` seeds."""
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
    order = _numpy_rng(generator).permutation(n)
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


def _numeric_numpy(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind not in "SUO"


def default_collate(batch: list[Any]) -> Any:
    """Merge a list of samples into a batch as PyTorch's default_collate does.

    Tensors, numpy arrays and numpy scalars are stacked (their dtype kept); Python floats
    become a float64 tensor, ints an int64 one and bools a bool one; strings stay a list;
    dicts, named tuples, tuples and lists are collated field by field (a named tuple stays
    one; a tuple becomes a list, as in PyTorch, so `xb, yb = batch` and `batch[0] = ...` both
    work).

    Examples
    --------
    >>> default_collate([(tl.ones(2), 0), (tl.zeros(2), 1)])
    [tensor([[1., 1.],
            [0., 0.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor) or _numeric_numpy(elem):
        return tensor(np.stack([_as_array(x) for x in batch]))
    if isinstance(elem, float):
        return tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return tensor(np.array(batch, dtype=bool if isinstance(elem, bool) else np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([item[key] for item in batch]) for key in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(item) != len(elem) for item in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return type(elem)(*fields) if hasattr(elem, "_fields") else fields
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"strings, dicts or lists; found {type(elem).__name__}")


def default_convert(data: Any) -> Any:
    """What an unbatched DataLoader (batch_size=None) yields: `data` with its numpy arrays
    and scalars (also inside dicts, tuples and lists) made Tensors, as in PyTorch."""
    if _numeric_numpy(data):
        return tensor(data)
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(x) for x in data))
    if isinstance(data, (tuple, list)):  # NOTE: a tuple becomes a list, as in PyTorch
        return [default_convert(x) for x in data]
    return data


class Sampler:
    """What yields dataset indices, as in PyTorch: `__iter__` and (usually) `__len__`."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a fresh random order each epoch, or `num_samples` drawn with
    `replacement`; `generator` is a tl.Generator or numpy Generator (default: the shared one
    that `tl.manual_seed` seeds)."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not (isinstance(self.num_samples, int) and self.num_samples > 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), _numpy_rng(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        rounds = -(-self.num_samples // n)  # NOTE: more samples than items: whole permutations
        order = np.concatenate([rng.permutation(n) for _ in range(rounds)])
        return iter(order[:self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given `indices` in a fresh random order each epoch."""

    def __init__(self, indices: Any, generator: Any = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[Any]:
        order = _numpy_rng(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices in [0, len(weights)), drawn with probability proportional to
    `weights` (e.g. to rebalance classes), with replacement unless told otherwise."""

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        if not (isinstance(num_samples, int) and num_samples > 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        self.weights = np.asarray(_as_array(weights), dtype=np.float64)
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = _numpy_rng(self.generator)
        return iter(rng.choice(len(self.weights), self.num_samples, replace=self.replacement,
                               p=self.weights / self.weights.sum()).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of `sampler` into lists of `batch_size` (the last one shorter,
    unless `drop_last`)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if not (isinstance(batch_size, int) and not isinstance(batch_size, bool)
                and batch_size > 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DataLoader:
    """Iterate over a dataset in mini-batches, each a list of Tensors (as in PyTorch).

    Parameters
    ----------
    dataset : a TensorDataset, or any object with `__len__` and `__getitem__` returning a
        tuple of arrays / Tensors / scalars (its items are stacked into a batch).
    batch_size : rows per batch; the last batch is smaller unless `drop_last`. None yields
        the items one by one, unbatched (numpy arrays made Tensors), as in PyTorch.
    shuffle : draw a fresh permutation every epoch.
    sampler : yields the indices to load instead (e.g. a WeightedRandomSampler); not with
        `shuffle`.
    batch_sampler : yields whole lists of indices; not with batch_size, shuffle, sampler
        or drop_last.
    drop_last : skip the final partial batch, so every batch has `batch_size` rows.
    seed : shuffle with a private `np.random.default_rng(seed)` (same order sequence on every
        run); without it the shared generator is used, so `tl.manual_seed` governs it.
    collate_fn : makes a batch from a list of items (default: `default_collate`, which
        stacks them field by field; with batch_size=None it gets one item at a time).
    generator : a tl.Generator or numpy Generator to shuffle with (overrides `seed`).
    num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
    prefetch_factor, persistent_workers, pin_memory_device, in_order :
        accepted so PyTorch code runs unchanged; batches are always made in this process,
        in order (numpy gathers a batch in microseconds).

    Example
    -------
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 collate_fn: Any = None, num_workers: int = 0,
                 pin_memory: bool = False, *, sampler: Any = None, batch_sampler: Any = None,
                 generator: Any = None, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        stream = isinstance(dataset, IterableDataset)  # NOTE: no indices: read in order
        for name, value in (("shuffle", shuffle), ("sampler", sampler),
                            ("batch_sampler", batch_sampler)):
            if stream and value:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"{name} option, but got {name}={value!r}")
        if generator is None and seed is not None:
            generator = np.random.default_rng(seed)
        if sampler is None and not stream:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_sampler is None and batch_size is not None and not stream:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        batching = batch_size is not None or batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if batching else default_convert)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):  # NOTE: in batches, as PyTorch counts
            n, size = len(self.dataset), self.batch_size or 1
            return n // size if self.drop_last else -(-n // size)
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            yield from self._batches_of_stream()
            return
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for indices in self.batch_sampler:
            if fast:  # one fancy-index per tensor instead of stacking rows
                # NOTE: a list, as default_collate makes of a tuple (batch[0] = ... works)
                yield list(self.dataset[np.asarray(indices, dtype=np.int64)])
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _batches_of_stream(self) -> Iterator[Any]:
        """An IterableDataset's items in order, `batch_size` at a time (one by one with
        batch_size=None)."""
        if self.batch_size is None:
            for item in self.dataset:
                yield self.collate_fn(item)
            return
        batch: list = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)
