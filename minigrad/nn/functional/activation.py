"""Pointwise layers as torch.nn.functional: the affine map, activations and dropout.

`inplace=True` is accepted so PyTorch code runs unchanged; minigrad always returns a new tensor.
"""
import math

from ... import random
from ...autograd import Function
from ...backend import get_array_module, to_device
from ...tensor import Tensor

__all__ = ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "dropout"]


def linear(input, weight, bias=None):
    """input: (*, in_features), weight: (out_features, in_features), bias: (out_features,) -> (*, out_features)."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        rows = math.prod(input.shape[:-1])
        cols = input.shape[-1] if input.ndim else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    output = input @ weight.transpose(0, 1)
    return output if bias is None else output + bias


def relu(input, inplace=False):
    return input.relu()


class _LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = x > 0
        # the local slope: 1 where x > 0, negative_slope elsewhere (at exactly 0 too, as PyTorch), built
        # by arithmetic that is exact here, since where() is several times slower on mixed signs
        slope = get_array_module(x).multiply(~positive, negative_slope, dtype=x.dtype)
        slope += positive
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """max(0, x) + negative_slope * min(0, x), elementwise."""
    return _LeakyReLU.apply(input, negative_slope=negative_slope)


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


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
    mask = keep.astype(input.dtype) * (0.0 if p == 1 else 1.0 / (1.0 - p))
    return input * Tensor(to_device(mask, input.device))
