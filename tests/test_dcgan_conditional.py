"""The digit-conditioned DCGAN (the recipe's classes=10) against the same networks written in PyTorch:
G reads z stacked with one_hot(labels); D adds the projection <e_y, h> to its logit."""
import numpy as np
import pytest
import torch

import minigrad
from dcgan import DCGAN, Discriminator, Generator, balanced_labels, generate, latent_codes, one_hot
from tests.helpers import assert_close, copy_torch_weights
from tests.test_dcgan import torch_discriminator, torch_generator


def test_conditional_generator_matches_pytorch_on_code_and_one_hot():
    """Generator(classes=10)(z, y) is PyTorch's generator of latent_dim + 10 inputs applied to
    cat([z, one_hot(y)]); the gradient reaches z as in PyTorch."""
    torch.manual_seed(1)
    theirs, ours = torch_generator(latent_dim=8 + 10, width=4), Generator(latent_dim=8, width=4, classes=10)
    copy_torch_weights(theirs, ours)
    z, labels = latent_codes(6, 8, seed=2), np.array([0, 3, 9, 3, 7, 1])
    z_theirs = torch.tensor(z, requires_grad=True)
    code = torch.cat([z_theirs, torch.nn.functional.one_hot(torch.tensor(labels), 10).float()[:, :, None, None]], 1)
    expected = theirs(code)
    z_ours = minigrad.tensor(z, requires_grad=True)
    out = ours(z_ours, labels)
    assert_close(out, expected, atol=2e-5, rtol=1e-4, what="images")
    weights = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    (out * minigrad.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    assert_close(z_ours.grad, z_theirs.grad, atol=1e-5, rtol=1e-4, what="dz")


def test_projection_discriminator_matches_pytorch():
    """logit(x, y) = conv7(h) + sum(h * e_y) with h D's (N, 2w, 7, 7) features, in PyTorch from the same
    weights; gradients for the images and the class embedding agree."""
    torch.manual_seed(2)
    reference = torch_discriminator(width=4)[:-1]  # without the Sigmoid: logits
    ours = Discriminator(width=4, classes=10)
    embedding = np.random.default_rng(3).standard_normal((10, 8 * 49)).astype(np.float32)
    missing, unexpected = ours.load_state_dict({**{k: v.detach().numpy() for k, v in reference.state_dict().items()},
                                                "class_embedding": embedding})  # strict: every key matched
    assert missing == unexpected == []
    images = np.tanh(latent_codes(5, 784, seed=4).reshape(5, 1, 28, 28))
    labels = np.array([2, 2, 0, 9, 5])
    x_theirs, e_theirs = torch.tensor(images, requires_grad=True), torch.tensor(embedding, requires_grad=True)
    h = reference[:-1](x_theirs)
    expected = reference[-1](h).reshape(-1) + (h.reshape(5, -1) * e_theirs[torch.tensor(labels)]).sum(1)
    x_ours = minigrad.tensor(images, requires_grad=True)
    out = ours(x_ours, labels).reshape(-1)
    assert_close(out, expected, atol=2e-5, rtol=1e-4, what="logits")
    out.sum().backward()
    expected.sum().backward()
    assert_close(x_ours.grad, x_theirs.grad, atol=1e-5, rtol=1e-4, what="d images")
    assert_close(ours.class_embedding.grad, e_theirs.grad, atol=1e-5, rtol=1e-4, what="d class_embedding")
    assert np.count_nonzero(np.abs(ours.class_embedding.grad.numpy()).sum(1)) == 4  # only the labels seen


def test_projection_starts_at_zero_and_then_learns_the_labels():
    """The class embedding starts at 0 (D begins by ignoring the label) and one step moves only the rows of
    the labels in play: the real batch's and the digits G was asked for."""
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    gan = DCGAN(width=4, batch_size=8, seed=6)
    assert (gan.discriminator.class_embedding.numpy() == 0).all()
    real, real_labels = gan.train_batch(images, labels)
    rng = gan._rng(1)  # the step's draws, in its order: the codes, then the digits asked for
    rng.standard_normal((8, 64, 1, 1), dtype=np.float32)
    wanted = rng.integers(0, 10, 8)
    gan.step(real, real_labels)
    moved = np.flatnonzero(np.abs(gan.discriminator.class_embedding.numpy()).sum(1))
    assert set(moved) == set(real_labels) | set(wanted)


def test_one_hot_and_balanced_labels():
    np.testing.assert_array_equal(balanced_labels(12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    codes = one_hot([2, 0], 3).numpy()
    assert codes.shape == (2, 3, 1, 1)
    np.testing.assert_array_equal(codes[:, :, 0, 0], [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("labels", [[0, 10], [-1, 2], [1.5, 2], [[1], [2]], [1, 2, 3]])
def test_bad_labels_are_refused_by_name(labels):
    generator, discriminator = Generator(latent_dim=4, width=2, classes=10), Discriminator(width=2, classes=10)
    with pytest.raises(ValueError, match=r"labels must be whole numbers from 0 to 9, one per image \(2\)"):
        generator(minigrad.tensor(latent_codes(2, 4)), np.array(labels))
    with pytest.raises(ValueError, match=r"labels must be whole numbers from 0 to 9, one per image \(2\)"):
        discriminator(minigrad.tensor(np.zeros((2, 1, 28, 28), np.float32)), np.array(labels))


def test_missing_labels_are_refused():
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    gan = DCGAN(width=2, batch_size=4)
    with pytest.raises(ValueError, match="pass the images' labels"):
        gan.train_batch(images)
    with pytest.raises(ValueError, match="step needs the real digits' labels"):
        gan.step(gan.train_batch(images, labels)[0])
    with pytest.raises(ValueError, match="pass labels"):
        gan.generator(minigrad.tensor(latent_codes(2, 64)))
    with pytest.raises(ValueError, match="pass labels"):
        gan.discriminator(minigrad.tensor(images[:2]))
    with pytest.raises(ValueError, match="one entry per image"):
        gan.train_batch(images, labels[:10])
    with pytest.raises(ValueError, match="sigmoid=True needs classes=0"):
        Discriminator(sigmoid=True, classes=10)


def test_generate_draws_balanced_digits_by_default():
    """generate(G, z) for a conditional G is generate(G, z, balanced_labels(N)); other labels, other images."""
    generator = Generator(latent_dim=4, width=2, classes=10)
    z = latent_codes(10, 4)
    np.testing.assert_array_equal(generate(generator, z), generate(generator, z, balanced_labels(10)))
    assert np.abs(generate(generator, z) - generate(generator, z, np.full(10, 7))).max() > 0
