"""Making tensors: `tensor`, `zeros`, `randn`, ... with PyTorch's signatures."""
import numpy as np

from . import dtypes
from .backend import get_array_module, is_cupy_array, normalize_device, to_device
from .dtypes import resolve_dtype
from .random import generator
from .tensor import Tensor, _size_args

DEFAULT_DTYPE = dtypes.DEFAULT
_PYTHON_DEFAULTS = {np.dtype(np.float64): DEFAULT_DTYPE, np.dtype(np.complex128): np.dtype(np.complex64)}


def _finish(array, dtype, device, requires_grad):
    array = array if dtype is None else array.astype(resolve_dtype(dtype), copy=False)
    array = array if device is None else to_device(array, normalize_device(device))
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor holding a copy of `data` (list, number, NumPy/CuPy array or Tensor).

    Python floats become float32 and Python complex numbers complex64 (PyTorch's defaults);
    arrays keep their dtype.
    """
    data = data.array if isinstance(data, Tensor) else data
    array = get_array_module(data).array(data, copy=True)
    if not (isinstance(data, np.ndarray) or is_cupy_array(data)):
        array = array.astype(_PYTHON_DEFAULTS.get(array.dtype, array.dtype), copy=False)
    return _finish(array, dtype, device, requires_grad)


def _size(name, sizes, size=None):
    """The shape from f(2, 3), f((2, 3)) or f(size=(2, 3))."""
    sizes = _size_args(sizes) if size is None else _size_args((size,))
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in sizes):
        raise ValueError(f"{name}(): size must be non-negative integers, got {sizes}")
    return sizes


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with `fill_value` (float32 unless `dtype` says otherwise)."""
    array = np.full(_size("full", (size,)), fill_value, dtype=resolve_dtype(dtype))
    return _finish(array, None, device, requires_grad)


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return full(_size("zeros", sizes, size), 0, dtype, device, requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return full(_size("ones", sizes, size), 1, dtype, device, requires_grad)


empty = zeros  # PyTorch leaves the memory uninitialized; zeros are one valid choice of "anything"


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m = n unless given)."""
    return _finish(np.eye(n, n if m is None else m, dtype=resolve_dtype(dtype)), None, device, requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False):
    """`fill_value` everywhere, with the shape, dtype and device of `other`."""
    return full(other.shape, fill_value, dtype or other.dtype, device or other.device, requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False):
    """Zeros with the shape, dtype and device of `other`."""
    return zeros(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False):
    """Ones with the shape, dtype and device of `other`."""
    return ones(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in [start, end): int64 for whole-number arguments, else float32."""
    start, end = (0, start) if end is None else (start, end)
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    is_integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    array = np.arange(start, end, step, dtype=resolve_dtype(dtype, np.int64 if is_integral else DEFAULT_DTYPE))
    return _finish(array, None, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """`steps` values from start to end, both included."""
    return _finish(np.linspace(start, end, steps, dtype=resolve_dtype(dtype)), None, device, requires_grad)


def _check_floating(name, kernel, dtype):
    if dtypes.category(dtype) < 2:  # PyTorch has no such kernel for integer or bool tensors
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtypes.type_name(dtype)[9:-6]}\'')


def randn(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples; complex dtypes get real and imaginary parts of variance 1/2 each."""
    size, dtype = _size("randn", sizes, size), resolve_dtype(dtype)
    _check_floating("randn", "normal_kernel_cpu", dtype)
    array = generator().standard_normal(size)
    if dtype.kind == "c":
        array = (array + 1j * generator().standard_normal(size)) / np.sqrt(2)
    return _finish(array.astype(dtype), None, device, requires_grad)


def rand(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    _check_floating("rand", "check_uniform_bounds", resolve_dtype(dtype))
    array = generator().random(_size("rand", sizes, size))
    return _finish(array.astype(resolve_dtype(dtype)), None, device, requires_grad)


def randn_like(other, dtype=None, device=None, requires_grad=False):
    return randn(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def rand_like(other, dtype=None, device=None, requires_grad=False):
    return rand(other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad)


def randint(*bounds, size=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size); int64."""
    bounds, size = (bounds[:-1], bounds[-1]) if size is None and bounds else (bounds, size)
    if len(bounds) not in (1, 2) or size is None:
        raise TypeError(f"randint() takes (high, size) or (low, high, size), got bounds {bounds}")
    low, high = (0, *bounds) if len(bounds) == 1 else bounds
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    array = generator().integers(low, high, _size("randint", (size,)))
    return _finish(array.astype(resolve_dtype(dtype, dtypes.int64)), None, device, requires_grad)


def randperm(n, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64)."""
    return _finish(generator().permutation(n).astype(resolve_dtype(dtype, dtypes.int64)), None, device, requires_grad)


def from_numpy(array):
    """A tensor sharing memory with the NumPy array: a change to one shows in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def as_tensor(data, dtype=None, device=None):
    """`data` as a tensor, sharing its memory when no conversion is needed (as PyTorch)."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data if device is None else data.to(device)
    if isinstance(data, np.ndarray) or is_cupy_array(data):
        return _finish(data, dtype, device, False)
    return tensor(data, dtype=dtype, device=device)
