"""minigrad: a tiny autograd engine on NumPy or CuPy arrays, with PyTorch's API.

    import minigrad
    x = minigrad.randn(2, 3, requires_grad=True)
    (x * x).sum().backward()     # x.grad == 2 * x

PyTorch code runs with `import minigrad as torch`: the names below are PyTorch's.
"""
import builtins as _builtins

import numpy as _np

from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import cuda_is_available, device  # noqa: F401
from .combining import cat, stack, where  # noqa: F401
from .creation import (arange, as_tensor, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like,  # noqa: F401
                       rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .dtypes import (bool_, complex64, complex128, float16, float32, float64, int8, int16, int32, int64,  # noqa: F401
                     uint8)
from .random import manual_seed  # noqa: F401
from .tensor import Tensor  # noqa: F401
from . import cuda, data, nn, optim, testing, utils  # noqa: F401,E402
from .nn.functional import pad  # noqa: F401,E402  (kept from earlier versions; PyTorch has it in nn.functional)
from .serialization import load, save  # noqa: F401,E402

__version__ = "0.1.0"

# PyTorch's short dtype names (they shadow the builtins only as attributes of this module)
float, double, half, long, int, short, bool = (float32, float64, float16, int64, int32, int16, bool_)  # noqa: A001
cfloat, cdouble = complex64, complex128


def _method_as_function(name):
    """minigrad.sum(x, ...) is x.sum(...), as in PyTorch."""
    def function(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"minigrad.{name}(x, ...) is x.{name}(...)."
    return function


(exp, log, sqrt, abs, tanh, sigmoid, relu, conj, sign, square, clamp, clip, sum, mean, std, var, prod,  # noqa: A001
 max, min, argmax, argmin, all, any, matmul, mm, reshape, flatten, transpose, permute, squeeze, unsqueeze, flip,
 split, chunk, softmax, log_softmax, masked_fill, numel, t, eq, ne, lt, le, gt, ge, clone, detach) = (
    _method_as_function(n) for n in (
        "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "conj", "sign", "square", "clamp", "clip", "sum",
        "mean", "std", "var", "prod", "max", "min", "argmax", "argmin", "all", "any", "matmul", "mm", "reshape",
        "flatten", "transpose", "permute", "squeeze", "unsqueeze", "flip", "split", "chunk", "softmax",
        "log_softmax", "masked_fill", "numel", "t", "eq", "ne", "lt", "le", "gt", "ge", "clone", "detach"))


def real(input):
    """The real part of a complex tensor (differentiable)."""
    return input.real


def imag(input):
    """The imaginary part of a complex tensor (differentiable)."""
    return input.imag


inference_mode = no_grad  # PyTorch's faster no_grad; here they are the same


def is_tensor(obj):
    return isinstance(obj, Tensor)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when |input - other| <= atol + rtol * |other| everywhere."""
    return _builtins.bool(_np.allclose(input.numpy(), other.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))
