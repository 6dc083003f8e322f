"""`tinygrad_lite.data` under PyTorch's name, `torch.utils.data`: the same objects, not copies."""
from ...data import *  # noqa: F403
from ...data import __all__  # noqa: F401
