"""BatchNorm against PyTorch (float64): outputs, gradients and running statistics over several steps."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from tests.helpers import assert_close, compare_with_torch, copy_torch_weights, random_array


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_function(shape, training, device):
    rng = np.random.default_rng(0)
    x = random_array(shape, seed=rng) * 3 + 1
    weight, bias = random_array(3, seed=rng, between=(0.5, 2)), random_array(3, seed=rng)
    stats = {"mini": (random_array(3, seed=rng), random_array(3, seed=rng, between=(0.5, 2)))}
    stats["torch"] = tuple(a.copy() for a in stats["mini"])
    mini_stats = [minigrad.tensor(a, device=device) for a in stats["mini"]]
    torch_stats = [torch.tensor(a) for a in stats["torch"]]
    compare_with_torch(lambda t, w, b: F.batch_norm(t, *mini_stats, w, b, training, 0.2, 1e-3),
                       lambda t, w, b: TF.batch_norm(t, *torch_stats, w, b, training, 0.2, 1e-3),
                       x, weight, bias, device=device)
    for mine, theirs in zip(mini_stats, torch_stats):  # updated in place in training, untouched in eval
        assert_close(mine, theirs, what="running statistics")


def test_batch_norm_function_without_affine_or_running_stats():
    x = random_array((6, 4, 3))
    compare_with_torch(lambda t: F.batch_norm(t, None, None, training=True),
                       lambda t: TF.batch_norm(t, None, None, training=True), x)


def run_steps(module, reference, shape, steps=4, device="cpu"):
    """Train-mode steps (forward, backward) then an eval-mode forward, comparing everything each time."""
    reference.double()
    copy_torch_weights(reference, module).to(device)
    rng = np.random.default_rng(0)
    for step in range(steps):
        x = random_array(shape, seed=rng) * (step + 1) + step  # statistics change from step to step
        compare_with_torch(module, reference, x, device=device)
        for (name, p), q in zip(module.named_parameters(), reference.parameters()):
            assert_close(p.grad, q.grad, what=f"{name} gradient, step {step}")
            p.grad, q.grad = None, None
        for (name, b), c in zip(module.named_buffers(), reference.buffers()):
            assert_close(b, c, what=f"{name}, step {step}")
    module.eval(), reference.eval()
    compare_with_torch(module, reference, random_array(shape, seed=rng), device=device)


@pytest.mark.parametrize("kwargs", [dict(), dict(momentum=0.3, eps=1e-3), dict(momentum=None), dict(affine=False),
                                    dict(track_running_stats=False), dict(bias=False)])
def test_batchnorm2d_over_several_steps(kwargs, device):
    run_steps(nn.BatchNorm2d(3, dtype=minigrad.float64, **kwargs), torch.nn.BatchNorm2d(3, **kwargs), (5, 3, 4, 4), device=device)


@pytest.mark.parametrize("shape", [(10, 3), (4, 3, 6)])
def test_batchnorm1d_over_several_steps(shape):
    run_steps(nn.BatchNorm1d(3, dtype=minigrad.float64), torch.nn.BatchNorm1d(3), shape)


def test_batchnorm_state_dict_and_repr_match_torch():
    for kwargs in [dict(), dict(affine=False, momentum=None), dict(track_running_stats=False), dict(bias=False)]:
        module, reference = nn.BatchNorm2d(4, **kwargs), torch.nn.BatchNorm2d(4, **kwargs)
        assert list(module.state_dict()) == list(reference.state_dict())
        assert repr(module) == repr(reference)
    counter = nn.BatchNorm1d(2).state_dict()["num_batches_tracked"]
    assert counter.dtype == np.int64 and counter.shape == ()


def test_batchnorm_float32_default():
    module = nn.BatchNorm2d(2)
    out = module(minigrad.randn(3, 2, 2, 2))
    assert out.dtype == module.running_mean.dtype == module.running_var.dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.BatchNorm2d(3)(minigrad.rand(2, 3)), ValueError, r"expected 4D input \(got 2D input\)"),
    (lambda: nn.BatchNorm1d(3)(minigrad.rand(2, 3, 4, 5)), ValueError,
     r"expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.BatchNorm1d(3)(minigrad.rand(2, 4)), RuntimeError, "running_mean should contain 4 elements not 3"),
    (lambda: nn.BatchNorm1d(3)(minigrad.rand(1, 3)), ValueError, "Expected more than 1 value per channel"),
    (lambda: F.batch_norm(minigrad.rand(2, 3), None, None), RuntimeError, "must be defined in evaluation mode"),
])
def test_batchnorm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
