"""A small DCGAN for 28x28 digits (Radford et al., 2015): transposed convolutions draw, convolutions judge.

    Generator      z (N, L, 1, 1) -ConvT k7-> (N, 2w, 7, 7) -ConvT k4 s2 p1-> (N, w, 14, 14)
                   -ConvT k4 s2 p1-> (N, 1, 28, 28), BatchNorm + ReLU between, Tanh at the end
    Discriminator  x (N, 1, 28, 28) -Conv k4 s2 p1-> (N, w, 14, 14) -Conv k4 s2 p1-> (N, 2w, 7, 7)
                   -Conv k7-> (N, 1, 1, 1), LeakyReLU(0.2) between, BatchNorm on the middle layer

The reference setting (PyTorch's DCGAN tutorial scaled to MNIST) is L = w = 64, a Sigmoid at the
end of the discriminator, BCELoss and Adam(lr=2e-4, betas=(0.5, 0.999)) for both networks, batch 64:
`Generator()` and `Discriminator(sigmoid=True)` are its networks.
The recipe (the defaults of `DCGAN`) keeps the architecture and changes how it is trained; what
each part is worth is measured by `python bench/dcgan_quality.py --ablations`:
  - w = 32: the middle layers cost a quarter as much, so STEPS = 3000 take about 2.5 minutes on
    2 CPU cores instead of 5 (at equal steps, w = 64 was not measurably better);
  - G learns 5x faster than D: Adam lr 1e-3 for G, 2e-4 for D (equal rates crowd the digits into
    fewer classes);
  - D outputs logits into BCEWithLogitsLoss, and learns "real" as 0.9 (one-sided label smoothing);
  - D sees every image, real or fake, shifted by up to 2 pixels (the translation of DiffAugment,
    Zhao et al., 2020): 4,000 real digits are few enough to learn by heart;
  - samples come from an exponential moving average of G's weights (decay 0.999), in eval mode.
Randomness comes from the seed and the step number, so a run resumed from a checkpoint continues
exactly as if it had never stopped.
"""
import numpy as np

from minigrad import full, manual_seed, nn, no_grad, tensor
from minigrad.backend import to_device
from minigrad.nn.functional import pad
from minigrad.optim import Adam

__all__ = ["Generator", "Discriminator", "init_weights", "DCGAN", "STEPS", "generate", "ema_generator",
           "latent_codes", "image_grid"]

STEPS = 3000  # the recipe's training length


def init_weights(module):
    """The DCGAN paper's initialization, for Module.apply: conv weights N(0, 0.02), BatchNorm scales
    N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def _upsample(in_channels, out_channels, resize_conv):
    """Double the height and width: a strided transposed convolution, or nearest resize + convolution."""
    if resize_conv:  # Odena et al.'s remedy for checkerboard artifacts
        return [nn.Upsample(scale_factor=2), nn.Conv2d(in_channels, out_channels, 3, padding=1)]
    return [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)]


class Generator(nn.Sequential):
    """z: (N, latent_dim, 1, 1) -> images (N, 1, 28, 28) in [-1, 1]; `width` channels at 14x14."""

    def __init__(self, latent_dim=64, width=64, resize_conv=False):
        super().__init__(nn.ConvTranspose2d(latent_dim, 2 * width, 7), nn.BatchNorm2d(2 * width), nn.ReLU(),
                         *_upsample(2 * width, width, resize_conv), nn.BatchNorm2d(width), nn.ReLU(),
                         *_upsample(width, 1, resize_conv), nn.Tanh())
        self.latent_dim, self.width, self.resize_conv = latent_dim, width, resize_conv
        self.apply(init_weights)


class Discriminator(nn.Sequential):
    """images (N, 1, 28, 28) -> (N, 1, 1, 1): a logit of "real", or a probability if `sigmoid`."""

    def __init__(self, width=64, sigmoid=False):
        super().__init__(nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.BatchNorm2d(2 * width),
                         nn.LeakyReLU(0.2), nn.Conv2d(2 * width, 1, 7), *([nn.Sigmoid()] if sigmoid else []))
        self.apply(init_weights)


def translate(images, shift, rng):
    """images (N, C, H, W), each moved by its own random offset of up to `shift` pixels along each axis,
    the uncovered border filled with -1 (the background). Differentiable, so D can see augmented fakes."""
    n, _, h, w = images.shape
    padded = pad(images, (shift,) * 4, value=-1.0)
    offsets = rng.integers(0, 2 * shift + 1, size=(2, n))
    rows = to_device(offsets[0][:, None, None] + np.arange(h)[:, None], images.device)  # (N, H, 1)
    cols = to_device(offsets[1][:, None, None] + np.arange(w), images.device)  # (N, 1, W)
    batch = to_device(np.arange(n)[:, None, None], images.device)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)


def latent_codes(n, latent_dim=64, seed=0):
    """n codes (n, latent_dim, 1, 1), float32 N(0, 1), the same for the same seed on every device."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim, 1, 1), dtype=np.float32)


def image_grid(images, ncols=8, gap=1):
    """images (N, 1, H, W) in [-1, 1] -> one (rows*(H+gap)+gap, ncols*(W+gap)+gap) array in [0, 1],
    light lines between them: ready for plt.imshow / plt.imsave with cmap="gray"."""
    images = np.clip((np.asarray(images, dtype=np.float32)[:, 0] + 1) / 2, 0, 1)
    n, h, w = images.shape
    ncols = min(ncols, n)
    rows = -(-n // ncols)
    grid = np.full((rows * (h + gap) + gap, ncols * (w + gap) + gap), 0.5, dtype=np.float32)
    for i, image in enumerate(images):
        top, left = gap + (i // ncols) * (h + gap), gap + (i % ncols) * (w + gap)
        grid[top:top + h, left:left + w] = image
    return grid


def generate(generator, z):
    """Images (N, 1, 28, 28) in [-1, 1] for codes z (N, L, 1, 1) (array or Tensor), as a NumPy array.

    The generator runs in eval mode: BatchNorm uses its running statistics, so each image depends
    on its own code only, not on the rest of the batch."""
    device = next(generator.parameters()).device
    z = z if hasattr(z, "array") else tensor(np.asarray(z, dtype=np.float32), device=device)
    was_training = generator.training
    with no_grad():
        images = generator.eval()(z).numpy()
    generator.train(was_training)
    return images


def ema_generator(state, device="cpu"):
    """The trained (EMA) generator, in eval mode, from `DCGAN.state_dict()` or from its "config" and
    "generator_ema" entries alone (what bench/dcgan_quality.py keeps): e.g. `minigrad.load(path)`."""
    config = state["config"]
    generator = Generator(config["latent_dim"], config["width"], config["resize_conv"]).to(device)
    generator.load_state_dict(state["generator_ema"])
    return generator.eval()


class DCGAN:
    """A generator, a discriminator, their Adam optimizers and an exponential moving average (EMA) of
    the generator's weights, trained by `step(real)`. The defaults are the recipe above; shift=0,
    real_label=1 and ema_decay=0 turn its parts off.

    One training step: `gan.step(gan.train_batch(images))`, images (M, 1, 28, 28) in [-1, 1].
    """

    def __init__(self, latent_dim=64, width=32, resize_conv=False, batch_size=64, lr_g=1e-3, lr_d=2e-4,
                 betas=(0.5, 0.999), real_label=0.9, shift=2, ema_decay=0.999, seed=0, device="cpu"):
        self.config = dict(latent_dim=latent_dim, width=width, resize_conv=resize_conv, batch_size=batch_size,
                           lr_g=lr_g, lr_d=lr_d, betas=tuple(betas), real_label=real_label, shift=shift,
                           ema_decay=ema_decay, seed=seed)
        self.device = device
        manual_seed(seed)
        self.generator = Generator(latent_dim, width, resize_conv).to(device)
        self.discriminator = Discriminator(width).to(device)
        self.generator_ema = Generator(latent_dim, width, resize_conv).to(device)
        self.generator_ema.load_state_dict(self.generator.state_dict())
        self.opt_g = Adam(self.generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)
        self.loss = nn.BCEWithLogitsLoss()
        self.steps = 0

    def _rng(self, purpose):
        """A generator for this step and purpose alone, so a resumed run draws the same numbers."""
        return np.random.default_rng((self.config["seed"], purpose, self.steps))

    def _judge(self, images, rng):
        """D's logits (N,) for images, each seen shifted by up to `shift` pixels (DiffAugment)."""
        shift = self.config["shift"]
        return self.discriminator(translate(images, shift, rng) if shift else images).reshape(-1)

    def _bce(self, logits, target):
        return self.loss(logits, full(logits.shape, target, device=self.device))

    def step(self, real):
        """One update of D, then of G, then of the EMA, on real: (N, 1, 28, 28) and N fresh codes.
        Returns the losses and D's mean probability of "real" on both batches, as floats."""
        n, config, rng = real.shape[0], self.config, self._rng(1)
        z = tensor(rng.standard_normal((n, config["latent_dim"], 1, 1), dtype=np.float32), device=self.device)
        fake = self.generator(z)
        logit_real, logit_fake = self._judge(real, rng), self._judge(fake.detach(), rng)
        # Real digits count as real_label < 1 (one-sided label smoothing): D never gets overconfident.
        loss_d = self._bce(logit_real, config["real_label"]) + self._bce(logit_fake, 0.0)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        self.discriminator.requires_grad_(False)  # G's update needs no gradient for D's weights
        loss_g = self._bce(self._judge(fake, rng), 1.0)  # non-saturating: make D call the fakes real
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.discriminator.requires_grad_(True)
        self._update_ema()
        self.steps += 1
        probability = lambda logits: float((1 / (1 + np.exp(-logits.numpy()))).mean())  # noqa: E731
        return dict(loss_d=loss_d.item(), loss_g=loss_g.item(), d_real=probability(logit_real),
                    d_fake=probability(logit_fake))

    def _update_ema(self):
        """ema += (1 - decay) * (weights - ema); the decay ramps up from 0 so early steps do not linger.
        BatchNorm's running statistics are copied: they belong to the current weights."""
        decay = min(self.config["ema_decay"], self.steps / (self.steps + 10))
        with no_grad():
            for average, current in zip(self.generator_ema.parameters(), self.generator.parameters()):
                average.array += (1 - decay) * (current.array - average.array)
            for average, current in zip(self.generator_ema.buffers(), self.generator.buffers()):
                average.array[...] = current.array

    def generate(self, z, ema=True):
        """Images (N, 1, 28, 28) for codes z (N, L, 1, 1) from the EMA generator (or the raw one)."""
        return generate(self.generator_ema if ema else self.generator, z)

    def train_batch(self, images):
        """The batch_size images for the current step: epoch e visits them in the order of a permutation
        drawn from (seed, 0, e), so step s's batch depends on s alone. images: (M, 1, 28, 28)."""
        batch_size = self.config["batch_size"]
        if not 1 <= batch_size <= len(images):
            raise ValueError(f"batch_size must be between 1 and the number of images ({len(images)}), "
                             f"got {batch_size}")
        per_epoch = len(images) // batch_size
        epoch, index = divmod(self.steps, per_epoch)
        order = np.random.default_rng((self.config["seed"], 0, epoch)).permutation(len(images))
        return tensor(images[order[index * batch_size:(index + 1) * batch_size]], device=self.device)

    def state_dict(self):
        """Everything `minigrad.save` needs to resume: weights, optimizer moments, step, settings."""
        config = {**self.config, "betas": np.array(self.config["betas"])}
        return dict(generator=self.generator.state_dict(), discriminator=self.discriminator.state_dict(),
                    generator_ema=self.generator_ema.state_dict(), opt_g=self.opt_g.state_dict(),
                    opt_d=self.opt_d.state_dict(), steps=self.steps, config=config)

    @classmethod
    def from_state_dict(cls, state, device="cpu"):
        """The DCGAN that `state_dict()` described (e.g. `minigrad.load(path)`), ready to train on."""
        config = {**state["config"], "betas": tuple(float(b) for b in state["config"]["betas"])}
        gan = cls(**config, device=device)
        for name in ("generator", "discriminator", "generator_ema", "opt_g", "opt_d"):
            getattr(gan, name).load_state_dict(state[name])
        gan.steps = int(state["steps"])
        return gan
