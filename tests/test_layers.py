"""Activations, Linear, Dropout, Flatten/Unflatten, Upsample and MaxPool2d against PyTorch (float64)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from tests.helpers import assert_close, compare_with_torch, copy_torch_weights, random_array


def test_compare_with_torch_catches_a_wrong_function():
    x = np.linspace(-1, 1, 5)
    with pytest.raises(AssertionError):
        compare_with_torch(F.tanh, torch.sigmoid, x)


@pytest.mark.parametrize("mini_fn, torch_fn", [
    (F.relu, torch.relu),
    (F.leaky_relu, torch.nn.functional.leaky_relu),
    (lambda x: F.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    (F.tanh, torch.tanh),
    (F.sigmoid, torch.sigmoid),
])
def test_activations(mini_fn, torch_fn, device):
    x = np.array([-800.0, -3.0, -0.5, 0.0, 0.5, 3.0, 800.0])  # 0 checks the kink, +-800 saturation
    compare_with_torch(mini_fn, torch_fn, x.reshape(1, 7) * np.ones((3, 1)), device=device)


@pytest.mark.parametrize("make", [
    lambda n: n.ReLU(), lambda n: n.ReLU(inplace=True), lambda n: n.LeakyReLU(0.2, inplace=True), lambda n: n.Tanh(),
    lambda n: n.Sigmoid(), lambda n: n.Dropout(0.3), lambda n: n.Flatten(), lambda n: n.Unflatten(1, (2, 3)),
    lambda n: n.Upsample(scale_factor=2), lambda n: n.Upsample(scale_factor=(2, 3)), lambda n: n.Upsample(size=4),
    lambda n: n.MaxPool2d(3, 2, 1), lambda n: n.Linear(3, 4, bias=False),
])
def test_reprs_match_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_function(shape, bias, device):
    rng = np.random.default_rng(0)
    arrays = [random_array(shape, seed=rng), random_array((4, 3), seed=rng)]
    arrays += [random_array(4, seed=rng)] if bias else []
    compare_with_torch(F.linear, torch.nn.functional.linear, *arrays, device=device)


def test_linear_module_loads_torch_weights_and_matches():
    reference = torch.nn.Linear(6, 3).double()
    layer = nn.Linear(6, 3, dtype=minigrad.float64)
    assert list(layer.state_dict()) == list(reference.state_dict())
    copy_torch_weights(reference, layer)
    x = random_array((4, 6), seed=1)
    compare_with_torch(layer, reference, x)
    assert_close(layer.weight.grad, reference.weight.grad, what="weight gradient")
    assert_close(layer.bias.grad, reference.bias.grad, what="bias gradient")


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert p.dtype == np.float32 and np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound and abs(p.mean()) < 0.1 * bound  # fills the range, centred
    assert layer.weight.shape == (300, 400) and layer.bias.shape == (300,)
    assert nn.Linear(2, 3, bias=False).bias is None


def test_linear_rejects_mismatched_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x5 and 3x4\)"):
        nn.Linear(3, 4)(minigrad.randn(2, 5))


def test_dropout_masks_scales_and_routes_gradients(device):
    x = minigrad.ones(200, 500, dtype=minigrad.float64, requires_grad=True, device=device)
    y = F.dropout(x, p=0.3)
    values = y.numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(values[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # d(x * mask)/dx = mask


def test_dropout_edge_cases_and_modes():
    x = minigrad.randn(4, 5)
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.7, training=False) is x
    assert not F.dropout(x, 1.0).numpy().any()
    layer = nn.Dropout(0.5)
    assert layer.eval()(x) is x
    minigrad.manual_seed(3)
    first = layer.train()(x).numpy()
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(layer(x).numpy(), first)  # the seed fixes the mask


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    for make in (lambda: nn.Dropout(p), lambda: F.dropout(minigrad.randn(3), p)):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
            make()


@pytest.mark.parametrize("start, end", [(1, -1), (0, 2), (2, 3), (-2, -1)])
def test_flatten(start, end):
    x = random_array((2, 3, 4, 5))
    compare_with_torch(nn.Flatten(start, end), torch.nn.Flatten(start, end), x)


@pytest.mark.parametrize("dim, sizes", [(1, (3, 4)), (-1, (2, -1)), (0, (1, 2))])
def test_unflatten(dim, sizes):
    x = random_array((2, 12))
    compare_with_torch(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), x)


def test_unflatten_errors():
    with pytest.raises(RuntimeError, match=r"Provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(6\)"):
        nn.Unflatten(1, (2, 2))(minigrad.randn(2, 6))
    with pytest.raises(TypeError, match="found element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 3))


@pytest.mark.parametrize("shape, kwargs", [
    ((2, 3, 4, 5), dict(scale_factor=2)), ((1, 2, 3, 4), dict(scale_factor=(2, 3))),
    ((1, 2, 3, 4), dict(scale_factor=3.0)), ((1, 2, 3, 4), dict(size=(6, 8))), ((2, 3, 5), dict(scale_factor=2)),
    ((1, 1, 2, 2, 4), dict(size=4)),
])
def test_nearest_upsampling(shape, kwargs, device):
    x = random_array(shape)
    compare_with_torch(lambda t: F.interpolate(t, **kwargs), lambda t: torch.nn.functional.interpolate(t, **kwargs),
                       x, device=device)
    compare_with_torch(nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs), x, device=device)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(), ValueError, "either size or scale_factor should be defined"),
    (dict(size=4, scale_factor=2), ValueError, "only one of size or scale_factor should be defined"),
    (dict(scale_factor=(2, 2, 2)), ValueError, "needs 2 entries"),
    (dict(scale_factor=1.5), NotImplementedError, "whole-number"),
    (dict(size=(5, 5)), NotImplementedError, "whole-number"),
    (dict(scale_factor=2, mode="bilinear"), NotImplementedError, "mode='nearest' only"),
])
def test_interpolate_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(minigrad.randn(1, 1, 3, 3), **kwargs)


@settings(max_examples=40, deadline=None)
@given(size=st.tuples(st.integers(3, 9), st.integers(3, 9)), kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
       dilation=st.integers(1, 2), ceil_mode=st.booleans(), data=st.data())
def test_max_pool2d_matches_torch(size, kernel, stride, dilation, ceil_mode, data):
    padding = data.draw(st.tuples(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2)))
    assume(all((k - 1) * dilation + 1 <= s + 2 * p for k, s, p in zip(kernel, size, padding)))  # a window fits
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    x = random_array((2, 3) + size)
    compare_with_torch(lambda t: F.max_pool2d(t, **kwargs), lambda t: torch.nn.functional.max_pool2d(t, **kwargs), x)


def test_max_pool2d_module_unbatched_ties_and_nan(device):
    x = random_array((3, 6, 6))
    compare_with_torch(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x, device=device)  # (C, H, W) input
    ties = np.ones((1, 1, 4, 4))  # every element ties: the gradient goes to each window's first element
    compare_with_torch(nn.MaxPool2d(3, 1, 1), torch.nn.MaxPool2d(3, 1, 1), ties, device=device)
    with_nan = np.arange(16.0).reshape(1, 1, 4, 4)
    with_nan[0, 0, 0, 0] = np.nan
    out = F.max_pool2d(minigrad.tensor(with_nan), 2).numpy()
    np.testing.assert_array_equal(np.isnan(out), [[[[True, False], [False, False]]]])


@pytest.mark.parametrize("args, kwargs", [
    ((3,), dict(padding=2)), ((0,), {}), ((2,), dict(stride=0)), ((5,), {}), (((2, 2, 2),), {}),
    ((2,), dict(stride=(1, 2, 3))), ((2,), dict(padding=(1, 2, 3))), ((2,), dict(dilation=0)), ((-1,), {}),
    ((2,), dict(padding=-1)), ((2,), dict(dilation=3, padding=2)),
])
def test_max_pool2d_rejects_what_torch_rejects(args, kwargs):
    with pytest.raises(RuntimeError):
        torch.nn.functional.max_pool2d(torch.zeros(1, 1, 4, 4), *args, **kwargs)
    with pytest.raises(RuntimeError):
        F.max_pool2d(minigrad.zeros(1, 1, 4, 4), *args, **kwargs)


def test_max_pool2d_rejects_bad_input_dims():
    for shape in [(4, 4), (1, 0, 4, 4)]:
        with pytest.raises(RuntimeError, match="Expected 3D or 4D"):
            F.max_pool2d(minigrad.zeros(*shape), 2)
