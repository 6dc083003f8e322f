"""Coverage sweep of nn.functional and its modules: values and gradients against PyTorch
for the common functions and the ones added here (rrelu, alpha dropout, pdist,
multi_margin_loss, unfold / fold, local_response_norm, channel_shuffle, lp_pool), PyTorch-free
gradchecks, and module reprs."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)) * 2
Y = RNG.standard_normal((3, 4))
SIGNS = np.sign(RNG.standard_normal(3))
IMAGE = RNG.standard_normal((2, 3, 5, 5))
LABELS = np.array([0, 3, 1])

# (function name, keyword arguments, input arrays); float arrays get gradients
CASES = [
    *[(name, {}, [X]) for name in (
        "relu", "relu6", "silu", "mish", "hardswish", "hardsigmoid", "logsigmoid", "softsign",
        "tanhshrink", "selu", "celu", "elu", "gelu", "softplus", "hardtanh", "leaky_relu",
        "softshrink", "hardshrink", "rrelu", "alpha_dropout", "feature_alpha_dropout")],
    ("gelu", {"approximate": "tanh"}, [X]),
    ("celu", {"alpha": 0.5}, [X]),
    ("softplus", {"beta": 2.0, "threshold": 1.0}, [X]),
    ("rrelu", {"lower": 0.1, "upper": 0.5}, [X]),
    ("glu", {"dim": -1}, [X]),
    ("softmax", {"dim": 0}, [X]),
    ("log_softmax", {"dim": 1}, [X]),
    ("normalize", {"p": 1.0, "dim": 0}, [X]),
    ("pairwise_distance", {"p": 1.0, "keepdim": True}, [X, Y]),
    ("pdist", {}, [X]),
    ("pdist", {"p": 1.0}, [X]),
    ("cosine_embedding_loss", {"margin": 0.3, "reduction": "none"}, [X, Y, SIGNS]),
    ("margin_ranking_loss", {"margin": 0.5}, [X[:, 0], Y[:, 0], SIGNS]),
    ("triplet_margin_loss", {"p": 1.0, "swap": True}, [X, Y, Y[::-1] * 2]),
    ("hinge_embedding_loss", {"margin": 0.5}, [X, np.sign(Y)]),
    ("gaussian_nll_loss", {"full": True}, [X, Y, np.abs(Y) + 0.1]),
    ("multi_margin_loss", {}, [X, LABELS]),
    ("multi_margin_loss", {"p": 2, "margin": 0.5, "reduction": "none"}, [X, LABELS]),
    ("multi_margin_loss", {"reduction": "none"}, [X[0], np.array(2)]),
    ("unfold", {"kernel_size": 2}, [IMAGE]),
    ("unfold", {"kernel_size": (2, 3), "padding": 1, "stride": 2, "dilation": (1, 2)}, [IMAGE]),
    ("unfold", {"kernel_size": 2}, [IMAGE[0]]),
    ("fold", {"output_size": 5, "kernel_size": 2}, [RNG.standard_normal((2, 12, 16))]),
    ("fold", {"output_size": (4, 6), "kernel_size": (2, 3), "padding": 1, "stride": 2},
     [RNG.standard_normal((18, 9))]),
    ("local_response_norm", {"size": 2}, [IMAGE]),
    ("local_response_norm", {"size": 3, "alpha": 0.1, "beta": 0.5, "k": 2.0}, [IMAGE[:, :, 0]]),
    ("channel_shuffle", {"groups": 3}, [IMAGE]),
    ("lp_pool2d", {"norm_type": 2, "kernel_size": 2}, [IMAGE]),
    ("lp_pool2d", {"norm_type": 3.0, "kernel_size": (2, 3), "stride": 1, "ceil_mode": True},
     [np.abs(IMAGE)]),
    ("lp_pool1d", {"norm_type": 1.5, "kernel_size": 2, "ceil_mode": True}, [np.abs(IMAGE[0])]),
]
# losses whose float targets get no gradient here: how many leading inputs do
DIFFERENTIABLE = {"cosine_embedding_loss": 2, "hinge_embedding_loss": 1}


def _run(lib, functional, name, kwargs, arrays):
    """Output and input gradients of functional.name(*arrays) under a weighted sum."""
    count = DIFFERENTIABLE.get(name, len(arrays))
    leaves = [lib.tensor(a, requires_grad=a.dtype == np.float64 and i < count)
              for i, a in enumerate(arrays)]
    out = getattr(functional, name)(*leaves, **kwargs)
    weights = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))
    (out * lib.tensor(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in leaves if t.requires_grad]


@pytest.mark.parametrize("name, kwargs, arrays", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_functional_matches_torch(name, kwargs, arrays):
    torch = pytest.importorskip("torch")
    out, grads = _run(tl, F, name, kwargs, arrays)
    want, want_grads = _run(torch, torch.nn.functional, name, kwargs, arrays)
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    # NOTE: torch's float64 hardsigmoid backward uses a float32 1/6, hence rtol 1e-7 here
    for got, expected in zip(grads, want_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12)


def test_multi_margin_loss_weight_matches_torch():
    torch = pytest.importorskip("torch")
    weight = np.array([1.0, 2.0, 3.0, 4.0])
    x, tx = tl.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    loss = F.multi_margin_loss(x, tl.tensor(LABELS), p=2, weight=tl.tensor(weight))
    want = torch.nn.functional.multi_margin_loss(tx, torch.tensor(LABELS), p=2,
                                                 weight=torch.tensor(weight))
    loss.backward()
    want.backward()
    np.testing.assert_allclose(loss.numpy(), want.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def _leaf(a):
    return tl.tensor(a, requires_grad=True)


@pytest.mark.parametrize("fn, arrays", [
    (lambda x: F.rrelu(x, 0.1, 0.4), [X]),
    (lambda x: F.pdist(x), [X]),
    (lambda x: F.multi_margin_loss(x, tl.tensor(LABELS), p=2, margin=0.7), [X]),
    (lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)), [IMAGE]),
    (lambda c: F.fold(c, (5, 5), 2, padding=1, stride=2), [RNG.standard_normal((2, 12, 9))]),
    (lambda x: F.local_response_norm(x, 3, alpha=0.3, k=1.5), [IMAGE]),
    (lambda x: F.channel_shuffle(x, 3), [IMAGE]),
    (lambda x: F.lp_pool2d(x, 2, 2, stride=1), [IMAGE + 3]),
], ids=["rrelu", "pdist", "multi_margin_loss", "unfold", "fold", "local_response_norm",
        "channel_shuffle", "lp_pool2d"])
def test_new_functions_pass_gradcheck(fn, arrays):
    assert tl.gradcheck(fn, [_leaf(a) for a in arrays])


def test_fold_of_unfold_counts_each_pixel_once_per_covering_window():
    x = tl.tensor(IMAGE)
    cols = F.unfold(x, 3, padding=1)
    ones = F.fold(F.unfold(tl.ones_like(x), 3, padding=1), (5, 5), 3, padding=1)
    np.testing.assert_allclose(F.fold(cols, (5, 5), 3, padding=1).numpy(),
                               IMAGE * ones.numpy())


def test_rrelu_training_slopes_lie_between_lower_and_upper():
    x = -tl.ones(1000, dtype=tl.float64)
    slopes = -F.rrelu(x, 0.2, 0.3, training=True).numpy()
    assert slopes.min() >= 0.2 and slopes.max() <= 0.3 and slopes.std() > 0.01


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_training_keeps_mean_and_variance(feature):
    x = tl.tensor(np.random.default_rng(1).standard_normal((400, 500, 1)))
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    out = fn(x, 0.2, training=True).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    assert fn(x, 0.2) is x


def test_alpha_dropout_p_one_gives_zeros():
    np.testing.assert_array_equal(F.alpha_dropout(tl.tensor(X), 1.0, training=True).numpy(), 0)


MODULES = ["RReLU()", "RReLU(0.1, 0.3, True)", "AlphaDropout()", "FeatureAlphaDropout(0.2)",
           "ChannelShuffle(2)", "LocalResponseNorm(3)", "Unfold((2, 3), padding=1)",
           "Fold((4, 5), (2, 3), stride=2)", "MultiMarginLoss(2, 0.5)", "LPPool1d(2, 3)",
           "LPPool2d(1.5, (2, 3), stride=1, ceil_mode=True)"]


@pytest.mark.parametrize("expr", MODULES)
def test_new_module_repr_matches_torch(expr):
    torch = pytest.importorskip("torch")
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr, {"torch": torch}))


def test_new_modules_call_their_functions():
    x = tl.tensor(IMAGE)
    np.testing.assert_allclose(nn.ChannelShuffle(3)(x).numpy(), F.channel_shuffle(x, 3).numpy())
    np.testing.assert_allclose(nn.Fold(5, 2)(nn.Unfold(2)(x)).numpy(),
                               F.fold(F.unfold(x, 2), 5, 2).numpy())
    np.testing.assert_allclose(nn.LocalResponseNorm(2)(x).numpy(),
                               F.local_response_norm(x, 2).numpy())
    assert nn.RReLU().eval()(x) is not x and nn.AlphaDropout().eval()(x) is x
    loss = nn.MultiMarginLoss(margin=0.5)(tl.tensor(X), tl.tensor(LABELS))
    np.testing.assert_allclose(loss.numpy(),
                               F.multi_margin_loss(tl.tensor(X), tl.tensor(LABELS),
                                                   margin=0.5).numpy())
