"""Layers as torch.nn.functional: the affine map, activations, softmax and dropout.

`inplace=True` overwrites the input as PyTorch does, by an in-place multiplication with a mask that needs no gradient.
"""
import math
import warnings

from ... import random
from ...autograd import Function
from ...backend import get_array_module, to_device
from ...tensor import Tensor

__all__ = ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "softmax", "log_softmax", "dropout"]


def linear(input, weight, bias=None):
    """input: (*, in_features), weight: (out_features, in_features), bias: (out_features,) -> (*, out_features).

    A 1-D weight (in_features,) gives input @ weight: (*,), as PyTorch (which then takes no bias).
    """
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {input.ndim}D and "
                           f"{weight.ndim}D")
    if weight.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D")
    if weight.ndim == 1:
        if bias is not None:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        if input.ndim == 1 and input.shape != weight.shape:  # a dot product
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                               f"[{weight.shape[0]}] to have the same number of elements, but got "
                               f"{input.shape[0]} and {weight.shape[0]} elements respectively")
        if input.shape[-1] != weight.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({math.prod(input.shape[:-1])}), mat "
                               f"({math.prod(input.shape[:-1])}x{input.shape[-1]}), vec ({weight.shape[0]})")
        return input @ weight
    if input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({math.prod(input.shape[:-1])}x"
                           f"{input.shape[-1]} and {weight.shape[1]}x{weight.shape[0]})")
    output = input @ weight.transpose(0, 1)
    return output if bias is None else output + bias


def _leaky_slope(x, negative_slope):
    """The local slope of leaky_relu: 1 where x > 0, negative_slope elsewhere (at exactly 0 too, as PyTorch)."""
    positive = x > 0
    # built by arithmetic that is exact here, since where() is several times slower on mixed signs
    slope = get_array_module(x).multiply(~positive, negative_slope, dtype=x.dtype)
    slope += positive
    return slope


def _scale_in_place(input, factor):
    """input *= factor (an array, constant for autograd), as PyTorch's relu_: the caller's tensor changes too."""
    return input.mul_(Tensor(factor))


def relu(input, inplace=False):
    """max(0, x), elementwise; inplace=True writes the result into input, as PyTorch."""
    return _scale_in_place(input, _leaky_slope(input.array, 0)) if inplace else input.relu()


class _LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        slope = _leaky_slope(x, negative_slope)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """max(0, x) + negative_slope * min(0, x), elementwise; inplace=True writes the result into input."""
    if inplace:
        return _scale_in_place(input, _leaky_slope(input.array, negative_slope))
    return _LeakyReLU.apply(input, negative_slope=negative_slope)


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def _implicit_softmax_dim(name, ndim, stacklevel):
    """PyTorch's legacy choice when dim is not given, with its warning: 0 for 0-, 1- and 3-D input, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  f"as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along dim, any shape; dtype casts the input first."""
    dim = _implicit_softmax_dim("softmax", input.ndim, _stacklevel) if dim is None else dim
    return (input if dtype is None else input.to(dtype)).softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - log(sum(exp(x))) along dim, any shape; dtype casts the input first."""
    dim = _implicit_softmax_dim("log_softmax", input.ndim, _stacklevel) if dim is None else dim
    return (input if dtype is None else input.to(dtype)).log_softmax(dim)


def check_probability(p):
    """Dropout's p must lie in [0, 1]; same message as PyTorch."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), so the mean is unchanged."""
    check_probability(p)
    if not training or p == 0:
        return input
    # drawn on the host from minigrad's generator, so a seed gives the same mask on CPU and GPU
    keep = random.generator().random(input.shape) >= p
    mask = to_device(keep.astype(input.dtype) * (0.0 if p == 1 else 1.0 / (1.0 - p)), input.device)
    return _scale_in_place(input, mask) if inplace else input * Tensor(mask)
