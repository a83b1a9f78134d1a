"""The argument checks of the convolution and pooling functions, written once, apart from the code
that computes: each raises what PyTorch raises, naming the argument, its value and the rule. The
layers (nn.Conv2d, ...) check only what PyTorch checks at construction and leave the rest to these.
"""
import functools

from ... import shapes
from ...backend import check_same_device
from ...shapes import conv_output_size, pair
from ...tensor import Tensor
from .padding import pad


def at_least(function, argument, values, low, phrase):
    """Unless every one of `values` is >= low, raise PyTorch's `phrase`, naming the argument, its value and the rule."""
    if min(values) < low:
        raise RuntimeError(f"{phrase} ({function}: {argument} must be >= {low}, but got {argument}={tuple(values)})")


def accepts_unbatched(function):
    """Let function(input, ...), written for (N, C, H, W), take an unbatched (C, H, W) input too, as PyTorch."""
    @functools.wraps(function)
    def wrapper(input, *args, **kwargs):
        if getattr(input, "ndim", None) != 3:
            return function(input, *args, **kwargs)
        return function(input.unsqueeze(0), *args, **kwargs).squeeze(0)
    return wrapper


def check_padding_string(padding, stride, error):
    """padding "valid" or "same" (stride 1 only); `error`: ValueError for a layer, RuntimeError for a function."""
    if padding not in ("valid", "same"):
        raise error(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    if padding == "same" and tuple(stride) != (1, 1):
        raise error(f"padding='same' is not supported for strided convolutions (stride={tuple(stride)})")


def check_conv(input, weight, bias, stride, padding, dilation, groups, output_padding=None):
    """-> (input, settings) for Conv2dFunction, or ConvTranspose2dFunction when output_padding is given;
    an odd 'same' padding pads the input here, so the kernels only ever see symmetric padding."""
    transposed = output_padding is not None
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if isinstance(padding, str) and not transposed:
        input, padding = _string_padding(input, weight, padding, stride, dilation)
    padding = pair(padding, "padding")
    output_padding = pair(0 if output_padding is None else output_padding, "output_padding")
    _check_conv_arguments(input, weight, bias, stride, padding, dilation, groups, transposed, output_padding)
    settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return input, dict(settings, output_padding=output_padding) if transposed else settings


def _string_padding(input, weight, padding, stride, dilation):
    """padding="valid" is 0; "same" splits d(k-1) over both sides, the odd one after: the input
    gets that extra zero row or column explicitly, the rest is the kernels' symmetric padding."""
    check_padding_string(padding, stride, RuntimeError)
    if padding == "valid":
        return input, (0, 0)
    kernel_hw = weight.shape[2:] if weight.ndim == 4 else (1, 1)  # a wrong rank is reported by _check
    (top, bottom), (left, right) = (shapes.same_padding(k, d) for k, d in zip(kernel_hw, dilation))
    if bottom > top or right > left:
        input = pad(input, (0, right - left, 0, bottom - top))
    return input, (top, left)


def _check_conv_arguments(input, weight, bias, stride, padding, dilation, groups, transposed, output_padding):
    """Reject what PyTorch rejects, saying which argument, its value and the rule."""
    name = "conv_transpose2d" if transposed else "conv2d"
    for arg, value in (("input", input), ("weight", weight)) + ((("bias", bias),) if bias is not None else ()):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be a Tensor, not {type(value).__name__}")
    check_same_device(input.array, weight.array, None if bias is None else bias.array, what=f"arguments of {name}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"{name}: weight must be 4-D, (out, in/groups, kH, kW) for conv2d, (in, out/groups, kH, kW) "
                           f"for conv_transpose2d, but got weight of size {list(weight.shape)}")
    at_least(name, "kernel_size", weight.shape[2:], 1, "kernel size should be greater than zero")
    at_least(name, "stride", stride, 1, "non-positive stride is not supported")
    at_least(name, "padding", padding, 0, "negative padding is not supported")
    at_least(name, "dilation", dilation, 1, "dilation should be greater than zero")
    at_least(name, "output_padding", output_padding, 0, "negative output_padding is not supported")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{name}: groups must be an int, but got groups={groups!r}")
    if groups < 1:
        raise RuntimeError(f"{name}: groups must be a positive int, but got groups={groups!r}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(f"{name}: input, weight and bias must have the same dtype, but got input {input.dtype}, "
                           f"weight {weight.dtype}" + ("" if bias is None else f", bias {bias.dtype}"))
    if weight.shape[0] < groups:  # zero filters included: PyTorch names the weight, not NumPy's reshape
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0 (a "
                           f"positive multiple of groups), but got "
                           f"weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0 "
                           f"(a positive multiple of groups), but got weight of size {list(weight.shape)} instead")
    channels = input.shape[-3]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != expected:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {expected} channels, but got {channels} channels instead")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and bias.shape != (out_channels,):
        raise RuntimeError(f"{name}: expected bias to be 1-dimensional with {out_channels} elements, but got bias "
                           f"of size {list(bias.shape)}")
    if transposed and out_channels == 0:
        raise RuntimeError(f"non-empty 2D or 4D weight tensor expected, but got: {list(weight.shape)}")
    if channels == 0:  # PyTorch returns an empty (N, 0, H_out, W_out) here, dropping the filters: refuse instead
        raise RuntimeError(f"{name}: input of size {list(input.shape)} has 0 channels; minigrad supports no "
                           f"convolution of zero channels (weight of size {list(weight.shape)})")
    batch = input.shape[0] if input.ndim == 4 else 1
    if min(input.shape[-2:]) == 0 and batch > 0 and channels > 0:
        raise RuntimeError(f"{name}: only inputs with zero batch or zero channels may be empty, but got input of "
                           f"size {list(input.shape)}")
    if transposed and any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    size, kernel = input.shape[-2:], weight.shape[2:]
    if transposed:
        out = tuple(shapes.conv_transpose_output_size(*a)
                    for a in zip(size, kernel, stride, padding, output_padding, dilation))
        if min(out) < 1:
            raise RuntimeError(f"{name}: for an input of size {tuple(size)}, stride={stride}, padding={padding}, "
                               f"dilation={dilation}, kernel size {tuple(kernel)} and output_padding={output_padding} "
                               f"the output size is {out}: too small (must be >= 1)")
    else:
        padded = tuple(n + 2 * p for n, p in zip(size, padding))
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        if any(p < s for p, s in zip(padded, span)):
            out = tuple(shapes.conv_output_size(*a) for a in zip(size, kernel, stride, padding, dilation))
            raise RuntimeError(f"{name}: the padded input size {padded} is smaller than the dilated kernel size "
                               f"{span} (kernel size {tuple(kernel)}, dilation={dilation}), so the output size "
                               f"would be {out}")


def _pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """Number of pooling windows along one axis: a convolution's count, rounded up with ceil_mode."""
    out = conv_output_size(size + (stride - 1 if ceil_mode else 0), kernel, stride, padding, dilation)
    # with ceil_mode the last window must still start inside the input or its left padding
    return out - 1 if ceil_mode and (out - 1) * stride >= size + padding else out


def check_pool(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate a 2-D pooling call as PyTorch does -> (kernel, stride, padding, dilation, output_size)."""
    kernel, padding, dilation = pair(kernel_size, "kernel_size"), pair(padding, "padding"), pair(dilation, "dilation")
    stride = kernel if stride is None or stride == [] else pair(stride, "stride")  # [] is PyTorch's "default"
    if 0 in stride:
        raise RuntimeError("stride should not be zero")
    at_least(name, "kernel_size", kernel, 1, "kernel size should be greater than zero")
    at_least(name, "stride", stride, 1, "stride should be greater than zero")
    at_least(name, "dilation", dilation, 1, "dilation should be greater than zero")
    at_least(name, "padding", padding, 0, "pad must be non-negative")
    for p, k, d in zip(padding, kernel, dilation):
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {padding[1]}, "
                           f"padH = {padding[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError(f"{name}: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got: {list(input.shape)}")
    c, h, w = input.shape[-3:]
    output_size = tuple(_pool_output_size(*args, ceil_mode) for args in zip((h, w), kernel, stride, padding, dilation))
    if min(output_size) < 1:
        raise RuntimeError(f"{name}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{output_size[0]}x{output_size[1]}). Output size is too small")
    return kernel, stride, padding, dilation, output_size
