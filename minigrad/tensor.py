"""`Tensor`: an ndarray (NumPy or CuPy) plus what autograd needs: `requires_grad`, `grad`, `grad_fn`.

Every differentiable method here is one call of a `Function` from `functions.py`.
"""
from collections import namedtuple

import numpy as np

from . import autograd
from . import functions as fn
from .backend import device_of, device_or_dtype, get_array_module, is_cupy_array, to_device

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def is_differentiable_dtype(dtype):
    return np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)


def normalize_dim(dim, ndim, extra=0):
    """A dimension index in [0, ndim + extra), accepting negatives as Python and PyTorch do."""
    low, high = -(ndim + extra), ndim + extra - 1
    if not isinstance(dim, (int, np.integer)) or not low <= dim <= max(high, 0):
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return int(dim) % max(ndim + extra, 1)


def _method(function):
    """Tensor.exp and the like: the method form of a one-input Function."""
    method = lambda self: function.apply(self)  # noqa: E731
    method.__name__ = function.__name__.lower()
    return method


def _binary_methods(function):
    """(a + b, b + a) and the like for a two-input Function; `other` may be a Tensor, a number or an array."""
    def apply(self, other, reflected):
        other = other if isinstance(other, (Tensor, int, float, complex, bool)) else Tensor(other)
        if isinstance(other, Tensor):
            _check_broadcast(self.shape, other.shape)
        return function.apply(other, self) if reflected else function.apply(self, other)
    return lambda self, other: apply(self, other, False), lambda self, other: apply(self, other, True)


def _comparison(ufunc):
    """Tensor == other and the like: a boolean tensor, outside the graph."""
    return lambda self, other: Tensor(ufunc(self.array, other.array if isinstance(other, Tensor) else other))


class Tensor:
    """An n-dimensional array (NumPy or CuPy, in `.array`) that records how it was computed."""

    __hash__ = object.__hash__  # == compares elementwise, so hash by identity (as PyTorch)
    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__

    def __init__(self, array, requires_grad=False):
        self.array = array if isinstance(array, np.ndarray) or is_cupy_array(array) else np.asarray(array)
        self.grad = None
        self.grad_fn = None
        self.requires_grad = requires_grad

    # ---- attributes -----------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not is_differentiable_dtype(self.array.dtype):
            raise RuntimeError(f"only tensors of floating point and complex dtype can require gradients, got {self.dtype}")
        self._requires_grad = bool(flag)

    shape = property(lambda self: tuple(self.array.shape))
    dtype = property(lambda self: self.array.dtype)
    device = property(lambda self: device_of(self.array))
    ndim = property(lambda self: self.array.ndim)
    is_leaf = property(lambda self: self.grad_fn is None)
    data = property(lambda self: Tensor(self.array), doc="The same array without the graph (as PyTorch's .data).")
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    real = property(lambda self: fn.Real.apply(self))
    imag = property(lambda self: fn.Imag.apply(self))
    dim = lambda self: self.ndim  # noqa: E731
    numel = lambda self: int(self.array.size)  # noqa: E731

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim)]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- autograd -------------------------------------------------------------------------
    def backward(self, gradient=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`; `gradient` is d loss / d self."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self.numel() != 1 or not np.issubdtype(self.dtype, np.floating):
                raise RuntimeError(f"backward(): grad can be implicitly created only for real scalar outputs, "
                                   f"but this tensor has shape {self.shape} and dtype {self.dtype}; pass gradient=")
            gradient = get_array_module(self.array).ones_like(self.array)
        else:
            gradient = gradient.array if isinstance(gradient, Tensor) else gradient
            if tuple(gradient.shape) != self.shape:
                raise RuntimeError(f"backward(): gradient has shape {tuple(gradient.shape)} but the tensor has shape {self.shape}")
        autograd.backward(self, gradient)

    def detach(self):
        return Tensor(self.array)

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    def retain_grad(self):
        raise NotImplementedError("minigrad keeps .grad on leaves only")

    # ---- conversion -----------------------------------------------------------------------
    def numpy(self):
        """A host NumPy copy of the values (no graph, safe to modify)."""
        return np.array(to_device(self.array, "cpu"), copy=True)

    def __array__(self, dtype=None, copy=None):
        array = to_device(self.array, "cpu")
        return array if dtype is None else array.astype(dtype)

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"item(): a tensor with {self.numel()} elements cannot be converted to a Python scalar")
        return self.array.reshape(()).item()

    def tolist(self):
        return to_device(self.array, "cpu").tolist()

    def to(self, target):
        """A copy on another device ('cpu', 'cuda') or of another dtype; differentiable."""
        device, dtype = device_or_dtype(target)
        if dtype is not None:
            return self if dtype == self.dtype else fn.Cast.apply(self, dtype=dtype)
        return self if device == self.device else _Move.apply(self, device=device)

    cpu = lambda self: self.to("cpu")  # noqa: E731
    cuda = lambda self: self.to("cuda")  # noqa: E731
    float = lambda self: self.to(np.float32)  # noqa: E731
    double = lambda self: self.to(np.float64)  # noqa: E731
    contiguous = lambda self: self  # noqa: E731
    __float__ = lambda self: float(self.item())  # noqa: E731
    __int__ = lambda self: int(self.item())  # noqa: E731
    __bool__ = lambda self: bool(self.item())  # noqa: E731

    def clone(self):
        return fn.Reshape.apply(self, shape=self.shape) if self.requires_grad else Tensor(self.array.copy())

    def __format__(self, spec):
        return format(self.item(), spec) if self.ndim == 0 else format(repr(self), spec)

    def __repr__(self):
        values = to_device(self.array, "cpu")
        whole = values.dtype.kind not in "fc" or bool(np.all(np.isfinite(values) & (values == np.round(values))))
        body = np.array2string(values, precision=4, separator=", ", prefix="tensor(",
                               floatmode="maxprec" if whole else "fixed")  # 4 decimals unless whole, as PyTorch
        extras = [f"device='{self.device}'"] if self.device != "cpu" else []
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn.name()}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({', '.join([body] + extras)})"

    # ---- in place, outside the graph ------------------------------------------------------
    def _check_in_place(self):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("a tensor that requires grad cannot be changed in place; use `with minigrad.no_grad():`")

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_in_place()
        self.array[...] = value
        return self

    def copy_(self, source):
        self._check_in_place()
        source = source.array if isinstance(source, Tensor) else source
        self.array[...] = to_device(get_array_module(source).asarray(source), self.device)
        return self

    def __setitem__(self, index, value):
        self._check_in_place()
        self.array[_raw_index(index)] = value.array if isinstance(value, Tensor) else value

    # ---- arithmetic -----------------------------------------------------------------------
    __add__, __radd__ = _binary_methods(fn.Add)
    __sub__, __rsub__ = _binary_methods(fn.Sub)
    __mul__, __rmul__ = _binary_methods(fn.Mul)
    __truediv__, __rtruediv__ = _binary_methods(fn.Div)
    __pow__, __rpow__ = _binary_methods(fn.Pow)
    __neg__ = _method(fn.Neg)

    def __matmul__(self, other):
        a, b = self, other if isinstance(other, Tensor) else Tensor(other)
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.dtype != b.dtype:
            raise RuntimeError(f"matmul: expected both arguments to have the same dtype, got {a.dtype} and {b.dtype}")
        dropped = ({-1} if b.ndim == 1 else set()) | ({-2} if a.ndim == 1 else set())
        a = a.unsqueeze(0) if a.ndim == 1 else a
        b = b.unsqueeze(-1) if b.ndim == 1 else b
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(f"matmul: shapes {self.shape} and {other.shape} cannot be multiplied "
                               f"({a.shape[-1]} columns against {b.shape[-2]} rows)")
        _check_broadcast(a.shape[:-2], b.shape[:-2])
        out = fn.MatMul.apply(a, b)  # 1-D operands were lifted to matrices; drop those axes again
        return out.reshape(tuple(n for i, n in enumerate(out.shape) if i - out.ndim not in dropped))

    def __rmatmul__(self, other):
        return Tensor(other).__matmul__(self)

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = map(_comparison, (np.equal, np.not_equal, np.less, np.less_equal,
                                                                       np.greater, np.greater_equal))

    # ---- elementwise functions ------------------------------------------------------------
    exp, log, sqrt, abs, tanh, sigmoid, relu, conj = map(_method, (fn.Exp, fn.Log, fn.Sqrt, fn.Abs, fn.Tanh,
                                                                   fn.Sigmoid, fn.Relu, fn.Conj))

    def clamp(self, min=None, max=None):
        if np.issubdtype(self.dtype, np.complexfloating):
            raise RuntimeError("clamp is not supported for complex tensors")
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return fn.Clamp.apply(self, low=min, high=max)

    # ---- reductions -----------------------------------------------------------------------
    def _dims(self, dim):
        if dim is None:
            return None
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        return tuple(sorted(normalize_dim(d, self.ndim) for d in dims))

    def sum(self, dim=None, keepdim=False):
        return fn.Sum.apply(self, dim=self._dims(dim), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        dims = self._dims(dim)
        count = self.numel() if dims is None else int(np.prod([self.shape[d] for d in dims]))
        return self.sum(dims, keepdim) / count

    def max(self, dim=None, keepdim=False):
        """The largest element, or along `dim` the pair (values, indices) as PyTorch."""
        if self.numel() == 0:
            raise RuntimeError("max(): cannot reduce an empty tensor")
        if dim is None:
            return fn.Max.apply(self)
        dim = normalize_dim(dim, self.ndim)
        return MaxResult(fn.Max.apply(self, dim=dim, keepdim=keepdim), self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False):
        if dim is None:
            return -(-self).max()
        return MaxResult(-(-self).max(dim, keepdim).values, self.argmin(dim, keepdim))

    def argmax(self, dim=None, keepdim=False):
        return self._arg(self.array.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(self.array.argmin, dim, keepdim)

    def _arg(self, method, dim, keepdim):
        if dim is None:
            return Tensor(method())
        dim = normalize_dim(dim, self.ndim)
        index = method(axis=dim)
        return Tensor(get_array_module(index).expand_dims(index, dim) if keepdim else index)

    # ---- shapes ---------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _size_args(shape)
        try:
            target = np.empty(self.shape, dtype=bool).reshape(shape).shape  # resolves -1, checks the size
        except ValueError:
            raise RuntimeError(f"shape {list(shape)} is invalid for a tensor of shape {self.shape} ({self.numel()} elements)") from None
        return self if target == self.shape else fn.Reshape.apply(self, shape=target)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = normalize_dim(start_dim, self.ndim), normalize_dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError(f"flatten(): start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = tuple(normalize_dim(d, self.ndim) for d in _size_args(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {dims} must be a reordering of 0..{self.ndim - 1}")
        return fn.Permute.apply(self, dims=dims)

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        a, b = normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim)
        dims[a], dims[b] = dims[b], dims[a]
        return self.permute(*dims)

    def unsqueeze(self, dim):
        dim = normalize_dim(dim, self.ndim, extra=1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        dims = range(self.ndim) if dim is None else self._dims(dim)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def expand(self, *sizes):
        sizes = _size_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(): the number of sizes ({len(sizes)}) must be at least the tensor's dims ({self.ndim})")
        own = (None,) * (len(sizes) - self.ndim) + self.shape
        target = tuple(n if s == -1 else s for s, n in zip(sizes, own))
        for s, n in zip(target, own):
            if s is None or (n is not None and n != 1 and s != n):
                raise RuntimeError(f"expand(): cannot expand shape {self.shape} to {tuple(sizes)}")
        return fn.Expand.apply(self, shape=target)

    def __getitem__(self, index):
        try:
            return fn.Index.apply(self, index=_raw_index(index))
        except IndexError as error:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {self.shape}: {error}") from None


class _Move(autograd.Function):
    """Copy to another device; the gradient goes back to where the input lives."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = device_of(x)
        return to_device(x, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.source)


def _raw_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p.array if isinstance(p, Tensor) else np.asarray(p) if isinstance(p, list) else p for p in parts)
    return parts if isinstance(index, tuple) else parts[0]


def _size_args(sizes):
    """Accept f(2, 3) and f((2, 3)) alike, as PyTorch does."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def _check_broadcast(shape_a, shape_b):
    for i, (a, b) in enumerate(zip(reversed(shape_a), reversed(shape_b))):
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"the size of tensor a ({a}) must match the size of tensor b ({b}) at dimension "
                               f"{-1 - i} (shapes {tuple(shape_a)} and {tuple(shape_b)} do not broadcast)")
