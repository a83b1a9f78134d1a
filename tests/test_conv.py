"""conv2d / conv_transpose2d and the Conv2d / ConvTranspose2d layers against PyTorch (the oracle).

Values and all gradients in float64 and complex128, batched and unbatched; a fuzz of every
argument in which PyTorch and minigrad must accept and reject exactly the same calls."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, shapes
from minigrad.backend import cuda_is_available
from minigrad.testing import gradcheck
from tests.helpers import assert_close, copy_torch_weights, from_torch, random_array

TORCH = {False: torch.nn.functional.conv2d, True: torch.nn.functional.conv_transpose2d}
MINI = {False: F.conv2d, True: F.conv_transpose2d}


def outcome(function, *args, **kwargs):
    """(result, None) or (None, the exception's type)."""
    try:
        return function(*args, **kwargs), None
    except (RuntimeError, ValueError, TypeError) as error:
        return None, type(error)


def compare(transposed, x, w, b, device="cpu", **kwargs):
    """Run both libraries on the same torch leaves; same acceptance, same values, same gradients."""
    mx, mw, mb = (None if t is None else from_torch(t, device=device) for t in (x, w, b))
    expected, torch_error = outcome(TORCH[transposed], x, w, b, **kwargs)
    got, mini_error = outcome(MINI[transposed], mx, mw, mb, **kwargs)
    assert mini_error == torch_error, f"torch raised {torch_error}, minigrad raised {mini_error} for {kwargs}"
    if expected is None:
        return
    assert_close(got, expected, atol=1e-10, what="output")
    grad = torch.tensor(random_array(tuple(expected.shape), expected.detach().numpy().dtype, seed=1))
    expected.backward(grad)
    got.backward(minigrad.tensor(grad.numpy(), device=device))
    for name, mine, theirs in (("input", mx, x), ("weight", mw, w), ("bias", mb, b)):
        if theirs is not None:
            assert_close(mine.grad, theirs.grad, atol=1e-10, what=f"{name} grad")


def leaves(*shapes_, dtype="float64"):
    """Torch leaves of random values (None for a None shape), from one stream."""
    rng = np.random.default_rng(0)
    return [None if s is None else torch.tensor(random_array(s, dtype, rng), requires_grad=True) for s in shapes_]


# Modelled on PyTorch's own module tests for Conv2d and ConvTranspose2d.
CONV_GRID = [
    ((2, 3, 7, 5), (4, 3, 3, 2), (4,), {}),
    ((2, 3, 6, 6), (4, 3, 3, 3), (4,), dict(stride=2)),
    ((2, 3, 6, 6), (4, 3, 3, 3), (4,), dict(stride=(2, 2), padding=(1, 1))),
    ((2, 3, 8, 8), (2, 3, 3, 3), (2,), dict(stride=2, padding=1, dilation=2)),
    ((2, 3, 6, 5), (4, 3, 3, 2), None, {}),
    ((2, 4, 6, 5), (6, 2, 3, 2), (6,), dict(groups=2)),
    ((2, 4, 6, 6), (4, 1, 3, 3), (4,), dict(groups=4)),
    ((2, 4, 6, 6), (8, 1, 3, 3), (8,), dict(groups=4, padding=1)),
    ((2, 3, 7, 6), (4, 3, 4, 3), (4,), dict(padding="same")),
    ((2, 3, 7, 6), (4, 3, 2, 4), (4,), dict(padding="same", dilation=(3, 1))),
    ((2, 3, 7, 6), (4, 3, 3, 3), (4,), dict(padding="valid", stride=2)),
    ((1, 2, 9, 9), (3, 2, 5, 5), (3,), dict(stride=3, padding=2, dilation=(1, 2))),
]
TRANSPOSED_GRID = [
    ((1, 3, 7, 6), (3, 4, 3, 3), (4,), dict(stride=(3, 2), padding=1, output_padding=(1, 1))),
    ((1, 3, 6, 7), (3, 4, 3, 3), None, dict(stride=(2, 3), padding=1, output_padding=(1, 1), dilation=2)),
    ((1, 2, 4, 5), (2, 2, 2, 3), (4,), dict(groups=2)),
    ((2, 4, 3, 3), (4, 3, 3, 2), (6,), dict(groups=2, stride=2, output_padding=1)),
    ((2, 3, 4, 4), (3, 2, 3, 3), (2,), dict(stride=1, output_padding=1, dilation=2)),
    ((2, 3, 4, 4), (3, 2, 3, 3), (2,), dict(stride=2, output_padding=2, dilation=3)),
    ((2, 3, 5, 5), (3, 2, 4, 4), (2,), dict(stride=2, padding=1)),
    ((2, 3, 1, 1), (3, 5, 7, 7), (5,), {}),
]


@pytest.mark.parametrize("transposed,case", [(False, c) for c in CONV_GRID] + [(True, c) for c in TRANSPOSED_GRID])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("batched", [True, False])
def test_grid_matches_torch(transposed, case, dtype, batched):
    input_shape, weight_shape, bias_shape, kwargs = case
    x, w, b = leaves(input_shape if batched else input_shape[1:], weight_shape, bias_shape, dtype=dtype)
    compare(transposed, x, w, b, **kwargs)


def test_grid_runs_on_the_device(device):
    for transposed, (input_shape, weight_shape, bias_shape, kwargs) in [(False, CONV_GRID[3]), (True, TRANSPOSED_GRID[1])]:
        compare(transposed, *leaves(input_shape, weight_shape, bias_shape), device=device, **kwargs)


@st.composite
def arguments(draw, transposed):
    """Every parameter over a range that crosses PyTorch's rules, often consistent, sometimes not."""
    small = st.integers(1, 3)
    groups = draw(st.integers(0, 3) if draw(st.integers(0, 9)) == 0 else small)
    per_group_in, per_group_out = draw(small), draw(small)
    g = max(groups, 1)
    channels = g * per_group_in
    weight_0, weight_1 = (channels, per_group_out) if transposed else (g * per_group_out, per_group_in)
    if draw(st.integers(0, 7)) == 0:  # break the channel bookkeeping now and then
        channels, weight_0 = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    pairs = lambda low: st.tuples(st.integers(low, 3), st.integers(low, 3)) | st.integers(low, 3)  # noqa: E731
    rare = lambda normal, odd: draw(odd if draw(st.integers(0, 9)) == 0 else normal)  # noqa: E731
    kwargs = dict(stride=rare(pairs(1), pairs(-1)), padding=rare(pairs(0), pairs(-1)),
                  dilation=rare(pairs(1), pairs(0)), groups=groups)
    if transposed:
        kwargs["output_padding"] = rare(st.integers(0, 1), pairs(0))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    batch = draw(st.sampled_from([None, 1, 2]))
    out_channels = weight_1 * g if transposed else weight_0
    bias = draw(st.sampled_from([None, (out_channels,), (out_channels,), (out_channels + 1,)]))
    input_shape = (channels, *size) if batch is None else (batch, channels, *size)
    return input_shape, (weight_0, weight_1, *kernel), bias, kwargs


@settings(max_examples=250, deadline=None)
@given(arguments(transposed=False))
def test_conv2d_fuzz_agrees_with_torch(case):
    input_shape, weight_shape, bias_shape, kwargs = case
    compare(False, *leaves(input_shape, weight_shape, bias_shape), **kwargs)


@settings(max_examples=250, deadline=None)
@given(arguments(transposed=True))
def test_conv_transpose2d_fuzz_agrees_with_torch(case):
    input_shape, weight_shape, bias_shape, kwargs = case
    compare(True, *leaves(input_shape, weight_shape, bias_shape), **kwargs)


@pytest.mark.parametrize("transposed,input_shape,weight_shape,kwargs", [
    (False, (0, 2, 5, 5), (3, 2, 3, 3), {}),
    (False, (0, 2, 0, 5), (3, 2, 3, 3), dict(padding=2)),
    (False, (0, 2, 0, 5), (3, 2, 3, 3), {}),
    (False, (1, 2, 0, 5), (3, 2, 3, 3), dict(padding=2)),
    (False, (1, 2, 2, 2), (3, 2, 3, 3), {}),
    (False, (1, 2, 5, 5), (0, 2, 3, 3), {}),
    (False, (1, 2, 5, 5), (3, 2, 0, 3), {}),
    (False, (5, 5), (3, 2, 3, 3), {}),
    (False, (1, 1, 2, 5, 5), (3, 2, 3, 3), {}),
    (False, (1, 2, 5, 5), (3, 2, 3), {}),
    (False, (1, 2, 5, 5), (3, 2, 3, 3), dict(padding="same", stride=2)),
    (False, (1, 2, 5, 5), (3, 2, 3, 3), dict(padding="full")),
    (True, (0, 3, 0, 5), (3, 2, 3, 3), {}),
    (True, (1, 3, 0, 5), (3, 2, 3, 3), {}),
    (True, (0, 3, 1, 1), (3, 2, 3, 3), dict(padding=2)),
    (True, (1, 3, 1, 1), (3, 2, 3, 3), dict(padding=1)),
    (True, (1, 3, 4, 5), (3, 0, 3, 3), {}),
    (True, (1, 3, 4, 5), (3, 2, 3, 3), dict(groups=4)),
    (True, (1, 3, 4, 5), (3, 2, 3, 3), dict(padding="same")),
])
def test_edge_cases_agree_with_torch(transposed, input_shape, weight_shape, kwargs):
    compare(transposed, *leaves(input_shape, weight_shape, None), **kwargs)


@pytest.mark.parametrize("kwargs,words", [
    (dict(stride=0), ["stride", "0"]), (dict(padding=(1, -1)), ["padding", "-1"]), (dict(dilation=0), ["dilation", "0"]),
    (dict(groups=0), ["groups", "0"]), (dict(output_padding=2, stride=2), ["output_padding", "stride", "dilation"]),
    (dict(padding=3), ["output size", "(-2, -2)"]), (dict(groups=2), ["groups=2", "multiple of groups"]),
])
def test_transposed_errors_name_argument_value_and_rule(kwargs, words):
    x, w = minigrad.randn(1, 3, 2, 2), minigrad.randn(3, 2, 3, 3)
    with pytest.raises((RuntimeError, TypeError)) as error:
        F.conv_transpose2d(x, w, **kwargs)
    assert all(word in str(error.value) for word in words), str(error.value)


@pytest.mark.parametrize("call,words", [
    (lambda: F.conv2d(minigrad.randn(1, 3, 5, 5), minigrad.randn(4, 2, 3, 3)), ["2", "3 channels", "weight"]),
    (lambda: F.conv2d(minigrad.randn(1, 2, 2, 5), minigrad.randn(4, 2, 3, 3)), ["(2, 5)", "(3, 3)", "(0, 3)"]),
    (lambda: F.conv2d(minigrad.randn(1, 2, 5, 5), minigrad.randn(4, 2, 3, 3), minigrad.randn(3)), ["bias", "4", "[3]"]),
    (lambda: F.conv2d(minigrad.randn(5, 5), minigrad.randn(4, 2, 3, 3)), ["3D", "4D", "[5, 5]"]),
    (lambda: F.conv2d(minigrad.randn(1, 2, 5, 5, dtype=minigrad.float64), minigrad.randn(4, 2, 3, 3)), ["float64", "float32"]),
])
def test_conv2d_errors_say_what_is_wrong(call, words):
    with pytest.raises(RuntimeError) as error:
        call()
    assert all(word in str(error.value) for word in words), str(error.value)


@pytest.mark.skipif(not cuda_is_available(), reason="needs CuPy and a GPU")
def test_device_mismatch_is_a_clear_error():
    with pytest.raises(RuntimeError, match="same device"):
        F.conv2d(minigrad.randn(1, 2, 5, 5), minigrad.randn(4, 2, 3, 3, device="cuda"))


@pytest.mark.parametrize("dtype", [minigrad.float64, minigrad.complex128])
def test_gradcheck_both_functions(dtype):
    x = minigrad.randn(2, 4, 5, 4, dtype=dtype, requires_grad=True)
    w = minigrad.randn(4, 2, 3, 2, dtype=dtype, requires_grad=True)
    b = minigrad.randn(4, dtype=dtype, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), [x, w, b])
    xt = minigrad.randn(1, 4, 3, 2, dtype=dtype, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=(1, 0), output_padding=(1, 0),
                                                        groups=2, dilation=(1, 2)), [xt, w, b])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2), st.integers(4, 9), st.integers(4, 9))
def test_adjoint_identity(batch, groups, channels, kernel, stride, padding, dilation, height, width):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)>: the transposed convolution is the transpose."""
    assume(min(height, width) + 2 * padding >= dilation * kernel + 1)  # the kernel (kernel x kernel + 1) fits
    x = minigrad.randn(batch, groups * channels, height, width, dtype=minigrad.float64)
    w = minigrad.randn(2 * groups, channels, kernel, kernel + 1, dtype=minigrad.float64)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out = F.conv2d(x, w, **kwargs)
    y = minigrad.randn(*out.shape, dtype=minigrad.float64)
    back_sizes = [shapes.conv_transpose_output_size(n, k, stride, padding, 0, dilation)
                  for n, k in zip(out.shape[2:], (kernel, kernel + 1))]
    output_padding = (height - back_sizes[0], width - back_sizes[1])
    back = F.conv_transpose2d(y, w, output_padding=output_padding, **kwargs)
    assert back.shape == x.shape
    np.testing.assert_allclose((out * y).sum().item(), (x * back).sum().item(), rtol=1e-10)


# ---- the layers ----------------------------------------------------------------------------------

def torch_twin(layer_class, *args, seed=0, **kwargs):
    """The torch layer and a minigrad layer holding the same weights."""
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, layer_class)(*args, dtype=torch.float64, **kwargs)
    mine = getattr(nn, layer_class)(*args, dtype=minigrad.float64, **kwargs)
    return copy_torch_weights(theirs, mine), theirs


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [0, 1, (2, 1), "same", "valid"])
def test_conv2d_layer_padding_modes_match_torch(padding_mode, padding):
    mine, theirs = torch_twin("Conv2d", 2, 4, (3, 4), padding=padding, padding_mode=padding_mode, dilation=(1, 2))
    x = torch.tensor(random_array((2, 2, 6, 9)), requires_grad=True)
    mx = from_torch(x)
    assert_close(mine(mx), theirs(x), atol=1e-10)
    assert_close(mine(mx[0]), theirs(x[0]), atol=1e-10, what="unbatched")
    theirs(x).pow(2).sum().backward()
    (mine(mx) ** 2).sum().backward()
    for name, parameter in theirs.named_parameters():
        assert_close(getattr(mine, name).grad, parameter.grad, atol=1e-9, what=name)
    assert_close(mx.grad, x.grad, atol=1e-9, what="input grad")


def test_layers_have_torchs_attributes_repr_and_state_dict():
    for name, args, kwargs in [("Conv2d", (4, 6, 3), dict(stride=2, padding=1, groups=2, bias=False)),
                               ("Conv2d", (2, 3, (3, 2)), dict(padding="same", padding_mode="reflect", dilation=2)),
                               ("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=(2, 1), output_padding=(1, 0), groups=2)),
                               ("ConvTranspose2d", (1, 3, 1), {})]:
        mine, theirs = torch_twin(name, *args, **kwargs)
        assert repr(mine) == repr(theirs)
        for attribute in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "transposed",
                          "output_padding", "groups", "padding_mode"):
            assert getattr(mine, attribute) == getattr(theirs, attribute), attribute
        assert list(mine._reversed_padding_repeated_twice) == list(theirs._reversed_padding_repeated_twice)
        assert {k: tuple(v.shape) for k, v in mine.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


def test_conv_transpose_output_size_picks_output_padding():
    mine, theirs = torch_twin("ConvTranspose2d", 3, 2, 3, stride=(2, 3), padding=1)
    x = torch.tensor(random_array((1, 3, 5, 4)))
    for size in [(9, 10), (10, 11), (10, 12), (1, 2, 9, 12), (8, 10), (11, 10), (9, 13), (1, 9, 10)]:
        expected, torch_error = outcome(theirs, x, output_size=size)
        got, mini_error = outcome(mine, from_torch(x), output_size=size)
        assert mini_error == torch_error, size
        if expected is not None:
            assert_close(got, expected, atol=1e-10)
    assert_close(mine(from_torch(x[0]), output_size=(2, 10, 12)), theirs(x[0], output_size=(2, 10, 12)), atol=1e-10)


def test_conv_transpose_output_size_error_gives_the_range():
    layer = nn.ConvTranspose2d(1, 1, 5, stride=2)
    with pytest.raises(ValueError, match=r"\[27, 27\] to \[28, 28\]"):
        layer(minigrad.randn(1, 1, 12, 12), output_size=(29, 28))


@pytest.mark.parametrize("layer_class,args,kwargs", [
    ("Conv2d", (3, 4, 3), dict(groups=2)), ("Conv2d", (4, 3, 3), dict(groups=2)), ("Conv2d", (4, 4, 3), dict(groups=0)),
    ("Conv2d", (4, 4, 3), dict(padding="full")), ("Conv2d", (4, 4, 3), dict(padding="same", stride=2)),
    ("Conv2d", (4, 4, 3), dict(padding_mode="mirror")), ("ConvTranspose2d", (4, 4, 3), dict(padding_mode="reflect")),
    ("ConvTranspose2d", (3, 4, 3), dict(groups=2)),
])
def test_construction_rejects_what_torch_rejects(layer_class, args, kwargs):
    with pytest.raises(ValueError):
        getattr(torch.nn, layer_class)(*args, **kwargs)
    with pytest.raises(ValueError):
        getattr(nn, layer_class)(*args, **kwargs)


SETTINGS_THAT_ALWAYS_FAIL = [dict(stride=0), dict(padding=-1), dict(dilation=0), dict(kernel_size=0)]


@pytest.mark.parametrize("layer_class, kwargs", [("Conv2d", k) for k in SETTINGS_THAT_ALWAYS_FAIL] +
                         [("ConvTranspose2d", k) for k in SETTINGS_THAT_ALWAYS_FAIL + [dict(output_padding=-1)]])
def test_settings_that_always_fail_raise_at_forward_as_torch(layer_class, kwargs):
    """PyTorch builds these layers and fails at every forward with a RuntimeError; so does minigrad,
    with PyTorch's phrase plus the setting's name and value."""
    args = dict(in_channels=2, out_channels=2, kernel_size=3) | kwargs
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.nn, layer_class)(**args)(torch.zeros(1, 2, 5, 5))
    layer = getattr(nn, layer_class)(**args)
    with pytest.raises(RuntimeError, match=next(iter(kwargs))) as actual:
        layer(minigrad.randn(1, 2, 5, 5))
    phrase = str(expected.value).split(",")[0]
    assert phrase in str(actual.value), (str(expected.value), str(actual.value))


def test_transposed_layer_refuses_string_padding():
    with pytest.raises(ValueError, match="padding"):
        nn.ConvTranspose2d(2, 2, 3, padding="same")


@pytest.mark.parametrize("dtype", [minigrad.float32, minigrad.float64, minigrad.complex64, minigrad.complex128])
def test_layers_take_dtype_and_device(dtype, device):
    for layer in (nn.Conv2d(2, 4, 3, dtype=dtype, device=device), nn.ConvTranspose2d(2, 4, 3, dtype=dtype, device=device)):
        assert all(p.dtype == dtype and p.device == device for p in layer.parameters())
        y = layer(minigrad.randn(1, 2, 5, 5, dtype=dtype, device=device))
        assert y.dtype == dtype and y.device == device


def test_default_dtype_is_float32_and_input_dtype_must_match():
    layer = nn.Conv2d(2, 4, 3)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    with pytest.raises(RuntimeError, match="dtype"):
        layer(minigrad.randn(1, 2, 5, 5, dtype=minigrad.float64))


def test_layer_gradients_flow_to_parameters_and_input(device):
    mine, theirs = torch_twin("ConvTranspose2d", 3, 2, 4, stride=2, padding=1)
    mine.to(device)
    x = torch.tensor(random_array((2, 3, 5, 5)), requires_grad=True)
    mx = from_torch(x, device=device)
    mine(mx).sum().backward()
    theirs(x).sum().backward()
    assert_close(mx.grad, x.grad, atol=1e-10, what="input grad")
    for name, parameter in theirs.named_parameters():
        assert_close(getattr(mine, name).grad, parameter.grad, atol=1e-10, what=name)
    # d sum(y) / d bias = number of output pixels per channel
    np.testing.assert_allclose(mine.bias.grad.numpy(), np.full(2, 2 * 10 * 10), rtol=1e-6)
