"""Where arrays live: NumPy on the CPU, CuPy on a GPU. The array module always follows the data.

CuPy is imported only when a CUDA array is asked for, so minigrad works without it.
"""
import numpy as np

DEVICES = ("cpu", "cuda")


def cupy():
    """The CuPy module, or a clear error when it (or a GPU) is not available."""
    try:
        import cupy as cp
    except ImportError as error:
        raise RuntimeError("device 'cuda' needs CuPy: pip install cupy-cuda12x (and an NVIDIA GPU)") from error
    return cp


def cuda_is_available():
    """True when CuPy is installed and finds at least one GPU."""
    try:
        return cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: all mean "no"
        return False


def is_cupy_array(array):
    """True for a CuPy array, decided by its module's name so that asking never imports CuPy."""
    return type(array).__module__.startswith("cupy")


def get_array_module(*arrays):
    """numpy or cupy, whichever holds the given arrays (numpy for scalars and lists)."""
    for array in arrays:
        if is_cupy_array(array):
            return cupy()
    return np


def device_of(array):
    """'cuda' for a CuPy array, 'cpu' otherwise."""
    return "cuda" if is_cupy_array(array) else "cpu"


class device(str):
    """torch.device's counterpart: device("cuda:0").type == "cuda"; it compares equal to its name."""

    def __new__(cls, type, index=None):
        name = normalize_device(type)
        return super().__new__(cls, name)

    type = property(lambda self: str(self))
    index = property(lambda self: 0 if self == "cuda" else None)

    def __repr__(self):
        return f"device(type='{self}')"


def normalize_device(device):
    """Accept None, 'cpu', 'cuda', 'cuda:0' (and torch-like device objects printed that way)."""
    if device is None:
        return "cpu"
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    return name


def device_or_dtype(target):
    """What `.to(target)` means: ('cuda', None) for a device, (None, float32) for a dtype."""
    if str(target).split(":")[0] in DEVICES:
        return normalize_device(target), None
    try:
        if target is not None:  # np.dtype(None) would mean float64
            return None, np.dtype(target)
    except TypeError:
        pass
    raise ValueError(f"to() takes a device (one of {DEVICES}) or a dtype, but got {target!r}")


def to_device(array, device):
    """The array on `device` ('cpu' or 'cuda'); no copy when it is already there."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cuda":
        return cupy().asarray(array)
    return array.get()


def check_same_device(*arrays, what="tensors"):
    """Raise a clear error when arrays live on different devices (PyTorch never copies silently)."""
    devices = {device_of(a) for a in arrays if a is not None}
    if len(devices) > 1:
        raise RuntimeError(f"expected all {what} to be on the same device, but found {sorted(devices)}")
