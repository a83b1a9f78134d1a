"""The source documents' examples (book/seeds), with their own numbers, run in minigrad."""
import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn, shapes
from tests.helpers import assert_close, copy_torch_weights, from_torch, random_array


def twin(torch_layer, **kwargs):
    """A minigrad layer with the same settings and the same (already drawn) weights."""
    names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "dilation")
    layer = nn.ConvTranspose2d(**{n: getattr(torch_layer, n) for n in names}, bias=torch_layer.bias is not None, **kwargs)
    return copy_torch_weights(torch_layer, layer)


# ---- seeds/002: the forum thread -------------------------------------------------------------------

@pytest.mark.parametrize("padding,size", [(1, 2), (0, 4)])
def test_padding_makes_the_transposed_output_smaller(padding, size):
    """2x2 input, kernel 2, stride 2: 2x2 with padding=1, 4x4 without, as the thread reports."""
    d = torch.tensor(random_array((1, 1, 2, 2), "float32"))
    deconv = torch.nn.ConvTranspose2d(1, 1, kernel_size=2, stride=2, padding=padding)
    mine = twin(deconv)
    assert mine(from_torch(d)).shape == (1, 1, size, size) == tuple(deconv(d).shape)
    assert_close(mine(from_torch(d)), deconv(d), atol=1e-6)
    assert shapes.conv_transpose_output_size(2, 2, stride=2, padding=padding) == size


def test_the_implicit_padding_in_the_thread_is_zero_not_minus_one():
    # The poster used dilation 0; the default dilation is 1, so d(k-1) - p = 1*(2-1) - 1 = 0.
    assert shapes.implicit_padding(kernel_size=2, padding=1, dilation=1) == 0


@pytest.mark.parametrize("stride,round_trip", [(1, 28), (2, 27)])
def test_28_round_trip(stride, round_trip):
    """Conv2d then ConvTranspose2d with k=5, p=0: 28 -> 24 -> 28 at stride 1, 28 -> 12 -> 27 at stride 2."""
    D = minigrad.randn(1, 1, 28, 28)
    conv = nn.Conv2d(1, 1, kernel_size=5, stride=stride, padding=0)
    deconv = nn.ConvTranspose2d(1, 1, kernel_size=5, stride=stride, padding=0)
    D1 = conv(D)
    assert D1.shape == (1, 1, 24 if stride == 1 else 12, 24 if stride == 1 else 12)
    assert deconv(D1).shape == (1, 1, round_trip, round_trip)
    assert tuple(torch.nn.ConvTranspose2d(1, 1, 5, stride=stride)(torch.zeros(D1.shape)).shape) == (1, 1, round_trip, round_trip)


def test_28_round_trip_repaired_with_output_size():
    D = minigrad.randn(1, 1, 28, 28)
    conv, deconv = nn.Conv2d(1, 1, 5, stride=2), nn.ConvTranspose2d(1, 1, 5, stride=2)
    D1 = conv(D)
    assert deconv(D1, output_size=D.shape).shape == D.shape
    assert deconv(D1, output_size=(28, 28)).shape == (1, 1, 28, 28)
    assert shapes.output_size_range(12, 5, stride=2) == (27, 28)
    with pytest.raises(ValueError, match=r"\[27, 27\] to \[28, 28\]"):
        deconv(D1, output_size=(29, 29))


# ---- seeds/000: the article's three shape examples ---------------------------------------------------

def test_article_example_1_doubles_32_to_64():
    layer = nn.ConvTranspose2d(in_channels=3, out_channels=3, kernel_size=3, stride=2, padding=1, output_padding=1)
    assert layer(minigrad.randn(1, 3, 32, 32)).shape == (1, 3, 64, 64)


def test_article_example_2_permute_changes_nothing_here():
    x = minigrad.randn(1, 16, 16, 16)
    permuted = x.permute(0, 3, 1, 2)  # (1, 16, 16, 16) again: all three trailing sizes are 16
    assert permuted.shape == x.shape  # the shape, not the values: the channels are now the old width
    np.testing.assert_array_equal(permuted.numpy(), np.transpose(x.numpy(), (0, 3, 1, 2)))
    assert not np.array_equal(permuted.numpy(), x.numpy())
    layer = nn.ConvTranspose2d(in_channels=16, out_channels=8, kernel_size=4, stride=2, padding=1)
    assert layer(permuted).shape == (1, 8, 32, 32)


def test_article_example_3_dilation_grows_8_to_10():
    layer = nn.ConvTranspose2d(in_channels=64, out_channels=32, kernel_size=3, stride=1, padding=1, dilation=2)
    assert layer(minigrad.randn(1, 64, 8, 8)).shape == (1, 32, 10, 10)
    assert shapes.conv_transpose_output_size(8, 3, stride=1, padding=1, dilation=2) == 10


# ---- seeds/001: the reference card, with PyTorch's seed-42 weights ----------------------------------

def seed_42_layer(in_channels, out_channels, dtype=None):
    torch.manual_seed(42)
    theirs = torch.nn.ConvTranspose2d(in_channels, out_channels, kernel_size=1, dtype=dtype)
    return twin(theirs, dtype=None if dtype is None else {torch.complex64: minigrad.complex64}[dtype])


PRINTED_TENSOR2 = [[[4.0616, -0.7939, 0.5304, 0.9718, 2.7374, -0.3525]],
                   [[3.7071, -1.5641, -0.1265, 0.3527, 2.2695, -1.0849]],
                   [[-0.9656, 0.5223, 0.1165, -0.0188, -0.5598, 0.3870]]]


def test_reference_card_unbatched_1_by_6():
    tensor1 = minigrad.tensor([[[8., -3., 0., 1., 5., -2.]]])
    assert not tensor1.requires_grad
    convtran2d1 = seed_42_layer(1, 3)
    tensor2 = convtran2d1(tensor1)
    assert_close(tensor2, np.array(PRINTED_TENSOR2), atol=1e-4)
    assert tensor2.requires_grad
    assert repr(convtran2d1) == "ConvTranspose2d(1, 3, kernel_size=(1, 1), stride=(1, 1))"
    assert (convtran2d1.in_channels, convtran2d1.out_channels, convtran2d1.groups) == (1, 3, 1)
    assert convtran2d1.kernel_size == convtran2d1.stride == convtran2d1.dilation == (1, 1)
    assert convtran2d1.padding == convtran2d1.output_padding == (0, 0) and convtran2d1.padding_mode == "zeros"
    assert_close(convtran2d1.bias, np.array([0.5304, -0.1265, 0.1165]), atol=1e-4)
    assert_close(convtran2d1.weight, np.array([0.4414, 0.4792, -0.1353]).reshape(1, 3, 1, 1), atol=1e-4)

    convtran2d2 = seed_42_layer(3, 3)
    assert_close(convtran2d2(tensor2), np.array([[[3.6068, -1.7503, -0.2893, 0.1977, 2.1458, -1.2633]],
                                                 [[1.6518, 0.4964, 0.8115, 0.9165, 1.3367, 0.6014]],
                                                 [[-0.5008, 0.2990, 0.0809, 0.0082, -0.2827, 0.2263]]]), atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 2, 3), (1, 6, 1)])
def test_reference_card_other_unbatched_shapes(shape):
    values = np.array([8., -3., 0., 1., 5., -2.], dtype=np.float32).reshape(shape)
    printed = np.array(PRINTED_TENSOR2).reshape(3, *shape[1:])
    assert_close(seed_42_layer(1, 3)(minigrad.tensor(values)), printed, atol=1e-4)


BATCHED_INPUT = [[[[8.], [-3.], [0.]], [[1.], [5.], [-2.]]]]


def test_reference_card_batched_two_channels():
    expected = [[[[3.7805], [1.0465], [-1.3418]], [[4.0462], [-1.7310], [0.5921]], [[-0.4566], [1.4973], [0.2760]]]]
    assert_close(seed_42_layer(2, 3)(minigrad.tensor(BATCHED_INPUT)), np.array(expected), atol=1e-4)


def test_reference_card_complex64():
    x = minigrad.tensor(np.array(BATCHED_INPUT, dtype=np.complex64))
    layer = seed_42_layer(2, 3, dtype=torch.complex64)
    assert layer.weight.dtype == np.complex64
    y = layer(x)
    assert y.dtype == np.complex64
    expected = [[[[3.6767 + 4.2509j], [-2.3031 + 0.3359j], [0.9887 - 0.5999j]],
                 [[-0.2947 + 3.7378j], [3.2290 - 3.7904j], [-0.7395 + 0.7656j]],
                 [[-0.0651 + 1.1254j], [3.3337 + 0.2761j], [-0.5586 - 0.1308j]]]]
    assert_close(y, np.array(expected), atol=1e-4)
