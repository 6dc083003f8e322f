"""`F.linear_cross_entropy` and `nn.LinearCrossEntropyLoss` (PyTorch 2.13's classifier head
and loss in one call), whole and a chunk of rows at a time (`LinearCrossEntropyOptions`)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

ROWS, FEATURES, CLASSES = 7, 5, 11
OPTIONS = [None, {"batch_chunk_size": 3}, {}, {"chunking_method": "aspect_ratio:1"},
           {"batch_chunk_size": 1, "chunking_method": None}]


def _case(seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    labels = r.integers(0, CLASSES, ROWS)
    labels[1] = 2  # NOTE: so ignore_index=2 ignores a row
    return (r.standard_normal((ROWS, FEATURES)).astype(dtype),
            r.standard_normal((CLASSES, FEATURES)).astype(dtype),
            r.standard_normal(CLASSES).astype(dtype), labels, r.random(CLASSES).astype(dtype))


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("bias, ignore_index, class_weights",
                         [(False, None, False), (True, 2, True), (True, None, True)])
def test_matches_pytorch_whole_and_chunked(options, reduction, bias, ignore_index,
                                           class_weights):
    torch = pytest.importorskip("torch")
    x, w, b, labels, cw = _case()
    mine = [tl.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]

    def run(lib, f, ts, opt_class):
        return f(ts[0], ts[1], lib.tensor(labels), linear_bias=ts[2] if bias else None,
                 weight=lib.tensor(cw) if class_weights else None, reduction=reduction,
                 ignore_index=ignore_index,
                 options=None if options is None else opt_class(**options))

    ours = run(tl, F.linear_cross_entropy, mine, nn.LinearCrossEntropyOptions)
    ref = run(torch, torch.nn.functional.linear_cross_entropy, theirs,
              torch.nn.LinearCrossEntropyOptions)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = np.random.default_rng(1).standard_normal(ours.shape)
    (ours * tl.tensor(seed)).sum().backward()
    (ref * torch.tensor(seed)).sum().backward()
    for a, t in zip(mine, theirs):
        if t.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", [
    {"bias": True},
    {"out_features": (3,), "bias": True, "label_smoothing": 0.1},
    {"reduction": "sum", "ignore_index": 4},
])
def test_the_module_matches_pytorchs_with_its_weights(spec):
    torch = pytest.importorskip("torch")
    ref = torch.nn.LinearCrossEntropyLoss(FEATURES, CLASSES, **spec).double()
    ours = nn.LinearCrossEntropyLoss(FEATURES, CLASSES, **spec).double()
    assert repr(ours) == repr(ref)
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x, _, _, labels, _ = _case()
    if "out_features" in spec:
        labels = np.random.default_rng(2).integers(0, CLASSES, (ROWS, 3))
    loss = ours(tl.tensor(x), tl.tensor(labels))
    expected = ref(torch.tensor(x), torch.tensor(labels))
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(ours.linear.weight.grad.numpy(),
                               ref.linear.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_chunked_gradients_match_finite_differences(chunk):
    x, w, b, labels, cw = _case()
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)

    def loss(x, w, b):
        return F.linear_cross_entropy(x, w, tl.tensor(labels), linear_bias=b, weight=tl.tensor(cw),
                                      ignore_index=2, reduction="none", options=options)

    assert tl.gradcheck(loss, [tl.tensor(a, requires_grad=True) for a in (x, w, b)])


def test_chunks_keep_no_logits_for_backward_and_allow_a_second_backward():
    """The node keeps the labels, x and W: nothing of the (N, C) logits' size."""
    x, w, _, labels, _ = _case(dtype=np.float32)
    xt, wt = tl.tensor(x, requires_grad=True), tl.tensor(w, requires_grad=True)
    loss = F.linear_cross_entropy(xt, wt, tl.tensor(labels), reduction="none",
                                  options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
    node = loss.grad_fn
    assert node.name() == "LinearCrossEntropyBackward0"
    shapes = [a.shape for a in node.saved if hasattr(a, "shape")]
    assert (ROWS, CLASSES) not in shapes and shapes[-2:] == [x.shape, w.shape]
    loss.sum().backward(retain_graph=True)
    first = xt.grad.numpy().copy()
    loss.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), 2 * first, rtol=1e-6)
    assert loss.dtype == np.float32 and xt.grad.dtype == np.float32


def test_unbatched_input_and_options_that_cannot_apply():
    x, w, _, labels, _ = _case()
    whole = F.linear_cross_entropy(tl.tensor(x[0]), tl.tensor(w), tl.tensor(labels[0]),
                                   reduction="none")
    chunked = F.linear_cross_entropy(tl.tensor(x[0]), tl.tensor(w), tl.tensor(labels[0]),
                                     reduction="none",
                                     options=nn.LinearCrossEntropyOptions())
    assert whole.shape == chunked.shape == ()
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="options.*ignored"):
        F.linear_cross_entropy(tl.tensor(x), tl.tensor(w), tl.tensor(labels),
                               label_smoothing=0.1, options=nn.LinearCrossEntropyOptions())


@pytest.mark.parametrize("call, error, message", [
    (lambda x, w, y: F.linear_cross_entropy(x.reshape(1, 7, 5), w, y), RuntimeError,
     "dimensionality 1 or 2"),
    (lambda x, w, y: F.linear_cross_entropy(x[:, :4], w, y), RuntimeError,
     "equal input and linear_weight last dimensions"),
    (lambda x, w, y: F.linear_cross_entropy(x, w, y, linear_bias=tl.zeros(3)), RuntimeError,
     "expected linear_bias shape"),
    (lambda x, w, y: F.linear_cross_entropy(x, w, y * 0 + 99,
                                            options=nn.LinearCrossEntropyOptions()),
     IndexError, "out of range"),
    (lambda x, w, y: nn.LinearCrossEntropyOptions(batch_chunk_size=0), ValueError,
     "batch_chunk_size must be positive"),
    (lambda x, w, y: nn.LinearCrossEntropyOptions(chunking_method="rows"), ValueError,
     "invalid chunking_method"),
    (lambda x, w, y: F.linear_cross_entropy(
        x, w, y, options=nn.LinearCrossEntropyOptions(batch_chunk_size=3,
                                                      chunking_method="aspect_ratio")),
     ValueError, "give different chunk sizes"),
    (lambda x, w, y: nn.LinearCrossEntropyLoss(5, 11, weight=tl.ones(3)), RuntimeError,
     "expected weight shape"),
    (lambda x, w, y: F.linear_cross_entropy(
        x, w, y, options=nn.LinearCrossEntropyOptions(acc_dtype=tl.float32)), RuntimeError,
     "supports float32 acc_dtype with float16/bfloat16 inputs"),
])
def test_bad_arguments_are_refused_as_pytorch_refuses_them(call, error, message):
    x, w, _, labels, _ = _case()
    with warnings.catch_warnings(), pytest.raises(error, match=message):
        call(tl.tensor(x), tl.tensor(w), tl.tensor(labels))


def test_float16_inputs_accumulate_in_float32_when_asked():
    x, w, _, labels, _ = _case(dtype=np.float16)
    options = nn.LinearCrossEntropyOptions(acc_dtype=tl.float32, batch_chunk_size=3)
    loss = F.linear_cross_entropy(tl.tensor(x), tl.tensor(w), tl.tensor(labels),
                                  options=options)
    reference = F.linear_cross_entropy(tl.tensor(x.astype(np.float32)),
                                       tl.tensor(w.astype(np.float32)), tl.tensor(labels))
    assert loss.dtype == np.float16
    assert loss.item() == pytest.approx(reference.item(), rel=1e-3)
