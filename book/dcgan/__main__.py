"""Train the DCGAN and draw samples from the command line.

    python -m dcgan train --out runs/dcgan [--steps 3500] [--batch-size 64] [--seed 0] [--device cpu]
    python -m dcgan sample --run runs/dcgan --n 64 --out digits.png     # or digits.npy
    python -m dcgan sample --run runs/dcgan --n 10 --digit 7 --out sevens.png

`train` writes RUN_DIR/checkpoint.npz, RUN_DIR/losses.csv and RUN_DIR/samples/step_XXXXX.png (the
same fixed codes every time), and resumes from the checkpoint when RUN_DIR already has one.
"""
import argparse
import csv
import io
import os
import sys

import numpy as np

from minigrad import cuda, load, save
from minigrad.serialization import atomic_write
from minigrad.data import mnist

from . import DCGAN, STEPS, balanced_labels, ema_generator, generate, image_grid, latent_codes

CHECKPOINT, LOSSES, SAMPLES = "checkpoint.npz", "losses.csv", "samples"
COLUMNS = ("step", "loss_d", "loss_g", "d_real", "d_fake")
DEFAULT_BATCH_SIZE = 64


class UsageError(Exception):
    """A mistake in the command line or in the files it names: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints the whole usage; one line says enough
        raise UsageError(message)


def _integer(low):
    """An argparse type: a whole number >= low (0 or 1), refused in one line otherwise."""
    def parse(text):
        if not text.isdigit() or int(text) < low:
            raise argparse.ArgumentTypeError(f"must be a {('non-negative', 'positive')[low]} integer, got {text!r}")
        return int(text)
    return parse


def _parser():
    parser = _Parser(prog="python -m dcgan", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, or resume training, in RUN_DIR")
    train.add_argument("--out", required=True, metavar="RUN_DIR", help="folder for checkpoint, losses, samples")
    train.add_argument("--steps", type=_integer(1), default=STEPS, help=f"train up to this step (default {STEPS})")
    train.add_argument("--batch-size", type=_integer(1), help=f"default {DEFAULT_BATCH_SIZE}; fixed by the run")
    train.add_argument("--seed", type=_integer(0), help="default 0; fixed by the run")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    train.add_argument("--every", type=_integer(1), default=250,
                       help="steps between samples and checkpoints (default 250)")
    sample = commands.add_parser("sample", help="draw digits from a trained RUN_DIR")
    sample.add_argument("--run", required=True, metavar="RUN_DIR")
    sample.add_argument("--n", type=_integer(1), default=64, help="number of digits")
    sample.add_argument("--out", required=True, metavar="FILE",
                        help=".png (a grid) or .npy ((N, 1, 28, 28) in [-1, 1])")
    sample.add_argument("--seed", type=_integer(0), default=0, help="seed of the codes")
    sample.add_argument("--digit", type=_integer(0), metavar="D",
                        help="draw only this digit (default: every digit in turn, 0 1 ... 9 0 1 ...)")
    return parser


def _read_checkpoint(run_dir, device, build):
    """`build(state)` of RUN_DIR's checkpoint; any problem with the file is a UsageError."""
    path = os.path.join(run_dir, CHECKPOINT)
    try:
        state = load(path, device=device)
    except FileNotFoundError:
        raise UsageError(f"no checkpoint in {run_dir!r} ({path} does not exist): train first") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    if not {"config", "steps", "generator_ema"} <= set(state):
        raise UsageError(f"cannot read {path}: it is a minigrad checkpoint, but not of a DCGAN run")
    try:
        return build(state)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
        cause = " ".join(f"{type(error).__name__}: {error}".split())  # load_state_dict lists errors on lines
        raise UsageError(f"cannot read {path}: its DCGAN state is damaged ({cause})") from None


def _setting(name, given, saved, default):
    """A run keeps the batch size and seed it started with; a different explicit value is a mistake."""
    if saved is None:
        return default if given is None else given
    if given is not None and given != saved:
        raise UsageError(f"this run was started with --{name.replace('_', '-')} {saved}; got {given}")
    return saved


def _keep_rows_up_to(path, step):
    """Drop rows logged after the checkpoint (the run stopped between a log and a save)."""
    try:
        with open(path, newline="") as file:
            header, *lines = [line for line in csv.reader(file) if line] or [list(COLUMNS)]  # empty: no rows yet
        if header != list(COLUMNS):
            raise ValueError(f"its header is {','.join(header)!r}, not {','.join(COLUMNS)!r}")
        for number, line in enumerate(lines, 1):  # a row after the checkpoint may be cut short: it goes anyway
            if not (line[0].isdecimal() and (int(line[0]) > step or len(line) == len(COLUMNS))):
                raise ValueError(f"row {number} is not {len(COLUMNS)} values starting with a step: {line}")
    except (OSError, ValueError, csv.Error) as error:  # UnicodeDecodeError is a ValueError
        raise UsageError(f"cannot read {path}: {error}; fix or remove it to resume") from None
    _write_rows(path, [dict(zip(COLUMNS, line)) for line in lines if int(line[0]) <= step], "w")


def _write_rows(path, rows, mode="a"):
    """Append rows to the log (with a header if it is new); mode "w" replaces the whole file atomically."""
    if mode == "w":  # all of it written first, then renamed over the old file: a crash loses no rows
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        with atomic_write(path) as file:
            file.write(text.getvalue().encode())
        return
    new = not os.path.exists(path)
    with open(path, "a", newline="") as file:
        writer = csv.DictWriter(file, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def train(args):
    from tqdm.auto import tqdm

    if args.device == "cuda" and not cuda.is_available():
        raise UsageError("--device cuda needs CuPy and a GPU, and none was found")
    try:
        os.makedirs(os.path.join(args.out, SAMPLES), exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot use {args.out!r} as a run directory: {error.strerror}") from None
    checkpoint, losses = os.path.join(args.out, CHECKPOINT), os.path.join(args.out, LOSSES)
    gan = None
    if os.path.exists(checkpoint):
        gan = _read_checkpoint(args.out, args.device, lambda state: DCGAN.from_state_dict(state, args.device))
    saved = gan.config if gan is not None else {}
    seed = _setting("seed", args.seed, saved.get("seed"), 0)
    batch_size = _setting("batch_size", args.batch_size, saved.get("batch_size"), DEFAULT_BATCH_SIZE)
    images, labels = mnist("train", pixel_range=(-1, 1))
    if batch_size > len(images):
        raise UsageError(f"--batch-size must be at most {len(images)} (the training digits), got {batch_size}")
    if gan is None:
        gan = DCGAN(batch_size=batch_size, seed=seed, device=args.device)
    elif os.path.exists(losses):
        _keep_rows_up_to(losses, gan.steps)
    classes = gan.config["classes"]  # a conditional run's grid: ten rows of 0 1 ... 9
    fixed = latent_codes(10 * classes if classes else 64, gan.config["latent_dim"], seed=(seed, 2))
    rows = []  # losses since the last checkpoint: written with it, so the two always agree
    bar = tqdm(total=args.steps, initial=gan.steps, desc="dcgan", unit="step")
    try:
        while gan.steps < args.steps:
            result = gan.step(*gan.train_batch(images, labels if classes else None))
            rows.append({"step": gan.steps, **result})
            bar.set_postfix(loss_d=f"{result['loss_d']:.3f}", loss_g=f"{result['loss_g']:.3f}", refresh=False)
            bar.update()
            if gan.steps % args.every == 0 or gan.steps == args.steps:
                _save_png(os.path.join(args.out, SAMPLES, f"step_{gan.steps:05d}.png"), gan.generate(fixed), classes)
                _write_rows(losses, rows)
                rows.clear()
                save(gan.state_dict(), checkpoint)
    except KeyboardInterrupt:  # the step in progress may be half done: keep the last checkpoint instead
        bar.close()
        print(f"interrupted; run the same command to resume from the last checkpoint ({checkpoint})", file=sys.stderr)
        return 130
    bar.close()
    print(f"step {gan.steps}: checkpoint {checkpoint}, samples in {os.path.join(args.out, SAMPLES)}")
    return 0


def _save_png(path, images, classes=0):
    """A grid of images; with balanced labels of `classes` digits, one column per digit."""
    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    plt.imsave(path, image_grid(images, ncols=classes or 8), cmap="gray", vmin=0, vmax=1)


def sample(args):
    extension = os.path.splitext(args.out)[1].lower()
    if extension not in (".png", ".npy"):
        raise UsageError(f"--out must end in .png or .npy, got {args.out!r}")
    if not os.path.isdir(args.run):
        problem = "is not a directory" if os.path.exists(args.run) else "does not exist"
        raise UsageError(f"run directory {args.run!r} {problem}")
    generator = _read_checkpoint(args.run, "cpu", ema_generator)
    classes = generator.classes
    if args.digit is not None and not classes:
        raise UsageError("--digit needs a run conditioned on the digit; this one was trained without labels")
    if args.digit is not None and args.digit >= classes:
        raise UsageError(f"--digit must be between 0 and {classes - 1}, got {args.digit}")
    labels = None if not classes else balanced_labels(args.n, classes) if args.digit is None else \
        np.full(args.n, args.digit)
    images = generate(generator, latent_codes(args.n, generator.latent_dim, seed=(args.seed, 3)), labels)
    try:
        if extension == ".npy":
            np.save(args.out, images.astype(np.float32))
        else:
            _save_png(args.out, images, classes if args.digit is None else 0)
    except OSError as error:
        raise UsageError(f"cannot write {args.out!r}: {error.strerror}") from None
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def main(argv=None):
    try:
        args = _parser().parse_args(argv)
        return {"train": train, "sample": sample}[args.command](args)
    except UsageError as error:
        print(f"python -m dcgan: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
