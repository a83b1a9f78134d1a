"""`python -m dcgan`: train -> resume -> sample, end to end in subprocesses, and its errors."""
import csv
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest

import minigrad
from dcgan.__main__ import main

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dcgan(*args):
    """Run the CLI; returns (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": REPOSITORY}
    done = subprocess.run([sys.executable, "-m", "dcgan", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPOSITORY, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_train_resume_sample(tmp_path):
    run = tmp_path / "run"
    code, out, err = dcgan("train", "--out", run, "--steps", 2, "--batch-size", 8, "--every", 1)
    assert code == 0, err
    assert "loss_d=" in err  # the progress bar shows the losses
    assert minigrad.load(run / "checkpoint.npz")["steps"] == 2
    code, _, err = dcgan("train", "--out", run, "--steps", 3, "--every", 5)  # resumes, keeps batch size 8
    assert code == 0, err
    state = minigrad.load(run / "checkpoint.npz")
    assert state["steps"] == 3 and state["config"]["batch_size"] == 8
    with open(run / "losses.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["step"]) for row in rows] == [1, 2, 3]
    assert all(np.isfinite(float(row["loss_d"])) for row in rows)
    assert sorted(os.listdir(run / "samples")) == ["step_00001.png", "step_00002.png", "step_00003.png"]
    code, _, err = dcgan("train", "--out", tmp_path / "straight", "--steps", 3, "--batch-size", 8)
    assert code == 0, err
    straight = minigrad.load(tmp_path / "straight" / "checkpoint.npz")
    for key, value in straight["generator_ema"].items():  # stopping and resuming changed nothing
        np.testing.assert_array_equal(state["generator_ema"][key].numpy(), value.numpy(), err_msg=key)

    code, _, err = dcgan("sample", "--run", run, "--n", 5, "--out", tmp_path / "digits.npy")
    assert code == 0, err
    digits = np.load(tmp_path / "digits.npy")
    assert digits.shape == (5, 1, 28, 28) and digits.dtype == np.float32
    assert -1 <= digits.min() and digits.max() <= 1 and digits.std() > 0
    code, _, err = dcgan("sample", "--run", run, "--n", 10, "--out", tmp_path / "digits.png")
    assert code == 0, err
    grid = plt.imread(tmp_path / "digits.png")
    assert grid.shape[:2] == (1 * 29 + 1, 10 * 29 + 1)  # digits 0 to 9, a column each, 1-pixel gaps
    code, _, err = dcgan("sample", "--run", run, "--n", 10, "--digit", 7, "--out", tmp_path / "sevens.png")
    assert code == 0, err
    assert plt.imread(tmp_path / "sevens.png").shape[:2] == (2 * 29 + 1, 8 * 29 + 1)  # two rows of eight


def test_sample_digit_asks_the_generator_for_that_digit(tmp_path):
    """--digit D feeds label D with the same codes: the images are generate(..., labels=[D] * n)."""
    from dcgan import DCGAN, generate, latent_codes

    gan = DCGAN(width=4, seed=3)
    images, labels = minigrad.data.mnist("train", pixel_range=(-1, 1))
    for _ in range(3):
        gan.step(*gan.train_batch(images, labels))
    os.makedirs(tmp_path / "run")
    minigrad.save(gan.state_dict(), tmp_path / "run" / "checkpoint.npz")
    drawn = {}
    for digit in (3, 8):
        assert main(["sample", "--run", str(tmp_path / "run"), "--n", "4", "--digit", str(digit),
                     "--out", str(tmp_path / f"{digit}.npy")]) == 0
        drawn[digit] = np.load(tmp_path / f"{digit}.npy")
        expected = generate(gan.generator_ema, latent_codes(4, 64, seed=(0, 3)), np.full(4, digit))
        np.testing.assert_allclose(drawn[digit], expected, atol=1e-6)
    assert np.abs(drawn[3] - drawn[8]).max() > 1e-3  # the label changes the picture
    assert main(["sample", "--run", str(tmp_path / "run"), "--digit", "10", "--out", str(tmp_path / "x.npy")]) == 2


def test_unconditional_and_old_checkpoints_sample_without_labels(tmp_path, capsys):
    """A run trained without labels (classes=0), or saved before conditioning existed (no "classes" in its
    config), samples as before; --digit is refused in one line."""
    from dcgan import DCGAN

    state = DCGAN(width=4, classes=0).state_dict()
    del state["config"]["classes"]
    os.makedirs(tmp_path / "run")
    minigrad.save(state, tmp_path / "run" / "checkpoint.npz")
    assert main(["sample", "--run", str(tmp_path / "run"), "--n", "3", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (3, 1, 28, 28)
    assert main(["sample", "--run", str(tmp_path / "run"), "--digit", "1", "--out", str(tmp_path / "x.npy")]) == 2
    assert "--digit needs a run conditioned on the digit" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["train", "--out", "{tmp}/run", "--steps", "0"], "--steps: must be a positive integer, got '0'"),
    (["train", "--out", "{tmp}/run", "--batch-size", "x"], "--batch-size: must be a positive integer, got 'x'"),
    (["train", "--out", "{tmp}/run", "--batch-size", "5000"], "--batch-size must be at most 4000"),
    (["train", "--out", "{tmp}/run", "--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
    (["train", "--out", "{tmp}/file.txt"], "cannot use"),
    (["sample", "--run", "{tmp}/missing", "--out", "{tmp}/x.png"], "run directory"),
    (["sample", "--run", "{tmp}/file.txt", "--out", "{tmp}/x.npy"], "is not a directory"),
    (["sample", "--run", "{tmp}", "--out", "{tmp}/x.png"], "no checkpoint in"),
    (["sample", "--run", "{tmp}", "--out", "{tmp}/x.jpg"], "--out must end in .png or .npy"),
    (["sample", "--run", "{tmp}", "--out", "{tmp}/x.npy", "--n", "-3"], "--n: must be a positive integer"),
    (["sample", "--run", "{tmp}", "--out", "{tmp}/x.npy", "--digit", "x"], "--digit: must be a non-negative"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required: command"),
])
def test_bad_arguments_give_one_line_errors(tmp_path, capsys, args, message):
    """In-process for speed: an exception escaping main() would fail the test as a traceback would."""
    (tmp_path / "file.txt").write_text("not a run")
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m dcgan: error: "), err
    assert message in err


@pytest.mark.parametrize("content, message", [(b"PK\x03\x04 truncated", "corrupt"), (None, "not of a DCGAN run")])
def test_unreadable_checkpoints_are_reported_by_the_process(tmp_path, content, message):
    if content is None:
        minigrad.save({"weights": np.zeros(3)}, tmp_path / "checkpoint.npz")
    else:
        (tmp_path / "checkpoint.npz").write_bytes(content)
    code, _, err = dcgan("sample", "--run", tmp_path, "--out", tmp_path / "x.npy")
    assert code == 2 and err.count("\n") == 1 and "cannot read" in err and message in err, err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """A real one-step run's checkpoint (trained in-process: under a second)."""
    run = tmp_path_factory.mktemp("trained")
    assert main(["train", "--out", str(run), "--steps", "1", "--batch-size", "8"]) == 0
    return (run / "checkpoint.npz").read_bytes()


def one_line_error(capsys, argv):
    """main(argv) fails with exit code 2 and one line on stderr (in-process: a traceback would fail the test)."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m dcgan: error: "), err
    return err


def unsupported_compression(data):
    """The first entry's compression method set to 99: zipfile raised NotImplementedError, once a traceback."""
    data = bytearray(data)
    at = data.index(b"PK\x01\x02") + 10  # in the central directory, which zipfile believes
    data[at:at + 2] = (99).to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize("command", ["train", "sample"])
@pytest.mark.parametrize("damage, message", [
    (unsupported_compression, "checkpoint.npz' is a truncated or corrupt checkpoint (NotImplementedError"),
    ("directory", "cannot read"),
    ({"config": {"latent_dim": 8}, "steps": 1, "generator_ema": {}}, "damaged (KeyError: "),
    ({"config": {"latent_dim": 8, "width": 4, "resize_conv": False, "betas": np.array([0.5, 0.9])}, "steps": 1,
      "generator_ema": {}, "generator": {}}, "damaged ("),
])
def test_damaged_checkpoints_give_one_line_errors(tmp_path, capsys, trained_checkpoint, command, damage, message):
    path = tmp_path / "checkpoint.npz"
    if callable(damage):
        path.write_bytes(damage(trained_checkpoint))
    elif damage == "directory":
        path.mkdir()
    else:
        minigrad.save(damage, path)
    argv = {"train": ["train", "--out", tmp_path, "--steps", 1],
            "sample": ["sample", "--run", tmp_path, "--out", tmp_path / "x.npy"]}[command]
    err = one_line_error(capsys, argv)
    assert f"cannot read {path}" in err and message in err, err


HEADER = "step,loss_d,loss_g,d_real,d_fake\n"


@pytest.mark.parametrize("content, message", [
    ("a,b\n1,2\n", "its header is 'a,b', not 'step,loss_d,loss_g,d_real,d_fake'"),
    (HEADER + "x,1,2,3,4\n", "row 1 is not 5 values starting with a step: ['x', '1', '2', '3', '4']"),
    (HEADER + "1,0.5\n", "row 1 is not 5 values"),
    (HEADER + "1,2,3,4,5,6\n", "row 1 is not 5 values"),
    (HEADER + "-1,2,3,4,5\n", "row 1 is not 5 values"),
    (b"\xff\xfe binary", "codec can't decode"),
    (b"step\x00,loss_d\n", "cannot read"),
    (None, "Is a directory"),
])
def test_malformed_losses_give_one_line_errors(tmp_path, capsys, trained_checkpoint, content, message):
    (tmp_path / "checkpoint.npz").write_bytes(trained_checkpoint)
    losses = tmp_path / "losses.csv"
    if content is None:
        losses.mkdir()
    else:
        losses.write_bytes(content if isinstance(content, bytes) else content.encode())
    err = one_line_error(capsys, ["train", "--out", tmp_path, "--steps", 1])
    assert f"cannot read {losses}: " in err and message in err, err


def test_rows_after_the_checkpoint_go_even_when_cut_short(tmp_path, trained_checkpoint):
    """A kill while logging leaves a partial last row; it is after the checkpoint, so resuming drops it."""
    (tmp_path / "checkpoint.npz").write_bytes(trained_checkpoint)
    losses = tmp_path / "losses.csv"
    losses.write_text(HEADER + "1,0.5,0.6,0.7,0.8\n\n2,0.5,0.6,0.7,0.8\n3,0.")
    assert main(["train", "--out", str(tmp_path), "--steps", "1"]) == 0
    assert losses.read_text() == HEADER + "1,0.5,0.6,0.7,0.8\n"


def test_trimming_the_log_is_atomic(tmp_path, monkeypatch):
    """Resuming rewrites losses.csv without the rows after the checkpoint; a failure midway loses nothing."""
    from dcgan import __main__ as cli
    log = tmp_path / "losses.csv"
    log.write_text(",".join(cli.COLUMNS) + "\n" + "".join(f"{step},1,2,3,4\n" for step in (1, 2, 3)))
    before = log.read_text()

    def broken(self, rows):
        raise OSError("disk full")
    monkeypatch.setattr(csv.DictWriter, "writerows", broken)
    with pytest.raises(OSError, match="disk full"):
        cli._keep_rows_up_to(str(log), 2)
    assert log.read_text() == before  # the old code truncated the file first
    monkeypatch.undo()
    cli._keep_rows_up_to(str(log), 2)
    assert [row["step"] for row in csv.DictReader(log.open())] == ["1", "2"]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
