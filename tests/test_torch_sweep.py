"""One line per PyTorch expression, evaluated with `torch` and with `tinygrad_lite` in its place
(`x` is a 3x4 float32 tensor, `F` the library's nn.functional): values, shapes, dtypes and
which of them raise must agree.

A sweep of the everyday surface (tensor methods, `torch.*` functions, `nn.functional`), kept
as a test so the API stays PyTorch's. Gradients are checked elsewhere (test_ops*.py).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

EXPRESSIONS = [
    'x == None',
    'x != None',
    "x == 'a'",
    'x == [1.0, 2.0]',
    "x < 'a'",
    'x.sum(axis=1)',
    'x.sum(1, keepdim=True)',
    'x.mean(axis=0)',
    'x.max(axis=1)',
    'x.std(dim=1, correction=0)',
    'x.var(1, unbiased=False)',
    'x.softmax(-1)',
    'x.argmax(dim=1, keepdim=True)',
    'x.view(2, 6)',
    'x.unsqueeze(0).shape',
    'x.size()',
    'x.size(1)',
    'x[None, :, 1:3]',
    'x[[0, 2]]',
    'x[x > 0]',
    'x @ x.T',
    '2 ** x',
    'x.pow(2)',
    'x.clamp(min=2)',
    'x.max()',
    'x.min(dim=0)',
    'x.amax(dim=(0, 1))',
    'x.chunk(2, dim=1)',
    'x.split([1, 3], dim=1)',
    'x.type(torch.float64)',
    'x.to(torch.int64)',
    'x.long()',
    'x.int()',
    'x.half()',
    'x.bool()',
    'x.cumsum(0)',
    'x.norm()',
    'x.norm(dim=1)',
    'x.prod(1)',
    'x.all()',
    'x.any(dim=1)',
    'x.sort(dim=1, descending=True)',
    'x.topk(2)',
    'x.roll(1, 1)',
    'x.repeat(2, 1)',
    'x.expand(2, 3, 4)',
    'x.masked_fill(x > 3, 0)',
    'x.where(x > 3, 0.0)',
    'x.tolist()',
    'x.unbind(0)',
    'x.sum(dim=[0, 1])',
    'x.max(dim=1).values',
    'x.max(1)[1]',
    'x.nan_to_num()',
    'x.round()',
    'x.fmod(3)',
    'x % 3',
    'x // 3',
    'x.stride()',
    'x.is_contiguous()',
    'x.element_size()',
    'x.dtype',
    'x.device',
    'x.median()',
    'x.median(dim=1)',
    'x.diff(dim=1)',
    'x.erf()',
    'x.atan2(x + 1)',
    'x.new_full((2,), 3.0)',
    'x.new_tensor([1, 2])',
    'x.unflatten(1, (2, 2))',
    'x.tril()',
    'x.diag()',
    'x.trace()',
    'x.nonzero()',
    'x.count_nonzero()',
    'x.gather(1, (x > 0).long())',
    'x.scatter(1, (x > 0).long(), 0.0)',
    'x.take((x[0] > 1).long())',
    'x.masked_select(x > 0)',
    'x.argsort(dim=1)',
    'x.cumprod(1)',
    'x.logical_and(x > 2)',
    'x.sum(dtype=torch.float64)',
    'x.mean(-1, True)',
    'x.max(-1, True)',
    'x.var(-1, True)',
    'x.std(0, True, True)',
    'torch.zeros(2, 3, dtype=torch.int32)',
    'torch.arange(5)',
    'torch.arange(0, 1, 0.25)',
    'torch.linspace(0, 1, 5)',
    'torch.full((2,), 7)',
    'torch.full((2,), 7.0)',
    'torch.eye(3, 2)',
    'torch.tensor([1, 2]).dtype',
    'torch.tensor([True, False]).dtype',
    'torch.tensor(3.0).shape',
    'torch.tensor([[1, 2], [3, 4]]) / 2',
    'torch.tensor([1, 2]) // 2',
    'torch.tensor([1, 2]) * 1.5',
    'torch.tensor([1, 2]) + torch.tensor([1.0, 2.0], dtype=torch.float64)',
    'torch.cat([x, x], dim=1)',
    'torch.stack([x, x], dim=-1)',
    'torch.where(x > 0, x, torch.zeros_like(x))',
    'torch.where(x > 0)',
    'torch.max(x, dim=1)',
    'torch.max(x, x * 2)',
    'torch.sum(x, dim=0)',
    'torch.mean(x)',
    'torch.softmax(x, dim=1)',
    'F.softmax(x, dim=1)',
    'F.one_hot(torch.tensor([0, 2]), 3)',
    'F.one_hot(torch.tensor([0, 2]))',
    'F.pad(x, (1, 1))',
    'F.normalize(x)',
    'F.gelu(x)',
    'F.softplus(x)',
    'F.cross_entropy(x, torch.tensor([0, 1, 3]))',
    'F.cross_entropy(x, torch.tensor([0, 1, 3]), label_smoothing=0.1)',
    'F.cross_entropy(x, x.softmax(1))',
    'F.nll_loss(x.log_softmax(1), torch.tensor([0, 1, 3]))',
    'F.mse_loss(x, x * 2)',
    'F.binary_cross_entropy_with_logits(x, (x > 0).float())',
    'F.binary_cross_entropy(x.sigmoid(), (x > 0).float())',
    "F.l1_loss(x, x * 2, reduction='sum')",
    'F.dropout(x, 0.5, training=False)',
    'F.leaky_relu(x, 0.2)',
    'F.log_softmax(x, dim=-1)',
    'F.layer_norm(x, (4,))',
    'F.linear(x, x)',
    'F.embedding(torch.tensor([0, 2]), x)',
    'torch.clamp(x, -1, 1)',
    'torch.exp(x)',
    "torch.einsum('ij,kj->ik', x, x)",
    'torch.matmul(x, x.T)',
    'torch.outer(x[0], x[1])',
    'torch.tensordot(x, x.T, dims=1)',
    'torch.flatten(x)',
    'torch.squeeze(x[None])',
    'torch.unsqueeze(x, 1)',
    'torch.transpose(x, 0, 1)',
    'torch.permute(x, (1, 0))',
    'torch.reshape(x, (4, 3))',
    'torch.argmax(x)',
    'torch.argmax(x, dim=1)',
    'torch.topk(x, 2, dim=0)',
    'torch.sort(x, dim=0)',
    'torch.abs(x)',
    'torch.sqrt(x.abs())',
    'torch.log(x.abs() + 1)',
    'torch.sigmoid(x)',
    'torch.tanh(x)',
    'torch.relu(x)',
    'torch.var(x, dim=0)',
    'torch.std(x)',
    'torch.logsumexp(x, dim=1)',
    'torch.cumsum(x, dim=1)',
    'torch.diag(x[0])',
    'torch.tril(x)',
    'torch.isnan(x)',
    'torch.numel(x)',
    'torch.allclose(x, x)',
    'torch.equal(x, x)',
    'torch.zeros_like(x, dtype=torch.int64)',
    'torch.ones(2, 2).sum()',
    'torch.rand(3).shape',
    'torch.randn(2, 3).dtype',
    'torch.randint(0, 5, (3,)).dtype',
    'torch.empty(2, 3).shape',
    'torch.from_numpy(np.ones(3)).dtype',
    'torch.as_tensor([1.0, 2.0]).dtype',
    'torch.tensor(np.float64(2.5)).dtype',
    'torch.tensor(2.5).dtype',
    'torch.tensor([1, 2]).float().mean()',
    'torch.tensor([[1.0, 2.0]]).T.shape',
    'torch.tensor(5).item()',
    'torch.tensor([1.5]).int()',
    'torch.tensor([-1.5]).long()',
    "F.cross_entropy(x, torch.tensor([0, 1, 3]), reduction='none')",
    'F.cross_entropy(x, torch.tensor([0, -100, 3]))',
    'F.cross_entropy(x, torch.tensor([0, 1, 3]), ignore_index=1)',
    'F.cross_entropy(x, torch.tensor([0, 1, 3]), weight=torch.tensor([1.0, 2.0, 0.5, 1.0]))',
    'F.cross_entropy(x.reshape(3, 2, 2), torch.tensor([[0, 1], [1, 1], [0, 0]]))',
    'F.cross_entropy(x[0], torch.tensor(2))',
    "F.nll_loss(x.log_softmax(1), torch.tensor([0, 1, 3]), reduction='sum')",
    "F.mse_loss(x, torch.zeros(3, 4), reduction='none')",
    'F.binary_cross_entropy_with_logits(x, (x > 0).float(), pos_weight=torch.arange(1.0, 5.0))',
    'F.binary_cross_entropy_with_logits(x, (x > 0).float(), weight=torch.tensor([1.0, 2.0, 3.0]))',
    'F.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5]), torch.tensor([0.0, 1.0, 1.0]))',
    "F.kl_div(x.log_softmax(1), x.softmax(1), reduction='batchmean')",
    'F.huber_loss(x, x * 0.5)',
    'F.smooth_l1_loss(x, x * 0.5, beta=0.5)',
    'F.softmax(x, dim=0)',
    'F.log_softmax(x, 1)',
    "F.gelu(x, approximate='tanh')",
    'F.silu(x)',
    'F.elu(x)',
    'F.selu(x)',
    'F.relu6(x)',
    'F.hardtanh(x)',
    'F.softsign(x)',
    'F.mish(x)',
    'F.logsigmoid(x)',
    'F.glu(x)',
    'F.dropout(x, 0.0)',
    'F.dropout(x, 1.0)',
    'F.pad(x, (1, 2, 0, 1), value=3.0)',
    "F.pad(x, (1, 1), mode='reflect')",
    'F.normalize(x, p=1, dim=0)',
    'F.cosine_similarity(x, x + 1)',
    'F.one_hot(torch.tensor([[0, 1], [2, 3]]), 5)',
    'F.layer_norm(x, (3, 4))',
    'F.linear(x, torch.ones(2, 4), torch.ones(2))',
    'F.linear(x[0], torch.ones(2, 4))',
    'F.leaky_relu(x)',
    'F.threshold(x, 0.5, -1.0)',
    'F.softmin(x, 1)',
    'F.l1_loss(x, x.flip(0))',
    'F.sigmoid(x)',
    'F.tanh(x)',
    'F.relu(x)',
    'F.hardswish(x)',
    'F.hardsigmoid(x)',
    'F.softplus(x, beta=2)',
    'F.celu(x)',
    'F.batch_norm(x, torch.zeros(4), torch.ones(4))',
    'F.batch_norm(x, None, None, training=True)',
    'F.embedding(torch.tensor([[0, 1], [2, 0]]), x)',
    'F.margin_ranking_loss(x[0], x[1], torch.tensor([1.0, -1.0, 1.0, -1.0]))',
    'F.cosine_embedding_loss(x, x.flip(0), torch.tensor([1.0, -1.0, 1.0]))',
]


def _is_error(r) -> bool:
    return isinstance(r, tuple) and len(r) == 2 and r[0] == "error"


def _plain(r):
    """Tensors, dtypes, sizes and devices of either library as numpy / Python values."""
    if _is_error(r):
        return r
    if isinstance(r, (tuple, list)) and not isinstance(r, torch.Size) and r and \
            hasattr(r[0], "shape"):
        return [_plain(v) for v in r]
    if isinstance(r, torch.Tensor):
        return r.detach().numpy()
    if isinstance(r, tl.Tensor):
        return r.numpy()
    if isinstance(r, torch.Size):
        return tuple(r)
    if isinstance(r, (torch.dtype, np.dtype, torch.device)):
        return str(r).replace("torch.", "")
    return r


def _assert_same(got, want, expression: str) -> None:
    if _is_error(got) or _is_error(want):
        assert _is_error(got) == _is_error(want), f"{expression}: torch {want}, tl {got}"
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), expression
        for g, w in zip(got, want):
            _assert_same(g, w, expression)
    elif isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        g, w = np.asarray(got), np.asarray(want)
        assert g.shape == w.shape and g.dtype == w.dtype, (expression, g.dtype, w.dtype)
        np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=1e-5, atol=1e-6,
                                   equal_nan=True, err_msg=expression)
    else:
        assert got == want, f"{expression}: torch {want!r}, tl {got!r}"


def _evaluate(expression: str, lib):
    x = lib.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) - 4.5)
    try:
        with np.errstate(all="ignore"):
            return _plain(eval(expression, {"x": x, "torch": lib, "np": np,
                                            "F": lib.nn.functional}))
    except Exception as e:  # noqa: BLE001  (that both raise is what is compared)
        return ("error", type(e).__name__)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_expression_agrees_with_torch(expression):
    _assert_same(_evaluate(expression, tl), _evaluate(expression, torch), expression)
