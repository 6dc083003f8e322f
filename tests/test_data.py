"""Tests for tinygrad_lite.data: toy data sets, IDX/MNIST loading and download, DataLoader."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data
from tinygrad_lite.data import DataLoader, TensorDataset

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def _np(t: tl.Tensor) -> np.ndarray:
    return t.numpy()


# ----------------------------------------------------------------------------- toy data sets

@pytest.mark.parametrize("make", [data.spiral_data, data.vertical_data])
def test_classification_data_shapes_dtypes_and_ordered_balanced_labels(make):
    X, y = make(50, 4)
    assert isinstance(X, tl.Tensor) and isinstance(y, tl.Tensor)
    assert X.shape == (200, 2) and _np(X).dtype == np.float32
    assert y.shape == (200,) and _np(y).dtype == np.int64
    np.testing.assert_array_equal(_np(y), np.repeat(np.arange(4), 50))


@pytest.mark.parametrize("make", [data.spiral_data, data.vertical_data])
def test_classification_data_reproducible_under_manual_seed(make):
    tl.manual_seed(123)
    X1, y1 = make(30, 3)
    tl.manual_seed(123)
    X2, y2 = make(30, 3)
    tl.manual_seed(124)
    X3, _ = make(30, 3)
    np.testing.assert_array_equal(_np(X1), _np(X2))
    np.testing.assert_array_equal(_np(y1), _np(y2))
    assert not np.allclose(_np(X1), _np(X3))


def test_spiral_data_radius_runs_zero_to_one_along_each_arm():
    X, _ = data.spiral_data(40, 3)
    radius = np.hypot(_np(X)[:, 0], _np(X)[:, 1])
    np.testing.assert_allclose(radius, np.tile(np.linspace(0, 1, 40), 3), atol=1e-6)


def test_spiral_data_angle_is_class_offset_plus_small_noise():
    samples = 400
    X, y = data.spiral_data(samples, 2)
    angle = np.arctan2(_np(X)[:, 0], _np(X)[:, 1])
    expected = 2.5 * (_np(y) * 4 + np.tile(np.linspace(0, 4, samples), 2))
    # NOTE: compare on the unit circle, since the angle wraps; skip r == 0 where it is undefined
    diff = np.angle(np.exp(1j * (angle - expected)))[np.tile(np.arange(samples) > 0, 2)]
    assert 0.3 < diff.std() < 0.7  # noise 0.2 on t, scaled by 2.5


def test_vertical_data_clusters_sit_at_class_thirds():
    X, y = data.vertical_data(500, 3)
    for c in range(3):
        centre = _np(X)[_np(y) == c].mean(axis=0)
        np.testing.assert_allclose(centre, [c / 3, 0.5], atol=0.03)


def test_sine_data_is_one_period_of_sine_on_unit_interval():
    X, y = data.sine_data(200)
    assert X.shape == (200, 1) and y.shape == (200, 1)
    assert _np(X).dtype == np.float32 and _np(y).dtype == np.float32
    assert _np(X).min() == 0 and _np(X).max() < 1
    assert np.all(np.diff(_np(X)[:, 0]) > 0)
    np.testing.assert_allclose(_np(y), np.sin(2 * np.pi * _np(X)), atol=1e-6)
    assert data.sine_data()[0].shape == (1000, 1)


def test_load_digits_shapes_dtypes_and_range():
    pytest.importorskip("sklearn")
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and _np(X).dtype == np.float32
    assert y.shape == (1797,) and _np(y).dtype == np.int64
    assert _np(X).min() == 0 and _np(X).max() == 1
    np.testing.assert_array_equal(np.unique(_np(y)), np.arange(10))


def test_load_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-lite\[digits\]"'):
        data.load_digits()


def test_train_test_split_partitions_rows_and_keeps_pairs():
    X = np.arange(50, dtype=np.float32).reshape(50, 1) * 10
    y = np.arange(50, dtype=np.int64)
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, tl.tensor(y), test_fraction=0.2, seed=3)
    assert X_tr.shape == (40, 1) and X_te.shape == (10, 1) and y_te.shape == (10,)
    np.testing.assert_array_equal(np.sort(np.concatenate([_np(y_tr), _np(y_te)])), y)
    np.testing.assert_array_equal(_np(X_tr)[:, 0], _np(y_tr) * 10)
    np.testing.assert_array_equal(_np(X_te)[:, 0], _np(y_te) * 10)
    again = data.train_test_split(X, y, test_fraction=0.2, seed=3)[3]
    other = data.train_test_split(X, y, test_fraction=0.2, seed=4)[3]
    np.testing.assert_array_equal(_np(again), _np(y_te))
    assert not np.array_equal(_np(other), _np(y_te))


def test_train_test_split_rejects_bad_fraction_and_mismatched_lengths():
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(np.zeros((4, 2)), np.zeros(4), test_fraction=1.0)
    with pytest.raises(ValueError, match="rows"):
        data.train_test_split(np.zeros((4, 2)), np.zeros(5))


# ----------------------------------------------------------------------------- IDX files

def _idx(magic: int, array: np.ndarray) -> bytes:
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def _fake_mnist(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


def _split_files(n: int, prefix: str = "train", seed: int = 0) -> dict[str, bytes]:
    images, labels = _fake_mnist(n, seed)
    return {f"{prefix}-images-idx3-ubyte": _idx(2051, images),
            f"{prefix}-labels-idx1-ubyte": _idx(2049, labels)}


def _write(root: Path, files: dict[str, bytes], gz: bool = False) -> None:
    for name, blob in files.items():
        if gz:
            (root / f"{name}.gz").write_bytes(gzip.compress(blob, mtime=0))
        else:
            (root / name).write_bytes(blob)


def _assert_matches_fake(X: tl.Tensor, y: tl.Tensor, n: int, seed: int = 0) -> None:
    images, labels = _fake_mnist(n, seed)
    assert X.shape == (n, 784) and _np(X).dtype == np.float32
    assert y.shape == (n,) and _np(y).dtype == np.int64
    np.testing.assert_allclose(_np(X), images.reshape(n, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(_np(y), labels)


def test_load_mnist_reads_raw_idx_files(tmp_path):
    _write(tmp_path, _split_files(5))
    X, y = data.load_mnist(tmp_path)
    _assert_matches_fake(X, y, 5)
    assert 0 <= _np(X).min() and _np(X).max() <= 1


def test_load_mnist_reads_gzipped_test_split(tmp_path):
    _write(tmp_path, _split_files(7, "t10k", seed=1), gz=True)
    X, y = data.load_mnist(str(tmp_path), train=False)
    _assert_matches_fake(X, y, 7, seed=1)


def test_load_mnist_bad_magic_names_file_and_numbers(tmp_path):
    files = _split_files(3)
    files[IMAGES] = files[LABELS]
    _write(tmp_path, files)
    with pytest.raises(ValueError, match=rf"{IMAGES}.*magic number 2049, expected 2051"):
        data.load_mnist(tmp_path)


def test_load_mnist_truncated_file_is_refused(tmp_path):
    files = _split_files(3)
    files[IMAGES] = files[IMAGES][:-10]
    _write(tmp_path, files)
    with pytest.raises(ValueError, match=rf"{IMAGES}.*truncated"):
        data.load_mnist(tmp_path)


def test_load_mnist_truncated_gzip_is_refused(tmp_path):
    _write(tmp_path, _split_files(3), gz=True)
    path = tmp_path / f"{LABELS}.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(ValueError, match=rf"{LABELS}\.gz.*gzip"):
        data.load_mnist(tmp_path)


def test_load_mnist_image_and_label_counts_must_agree(tmp_path):
    files = _split_files(4)
    files[LABELS] = _split_files(3)[LABELS]
    _write(tmp_path, files)
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        data.load_mnist(tmp_path)


def test_load_mnist_missing_file_names_it_and_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"{IMAGES}.*download=True"):
        data.load_mnist(tmp_path)
    _write(tmp_path, {IMAGES: _split_files(2)[IMAGES]})
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path)
    assert LABELS in str(info.value) and IMAGES not in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_mnist_md5_table_lists_the_four_gz_files():
    names = {f"{n}.gz" for n in (IMAGES, LABELS, TEST_IMAGES, TEST_LABELS)}
    assert set(data.MNIST_MD5) == names
    assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in data.MNIST_MD5.values())


# ----------------------------------------------------------------------------- download

class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files`, honours Range, and misbehaves as `server.mode` asks."""

    timeout = 5

    def do_GET(self) -> None:
        server = self.server
        blob = server.files.get(self.path.lstrip("/"))
        asked = self.headers.get("Range")
        record = {"path": self.path.lstrip("/"), "range": asked, "sent": 0}
        server.requests.append(record)
        if blob is None:
            self.send_error(404)
            return
        if server.mode == "corrupt":
            blob = bytes(b ^ 0xFF for b in blob)
        start = 0
        if asked and server.mode != "ignore_range":
            start = int(asked.removeprefix("bytes=").rstrip("-"))
            if start >= len(blob):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
        else:
            self.send_response(200)
        body = blob[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.mode == "truncate":
            body = body[:len(body) // 2]
        self.wfile.write(body)
        record["sent"] = len(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def mnist_server(monkeypatch):
    """A local HTTP server with gzipped fake MNIST files, their md5s and its base URL."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("TINYGRAD_LITE_MNIST_URL", raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    raw = {**_split_files(6), **_split_files(4, "t10k", seed=1)}
    server.files = {f"{name}.gz": gzip.compress(blob, mtime=0) for name, blob in raw.items()}
    server.md5s = {name: hashlib.md5(blob).hexdigest() for name, blob in server.files.items()}
    server.mode = "ok"
    server.requests = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _load(server, root: Path, **kwargs):
    return data.load_mnist(root, download=True, url=server.url, md5s=server.md5s, **kwargs)


def test_download_fetches_split_checks_md5_and_leaves_no_part_files(mnist_server, tmp_path):
    root = tmp_path / "new" / "mnist"
    X, y = _load(mnist_server, root, train=False)
    _assert_matches_fake(X, y, 4, seed=1)
    assert sorted(p.name for p in root.iterdir()) == [f"{TEST_IMAGES}.gz", f"{TEST_LABELS}.gz"]
    for path in root.iterdir():
        assert path.read_bytes() == mnist_server.files[path.name]
    assert [r["range"] for r in mnist_server.requests] == [None, None]


def test_download_skips_files_already_present(mnist_server, tmp_path):
    _load(mnist_server, tmp_path)
    fetched = len(mnist_server.requests)
    X, y = _load(mnist_server, tmp_path)
    assert fetched == 2 and len(mnist_server.requests) == fetched
    _assert_matches_fake(X, y, 6)


def test_download_url_comes_from_environment(mnist_server, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LITE_MNIST_URL", mnist_server.url)
    X, y = data.load_mnist(tmp_path, download=True, md5s=mnist_server.md5s)
    _assert_matches_fake(X, y, 6)


def test_download_resumes_partial_file_with_range_request(mnist_server, tmp_path):
    name = f"{IMAGES}.gz"
    blob = mnist_server.files[name]
    (tmp_path / f"{name}.part").write_bytes(blob[:1000])
    X, y = _load(mnist_server, tmp_path)
    _assert_matches_fake(X, y, 6)
    (record,) = [r for r in mnist_server.requests if r["path"] == name]
    assert record["range"] == "bytes=1000-" and record["sent"] == len(blob) - 1000
    assert (tmp_path / name).read_bytes() == blob
    assert not (tmp_path / f"{name}.part").exists()


def test_download_restarts_when_server_ignores_range(mnist_server, tmp_path):
    mnist_server.mode = "ignore_range"
    name = f"{IMAGES}.gz"
    (tmp_path / f"{name}.part").write_bytes(b"stale bytes from another file")
    X, y = _load(mnist_server, tmp_path)
    _assert_matches_fake(X, y, 6)
    assert (tmp_path / name).read_bytes() == mnist_server.files[name]


def test_download_restarts_when_part_file_is_already_full_length(mnist_server, tmp_path):
    name = f"{LABELS}.gz"
    (tmp_path / f"{name}.part").write_bytes(mnist_server.files[name])
    X, y = _load(mnist_server, tmp_path)
    _assert_matches_fake(X, y, 6)
    ranges = [r["range"] for r in mnist_server.requests if r["path"] == name]
    assert ranges == [f"bytes={len(mnist_server.files[name])}-", None]


def test_truncated_download_is_deleted_with_clear_error(mnist_server, tmp_path):
    mnist_server.mode = "truncate"
    with pytest.raises(ValueError, match=rf"{IMAGES}\.gz is truncated: got \d+ of \d+ bytes"):
        _load(mnist_server, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_download_fails_md5_and_is_deleted(mnist_server, tmp_path):
    mnist_server.mode = "corrupt"
    with pytest.raises(ValueError, match=rf"{IMAGES}\.gz is corrupt: md5"):
        _load(mnist_server, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_md5_table_mismatch_is_refused(mnist_server, tmp_path):
    md5s = {**mnist_server.md5s, f"{IMAGES}.gz": "0" * 32}
    with pytest.raises(ValueError, match="corrupt"):
        data.load_mnist(tmp_path, download=True, url=mnist_server.url, md5s=md5s)
    assert list(tmp_path.iterdir()) == []


def test_download_http_error_names_the_url(mnist_server, tmp_path):
    mnist_server.files.pop(f"{IMAGES}.gz")
    with pytest.raises(OSError, match=rf"could not download {mnist_server.url}{IMAGES}\.gz"):
        _load(mnist_server, tmp_path)


# ----------------------------------------------------------------------------- DataLoader

def _indexed_dataset(n: int) -> TensorDataset:
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return TensorDataset(tl.tensor(X), tl.tensor(np.arange(n, dtype=np.int64)))


def _epoch(loader: DataLoader) -> np.ndarray:
    return np.concatenate([_np(yb) for _, yb in loader])


@pytest.mark.parametrize("drop_last, sizes", [(False, [3, 3, 3, 1]), (True, [3, 3, 3])])
def test_dataloader_batch_count_and_sizes(drop_last, sizes):
    loader = DataLoader(_indexed_dataset(10), batch_size=3, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [xb.shape for xb, _ in batches] == [(s, 2) for s in sizes]
    assert [yb.shape for _, yb in batches] == [(s,) for s in sizes]


def test_dataloader_without_shuffle_keeps_order_and_pairs():
    loader = DataLoader(_indexed_dataset(7), batch_size=4)
    np.testing.assert_array_equal(_epoch(loader), np.arange(7))
    for xb, yb in loader:
        np.testing.assert_array_equal(_np(xb)[:, 0], _np(yb) * 2)


def test_dataloader_shuffle_visits_every_index_once_per_epoch_in_new_order():
    loader = DataLoader(_indexed_dataset(23), batch_size=5, shuffle=True)
    first, second = _epoch(loader), _epoch(loader)
    np.testing.assert_array_equal(np.sort(first), np.arange(23))
    np.testing.assert_array_equal(np.sort(second), np.arange(23))
    assert not np.array_equal(first, second)
    for xb, yb in loader:
        np.testing.assert_array_equal(_np(xb)[:, 0], _np(yb) * 2)


def test_dataloader_seed_reproduces_the_epoch_sequence():
    a = DataLoader(_indexed_dataset(20), batch_size=4, shuffle=True, seed=7)
    b = DataLoader(_indexed_dataset(20), batch_size=4, shuffle=True, seed=7)
    c = DataLoader(_indexed_dataset(20), batch_size=4, shuffle=True, seed=8)
    epochs_a = [_epoch(a), _epoch(a)]
    np.testing.assert_array_equal(np.stack(epochs_a), np.stack([_epoch(b), _epoch(b)]))
    assert not np.array_equal(epochs_a[0], _epoch(c))


def test_dataloader_without_seed_follows_manual_seed():
    loader = DataLoader(_indexed_dataset(20), batch_size=4, shuffle=True)
    tl.manual_seed(5)
    first = _epoch(loader)
    tl.manual_seed(5)
    np.testing.assert_array_equal(_epoch(loader), first)


def test_dataloader_gathers_tensor_dataset_batches_with_one_index_each():
    class CountingDataset(TensorDataset):
        def __init__(self, *tensors):
            super().__init__(*tensors)
            self.calls = []

        def __getitem__(self, index):
            self.calls.append(index)
            return super().__getitem__(index)

    ds = CountingDataset(*_indexed_dataset(10).tensors)
    list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert len(ds.calls) == 3
    assert all(isinstance(i, np.ndarray) for i in ds.calls)


def test_dataloader_stacks_items_of_a_generic_dataset():
    class Pairs:
        def __len__(self):
            return 9

        def __getitem__(self, i):
            return np.array([2 * i, 2 * i + 1], dtype=np.float32), i

    fast = list(DataLoader(_indexed_dataset(9), batch_size=4, shuffle=True, seed=1))
    slow = list(DataLoader(Pairs(), batch_size=4, shuffle=True, seed=1))
    assert len(slow) == 3
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert isinstance(xs, tl.Tensor) and _np(xs).dtype == np.float32
        np.testing.assert_array_equal(_np(xs), _np(xf))
        np.testing.assert_array_equal(_np(ys), _np(yf))


def test_tensor_dataset_rows_and_length_check():
    ds = _indexed_dataset(5)
    x, y = ds[3]
    assert len(ds) == 5
    np.testing.assert_array_equal(_np(x), [6, 7])
    assert int(_np(y)) == 3
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(tl.tensor(np.zeros((3, 2))), tl.tensor(np.zeros(4)))


def test_random_split_takes_lengths_or_fractions_and_partitions_the_items():
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    tl.manual_seed(0)
    parts = data.random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    seen = sorted(int(p[i][1].item()) for p in parts for i in range(len(p)))
    assert seen == list(range(10))
    assert [len(p) for p in data.random_split(ds, [0.34, 0.33, 0.33])] == [4, 3, 3]
    a, b = data.random_split(ds, [7, 3], generator=np.random.default_rng(1))
    a2, _ = data.random_split(ds, [7, 3], generator=np.random.default_rng(1))
    assert a.indices == a2.indices and len(b) == 3
    with pytest.raises(ValueError, match="do not add up to the dataset's 10 items"):
        data.random_split(ds, [5, 4])


def test_subset_and_concat_dataset_index_like_torch():
    first = TensorDataset(np.arange(3.0))
    second = TensorDataset(np.arange(10.0, 14.0))
    both = first + second
    assert isinstance(both, data.ConcatDataset) and len(both) == 7
    assert [both[i][0].item() for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert both[-1][0].item() == 13
    with pytest.raises(IndexError, match="out of range for 7 items"):
        both[7]
    sub = data.Subset(both, [6, 0, 3])
    assert [sub[i][0].item() for i in range(3)] == [13, 0, 10]
    batches = list(DataLoader(sub, batch_size=2))
    np.testing.assert_array_equal(batches[0][0].numpy(), [13.0, 0.0])


def test_dataloader_takes_a_collate_fn_and_torchs_worker_options():
    ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.arange(3))
    loader = DataLoader(ds, batch_size=2, num_workers=2, pin_memory=True,
                        collate_fn=lambda items: len(items))
    assert list(loader) == [2, 1]


def test_dataloader_stacks_list_items_field_by_field_like_torch():
    items = [[np.ones(2) * i, i] for i in range(4)]
    x, y = next(iter(DataLoader(items, batch_size=4)))
    assert x.shape == (4, 2) and y.shape == (4,)


def test_pytorchs_import_path_torch_utils_data_carries_over():
    """`from torch.utils.data import DataLoader` becomes `from tinygrad_lite.utils.data ...`:
    the same classes as tinygrad_lite.data, not copies."""
    from tinygrad_lite.utils.data import DataLoader, TensorDataset, random_split

    assert DataLoader is tl.data.DataLoader and TensorDataset is tl.data.TensorDataset
    assert random_split is tl.utils.data.random_split is tl.data.random_split
    assert sorted(tl.utils.data.__all__) == sorted(tl.data.__all__)


def test_an_iterable_dataset_streams_through_the_dataloader_in_order():
    """PyTorch's IterableDataset: the loader batches what `__iter__` yields, keeps the last
    partial batch unless drop_last, chains with `+`, and refuses shuffle or a sampler."""
    from tinygrad_lite.utils.data import DataLoader, IterableDataset

    class Stream(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            for i in range(self.n):
                yield np.float32(i), i % 2

        def __len__(self):
            return self.n

    batches = [(x.tolist(), y.tolist()) for x, y in DataLoader(Stream(7), batch_size=3)]
    assert batches == [([0.0, 1.0, 2.0], [0, 1, 0]), ([3.0, 4.0, 5.0], [1, 0, 1]),
                       ([6.0], [0])]  # NOTE: PyTorch 2.13's batches
    assert len(DataLoader(Stream(7), batch_size=3)) == 3
    assert len(DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    chained = [x.tolist() for x, _ in DataLoader(Stream(3) + Stream(2), batch_size=4)]
    assert chained == [[0.0, 1.0, 2.0, 0.0], [1.0]]
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


def test_pytorchs_submodule_paths_of_utils_data_import():
    """`from torch.utils.data.sampler import SubsetRandomSampler` and its siblings, in older
    code (pytorch/examples' hogwild MNIST): the same objects as `tl.utils.data`'s."""
    from tinygrad_lite.utils.data import dataloader, dataset, sampler

    assert sampler.SubsetRandomSampler is data.SubsetRandomSampler
    assert dataset.IterableDataset is data.IterableDataset and dataset.Subset is data.Subset
    assert dataloader.DataLoader is data.DataLoader
