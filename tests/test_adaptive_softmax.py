"""nn.AdaptiveLogSoftmaxWithLoss: against PyTorch (same weights), against its own full
distribution, and by finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

SPEC = {"in_features": 16, "n_classes": 30, "cutoffs": [5, 12, 20], "div_value": 2.0}


def _batch(dtype=np.float64, rows=9):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 30, rows)
    labels[:2] = 0, 29  # NOTE: the shortlist and the last cluster both appear
    return rng.standard_normal((rows, 16)).astype(dtype), labels


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("head_bias", [False, True])
def test_matches_pytorch_with_its_weights(dtype, tol, head_bias):
    torch = pytest.importorskip("torch")
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(**SPEC, head_bias=head_bias).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    ours = nn.AdaptiveLogSoftmaxWithLoss(**SPEC, head_bias=head_bias).to(dtype)
    assert repr(ours) == repr(ref) and list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x, labels = _batch(dtype)
    mine, theirs = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, loss = ours(mine, tl.tensor(labels))
    ref_out, ref_loss = ref(theirs, torch.tensor(labels))
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=tol, atol=tol)
    loss.backward()
    ref_loss.backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert (p.grad is None) == (q.grad is None)  # NOTE: a cluster no label is in
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.log_prob(tl.tensor(x)).numpy(),
                               ref.log_prob(torch.tensor(x)).detach().numpy(), rtol=tol,
                               atol=tol)
    np.testing.assert_array_equal(ours.predict(tl.tensor(x)).numpy(),
                                  ref.predict(torch.tensor(x)).numpy())


def test_outputs_are_the_full_distributions_log_probabilities_of_the_labels():
    tl.manual_seed(0)
    asm = nn.AdaptiveLogSoftmaxWithLoss(**SPEC).double()
    x, labels = _batch(rows=40)
    full = asm.log_prob(tl.tensor(x)).numpy()
    np.testing.assert_allclose(np.exp(full).sum(1), 1, rtol=1e-12)
    out, loss = asm(tl.tensor(x), tl.tensor(labels))
    np.testing.assert_allclose(out.numpy(), full[np.arange(40), labels], rtol=1e-12)
    assert loss.item() == pytest.approx(-out.numpy().mean())
    np.testing.assert_array_equal(asm.predict(tl.tensor(x)).numpy(), full.argmax(1))
    single, _ = asm(tl.tensor(x[3]), tl.tensor(labels[3]))
    assert single.shape == () and single.item() == pytest.approx(full[3, labels[3]])


def test_gradients_match_finite_differences():
    tl.manual_seed(1)
    asm = nn.AdaptiveLogSoftmaxWithLoss(**SPEC, head_bias=True).double()
    x, labels = _batch(rows=6)

    def loss(x, *_parameters):
        return asm(x, tl.tensor(labels)).output

    assert tl.gradcheck(loss, [tl.tensor(x, requires_grad=True), *asm.parameters()])


@pytest.mark.parametrize("make, args, message", [
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 30, []), None, "length larger than 0"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 30, [12, 5]), None, "sorted"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 30, [5, 30]), None, "n_classes-1"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(**SPEC), ((4, 16), [1, 2, 3]), "same size"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(**SPEC), ((3, 16), [1, 2, 30]), "should be in"),
    (lambda: nn.AdaptiveLogSoftmaxWithLoss(**SPEC), ((16,), [[1]]), "multi-target"),
])
def test_bad_cutoffs_and_targets_are_refused_as_pytorch_refuses_them(make, args, message):
    error = ValueError if args is None else RuntimeError
    with pytest.raises(error, match=message):
        asm = make()
        asm(tl.zeros(*args[0]), tl.tensor(args[1]))
