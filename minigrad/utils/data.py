"""torch.utils.data's everyday names; they live in minigrad.data."""
from ..data import DataLoader, TensorDataset  # noqa: F401
