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
