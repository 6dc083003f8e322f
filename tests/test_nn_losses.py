"""Losses: PyTorch parity for every reduction, extreme logits, finite differences, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_parity import check_parity, close

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
N, C = 8, 5


def _rng(seed=0):
    return np.random.default_rng(seed)


def _logits(shape, dtype, scale=1.0, seed=0):
    return (scale * _rng(seed).standard_normal(shape)).astype(dtype)


def _labels(shape, classes=C, seed=1):
    return _rng(seed).integers(0, classes, shape)


def _probs(shape, dtype, seed=2):
    """Probabilities strictly inside (0, 1)."""
    return (0.05 + 0.9 * _rng(seed).random(shape)).astype(dtype)


def _bits(shape, dtype, seed=3):
    return _rng(seed).integers(0, 2, shape).astype(dtype)


def _class_weight(dtype):
    return np.linspace(0.5, 2.0, C).astype(dtype)


# ---------------------------------------------------------------- cases shared by the tests
# name -> (our loss factory, torch loss factory, inputs(dtype)); factories take reduction
# and the dtype (class weights and pos_weight are constants in the input's dtype).
def _cases():
    def loss(name, **kw):
        """Our loss class `name` and PyTorch's, built with the same options."""
        return (lambda r, d: getattr(nn, name)(reduction=r, **_ours(kw, d)),
                lambda r, d, t: getattr(t.nn, name)(reduction=r, **_theirs(kw, d, t)))

    def ce(**kw):
        return loss("CrossEntropyLoss", **kw)

    def nll(**kw):
        return loss("NLLLoss", **kw)

    def bce(**kw):
        return loss("BCELoss", **kw)

    ignored = _labels(N)
    ignored[[1, 4]] = -100
    smooth = {"label_smoothing": 0.2}
    return {
        "ce": (*ce(), lambda d: [_logits((N, C), d), _labels(N)]),
        "ce_1d": (*ce(), lambda d: [_logits((C,), d), np.array(3)]),
        "ce_spatial": (*ce(), lambda d: [_logits((2, C, 3, 2), d), _labels((2, 3, 2))]),
        "ce_probs": (*ce(), lambda d: [_logits((N, C), d), _softmax(_logits((N, C), d, 2, 5))]),
        "ce_weight": (*ce(weight=True), lambda d: [_logits((N, C), d), _labels(N)]),
        "ce_ignore": (*ce(), lambda d: [_logits((N, C), d), ignored]),
        "ce_ignore_index_2": (*ce(ignore_index=2), lambda d: [_logits((N, C), d), _labels(N)]),
        "ce_smooth": (*ce(**smooth), lambda d: [_logits((N, C), d), _labels(N)]),
        "ce_smooth_weight_ignore": (*ce(weight=True, **smooth),
                                    lambda d: [_logits((N, C), d), ignored]),
        "ce_smooth_probs": (*ce(weight=True, **smooth),
                            lambda d: [_logits((N, C), d), _softmax(_logits((N, C), d, 1, 6))]),
        "nll": (*nll(), lambda d: [_log_probs((N, C), d), _labels(N)]),
        "nll_weight_ignore": (*nll(weight=True), lambda d: [_log_probs((N, C), d), ignored]),
        "nll_spatial": (*nll(), lambda d: [_log_probs((2, C, 3), d), _labels((2, 3))]),
        "bce": (*bce(), lambda d: [_probs((N, 3), d), _bits((N, 3), d)]),
        "bce_soft_targets": (*bce(), lambda d: [_probs((N,), d), _probs((N,), d, seed=9)]),
        "bce_weight": (*bce(weight=True), lambda d: [_probs((N, C), d), _bits((N, C), d)]),
        "bce_logits": (*loss("BCEWithLogitsLoss"),
                       lambda d: [_logits((N, 3), d, 3), _bits((N, 3), d)]),
        "bce_logits_pos_weight": (*loss("BCEWithLogitsLoss", pos_weight=True, weight=True),
                                  lambda d: [_logits((N, C), d, 3), _bits((N, C), d)]),
        "mse": (*loss("MSELoss"), lambda d: [_logits((N, 3), d), _logits((N, 3), d, seed=4)]),
        "l1": (*loss("L1Loss"), lambda d: [_logits((N, 3), d), _logits((N, 3), d, seed=4)]),
    }


def _softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_probs(shape, dtype):
    a = _logits(shape, np.float64)
    return (a - np.log(np.exp(a).sum(axis=1, keepdims=True))).astype(dtype)


def _constants(kw, dtype):
    """weight=True / pos_weight=True stand for fixed arrays of the input's dtype."""
    out = dict(kw)
    if out.get("weight"):
        out["weight"] = _class_weight(dtype)
    if out.get("pos_weight"):
        out["pos_weight"] = np.linspace(0.5, 3.0, C).astype(dtype)
    return out


def _ours(kw, dtype):
    return {k: tl.tensor(v) if isinstance(v, np.ndarray) else v
            for k, v in _constants(kw, dtype).items()}


def _theirs(kw, dtype, torch):
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
            for k, v in _constants(kw, dtype).items()}


CASES = _cases()


def _case_inputs(name, dtype):
    arrays = CASES[name][2](dtype)
    # probability targets follow the logits' dtype
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


# ------------------------------------------------------------------------- PyTorch parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch_values_and_gradients(name, reduction, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, _ = CASES[name]
    check_parity(ours(reduction, dtype), theirs(reduction, dtype, torch),
                 _case_inputs(name, dtype))


EXTREME = {
    "cross_entropy": (lambda x, y: F.cross_entropy(x, y),
                      lambda t: lambda x, y: t.nn.functional.cross_entropy(x, y),
                      lambda d: [_extreme((N, C), d), _labels(N)]),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                        lambda t: t.nn.functional.binary_cross_entropy_with_logits,
                        lambda d: [_extreme((N, 3), d), _bits((N, 3), d)]),
    "bce_of_sigmoid": (lambda x, y: F.binary_cross_entropy(x.sigmoid(), y),
                       lambda t: lambda x, y: t.nn.functional.binary_cross_entropy(
                           x.sigmoid(), y),
                       lambda d: [_extreme((N, 3), d), _bits((N, 3), d)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1),
                    lambda t: lambda x: t.nn.functional.log_softmax(x, 1),
                    lambda d: [_extreme((N, C), d)]),
}


def _extreme(shape, dtype):
    """Logits of +-1e4 (and a few zeros), as a badly scaled network produces."""
    a = np.where(_rng(8).random(shape) < 0.5, -1e4, 1e4)
    a.flat[::5] = 0.0
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(EXTREME))
def test_loss_on_logits_of_1e4_is_finite_warning_free_and_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs, inputs = EXTREME[name]
    x, *targets = inputs(dtype)  # the targets are constants here: only the logits get grads
    mine = [tl.tensor(a) for a in targets]
    ref = [torch.from_numpy(a) for a in targets]
    # NOTE: underflow (exp(-2e4) -> 0) is the intended, harmless outcome; numpy ignores it
    # by default. Overflow, division by zero and invalid operations must not happen.
    with np.errstate(all="raise", under="ignore"):
        check_parity(lambda t: ours(t, *mine), lambda t: theirs(torch)(t, *ref), [x])
        logits = tl.tensor(x, requires_grad=True)
        out = ours(logits, *mine)
        out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(logits.grad.numpy()).all()


def test_cross_entropy_at_float32s_range_gives_pytorchs_inf_without_a_warning(backend):
    """A logit 6e38 below its row's max has logp -inf (its loss inf) as in PyTorch: the
    overflow of x - max is the right answer; the gradient is softmax - onehot, finite."""
    x = np.array([[3e38, -3e38, 0.0], [1.0, 2.0, 0.5]], np.float32)
    labels = np.array([1, 0])
    logits = tl.tensor(x, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        loss = F.cross_entropy(logits, tl.tensor(labels), reduction="none")
        loss.sum().backward()
    assert loss.numpy()[0] == np.inf and np.isfinite(loss.numpy()[1])
    np.testing.assert_array_equal(logits.grad.numpy()[0], [1, -1, 0])
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(t, torch.tensor(labels), reduction="none").sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, value, grad", [
    ("softmax", [1, 0, 0], [0, 0, 0]), ("log_softmax", [0, -np.inf, -3e38], [0, 0, 0]),
    ("logsumexp", 3e38, [1, 0, 0])])
def test_softmaxes_at_float32s_range_give_pytorchs_values_without_a_warning(backend, name,
                                                                           value, grad):
    """x - max(x) past float's range is -inf: exp 0, log-probability -inf (PyTorch's values;
    the gradient of each output's first column, or of the logsumexp, is PyTorch's too)."""
    x = tl.tensor(np.array([3e38, -3e38, 0.0], np.float32), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        out = getattr(x, name)(0)
        (out if out.ndim == 0 else out[0]).backward()
    np.testing.assert_allclose(out.numpy(), value, rtol=1e-6)
    np.testing.assert_array_equal(x.grad.numpy(), grad)
    torch = pytest.importorskip("torch")
    t = torch.tensor(x.detach().numpy(), requires_grad=True)
    t_out = getattr(t, name)(0)
    (t_out if t_out.ndim == 0 else t_out[0]).backward()
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_of_exact_zero_and_one_probabilities_clamps_log_at_minus_100(dtype):
    p = tl.tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype), requires_grad=True)
    y = tl.tensor(np.array([1.0, 0.0, 0.0, 1.0], dtype))
    with np.errstate(all="raise", under="ignore"):
        loss = F.binary_cross_entropy(p, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.numpy(), [100, 100, 0, 0])
    assert np.isfinite(p.grad.numpy()).all()
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, 0, 0], rtol=1e-6)  # PyTorch's


def test_float32_bce_gradient_stays_finite_for_subnormal_probabilities():
    # sigmoid(-95) is ~5e-42: a float32 subnormal whose 1/p would overflow
    x = tl.tensor(np.array([-95.0, -90.0, 95.0], np.float32), requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        F.binary_cross_entropy(x.sigmoid(), tl.ones(3)).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    logits = tl.tensor(_logits((N, C), np.float64), requires_grad=True)
    y = tl.tensor(_labels(N))
    F.cross_entropy(logits, y).backward()
    expected = (_softmax(logits.numpy()) - np.eye(C)[_labels(N)]) / N
    close(logits.grad.numpy(), expected, np.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_cross_entropy_is_one_node_and_equals_the_composite(reduction):
    """Integer labels of (N, C) logits take the fused CrossEntropy node; the composite path
    (log_softmax, pick, reduce) that other cases take must give the same values and grads."""
    logits = _logits((N, C), np.float64)
    fused, composite = _double(logits), _double(logits)
    loss = F.cross_entropy(fused, tl.tensor(_labels(N)), reduction=reduction)
    assert loss._ctx.op_name == "CrossEntropy"
    logp = composite.log_softmax(1)
    reference = F.nll_loss(logp, tl.tensor(_labels(N)), reduction=reduction)
    close(loss.numpy(), reference.numpy(), np.float64)
    upstream = np.linspace(0.5, 2.0, N) if reduction == "none" else np.array(1.5)
    loss.backward(tl.tensor(upstream))
    reference.backward(tl.tensor(upstream))
    close(fused.grad.numpy(), composite.grad.numpy(), np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_keeps_float32_as_float32(name):
    ours, _, _ = CASES[name]
    arrays = _case_inputs(name, np.float32)
    x = tl.tensor(arrays[0], requires_grad=True)
    loss = ours("mean", np.float32)(x, *[tl.tensor(a) for a in arrays[1:]])
    loss.backward()
    assert loss.dtype == x.grad.dtype == np.float32


# ---------------------------------------------------------------------- finite differences
def _double(a, grad=True):
    return tl.tensor(np.asarray(a, np.float64), requires_grad=grad)


GRADCHECKS = {
    "cross_entropy": lambda: (lambda x: F.cross_entropy(x, tl.tensor(_labels(N))),
                              [_double(_logits((N, C), np.float64))]),
    "cross_entropy_sum": lambda: (
        lambda x: F.cross_entropy(x, tl.tensor(_labels(N)), reduction="sum"),
        [_double(_logits((N, C), np.float64))]),
    "cross_entropy_none": lambda: (
        lambda x: F.cross_entropy(x, tl.tensor(_labels(N)), reduction="none"),
        [_double(_logits((N, C), np.float64))]),
    "cross_entropy_smooth_weight_ignore": lambda: (
        lambda x: F.cross_entropy(x, tl.tensor(np.array([0, -100, 4, 2])),
                                  weight=_double(_class_weight(np.float64), False),
                                  label_smoothing=0.3, reduction="sum"),
        [_double(_logits((4, C), np.float64))]),
    "cross_entropy_probs": lambda: (
        lambda x, p: F.cross_entropy(x, p, reduction="none"),
        [_double(_logits((4, C), np.float64)), _double(_softmax(_logits((4, C), np.float64)))]),
    "nll_loss": lambda: (lambda x: F.nll_loss(x, tl.tensor(_labels((2, 3))),
                                              weight=_double(_class_weight(np.float64), False)),
                         [_double(_logits((2, C, 3), np.float64))]),
    "binary_cross_entropy": lambda: (
        lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
        [_double(_probs((N,), np.float64)), _double(_probs((N,), np.float64, seed=4))]),
    "binary_cross_entropy_with_logits": lambda: (
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, pos_weight=_double([2.0, 0.5, 1.0], False)),
        [_double(_logits((N, 3), np.float64, 3)), _double(_probs((N, 3), np.float64))]),
    "mse_loss": lambda: (F.mse_loss, [_double(_logits(N, np.float64)),
                                      _double(_logits(N, np.float64, seed=4))]),
    "l1_loss": lambda: (lambda a, b: F.l1_loss(a, b, reduction="sum"),
                        [_double(_logits(N, np.float64)), _double(_logits(N, np.float64, 1, 4))]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_loss_gradients_match_finite_differences(name):
    fn, inputs = GRADCHECKS[name]()
    assert tl.gradcheck(fn, inputs)


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_float_class_labels_are_refused_naming_the_dtype_and_long(fn):
    """A RuntimeError, as in PyTorch."""
    with pytest.raises(RuntimeError, match=r"integer tensor.*float32.*\.long\(\)"):
        fn(tl.randn(4, 3), tl.tensor([0.0, 1.0, 2.0, 1.0]))


def test_cross_entropy_float_target_of_wrong_shape_suggests_long():
    with pytest.raises(RuntimeError, match=r"\.long\(\).*probabilities.*shape \(4, 3\)"):
        F.cross_entropy(tl.randn(4, 3), tl.tensor([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("bad", [3, -1, 7])
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_label_out_of_range_names_the_label_and_the_class_count(fn, bad):
    with pytest.raises(IndexError, match=rf"label {bad} .*3 classes"):
        fn(tl.randn(4, 3), tl.tensor([0, bad, 2, 1]))


def test_cross_entropy_target_shape_must_be_input_without_class_dim():
    with pytest.raises(ValueError, match=r"target shape \(4, 1\).*input shape \(4, 3\)"):
        F.cross_entropy(tl.randn(4, 3), tl.tensor([[0], [1], [2], [1]]))


@pytest.mark.parametrize("fn", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_refuses_shapes_that_would_broadcast_naming_both(fn):
    with pytest.raises(ValueError, match=r"\(6, 1\).*\(6,\)"):
        fn(tl.rand(6, 1), tl.rand(6))


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss])
def test_regression_losses_broadcast_a_different_target_with_pytorchs_warning(fn):
    x, y = tl.rand(6, 1), tl.rand(6)
    with pytest.warns(UserWarning, match="different to the input size"):
        loss = fn(x, y)
    np.testing.assert_allclose(loss.item(), fn(x.expand(6, 6), y.expand(6, 6)).item(),
                               rtol=1e-6)


@pytest.mark.parametrize("make", [nn.CrossEntropyLoss, nn.NLLLoss, nn.BCELoss,
                                  nn.BCEWithLogitsLoss, nn.MSELoss, nn.L1Loss])
def test_unknown_reduction_is_a_value_error_naming_the_options(make):
    with pytest.raises(ValueError, match="'mean', 'sum' or 'none', got 'avg'"):
        make(reduction="avg")


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_functional_class_losses_check_reduction_too(fn):
    with pytest.raises(ValueError, match="got 'total'"):
        fn(tl.randn(4, 3), tl.tensor([0, 1, 2, 1]), reduction="total")


def test_bce_refuses_inputs_outside_zero_one_pointing_to_the_logits_form():
    with pytest.raises(RuntimeError, match="binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(tl.tensor([0.5, 1.5]), tl.tensor([0.0, 1.0]))


def test_bce_casts_the_target_to_the_input_dtype():
    loss = F.binary_cross_entropy(tl.tensor([0.25, 0.75]), tl.tensor([0, 1]))
    assert loss.dtype == np.float32
    close(loss.item(), -np.log(0.75), np.float32)


# ------------------------------------------------------------------------------- one_hot
def test_one_hot_gives_int64_rows_with_one_at_each_label():
    out = F.one_hot(tl.tensor([2, 0, 1]), 4)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[2, 0, 1]])
    assert F.one_hot(tl.tensor([[1, 3]])).shape == (1, 2, 4)  # classes from the largest label


def test_one_hot_matches_torch():
    torch = pytest.importorskip("torch")
    labels = _labels((3, 4))
    np.testing.assert_array_equal(F.one_hot(tl.tensor(labels), C).numpy(),
                                  torch.nn.functional.one_hot(torch.from_numpy(labels),
                                                              C).numpy())


def test_one_hot_refuses_out_of_range_and_float_labels():
    with pytest.raises(RuntimeError, match="label 4 .*4 classes"):  # NOTE: torch's classes
        F.one_hot(tl.tensor([0, 4]), 4)
    with pytest.raises(RuntimeError, match="integer"):
        F.one_hot(tl.tensor([0.0, 1.0]), 2)


@pytest.mark.parametrize("reduction, expected", [("mean", np.nan), ("sum", 0.0)])
def test_cross_entropy_of_an_empty_batch_is_nan_for_mean_and_zero_for_sum(reduction, expected):
    """As in PyTorch, and without numpy's 0/0 warning."""
    x = tl.zeros(0, C, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, tl.tensor(np.zeros(0, np.int64)), reduction=reduction)
        loss.backward()
    np.testing.assert_equal(loss.item(), expected)
    assert not np.signbit(loss.item()) and x.grad.shape == (0, C)


# --- per-element weights of the regression losses (PyTorch 2.13's `weight=`) --------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(name, reduction, dtype):
    """The weight (and its gradient) too: it is an input of the same shape."""
    x, t = _logits((N, C), dtype), _logits((N, C), dtype, seed=5)
    w = _probs((N, C), dtype)
    check_parity(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
                 lambda a, b, c: getattr(__import__("torch").nn.functional, name)(
                     a, b, reduction=reduction, weight=c), [x, t, w])


def test_weighted_mse_and_l1_average_over_the_weights_and_huber_over_the_elements():
    x, w = tl.tensor([[1.0, 2.0], [3.0, 4.0]]), tl.tensor([[1.0, 2.0], [3.0, 4.0]])
    zero = tl.zeros(2, 2)
    assert F.mse_loss(x, zero, weight=w).item() == 100 / 10  # 1 + 8 + 27 + 64 over 1+2+3+4
    assert F.l1_loss(x, zero, weight=w).item() == 30 / 10
    assert F.huber_loss(x, zero, weight=w).item() == 25 / 4  # 0.5 + 3 + 7.5 + 14 over 4
    with pytest.raises(RuntimeError, match=r"mse_loss: weight of shape \(2,\) must have the "
                                           r"input's shape \(2, 2\)"):
        F.mse_loss(x, zero, weight=tl.ones(2))


def test_nll_loss_2d_is_nll_loss_under_its_deprecated_name():
    with pytest.warns(FutureWarning, match="NLLLoss2d` has been deprecated"):
        loss = nn.NLLLoss2d(reduction="sum", ignore_index=1)
    assert isinstance(loss, nn.NLLLoss) and repr(loss) == "NLLLoss2d()"
    logp = tl.randn(2, 3, 4, 4).log_softmax(1)
    labels = tl.randint(0, 3, (2, 4, 4))
    expected = F.nll_loss(logp, labels, reduction="sum", ignore_index=1)
    assert loss(logp, labels).item() == expected.item()
