"""`minigrad.utils.data`, where PyTorch code looks for `DataLoader` and `TensorDataset`."""
from . import data  # noqa: F401
