"""A hand-written float32 numpy MLP in the style of the seeds: the peer that the benchmark
holds tinygrad_lite against.

It is the seeds' network (dense layers with (in, out) weights, ReLU, inverted dropout,
softmax + cross-entropy with the fused gradient (softmax - onehot) / N, a plain SGD step),
written the way a careful engineer would: float32 end to end, one float32 mask per dropout
layer that also carries the ReLU, and in-place updates where an array is ours to overwrite.

Example
-------
>>> net = NumpyMLP(seed=0)
>>> X = np.zeros((32, 784), np.float32); y = np.zeros(32, np.int64)
>>> loss = net.step(X, y, lr=0.1)
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

F32 = np.float32


def weight_grad(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``x.T @ d``: the gradient of a dense layer's (in, out) weights.

    Parameters
    ----------
    x : (N, in) layer input.
    d : (N, out) gradient of the layer output.
    """
    if x.shape[0] == 1:
        # NOTE: OpenBLAS spends ~300 µs on the K=1 product that an outer product does in µs.
        return np.outer(x[0], d[0])
    return x.T @ d


class NumpyMLP:
    """Dense ReLU network with inverted dropout after every hidden layer, trained by SGD.

    Parameters
    ----------
    sizes : layer widths, input first: (784, 256, 128, 10) is the seed MLP.
    dropout : drop probability after each hidden layer (0 turns a layer's dropout off).
    seed : seeds the He initialisation and the dropout masks.

    Weights are stored as (in, out) like the seeds: ``self.params[i] = (W, b)``.
    """

    def __init__(self, sizes: Sequence[int] = (784, 256, 128, 10),
                 dropout: Sequence[float] = (0.5, 0.3), seed: int = 0) -> None:
        if len(dropout) != len(sizes) - 2:
            raise ValueError(f"need one dropout rate per hidden layer, got {dropout}")
        self.sizes = tuple(sizes)
        self.dropout = tuple(float(p) for p in dropout)
        self.rng = np.random.default_rng(seed)
        self.params = [
            ((self.rng.standard_normal((n_in, n_out), dtype=F32) * F32(np.sqrt(2.0 / n_in))),
             np.zeros(n_out, F32))
            for n_in, n_out in itertools.pairwise(sizes)
        ]
        self.grads: list[tuple[np.ndarray, np.ndarray]] = []

    # weights in and out, in the (out, in) layout of torch and tinygrad_lite
    def load_weights(self, weights: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Copy ``[(W_out_in, b), ...]`` (PyTorch's layout) into the network."""
        if len(weights) != len(self.params):
            raise ValueError(f"expected {len(self.params)} layers, got {len(weights)}")
        params = []
        for (W, b), (W_old, b_old) in zip(weights, self.params):
            W = np.ascontiguousarray(np.asarray(W, dtype=F32).T)
            b = np.array(b, dtype=F32).reshape(-1)
            if W.shape != W_old.shape or b.shape != b_old.shape:
                raise ValueError(f"layer shape {W.T.shape}, {b.shape} does not match "
                                 f"{W_old.T.shape}, {b_old.shape}")
            params.append((W, b))
        self.params = params

    def get_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of the weights as ``[(W_out_in, b), ...]``."""
        return [(W.T.copy(), b.copy()) for W, b in self.params]

    def _hidden_mask(self, z: np.ndarray, p: float, train: bool) -> np.ndarray:
        """Apply ReLU (and dropout when training) to ``z`` in place; return the float32 mask
        whose product with the upstream gradient is the gradient w.r.t. ``z``."""
        if not train:
            np.maximum(z, F32(0), out=z)
            return z  # unused: no backward in eval mode
        alive = z > 0
        if p > 0:
            # NOTE: 16-bit integers draw twice as fast as float32 uniforms and the threshold
            # is exact to 1/65536; the seeds' binomial(...) / keep mask is float64.
            keep = 1.0 - p
            draws = self.rng.integers(0, 1 << 16, size=z.shape, dtype=np.uint16)
            alive &= draws < round(keep * (1 << 16))
            mask = np.multiply(alive, F32(1.0 / keep), dtype=F32)
        else:
            mask = alive.astype(F32)
        np.multiply(z, mask, out=z)
        return mask

    def forward(self, X: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits for ``X`` (N, in). With ``train`` dropout is on and the activations and
        masks are kept for :meth:`backward`."""
        h = np.asarray(X, dtype=F32)
        self._inputs, self._masks = [], []
        last = len(self.params) - 1
        for i, (W, b) in enumerate(self.params):
            self._inputs.append(h)
            z = h @ W
            z += b
            if i < last:
                self._masks.append(self._hidden_mask(z, self.dropout[i], train))
            h = z
        return h

    def loss_and_grad(self, logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean softmax cross-entropy and its gradient (softmax - onehot) / N.

        ``logits`` is overwritten (it becomes the gradient)."""
        n = logits.shape[0]
        rows = np.arange(n)
        logits -= logits.max(axis=1, keepdims=True)
        picked = logits[rows, y]
        probs = np.exp(logits, out=logits)
        sums = probs.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(sums[:, 0]) - picked))
        probs /= sums
        probs[rows, y] -= F32(1)
        probs *= F32(1.0 / n)
        return loss, probs

    def backward(self, dlogits: np.ndarray) -> None:
        """Fill ``self.grads`` with ``(dW, db)`` per layer, (in, out) layout."""
        d = dlogits
        grads = []
        for i in range(len(self.params) - 1, -1, -1):
            grads.append((weight_grad(self._inputs[i], d), d.sum(axis=0)))
            if i > 0:
                d = d @ self.params[i][0].T
                d *= self._masks[i - 1]
        self.grads = grads[::-1]
        self._inputs, self._masks = [], []

    def sgd(self, lr: float) -> None:
        """``param -= lr * grad`` in place (the gradients are consumed)."""
        lr = F32(lr)
        for (W, b), (dW, db) in zip(self.params, self.grads):
            dW *= lr
            W -= dW
            db *= lr
            b -= db

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One training step (dropout on): forward, loss, backward, SGD. Returns the loss
        computed before the update."""
        loss, dlogits = self.loss_and_grad(self.forward(X, train=True), y)
        self.backward(dlogits)
        self.sgd(lr)
        return loss
