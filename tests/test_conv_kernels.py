"""The three array kernels against PyTorch's convolution and its gradients (float64, complex128)."""
import itertools

import numpy as np
import pytest
import torch

from minigrad.backend import to_device
from minigrad.kernels import conv
from minigrad.kernels.conv import conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from tests.helpers import random_array


@pytest.fixture(params=[None, 1, 3])
def rows_per_block(request, monkeypatch):
    """Run a test with the kernels' products over blocks of 1 or 3 output rows, as well as the default."""
    step = request.param
    if step:
        monkeypatch.setattr(conv, "_row_blocks", lambda rows, *_: [slice(r, min(r + step, rows))
                                                                   for r in range(0, rows, step)])
    return step


SETTINGS = [c for c in itertools.product([(1, 1), (3, 3), (2, 4)], [(1, 1), (2, 3)], [(0, 0), (1, 2)], [(1, 1), (2, 1)], [1, 2])]


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("kernel,stride,padding,dilation,groups", SETTINGS)
def test_kernels_match_torch_convolution_and_its_gradients(kernel, stride, padding, dilation, groups, dtype,
                                                           rows_per_block):
    rng = np.random.default_rng(0)
    x, w = random_array((2, 4, 9, 8), dtype, rng), random_array((6, 4 // groups, *kernel), dtype, rng)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, stride=stride, padding=padding, dilation=dilation, groups=groups)
    grad_y = random_array(tuple(ty.shape), dtype, rng)
    ty.backward(torch.tensor(grad_y))
    settings = (stride, padding, dilation, groups)
    np.testing.assert_allclose(conv2d_forward(x, w, *settings), ty.detach().numpy(), atol=1e-12)
    # PyTorch's complex gradients are conjugate-Wirtinger: the kernels get conj(w) and conj(x).
    np.testing.assert_allclose(conv2d_input_grad(grad_y, w.conj(), (9, 8), *settings), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv2d_weight_grad(x.conj(), grad_y, kernel, *settings), tw.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("size,kernel,stride,padding,output_padding,dilation,groups",
                         [(5, 3, 2, 1, 1, 1, 1), (4, 4, 2, 1, 0, 1, 2), (3, 3, 1, 0, 1, 2, 1), (3, 2, 2, 2, 2, 3, 1),
                          (1, 7, 1, 0, 0, 1, 1), (6, 5, 3, 4, 2, 1, 2)])
def test_input_grad_kernel_is_torch_conv_transpose2d(size, kernel, stride, padding, output_padding, dilation, groups,
                                                     rows_per_block):
    rng = np.random.default_rng(0)
    x = random_array((2, 4, size, size + 1), np.float64, rng)
    w = random_array((4, 6 // groups, kernel, kernel - 1 or 1), np.float64, rng)
    expected = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=stride, padding=padding,
                                                    output_padding=output_padding, groups=groups, dilation=dilation)
    got = conv2d_input_grad(x, w, expected.shape[2:], (stride,) * 2, (padding,) * 2, (dilation,) * 2, groups)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_kernels_keep_the_dtype(dtype):
    rng = np.random.default_rng(0)
    x, w = random_array((2, 4, 6, 6), dtype, rng), random_array((4, 2, 3, 3), dtype, rng)
    settings = ((2, 2), (1, 1), (1, 1), 2)
    y = conv2d_forward(x, w, *settings)
    assert y.dtype == dtype
    assert conv2d_input_grad(y, w, (6, 6), *settings).dtype == dtype
    assert conv2d_weight_grad(x, y, (3, 3), *settings).dtype == dtype


def test_input_grad_is_the_adjoint_of_forward(rows_per_block):
    """<conv(x), g> = <x, conv^T(g)> and <conv(x; w), g> = <w, weight_grad(x, g)>: transposes, exactly."""
    rng = np.random.default_rng(0)
    x, w = random_array((3, 6, 11, 7), np.complex128, rng), random_array((6, 2, 3, 2), np.complex128, rng)
    settings = ((2, 3), (1, 2), (2, 1), 3)
    y = conv2d_forward(x, w, *settings)
    g = random_array(y.shape, np.complex128, rng)
    inner = np.vdot(g, y)
    np.testing.assert_allclose(np.vdot(conv2d_input_grad(g, w.conj(), (11, 7), *settings), x), inner, rtol=1e-12)
    np.testing.assert_allclose(np.vdot(conv2d_weight_grad(x.conj(), g, (3, 2), *settings), w), inner, rtol=1e-12)


def test_empty_batch_gives_empty_results(rows_per_block):
    x, w = np.zeros((0, 4, 5, 5)), random_array((6, 2, 3, 3))
    y = conv2d_forward(x, w, (1, 1), (0, 0), (1, 1), 2)
    assert y.shape == (0, 6, 3, 3)
    assert conv2d_input_grad(y, w, (5, 5), (1, 1), (0, 0), (1, 1), 2).shape == (0, 4, 5, 5)
    np.testing.assert_array_equal(conv2d_weight_grad(x, y, (3, 3), (1, 1), (0, 0), (1, 1), 2), np.zeros(w.shape))


def test_kernels_run_on_the_device(device):
    """On the device, forward and input gradient against PyTorch's conv2d and its autograd (on the CPU)."""
    rng = np.random.default_rng(0)
    x, w = random_array((2, 4, 7, 7), np.float64, rng), random_array((6, 4, 3, 3), np.float64, rng)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, torch.tensor(w), stride=2, padding=1)
    ty.backward(ty.detach())  # the output as the output's gradient
    settings = ((2, 2), (1, 1), (1, 1), 1)
    y = conv2d_forward(to_device(x, device), to_device(w, device), *settings)
    np.testing.assert_allclose(to_device(y, "cpu"), ty.detach().numpy(), atol=1e-12)
    gx = conv2d_input_grad(y, to_device(w, device), (7, 7), *settings)
    np.testing.assert_allclose(to_device(gx, "cpu"), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("rows", [1, 2, 7, 32])
@pytest.mark.parametrize("share", [0, 1e-9, 0.3, 1, 2.5])
def test_row_blocks_cover_every_row_once_within_the_budget(rows, share):
    budget = conv.BLOCK_BYTES["numpy"]
    bytes_per_row = int(share * budget)
    blocks = conv._row_blocks(rows, bytes_per_row, np)
    assert [r for block in blocks for r in range(rows)[block]] == list(range(rows))
    assert all(block.stop - block.start == 1 or (block.stop - block.start) * bytes_per_row <= budget for block in blocks)
    # as few products as the budget allows: every block but the last is full
    assert all((block.stop - block.start + 1) * bytes_per_row > budget for block in blocks[:-1])
