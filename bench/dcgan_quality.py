"""How good are the DCGAN's digits? Train with the defaults, then judge 1,000 samples with a classifier.

    python bench/dcgan_quality.py                       # minigrad's DCGAN with its default recipe
    python bench/dcgan_quality.py --torch-baseline      # and the reference DCGAN in PyTorch, same wall clock

The judge is a small minigrad CNN trained on the 4,000 bundled "train" digits (its accuracy on the
1,000 held-out "test" digits is reported). For 1,000 generated digits it reports the share classified
with confidence >= 0.9, the share of each class, and the Frechet distance between the classifier's
penultimate-layer features of the samples and of the real test digits (FID's formula with this
classifier in place of Inception). The same numbers for real "train" digits give the scale.
The PyTorch baseline gets minigrad's wall-clock training time, so run this on a quiet machine: load
during either training skews the comparison (the JSON records the load average before and after;
`median_seconds_per_step` is robust to it). With --ablations (about 25 minutes more) it also trains
the recipe with one part changed at a time.
Writes bench/results/dcgan_quality.json, dcgan_samples.png (+ _torch_baseline.png) and
dcgan_generator.npz (the trained generator, which book/09_dcgan.ipynb draws with).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import minigrad  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import nn  # noqa: E402
from dcgan import DCGAN, STEPS, image_grid, latent_codes  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
CONFIDENCE = 0.9
SAMPLES = 1000


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


# ---- the judge ------------------------------------------------------------------------------
def classifier():
    """(N, 1, 28, 28) in [-1, 1] -> 10 logits; everything but the last layer gives 128 features."""
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def train_classifier(images, labels, epochs=6, batch_size=64, seed=0):
    """Adam on the real digits, each batch shifted by up to 2 pixels so off-centre digits count too."""
    minigrad.manual_seed(seed)
    net, rng = classifier(), np.random.default_rng(seed)
    optimizer = minigrad.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch_size):
            rows = order[start:start + batch_size]
            shifted = np.roll(images[rows], tuple(rng.integers(-2, 3, size=2)), axis=(2, 3))
            loss = F.cross_entropy(net(minigrad.tensor(shifted)), minigrad.tensor(labels[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


def judge(net, images):
    """(probabilities (N, 10), features (N, 128)) of images (N, 1, 28, 28), 500 at a time."""
    probabilities, features = [], []
    with minigrad.no_grad():
        for start in range(0, len(images), 500):
            hidden = net[:-1](minigrad.tensor(images[start:start + 500]))
            logits = net[-1](hidden).numpy().astype(np.float64)
            e = np.exp(logits - logits.max(1, keepdims=True))
            probabilities.append(e / e.sum(1, keepdims=True))
            features.append(hidden.numpy().astype(np.float64))
    return np.concatenate(probabilities), np.concatenate(features)


def frechet_distance(a, b):
    """|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) between Gaussians fitted to rows of a and b.

    tr (C_a C_b)^(1/2) = tr (S C_b S)^(1/2) with S = C_a^(1/2): a similar, symmetric matrix, so two
    eigh calls (no scipy) give it."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def quality(net, images, real_features):
    probabilities, features = judge(net, images)
    shares = np.bincount(probabilities.argmax(1), minlength=10) / len(images)
    return dict(confident=float((probabilities.max(1) >= CONFIDENCE).mean()),
                class_shares=[round(float(s), 4) for s in shares],
                frechet_distance=round(frechet_distance(features, real_features), 3))


# ---- the generators -------------------------------------------------------------------------
# Each ablation changes one part of the recipe (the last one, all of them: PyTorch's reference settings);
# the first changes only the seed, to show how much two runs of the same recipe differ.
ABLATIONS = {
    "the recipe again, from seed 1": dict(seed=1),
    "without the shifted views": dict(shift=0),
    "with equal learning rates (2e-4)": dict(lr_g=2e-4),
    "without label smoothing": dict(real_label=1.0),
    "with 64 channels": dict(width=64),
    "the tutorial's settings, in minigrad": dict(width=64, lr_g=2e-4, real_label=1.0, shift=0, ema_decay=0.0),
}


def train_minigrad(images, steps, **changes):
    """minigrad's DCGAN with its defaults (or `changes` to them): (gan, seconds, median seconds per step)."""
    gan, times = DCGAN(**changes), []
    start = time.perf_counter()
    while gan.steps < steps:
        tick = time.perf_counter()
        gan.step(gan.train_batch(images))
        times.append(time.perf_counter() - tick)
        if gan.steps % 250 == 0:
            print(f"  step {gan.steps}/{steps}, {time.perf_counter() - start:.0f} s, load {load_average()}", flush=True)
    return gan, time.perf_counter() - start, statistics.median(times)


def train_torch_reference(images, seconds=None, steps=None, seed=0):
    """The reference DCGAN in PyTorch (Sigmoid + BCELoss, Adam 2e-4 (0.5, 0.999) for both, batch 64),
    trained for a wall-clock budget or a number of steps: (sample function, steps done, seconds)."""
    import torch
    t = torch.nn
    torch.manual_seed(seed)
    generator = t.Sequential(t.ConvTranspose2d(64, 128, 7), t.BatchNorm2d(128), t.ReLU(),
                             t.ConvTranspose2d(128, 64, 4, 2, 1), t.BatchNorm2d(64), t.ReLU(),
                             t.ConvTranspose2d(64, 1, 4, 2, 1), t.Tanh())
    discriminator = t.Sequential(t.Conv2d(1, 64, 4, 2, 1), t.LeakyReLU(0.2), t.Conv2d(64, 128, 4, 2, 1),
                                 t.BatchNorm2d(128), t.LeakyReLU(0.2), t.Conv2d(128, 1, 7), t.Sigmoid())
    for module in list(generator.modules()) + list(discriminator.modules()):
        if isinstance(module, (t.Conv2d, t.ConvTranspose2d, t.BatchNorm2d)):
            t.init.normal_(module.weight, 1.0 if isinstance(module, t.BatchNorm2d) else 0.0, 0.02)
            t.init.zeros_(module.bias)
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    bce, data, rng = t.BCELoss(), torch.tensor(images), np.random.default_rng(seed)
    ones, zeros = torch.ones(64), torch.zeros(64)
    done, order, start = 0, rng.permutation(len(images)), time.perf_counter()
    while (steps is None or done < steps) and (seconds is None or time.perf_counter() - start < seconds):
        index = done % (len(images) // 64)
        if index == 0 and done:
            order = rng.permutation(len(images))
        real = data[order[index * 64:(index + 1) * 64]]
        fake = generator(torch.randn(64, 64, 1, 1))
        loss_d = bce(discriminator(real).view(-1), ones) + bce(discriminator(fake.detach()).view(-1), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(discriminator(fake).view(-1), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        done += 1
    elapsed = time.perf_counter() - start

    def sample(z):
        with torch.no_grad():  # training-mode BatchNorm, as in PyTorch's DCGAN tutorial
            return generator(torch.tensor(z)).numpy()
    return sample, done, elapsed


def save_grid(path, images):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(path, image_grid(images[:64]), cmap="gray", vmin=0, vmax=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="minigrad training steps (default: the recipe's)")
    parser.add_argument("--torch-baseline", action="store_true", help="also train PyTorch's reference DCGAN")
    parser.add_argument("--torch-steps", type=int, help="train the PyTorch baseline for this many steps instead "
                                                         "of minigrad's wall-clock time")
    parser.add_argument("--ablations", action="store_true", help="also train the recipe without each of its parts")
    args = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    report = dict(machine=dict(cpus=os.cpu_count(), processor=platform.processor() or platform.machine(),
                               python=platform.python_version(), numpy=np.__version__, load_before=load_average()))
    train_x, train_y = minigrad.data.mnist("train", pixel_range=(-1, 1))
    test_x, test_y = minigrad.data.mnist("test", pixel_range=(-1, 1))

    start = time.perf_counter()
    net = train_classifier(train_x, train_y)
    test_probabilities, real_features = judge(net, test_x)
    accuracy = float((test_probabilities.argmax(1) == test_y).mean())
    report["classifier"] = dict(test_accuracy=accuracy, train_seconds=round(time.perf_counter() - start, 1))
    report["real_train_digits"] = quality(net, train_x[:SAMPLES], real_features)
    print(f"classifier: {accuracy:.1%} on the 1,000 test digits; real train digits: {report['real_train_digits']}")

    print(f"training minigrad's DCGAN for {args.steps} steps ...")
    gan, seconds, per_step = train_minigrad(train_x, args.steps)
    codes = latent_codes(SAMPLES, gan.config["latent_dim"], seed=(0, 3))
    samples = gan.generate(codes)
    save_grid(os.path.join(RESULTS, "dcgan_samples.png"), samples)
    state = gan.state_dict()  # keep what ema_generator() needs: the book draws with it
    minigrad.save({key: state[key] for key in ("config", "generator_ema")},
                  os.path.join(RESULTS, "dcgan_generator.npz"))
    report["minigrad"] = dict(recipe=gan.config, steps=gan.steps, train_seconds=round(seconds, 1),
                              median_seconds_per_step=round(per_step, 4), load_after_training=load_average(),
                              **quality(net, samples, real_features))
    print(f"minigrad: {report['minigrad']}")
    report["minigrad_without_ema"] = quality(net, gan.generate(codes, ema=False), real_features)

    if args.torch_baseline:  # right after minigrad's training, so that both see the same machine load
        import torch
        budget = None if args.torch_steps else seconds
        print(f"training PyTorch's reference DCGAN for {args.torch_steps or f'{budget:.0f} s'} ...")
        sample, steps, torch_seconds = train_torch_reference(train_x, seconds=budget, steps=args.torch_steps)
        samples = sample(latent_codes(SAMPLES, 64, seed=(0, 3)))
        save_grid(os.path.join(RESULTS, "dcgan_samples_torch_baseline.png"), samples)
        report["torch_baseline"] = dict(torch=torch.__version__, threads=torch.get_num_threads(), steps=steps,
                                        train_seconds=round(torch_seconds, 1), load_after_training=load_average(),
                                        **quality(net, samples, real_features))
        print(f"PyTorch baseline: {report['torch_baseline']}")

    if args.ablations:
        report["ablations"] = {}
        for name, changes in ABLATIONS.items():
            print(f"ablation: {name} {changes} ...")
            ablated, ablated_seconds, _ = train_minigrad(train_x, args.steps, **changes)
            digits = ablated.generate(latent_codes(SAMPLES, ablated.config["latent_dim"], seed=(0, 3)))
            report["ablations"][name] = dict(changes=changes, steps=ablated.steps,
                                             train_seconds=round(ablated_seconds, 1),
                                             **quality(net, digits, real_features))
            print(f"  {report['ablations'][name]}")

    report["machine"]["load_after"] = load_average()
    path = os.path.join(RESULTS, "dcgan_quality.json")
    with open(path + ".tmp", "w") as file:  # then renamed: a run killed midway leaves the old file whole
        json.dump(report, file, indent=2)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
