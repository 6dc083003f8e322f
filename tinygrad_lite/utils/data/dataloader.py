"""`torch.utils.data.dataloader`'s names, for code that imports them from there."""
from ...data import DataLoader, default_collate, default_convert  # noqa: F401
