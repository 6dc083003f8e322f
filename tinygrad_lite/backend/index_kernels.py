"""Index kernels for the numba backend: the backward of taking rows or windows, and argmax.

`x[:, :, index]` (conv and pool windows) and `weight[index]` (an embedding) take the same
element many times, so their backward adds each gradient term at its place: numpy's
`np.add.at`, which costs ~10 ns an element (76 ms for the windows of a 3x3 conv over
64x16x28x28). This loop adds the terms in the same order, one by one, so the sums are
`np.add.at`'s own, bit for bit (the tests check it). Argmax runs along rows (`max(dim)`),
where numpy's per-row call costs most of the time when the rows are short; a max pool's
finds each window's maximum in place, without gathering the windows first.

Never imported as a package module: the numba backend loads this file's text through the
kernel cache (`codegen.load`), as it does optim_kernels.py.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def add_rows(out, positions, g):
    """out[r, positions[j], c] += g[r, j, c] for every r, j, c, with j in order."""
    if g.shape[2] == 1:  # NOTE: windows: a loop of length 1 inside cost 2x (12.8 -> 6.4 ms)
        for r in range(g.shape[0]):
            row, terms = out[r, :, 0], g[r, :, 0]
            for j in range(g.shape[1]):
                row[positions[j]] += terms[j]
        return
    for r in range(g.shape[0]):
        for j in range(g.shape[1]):
            row, terms = out[r, positions[j]], g[r, j]
            for c in range(g.shape[2]):
                row[c] += terms[c]


@njit(cache=True, nogil=True, error_model="numpy")
def arg_extreme(x, out, largest):
    """out[i] = the position of row i's largest (smallest) value: the first of ties, or the
    first nan, as np.argmax (np.argmin) picks."""
    for i in range(x.shape[0]):
        best, k = x[i, 0], 0
        for j in range(1, x.shape[1]):
            if best != best:
                break
            v = x[i, j]
            if (v > best if largest else v < best) or v != v:
                best, k = v, j
        out[i] = k


@njit(cache=True, nogil=True, error_model="numpy")
def window_argmax(x, index, out):
    """out[r, l] = r * P + index[l, k] (a position in x flattened) for the k whose
    x[r, index[l, k]] is largest: the first of ties, or the first nan, as np.argmax picks
    along each gathered window."""
    size = x.shape[1]
    for r in range(x.shape[0]):
        row = x[r]
        for l in range(index.shape[0]):
            at = index[l, 0]
            best = row[at]
            for k in range(1, index.shape[1]):
                if best != best:
                    break
                p = index[l, k]
                v = row[p]
                if v > best or v != v:
                    best, at = v, p
            out[r, l] = r * size + at
