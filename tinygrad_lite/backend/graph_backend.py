"""The backend seam's methods as Tensor ops: what `create_graph=True` runs backward with.

Every op's backward computes its gradient through `B()`, the active backend. With this one
active, a gradient that depends on a tensor in the graph is computed by Tensor ops, so the
gradient is recorded like any forward and can be differentiated again (Hessian-vector
products, gradient penalties). Arrays that depend on nothing in the graph (a seed of ones, a
mask) still go straight to the array backend. Each Tensor op runs with the array backend
active again, so its own forward and backward are the usual ones.
"""
from __future__ import annotations

import contextlib
import types
from typing import Any, Callable, Iterator

from . import cells

# The differentiable methods, as Tensor code (the same arguments as the array backend's)
_FORMS: dict[str, Callable] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "sqrt": lambda a: a.sqrt(),
    "abs": lambda a: a.abs(),
    "tanh": lambda a: a.tanh(),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "sinh": lambda a: a.sinh(),
    "cosh": lambda a: a.cosh(),
    "atan2": lambda a, b: _tl().atan2(a, b),
    "logaddexp": lambda a, b: _tl().logaddexp(a, b),
    "contiguous": lambda a: a.contiguous(),
    "cumprod": lambda a, axis: a.cumprod(axis),
    "logcumsumexp": lambda a, axis: a.logcumsumexp(axis),
    "logsumexp": lambda a, axis=None, keepdims=False: a.logsumexp(axis, keepdim=keepdims),
    "max": lambda a, axis=None, keepdims=False: a.amax(() if axis is None else axis,
                                                      keepdim=keepdims),
    "det": lambda a: _tl().linalg.det(a),
    "inv": lambda a: _tl().linalg.inv(a),
    "einsum": lambda subscripts, *operands: _tl().einsum(subscripts, *operands),
    "take_along_axis": lambda a, indices, axis: _tl().take_along_dim(a, _array(indices), axis),
    "sigmoid": lambda a: a.sigmoid(),
    "maximum": lambda a, b: _tl().maximum(a, b),
    "minimum": lambda a, b: _tl().minimum(a, b),
    "hypot": lambda a, b: _tl().hypot(a, b),
    "where": lambda cond, a, b: _tl().where(_array(cond), a, b),
    "matmul": lambda a, b: a @ b,
    "sum": lambda a, axis=None, keepdims=False: a.sum(axis, keepdim=keepdims),
    "reshape": lambda a, shape: a.reshape(shape),
    "broadcast_to": lambda a, shape: a.broadcast_to(shape),
    "transpose": lambda a, axes: a.permute(*axes),
    "cast": lambda a, dtype: a.to(dtype),
    "getitem": lambda a, index: _getitem(a, index),
    "cumsum": lambda a, axis: a.cumsum(axis),
    "split": lambda a, sizes, axis: a.split(list(sizes), axis),
    "concatenate": lambda xs, axis: _tl().cat(list(xs), axis),
    "flip": lambda a, axis: a.flip(axis),
    "relu": lambda a: a.relu(),
    "relu_backward": lambda y, g: _tl().where(_array(y) != 0, g, 0.0),
    "sigmoid_backward": lambda y, g: g * y * (1 - y),
    "tanh_backward": lambda y, g: g * (1 - y * y),
    "dropout_apply": lambda x, mask, scale: x * _array(mask) * scale,
    "cross_entropy_backward": lambda logp, labels, g: _cross_entropy_backward(logp, labels, g),
    "index_add": lambda shape, dtype, index, g, basic: _index_add(shape, dtype, index, g, basic),
    "put_along_axis": lambda shape, dtype, indices, g, axis: _tl().zeros(
        shape, dtype=dtype).scatter(axis, _array(indices), g),
    "recurrent": lambda kind, gi, w_hh_t, b_hh, states, reverse: cells.layer(
        kind, gi, w_hh_t, b_hh, tuple(states), reverse, _tensor_lib()),
    "recurrent_backward": lambda kind, grad, grad_c, w_hh, reverse, *kept: cells.layer_backward(
        kind, grad, grad_c, w_hh, reverse, kept, _tensor_lib()),
}


# Methods whose results carry no gradient (tests, signs, roundings): run on the values
_CONSTANT = {"eq", "ne", "lt", "le", "gt", "ge", "sign", "floor", "ceil", "trunc", "round",
             "isnan", "isfinite", "argmax", "argmin", "full", "dropout_mask"}


def _tl() -> Any:
    import tinygrad_lite  # noqa: PLC0415  (the package imports this module first)
    return tinygrad_lite


def _sigmoid(x: Any) -> Any:
    return x.sigmoid()


def _tanh(x: Any) -> Any:
    return x.tanh()


def _cat_last(tensors: list) -> Any:
    return _tl().cat(tensors, -1)


def _tensor_lib() -> Any:
    """The Tensor ops `cells.layer` composes a layer from, for a recorded backward."""
    return types.SimpleNamespace(
        sigmoid=_sigmoid, tanh=_tanh, relu=lambda a: a.relu(),
        tanh_backward=_FORMS["tanh_backward"], relu_backward=_FORMS["relu_backward"],
        stack=_tl().stack, cat=_cat_last)


def _array(x: Any) -> Any:
    """`x`'s values without its graph: masks and indices carry no gradient."""
    return x.detach().numpy() if isinstance(x, _tl().Tensor) else x


def _reversals(index: Any) -> tuple[Any, tuple]:
    """`index` with its whole-dim reversals (`::-1`, how flip indexes) made plain, and the
    dims they reverse: tensor indexing refuses negative steps, as PyTorch's does."""
    if not (isinstance(index, tuple) and all(isinstance(i, slice) for i in index)):
        return index, ()
    axes = tuple(d for d, i in enumerate(index) if i == slice(None, None, -1))
    plain = tuple(slice(None) if d in axes else i for d, i in enumerate(index))
    return plain, axes


def _getitem(a: Any, index: Any) -> Any:
    index, axes = _reversals(index)
    return (a.flip(axes) if axes else a)[index]


def _cross_entropy_backward(logp: Any, labels: Any, g: Any) -> Any:
    tl = _tl()
    onehot = tl.nn.functional.one_hot(tl.tensor(_array(labels)), logp.shape[1]).to(logp.dtype)
    return (logp.exp() - onehot) * (g.reshape(-1, 1) if g.ndim else g)


def _index_add(shape: tuple, dtype: Any, index: Any, g: Any, basic: bool) -> Any:
    out = _tl().zeros(shape, dtype=dtype)
    if basic:
        index, axes = _reversals(index)
        out[index] = g.flip(axes) if axes else g
        return out
    return out.index_put(index if isinstance(index, tuple) else (index,), g, accumulate=True)


class GraphBackend:
    """Runs the methods of `arrays` (the backend that was active) as Tensor ops whenever an
    argument is a Tensor; methods without a Tensor form refuse, naming themselves."""

    name = "graph"

    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays

    def __getattr__(self, name: str) -> Callable:
        plain = getattr(self.arrays, name)
        form = _FORMS.get(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            with self._arrays_active():
                if name in _CONSTANT:
                    return plain(*[_array(a) for a in args],
                                 **{k: _array(v) for k, v in kwargs.items()})
                if not _holds_tensor((args, kwargs)):
                    return plain(*args, **kwargs)
                if form is None:
                    raise NotImplementedError(
                        f"backward with create_graph=True: the backend method {name!r} has no "
                        "Tensor form, so this gradient cannot be differentiated again")
                return form(*[_constant(a) for a in args],
                            **{k: _constant(v) for k, v in kwargs.items()})

        return method

    @contextlib.contextmanager
    def _arrays_active(self) -> Iterator[None]:
        backend = _backend()
        backend.active = self.arrays
        try:
            yield
        finally:
            backend.active = self


def _holds_tensor(x: Any) -> bool:
    """Whether a Tensor is among the arguments, also inside lists, tuples and dicts (the
    pieces of a concatenate): then the method must run as Tensor ops."""
    if isinstance(x, (list, tuple)):
        return any(_holds_tensor(v) for v in x)
    if isinstance(x, dict):
        return any(_holds_tensor(v) for v in x.values())
    return isinstance(x, _tl().Tensor)


def _constant(x: Any) -> Any:
    """An array argument (also inside a list or tuple) as a tensor that requires no grad;
    numbers and the rest as they are: a Tensor op mixes it with the gradient tensors."""
    if isinstance(x, (list, tuple)):
        return type(x)(_constant(v) for v in x)
    if hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, _tl().Tensor):
        return _tl().Tensor._wrap(x)
    return x


def _backend() -> Any:
    from .. import backend  # noqa: PLC0415  (this package, whose `active` is swapped)
    return backend


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Backward passes inside run on Tensor ops (create_graph=True)."""
    backend = _backend()
    arrays = backend.active
    backend.active = GraphBackend(arrays)
    try:
        yield
    finally:
        backend.active = arrays
