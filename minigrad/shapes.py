"""Shape arithmetic of convolution and transposed convolution, one spatial dimension at a time.

Pure functions on ints: the formula chapters of the book call them, and so do the layers.
Notation: k kernel_size, s stride, p padding, d dilation, op output_padding.
"""
import numbers

__all__ = ["conv_output_size", "conv_transpose_output_size", "output_size_range", "implicit_padding",
           "same_padding", "transpose_params_for"]


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a convolution: floor((size + 2p - d(k-1) - 1) / s) + 1.

    The kernel spans d(k-1) + 1 input samples; it fits at every s-th position of the padded input.
    A result below 1 means the kernel does not fit at all.
    >>> conv_output_size(28, 5, stride=2)
    12
    """
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of a transposed convolution: (size - 1)s - 2p + d(k-1) + op + 1.

    The inputs land s apart, (size - 1)s + 1 samples; each spreads over d(k-1) more; padding
    crops p from each end; output_padding adds op samples at the far end.
    >>> conv_transpose_output_size(12, 5, stride=2)
    27
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def output_size_range(size, kernel_size, stride=1, padding=0, dilation=1):
    """(smallest, largest) output length that ConvTranspose2d.forward(output_size=...) accepts.

    These are exactly the lengths that a convolution with the same settings maps back to `size`
    (the floor in conv_output_size forgets up to s - 1 samples), so output_padding runs from
    0 to s - 1. PyTorch's functional conv_transpose2d also allows op < dilation, but such sizes
    are not the inverse of any convolution, and PyTorch's output_size rejects them too.
    >>> output_size_range(12, 5, stride=2)
    (27, 28)
    """
    smallest = conv_transpose_output_size(size, kernel_size, stride, padding, 0, dilation)
    return smallest, smallest + stride - 1


def implicit_padding(kernel_size, padding=0, dilation=1):
    """Zeros that the transposed convolution, seen as a plain convolution, puts on each side of
    its (zero-inserted) input: d(k-1) - p. Negative means it crops instead.
    >>> implicit_padding(2, padding=1)
    0
    """
    return dilation * (kernel_size - 1) - padding


def same_padding(kernel_size, dilation=1):
    """(before, after) padding that keeps the length at stride 1 (padding="same"): the d(k-1)
    extra samples split evenly, the odd one after, as PyTorch does.
    >>> same_padding(4)
    (1, 2)
    """
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def transpose_params_for(size_in, size_out, max_kernel=7, max_stride=4, max_padding=3, dilation=1):
    """Every (kernel_size, stride, padding, output_padding) with which a transposed convolution
    turns length `size_in` into `size_out` (output_padding < stride or < dilation, as PyTorch requires).
    >>> transpose_params_for(7, 14, max_kernel=4, max_stride=2)
    [(1, 2, 0, 1), (2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0)]
    """
    found = []
    for kernel_size in range(1, max_kernel + 1):
        for stride in range(1, max_stride + 1):
            for padding in range(max_padding + 1):
                for output_padding in range(max(stride, dilation)):
                    size = conv_transpose_output_size(size_in, kernel_size, stride, padding, output_padding, dilation)
                    if size == size_out:
                        found.append((kernel_size, stride, padding, output_padding))
    return found


def pair(value, name):
    """A setting given as an int or a sequence of one or two ints -> (height, width), as PyTorch reads it."""
    if _is_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) == 1:
            return int(value[0]), int(value[0])
        if len(value) == 2:
            return int(value[0]), int(value[1])
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 values, "
                           f"but got {name}={list(value)}")
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
