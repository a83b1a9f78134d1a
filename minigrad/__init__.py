"""minigrad: a tiny autograd engine on NumPy or CuPy arrays, with PyTorch's API.

    import minigrad
    x = minigrad.randn(2, 3, requires_grad=True)
    (x * x).sum().backward()     # x.grad == 2 * x
"""
import numpy as _np

from .autograd import Function, enable_grad, is_grad_enabled, no_grad  # noqa: F401
from .backend import cuda_is_available  # noqa: F401
from .creation import (arange, cat, full, linspace, ones, ones_like, pad, rand, randn, stack, tensor,  # noqa: F401
                       where, zeros, zeros_like)
from .random import manual_seed  # noqa: F401
from .tensor import Tensor  # noqa: F401
from . import data, nn, optim, testing  # noqa: F401,E402
from .serialization import load, save  # noqa: F401,E402

__version__ = "0.1.0"

float32, float64, complex64, complex128 = _np.float32, _np.float64, _np.complex64, _np.complex128
int64, bool_ = _np.int64, _np.bool_


def _unary(name):
    def function(input):
        return getattr(input, name)()
    function.__name__ = name
    function.__doc__ = f"minigrad.{name}(x) is x.{name}()."
    return function


exp, log, sqrt, abs, tanh, sigmoid, relu, conj = (_unary(n) for n in  # noqa: A001
                                                  ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "conj"))


def real(input):
    """The real part of a complex tensor (differentiable)."""
    return input.real


def imag(input):
    """The imaginary part of a complex tensor (differentiable)."""
    return input.imag
