"""save / load: nested round trips with every dtype and key, rejection of foreign, damaged and crafted
files with one error, atomic writes that keep the target's mode and links and clean up after a kill."""
import fcntl
import io
import json
import os
import signal
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from minigrad import serialization
from minigrad.backend import cuda_is_available
from minigrad.serialization import load, save
from minigrad.tensor import Tensor
from tests.helpers import random_array

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]


def values_of(dtype, rng):
    """A (2, 3) array of `dtype` with values that would not survive a detour through another dtype."""
    if np.issubdtype(dtype, np.inexact):
        return random_array((2, 3), dtype, rng)
    high = 2 if dtype is np.bool_ else int(np.iinfo(dtype).max)
    wide = np.uint64 if dtype is np.uint64 else np.int64
    return rng.integers(0, high, (2, 3), dtype=wide, endpoint=True).astype(dtype)


def sample_checkpoint():
    rng = np.random.default_rng(0)
    arrays = {np.dtype(d).name: values_of(d, rng) for d in DTYPES}
    arrays["int64_extremes"] = np.array([2 ** 62 + 1, -2 ** 63, 2 ** 63 - 1], np.int64)
    arrays["empty"] = np.zeros((0, 4), np.float32)
    arrays["zero_dim"] = np.array(7, np.int64)
    generator = {"conv.weight": Tensor(random_array((4, 1, 3, 3), "float32", rng), requires_grad=True),
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
        assert archive["state/0"].shape == (4, 1, 3, 3)  # leaves numbered depth-first
        assert archive["state/2"].dtype == np.float64  # optimizer/state/conv.weight/exp_avg
        manifest = json.loads(str(archive[serialization.MANIFEST]))
    assert manifest["tree"]["generator"] == {"conv.weight": "tensor", "bn.num_batches_tracked": "tensor"}


def test_any_str_key_round_trips(tmp_path):
    """Keys that would collide or break as archive names: entries are numbered, keys live in JSON."""
    keys = ["a", "a.npy", "a.npy.npy", "w", "w.npy", "nul\0byte", "\0", "/", "a/b", "..", "../x", "", " ",
            "dcgan-ü", "日本", "\udc80 lone surrogate", "state", "state/0", serialization.MANIFEST, "%2F", "\\"]
    checkpoint = {key: np.full(2, i) for i, key in enumerate(keys)}
    checkpoint["w.npy"] = {"inner": 1.5, "": "empty"}  # "w" and "w.npy" of different kinds
    checkpoint["/"] = {"/": {"..": Tensor(np.ones(3, np.float32))}}
    save(checkpoint, tmp_path / "c.npz")
    assert_same(checkpoint, load(tmp_path / "c.npz"))


def write_version_1(path, tree, arrays):
    """A checkpoint as minigrad wrote it before numbering entries: named "state/<key>/<subkey>"."""
    manifest = {"format": serialization.MANIFEST, "version": 1, "tree": tree}
    np.savez(path, **{serialization.MANIFEST: np.array(json.dumps(manifest)), **arrays})


def test_version_1_checkpoints_still_load(tmp_path):
    tree = {"generator": {"conv.weight": "tensor"}, "steps": "python", "betas": "array"}
    write_version_1(tmp_path / "c.npz", tree, {"state/generator/conv.weight": np.ones((2, 2), np.float32),
                                               "state/steps": np.array(7), "state/betas": np.array([0.5, 0.9])})
    loaded = load(tmp_path / "c.npz")
    assert loaded["steps"] == 7 and loaded["generator"]["conv.weight"].shape == (2, 2)
    assert np.array_equal(loaded["betas"], [0.5, 0.9])


def test_a_key_equal_to_the_manifest_name_does_not_collide(tmp_path):
    checkpoint = {serialization.MANIFEST: np.arange(3), "state": {"x": 1.5}}
    save(checkpoint, tmp_path / "c.npz")
    assert_same(checkpoint, load(tmp_path / "c.npz"))


@pytest.mark.parametrize("obj, error, message", [
    ([1, 2], TypeError, "expects a dict"),
    ({3: 1}, TypeError, "keys must be str, got 3 of type int"),
    ({"a": {("b",): 1}}, TypeError, "got \\('b',\\) of type tuple inside 'a'"),
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


def test_every_single_byte_corruption_is_reported_or_harmless(tmp_path):
    """Flip bytes all over a real checkpoint (every 37th, two ways): the one documented error, or the same data."""
    checkpoint, path = sample_checkpoint(), tmp_path / "c.npz"
    save(checkpoint, path)
    data, reported = path.read_bytes(), 0
    for at in range(0, len(data), 37):
        for flip in (0x01, 0xFF):
            damaged = bytearray(data)
            damaged[at] ^= flip
            path.write_bytes(bytes(damaged))
            try:
                loaded = load(path)
            except ValueError as error:
                assert str(error).startswith(repr(str(path))), error
                reported += 1
                continue
            assert_same(checkpoint, loaded)  # a byte no one reads, e.g. a timestamp
    assert reported > len(data) // 37  # most flips are caught: the test is not vacuous


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array))
    return buffer.getvalue()


def npy_claiming(shape, descr="<f8"):
    """A .npy header that declares `shape` but is followed by no data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def manifest(tree, version=serialization.FORMAT_VERSION, **fields):
    return npy(np.array(json.dumps({"format": serialization.MANIFEST, "version": version, "tree": tree, **fields})))


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    """An archive of raw entries (name -> bytes), as anyone, not only `save`, could write it."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


M = serialization.MANIFEST + ".npy"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("entries, message", [
    ({M: manifest({"w": 5}), "state/0.npy": npy(1)}, "unknown kind 5"),
    ({M: manifest({"w": ["tensor", 0]}), "state/0.npy": npy(1)}, r"unknown kind \['tensor', 0\]"),
    ({M: manifest({"w": "pickle"}), "state/0.npy": npy(1)}, "unknown kind 'pickle'"),
    ({M: manifest({"w": "array"})}, "'state/0' is missing"),
    ({M: manifest({"w": "array"}), "state/0": b"\x00 not an npy"}, "'state/0' is not an array"),
    ({M: manifest({"w": "python"}), "state/0.npy": npy([1, 2])}, "corrupt.*size 1"),
    ({M: manifest({"w": "array"}), "state/0.npy": npy_claiming((10 ** 15,))}, "corrupt"),
    ({M: manifest({"w": "array"}), "state/0.npy": npy_claiming((10 ** 9,))}, "corrupt"),
    ({M: manifest({"w": "array"}), "state/0.npy": npy_claiming((2,), descr="|O")}, "corrupt.*pickle"),
    ({M: manifest({"w": "array"}), "state/0.npy": npy_claiming((2,), descr="zz")}, "corrupt"),
    ({M: manifest({"a/b": "array", "a": {"b": "array"}}, version=1), "state/a/b.npy": npy(1)}, "named twice"),
    ({M: manifest([])}, "not a minigrad checkpoint"),
    ({M: manifest({}, version="2")}, "not a minigrad checkpoint"),
    ({M: manifest({}, version=True)}, "not a minigrad checkpoint"),
    ({M: manifest({}, version=10 ** 30)}, "upgrade"),
    ({M: npy(np.array([json.dumps({"format": serialization.MANIFEST, "version": 2, "tree": {}})]))},
     "not a minigrad checkpoint"),  # an array of manifests
    ({M: npy(np.arange(3))}, "not a minigrad checkpoint"),
    ({M: b"raw bytes"}, "not a minigrad checkpoint"),
    ({M: npy_claiming((), descr="|O")}, "corrupt.*pickle"),
    ({M: npy(np.array(DEEP))}, "not a minigrad checkpoint"),
])
def test_crafted_archive_gets_the_one_documented_error(tmp_path, entries, message):
    path = tmp_path / "c.npz"
    write_zip(path, entries)
    with pytest.raises(ValueError, match=message) as caught:
        load(path)
    assert str(caught.value).startswith(repr(str(path))) and "\n" not in str(caught.value)


def test_a_deep_tree_loads_until_the_recursion_limit_then_gets_the_documented_error(tmp_path):
    path = tmp_path / "c.npz"
    for depth in (400, 2 * sys.getrecursionlimit()):
        tree = '{"a": ' * depth + "{}" + "}" * depth
        text = f'{{"format": "{serialization.MANIFEST}", "version": 2, "tree": {tree}}}'
        write_zip(path, {M: npy(np.array(text))})
        if depth == 400:
            assert list(load(path)) == ["a"]
    with pytest.raises(ValueError, match="not a minigrad checkpoint|corrupt"):
        load(path)


def test_archive_expanding_beyond_max_bytes_is_refused_before_it_is_read(tmp_path):
    """A 16 kB zip of 16 MiB of zeros; `save` never compresses, so by default nothing expands past the file."""
    path, zeros = tmp_path / "bomb.npz", np.zeros(2 ** 21)
    write_zip(path, {M: manifest({"w": "array"}), "state/0.npy": npy(zeros)}, zipfile.ZIP_DEFLATED)
    size = path.stat().st_size
    assert size < 100_000
    with pytest.raises(ValueError, match=rf"bomb.npz' would expand to \d+ bytes, more than max_bytes={size}"):
        load(path)
    with pytest.raises(ValueError, match="max_bytes=1000000"):
        load(path, max_bytes=10 ** 6)
    assert np.array_equal(load(path, max_bytes=20 * 2 ** 20)["w"], zeros)  # trusted: allowed explicitly
    data = bytearray(path.read_bytes())  # a central directory that lies: 4 GB, in a 16 kB file
    at = data.index(b"PK\x01\x02") + 24
    data[at:at + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"would expand to \d{10} bytes"):
        load(path, max_bytes=20 * 2 ** 20)


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


KILLED_SAVE = """
import os, signal, sys
from minigrad.serialization import atomic_write
with atomic_write(sys.argv[1]) as file:
    file.write(b"PK half a checkpoint")
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "c.npz"
    env = {**os.environ, "PYTHONPATH": REPOSITORY}
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    [stale] = os.listdir(tmp_path)
    assert stale.startswith(".c.npz.") and stale.endswith(".tmp")
    not_ours = [".c.npz.tmp", ".c.npz.0123abcd.tmp.bak", ".d.npz.0123abcd.tmp", "c.npz.0123abcd.tmp",
                ".c.npz.0123ABCD.tmp"]
    for name in not_ours:
        (tmp_path / name).write_bytes(b"keep")
    (tmp_path / ".c.npz.0badf00d.tmp").symlink_to(".c.npz.tmp")  # named as ours, but not a file we write
    with open(tmp_path / ".c.npz.feedbeef.tmp", "wb") as live:  # another save of c.npz, still writing
        fcntl.flock(live, fcntl.LOCK_EX)
        save({"step": 1}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["c.npz", ".c.npz.feedbeef.tmp", ".c.npz.0badf00d.tmp", *not_ours])
    assert load(path) == {"step": 1}


def test_a_private_file_stays_private_while_and_after_it_is_rewritten(tmp_path, monkeypatch):
    path, modes, savez = tmp_path / "c.npz", [], np.savez
    save({"step": 1}, path)
    os.chmod(path, 0o600)

    def observing(file, **arrays):
        modes.append(stat.S_IMODE(os.fstat(file.fileno()).st_mode))
        savez(file, **arrays)

    monkeypatch.setattr(serialization.np, "savez", observing)
    save({"step": 2}, path)
    assert modes == [0o600] and stat.S_IMODE(path.stat().st_mode) == 0o600 and load(path) == {"step": 2}


def test_saving_through_a_symlink_replaces_the_file_it_names(tmp_path):
    (tmp_path / "runs").mkdir()
    link, dangling = tmp_path / "latest.npz", tmp_path / "next.npz"
    save({"step": 1}, tmp_path / "runs" / "c.npz")
    link.symlink_to("runs/c.npz")  # relative, as `ln -s` makes them
    dangling.symlink_to("runs/new.npz")
    save({"step": 2}, link)
    save({"step": 3}, dangling)
    assert link.is_symlink() and os.readlink(link) == "runs/c.npz" and load(tmp_path / "runs" / "c.npz") == {"step": 2}
    assert dangling.is_symlink() and load(tmp_path / "runs" / "new.npz") == {"step": 3}
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "next.npz", "runs"]
    assert sorted(os.listdir(tmp_path / "runs")) == ["c.npz", "new.npz"]


def test_the_directory_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    path, synced, fsync = tmp_path / "c.npz", [], os.fsync

    def observing(descriptor):
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            synced.append((os.fstat(descriptor).st_ino, path.exists()))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", observing)
    save({"step": 1}, path)
    assert synced == [(tmp_path.stat().st_ino, True)]  # once, the file's directory, with the file in it


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
