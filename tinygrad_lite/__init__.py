"""tinygrad_lite: a small, readable, fast autograd framework with PyTorch's names."""
import builtins as _builtins

# NOTE: these build on tensor and ops, so they come after them
from . import (  # noqa: E402
    accelerator,
    autograd,
    autograd_functional,
    backend,
    backends,
    cuda,
    data,
    debug,
    func,
    linalg,
    nn,
    optim,
    train,
    utils,
    viz,
)
from .autograd import (
    detect_anomaly,
    enable_grad,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .backend import get_backend, set_backend
from .functions import COPY_FUNCTIONS as _COPY_FUNCTIONS
from .functions import FUNCTIONS as _FUNCTIONS
from .functions import (
    Size,
    alias_copy,
    asarray,
    bartlett_window,
    binomial,
    blackman_window,
    block_diag,
    bucketize,
    can_cast,
    cartesian_prod,
    chain_matmul,
    combinations,
    concat,
    concatenate,
    cumulative_trapezoid,
    empty_strided,
    fill,
    finfo,
    frobenius_norm,
    gradient,
    hamming_window,
    hann_window,
    iinfo,
    imag,
    inference_mode,
    is_tensor,
    isin,
    kaiser_window,
    nuclear_norm,
    poisson,
    polygamma,
    promote_types,
    randperm,
    real,
    result_type,
    rsub,
    scalar_tensor,
    searchsorted,
    special,
    tensordot,
    trapezoid,
    trapz,
    tril_indices,
    triu_indices,
    unravel_index,
    vander,
)
from .gradcheck import gradcheck, gradgradcheck
from .jit import TinyJit
from .rng import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import load, load_model, save  # noqa: E402
from .summary import ModelSummary, summary  # noqa: E402
from .tensor import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    Tensor,
    arange,
    as_tensor,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    bernoulli,
    bool_,
    broadcast_shapes,
    broadcast_tensors,
    cat,
    cdist,
    column_stack,
    device,
    dstack,
    einsum,
    empty,
    empty_like,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    get_default_device,
    get_default_dtype,
    hstack,
    int8,
    int16,
    int32,
    int64,
    linspace,
    logspace,
    matmul,
    meshgrid,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    set_default_device,
    set_default_dtype,
    set_printoptions,
    stack,
    tensor,
    uint8,
    vstack,
    where,
    zeros,
    zeros_like,
)
from .train import History, evaluate, fit, plot_decision_boundary
from .viz import draw_graph  # noqa: E402

float = float32  # noqa: A001  PyTorch's short names: tl.float, tl.double, tl.long, tl.bool
double = float64
long = int64
bool = bool_  # noqa: A001
half = float16
int = int32  # noqa: A001
short = int16

# torch.autograd.gradcheck, gradgradcheck and functional have these homes too
autograd.gradcheck, autograd.gradgradcheck = gradcheck, gradgradcheck
autograd.functional = autograd_functional
vmap = func.vmap  # torch.vmap is torch.func.vmap

# PyTorch's function forms of the Tensor methods: tl.exp(t), tl.sum(t, dim=1), tl.max(t), ...
globals().update(_FUNCTIONS)
globals().update(_COPY_FUNCTIONS)  # and the copying forms of the view ops: tl.permute_copy, ...
row_stack = vstack
lu_unpack = linalg.lu_unpack
# torch's top-level forms of nn.functional ops whose positional arguments are F's
globals().update({_name: getattr(nn.functional, _name) for _name in (
    "adaptive_avg_pool1d", "alpha_dropout", "avg_pool1d", "bilinear", "celu", "channel_shuffle",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "cosine_similarity",
    "dropout", "feature_alpha_dropout", "group_norm", "layer_norm", "max_pool1d", "max_pool2d",
    "max_pool3d", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "rms_norm",
    "rrelu", "selu", "threshold")})
from . import functional, profiler  # noqa: E402  (functional re-exports names defined above)

autograd.profiler = profiler  # NOTE: PyTorch has it at torch.autograd.profiler too
xpu = cuda  # NOTE: PyTorch's Intel GPU namespace answers as cuda's does: no device

# NOTE: `from tinygrad_lite import *` must not replace Python's own sum, max, float, ...
__all__ = sorted(name for name in dir() if not name.startswith("_")
                 and not hasattr(_builtins, name))

__version__ = "0.1.0"
