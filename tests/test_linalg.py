"""tl.linalg: values and gradients by finite differences (always) and against torch.linalg."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)   # a batch of well-conditioned matrices
B = RNG.standard_normal((2, 3, 2))


def _leaf(a: np.ndarray) -> tl.Tensor:
    return tl.tensor(a, dtype=tl.float64, requires_grad=True)


@pytest.mark.parametrize("fn, inputs", [
    (tl.linalg.inv, (A,)),
    (tl.linalg.det, (A,)),
    (tl.linalg.solve, (A, B)),
    (tl.linalg.solve, (A[0], B[0, :, 0])),
    (lambda x: tl.linalg.norm(x), (B,)),
    (lambda x: tl.linalg.matrix_norm(x, 1), (B,)),
    (lambda x: tl.linalg.norm(x, float("inf"), dim=(1, 2)), (B,)),
    (lambda x: tl.linalg.vector_norm(x, 3, dim=1), (B,)),
])
def test_gradients_match_finite_differences(fn, inputs):
    assert tl.gradcheck(fn, [_leaf(a) for a in inputs])


def test_values_without_torch():
    np.testing.assert_allclose(tl.linalg.inv(tl.tensor(A)).numpy(), np.linalg.inv(A),
                               rtol=1e-5)
    np.testing.assert_allclose(tl.linalg.det(tl.tensor(A, dtype=tl.float64)).numpy(),
                               np.linalg.det(A))
    x = tl.linalg.solve(tl.tensor(A, dtype=tl.float64), tl.tensor(B, dtype=tl.float64))
    np.testing.assert_allclose((tl.tensor(A, dtype=tl.float64) @ x).numpy(), B, atol=1e-12)
    m = tl.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert tl.linalg.matrix_norm(m, 1).item() == 6 and tl.linalg.norm(m, float("inf")).item() == 7
    assert tl.linalg.norm(tl.tensor([3.0, 4.0])).item() == 5
    with pytest.raises(RuntimeError, match=r"square.*\(2, 3\)"):
        tl.linalg.inv(tl.zeros(2, 3))


@pytest.mark.parametrize("kwargs", [{}, {"ord": 1, "dim": (1, 2)}, {"ord": -np.inf, "dim": (2, 1)},
                                    {"dim": 1}, {"ord": 3, "dim": 2},
                                    {"ord": "fro", "dim": (0, 2), "keepdim": True}])
def test_norm_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    ours = tl.linalg.norm(tl.tensor(B, dtype=tl.float64), **kwargs)
    theirs = torch.linalg.norm(torch.tensor(B), **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["inv", "det", "solve"])
def test_values_and_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    args = (A,) if name != "solve" else (A, B)
    ours = [_leaf(a) for a in args]
    theirs = [torch.tensor(a, requires_grad=True) for a in args]
    out, ref = getattr(tl.linalg, name)(*ours), getattr(torch.linalg, name)(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9)
