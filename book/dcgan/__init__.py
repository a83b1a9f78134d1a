"""A small DCGAN for 28x28 digits (Radford et al., 2015): transposed convolutions draw, convolutions judge.

    Generator      z (N, L, 1, 1) -ConvT k7-> (N, 2w, 7, 7) -ConvT k4 s2 p1-> (N, w, 14, 14)
                   -ConvT k4 s2 p1-> (N, 1, 28, 28), BatchNorm + ReLU between, Tanh at the end
    Discriminator  x (N, 1, 28, 28) -Conv k4 s2 p1-> (N, w, 14, 14) -Conv k4 s2 p1-> (N, 2w, 7, 7)
                   -Conv k7-> (N, 1, 1, 1), LeakyReLU(0.2) between, BatchNorm on the middle layer

The reference setting (PyTorch's DCGAN tutorial scaled to MNIST) is L = w = 64, a Sigmoid at the
end of the discriminator, BCELoss and Adam(lr=2e-4, betas=(0.5, 0.999)) for both networks, batch 64:
`Generator()` and `Discriminator(sigmoid=True)` are its networks.
The recipe (the defaults of `DCGAN`) keeps the architecture and changes how it is trained; what
each part is worth is measured by `python bench/dcgan_quality.py --ablations` (bench/RESULTS.md):
  - w = 48 and STEPS = 4000: about 285 s on 2 CPU cores, inside a 300 s budget (at equal steps,
    wider networks reached a lower Frechet distance; 48 channels cost 1.6x the time of 32 per step);
  - G learns 5x faster than D: Adam lr 1e-3 for G, 2e-4 for D (equal rates crowd the digits into
    fewer classes);
  - D outputs logits into BCEWithLogitsLoss (the same loss, without rounding the sigmoid);
  - samples come from G in eval mode (BatchNorm with its running statistics).
Tried and switched off by default, since they did not measurably help: an exponential moving average
of G's weights (ema_decay=0.999; with 0 the "EMA" generator is G itself), one-sided label smoothing
(real_label=0.9), DiffAugment's translation (shift=2) and cutout (cutout=0.5), the hinge loss
(loss="hinge") and spectral normalization of D (spectral_norm=True, SN-GAN's D without BatchNorm).
Randomness comes from the seed and the step number, so a run resumed from a checkpoint continues
exactly as if it had never stopped.
"""
import numpy as np

from minigrad import full, manual_seed, nn, no_grad, randn, tensor
from minigrad.backend import to_device
from minigrad.nn.functional import conv2d, pad, relu
from minigrad.optim import Adam

__all__ = ["Generator", "Discriminator", "SpectralNormConv2d", "init_weights", "DCGAN", "STEPS", "generate",
           "ema_generator", "latent_codes", "image_grid", "translate", "cutout"]

STEPS = 4000  # the recipe's training length


def init_weights(module):
    """DCGAN's initialization, for Module.apply: conv weights N(0, 0.02) (the paper), BatchNorm scales
    N(1, 0.02) and biases 0 (the reference code: PyTorch's DCGAN tutorial, after the original DCGAN code)."""
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


def _normalize(vector, eps):
    """vector / max(|vector|, eps), on raw NumPy or CuPy arrays."""
    return vector / max(float((vector * vector).sum()) ** 0.5, eps)


class SpectralNormConv2d(nn.Conv2d):
    """A Conv2d that convolves with weight / sigma, sigma the largest singular value of the weight as an
    (out, in*kH*kW) matrix (Miyato et al., 2018), as `torch.nn.utils.spectral_norm(nn.Conv2d(...))` does:
    in training mode each forward first takes one power-iteration step, u <- Wv / |Wv| after
    v <- W^T u / |W^T u|, and sigma = u^T W v; the gradient flows through W, not through u and v.
    `weight` holds PyTorch's `weight_orig`; `weight_u` and `weight_v` are its buffers of the same names."""

    def __init__(self, *args, eps=1e-12, **kwargs):
        super().__init__(*args, **kwargs)
        self.eps = eps
        rows, columns = self.weight.shape[0], int(np.prod(self.weight.shape[1:]))
        start = randn(rows + columns).numpy()  # from minigrad's generator, so manual_seed fixes it
        self.register_buffer("weight_u", tensor(_normalize(start[:rows], eps), device=self.weight.device))
        self.register_buffer("weight_v", tensor(_normalize(start[rows:], eps), device=self.weight.device))

    def normalized_weight(self):
        matrix = self.weight.reshape(self.weight.shape[0], -1)
        if self.training:  # one power-iteration step, on the raw arrays: u and v are constants to autograd
            w, u = matrix.array, self.weight_u.array
            v = _normalize(w.T @ u, self.eps)
            self.weight_v.array[...] = v
            self.weight_u.array[...] = _normalize(w @ v, self.eps)
        u, v = self.weight_u.array, self.weight_v.array
        sigma = (matrix * tensor(u[:, None] * v[None, :], device=self.weight.device)).sum()  # u^T W v
        return self.weight / sigma

    def forward(self, input):
        return conv2d(input, self.normalized_weight(), self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Discriminator(nn.Sequential):
    """images (N, 1, 28, 28) -> (N, 1, 1, 1): a logit of "real", or a probability if `sigmoid`.
    With `spectral_norm`, every convolution is a SpectralNormConv2d and the BatchNorm goes (SN-GAN's D)."""

    def __init__(self, width=64, sigmoid=False, spectral_norm=False):
        conv = SpectralNormConv2d if spectral_norm else nn.Conv2d
        middle = [] if spectral_norm else [nn.BatchNorm2d(2 * width)]
        super().__init__(conv(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                         conv(width, 2 * width, 4, stride=2, padding=1), *middle,
                         nn.LeakyReLU(0.2), conv(2 * width, 1, 7), *([nn.Sigmoid()] if sigmoid else []))
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


def cutout(images, fraction, rng):
    """images (N, C, H, W) with one square of side fraction * H per image, at a random place, set to 0
    (DiffAugment's cutout, Zhao et al., 2020; the square may hang over the border)."""
    n, _, h, w = images.shape
    size = int(h * fraction + 0.5)
    starts = rng.integers(0, [[h + (1 - size % 2)], [w + (1 - size % 2)]], size=(2, n)) - size // 2
    rows = np.arange(h) - starts[0][:, None]  # (N, H): row index relative to the square's first row
    cols = np.arange(w) - starts[1][:, None]
    keep = ~(((0 <= rows) & (rows < size))[:, :, None] & ((0 <= cols) & (cols < size))[:, None, :])
    return images * tensor(keep[:, None].astype(np.float32), device=images.device)


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
    the generator's weights, trained by `step(real)`. The defaults are the recipe above; the other
    settings switch on the parts it tried and dropped (e.g. shift=2, real_label=0.9, ema_decay=0.999).

    One training step: `gan.step(gan.train_batch(images))`, images (M, 1, 28, 28) in [-1, 1].
    """

    def __init__(self, latent_dim=64, width=48, resize_conv=False, batch_size=64, lr_g=1e-3, lr_d=2e-4,
                 betas=(0.5, 0.999), real_label=1.0, shift=0, ema_decay=0.0, loss="bce", spectral_norm=False,
                 cutout=0.0, seed=0, device="cpu"):
        if loss not in ("bce", "hinge"):
            raise ValueError(f'loss must be "bce" or "hinge", got {loss!r}')
        self.config = dict(latent_dim=latent_dim, width=width, resize_conv=resize_conv, batch_size=batch_size,
                           lr_g=lr_g, lr_d=lr_d, betas=tuple(betas), real_label=real_label, shift=shift,
                           ema_decay=ema_decay, loss=loss, spectral_norm=bool(spectral_norm),
                           cutout=float(cutout), seed=seed)
        self.device = device
        manual_seed(seed)
        self.generator = Generator(latent_dim, width, resize_conv).to(device)
        self.discriminator = Discriminator(width, spectral_norm=spectral_norm).to(device)
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
        """D's logits (N,) for images, each seen shifted by up to `shift` pixels and with a square of
        side `cutout` * 28 blanked (DiffAugment's translation and cutout), where those are on."""
        shift, fraction = self.config["shift"], self.config["cutout"]
        images = translate(images, shift, rng) if shift else images
        images = cutout(images, fraction, rng) if fraction else images
        return self.discriminator(images).reshape(-1)

    def _bce(self, logits, target):
        return self.loss(logits, full(logits.shape, target, device=self.device))

    def step(self, real):
        """One update of D, then of G, then of the EMA, on real: (N, 1, 28, 28) and N fresh codes.
        Returns the losses and D's mean probability of "real" on both batches, as floats."""
        n, config, rng = real.shape[0], self.config, self._rng(1)
        z = tensor(rng.standard_normal((n, config["latent_dim"], 1, 1), dtype=np.float32), device=self.device)
        fake = self.generator(z)
        logit_real, logit_fake = self._judge(real, rng), self._judge(fake.detach(), rng)
        if config["loss"] == "hinge":  # D wants real logits >= 1 and fake ones <= -1, and no further
            loss_d = relu(1 - logit_real).mean() + relu(1 + logit_fake).mean()
        else:  # real digits count as real_label < 1 (one-sided label smoothing): D never gets overconfident
            loss_d = self._bce(logit_real, config["real_label"]) + self._bce(logit_fake, 0.0)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        self.discriminator.requires_grad_(False)  # G's update needs no gradient for D's weights
        logit_g = self._judge(fake, rng)
        # non-saturating: make D call the fakes real (for hinge, raise their logits)
        loss_g = -logit_g.mean() if config["loss"] == "hinge" else self._bce(logit_g, 1.0)
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
