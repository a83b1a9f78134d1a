"""Making tensors: `tensor`, `zeros`, `randn`, ... with PyTorch's signatures, and the ops that take
several tensors (`cat`, `stack`, `where`, `pad`)."""
import numpy as np

from . import functions as fn
from .backend import get_array_module, is_cupy_array, normalize_device, to_device
from .random import generator
from .tensor import Tensor, _check_broadcast, _size_args, normalize_dim

DEFAULT_DTYPE = np.dtype(np.float32)
_PYTHON_DEFAULTS = {np.dtype(np.float64): DEFAULT_DTYPE, np.dtype(np.complex128): np.dtype(np.complex64)}


def resolve_dtype(dtype, default=DEFAULT_DTYPE):
    if dtype is None:
        return default
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype or its name such as 'float32', got {dtype!r}") from None


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


def _size(name, sizes):
    sizes = _size_args(sizes)
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in sizes):
        raise ValueError(f"{name}(): size must be non-negative integers, got {sizes}")
    return sizes


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with `fill_value` (float32 unless `dtype` says otherwise)."""
    array = np.full(_size("full", (size,)), fill_value, dtype=resolve_dtype(dtype))
    return _finish(array, None, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return full(_size("zeros", size), 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return full(_size("ones", size), 1, dtype, device, requires_grad)


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


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples; complex dtypes get real and imaginary parts of variance 1/2 each."""
    size, dtype = _size("randn", size), resolve_dtype(dtype)
    array = generator().standard_normal(size)
    if dtype.kind == "c":
        array = (array + 1j * generator().standard_normal(size)) / np.sqrt(2)
    return _finish(array.astype(dtype), None, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    return _finish(generator().random(_size("rand", size)).astype(resolve_dtype(dtype)), None, device, requires_grad)


def cat(tensors, dim=0):
    """Join tensors along an existing dimension; all other sizes must agree."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of tensors")
    first = tensors[0]
    dim = normalize_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != dim):
            raise RuntimeError(f"cat(): tensor {i} has shape {t.shape}, which does not match {first.shape} "
                               f"outside dimension {dim}")
    return fn.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    """Join equally shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack(): every tensor must have the same shape, but tensor {i} has {t.shape} "
                               f"and tensor 0 has {tensors[0].shape}")
    dim = normalize_dim(dim, tensors[0].ndim, extra=1)
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def where(condition, input, other):
    """input where condition is true, else other; the gradient follows the branch taken."""
    condition = condition.array if isinstance(condition, Tensor) else condition
    a = input if isinstance(input, Tensor) else Tensor(get_array_module(condition).asarray(input))
    b = other if isinstance(other, Tensor) else Tensor(get_array_module(condition).asarray(other))
    _check_broadcast(a.shape, b.shape)
    return fn.Where.apply(condition, a, b)


def pad(input, pad, mode="constant", value=0.0):
    """Pad as torch.nn.functional.pad: `pad` = (left, right, top, bottom, ...) from the last dimension.

    mode 'constant' (negative amounts crop), 'reflect', 'replicate' or 'circular'.
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of amounts, at most 2 per dimension ({input.ndim} dims), got {pad}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        return fn.Pad.apply(input, widths=widths, value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    out = input
    for dim, (lo, hi) in enumerate(widths):
        if lo or hi:  # gather along this dimension: the gradient adds back into the source positions
            index = [slice(None)] * input.ndim
            index[dim] = _pad_positions(input.shape[dim], lo, hi, mode)
            out = out[tuple(index)]
    return out


def _pad_positions(n, lo, hi, mode):
    """For each padded position along a dimension of size n, the input position it copies."""
    if min(lo, hi) < 0:
        raise ValueError(f"pad: mode {mode!r} needs non-negative amounts, got ({lo}, {hi})")
    limit = n - 1 if mode == "reflect" else n
    if mode != "replicate" and max(lo, hi) > limit:
        raise ValueError(f"pad: mode {mode!r} allows at most {limit} per side for a dimension of size {n}, got ({lo}, {hi})")
    positions = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1)  # reflect: ... 2 1 [0 1 2 3] 2 1 0 ...
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= n, period - folded, folded)
