"""save / load: nested round trips with every dtype, rejection of foreign and damaged files, atomicity."""
import json
import os
import zipfile

import numpy as np
import pytest

from minigrad import serialization
from minigrad.backend import cuda_is_available
from minigrad.serialization import load, save
from minigrad.tensor import Tensor

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]


def values_of(dtype, rng):
    """A (2, 3) array of `dtype` with values that would not survive a detour through another dtype."""
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal((2, 3)).astype(dtype)
    high = 2 if dtype is np.bool_ else int(np.iinfo(dtype).max)
    wide = np.uint64 if dtype is np.uint64 else np.int64
    return rng.integers(0, high, (2, 3), dtype=wide, endpoint=True).astype(dtype)


def sample_checkpoint():
    rng = np.random.default_rng(0)
    arrays = {np.dtype(d).name: values_of(d, rng) for d in DTYPES}
    arrays["int64_extremes"] = np.array([2 ** 62 + 1, -2 ** 63, 2 ** 63 - 1], np.int64)
    arrays["empty"] = np.zeros((0, 4), np.float32)
    arrays["zero_dim"] = np.array(7, np.int64)
    generator = {"conv.weight": Tensor(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), requires_grad=True),
                 "bn.num_batches_tracked": Tensor(np.array(3, np.int64))}
    return {"generator": generator,
            "optimizer": {"state": {"conv.weight": {"exp_avg": np.full((4, 1, 3, 3), 0.5)}}, "lr": 2e-4,
                          "betas": {"b1": 0.5, "b2": 0.999}},
            "arrays": arrays, "step": 100, "done": False, "phase": 1 + 2j, "name": "dcgan-ü",
            "scale": np.float32(0.25), "count": np.int64(-3), "empty": {}}


def assert_same(saved, loaded):
    """Exact equality of nested checkpoints: keys in order, kinds, dtypes, shapes and values."""
    assert list(saved) == list(loaded)
    for key, value in saved.items():
        got = loaded[key]
        if isinstance(value, dict):
            assert_same(value, got)
        elif isinstance(value, Tensor):
            assert isinstance(got, Tensor) and got.requires_grad is False and got.device == "cpu"
            assert got.array.dtype == value.array.dtype and np.array_equal(got.array, value.array)
        elif isinstance(value, (np.ndarray, np.generic)):
            assert type(got) is type(value) and got.dtype == value.dtype and got.shape == value.shape
            assert np.array_equal(got, value)
        else:
            assert type(got) is type(value) and got == value


def test_nested_round_trip_keeps_every_dtype_and_kind(tmp_path):
    checkpoint = sample_checkpoint()
    save(checkpoint, tmp_path / "ckpt.npz")
    assert_same(checkpoint, load(tmp_path / "ckpt.npz"))


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    save(sample_checkpoint(), tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        assert archive["state/generator/conv.weight"].shape == (4, 1, 3, 3)
        assert archive["state/optimizer/state/conv.weight/exp_avg"].dtype == np.float64
        manifest = json.loads(str(archive[serialization.MANIFEST]))
    assert manifest["tree"]["generator"] == {"conv.weight": "tensor", "bn.num_batches_tracked": "tensor"}


def test_a_key_equal_to_the_manifest_name_does_not_collide(tmp_path):
    checkpoint = {serialization.MANIFEST: np.arange(3), "state": {"x": 1.5}}
    save(checkpoint, tmp_path / "c.npz")
    assert_same(checkpoint, load(tmp_path / "c.npz"))


@pytest.mark.parametrize("obj, error, message", [
    ([1, 2], TypeError, "expects a dict"),
    ({"a/b": 1}, ValueError, "without '/'"),
    ({3: 1}, ValueError, "must be str"),
    ({"a": {"b": [1, 2]}}, TypeError, "'a/b' of type list"),
    ({"a": np.array([None])}, TypeError, "dtype is object"),
    ({"a": 2 ** 70}, TypeError, "beyond int64"),
])
def test_unsavable_values_are_rejected_by_name(tmp_path, obj, error, message):
    with pytest.raises(error, match=message):
        save(obj, tmp_path / "c.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.6, 0.9, 0.999])
def test_truncated_file_is_reported(tmp_path, fraction):
    path = tmp_path / "c.npz"
    save(sample_checkpoint(), path)
    data = path.read_bytes()
    path.write_bytes(data[:max(4, int(len(data) * fraction))])
    open_files = len(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError, match="truncated or corrupt") as caught:
        load(path)
    # closed by load itself, not only by the garbage collector once the traceback (kept here) goes
    assert caught.traceback and len(os.listdir("/proc/self/fd")) == open_files


def test_flipped_byte_inside_an_array_is_reported(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"\x00" * 800) + 400] ^= 0xFF  # inside the zeros of "w": only the CRC can tell
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load(path)


def test_missing_entry_is_reported(tmp_path):
    path = tmp_path / "c.npz"
    manifest = {"format": serialization.MANIFEST, "version": 1, "tree": {"w": "array"}}
    np.savez(path, **{serialization.MANIFEST: np.array(json.dumps(manifest))})
    with pytest.raises(ValueError, match="truncated or corrupt.*'state/w' is missing"):
        load(path)


def zip_of_text(file):
    with zipfile.ZipFile(file, "w") as archive:
        archive.writestr("notes.txt", "hi")


@pytest.mark.parametrize("write", [
    lambda f: np.savez(f, weight=np.ones(3)),                          # someone else's npz
    lambda f: np.savez(f, weight=np.array([{}], dtype=object)),       # a pickled one
    lambda f: np.save(f, np.ones(3)),                                  # an .npy, not an archive
    lambda f: f.write(b"hello"),                                       # not numpy at all
    zip_of_text,                                                       # a zip of something else
    lambda f: np.savez(f, **{serialization.MANIFEST: np.array("{}")}),  # a manifest that is not ours
])
def test_foreign_file_is_not_a_checkpoint(tmp_path, write):
    path = tmp_path / "foreign.npz"
    with open(path, "wb") as file:
        write(file)
    with pytest.raises(ValueError, match="not a minigrad checkpoint"):
        load(path)


def test_newer_format_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "c.npz"
    manifest = {"format": serialization.MANIFEST, "version": 99, "tree": {}}
    np.savez(path, **{serialization.MANIFEST: np.array(json.dumps(manifest))})
    with pytest.raises(ValueError, match="version 99.*upgrade"):
        load(path)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"step": 1}, path)
    before = path.read_bytes()

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np, "savez", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save({"step": 2}, path)
    assert os.listdir(tmp_path) == ["c.npz"] and path.read_bytes() == before
    monkeypatch.undo()
    assert load(path) == {"step": 1}


def test_save_into_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        save({"step": 1}, tmp_path / "missing" / "c.npz")
    assert os.listdir(tmp_path) == []


def test_load_rejects_unknown_device(tmp_path):
    save({"step": 1}, tmp_path / "c.npz")
    with pytest.raises(ValueError, match="device"):
        load(tmp_path / "c.npz", device="tpu")


@pytest.mark.skipif(not cuda_is_available(), reason="needs CuPy and a GPU")
def test_cuda_arrays_are_saved_from_the_host_and_loaded_on_either_device(tmp_path):
    import cupy as cp
    host = np.arange(6, dtype=np.complex64).reshape(2, 3)
    save({"t": Tensor(cp.asarray(host)), "a": cp.asarray(host)}, tmp_path / "c.npz")
    on_cpu, on_gpu = load(tmp_path / "c.npz"), load(tmp_path / "c.npz", device="cuda")
    assert isinstance(on_cpu["a"], np.ndarray) and on_cpu["t"].device == "cpu"
    assert isinstance(on_gpu["a"], cp.ndarray) and on_gpu["t"].device == "cuda"
    assert np.array_equal(on_gpu["t"].array.get(), host) and np.array_equal(on_cpu["a"], host)
