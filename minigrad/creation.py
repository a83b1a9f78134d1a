"""Making tensors: `tensor`, `zeros`, `randn`, ... with PyTorch's signatures, and the ops that take
several tensors (`cat`, `stack`, `where`, `pad`)."""
import numpy as np

from . import dtypes
from . import functions as fn
from .backend import get_array_module, is_cupy_array, normalize_device, to_device
from .dtypes import resolve_dtype
from .random import generator
from .tensor import Tensor, _check_broadcast, _size_args, normalize_dim, promote

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
    """input where condition (a bool tensor) is true, else other; the gradient follows the branch taken."""
    condition = condition.array if isinstance(condition, Tensor) else condition
    if getattr(condition, "dtype", None) != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{getattr(condition, 'dtype', type(condition).__name__)}")
    if isinstance(input, Tensor):
        input, other = promote(input, other)
    elif isinstance(other, Tensor):  # a scalar first: promote from the other side
        other, input = promote(other, input)
    else:
        input, other = promote(Tensor(np.asarray(input, dtype=dtypes.result_type(input, other))), other)
    _check_broadcast(condition.shape, np.broadcast_shapes(*(getattr(x, "shape", ()) for x in (input, other))))
    return fn.Where.apply(condition, input, other)


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
