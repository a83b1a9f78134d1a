"""Weight initializers with PyTorch's names and formulas: `minigrad.nn.init.kaiming_uniform_(w, a=...)`.

Each fills a Tensor in place (under no_grad, bumping its version) and returns it. Numbers are drawn on the host from
minigrad's one generator, then moved to the tensor's device. For complex tensors the real and the
imaginary part are drawn independently, as PyTorch does: uniform_ gives each part U(a, b); normal_
gives each part N(mean, std / sqrt(2)), so that E|w - mean(1+1j)|^2 = std^2.
"""
import math

import numpy as np

from ..autograd import no_grad
from ..backend import to_device
from ..random import generator

__all__ = ["calculate_fan_in_and_fan_out", "calculate_gain", "uniform_", "normal_", "zeros_", "ones_",
           "constant_", "kaiming_uniform_"]


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) = (shape[1], shape[0]) times the receptive field prod(shape[2:]).

    For Conv2d's weight (out, in/groups, kH, kW) fan_in is (in/groups)*kH*kW. ConvTranspose2d's
    weight is (in, out/groups, kH, kW), so its "fan_in" is (out/groups)*kH*kW, PyTorch's quirk."""
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
                         f"(got shape {tuple(tensor.shape)})")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps the activations' variance: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + a^2)) for leaky_relu with slope a (default 0.01)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity in ("tanh", "relu"):
        return 5.0 / 3 if nonlinearity == "tanh" else math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _fill(tensor, values):
    """Overwrite tensor's values in place, outside the graph, with a number or a host array."""
    if isinstance(values, np.ndarray):
        values = to_device(values.astype(tensor.dtype), tensor.device)
    with no_grad():
        tensor.array[...] = values
    tensor._bump_version()  # a graph that saved the old values must refuse to backward, as PyTorch's
    return tensor


def _draw(tensor, draw):
    """draw(shape) (a float64 host array) for every element, and once more for the imaginary parts."""
    values = draw(tensor.shape)
    return values + 1j * draw(tensor.shape) if np.dtype(tensor.dtype).kind == "c" else values


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b) (each part, if complex)."""
    return _fill(tensor, _draw(tensor, lambda shape: generator().uniform(a, b, shape)))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2); complex: each part N(mean, std^2 / 2)."""
    part_std = std / math.sqrt(2) if np.dtype(tensor.dtype).kind == "c" else std
    return _fill(tensor, _draw(tensor, lambda shape: generator().normal(mean, part_std, shape)))


def constant_(tensor, val):
    """Fill `tensor` with `val`, in place, outside the graph."""
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill `tensor` with zeros, in place."""
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill `tensor` with ones, in place."""
    return _fill(tensor, 1)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """Fill with U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al., 2015).

    With the layers' default a = sqrt(5): gain = sqrt(2 / 6), so bound = 1 / sqrt(fan_in)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of fan_in, fan_out")
    if 0 in tensor.shape:  # nothing to fill (PyTorch warns and returns too)
        return tensor
    fan = calculate_fan_in_and_fan_out(tensor)[mode == "fan_out"]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def _layer_default_(weight, bias):
    """Linear's and Conv's reset_parameters: weight and bias uniform in +-1/sqrt(fan_in), as PyTorch."""
    kaiming_uniform_(weight, a=math.sqrt(5))  # a = sqrt(5) makes the bound 1/sqrt(fan_in)
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
