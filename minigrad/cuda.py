"""`minigrad.cuda`, as much of `torch.cuda` as everyday code asks for."""
from .backend import cuda_is_available as is_available
from .backend import cupy


def device_count():
    """How many GPUs CuPy finds (0 without CuPy)."""
    return cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def manual_seed(seed):
    """Nothing to do: every draw, for any device, comes from the host generator `minigrad.manual_seed` seeds."""


manual_seed_all = manual_seed
