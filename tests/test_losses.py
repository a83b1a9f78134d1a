"""Losses against PyTorch (float64): values and gradients for every reduction, saturation, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from tests.helpers import compare_with_torch, random_array

REDUCTIONS = ["mean", "sum", "none"]
PROBABILITIES, LABELS = random_array((4, 5), seed=1, between=(0.02, 0.98)), random_array((4, 5), seed=2, between=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, device):
    weight = random_array(5, between=(0.5, 2))
    compare_with_torch(lambda x, y, w: F.binary_cross_entropy(x, y, w, reduction=reduction),
                       lambda x, y, w: TF.binary_cross_entropy(x, y, w, reduction=reduction),
                       PROBABILITIES, LABELS, weight, device=device, differentiable=[True, True, False])
    compare_with_torch(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction),
                       PROBABILITIES, LABELS, device=device)


def test_binary_cross_entropy_at_saturation_is_finite_and_equals_torch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-300, 1 - 1e-16])  # exactly 0 and 1: a saturated discriminator
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    for reduction in REDUCTIONS:
        out = compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                                 lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
                                 x, y, differentiable=[True, False], atol=0)
        assert np.isfinite(out.numpy()).all()
    loss = F.binary_cross_entropy(minigrad.tensor(x, requires_grad=True), minigrad.tensor(y), reduction="none")
    np.testing.assert_allclose(loss.numpy()[:4], [0, 0, 100, 100])  # the logs are clamped at -100


def test_binary_cross_entropy_with_float32_saturated_sigmoid():
    logits = minigrad.tensor([[-200.0, 200.0]], requires_grad=True)  # sigmoid rounds to exactly 0 and 1
    loss = F.binary_cross_entropy(logits.sigmoid(), minigrad.tensor([[1.0, 0.0]]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weights", [False, True])
def test_binary_cross_entropy_with_logits(reduction, with_weights, device):
    rng = np.random.default_rng(0)
    logits = random_array((4, 5), seed=rng) * np.array([1, 10, 100, 1000, 0])  # up to |z| = 1000, no overflow
    weight, pos_weight = ((random_array(5, seed=rng, between=(0.5, 2)), random_array(5, seed=rng, between=(0.5, 3)))
                          if with_weights else (None, None))
    extras = [] if weight is None else [weight, pos_weight]
    compare_with_torch(lambda z, y, w=None, p=None: F.binary_cross_entropy_with_logits(z, y, w, reduction=reduction, pos_weight=p),
                       lambda z, y, w=None, p=None: TF.binary_cross_entropy_with_logits(z, y, w, reduction=reduction,
                                                                                        pos_weight=p),
                       logits, LABELS, *extras, device=device, differentiable=[True, True] + [False] * len(extras))


def test_bce_with_logits_module():
    pos_weight = np.full(5, 2.0)
    compare_with_torch(nn.BCEWithLogitsLoss(pos_weight=minigrad.tensor(pos_weight)),
                       torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight)), LABELS - 0.5, LABELS)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction, device):
    compare_with_torch(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction),
                       PROBABILITIES, LABELS, device=device)


def test_mse_loss_warns_and_broadcasts_like_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        compare_with_torch(F.mse_loss, TF.mse_loss, PROBABILITIES, LABELS[:1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("input_shape, target_shape", [((6, 4), (6,)), ((2, 4, 3, 5), (2, 3, 5)), ((4,), ())])
def test_cross_entropy(reduction, input_shape, target_shape, device):
    logits = random_array(input_shape, seed=1) * 30  # large logits check the log-softmax's stability
    target = random_array(target_shape, "int64", seed=2, between=(0, 4))
    compare_with_torch(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
                       lambda x, t: TF.cross_entropy(x, t, reduction=reduction), logits, target, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_weight_and_ignore_index(reduction):
    logits, weight = random_array((7, 3), seed=1), random_array(3, seed=2, between=(0.5, 2))
    target = np.array([0, 2, -100, 1, 2, 1, -100])
    compare_with_torch(nn.CrossEntropyLoss(minigrad.tensor(weight), reduction=reduction),
                       torch.nn.CrossEntropyLoss(torch.tensor(weight), reduction=reduction), logits, target)
    target[target == -100] = 1
    compare_with_torch(lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction=reduction),
                       lambda x, t: TF.cross_entropy(x, t, ignore_index=1, reduction=reduction), logits, target)


def test_cross_entropy_all_ignored_mean_is_nan_as_torch():
    logits, target = random_array((2, 3)), np.array([-100, -100])
    assert np.isnan(F.cross_entropy(minigrad.tensor(logits), minigrad.tensor(target)).item())
    assert torch.isnan(TF.cross_entropy(torch.tensor(logits), torch.tensor(target)))


@pytest.mark.parametrize("fn", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss])
def test_bad_reduction(fn):
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        fn(minigrad.rand(3), minigrad.rand(3), reduction="avg")


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.binary_cross_entropy(minigrad.rand(3), minigrad.rand(2)), ValueError, "different to the input size"),
    (lambda: F.binary_cross_entropy(minigrad.rand(3) + 1, minigrad.rand(3)), RuntimeError, "between 0 and 1"),
    (lambda: F.binary_cross_entropy_with_logits(minigrad.rand(3), minigrad.rand(2)), ValueError,
     r"Target size \(\(2,\)\) must be the same as input size"),
    (lambda: F.cross_entropy(minigrad.rand(3, 4), minigrad.tensor([0, 1])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)"),
    (lambda: F.cross_entropy(minigrad.rand(3, 4), minigrad.tensor([0, 1, 4])), IndexError, "Target 4 is out of bounds"),
    (lambda: F.cross_entropy(minigrad.rand(3, 4), minigrad.tensor([0, -1, 4])), IndexError, "Target -1 is out of"),
    (lambda: F.cross_entropy(minigrad.rand(3, 4, 5), minigrad.tensor([0, 1, 2])), RuntimeError,
     r"Expected target size \[3, 5\], got \[3\]"),
    (lambda: F.cross_entropy(minigrad.rand(3, 4), minigrad.rand(3, 4)), TypeError, "class indices"),
])
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_loss_reprs_match_torch():
    for name in ["BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss"]:
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
