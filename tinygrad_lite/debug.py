"""Developer tools: look at what the numba backend is about to run."""
from __future__ import annotations

from .backend import codegen
from .backend.lazy import Lazy, plan
from .tensor import Tensor


def show_kernel(t: Tensor, file=None) -> str:
    """Print (and return) the source of the fused kernel that would compute `t`.

    Only a tensor whose value is still pending under the numba backend has one; for any
    other tensor a one-line note says why there is none. Nothing is compiled or run.

    Examples
    --------
    >>> tl.set_backend("numba")
    >>> a = tl.randn(1000, 1000)
    >>> src = tl.debug.show_kernel((a * 2).relu())   # prints `def kernel(n0, out, x0, x1): ...`
    """
    data = t._data if isinstance(t, Tensor) else t
    if type(data) is not Lazy:
        text = (f"# no kernel: a concrete {type(data).__name__} (ran eagerly, or with the "
                "numpy backend)")
    elif data.value is not None:
        text = "# no kernel: already computed (the kernel ran when the value was first needed)"
    else:
        text = codegen.source(plan(data, None)[0])
    print(text, file=file)
    return text
