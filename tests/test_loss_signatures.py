"""Loss signatures as in PyTorch: torch's positional order, the deprecated `size_average` /
`reduce` pair mapped to a reduction by torch's rule; and DataLoader batches that are lists."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.utils.data import DataLoader, IterableDataset

LEGACY_WARNING = "size_average and reduce args will be deprecated"
_rng = np.random.default_rng(0)
_X, _Y = _rng.standard_normal((4, 3)), _rng.standard_normal((4, 3))
_PROBS, _BITS = 0.05 + 0.9 * _rng.random((4, 3)), _rng.integers(0, 2, (4, 3)).astype(float)
_LABELS, _SIGNS = np.array([0, 2, 1, 2]), np.where(_rng.random((4, 3)) < 0.5, -1.0, 1.0)
_LOGP = _X - np.log(np.exp(_X).sum(1, keepdims=True))

# function name -> (its module, its inputs)
LOSSES = {
    "nll_loss": ("NLLLoss", (_LOGP, _LABELS)),
    "cross_entropy": ("CrossEntropyLoss", (_X, _LABELS)),
    "binary_cross_entropy": ("BCELoss", (_PROBS, _BITS)),
    "binary_cross_entropy_with_logits": ("BCEWithLogitsLoss", (_X, _BITS)),
    "mse_loss": ("MSELoss", (_X, _Y)),
    "l1_loss": ("L1Loss", (_X, _Y)),
    "smooth_l1_loss": ("SmoothL1Loss", (_X, _Y)),
    "kl_div": ("KLDivLoss", (_LOGP, _PROBS)),
    "margin_ranking_loss": ("MarginRankingLoss", (_X[:, 0], _Y[:, 0], _SIGNS[:, 0])),
    "cosine_embedding_loss": ("CosineEmbeddingLoss", (_X, _Y, _SIGNS[:, 0])),
    "hinge_embedding_loss": ("HingeEmbeddingLoss", (_X, _SIGNS)),
    "soft_margin_loss": ("SoftMarginLoss", (_X, _SIGNS)),
    "multilabel_soft_margin_loss": ("MultiLabelSoftMarginLoss", (_X, _BITS)),
    "poisson_nll_loss": ("PoissonNLLLoss", (_X, 3 * _BITS)),
    "triplet_margin_loss": ("TripletMarginLoss", (_X, _Y, _PROBS)),
    "multi_margin_loss": ("MultiMarginLoss", (_X, _LABELS)),
    "multilabel_margin_loss": ("MultiLabelMarginLoss",
                               (_X, np.array([[0, -1, 1], [2, 1, -1], [1, -1, -1],
                                              [-1, 0, 0]]))),
}
# every (size_average, reduce) pair but (None, None), which means "use reduction"
LEGACY_PAIRS = [(s, r) for s in (None, True, False) for r in (None, True, False)
                if (s, r) != (None, None)]


def _torch():
    return pytest.importorskip("torch")


def _params(fn) -> list[tuple]:
    """Each parameter's name, kind and default: what a positional or keyword call sees."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _legacy_loss(L, name: str, module: bool, size_average, reduce):
    """The loss `name` of library L (tinygrad_lite or torch), called as a function or as a
    module, with the legacy arguments, and the legacy warnings it gave."""
    class_name, arrays = LOSSES[name]
    inputs = [L.tensor(a) for a in arrays]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if module:
            loss = getattr(L.nn, class_name)(size_average=size_average, reduce=reduce)(*inputs)
        else:
            loss = getattr(L.nn.functional, name)(*inputs, size_average=size_average,
                                                  reduce=reduce)
    return loss, [str(w.message) for w in caught if LEGACY_WARNING in str(w.message)]


def test_loss_modules_take_torchs_parameters_in_torchs_order():
    torch = _torch()
    compared = 0
    for name in dir(nn):
        ours, theirs = getattr(nn, name), getattr(torch.nn, name, None)
        if isinstance(theirs, type) and issubclass(theirs, torch.nn.modules.loss._Loss) \
                and isinstance(ours, type):
            assert _params(ours.__init__) == _params(theirs.__init__), name
            compared += 1
    assert compared >= 21


def test_loss_functions_take_torchs_parameters_in_torchs_order():
    torch = _torch()
    names = list(LOSSES) + ["huber_loss", "gaussian_nll_loss", "ctc_loss",
                            "triplet_margin_with_distance_loss"]
    for name in names:
        assert _params(getattr(F, name)) == _params(getattr(torch.nn.functional, name)), name


@pytest.mark.parametrize("module", [False, True], ids=["function", "module"])
@pytest.mark.parametrize("size_average, reduce", LEGACY_PAIRS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_legacy_size_average_and_reduce_give_torchs_loss(name, module, size_average, reduce):
    torch = _torch()
    ours, our_warnings = _legacy_loss(tl, name, module, size_average, reduce)
    theirs, their_warnings = _legacy_loss(torch, name, module, size_average, reduce)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    assert our_warnings == their_warnings and len(our_warnings) == 1


@pytest.mark.parametrize("size_average, reduce, expected", [
    (None, False, "none"), (True, False, "none"), (False, False, "none"),
    (False, None, "sum"), (False, True, "sum"),
    (True, None, "mean"), (None, True, "mean"), (True, True, "mean")])
def test_legacy_arguments_map_to_a_reduction_by_torchs_rule(size_average, reduce, expected):
    with pytest.warns(UserWarning, match=f"please use reduction='{expected}' instead"):
        loss = nn.MSELoss(size_average=size_average, reduce=reduce, reduction="sum")
    assert loss.reduction == expected
    x, y = tl.tensor([[1.0, 2.0], [3.0, 5.0]]), tl.zeros(2, 2)
    want = {"none": [[1.0, 4.0], [9.0, 25.0]], "sum": 39.0, "mean": 9.75}[expected]
    with pytest.warns(UserWarning, match=LEGACY_WARNING):
        assert F.mse_loss(x, y, size_average, reduce).tolist() == want


def test_no_legacy_arguments_no_warning_and_reduction_is_kept():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.MSELoss(None, None, "sum").reduction == "sum"
        assert nn.KLDivLoss(None, None, "batchmean").reduction == "batchmean"


def test_torchs_positional_calls_of_losses_run():
    """The audit's calls, each of which raised a TypeError."""
    w = tl.tensor([1.0, 2.0, 0.5])
    x, y = tl.tensor(_X), tl.tensor(_LABELS)
    ce = nn.CrossEntropyLoss(w)
    assert ce.weight is w and repr(ce) == "CrossEntropyLoss()"
    nll = nn.NLLLoss(w, None, 1)
    assert nll.ignore_index == 1 and nll.reduction == "mean"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.CrossEntropyLoss(reduce=False)(x, y).shape == (4,)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    summed = F.cross_entropy(x, y, None, None, -100, None, "sum")
    assert np.isclose(summed.item(), 4 * F.cross_entropy(x, y).item())
    with pytest.warns(UserWarning, match="reduction='sum'"):
        bce = F.binary_cross_entropy(tl.tensor([0.5, 0.5]), tl.tensor([0.0, 1.0]),
                                     size_average=False)
    assert np.isclose(bce.item(), 2 * np.log(2))


def test_torchs_positional_calls_of_losses_match_torch():
    torch = _torch()
    calls = [
        lambda L, x, y, w, lp, p: L.nn.CrossEntropyLoss(w)(x, y),
        lambda L, x, y, w, lp, p: L.nn.NLLLoss(w, None, 1)(lp, y),
        lambda L, x, y, w, lp, p: L.nn.MSELoss(None, None, "sum")(x, lp),
        lambda L, x, y, w, lp, p: L.nn.KLDivLoss(None, None, "batchmean")(lp, p),
        lambda L, x, y, w, lp, p: L.nn.HuberLoss("sum", 0.5)(x, lp),
        lambda L, x, y, w, lp, p: L.nn.functional.cross_entropy(x, y, None, None, -100, None,
                                                               "sum"),
        lambda L, x, y, w, lp, p: L.nn.functional.poisson_nll_loss(x, p, True, False, None,
                                                                  1e-8, None, "none"),
    ]
    for call in calls:
        got = [call(L, L.tensor(_X), L.tensor(_LABELS), L.tensor(np.array([1.0, 2.0, 0.5])),
                    L.tensor(_LOGP), L.tensor(_PROBS)) for L in (tl, torch)]
        np.testing.assert_allclose(got[0].numpy(), got[1].numpy(), rtol=1e-12)


def _tensor_batch(L):
    return next(iter(L.utils.data.DataLoader(
        L.utils.data.TensorDataset(L.tensor(_X), L.tensor(_LABELS)), 2)))


def test_dataloader_over_a_tensordataset_yields_lists():
    batch = _tensor_batch(tl)
    assert type(batch) is list and len(batch) == 2
    batch[0] = batch[0].float()
    assert batch[0].dtype == tl.float32 and batch[1].tolist() == [0, 2]


def test_dataloader_batch_type_matches_torch():
    torch = _torch()
    assert type(_tensor_batch(tl)) is type(_tensor_batch(torch))


class _Stream(IterableDataset):
    def __iter__(self):
        return iter(range(5))


def test_len_of_a_dataloader_over_a_stream_without_len_is_a_type_error():
    with pytest.raises(TypeError, match="has no len"):
        len(DataLoader(_Stream(), batch_size=2))
    assert [b.tolist() for b in DataLoader(_Stream(), batch_size=2)] == [[0, 1], [2, 3], [4]]


def test_len_of_a_dataloader_over_a_stream_without_len_matches_torch():
    torch = _torch()

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    for loader in (DataLoader(_Stream(), 2), torch.utils.data.DataLoader(Stream(), 2)):
        with pytest.raises(TypeError):
            len(loader)
