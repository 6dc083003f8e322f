"""The numpy backend where it does more than call numpy: indexing and reductions that numpy
runs slowly for a pool's or conv's shapes, with numpy's own results."""
import numpy as np
import pytest

from tinygrad_lite.backend.numpy_backend import NumpyBackend

WINDOWS = np.array([[0, 1, 2], [1, 2, 3], [4, 5, 0], [5, 5, -1]])  # repeats, a negative


@pytest.mark.parametrize("index", [(slice(None), slice(None), WINDOWS),
                                   np.array([[4, 0], [-1, 2]]),
                                   (slice(None), np.array([6, -7]))],
                         ids=["windows", "rows", "middle-axis"])
def test_taking_along_one_axis_gives_numpys_values_c_contiguous(index):
    x = np.random.default_rng(0).standard_normal((5, 7, 6), dtype=np.float32)
    got = NumpyBackend.getitem(x, index)
    np.testing.assert_array_equal(got, x[index])
    # NOTE: numpy's x[:, :, windows] is laid out in the index's order, and a conv's reshape
    # of it copied slowly; this one reshapes as a view
    assert got.flags.c_contiguous


def test_other_indices_are_numpys_own_views_included():
    x = np.arange(24.0).reshape(2, 3, 4)
    for index in ((0, slice(1, 3)), (Ellipsis, np.array([1, 1])), np.array(1),
                  (np.array([0, 1]), slice(None), np.array([2, 3])), x > 5):
        np.testing.assert_array_equal(NumpyBackend.getitem(x, index), x[index])
    assert np.shares_memory(NumpyBackend.getitem(x, (0, slice(1, 3))), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 7, 8, 9])
def test_reductions_along_a_short_last_axis_are_numpys_bit_for_bit(dtype, k):
    r = np.random.default_rng(k)
    x = (r.standard_normal((300, 7, k)) * 10 ** r.uniform(-3, 3, (300, 7, k))).astype(dtype)
    x[0, 0, 0], x[1, 1, -1], x[2, 2], x[3, 3, 0] = np.nan, np.inf, -0.0, -0.0
    for name, ufunc in (("sum", np.add), ("max", np.maximum), ("min", np.minimum),
                        ("prod", np.multiply)):
        for axis in (-1, 2, (2,)):
            for keepdims in (False, True):
                got = getattr(NumpyBackend, name)(x, axis=axis, keepdims=keepdims)
                expected = ufunc.reduce(x, axis=axis, keepdims=keepdims)
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("rows", [8, 32, 63])
def test_a_wide_float32_product_is_computed_transposed_and_returned_c_contiguous(rows):
    from tinygrad_lite.backend.numpy_backend import is_wide

    r = np.random.default_rng(rows)
    x = r.standard_normal((rows, 784), dtype=np.float32)
    w = r.standard_normal((256, 784), dtype=np.float32)
    assert is_wide(x, w.T)  # a 784-256 layer's forward at these batches takes the path
    got = NumpyBackend.matmul(x, w.T)
    np.testing.assert_allclose(got, x.astype(np.float64) @ w.T.astype(np.float64),
                               rtol=1e-4, atol=1e-3)
    # NOTE: (w @ x.T).T is a transposed view: a Linear's output must still be row-major,
    # as PyTorch's is (view(-1) works on it)
    assert got.flags.c_contiguous and got.shape == (rows, 256) and got.dtype == np.float32


def test_the_transposed_path_is_left_to_products_it_measured_faster_on():
    from tinygrad_lite.backend.numpy_backend import is_wide

    def wide(m, k, n, dtype=np.float32):
        return is_wide(np.ones((m, k), dtype), np.ones((k, n), dtype))

    assert wide(32, 784, 256) and wide(32, 256, 128) and wide(4, 512, 512)
    assert not wide(1, 784, 256) and not wide(64, 784, 256)  # a row / enough rows
    assert not wide(32, 784, 10) and not wide(16, 256, 128)  # narrow; OpenBLAS's small case
    assert not wide(32, 784, 256, np.float64)
    assert not is_wide(np.ones((2, 32, 784), np.float32), np.ones((784, 256), np.float32))


@pytest.mark.parametrize("shape", [(4, 5, 6), (2, 3, 4, 6), (0, 5, 6), (3, 0, 6), (4, 5, 0)])
@pytest.mark.parametrize("transposed", [False, True])
def test_a_stack_of_matrices_times_a_matrix_is_one_product_of_all_rows(shape, transposed):
    r = np.random.default_rng(len(shape))
    a = r.standard_normal(shape).astype(np.float32)
    if transposed:  # a non-contiguous stack: reshape copies it
        a = np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)
    b = r.standard_normal((shape[-1], 7)).astype(np.float32)
    got = NumpyBackend.matmul(a, b)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == expected.shape == shape[:-1] + (7,) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_stack_times_a_mismatched_matrix_raises_numpys_error():
    with pytest.raises(ValueError):
        NumpyBackend.matmul(np.ones((2, 3, 4)), np.ones((5, 6)))
