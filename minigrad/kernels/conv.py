"""The three array kernels behind Conv2d and ConvTranspose2d (NumPy or CuPy, no autograd).

    conv2d_forward     y  = x conv w              (Conv2d forward, ConvTranspose2d input gradient)
    conv2d_input_grad  gx = gy conv^T w           (Conv2d input gradient, ConvTranspose2d forward)
    conv2d_weight_grad gw = x correlated with gy  (both weight gradients, roles swapped)

Shapes: x (N, C, H, W), w (O, C/groups, kH, kW), y (N, O, Ho, Wo). Settings are (height, width)
pairs of ints, padding symmetric. The work is matrix products with the groups as batch dimension,
one per block of output rows (see `_row_blocks`); the other Python loop runs over the kH*kW kernel
taps. Nothing is zero-inserted.

Inside, arrays are laid out batch-last, (C, H, W, N), and the (N, C, H, W) results are views of
that memory (as PyTorch's channels_last): the next layer then reads them without a transpose.
"""
from ..backend import get_array_module
from ..shapes import conv_output_size

__all__ = ["conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad"]

# Bytes of column matrix per product. On a CPU a block this size is still in cache when the product
# reads it back (measured: 13-24 % faster than one product on large layers, and the temporary memory
# stays bounded); a GPU gains nothing from small blocks, only kernel launches.
BLOCK_BYTES = {"numpy": 4 * 2**20, "cupy": 512 * 2**20}


def _row_blocks(rows, bytes_per_row, xp):
    """Slices of rows 0..rows-1 whose columns take about BLOCK_BYTES (at least one row each, and one
    empty block when there are no rows, so that an empty input still gives a zero weight gradient)."""
    step = max(1, BLOCK_BYTES[xp.__name__] // max(bytes_per_row, 1))
    return [slice(r, min(r + step, rows)) for r in range(0, max(rows, 1), step)]


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


def _windows(x, kernel_hw, out_hw, stride, padding, dilation, groups):
    """A view (G, C/G, kH, kW, Ho, Wo, N) of the padded x: [..., i, j, h, w, n] is what tap (i, j)
    of output pixel (h, w) sees. Reshaping a block of it to (G, C/G*kH*kW, rows*Wo*N) is im2col."""
    x = _to_chwn(x, padding)
    c, n = x.shape[0], x.shape[3]
    sc, sh, sw, sn = x.strides
    return get_array_module(x).lib.stride_tricks.as_strided(
        x, (groups, c // groups, *kernel_hw, *out_hw, n),
        (sc * (c // groups), sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1], sn))


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
    xp, taps, row = get_array_module(x), cg * kh * kw, out_hw[1] * n
    windows = _windows(x, (kh, kw), out_hw, stride, padding, dilation, groups)
    w_matrix = w.reshape(groups, o // groups, taps)
    y = xp.empty((groups, o // groups, out_hw[0] * row), dtype=x.dtype)
    for rows in _row_blocks(out_hw[0], taps * row * x.itemsize, xp):
        cols = windows[:, :, :, :, rows].reshape(groups, taps, -1)  # im2col of this block: the one copy
        xp.matmul(w_matrix, cols, out=y[:, :, rows.start * row:rows.stop * row])
        del cols  # before the next block is built: one block alive at a time
    return y.reshape(o, *out_hw, n).transpose(3, 0, 1, 2)


def conv2d_input_grad(grad_y, w, input_hw, stride, padding, dilation, groups):
    """The adjoint of conv2d_forward in x: every output pixel sends w-weighted copies of itself
    back to the input samples it saw (col2im), a scatter-add per kernel tap.

    grad_y: (N, O, Ho, Wo), w: (O, C/G, kH, kW), input_hw = (H, W) -> grad_x: (N, C, H, W).
    The padded input is kept as stride phases: row r at (r % s, r // s). A tap then lands on one
    phase, on consecutive rows, so each addition is one contiguous block."""
    n, _, ho, wo = grad_y.shape
    o, cg, kh, kw = w.shape
    (h, wd), (ph, pw), (sh, sw), (dh, dw) = input_hw, padding, stride, dilation
    xp, taps, row = get_array_module(grad_y), cg * kh * kw, wo * n
    hq, wq = -(-(h + 2 * ph) // sh), -(-(wd + 2 * pw) // sw)
    phases = xp.zeros((groups * cg, sh, hq, sw, wq, n), dtype=grad_y.dtype)
    w_matrix_t, grad_y = w.reshape(groups, o // groups, taps).transpose(0, 2, 1), _grouped(grad_y, groups)
    for rows in _row_blocks(ho, taps * row * grad_y.itemsize, xp):
        cols = w_matrix_t @ grad_y[:, :, rows.start * row:rows.stop * row]
        cols = cols.reshape(groups * cg, kh, kw, rows.stop - rows.start, wo, n)
        for i in range(kh):
            for j in range(kw):
                (qi, ri), (qj, rj) = divmod(dh * i, sh), divmod(dw * j, sw)
                phases[:, ri, qi + rows.start:qi + rows.stop, rj, qj:qj + wo] += cols[:, i, j]
        del cols  # before the next block is computed: one block alive at a time
    padded = phases.transpose(0, 2, 1, 4, 3, 5).reshape(groups * cg, hq * sh, wq * sw, n)
    return padded[:, ph:ph + h, pw:pw + wd].transpose(3, 0, 1, 2)


def conv2d_weight_grad(x, grad_y, kernel_hw, stride, padding, dilation, groups):
    """grad_w[o, c, i, j] = sum over n and output pixels of grad_y[n, o, ...] * x_padded[n, c, ...].

    x: (N, C, H, W), grad_y: (N, O, Ho, Wo) -> grad_w: (O, C/G, kH, kW). Ho, Wo come from grad_y,
    so rows of x that no output pixel sees are ignored."""
    n, o, ho, wo = grad_y.shape
    cg = x.shape[1] // groups
    xp, taps, row = get_array_module(x), cg * kernel_hw[0] * kernel_hw[1], wo * n
    windows, grad_y = _windows(x, kernel_hw, (ho, wo), stride, padding, dilation, groups), _grouped(grad_y, groups)

    def block_product(rows):
        cols = windows[:, :, :, :, rows].reshape(groups, taps, -1)
        return grad_y[:, :, rows.start * row:rows.stop * row] @ cols.transpose(0, 2, 1)

    first, *rest = _row_blocks(ho, taps * row * x.itemsize, xp)
    grad_w = block_product(first)  # (G, O/G, C/G*kH*kW)
    for rows in rest:
        grad_w += block_product(rows)
    return grad_w.reshape(o, cg, *kernel_hw)
