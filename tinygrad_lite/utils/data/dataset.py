"""`torch.utils.data.dataset`'s names, for code that imports them from there."""
from ...data import (  # noqa: F401
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
