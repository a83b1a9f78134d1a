"""conv2d and conv_transpose2d: two autograd Functions made of the same three kernels.

    Conv2d           forward = conv2d_forward     input grad = conv2d_input_grad(grad, conj(w))
    ConvTranspose2d  forward = conv2d_input_grad  input grad = conv2d_forward(grad, conj(w))
    both             weight grad = conv2d_weight_grad, with the roles of input and output swapped

A transposed convolution is the input gradient of a convolution, and the other way round.
"""
from ... import shapes
from ...autograd import Function
from ...backend import check_same_device
from .padding import pad
from ...kernels.conv import conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from ...tensor import Tensor
from ...shapes import pair

__all__ = ["conv2d", "conv_transpose2d"]


class Conv2dFunction(Function):
    """x: (N, C, H, W), w: (O, C/G, kH, kW), b: (O,) or None -> (N, O, Ho, Wo)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.settings = (stride, padding, dilation, groups)
        y = conv2d_forward(x, w, *ctx.settings)
        return y if b is None else y + b.reshape(-1, 1, 1)

    @staticmethod
    def backward(ctx, grad):
        (x, w), (need_x, need_w, need_b) = ctx.saved_tensors, ctx.needs_input_grad
        grad_x = conv2d_input_grad(grad, w.conj(), x.shape[2:], *ctx.settings) if need_x else None
        grad_w = conv2d_weight_grad(x.conj(), grad, w.shape[2:], *ctx.settings) if need_w else None
        return grad_x, grad_w, grad.sum(axis=(0, 2, 3)) if need_b else None


class ConvTranspose2dFunction(Function):
    """x: (N, C, H, W), w: (C, O/G, kH, kW), b: (O,) or None -> (N, O, Hout, Wout)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.settings = (stride, padding, dilation, groups)
        out_hw = tuple(shapes.conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a], padding[a],
                                                         output_padding[a], dilation[a]) for a in range(2))
        y = conv2d_input_grad(x, w, out_hw, *ctx.settings)
        return y if b is None else y + b.reshape(-1, 1, 1)

    @staticmethod
    def backward(ctx, grad):
        (x, w), (need_x, need_w, need_b) = ctx.saved_tensors, ctx.needs_input_grad
        height, width = x.shape[2:]
        # With output_padding >= stride (legal when < dilation) the convolution sees extra rows: crop them.
        grad_x = conv2d_forward(grad, w.conj(), *ctx.settings)[:, :, :height, :width] if need_x else None
        grad_w = conv2d_weight_grad(grad, x.conj(), w.shape[2:], *ctx.settings) if need_w else None
        return grad_x, grad_w, grad.sum(axis=(0, 2, 3)) if need_b else None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    input: (N, C, H, W) or unbatched (C, H, W); weight: (O, C/groups, kH, kW); bias: (O,).
    padding: int, pair, "valid" (no padding) or "same" (output size = input size; stride 1 only).
    """
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if isinstance(padding, str):
        input, padding = _string_padding(input, weight, padding, stride, dilation)
    padding = pair(padding, "padding")
    _check(input, weight, bias, stride, padding, dilation, groups, transposed=False)
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    y = Conv2dFunction.apply(batched, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return y if input.ndim == 4 else y.squeeze(0)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution, as torch.nn.functional.conv_transpose2d: the input gradient of conv2d.

    input: (N, C, H, W) or unbatched (C, H, W); weight: (C, O/groups, kH, kW); bias: (O,).
    Output size: (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    """
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    output_padding = pair(output_padding, "output_padding")
    _check(input, weight, bias, stride, padding, dilation, groups, transposed=True, output_padding=output_padding)
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    y = ConvTranspose2dFunction.apply(batched, weight, bias, stride=stride, padding=padding,
                                      output_padding=output_padding, dilation=dilation, groups=groups)
    return y if input.ndim == 4 else y.squeeze(0)


def _string_padding(input, weight, padding, stride, dilation):
    """padding="valid" is 0; "same" splits d(k-1) over both sides, the odd one after: the input
    gets that extra zero row or column explicitly, the rest is the kernels' symmetric padding."""
    if padding == "valid":
        return input, (0, 0)
    if padding != "same":
        raise RuntimeError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    if stride != (1, 1):
        raise RuntimeError(f"padding='same' is not supported for strided convolutions (stride={stride})")
    kernel_hw = weight.shape[2:] if weight.ndim == 4 else (1, 1)  # a wrong rank is reported by _check
    (top, bottom), (left, right) = (shapes.same_padding(k, d) for k, d in zip(kernel_hw, dilation))
    if bottom > top or right > left:
        input = pad(input, (0, right - left, 0, bottom - top))
    return input, (top, left)


def _check(input, weight, bias, stride, padding, dilation, groups, transposed, output_padding=(0, 0)):
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
    if min(weight.shape[2:]) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {weight.shape[2]} "
                           f"kernel_width: {weight.shape[3]}")
    for arg, values, low in (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1),
                             ("output_padding", output_padding, 0)):
        if min(values) < low:
            raise RuntimeError(f"{name}: {arg} must be >= {low}, but got {arg}={tuple(values)}")
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
        raise RuntimeError(f"{name}: output_padding must be smaller than either stride or dilation, but got "
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
