"""`Tensor`: an ndarray (NumPy or CuPy) plus what autograd needs: `requires_grad`, `grad`, `grad_fn`.

Every differentiable method here is one call of a `Function` from `ops.py`, or a composition of
such methods. In-place methods (`add_`, `x += y`, `x[i] = v`, ...) all go through `_in_place`.
"""
from collections import namedtuple

import numpy as np

from . import autograd
from . import dtypes
from . import ops
from .backend import device, device_of, device_or_dtype, get_array_module, is_cupy_array, to_device
from .random import generator

MaxResult = namedtuple("MaxResult", ["values", "indices"])
is_differentiable_dtype = dtypes.is_differentiable


def normalize_dim(dim, ndim, extra=0):
    """A dimension index in [0, ndim + extra), accepting negatives as Python and PyTorch do."""
    low, high = -(ndim + extra), ndim + extra - 1
    if not isinstance(dim, (int, np.integer)) or not low <= dim <= max(high, 0):
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return int(dim) % max(ndim + extra, 1)


_SCALARS = (int, float, complex, bool, np.generic)


def promote(self, other, true_division=False):
    """(self, other) cast to the dtype PyTorch gives `self op other`; a scalar stays a scalar of that
    dtype, anything else (an array) becomes a Tensor."""
    other = other if isinstance(other, (Tensor, *_SCALARS)) else Tensor(get_array_module(self.array).asarray(other))
    raw = other.array if isinstance(other, Tensor) else other
    if self.dtype.kind == "f" and (type(other) in (int, float) or isinstance(other, Tensor) and other.dtype == self.dtype):
        dtype = self.dtype  # the common case, decided without the general rule
    else:
        dtype = dtypes.result_type(self.array, raw)
    if true_division and dtype.kind not in "fc":
        dtype = dtypes.DEFAULT  # 7 / 2 is 3.5 for integer tensors too
    if isinstance(other, Tensor):
        _check_broadcast(self.shape, other.shape)
        return _cast(self, dtype), _cast(other, dtype)
    return _cast(self, dtype), dtype.type(other)


def _cast(tensor, dtype):
    return tensor if tensor.dtype == dtype else ops.Cast.apply(tensor, dtype=dtype)


def _binary(function, self, other, reflected=False):
    """self op other (or other op self): a two-input Function on PyTorch's promoted operands."""
    a, b = promote(self, other, true_division=function is ops.Div)
    return function.apply(b, a) if reflected else function.apply(a, b)


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
        self._version_counter = [0]  # shared by tensors that share memory (detach, views)
        self._base = self._view_of = None  # the tensor whose memory this is a view of, and how it was made

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (backward checks saved tensors)."""
        return self._version_counter[0]

    def _bump_version(self):
        """Record an in-place change made to `.array` from outside the Tensor methods (optimizers, init)."""
        self._version_counter[0] += 1

    def _share_memory_with(self, other, view):
        """Made by `view` = (Function, settings) from `other`, in other's memory: one version counter."""
        self._version_counter = other._version_counter
        self._base = other if other._base is None else other._base
        self._view_of = (other, *view)

    # ---- attributes -----------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not is_differentiable_dtype(self.array.dtype):
            raise RuntimeError(f"only tensors of floating point and complex dtype can require gradients, got {self.dtype}")
        self._requires_grad = bool(flag)

    @property
    def data(self):
        """The same memory without the graph; unlike detach(), changes to it are hidden from autograd (as PyTorch)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self.array = value.array

    shape = property(lambda self: tuple(self.array.shape))
    dtype = property(lambda self: self.array.dtype)
    device = property(lambda self: device(device_of(self.array)))
    is_cuda = property(lambda self: self.device == "cuda")
    ndim = property(lambda self: self.array.ndim)
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    real = property(lambda self: ops.Real.apply(self))
    imag = property(lambda self: ops.Imag.apply(self))
    dim = ndimension = lambda self: self.ndim  # noqa: E731
    numel = nelement = lambda self: int(self.array.size)  # noqa: E731

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim)]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- autograd -------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`; `gradient` is d loss / d self.
        The graph's saved arrays are freed unless `retain_graph=True`, so a second backward raises."""
        if create_graph:
            raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by minigrad")
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self.numel() != 1 or not np.issubdtype(self.dtype, np.floating):
                kind = "scalar" if self.numel() != 1 else "real scalar"  # PyTorch's two messages
                raise RuntimeError(f"grad can be implicitly created only for {kind} outputs (this tensor has shape "
                                   f"{self.shape} and dtype {self.dtype}); pass gradient=")
            gradient = get_array_module(self.array).ones_like(self.array)
        else:
            gradient = gradient.array if isinstance(gradient, Tensor) else gradient
            if tuple(gradient.shape) != self.shape:
                raise RuntimeError(f"backward(): gradient has shape {tuple(gradient.shape)} but the tensor has shape {self.shape}")
        autograd.backward(self, gradient, retain_graph=bool(retain_graph))

    def detach(self):
        """The same memory, outside the graph; in-place changes to either are seen by backward's check."""
        out = Tensor(self.array)
        out._version_counter = self._version_counter
        return out

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    def retain_grad(self):
        """Keep this non-leaf's gradient in .grad at the next backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and all(t is not self for t in self.grad_fn.retained_by):
            self.grad_fn.retained_by.append(self)

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
            return self if dtype == self.dtype else ops.Cast.apply(self, dtype=dtype)
        return self if device == self.device else _Move.apply(self, device=device)

    def type(self, dtype=None):
        """Without an argument the type's name ('minigrad.FloatTensor'); with one, a cast (as PyTorch)."""
        return dtypes.type_name(self.dtype) if dtype is None else self.to(dtype)

    cpu = lambda self: self.to("cpu")  # noqa: E731
    cuda = lambda self: self.to("cuda")  # noqa: E731
    float = lambda self: self.to(np.float32)  # noqa: E731
    double = lambda self: self.to(np.float64)  # noqa: E731
    half = lambda self: self.to(np.float16)  # noqa: E731
    long = lambda self: self.to(np.int64)  # noqa: E731
    int = lambda self: self.to(np.int32)  # noqa: E731
    bool = lambda self: self.to(np.bool_)  # noqa: E731
    contiguous = lambda self: self  # noqa: E731
    __float__ = lambda self: float(self.item())  # noqa: E731
    __int__ = lambda self: int(self.item())  # noqa: E731
    __bool__ = lambda self: bool(self.item())  # noqa: E731

    def clone(self):
        """A copy in new memory; differentiable."""
        return ops.Clone.apply(self)

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

    # ---- in place ----------------------------------------------------------------------------
    def _in_place(self, function, *others, **settings):
        """Every in-place op: run `function(self, *others)` as a new node of the graph, write its result
        into self's own memory (same object, same array), and count the change, as PyTorch does."""
        recording = autograd.is_grad_enabled() and (self.requires_grad or
                                                    any(getattr(x, "requires_grad", False) for x in others))
        if recording and self._base is not None and self._base.is_leaf and self._base.requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
        if recording and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        before = self
        if recording:  # the node keeps the old values (and history) however self changes later
            before = Tensor(self.array.copy(), requires_grad=self.requires_grad)
            before.grad_fn = self.grad_fn
        result = function.apply(before, *others, **settings)
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(result.shape)}")
        if recording and self._base is not None:
            return self._write_through_view(result)
        self.array[...] = result.array
        self._bump_version()
        if recording:
            self._requires_grad, self.grad_fn = True, result.grad_fn
        return self

    def _write_through_view(self, values):
        """An in-place op on a view, in the graph: write `values` into the tensor it views, as an index
        assignment there (so the gradient flows), then make the view again from the changed tensor
        (PyTorch's CopySlices). The memory is shared, so this view shows the values too."""
        parent, view, settings = self._view_of
        if view is ops.Index:
            parent._in_place(ops.IndexPut, values, index=settings["index"])
        elif view is ops.Reshape:
            parent._in_place(ops.IndexPut, values.reshape(parent.shape))
        elif view is ops.Permute:
            parent._in_place(ops.IndexPut, values.permute(*np.argsort(settings["dims"]).tolist()))
        else:
            raise RuntimeError(f"an in-place change to a view made by {view.__name__} of a tensor that requires "
                               f"grad is not supported by minigrad; clone() the view first")
        self._requires_grad, self.grad_fn = True, view.apply(parent, **settings).grad_fn
        return self

    def _in_place_binary(self, function, other):
        """x += y and the like, with PyTorch's rule: the result must fit x's dtype."""
        promoted, other = promote(self, other, true_division=function is ops.Div)
        if dtypes.category(promoted.dtype) > dtypes.category(self.dtype):
            raise RuntimeError(f"result type {dtypes.type_name(promoted.dtype)[9:-6]} can't be cast to the desired "
                               f"output type {dtypes.type_name(self.dtype)[9:-6]}")
        return self._in_place(function, other)

    def __iadd__(self, other):
        return self._in_place_binary(ops.Add, other)

    def __isub__(self, other):
        return self._in_place_binary(ops.Sub, other)

    def __imul__(self, other):
        return self._in_place_binary(ops.Mul, other)

    def __itruediv__(self, other):
        return self._in_place_binary(ops.Div, other)

    mul_, div_ = __imul__, __itruediv__

    def add_(self, other, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def clamp_(self, min=None, max=None):
        _check_clamp(self, min, max)
        return self._in_place(ops.Clamp, low=min, high=max)

    def copy_(self, source):
        """Overwrite with `source`'s values (broadcast, cast, moved to self's device); differentiable."""
        source = source.to(self.device) if isinstance(source, Tensor) else Tensor(get_array_module(self.array).asarray(source))
        _check_broadcast(self.shape, source.shape)
        return self._in_place(ops.IndexPut, source)

    def fill_(self, value):
        return self._in_place(ops.IndexPut, value.item() if isinstance(value, Tensor) else value)

    def zero_(self):
        return self.fill_(0)

    def normal_(self, mean=0.0, std=1.0):
        return self._in_place(ops.IndexPut, to_device(generator().normal(mean, std, self.shape), self.device))

    def uniform_(self, a=0.0, b=1.0):
        return self._in_place(ops.IndexPut, to_device(generator().uniform(a, b, self.shape), self.device))

    def __setitem__(self, index, value):
        self._in_place(ops.IndexPut, value.to(self.device) if isinstance(value, Tensor) else value,
                       index=_raw_index(index))

    # ---- arithmetic -----------------------------------------------------------------------
    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, self, other, reflected=True)

    def __sub__(self, other):
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, self, other, reflected=True)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, self, other, reflected=True)

    def __truediv__(self, other):
        return _binary(ops.Div, self, other)

    def __rtruediv__(self, other):
        return _binary(ops.Div, self, other, reflected=True)

    def __pow__(self, other):
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other):
        return _binary(ops.Pow, self, other, reflected=True)

    def __neg__(self):
        return ops.Neg.apply(self)

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    mul, div, pow = __mul__, __truediv__, __pow__

    def square(self):
        return self * self

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
        out = ops.MatMul.apply(a, b)  # 1-D operands were lifted to matrices; drop those axes again
        return out.reshape(tuple(n for i, n in enumerate(out.shape) if i - out.ndim not in dropped))

    def __rmatmul__(self, other):
        return Tensor(other).__matmul__(self)

    matmul = __matmul__

    def mm(self, other):
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm: both arguments must be matrices, got shapes {self.shape} and {other.shape}")
        return self @ other

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    __eq__, __ne__, __lt__, __le__, __gt__, __ge__ = map(_comparison, (np.equal, np.not_equal, np.less, np.less_equal,
                                                                       np.greater, np.greater_equal))
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    __and__, __or__, __xor__ = map(_comparison, (np.bitwise_and, np.bitwise_or, np.bitwise_xor))

    def __invert__(self):
        return Tensor(~self.array)

    # ---- elementwise functions ------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def conj(self):
        return ops.Conj.apply(self)

    def sign(self):
        return ops.Sign.apply(self)

    __abs__ = abs

    def clamp(self, min=None, max=None):
        _check_clamp(self, min, max)
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def softmax(self, dim):
        """exp(x) / sum(exp(x)) along `dim`, shifted by the maximum so that exp never overflows."""
        e = (self - self.max(dim, keepdim=True).values.detach()).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim):
        """x - log(sum(exp(x))) along `dim`, shifted by the maximum so that exp never overflows."""
        shifted = self - self.max(dim, keepdim=True).values.detach()
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    def masked_fill(self, mask, value):
        """value where `mask` (bool, broadcast to self) is true, self elsewhere."""
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
        value = value if isinstance(value, Tensor) else self.dtype.type(value)
        return ops.Where.apply(get_array_module(self.array).broadcast_to(mask.array, self.shape), value, self)

    # ---- reductions -----------------------------------------------------------------------
    def _dims(self, dim):
        if dim is None:
            return None
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        return tuple(sorted(normalize_dim(d, self.ndim) for d in dims))

    def sum(self, dim=None, keepdim=False):
        return ops.Sum.apply(self, dim=self._dims(dim), keepdim=keepdim)

    def _count(self, dims):
        return self.numel() if dims is None else int(np.prod([self.shape[d] for d in dims]))

    def mean(self, dim=None, keepdim=False):
        dims = self._dims(dim)
        return self.sum(dims, keepdim) / self._count(dims)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """Mean squared deviation, divided by n - correction (1 unless `unbiased=False`, as PyTorch)."""
        dims = self._dims(dim)
        centered = self - self.mean(dims, keepdim=True)
        squares = (centered * centered.conj()).real if self.dtype.kind == "c" else centered * centered
        correction = int(unbiased) if correction is None else correction
        return squares.sum(dims, keepdim) / (self._count(dims) - correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def prod(self, dim=None, keepdim=False):
        return ops.Prod.apply(self, dim=None if dim is None else normalize_dim(dim, self.ndim), keepdim=keepdim)

    def all(self, dim=None, keepdim=False):
        return Tensor(self.array.all(axis=self._dims(dim), keepdims=keepdim))

    def any(self, dim=None, keepdim=False):
        return Tensor(self.array.any(axis=self._dims(dim), keepdims=keepdim))

    def max(self, dim=None, keepdim=False):
        """The largest element, or along `dim` the pair (values, indices) as PyTorch."""
        if self.numel() == 0:
            raise RuntimeError("max(): cannot reduce an empty tensor")
        if dim is None:
            return ops.Max.apply(self)
        dim = normalize_dim(dim, self.ndim)
        return MaxResult(ops.Max.apply(self, dim=dim, keepdim=keepdim), self.argmax(dim, keepdim))

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
        return self if target == self.shape else ops.Reshape.apply(self, shape=target)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

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
        return ops.Permute.apply(self, dims=dims)

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
        return ops.Expand.apply(self, shape=target)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        """Tile the tensor sizes[i] times along each dimension (leading new dimensions allowed)."""
        sizes = _size_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        interleaved = self.reshape(sum(((1, n) for n in shape), ()))  # (1, n0, 1, n1, ...)
        tiled = interleaved.expand(sum(((r, n) for r, n in zip(sizes, shape)), ()))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def flip(self, *dims):
        return ops.Flip.apply(self, dims=tuple(normalize_dim(d, self.ndim) for d in _size_args(dims)))

    def split(self, split_size_or_sections, dim=0):
        """Pieces of `split_size` along `dim` (the last may be smaller), or of the listed sizes."""
        dim = normalize_dim(dim, self.ndim)
        n = self.shape[dim]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = max(int(split_size_or_sections), 1)
            sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                                   f"dimension {dim}), but got split_sizes={sizes}")
        starts = np.cumsum([0] + sizes[:-1]).tolist()
        return tuple(self[(slice(None),) * dim + (slice(a, a + k),)] for a, k in zip(starts, sizes))

    def chunk(self, chunks, dim=0):
        """At most `chunks` pieces of equal size ceil(n / chunks) along `dim` (the last may be smaller)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        return self.split(max(-(-self.shape[normalize_dim(dim, self.ndim)] // chunks), 1), dim)

    def __getitem__(self, index):
        try:
            return ops.Index.apply(self, index=_raw_index(index))
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


def _check_clamp(tensor, low, high):
    if np.issubdtype(tensor.dtype, np.complexfloating):
        raise RuntimeError("clamp is not supported for complex tensors")
    if low is None and high is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")


def _check_broadcast(shape_a, shape_b):
    for i, (a, b) in enumerate(zip(reversed(shape_a), reversed(shape_b))):
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"the size of tensor a ({a}) must match the size of tensor b ({b}) at dimension "
                               f"{-1 - i} (shapes {tuple(shape_a)} and {tuple(shape_b)} do not broadcast)")


autograd.Function.tensor_class = Tensor
