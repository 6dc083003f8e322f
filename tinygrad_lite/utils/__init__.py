"""Where PyTorch keeps its data utilities (`torch.utils.data`), so that its imports carry over:
`from tinygrad_lite.utils.data import DataLoader, TensorDataset`."""
from . import data

__all__ = ["data"]
