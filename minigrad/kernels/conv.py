"""The three array kernels behind Conv2d and ConvTranspose2d (NumPy or CuPy, no autograd).

    conv2d_forward     y  = x conv w              (Conv2d forward, ConvTranspose2d input gradient)
    conv2d_input_grad  gx = gy conv^T w           (Conv2d input gradient, ConvTranspose2d forward)
    conv2d_weight_grad gw = x correlated with gy  (both weight gradients, roles swapped)

Shapes: x (N, C, H, W), w (O, C/groups, kH, kW), y (N, O, Ho, Wo). Settings are (height, width)
pairs of ints, padding symmetric. Each call is one matrix product with the groups as batch
dimension; the only Python loop runs over the kH*kW kernel taps. Nothing is zero-inserted.

Inside, arrays are laid out batch-last, (C, H, W, N), and the (N, C, H, W) results are views of
that memory (as PyTorch's channels_last): the next layer then reads them without a transpose.
"""
from ..backend import get_array_module
from ..shapes import conv_output_size

__all__ = ["conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad"]


def _to_chwn(x, padding=(0, 0)):
    """x: (N, C, H, W) -> (C, H + 2ph, W + 2pw, N), zero-padded (no copy if already so laid out).

    The batch goes last in memory so that every gather and scatter below moves runs of N
    contiguous numbers instead of runs of a few pixels."""
    (ph, pw), (n, c, h, w) = padding, x.shape
    xp = get_array_module(x)
    if ph == pw == 0:
        return xp.ascontiguousarray(x.transpose(1, 2, 3, 0))
    out = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    out[:, ph:ph + h, pw:pw + w] = x.transpose(1, 2, 3, 0)
    return out


def _im2col(x, kernel_hw, out_hw, stride, padding, dilation, groups):
    """cols: (G, C/G * kH * kW, Ho * Wo * N): column m holds the input samples output pixel m sees."""
    x = _to_chwn(x, padding)
    c, n = x.shape[0], x.shape[3]
    sc, sh, sw, sn = x.strides
    # A view with one axis per kernel tap and per output pixel; reshape makes the one copy.
    windows = get_array_module(x).lib.stride_tricks.as_strided(
        x, (groups, c // groups, *kernel_hw, *out_hw, n),
        (sc * (c // groups), sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1], sn))
    return windows.reshape(groups, c // groups * kernel_hw[0] * kernel_hw[1], out_hw[0] * out_hw[1] * n)


def _col2im(cols, input_hw, stride, padding, dilation):
    """cols: (C, kH, kW, Ho, Wo, N) -> x: (N, C, H, W), each tap's samples added where they came from.

    The padded input is kept as stride-phases: row r at (r % s, r // s). A tap then lands on one
    phase, on consecutive rows, so each of the kH*kW additions is one contiguous block."""
    c, kh, kw, ho, wo, n = cols.shape
    (h, w), (ph, pw), (sh, sw), (dh, dw) = input_hw, padding, stride, dilation
    hq, wq = -(-(h + 2 * ph) // sh), -(-(w + 2 * pw) // sw)
    phases = get_array_module(cols).zeros((c, sh, hq, sw, wq, n), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            (qi, ri), (qj, rj) = divmod(dh * i, sh), divmod(dw * j, sw)
            phases[:, ri, qi:qi + ho, rj, qj:qj + wo] += cols[:, i, j]
    padded = phases.transpose(0, 2, 1, 4, 3, 5).reshape(c, hq * sh, wq * sw, n)
    return padded[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)


def _grouped(y, groups):
    """y: (N, G * Og, Ho, Wo) -> (G, Og, Ho * Wo * N), the layout the matrix products use."""
    n, o, h, w = y.shape
    return _to_chwn(y).reshape(groups, o // groups, h * w * n)


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """y[n, o] = sum over c, taps of w[o, c, i, j] * x_padded[n, c, s*h + d*i, s*w + d*j].

    x: (N, C, H, W), w: (O, C/G, kH, kW) -> y: (N, O, Ho, Wo), batch-last in memory."""
    n, (o, cg, kh, kw) = x.shape[0], w.shape
    out_hw = tuple(conv_output_size(x.shape[2 + a], w.shape[2 + a], stride[a], padding[a], dilation[a])
                   for a in range(2))
    cols = _im2col(x, (kh, kw), out_hw, stride, padding, dilation, groups)
    y = w.reshape(groups, o // groups, cg * kh * kw) @ cols  # (G, O/G, Ho*Wo*N)
    return y.reshape(o, *out_hw, n).transpose(3, 0, 1, 2)


def conv2d_input_grad(grad_y, w, input_hw, stride, padding, dilation, groups):
    """The adjoint of conv2d_forward in x: every output pixel sends w-weighted copies of itself
    back to the input samples it saw (col2im), a scatter-add per kernel tap.

    grad_y: (N, O, Ho, Wo), w: (O, C/G, kH, kW), input_hw = (H, W) -> grad_x: (N, C, H, W)."""
    n, _, ho, wo = grad_y.shape
    o, cg, kh, kw = w.shape
    cols = w.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1) @ _grouped(grad_y, groups)
    return _col2im(cols.reshape(groups * cg, kh, kw, ho, wo, n), input_hw, stride, padding, dilation)


def conv2d_weight_grad(x, grad_y, kernel_hw, stride, padding, dilation, groups):
    """grad_w[o, c, i, j] = sum over n and output pixels of grad_y[n, o, ...] * x_padded[n, c, ...].

    x: (N, C, H, W), grad_y: (N, O, Ho, Wo) -> grad_w: (O, C/G, kH, kW). Ho, Wo come from grad_y,
    so rows of x that no output pixel sees are ignored."""
    o, cg = grad_y.shape[1], x.shape[1] // groups
    cols = _im2col(x, kernel_hw, grad_y.shape[2:], stride, padding, dilation, groups)
    grad_w = _grouped(grad_y, groups) @ cols.transpose(0, 2, 1)  # (G, O/G, C/G*kH*kW)
    return grad_w.reshape(o, cg, *kernel_hw)
