"""Spatial resampling as torch.nn.functional: max and average pooling, nearest-neighbour upsampling."""
import numpy as np

from ...autograd import Function
from ...backend import get_array_module
from .checks import accepts_unbatched, check_pool

__all__ = ["max_pool2d", "avg_pool2d", "interpolate"]


def _windows(x, fill, kernel, stride, padding, dilation, output_size):
    """x: (N, C, H, W) -> (x padded with `fill`, one (rows, cols) slice pair per kernel offset).

    Slice pair k of the padded array is, for every window, its element at offset k: (N, C, H_out, W_out).
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, output_size
    n, c, h, w = x.shape
    # ceil_mode windows may reach past the right padding
    rows = max((oh - 1) * sh + (kh - 1) * dh + 1, h + 2 * ph)
    cols = max((ow - 1) * sw + (kw - 1) * dw + 1, w + 2 * pw)
    padded = get_array_module(x).full((n, c, rows, cols), fill, dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    slices = [(slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))
              for i in range(kh) for j in range(kw)]
    return padded, slices


def _scatter_windows(window_grads, slices, padded_shape, crop):
    """The adjoint of _windows: add each offset's (N, C, H_out, W_out) gradient back, crop the padding."""
    grad_padded = None
    for k, (r, s) in enumerate(slices):  # one window offset at a time: no index repeats within a +=
        g = window_grads(k)
        if grad_padded is None:
            grad_padded = get_array_module(g).zeros(padded_shape, dtype=g.dtype)
        grad_padded[:, :, r, s] += g
    return grad_padded[(slice(None), slice(None)) + crop]


class MaxPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, output_size):
        # pad with -inf so padding never wins
        padded, ctx.windows = _windows(x, -np.inf, kernel_size, stride, padding, dilation, output_size)
        candidates = get_array_module(x).stack([padded[:, :, r, s] for r, s in ctx.windows])  # (kh*kw, N, C, Ho, Wo)
        ctx.save_for_backward(candidates.argmax(axis=0))  # the first maximum in row-major order, as PyTorch
        ctx.padded_shape, ctx.crop = padded.shape, tuple(slice(p, p + n) for p, n in zip(padding, x.shape[2:]))
        return candidates.max(axis=0)  # max, not a take at argmax, so that NaN propagates

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_tensors
        xp = get_array_module(grad)
        return _scatter_windows(lambda k: xp.where(winner == k, grad, 0), ctx.windows, ctx.padded_shape, ctx.crop)


@accepts_unbatched
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """input: (N, C, H, W) or (C, H, W) -> the maximum of each kernel_size window, (N, C, H_out, W_out)."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported by minigrad")
    kernel, stride, padding, dilation, output_size = check_pool("max_pool2d", input, kernel_size, stride, padding,
                                                                dilation, ceil_mode)
    return MaxPool2dFunction.apply(input, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                                   output_size=output_size)


def _avg_divisor(size, kernel, stride, padding, out, count_include_pad):
    """How many elements each window along one axis averages: (out,), as PyTorch counts them."""
    start = np.arange(out) * stride - padding
    end = np.minimum(start + kernel, size + padding)  # a ceil_mode window past the right padding counts less
    return end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)


class AvgPool2dFunction(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, output_size, divisor):
        padded, ctx.windows = _windows(x, 0, kernel_size, stride, padding, (1, 1), output_size)
        total = sum(padded[:, :, r, s] for r, s in ctx.windows)
        ctx.save_for_backward(divisor)
        ctx.padded_shape, ctx.crop = padded.shape, tuple(slice(p, p + n) for p, n in zip(padding, x.shape[2:]))
        if total.dtype.kind in "iu":  # integer input: the quotient truncated toward zero, as PyTorch
            return (get_array_module(x).sign(total) * (abs(total) // divisor)).astype(x.dtype)
        return total / divisor

    @staticmethod
    def backward(ctx, grad):
        (divisor,) = ctx.saved_tensors
        share = grad / divisor  # every element of a window gets the same share
        return _scatter_windows(lambda k: share, ctx.windows, ctx.padded_shape, ctx.crop)


@accepts_unbatched
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """input: (N, C, H, W) or (C, H, W) -> the mean of each kernel_size window, (N, C, H_out, W_out).

    count_include_pad=False leaves the zero padding out of each window's count; divisor_override replaces the count.
    """
    if divisor_override is not None and not (isinstance(divisor_override, int) and divisor_override):
        raise RuntimeError("divisor must be not zero" if divisor_override == 0 else
                           f"avg_pool2d(): argument 'divisor_override' must be int, not "
                           f"{type(divisor_override).__name__}")
    kernel, stride, padding, _, output_size = check_pool("avg_pool2d", input, kernel_size, stride, padding, 1,
                                                         ceil_mode)
    if divisor_override is not None:
        divisor = np.full(output_size, divisor_override)
    else:
        h, w = input.shape[-2:]
        rows, cols = (_avg_divisor(*a, count_include_pad) for a in zip((h, w), kernel, stride, padding, output_size))
        divisor = np.outer(rows, cols)
    xp = get_array_module(input.array)
    divisor = xp.asarray(divisor, dtype=input.dtype if input.dtype.kind == "f" else np.int64)
    return AvgPool2dFunction.apply(input, kernel_size=kernel, stride=stride, padding=padding, output_size=output_size,
                                   divisor=divisor)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """input: (N, C, *spatial), 1 to 3 spatial axes -> every element repeated along each axis by a whole factor.

    Give either size (each a multiple of the input's) or scale_factor (whole numbers); only mode="nearest".
    """
    if mode != "nearest" or input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: minigrad supports mode='nearest' only, on 3D, 4D or 5D input; "
                                  f"got mode={mode!r} and {input.ndim}D input")
    if align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor "
                         "as input")
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
