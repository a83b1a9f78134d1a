"""minigrad.shapes against the sizes PyTorch's layers actually produce and accept."""
import doctest
import itertools

import pytest
import torch

from minigrad import shapes
from tests.helpers import random_array


def test_docstring_examples_hold():
    results = doctest.testmod(shapes)
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.parametrize("size,kernel,stride,padding,dilation",
                         [c for c in itertools.product([1, 2, 5, 8], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2])
                          if c[0] + 2 * c[3] >= c[4] * (c[1] - 1) + 1])
def test_output_sizes_match_torch(size, kernel, stride, padding, dilation):
    x = torch.zeros(1, 1, size, size)
    conv = torch.nn.functional.conv2d(x, torch.zeros(1, 1, kernel, kernel), stride=stride, padding=padding, dilation=dilation)
    assert conv.shape[-1] == shapes.conv_output_size(size, kernel, stride, padding, dilation)
    for output_padding in range(max(stride, dilation)):
        expected = shapes.conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)
        w = torch.zeros(1, 1, kernel, kernel)
        settings = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
        if expected < 1:  # PyTorch refuses an empty output
            with pytest.raises(RuntimeError, match="too small"):
                torch.nn.functional.conv_transpose2d(x, w, **settings)
        else:
            assert torch.nn.functional.conv_transpose2d(x, w, **settings).shape[-1] == expected


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", [(5, 3, 2, 0, 1), (12, 5, 2, 0, 1), (4, 3, 3, 1, 2),
                                                                 (3, 2, 1, 0, 3), (7, 4, 2, 1, 1), (2, 1, 4, 0, 1)])
def test_output_size_range_is_what_torch_accepts(size, kernel, stride, padding, dilation):
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    x = torch.zeros(1, 1, size, size)
    accepted = []
    for n in range(1, 40):
        try:
            layer(x, output_size=(n, n))
            accepted.append(n)
        except ValueError:
            pass
    low, high = shapes.output_size_range(size, kernel, stride, padding, dilation)
    assert accepted == list(range(low, high + 1))


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", [(28, 5, 2, 0, 1), (14, 4, 2, 1, 1), (9, 3, 3, 1, 2)])
def test_output_size_range_is_every_size_the_convolution_maps_back(size, kernel, stride, padding, dilation):
    small = shapes.conv_output_size(size, kernel, stride, padding, dilation)
    low, high = shapes.output_size_range(small, kernel, stride, padding, dilation)
    preimages = [n for n in range(1, 3 * size) if shapes.conv_output_size(n, kernel, stride, padding, dilation) == small]
    assert preimages == list(range(low, high + 1)) and low <= size <= high


def test_implicit_padding_is_the_zeros_of_the_equivalent_convolution():
    # ConvTranspose2d == conv2d of the zero-inserted input padded by d(k-1)-p, with the flipped kernel.
    x, w = torch.tensor(random_array((1, 1, 3, 4), seed=1)), torch.tensor(random_array((1, 1, 3, 2), seed=2))
    for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), (3, 1, 2), (2, 2, 2)]:
        expected = torch.nn.functional.conv_transpose2d(x, w, stride=stride, padding=padding, dilation=dilation)
        spread = torch.zeros(1, 1, (3 - 1) * stride + 1, (4 - 1) * stride + 1, dtype=torch.float64)
        spread[..., ::stride, ::stride] = x
        pads = [shapes.implicit_padding(k, padding, dilation) for k in (3, 2)]
        padded = torch.nn.functional.pad(spread, (pads[1], pads[1], pads[0], pads[0]))
        got = torch.nn.functional.conv2d(padded, w.flip(-1, -2), dilation=dilation)
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("kernel,dilation", [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (3, 3), (5, 2)])
def test_same_padding_splits_like_torch(kernel, dilation):
    x, w = torch.tensor(random_array((1, 1, 9, 9), seed=1)), torch.tensor(random_array((1, 1, kernel, 1), seed=2))
    before, after = shapes.same_padding(kernel, dilation)
    expected = torch.nn.functional.conv2d(x, w, padding="same", dilation=dilation)
    got = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 0, before, after)), w, dilation=dilation)
    torch.testing.assert_close(got, expected)


def test_transpose_params_for_lists_every_working_setting():
    found = shapes.transpose_params_for(7, 14, max_kernel=6, max_stride=3, max_padding=3)
    assert (4, 2, 1, 0) in found  # the DCGAN generator's 7 -> 14 layer
    for kernel, stride, padding, output_padding in found:
        y = torch.nn.functional.conv_transpose2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, kernel, kernel),
                                                 stride=stride, padding=padding, output_padding=output_padding)
        assert y.shape[-1] == 14
    everything = [(k, s, p, op) for k, s, p in itertools.product(range(1, 7), range(1, 4), range(4)) for op in range(s)]
    missing = [c for c in everything if c not in found and shapes.conv_transpose_output_size(7, c[0], c[1], c[2], c[3]) == 14]
    assert missing == []
