"""Spatial resampling as torch.nn.functional: max pooling and nearest-neighbour upsampling."""
from ...autograd import Function
from ...backend import get_array_module
from ...shapes import conv_output_size, pair

__all__ = ["max_pool2d", "interpolate"]


def _pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """Number of pooling windows along one axis: a convolution's count, rounded up with ceil_mode."""
    out = conv_output_size(size + (stride - 1 if ceil_mode else 0), kernel, stride, padding, dilation)
    # with ceil_mode the last window must still start inside the input or its left padding
    return out - 1 if ceil_mode and (out - 1) * stride >= size + padding else out


class _MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, output_size):
        xp = get_array_module(x)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel_size, stride, padding, dilation, output_size
        n, c, h, w = x.shape
        # pad with -inf so padding never wins; ceil_mode windows may reach past the right padding
        rows = max((oh - 1) * sh + (kh - 1) * dh + 1, h + 2 * ph)
        cols = max((ow - 1) * sw + (kw - 1) * dw + 1, w + 2 * pw)
        padded = xp.full((n, c, rows, cols), -xp.inf, dtype=x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        windows = [(slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))
                   for i in range(kh) for j in range(kw)]
        candidates = xp.stack([padded[:, :, r, s] for r, s in windows])  # (kh*kw, N, C, H_out, W_out)
        ctx.winner = candidates.argmax(axis=0)  # the first maximum in row-major window order, as PyTorch
        ctx.windows, ctx.padded_shape, ctx.crop = windows, padded.shape, (slice(ph, ph + h), slice(pw, pw + w))
        return candidates.max(axis=0)  # max, not a take at argmax, so that NaN propagates

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        grad_padded = xp.zeros(ctx.padded_shape, dtype=grad.dtype)
        for k, (r, s) in enumerate(ctx.windows):  # one window offset at a time: no index repeats within a +=
            grad_padded[:, :, r, s] += xp.where(ctx.winner == k, grad, 0)
        return grad_padded[(slice(None), slice(None)) + ctx.crop]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """input: (N, C, H, W) or (C, H, W) -> the maximum of each kernel_size window, (N, C, H_out, W_out)."""
    kernel, padding, dilation = pair(kernel_size, "kernel_size"), pair(padding, "padding"), pair(dilation, "dilation")
    stride = kernel if stride is None else pair(stride, "stride")
    for name, values, low in (("kernel_size", kernel, 1), ("stride", stride, 1), ("dilation", dilation, 1),
                              ("padding", padding, 0)):
        if min(values) < low:
            raise RuntimeError(f"max_pool2d: {name} should be at least {low}, but got {values}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"max_pool2d: pad should be at most half of kernel size, but got padding={padding} and "
                           f"kernel_size={kernel}")
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got: {list(input.shape)}")
    c, h, w = input.shape[-3:]
    output_size = tuple(_pool_output_size(*args, ceil_mode) for args in zip((h, w), kernel, stride, padding, dilation))
    if min(output_size) < 1:
        raise RuntimeError(f"max_pool2d: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{output_size[0]}x{output_size[1]}). Output size is too small")
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    output = _MaxPool2d.apply(batched, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                              output_size=output_size)
    return output if input.ndim == 4 else output.squeeze(0)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """input: (N, C, *spatial), 1 to 3 spatial axes -> every element repeated along each axis by a whole factor.

    Give either size (each a multiple of the input's) or scale_factor (whole numbers); only mode="nearest".
    """
    if mode != "nearest" or input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: minigrad supports mode='nearest' only, on 3D, 4D or 5D input; "
                                  f"got mode={mode!r} and {input.ndim}D input")
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined" if size is None
                         else "only one of size or scale_factor should be defined")
    n, c, spatial = input.shape[0], input.shape[1], input.shape[2:]
    given = size if size is not None else scale_factor
    given = tuple(given) if isinstance(given, (tuple, list)) else (given,) * len(spatial)
    if len(given) != len(spatial):
        raise ValueError(f"interpolate: input has spatial dimensions {list(spatial)}, so size or scale_factor "
                         f"needs {len(spatial)} entries, got {list(given)}")
    factors = [g / s for g, s in zip(given, spatial)] if size is not None else given
    if not all(f >= 1 and float(f).is_integer() for f in factors):
        raise NotImplementedError(f"interpolate: minigrad needs whole-number upsampling factors, got size={size!r}, "
                                  f"scale_factor={scale_factor!r} for spatial size {tuple(spatial)}")
    factors = [int(f) for f in factors]
    # view each axis s as (s, 1), broadcast to (s, factor), then merge: nearest neighbour as a broadcast
    output = input.reshape(n, c, *[d for s in spatial for d in (s, 1)])
    output = output.expand(n, c, *[d for s, f in zip(spatial, factors) for d in (s, f)])
    return output.reshape(n, c, *(s * f for s, f in zip(spatial, factors)))
