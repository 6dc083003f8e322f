"""`torch.utils.data.sampler`'s names, for code that imports them from there."""
from ...data import (  # noqa: F401
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
