"""dcgan against PyTorch (same keys, same outputs), the DCGAN initialization, and training."""
import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from dcgan import DCGAN, Discriminator, Generator, image_grid, latent_codes, translate
from tests.helpers import assert_close, copy_torch_weights


def torch_generator(latent_dim=64, width=64):
    """The reference generator written in PyTorch, layer for layer."""
    t = torch.nn
    return t.Sequential(t.ConvTranspose2d(latent_dim, 2 * width, 7), t.BatchNorm2d(2 * width), t.ReLU(),
                        t.ConvTranspose2d(2 * width, width, 4, 2, 1), t.BatchNorm2d(width), t.ReLU(),
                        t.ConvTranspose2d(width, 1, 4, 2, 1), t.Tanh())


def torch_discriminator(width=64):
    t = torch.nn
    return t.Sequential(t.Conv2d(1, width, 4, 2, 1), t.LeakyReLU(0.2), t.Conv2d(width, 2 * width, 4, 2, 1),
                        t.BatchNorm2d(2 * width), t.LeakyReLU(0.2), t.Conv2d(2 * width, 1, 7), t.Sigmoid())


@pytest.mark.parametrize("resize_conv", [False, True])
def test_output_shapes_and_ranges(resize_conv):
    generator, discriminator = Generator(latent_dim=16, width=8, resize_conv=resize_conv), Discriminator(width=8)
    images = generator(minigrad.tensor(latent_codes(5, 16)))
    assert images.shape == (5, 1, 28, 28)
    assert np.abs(images.numpy()).max() <= 1
    assert discriminator(images).shape == (5, 1, 1, 1)
    probabilities = Discriminator(width=8, sigmoid=True)(images).numpy()
    assert ((0 < probabilities) & (probabilities < 1)).all()


def test_dcgan_initialization_statistics():
    """Conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02), biases 0: sample mean and std within five
    standard errors (0.02 / sqrt(n) and 0.02 / sqrt(2n) for n draws)."""
    checked = 0
    for module in list(Generator().modules()) + list(Discriminator().modules()):
        if isinstance(module, (nn.ConvTranspose2d, nn.Conv2d, nn.BatchNorm2d)):
            values = module.weight.numpy()
            mean = 1.0 if isinstance(module, nn.BatchNorm2d) else 0.0
            assert abs(values.mean() - mean) < 5 * 0.02 / np.sqrt(values.size), module
            assert abs(values.std() - 0.02) < 5 * 0.02 / np.sqrt(2 * values.size), module
            assert (module.bias.numpy() == 0).all()
            checked += 1
    assert checked == 5 + 4  # three convolutions and two BatchNorms in G, three and one in D


@pytest.mark.parametrize("train_mode", [False, True])
def test_same_keys_and_outputs_as_pytorch(train_mode):
    torch.manual_seed(0)
    pairs = [(Generator(), torch_generator(), latent_codes(6, 64)),
             (Discriminator(sigmoid=True), torch_discriminator(), np.tanh(latent_codes(6, 784).reshape(6, 1, 28, 28)))]
    for ours, theirs, x in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for module in theirs.modules():  # running statistics away from (0, 1), so eval mode tests them
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        copy_torch_weights(theirs, ours)
        ours.train(train_mode), theirs.train(train_mode)
        expected = theirs(torch.tensor(x))
        assert_close(ours(minigrad.tensor(x)), expected, atol=2e-5, rtol=1e-4, what=type(ours).__name__)
        for key, value in theirs.state_dict().items():  # train mode also updates the running statistics
            assert_close(ours.state_dict()[key], value, atol=1e-6, rtol=1e-5, what=key)


@pytest.mark.parametrize("classes", [10, 0])
def test_short_training_lowers_discriminator_loss(classes):
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    gan = DCGAN(width=8, batch_size=16, classes=classes, seed=1)
    labels = labels if classes else None
    losses = [gan.step(*gan.train_batch(images, labels)) for _ in range(40)]
    loss_d = np.array([r["loss_d"] for r in losses])
    assert np.isfinite([list(r.values()) for r in losses]).all()
    assert loss_d[-10:].mean() < loss_d[:3].mean() - 0.1, loss_d
    assert np.isfinite(gan.generate(latent_codes(8, 64))).all()


@pytest.mark.parametrize("settings", [dict(), dict(classes=0), dict(loss="hinge", spectral_norm=True, cutout=0.5)],
                         ids=["recipe", "unconditional", "hinge-spectral-norm-cutout"])
def test_resuming_from_a_checkpoint_continues_exactly(tmp_path, settings):
    """Stop after 2 steps, save, load, 2 more steps: the same weights, Adam moments and power-iteration
    vectors as 4 steps straight (randomness comes from the seed and the step alone)."""
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    settings = dict(width=4, batch_size=4, seed=3, **settings)
    labels = None if settings.get("classes") == 0 else labels
    straight = DCGAN(**settings)
    for _ in range(4):
        straight.step(*straight.train_batch(images, labels))
    stopped = DCGAN(**settings)
    for _ in range(2):
        stopped.step(*stopped.train_batch(images, labels))
    minigrad.save(stopped.state_dict(), tmp_path / "checkpoint.npz")  # Adam's state and the buffers included
    resumed = DCGAN.from_state_dict(minigrad.load(tmp_path / "checkpoint.npz"))
    assert resumed.config == straight.config
    for _ in range(2):
        resumed.step(*resumed.train_batch(images, labels))
    z = latent_codes(8, 64)
    np.testing.assert_array_equal(resumed.generate(z), straight.generate(z))
    first = [gan.opt_d.state[gan.opt_d.param_groups[0]["params"][0]]["exp_avg_sq"] for gan in (resumed, straight)]
    np.testing.assert_array_equal(*first)
    for ours, theirs in zip(resumed.discriminator.buffers(), straight.discriminator.buffers()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # BatchNorm statistics, or SN's u and v
    assert resumed.steps == 4


def test_translate_moves_each_image_by_its_own_offset():
    """Against np.pad + a window per image; the gradient is 1 where a pixel stays in view, else 0."""
    x = minigrad.randn(6, 2, 5, 7, requires_grad=True)
    shifted = translate(x, 2, np.random.default_rng(4))
    offsets = np.random.default_rng(4).integers(0, 5, size=(2, 6))  # the same draws
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1)
    expected = np.stack([padded[i, :, r:r + 5, c:c + 7] for i, (r, c) in enumerate(offsets.T)])
    np.testing.assert_array_equal(shifted.numpy(), expected)
    shifted.sum().backward()
    in_view = np.zeros((6, 2, 5, 7))
    for i, (r, c) in enumerate(offsets.T):  # the window at (r, c) of the padded image shows input rows r - 2 ...
        in_view[i, :, max(r - 2, 0):5 + min(r - 2, 0), max(c - 2, 0):7 + min(c - 2, 0)] = 1
    np.testing.assert_array_equal(x.grad.numpy(), in_view)


def test_image_grid_layout():
    images = np.stack([np.full((1, 2, 3), v, np.float32) for v in (-1, 1, 1)])  # three 2x3 images
    grid = image_grid(images, ncols=2, gap=1)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1)
    assert grid[1, 1] == 0 and grid[1, 5] == 1 and grid[4, 1] == 1  # -1 -> black, 1 -> white
    assert grid[0, 0] == grid[4, 5] == 0.5  # the gaps and the empty fourth cell are grey


def test_batch_size_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match="batch_size must be between 1 and the number of images"):
        DCGAN(width=4, batch_size=11, classes=0).train_batch(np.zeros((10, 1, 28, 28), np.float32))
