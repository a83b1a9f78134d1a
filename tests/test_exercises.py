"""The exercise checkers accept right answers and reject wrong ones, saying what is wrong."""
import numpy as np
import pytest

from minigrad import shapes
from minigrad.autograd import Function
from minigrad.kernels.conv import conv2d_forward, conv2d_weight_grad
from minigrad.kernels.reference import conv_transpose2d_scatter
from checkers import (check_conv_transpose2d, check_conv_transpose2d_backward, check_function,
                      check_output_size)


def backward(conjugate=True, flip=False):
    """The gradients of conv_transpose2d from the library's kernels, with a mistake switched on or off."""
    def gradients(grad_output, x, w, stride, padding, output_padding, dilation, groups):
        x, w = (x.conj(), w.conj()) if conjugate else (x, w)
        kernel = w[:, :, ::-1, ::-1] if flip else w
        grad_x = conv2d_forward(grad_output, kernel, stride, padding, dilation, groups)
        return grad_x, conv2d_weight_grad(grad_output, x, w.shape[2:], stride, padding, dilation, groups)
    return gradients


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, slope_error=0.0):
        ctx.save_for_backward(x)
        ctx.slope_error = slope_error
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (1 / (1 + np.exp(-x)) + ctx.slope_error)


def softplus(x, slope_error=0.0):
    return (1 + x.exp()).log()


def stub(*args, **kwargs):
    raise NotImplementedError


def test_right_answers_pass(capsys):
    assert check_conv_transpose2d(conv_transpose2d_scatter)
    assert check_conv_transpose2d_backward(backward())
    assert check_output_size(shapes.conv_transpose_output_size)
    assert check_function(Softplus, softplus)
    assert check_function(Softplus)  # without a reference: gradcheck alone
    printed = capsys.readouterr().out
    assert "check_conv_transpose2d: all 20 cases pass" in printed
    assert "check_function(Softplus): all 3 cases pass" in printed


def test_a_stub_is_reported_not_raised(capsys):
    for checker in (check_conv_transpose2d, check_conv_transpose2d_backward, check_output_size):
        assert checker(stub, raise_on_failure=False) is False
        assert "not implemented yet" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not implemented yet"):
        check_output_size(stub)


def test_off_by_one_size():
    def forgot_the_one(size, kernel_size, stride, padding, output_padding, dilation):
        return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding
    with pytest.raises(AssertionError, match=r"case size=1, kernel_size=1, .*expected 1, got 0 \(off by -1\)"):
        check_output_size(forgot_the_one)


def test_a_float_size_is_refused():
    with pytest.raises(AssertionError, match="return an int, got 1.0 of type float .*use //"):
        check_output_size(lambda *args, **kwargs: float(shapes.conv_transpose_output_size(*args, **kwargs)))


def test_forward_without_output_padding_has_the_wrong_shape():
    def no_output_padding(x, w, output_padding, **settings):
        return conv_transpose2d_scatter(x, w, **settings)
    with pytest.raises(AssertionError, match=r"output_padding=\(1, 1\).*wrong shape: expected \(1, 2, 6, 6\), "
                                             r"got \(1, 2, 5, 5\)"):
        check_conv_transpose2d(no_output_padding)


def test_forward_with_wrong_values_names_the_index():
    def ignores_groups(x, w, groups, **settings):  # every output channel sees group 0's inputs only
        return np.concatenate([conv_transpose2d_scatter(x[:, :w.shape[0] // groups], w[:w.shape[0] // groups],
                                                        **settings)] * groups, axis=1)
    with pytest.raises(AssertionError, match=r"groups=2.*the output is wrong at index \(0, 1, .*expected .*, got "):
        check_conv_transpose2d(ignores_groups)


def test_backward_without_conjugate_is_named():
    with pytest.raises(AssertionError, match=r"complex128: grad_x is wrong: it is the gradient without the complex "
                                             r"conjugate"):
        check_conv_transpose2d_backward(backward(conjugate=False))


def test_backward_with_flipped_kernel_is_named():
    with pytest.raises(AssertionError, match=r"x: \(1, 1, 3, 3\), w: \(1, 1, 3, 3\), float64: grad_x is wrong: it is "
                                             r"the right answer computed with the kernel flipped"):
        check_conv_transpose2d_backward(backward(flip=True))


def test_backward_weight_gradient_of_the_wrong_shape():
    def swapped(*args, **settings):
        grad_x, grad_w = backward()(*args, **settings)
        return grad_x, grad_w.transpose(1, 0, 2, 3)
    with pytest.raises(AssertionError, match=r"w: \(2, 3, 3, 3\).*grad_w has the wrong shape: expected \(2, 3, 3, 3\), "
                                             r"got \(3, 2, 3, 3\)"):
        check_conv_transpose2d_backward(swapped)


def test_backward_must_return_a_pair():
    with pytest.raises(AssertionError, match=r"return the pair \(grad_x, grad_w\), got ndarray"):
        check_conv_transpose2d_backward(lambda *args, **settings: backward()(*args, **settings)[0])


def test_function_with_wrong_backward_names_the_input_value():
    with pytest.raises(AssertionError, match=r"the backward \(the input's gradient\) is wrong at index \(0,\) "
                                             r"\(where x = -30\)"):
        check_function(Softplus, softplus, slope_error=0.5)


def test_function_with_wrong_forward():
    class ReLUNotSoftplus(Softplus):
        @staticmethod
        def forward(ctx, x, slope_error=0.0):
            Softplus.forward(ctx, x, slope_error)
            return np.maximum(x, 0)
    with pytest.raises(AssertionError, match=r"the forward is wrong at index \(1,\) \(where x = -5\): "
                                             r"expected 0.00671535, got 0 \(7 of 9 entries differ\)"):
        check_function(ReLUNotSoftplus, softplus)


def test_gradcheck_alone_catches_an_inconsistent_backward():
    with pytest.raises(AssertionError, match="your backward disagrees with finite differences of your forward"):
        check_function(Softplus, slope_error=0.5)


def test_student_exceptions_are_reported():
    def crashes(x, w, **settings):
        return x @ w
    with pytest.raises(AssertionError, match=r"case x: \(1, 1, 3, 3\).*your code raised ValueError"):
        check_conv_transpose2d(crashes)
