"""How good are the DCGAN's digits? Train the recipe over several seeds, judge 1,000 samples of each with a classifier.

    python bench/dcgan_quality.py --torch-baseline --ablations            # what RESULTS.md and chapter 9 show
    python bench/dcgan_quality.py --steps 2000 --seeds 0 --try "loss='hinge', spectral_norm=True"  # a screen

The judge is a small minigrad CNN trained once on the 4,000 bundled "train" digits and cached in
results/dcgan_judge.npz (minigrad.save; retrained if missing or made with other settings); its accuracy
on the 1,000 held-out "test" digits is reported. For 1,000 generated digits it reports the share
classified with confidence >= 0.9, the share of each class, and the Frechet distance between the
classifier's penultimate-layer features of the samples and of the real test digits (FID's formula with
this classifier in place of Inception). The same numbers for real "train" digits give the scale.
A conditional generator is asked for each digit equally often (balanced_labels); for it the share of
samples the judge reads as the digit asked for is reported too (label_agreement).

Quality is compared at fixed step counts, which load on the machine cannot change; time is measured
apart: the median seconds per training step (2 threads, the default command's setting) of the recipe
and of PyTorch's reference DCGAN, over many steps, converts steps to seconds. The reference gets as many
steps as fit into the recipe's training time at its own median step time. Trainings run in --jobs worker
processes of one BLAS thread each at low priority; finished runs are cached in results/dcgan_runs.json
(keyed by settings, seed and steps), so a rerun only trains what is new (--fresh forgets them).
Writes results/dcgan_quality.json, dcgan_samples.png (+ _torch_baseline.png) and dcgan_generator.npz
(the recipe's seed-0 generator, which book/09_dcgan.ipynb draws with).
"""
import argparse
import json
import multiprocessing
import os
import platform
import signal
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import minigrad  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import nn  # noqa: E402
from dcgan import DCGAN, STEPS, balanced_labels, image_grid, latent_codes  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
JUDGE, RUNS = os.path.join(RESULTS, "dcgan_judge.npz"), os.path.join(RESULTS, "dcgan_runs.json")
CONFIDENCE = 0.9
SAMPLES = 1000
BUDGET_SECONDS = 300  # the training budget on 2 CPU cores
JUDGE_SETTINGS = dict(epochs=6, batch_size=64, seed=0)


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


def load_judge(retrain=False):
    """The classifier from results/dcgan_judge.npz, or trained on the real digits (about 20 s) and cached."""
    if not retrain and os.path.exists(JUDGE):
        state = minigrad.load(JUDGE)
        if {k: int(v) for k, v in state["settings"].items()} == JUDGE_SETTINGS:
            net = classifier()
            net.load_state_dict(state["weights"])
            return net.eval()
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    net = train_classifier(images, labels, **JUDGE_SETTINGS)
    minigrad.save(dict(settings=JUDGE_SETTINGS, weights=net.state_dict()), JUDGE)  # written atomically
    return net


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


def quality(net, images, real_features, labels=None):
    """The scores of images (N, 1, 28, 28); with `labels` (N,), the digits asked for, also the share
    the judge reads as that digit."""
    probabilities, features = judge(net, images)
    shares = np.bincount(probabilities.argmax(1), minlength=10) / len(images)
    scores = dict(confident=float((probabilities.max(1) >= CONFIDENCE).mean()),
                  class_shares=[round(float(s), 4) for s in shares], rarest_class=round(float(shares.min()), 4),
                  frechet_distance=round(frechet_distance(features, real_features), 3))
    if labels is not None:
        scores["label_agreement"] = float((probabilities.argmax(1) == labels).mean())
    return scores


def summary(runs):
    """mean, min and max over seeds of each score of `runs` (a list of quality dicts)."""
    keys = ["confident", "rarest_class", "frechet_distance"] + (["label_agreement"] if all(
        "label_agreement" in r for r in runs) else [])
    return {key: dict(mean=round(float(np.mean([r[key] for r in runs])), 4),
                      min=round(float(min(r[key] for r in runs)), 4), max=round(float(max(r[key] for r in runs)), 4))
            for key in keys}


# ---- the generators -------------------------------------------------------------------------
# Each ablation changes one part of the recipe and is trained over the same seeds, for the recipe's steps
# unless it names its own (the same training time at a different cost per step, or more time where that
# can only favour the ablation). An average of G's weights does not change the training: every run
# judges both its averaged and its raw generator.
ABLATIONS = {
    "without the digit labels (unconditional), 4,000 steps (more time)": (dict(classes=0), 4000),
    "with G learning 5x faster (lr_g=1e-3, the previous recipe's)": dict(lr_g=1e-3),
    "with 32 channels, 5,700 steps (the same time)": (dict(width=32), 5700),
}


def run_key(changes, seed, steps):
    """The cache key of a run: every setting (so a change of the recipe's defaults is a new run), seed, steps."""
    settings = changes if isinstance(changes, str) else {**DCGAN(**changes).config, "betas": None, "seed": None}
    return json.dumps(dict(settings=settings, seed=seed, steps=steps), sort_keys=True)


def train_run(task):
    """One training in a worker (1 BLAS thread, low priority): the quality of its EMA and raw generators."""
    from threadpoolctl import threadpool_limits
    changes, seed, steps, keep = task
    os.nice(10)
    with threadpool_limits(1, user_api="blas"):
        net = load_judge()
        test_x, _ = minigrad.data.mnist("test", pixel_range=(-1, 1))
        real_features = judge(net, test_x)[1]
        images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
        gan, start = DCGAN(**{**changes, "seed": seed}), time.perf_counter()
        labels = labels if gan.config["classes"] else None
        while gan.steps < steps:
            gan.step(*gan.train_batch(images, labels))
        seconds = time.perf_counter() - start
        codes = latent_codes(SAMPLES, gan.config["latent_dim"], seed=(0, 3))
        asked = balanced_labels(SAMPLES) if gan.config["classes"] else None  # what gan.generate draws
        samples = gan.generate(codes)
        if keep:  # the book draws with this generator; ema_generator() needs only these two entries
            save_grid(os.path.join(RESULTS, "dcgan_samples.png"), samples, gan.config["classes"])
            state = gan.state_dict()
            minigrad.save({key: state[key] for key in ("config", "generator_ema")},
                          os.path.join(RESULTS, "dcgan_generator.npz"))
        return dict(seed=seed, steps=steps, worker_seconds=round(seconds, 1),
                    **quality(net, samples, real_features, asked),
                    without_ema=quality(net, gan.generate(codes, ema=False), real_features, asked))


def torch_run(task):
    """The PyTorch reference for `steps` steps in a worker: its quality."""
    import torch
    seed, steps, keep = task
    os.nice(10)
    torch.set_num_threads(1)
    net = load_judge()
    test_x, _ = minigrad.data.mnist("test", pixel_range=(-1, 1))
    real_features = judge(net, test_x)[1]
    images, _ = minigrad.data.mnist("train", pixel_range=(-1, 1))
    sample, done, seconds = train_torch_reference(images, steps=steps, seed=seed)
    samples = sample(latent_codes(SAMPLES, 64, seed=(0, 3)))
    if keep:
        save_grid(os.path.join(RESULTS, "dcgan_samples_torch_baseline.png"), samples)
    return dict(seed=seed, steps=done, worker_seconds=round(seconds, 1), **quality(net, samples, real_features))


def train_torch_reference(images, seconds=None, steps=None, seed=0, times=None):
    """The reference DCGAN in PyTorch (Sigmoid + BCELoss, Adam 2e-4 (0.5, 0.999) for both, batch 64),
    trained for a wall-clock budget or a number of steps: (sample function, steps done, seconds).
    `times`, a list, gets each step's seconds."""
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
        real, tick = data[order[index * 64:(index + 1) * 64]], time.perf_counter()
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
        if times is not None:
            times.append(time.perf_counter() - tick)
    elapsed = time.perf_counter() - start

    def sample(z):
        with torch.no_grad():  # training-mode BatchNorm, as in PyTorch's DCGAN tutorial
            return generator(torch.tensor(z)).numpy()
    return sample, done, elapsed


def save_grid(path, images, classes=0):
    """The first 100 images in 10 columns (one per digit, for a conditional generator's balanced labels),
    or the first 64 in 8."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 10 if classes else 8
    plt.imsave(path, image_grid(images[:columns * columns], ncols=columns), cmap="gray", vmin=0, vmax=1)


def median_seconds_per_step(step, repeats=200, warmup=20):
    """The median wall time of `step()` over `repeats` calls, after `warmup` calls: robust to load spikes."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        step()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def time_minigrad(changes, images, labels, repeats):
    gan = DCGAN(**changes)
    labels = labels if gan.config["classes"] else None
    return median_seconds_per_step(lambda: gan.step(*gan.train_batch(images, labels)), repeats)


def time_torch(images, repeats, warmup=20):
    import torch
    torch.set_num_threads(2)
    times = []
    train_torch_reference(images, steps=warmup + repeats, times=times)
    return statistics.median(times[warmup:])


def cached_runs(fresh):
    if fresh or not os.path.exists(RUNS):
        return {}
    with open(RUNS) as file:
        return json.load(file)


def write_json(path, data):
    with open(path + ".tmp", "w") as file:  # then renamed: a run killed midway leaves the old file whole
        json.dump(data, file, indent=1)
    os.replace(path + ".tmp", path)


def train_all(tasks, cache, jobs):
    """Train every (kind, task) not in the cache, `jobs` at a time; each result is cached as it comes."""
    todo = [(key, kind, task) for key, (kind, task) in tasks.items() if key not in cache]
    print(f"{len(tasks) - len(todo)} runs cached, {len(todo)} to train", flush=True)
    if not todo:
        return
    with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
        pending = {key: pool.apply_async(torch_run if kind == "torch" else train_run, (task,)) for key, kind, task in todo}
        for key, result in pending.items():
            cache[key] = result.get()
            write_json(RUNS, {**cached_runs(False), **cache})  # another invocation may have added runs
            print(f"  {key}: confident {cache[key]['confident']:.3f}, FD {cache[key]['frechet_distance']:.1f}, "
                  f"rarest {cache[key]['rarest_class']:.3f} ({cache[key]['worker_seconds']:.0f} s), load "
                  f"{load_average()}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (default: the recipe's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--try", dest="tries", action="append", default=[], metavar="CHANGES",
                        help="also train the recipe with these keyword changes, e.g. \"loss='hinge'\"")
    parser.add_argument("--torch-baseline", action="store_true", help="also train PyTorch's reference DCGAN")
    parser.add_argument("--torch-seeds", type=int, nargs="+", help="its seeds (default: --seeds)")
    parser.add_argument("--ablations", action="store_true", help="also train the recipe without each of its parts")
    parser.add_argument("--ablation", action="append", metavar="NAME", help="only these ablations (repeatable)")
    parser.add_argument("--cached-only", action="store_true",
                        help="train nothing new for the ablations: report the seeds already cached")
    parser.add_argument("--time", action="store_true", help="measure seconds per step (implied by --torch-baseline)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (default 2)")
    parser.add_argument("--fresh", action="store_true", help="retrain the cached runs and the judge")
    args = parser.parse_args()
    # `kill` raises SystemExit here, so the worker pool's `with` block terminates the workers too
    # (killed without it, the parent left its two trainings running as orphans)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    os.makedirs(RESULTS, exist_ok=True)
    report = dict(machine=dict(cpus=os.cpu_count(), processor=platform.processor() or platform.machine(),
                               python=platform.python_version(), numpy=np.__version__, load_before=load_average()))
    train_x, train_y = minigrad.data.mnist("train", pixel_range=(-1, 1))
    test_x, test_y = minigrad.data.mnist("test", pixel_range=(-1, 1))
    net = load_judge(retrain=args.fresh)
    test_probabilities, real_features = judge(net, test_x)
    report["classifier"] = dict(test_accuracy=float((test_probabilities.argmax(1) == test_y).mean()), **JUDGE_SETTINGS)
    report["real_train_digits"] = quality(net, train_x[:SAMPLES], real_features)
    print(f"judge: {report['classifier']}; real train digits: {report['real_train_digits']}")

    timing_path = os.path.join(RESULTS, "dcgan_timing.json")
    if os.path.exists(timing_path) and not (args.time or args.fresh):
        with open(timing_path) as file:
            report["seconds_per_step"] = json.load(file)  # the same timing, so the cached runs still fit
    elif args.time or args.torch_baseline:  # before the trainings, alone on the machine
        timing = dict(recipe=DCGAN().config, minigrad=round(time_minigrad({}, train_x, train_y, 300), 4),
                      load_before=load_average())
        timing["torch"] = round(time_torch(train_x, 300), 4)
        timing["load_after"] = load_average()
        write_json(timing_path, timing)
        report["seconds_per_step"] = timing
    if "seconds_per_step" in report:
        print(f"median seconds per step (2 threads): {report['seconds_per_step']}", flush=True)

    variants = {"the recipe": ({}, args.steps)}
    variants.update({f"the recipe with {text}": (eval(f"dict({text})", {}), args.steps)  # noqa: S307
                     for text in args.tries})
    if args.ablations or args.ablation:
        for name, changes in ABLATIONS.items():
            if args.ablation is None or name in args.ablation:
                changes, steps = changes if isinstance(changes, tuple) else (changes, args.steps)
                variants[f"the recipe {name}" if name.startswith("with") else name] = (changes, steps)
    cache = cached_runs(args.fresh)
    seeds_of = {name: [seed for seed in args.seeds if not (args.cached_only and name != "the recipe"
                                                           and run_key(changes, seed, steps) not in cache)]
                for name, (changes, steps) in variants.items()}
    variants = {name: value for name, value in variants.items() if seeds_of[name]}
    tasks = {run_key(changes, seed, steps): ("minigrad", (changes, seed, steps, not changes and seed == 0
                                                          and steps == STEPS))
             for name, (changes, steps) in variants.items() for seed in seeds_of[name]}
    if args.torch_baseline:
        torch_steps = int(args.steps * report["seconds_per_step"]["minigrad"] / report["seconds_per_step"]["torch"])
        torch_tasks = {run_key("torch reference", seed, torch_steps): ("torch", (seed, torch_steps, seed == 0))
                       for seed in args.torch_seeds or args.seeds}
        tasks.update(torch_tasks)
    train_all(tasks, cache, args.jobs)

    per_step = report.get("seconds_per_step", {}).get("minigrad")
    report["variants"] = {}
    for name, (changes, steps) in variants.items():
        runs = [cache[run_key(changes, seed, steps)] for seed in seeds_of[name]]
        entry = dict(changes=changes, steps=steps, seeds=seeds_of[name], **summary(runs), runs=runs)
        if per_step and not changes:
            entry["train_seconds"] = round(steps * per_step, 1)
        report["variants"][name] = entry
        if not changes and DCGAN().config["ema_decay"]:
            report["variants"]["the recipe, digits from G itself instead of its average"] = dict(
                changes="no EMA", steps=args.steps, seeds=args.seeds, **summary([r["without_ema"] for r in runs]))
    recipe = report["variants"]["the recipe"]
    report["minigrad"] = dict(recipe=DCGAN().config, **recipe)
    if args.torch_baseline:
        runs = [cache[key] for key in torch_tasks]
        report["torch_baseline"] = dict(torch=__import__("torch").__version__, threads=2, steps=torch_steps,
                                        train_seconds=round(torch_steps * report["seconds_per_step"]["torch"], 1),
                                        seeds=args.torch_seeds or args.seeds, **summary(runs), runs=runs)
    recipe_settings = json.loads(run_key({}, 0, 0))["settings"]
    report["screens"] = []  # every other cached run: one seed each, most of them shorter
    for key, result in sorted(cache.items()):
        settings = json.loads(key).get("settings")
        if isinstance(settings, dict) and key not in tasks and result["steps"] >= 1000:
            changes = {k: v for k, v in settings.items() if v != recipe_settings[k]}
            report["screens"].append(dict(changes=changes, **result))
    report["machine"]["load_after"] = load_average()
    for name, entry in report["variants"].items():
        print(f"{name:60} confident {entry['confident']}  FD {entry['frechet_distance']}  rarest {entry['rarest_class']}")
    if args.steps == STEPS and args.seeds == [0, 1, 2] and not args.tries and args.torch_baseline:
        write_json(os.path.join(RESULTS, "dcgan_quality.json"), report)
        print("wrote results/dcgan_quality.json")


if __name__ == "__main__":
    main()
