"""The three reference views of the transposed convolution (minigrad/kernels/reference.py) against
PyTorch (float64), minigrad's own F.conv_transpose2d, and a brute-force count of their products."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad.backend import to_device
from minigrad.kernels import reference
from minigrad.shapes import conv_transpose_output_size
from tests.helpers import random_array

VIEWS = [reference.conv_transpose2d_scatter, reference.conv_transpose2d_zero_insertion,
         reference.conv_transpose2d_subpixel]

# (input_hw, kernel_hw, stride, padding, output_padding, dilation, groups)
GRID = [
    ((4, 4), (3, 3), 1, 0, 0, 1, 1),
    ((4, 5), (3, 3), 2, 1, 1, 1, 1),
    ((2, 2), (2, 2), 2, 1, 0, 1, 1),       # the forum thread's padding example: 2x2 -> 2x2
    ((5, 4), (4, 4), 2, 1, 0, 1, 2),
    ((3, 4), (2, 3), (3, 2), (0, 1), (2, 1), 1, 1),   # rectangular everything
    ((3, 3), (2, 2), 1, 0, 1, 2, 1),       # output_padding below the dilation, at stride 1
    ((4, 3), (3, 2), 2, 2, 1, 2, 1),
    ((3, 3), (3, 3), 2, 0, 1, 3, 3),       # three groups, dilation 3
    ((4, 4), (1, 1), 3, 0, 2, 1, 1),       # kernel smaller than the stride: some phases get nothing
    ((3, 5), (3, 3), 1, 3, 0, 2, 1),       # implicit padding d(k-1) - p = 1
    ((4, 4), (2, 2), 1, 2, 0, 1, 1),       # d(k-1) - p = -1: zero insertion crops the input
    ((3, 3), (3, 3), 4, 1, 3, 2, 1),       # gcd(stride, dilation) = 2: half the phases stay zero
]


def random_case(seed, input_hw, kernel_hw, groups, batch=2, in_per_group=2, out_per_group=3):
    rng = np.random.default_rng(seed)
    x = random_array((batch, in_per_group * groups, *input_hw), seed=rng)
    w = random_array((in_per_group * groups, out_per_group, *kernel_hw), seed=rng)
    return x, w


def check_view(view, x, w, device="cpu", **settings_):
    expected = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), **settings_).numpy()
    got = view(to_device(x, device), to_device(w, device), **settings_)
    assert got.shape == expected.shape, f"{view.__name__} {settings_}: shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(to_device(got, "cpu"), expected, atol=1e-10, rtol=1e-9, err_msg=view.__name__)
    ours = F.conv_transpose2d(minigrad.tensor(x), minigrad.tensor(w), **settings_).numpy()
    np.testing.assert_allclose(to_device(got, "cpu"), ours, atol=1e-10, rtol=1e-9, err_msg="F.conv_transpose2d")


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__.removeprefix("conv_transpose2d_"))
@pytest.mark.parametrize("case", GRID)
def test_view_matches_pytorch_and_minigrad(view, case, device):
    input_hw, kernel_hw, stride, padding, output_padding, dilation, groups = case
    x, w = random_case(0, input_hw, kernel_hw, groups)
    check_view(view, x, w, device, stride=stride, padding=padding, output_padding=output_padding,
               dilation=dilation, groups=groups)


@st.composite
def transposed_conv_settings(draw):
    """Random valid settings: output_padding below max(stride, dilation), output at least 1 pixel."""
    pair = lambda low, high: st.tuples(st.integers(low, high), st.integers(low, high))  # noqa: E731
    input_hw, kernel_hw = draw(pair(1, 5)), draw(pair(1, 4))
    stride, dilation = draw(pair(1, 3)), draw(pair(1, 3))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    # the most padding that still leaves one output pixel: the uncropped length minus one, halved
    most = [(conv_transpose_output_size(*sizes, stride=s, output_padding=op, dilation=d) - 1) // 2
            for sizes, s, op, d in zip(zip(input_hw, kernel_hw), stride, output_padding, dilation)]
    padding = tuple(draw(st.integers(0, min(m, 3))) for m in most)
    return dict(input_hw=input_hw, kernel_hw=kernel_hw, stride=stride, padding=padding,
                output_padding=output_padding, dilation=dilation, groups=draw(st.sampled_from([1, 2, 3])))


@settings(max_examples=40, deadline=None)
@given(case=transposed_conv_settings(), seed=st.integers(0, 2**16))
def test_views_fuzz(case, seed):
    settings_ = {key: value for key, value in case.items() if key not in ("input_hw", "kernel_hw")}
    x, w = random_case(seed, case["input_hw"], case["kernel_hw"], case["groups"],
                       batch=1, in_per_group=1, out_per_group=2)
    for view in VIEWS:
        check_view(view, x, w, **settings_)


def brute_force_counts(x, w, stride, padding, output_padding, dilation, groups, monkeypatch):
    """Products counted without the formulas: by PyTorch on all-ones arrays, and by watching the
    convolutions that the zero-insertion and sub-pixel views really run."""
    ones_x, ones_w = torch.ones(x.shape, dtype=torch.float64), torch.ones(w.shape, dtype=torch.float64)
    # With ones everywhere each output pixel adds up one 1 per product that lands on it.
    useful = torch.nn.functional.conv_transpose2d(ones_x, ones_w, stride=stride, padding=padding,
                                                  output_padding=output_padding, groups=groups,
                                                  dilation=dilation).sum().item()
    scatter = torch.nn.functional.conv_transpose2d(ones_x, ones_w, stride=stride, groups=groups,
                                                   dilation=dilation).sum().item()
    calls = []
    real_conv = reference.conv2d_forward

    def counting_conv(inputs, kernel, *args):
        y = real_conv(inputs, kernel, *args)
        calls.append(y.size * kernel[0].size)  # every output number is one dot product of kernel[o].size
        return y

    monkeypatch.setattr(reference, "conv2d_forward", counting_conv)
    counted = {}
    for name, view in [("zero_insertion", reference.conv_transpose2d_zero_insertion),
                       ("subpixel", reference.conv_transpose2d_subpixel)]:
        calls.clear()
        view(x, w, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
        counted[name] = sum(calls)
    return {"useful": int(useful), "scatter": int(scatter), **counted}


@pytest.mark.parametrize("case", GRID)
def test_multiply_counts_match_brute_force(case, monkeypatch):
    input_hw, kernel_hw, stride, padding, output_padding, dilation, groups = case
    x, w = random_case(0, input_hw, kernel_hw, groups)
    formula = reference.multiply_counts(input_hw, kernel_hw, x.shape[1], w.shape[1] * groups, stride, padding,
                                        output_padding, dilation, groups, batch=x.shape[0])
    assert formula == brute_force_counts(x, w, stride, padding, output_padding, dilation, groups, monkeypatch)


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_zero_insertion_wastes_one_minus_one_over_s_squared(stride):
    # Large input, kernel a multiple of the stride: only the border keeps the share from the limit.
    counts = reference.multiply_counts((400, 400), (2 * stride, 2 * stride), 1, 1, stride, padding=stride // 2)
    wasted = 1 - counts["useful"] / counts["zero_insertion"]
    assert wasted == pytest.approx(1 - 1 / stride**2, abs=0.01)
    assert counts["useful"] <= min(counts["scatter"], counts["subpixel"], counts["zero_insertion"])


def test_zero_insertion_grid_of_the_forum_example():
    # 2x2 input, kernel 2, stride 2: one zero between pixels, then d(k-1) - p = 1 - p zeros around.
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    inserted = np.array([[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    np.testing.assert_array_equal(reference.zero_insertion_grid(x, (2, 2), stride=2)[0, 0], np.pad(inserted, 1))
    np.testing.assert_array_equal(reference.zero_insertion_grid(x, (2, 2), stride=2, padding=1)[0, 0], inserted)
    # negative implicit padding crops; output_padding adds at the bottom/right only
    np.testing.assert_array_equal(reference.zero_insertion_grid(x, (2, 2), stride=2, padding=2)[0, 0], [[0]])
    np.testing.assert_array_equal(reference.zero_insertion_grid(x, (2, 2), stride=2, padding=1, output_padding=1)[0, 0],
                                  np.pad(inserted, ((0, 1), (0, 1))))


def test_mismatched_weight_is_a_clear_error():
    x, w = np.zeros((1, 4, 3, 3)), np.zeros((3, 2, 2, 2))
    for view in VIEWS:
        with pytest.raises(ValueError, match=r"w.shape\[0\] \(3\) must equal C_in \(4\)"):
            view(x, w)
    with pytest.raises(ValueError, match=r"groups \(3\)"):
        reference.conv_transpose2d_scatter(np.zeros((1, 4, 3, 3)), np.zeros((4, 2, 2, 2)), groups=3)
