"""What the DCGAN recipe search added to dcgan: spectral normalization against PyTorch's, DiffAugment's
cutout against its reference formula, and the hinge loss (tests/test_dcgan.py resumes with all of them on)."""
import numpy as np
import pytest
import torch

import minigrad
from dcgan import DCGAN, Discriminator, SpectralNormConv2d, cutout
from tests.helpers import assert_close


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1), dict(stride=1, padding=0, bias=False)])
def test_spectral_norm_matches_pytorch(kwargs):
    """Outputs, power-iteration buffers and weight gradients as torch.nn.utils.spectral_norm, in training
    mode over three steps (one power iteration each), then in eval mode (no iteration)."""
    torch.manual_seed(0)
    theirs = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 5, 4, **kwargs))
    ours = SpectralNormConv2d(3, 5, 4, **kwargs)
    renamed = {"weight" if key == "weight_orig" else key: value.detach().numpy()
               for key, value in theirs.state_dict().items()}
    ours.load_state_dict(renamed)
    rng = np.random.default_rng(0)
    for train in (True, True, True, False):
        ours.train(train), theirs.train(train)
        x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
        ours.zero_grad(), theirs.zero_grad()
        mine, reference = ours(minigrad.tensor(x)), theirs(torch.tensor(x))  # each forward iterates once
        upstream = rng.standard_normal(tuple(reference.shape)).astype(np.float32)
        (mine * minigrad.tensor(upstream)).sum().backward()
        (reference * torch.tensor(upstream)).sum().backward()
        assert_close(mine, reference, atol=1e-5, rtol=1e-4, what="output")
        assert_close(ours.weight.grad, theirs.weight_orig.grad, atol=1e-5, rtol=1e-4, what="weight grad")
        for name in ("weight_u", "weight_v"):
            assert_close(getattr(ours, name), getattr(theirs, name), atol=1e-6, rtol=1e-5, what=name)


def test_spectral_norm_divides_by_the_largest_singular_value():
    minigrad.manual_seed(1)
    conv = SpectralNormConv2d(4, 6, 3)
    for _ in range(50):  # power iteration converges to the top singular pair
        normalized = conv.normalized_weight()
    matrix = conv.weight.numpy().reshape(6, -1)
    sigma = np.linalg.svd(matrix, compute_uv=False)[0]
    np.testing.assert_allclose(normalized.numpy(), conv.weight.numpy() / sigma, rtol=1e-4)
    assert abs(np.linalg.svd(normalized.numpy().reshape(6, -1), compute_uv=False)[0] - 1) < 1e-4


def test_spectral_norm_discriminator_has_no_batchnorm():
    plain, normalized = Discriminator(width=4), Discriminator(width=4, spectral_norm=True)
    kinds = lambda d: [type(m).__name__ for m in d]  # noqa: E731
    assert "BatchNorm2d" in kinds(plain) and "BatchNorm2d" not in kinds(normalized)
    assert kinds(normalized).count("SpectralNormConv2d") == 3
    assert normalized(minigrad.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 1, 1, 1)


@pytest.mark.parametrize("fraction", [0.5, 0.3])
def test_cutout_matches_diffaugment(fraction):
    """DiffAugment's rand_cutout: a square of side int(H * fraction + 0.5), offset drawn from
    [0, H + 1 - side % 2), its indices clamped to the image, zeroed in every channel."""
    n, h = 64, 28
    images = np.random.default_rng(1).uniform(0.5, 1.0, (n, 2, h, h)).astype(np.float32)
    x = minigrad.tensor(images, requires_grad=True)
    out = cutout(x, fraction, np.random.default_rng(2))
    side = int(h * fraction + 0.5)
    offsets = np.random.default_rng(2).integers(0, [[h + (1 - side % 2)]] * 2, size=(2, n))
    expected = images.copy()
    for i in range(n):
        rows = np.clip(np.arange(side) + offsets[0, i] - side // 2, 0, h - 1)
        cols = np.clip(np.arange(side) + offsets[1, i] - side // 2, 0, h - 1)
        expected[i][:, rows[:, None], cols[None, :]] = 0
    np.testing.assert_array_equal(out.numpy(), expected)
    out.sum().backward()  # the gradient is the mask: generated digits learn through the cutout
    np.testing.assert_array_equal(x.grad.numpy(), (expected != 0).astype(np.float32))


def test_hinge_loss_of_one_step():
    """With loss="hinge" D's loss is mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), G's -mean(D(fake)):
    recompute both from the same networks and draws."""
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    gan = DCGAN(width=4, batch_size=8, loss="hinge", shift=0, seed=5)
    twin = DCGAN(width=4, batch_size=8, loss="hinge", shift=0, seed=5)
    real, real_labels = gan.train_batch(images, labels)
    result = gan.step(real, real_labels)
    rng = twin._rng(1)
    z = minigrad.tensor(rng.standard_normal((8, 64, 1, 1), dtype=np.float32))
    wanted = rng.integers(0, 10, 8)  # the digits G is asked for, drawn after the codes
    with minigrad.no_grad():
        fake = twin.generator(z, wanted)
        logit_real = twin.discriminator(real, real_labels).numpy().ravel()
        logit_fake = twin.discriminator(fake, wanted).numpy().ravel()
    expected_d = np.maximum(1 - logit_real, 0).mean() + np.maximum(1 + logit_fake, 0).mean()
    assert abs(result["loss_d"] - expected_d) < 1e-5
    with pytest.raises(ValueError, match="loss must be"):
        DCGAN(loss="wasserstein")
