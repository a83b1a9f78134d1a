"""Three slow, readable views of the transposed convolution (NumPy or CuPy arrays).

    conv_transpose2d_scatter         every input pixel paints a scaled copy of the kernel
    conv_transpose2d_zero_insertion  insert zeros, pad, convolve with the flipped kernel
    conv_transpose2d_subpixel        s*s small convolutions whose outputs interleave

Each takes x: (N, C_in, H, W), w: (C_in, C_out/groups, kH, kW), and stride, padding,
output_padding, dilation as ints or (height, width) pairs, as F.conv_transpose2d does,
and returns (N, C_out, Ho, Wo) without bias. The book shows them; the benchmarks race
them against minigrad's own kernel, conv2d_input_grad (the gradient view).
`multiply_counts` says how many products each view computes.
"""
import math

from ..backend import get_array_module
from ..shapes import conv_transpose_output_size, implicit_padding, pair
from .conv import conv2d_forward

__all__ = ["conv_transpose2d_scatter", "zero_insertion_grid", "conv_transpose2d_zero_insertion",
           "conv_transpose2d_subpixel", "multiply_counts"]


def _settings(x, w, groups, *settings):
    """The settings as (height, width) pairs, after checking that x and w fit together."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"expected x: (N, C_in, H, W) and w: (C_in, C_out/groups, kH, kW), "
                         f"got shapes {x.shape} and {w.shape}")
    if groups < 1 or x.shape[1] % groups or w.shape[0] != x.shape[1]:
        raise ValueError(f"w.shape[0] ({w.shape[0]}) must equal C_in ({x.shape[1]}), "
                         f"and groups ({groups}) must divide it")
    return [pair(setting, 'setting') for setting in settings]


def _canvas_hw(x, w, stride, dilation):
    """The uncropped output: inputs land s apart, each kernel copy spans d(k-1) + 1."""
    return [conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a], 0, 0,
                                       dilation[a]) for a in range(2)]


def _crop(canvas, x, w, stride, padding, output_padding, dilation):
    """canvas: (N, C, Hc, Wc), uncropped -> (N, C, Ho, Wo): `padding` cut from both ends,
    then `output_padding` more kept at the far end (zeros beyond the canvas)."""
    out_hw = [conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a],
                                         padding[a], output_padding[a], dilation[a])
              for a in range(2)]
    (oph, opw), (ph, pw) = output_padding, padding
    canvas = get_array_module(canvas).pad(canvas, ((0, 0), (0, 0), (0, oph), (0, opw)))
    return canvas[:, :, ph:ph + out_hw[0], pw:pw + out_hw[1]]


def _as_conv_weight(w, groups):
    """(C_in, C_out/G, kH, kW) -> (C_out, C_in/G, kH, kW): in/out swapped per group."""
    c_in, c_out_g, kh, kw = w.shape
    w = w.reshape(groups, c_in // groups, c_out_g, kh, kw).transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * c_out_g, c_in // groups, kh, kw)


def conv_transpose2d_scatter(x, w, stride=1, padding=0, output_padding=0, dilation=1,
                             groups=1):
    """Input pixel (a, b) paints x[a, b] * w into an uncropped canvas, its corner at
    (s*a, s*b); overlapping copies add up. Then `padding` is cropped from every side.

    x: (N, C_in, H, W), w: (C_in, C_out/G, kH, kW) -> (N, C_out, Ho, Wo)."""
    stride, padding, output_padding, dilation = _settings(
        x, w, groups, stride, padding, output_padding, dilation)
    xp = get_array_module(x, w)
    (n, c_in, h, wd), (_, c_out_g, kh, kw) = x.shape, w.shape
    # copies[n, g, o, a, b, i, j]: the kernel copy of pixel (a, b), summed over channels c
    copies = xp.einsum("ngcab,gcoij->ngoabij",
                       x.reshape(n, groups, c_in // groups, h, wd),
                       w.reshape(groups, c_in // groups, c_out_g, kh, kw), optimize=True)
    canvas = xp.zeros((n, groups, c_out_g, *_canvas_hw(x, w, stride, dilation)),
                      dtype=copies.dtype)
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            # tap (i, j) of the copy of pixel (a, b) lands on (s*a + d*i, s*b + d*j)
            rows = slice(dh * i, dh * i + sh * (h - 1) + 1, sh)
            cols = slice(dw * j, dw * j + sw * (wd - 1) + 1, sw)
            canvas[..., rows, cols] += copies[..., i, j]
    canvas = canvas.reshape(n, groups * c_out_g, *canvas.shape[-2:])
    return _crop(canvas, x, w, stride, padding, output_padding, dilation)


def _pad_or_crop(x, pads):
    """x: (N, C, H, W); pads: ((top, bottom), (left, right)); negative amounts crop."""
    x = get_array_module(x).pad(
        x, ((0, 0), (0, 0)) + tuple((max(a, 0), max(b, 0)) for a, b in pads))
    (top, bottom), (left, right) = pads
    return x[:, :, max(-top, 0):x.shape[2] - max(-bottom, 0),
             max(-left, 0):x.shape[3] - max(-right, 0)]


def zero_insertion_grid(x, kernel_hw, stride=1, padding=0, output_padding=0, dilation=1):
    """The enlarged input of the zero-insertion view: s - 1 zeros between neighbouring
    pixels, then d(k-1) - p zeros on each side, plus output_padding more at the bottom
    and right (a negative amount crops instead).

    x: (N, C, H, W) -> (N, C, (H-1)s + 1 + 2(d(kH-1) - p) + op, and the same for W)."""
    stride, padding, output_padding, dilation = (pair(v, "setting") for v in
                                                 (stride, padding, output_padding, dilation))
    (n, c, h, w), (sh, sw) = x.shape, stride
    inserted = get_array_module(x).zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1),
                                         dtype=x.dtype)
    inserted[:, :, ::sh, ::sw] = x
    edge = [implicit_padding(kernel_hw[a], padding[a], dilation[a]) for a in range(2)]
    return _pad_or_crop(inserted, [(e, e + op) for e, op in zip(edge, output_padding)])


def conv_transpose2d_zero_insertion(x, w, stride=1, padding=0, output_padding=0,
                                    dilation=1, groups=1):
    """The textbook recipe: enlarge the input with zeros (zero_insertion_grid), then run
    a stride-1 convolution with the kernel flipped and its in/out channels swapped.

    x: (N, C_in, H, W), w: (C_in, C_out/G, kH, kW) -> (N, C_out, Ho, Wo)."""
    stride, padding, output_padding, dilation = _settings(
        x, w, groups, stride, padding, output_padding, dilation)
    grid = zero_insertion_grid(x, w.shape[2:], stride, padding, output_padding, dilation)
    flipped = _as_conv_weight(w, groups)[:, :, ::-1, ::-1]
    return conv2d_forward(grid, flipped, (1, 1), (0, 0), dilation, groups)


def _phase_taps(kernel_size, stride, dilation, phase):
    """The kernel taps that feed canvas pixels u = phase (mod stride), along one axis.

    Tap i of input pixel a lands on u = s*a + d*i: it feeds the phase if d*i = phase
    (mod s). Those taps are every (s/g)-th from the first (g = gcd(s, d)); on the phase's
    own grid they sit d/g apart, starting `shift` = (d*first - phase)/s pixels late.
    Returns (taps as a slice, shift, small dilation d/g), or None if no tap feeds it."""
    g = math.gcd(stride, dilation)
    first = next((i for i in range(kernel_size) if dilation * i % stride == phase), None)
    if first is None:
        return None
    shift = (dilation * first - phase) // stride
    return slice(first, None, stride // g), shift, dilation // g


def conv_transpose2d_subpixel(x, w, stride=1, padding=0, output_padding=0, dilation=1,
                              groups=1):
    """The sub-pixel (phase) view: canvas pixels with the same (u mod sH, v mod sW) all
    come from one small stride-1 convolution of the unenlarged input with a sub-sampled
    kernel, w[:, :, rh::sH, rw::sW] when dilation is 1. The sH*sW results interleave
    like the pieces of a pixel shuffle; the canvas is then cropped as in the scatter view.
    Covers every setting: with dilation d the small kernels take every (s/gcd(s, d))-th
    tap and are dilated by d/gcd(s, d).

    x: (N, C_in, H, W), w: (C_in, C_out/G, kH, kW) -> (N, C_out, Ho, Wo)."""
    stride, padding, output_padding, dilation = _settings(
        x, w, groups, stride, padding, output_padding, dilation)
    xp = get_array_module(x, w)
    (sh, sw), kernel_hw = stride, w.shape[2:]
    canvas_hw = _canvas_hw(x, w, stride, dilation)
    canvas = xp.zeros((x.shape[0], w.shape[1] * groups, *canvas_hw),
                      dtype=xp.result_type(x, w))
    for rh in range(sh):
        for rw in range(sw):
            phases = [_phase_taps(kernel_hw[a], stride[a], dilation[a], r)
                      for a, r in enumerate((rh, rw))]
            if None in phases:
                continue  # no kernel tap ever lands on this phase: its pixels stay zero
            (taps_h, shift_h, dil_h), (taps_w, shift_w, dil_w) = phases
            small = _as_conv_weight(w[:, :, taps_h, taps_w], groups)[:, :, ::-1, ::-1]
            # a stride-1 transposed convolution is a "full" convolution, kernel flipped
            reach = (dil_h * (small.shape[2] - 1), dil_w * (small.shape[3] - 1))
            y = conv2d_forward(x, small, (1, 1), reach, (dil_h, dil_w), groups)
            # pixel q of the small output is canvas pixel s*(q + shift) + phase
            phase_grid = canvas[:, :, rh + sh * shift_h::sh, rw + sw * shift_w::sw]
            phase_grid[:, :, :y.shape[2], :y.shape[3]] = y
    return _crop(canvas, x, w, stride, padding, output_padding, dilation)


def multiply_counts(input_hw, kernel_hw, in_channels, out_channels, stride=1, padding=0,
                    output_padding=0, dilation=1, groups=1, batch=1):
    """How many scalar products each view computes, as a dict:

        useful          a real input pixel times a kernel tap, landing in the output
        scatter         every tap of every input pixel, cropped ones included
                        (minigrad's kernel, the gradient view, computes the same)
        zero_insertion  every output pixel times every tap, zeros and all
        subpixel        the s*s small convolutions, each over its whole phase grid

    input_hw, kernel_hw: (H, W), (kH, kW); the other settings as for conv_transpose2d."""
    stride, padding, output_padding, dilation = (pair(v, "setting") for v in
                                                 (stride, padding, output_padding, dilation))
    # channel pairs that meet, for each pair of pixels
    useful = scatter = zero_insertion = subpixel = batch * in_channels * out_channels // groups
    for axis in range(2):
        size, k, s, d = input_hw[axis], kernel_hw[axis], stride[axis], dilation[axis]
        p = padding[axis]
        out = conv_transpose_output_size(size, k, s, p, output_padding[axis], d)
        # tap i of input pixel a lands on s*a + d*i - p of the cropped output
        useful *= sum(0 <= s * a + d * i - p < out for a in range(size) for i in range(k))
        scatter *= size * k
        zero_insertion *= out * k
        phase_products = 0
        for phase in range(s):
            found = _phase_taps(k, s, d, phase)
            if found:
                taps, _, small_dilation = found
                small_k = len(range(k)[taps])
                phase_products += (size + small_dilation * (small_k - 1)) * small_k
        subpixel *= phase_products
    return {"useful": useful, "scatter": scatter, "zero_insertion": zero_insertion,
            "subpixel": subpixel}
