"""conv2d and conv_transpose2d: two autograd Functions made of the same three kernels.

    Conv2d           forward = conv2d_forward     input grad = conv2d_input_grad(grad, conj(w))
    ConvTranspose2d  forward = conv2d_input_grad  input grad = conv2d_forward(grad, conj(w))
    both             weight grad = conv2d_weight_grad, with the roles of input and output swapped

A transposed convolution is the input gradient of a convolution, and the other way round.
"""
from ... import shapes
from ...autograd import Function
from ...kernels.conv import conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from .checks import accepts_unbatched, check_conv

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


@accepts_unbatched
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    input: (N, C, H, W) or unbatched (C, H, W); weight: (O, C/groups, kH, kW); bias: (O,).
    padding: int, pair, "valid" (no padding) or "same" (output size = input size; stride 1 only).
    """
    input, settings = check_conv(input, weight, bias, stride, padding, dilation, groups)
    return Conv2dFunction.apply(input, weight, bias, **settings)


@accepts_unbatched
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution, as torch.nn.functional.conv_transpose2d: the input gradient of conv2d.

    input: (N, C, H, W) or unbatched (C, H, W); weight: (C, O/groups, kH, kW); bias: (O,).
    Output size: (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    """
    input, settings = check_conv(input, weight, bias, stride, padding, dilation, groups, output_padding)
    return ConvTranspose2dFunction.apply(input, weight, bias, **settings)
