"""Initializers: PyTorch's formulas (fan, gain, bound) and the spread of the numbers they draw."""
import math

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import init

LAYERS = [("Conv2d", (16, 32, 3), {}), ("Conv2d", (16, 32, (3, 5)), dict(groups=4)),
          ("ConvTranspose2d", (16, 32, 3), {}), ("ConvTranspose2d", (16, 32, (5, 3)), dict(groups=4)),
          ("ConvTranspose2d", (128, 64, 4), dict(stride=2, padding=1))]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_init_bound_and_spread(name, args, kwargs):
    """Weight and bias ~ U(-b, b), b = 1/sqrt(weight.shape[1] * kH * kW): for ConvTranspose2d that
    is (out_channels / groups) * kH * kW, PyTorch's quirk."""
    layer = getattr(nn, name)(*args, **kwargs)
    in_channels, out_channels, groups = args[0], args[1], kwargs.get("groups", 1)
    per_group = out_channels // groups if name == "ConvTranspose2d" else in_channels // groups
    bound = 1 / math.sqrt(per_group * math.prod(layer.kernel_size))
    theirs = getattr(torch.nn, name)(*args, **kwargs).weight.detach().abs().max().item()
    assert 0.95 * bound < theirs <= bound  # the formula is PyTorch's
    weight = layer.weight.numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert abs(weight.std() / (bound / math.sqrt(3)) - 1) < 0.08
    assert abs(weight.mean()) < 0.1 * bound
    bias = layer.bias.numpy()
    assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.5 * bound


@pytest.mark.parametrize("shape", [(3, 4), (8, 2, 3, 5), (4, 6, 1, 1)])
def test_fans_match_torch(shape):
    assert init.calculate_fan_in_and_fan_out(minigrad.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(minigrad.zeros(5))


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                                ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                                ("leaky_relu", math.sqrt(5))])
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("a,mode,nonlinearity", [(0, "fan_in", "leaky_relu"), (0, "fan_out", "relu"),
                                                 (0.2, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_out", "leaky_relu")])
def test_kaiming_uniform_bound(a, mode, nonlinearity):
    shape = (64, 32, 3, 3)
    fan = dict(zip(("fan_in", "fan_out"), torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))))[mode]
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3 / fan)
    w = init.kaiming_uniform_(minigrad.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity).numpy()
    assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.03


def test_complex_init_draws_each_part_like_torch():
    """uniform_: real and imaginary part each U(a, b); normal_: each part N(mean, std/sqrt(2))."""
    theirs = torch.empty(20000, dtype=torch.complex64)
    mine = minigrad.zeros(20000, dtype=minigrad.complex64)
    torch.nn.init.uniform_(theirs, -0.5, 0.5)
    values = init.uniform_(mine, -0.5, 0.5).numpy()
    for part in (np.real, np.imag):
        assert np.abs(part(values)).max() <= 0.5
        assert part(values).std() == pytest.approx(part(theirs.numpy()).std(), rel=0.05)
    torch.nn.init.normal_(theirs, 1.0, 2.0)
    values = init.normal_(mine, 1.0, 2.0).numpy()
    for part in (np.real, np.imag):
        assert part(values).mean() == pytest.approx(part(theirs.numpy()).mean(), abs=0.05)
        assert part(values).std() == pytest.approx(part(theirs.numpy()).std(), rel=0.05)


def test_complex_layer_bound_holds_per_part():
    layer = nn.ConvTranspose2d(8, 16, 3, dtype=minigrad.complex64)
    bound = 1 / math.sqrt(16 * 9)
    for part in (np.real, np.imag):
        assert np.abs(part(layer.weight.numpy())).max() <= bound
        assert part(layer.weight.numpy()).std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


def test_normal_constant_zeros_ones():
    t = minigrad.zeros(200, 100)
    values = init.normal_(t, mean=0.0, std=0.02).numpy()
    assert values.mean() == pytest.approx(0, abs=1e-3) and values.std() == pytest.approx(0.02, rel=0.03)
    assert (init.constant_(t, 0.25).numpy() == 0.25).all()
    assert (init.zeros_(t).numpy() == 0).all() and (init.ones_(t).numpy() == 1).all()
    assert init.ones_(t) is t


def test_init_is_in_place_without_graph_and_seeded(device):
    layer = nn.Conv2d(3, 4, 3, device=device)
    weight = layer.weight
    minigrad.manual_seed(7)
    first = init.kaiming_uniform_(weight, a=math.sqrt(5)).numpy()
    assert layer.weight is weight and weight.grad_fn is None and weight.requires_grad
    other = nn.Conv2d(3, 4, 3)
    minigrad.manual_seed(7)
    assert (init.kaiming_uniform_(other.weight, a=math.sqrt(5)).numpy() == first).all()  # same numbers on the CPU


def test_empty_layers_build():
    layer = nn.Conv2d(0, 4, 3)
    assert layer.weight.shape == (4, 0, 3, 3) and (layer.bias.numpy() == 0).all()
