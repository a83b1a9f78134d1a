"""A small DCGAN for 28x28 digits (Radford et al., 2015): transposed convolutions draw, convolutions judge.

    Generator      z (N, L, 1, 1) -ConvT k7-> (N, 2w, 7, 7) -ConvT k4 s2 p1-> (N, w, 14, 14)
                   -ConvT k4 s2 p1-> (N, 1, 28, 28), BatchNorm + ReLU between, Tanh at the end
    Discriminator  x (N, 1, 28, 28) -Conv k4 s2 p1-> (N, w, 14, 14) -Conv k4 s2 p1-> (N, 2w, 7, 7)
                   -Conv k7-> (N, 1, 1, 1), LeakyReLU(0.2) between, BatchNorm on the middle layer
    Conditioned on the digit (`classes=10`, Mirza & Osindero, 2014): G reads the label as C more
    input channels (a one-hot code beside z, so its first layer has L + C input channels), and D adds
    a projection term <e_y, h> to its logit, h its (N, 2w, 7, 7) features and e_y a learned vector
    per class (Miyato & Koyama, 2018's projection discriminator).

The reference setting (PyTorch's DCGAN tutorial scaled to MNIST) is L = w = 64, a Sigmoid at the
end of the discriminator, BCELoss and Adam(lr=2e-4, betas=(0.5, 0.999)) for both networks, batch 64:
`Generator()` and `Discriminator(sigmoid=True)` are its networks.
The recipe (the defaults of `DCGAN`) keeps the architecture and changes how it is trained; what
each part is worth is measured by `python bench/dcgan_quality.py --ablations` (bench/RESULTS.md):
  - conditioned on the digit (classes=10): G is asked for a given digit and D judges "a real 7?",
    so neither network has to discover the ten classes by itself;
  - w = 48 and STEPS = 3500: about 270 s on 2 CPU cores, inside a 300 s budget (48 channels cost
    1.6x the time of 32 per step);
  - Adam lr 2e-4 for both networks, the tutorial's (a 5x faster G, lr_g=1e-3, was the previous
    recipe's: without labels it spread the digits over the classes; with them it no longer helps);
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

from minigrad import cat, full, manual_seed, nn, no_grad, randn, tensor, zeros
from minigrad.backend import to_device
from minigrad.nn.functional import conv2d, pad, relu
from minigrad.optim import Adam

__all__ = ["Generator", "Discriminator", "SpectralNormConv2d", "init_weights", "DCGAN", "STEPS", "generate",
           "ema_generator", "latent_codes", "balanced_labels", "one_hot", "image_grid", "translate", "cutout"]

STEPS = 3500  # the recipe's training length: 3,500 x 0.0765 s = 268 s on 2 cores


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


def balanced_labels(n, classes=10):
    """The labels 0, 1, ..., classes - 1, 0, 1, ... (n of them): every digit equally often, a column
    each in a grid of `classes` columns."""
    return np.arange(n) % classes


def one_hot(labels, classes, device="cpu"):
    """labels (N,) -> a Tensor (N, classes, 1, 1), 1 at each label: the class as image channels."""
    labels = _labels(labels, classes)
    codes = np.zeros((len(labels), classes, 1, 1), np.float32)
    codes[np.arange(len(labels)), labels] = 1
    return tensor(codes, device=device)


def _labels(labels, classes, n=None):
    """labels as int64 NumPy (N,), each checked to be a class 0 .. classes - 1 (and N == n, if given)."""
    labels = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)
    in_range = labels.dtype.kind in "iu" and (labels.size == 0 or 0 <= labels.min() <= labels.max() < classes)
    if labels.ndim != 1 or not in_range or n is not None and len(labels) != n:
        one_each = "" if n is None else f", one per image ({n})"
        raise ValueError(f"labels must be whole numbers from 0 to {classes - 1}{one_each}, got {labels!r}")
    return labels.astype(np.int64)


def _upsample(in_channels, out_channels, resize_conv):
    """Double the height and width: a strided transposed convolution, or nearest resize + convolution."""
    if resize_conv:  # Odena et al.'s remedy for checkerboard artifacts
        return [nn.Upsample(scale_factor=2), nn.Conv2d(in_channels, out_channels, 3, padding=1)]
    return [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)]


class Generator(nn.Sequential):
    """z: (N, latent_dim, 1, 1) -> images (N, 1, 28, 28) in [-1, 1]; `width` channels at 14x14.
    With `classes`, forward(z, labels) draws the digits `labels` (N,): the first layer reads z and
    one_hot(labels) stacked, latent_dim + classes channels."""

    def __init__(self, latent_dim=64, width=64, resize_conv=False, classes=0):
        super().__init__(nn.ConvTranspose2d(latent_dim + classes, 2 * width, 7), nn.BatchNorm2d(2 * width),
                         nn.ReLU(), *_upsample(2 * width, width, resize_conv), nn.BatchNorm2d(width), nn.ReLU(),
                         *_upsample(width, 1, resize_conv), nn.Tanh())
        self.latent_dim, self.width, self.resize_conv, self.classes = latent_dim, width, resize_conv, classes
        self.apply(init_weights)

    def forward(self, z, labels=None):
        if self.classes:
            if labels is None:
                raise ValueError(f"this generator draws a chosen digit (classes={self.classes}): pass labels")
            z = cat([z, one_hot(_labels(labels, self.classes, z.shape[0]), self.classes, z.device)], dim=1)
        return super().forward(z)


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
    With `spectral_norm`, every convolution is a SpectralNormConv2d and the BatchNorm goes (SN-GAN's D).
    With `classes`, forward(images, labels) judges "a real digit of this label?": the logit gains
    <class_embedding[label], h>, h the (N, 2w, 7, 7) features the last convolution reads (projection)."""

    def __init__(self, width=64, sigmoid=False, spectral_norm=False, classes=0):
        if sigmoid and classes:
            raise ValueError("a conditional discriminator outputs logits: sigmoid=True needs classes=0")
        conv = SpectralNormConv2d if spectral_norm else nn.Conv2d
        middle = [] if spectral_norm else [nn.BatchNorm2d(2 * width)]
        super().__init__(conv(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                         conv(width, 2 * width, 4, stride=2, padding=1), *middle,
                         nn.LeakyReLU(0.2), conv(2 * width, 1, 7), *([nn.Sigmoid()] if sigmoid else []))
        self.classes = classes
        if classes:  # zeros: D starts out ignoring the label
            self.class_embedding = nn.Parameter(zeros(classes, 2 * width * 7 * 7))
        self.apply(init_weights)

    def forward(self, images, labels=None):
        if not self.classes:
            return super().forward(images)
        if labels is None:
            raise ValueError(f"this discriminator judges a digit and its label (classes={self.classes}): pass labels")
        *body, last = self
        h = images
        for layer in body:
            h = layer(h)
        embedding = self.class_embedding[_labels(labels, self.classes, h.shape[0])]  # (N, 2w * 7 * 7)
        projection = (h.reshape(h.shape[0], -1) * embedding).sum(1)
        return last(h) + projection.reshape(-1, 1, 1, 1)


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


def generate(generator, z, labels=None):
    """Images (N, 1, 28, 28) in [-1, 1] for codes z (N, L, 1, 1) (array or Tensor), as a NumPy array;
    a conditional generator draws the digits `labels` (N,), by default balanced_labels(N).

    The generator runs in eval mode: BatchNorm uses its running statistics, so each image depends
    on its own code only, not on the rest of the batch."""
    device = next(generator.parameters()).device
    z = z if hasattr(z, "array") else tensor(np.asarray(z, dtype=np.float32), device=device)
    if generator.classes:
        labels = balanced_labels(z.shape[0], generator.classes) if labels is None else labels
    was_training = generator.training
    with no_grad():
        images = (generator.eval()(z, labels) if generator.classes else generator.eval()(z)).numpy()
    generator.train(was_training)
    return images


def ema_generator(state, device="cpu"):
    """The trained (EMA) generator, in eval mode, from `DCGAN.state_dict()` or from its "config" and
    "generator_ema" entries alone (what bench/dcgan_quality.py keeps): e.g. `minigrad.load(path)`."""
    config = state["config"]
    classes = int(config.get("classes", 0))  # checkpoints from before conditioning have no "classes"
    generator = Generator(config["latent_dim"], config["width"], config["resize_conv"], classes).to(device)
    generator.load_state_dict(state["generator_ema"])
    return generator.eval()


class DCGAN:
    """A generator, a discriminator, their Adam optimizers and an exponential moving average (EMA) of
    the generator's weights, trained by `step(real, labels)`. The defaults are the recipe above; the
    other settings switch on the parts it tried and dropped (e.g. shift=2, real_label=0.9, classes=0).

    One training step: `gan.step(*gan.train_batch(images, labels))`, images (M, 1, 28, 28) in [-1, 1]
    and their digits (M,) (an unconditional DCGAN, classes=0, needs no labels).
    """

    def __init__(self, latent_dim=64, width=48, resize_conv=False, batch_size=64, lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999), real_label=1.0, shift=0, ema_decay=0.0, loss="bce", spectral_norm=False,
                 cutout=0.0, classes=10, seed=0, device="cpu"):
        if loss not in ("bce", "hinge"):
            raise ValueError(f'loss must be "bce" or "hinge", got {loss!r}')
        self.config = dict(latent_dim=latent_dim, width=width, resize_conv=resize_conv, batch_size=batch_size,
                           lr_g=lr_g, lr_d=lr_d, betas=tuple(betas), real_label=real_label, shift=shift,
                           ema_decay=ema_decay, loss=loss, spectral_norm=bool(spectral_norm),
                           cutout=float(cutout), classes=int(classes), seed=seed)
        self.device = device
        manual_seed(seed)
        self.generator = Generator(latent_dim, width, resize_conv, classes).to(device)
        self.discriminator = Discriminator(width, spectral_norm=spectral_norm, classes=classes).to(device)
        self.generator_ema = Generator(latent_dim, width, resize_conv, classes).to(device)
        self.generator_ema.load_state_dict(self.generator.state_dict())
        self.opt_g = Adam(self.generator.parameters(), lr=lr_g, betas=betas)
        self.opt_d = Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)
        self.loss = nn.BCEWithLogitsLoss()
        self.steps = 0

    def _rng(self, purpose):
        """A generator for this step and purpose alone, so a resumed run draws the same numbers."""
        return np.random.default_rng((self.config["seed"], purpose, self.steps))

    def _judge(self, images, labels, rng):
        """D's logits (N,) for images (of the digits `labels`, if conditional), each seen shifted by up to
        `shift` pixels and with a square of side `cutout` * 28 blanked (DiffAugment's translation and
        cutout), where those are on."""
        shift, fraction = self.config["shift"], self.config["cutout"]
        images = translate(images, shift, rng) if shift else images
        images = cutout(images, fraction, rng) if fraction else images
        logits = self.discriminator(images, labels) if self.config["classes"] else self.discriminator(images)
        return logits.reshape(-1)

    def _bce(self, logits, target):
        return self.loss(logits, full(logits.shape, target, device=self.device))

    def step(self, real, labels=None):
        """One update of D, then of G, then of the EMA, on real: (N, 1, 28, 28) (digits `labels` (N,), if
        conditional) and N fresh codes (asking for N random digits, if conditional).
        Returns the losses and D's mean probability of "real" on both batches, as floats."""
        n, config, rng = real.shape[0], self.config, self._rng(1)
        z = tensor(rng.standard_normal((n, config["latent_dim"], 1, 1), dtype=np.float32), device=self.device)
        if config["classes"]:
            if labels is None:
                raise ValueError(f"this DCGAN is conditional (classes={config['classes']}): step needs the "
                                 "real digits' labels, e.g. gan.step(*gan.train_batch(images, labels))")
            wanted = rng.integers(0, config["classes"], n)
            fake = self.generator(z, wanted)
        else:
            labels = wanted = None
            fake = self.generator(z)
        logit_real, logit_fake = self._judge(real, labels, rng), self._judge(fake.detach(), wanted, rng)
        if config["loss"] == "hinge":  # D wants real logits >= 1 and fake ones <= -1, and no further
            loss_d = relu(1 - logit_real).mean() + relu(1 + logit_fake).mean()
        else:  # real digits count as real_label < 1 (one-sided label smoothing): D never gets overconfident
            loss_d = self._bce(logit_real, config["real_label"]) + self._bce(logit_fake, 0.0)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        self.discriminator.requires_grad_(False)  # G's update needs no gradient for D's weights
        logit_g = self._judge(fake, wanted, rng)
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

    def generate(self, z, labels=None, ema=True):
        """Images (N, 1, 28, 28) for codes z (N, L, 1, 1) from the EMA generator (or the raw one); if
        conditional, of the digits `labels` (N,), by default balanced_labels(N)."""
        return generate(self.generator_ema if ema else self.generator, z, labels)

    def train_batch(self, images, labels=None):
        """(batch_size images, their labels) for the current step: epoch e visits them in the order of a
        permutation drawn from (seed, 0, e), so step s's batch depends on s alone. images (M, 1, 28, 28),
        labels (M,) or None (then None comes back; a conditional DCGAN needs them)."""
        if self.config["classes"] and labels is None:
            raise ValueError(f"this DCGAN is conditional (classes={self.config['classes']}): pass the images' "
                             "labels, train_batch(images, labels)")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"labels must have one entry per image ({len(images)}), got {len(labels)}")
        batch_size = self.config["batch_size"]
        if not 1 <= batch_size <= len(images):
            raise ValueError(f"batch_size must be between 1 and the number of images ({len(images)}), "
                             f"got {batch_size}")
        per_epoch = len(images) // batch_size
        epoch, index = divmod(self.steps, per_epoch)
        order = np.random.default_rng((self.config["seed"], 0, epoch)).permutation(len(images))
        rows = order[index * batch_size:(index + 1) * batch_size]
        return tensor(images[rows], device=self.device), None if labels is None else np.asarray(labels)[rows]

    def state_dict(self):
        """Everything `minigrad.save` needs to resume: weights, optimizer moments, step, settings."""
        config = {**self.config, "betas": np.array(self.config["betas"])}
        return dict(generator=self.generator.state_dict(), discriminator=self.discriminator.state_dict(),
                    generator_ema=self.generator_ema.state_dict(), opt_g=self.opt_g.state_dict(),
                    opt_d=self.opt_d.state_dict(), steps=self.steps, config=config)

    @classmethod
    def from_state_dict(cls, state, device="cpu"):
        """The DCGAN that `state_dict()` described (e.g. `minigrad.load(path)`), ready to train on."""
        config = {"classes": 0, **state["config"], "betas": tuple(float(b) for b in state["config"]["betas"])}
        gan = cls(**config, device=device)
        for name in ("generator", "discriminator", "generator_ema", "opt_g", "opt_d"):
            getattr(gan, name).load_state_dict(state[name])
        gan.steps = int(state["steps"])
        return gan
