"""Checkpoints: `save` / `load` nested state dicts as a pickle-free `.npz` archive.

Layout of the archive (open it with `np.load` to look inside):
  - "minigrad_checkpoint": a JSON manifest {"format", "version", "tree"} where "tree" mirrors the saved
    dict (any str keys, in order) and each leaf says what it was: "tensor", "array", "numpy_scalar" or
    "python" (int, float, complex, bool or str);
  - "state/0", "state/1", ...: one array per leaf, numbered in the order of a depth-first walk of "tree".
    Numbers, not keys, name the entries, so no key can collide with another or with the manifest.
    (Version 1 named them "state/<key>/<subkey>/...", which `load` still reads.)
"""
import contextlib
import itertools
import json
import numbers
import os
import re
import secrets
import stat
import zipfile
import zlib

import numpy as np

from .backend import normalize_device, to_device
from .tensor import Tensor

try:
    from lzma import LZMAError
except ImportError:  # Python built without lzma: zipfile then refuses such entries with a RuntimeError
    LZMAError = RuntimeError
_POSIX = os.name == "posix"  # Windows has neither flock nor an openable directory: it skips both
if _POSIX:
    import fcntl

MANIFEST = "minigrad_checkpoint"
FORMAT_VERSION = 2
_SEP = "/"
_ROOT = "state"
_PYTHON_SCALARS = (numbers.Number, str)  # bool is a Number too
# How `load` turns each kind of leaf back into what was saved.
_RESTORE = {"tensor": lambda array, device: Tensor(to_device(array, device)),
            "array": to_device,
            "numpy_scalar": lambda array, device: array[()],
            "python": lambda array, device: array.item()}
# What zipfile, zlib, lzma, bz2 and numpy raise on damaged bytes (RuntimeError: a flag bit now says
# "encrypted"; NotImplementedError: an unknown method; MemoryError: a header claims a huge shape).
_DAMAGE = (zipfile.BadZipFile, zlib.error, LZMAError, EOFError, OSError, ValueError, RuntimeError,
           MemoryError)


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file that replaces `path` only once it is completely written: all or nothing.

    The temporary file sits in the same directory, so that the final `os.replace` is one atomic rename.
    A symlink is followed (the link stays, the file it names is replaced); the target's permissions stay.
    """
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            if _POSIX:  # held until closed, or until the process dies: this temporary is not stale
                fcntl.flock(file, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):  # before any data: a 0o600 file stays private
                os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        if _POSIX:  # makes the rename itself durable
            _fsync_directory(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _remove_stale_temporaries(directory, name):
    """Delete the temporaries of `name` that killed saves left: named as ours, and locked by no one.

    (Another save of the same file, caught in the microseconds between its open and lock, or its close
    and rename, would then fail cleanly: a race that concurrent saves of one file lose anyway.)
    """
    ours = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{8}}\.tmp")
    for entry in os.scandir(directory) if _POSIX else ():
        if ours.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):  # a FIFO would block open
            # BlockingIOError: a live save holds it; PermissionError: another user's; gone: fine too
            with contextlib.suppress(OSError), open(entry.path, "rb") as stale:
                fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.remove(entry.path)


def _fsync_directory(directory):
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save(obj, path):
    """Write a (possibly nested) dict of str -> Tensor / array / number / str / dict to `path`.

    CuPy arrays are copied to the host; `requires_grad` is not saved (a checkpoint holds values).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"save expects a dict (e.g. model.state_dict()), got {type(obj).__name__}")
    arrays = {}
    manifest = {"format": MANIFEST, "version": FORMAT_VERSION, "tree": _flatten(obj, (), arrays)}
    arrays[MANIFEST] = np.array(json.dumps(manifest))  # ASCII: JSON escapes NUL, surrogates, ...
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def _flatten(node, prefix, arrays):
    """Fill `arrays` with one host array per leaf of `node`; return the manifest tree of leaf kinds."""
    tree = {}
    for key, value in node.items():
        path = prefix + (key,)
        if not isinstance(key, str):  # JSON would turn 1 into "1" and mix it up with the key "1"
            where = f" inside {_SEP.join(prefix)!r}" if prefix else ""
            raise TypeError(f"checkpoint keys must be str, got {key!r} of type {type(key).__name__}{where}")
        if isinstance(value, dict):
            tree[key] = _flatten(value, path, arrays)
            continue
        if isinstance(value, Tensor):
            kind, array = "tensor", value.array
        elif isinstance(value, np.generic):
            kind, array = "numpy_scalar", np.asarray(value)
        elif isinstance(value, _PYTHON_SCALARS):
            kind, array = "python", np.asarray(value)
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            kind, array = "array", value
        else:
            raise TypeError(f"cannot save {_SEP.join(path)!r} of type {type(value).__name__}; "
                            "expected a Tensor, an array, a number, a str or a dict")
        array = to_device(array, "cpu")
        if array.dtype.hasobject:  # np.savez would pickle it, and load refuses pickles
            raise TypeError(f"cannot save {_SEP.join(path)!r}: its dtype is object (Python objects, or ints "
                            "beyond int64), which only pickle could store")
        arrays[f"{_ROOT}/{len(arrays)}"] = array  # numbered in walk order, as `_restorer` counts them
        tree[key] = kind
    return tree


class _Unloadable(Exception):
    """Why a file cannot be loaded; `load` raises it as the ValueError that names the file."""


def load(path, device="cpu", max_bytes=None):
    """Read a checkpoint written by `save`: the same nested dict, with Tensors and arrays on `device`.

    Tensors come back as Tensors (requires_grad=False), arrays as arrays, numbers as numbers;
    `Module.load_state_dict` accepts either Tensors or arrays.

    A file that is not a checkpoint, or is damaged or crafted, raises ValueError naming the file and the
    cause (OSError only when it cannot be opened), and so does one whose entries would expand to more
    than `max_bytes`. By default that is the file's own size: `save` stores its arrays uncompressed,
    so only an archive compressed elsewhere (or a zip bomb) expands further; pass a larger bound to trust one.
    """
    path, device = os.fspath(path), normalize_device(device)
    with open(path, "rb") as file:  # ours to close, also when np.load fails on a damaged file
        try:
            if file.read(4) != b"PK\x03\x04":
                raise _Unloadable("is not a minigrad checkpoint (not an .npz archive)")
            file.seek(0)
            limit = os.fstat(file.fileno()).st_size if max_bytes is None else max_bytes
            with np.load(file, allow_pickle=False) as archive:
                size = sum(info.file_size for info in archive.zip.infolist())  # zipfile reads no more
                if size > limit:
                    raise _Unloadable(f"would expand to {size} bytes, more than max_bytes={limit} (by default "
                                      "the file's size); pass a larger max_bytes to load it")
                manifest = _read_manifest(archive)
                return _unflatten(manifest["tree"], (), _restorer(archive, manifest["version"], device))
        except _Unloadable as error:
            raise ValueError(f"{path!r} {error}") from None
        except _DAMAGE as error:
            raise ValueError(f"{path!r} is a truncated or corrupt checkpoint ({type(error).__name__}: "
                             f"{error})") from error


def _corrupt(cause):
    return _Unloadable(f"is a truncated or corrupt checkpoint ({cause})")


def _entry(archive, name):
    """One array of the archive, or a clear error when it is missing or not an array."""
    if name not in archive.files:
        raise _corrupt(f"entry {name!r} is missing")
    array = archive[name]
    if not isinstance(array, np.ndarray):  # np.load hands back the raw bytes of a non-.npy entry
        raise _corrupt(f"entry {name!r} is not an array")
    return array


def _read_manifest(archive):
    """The manifest dict, after checking that this archive is a checkpoint this version can read."""
    text, manifest = archive[MANIFEST] if MANIFEST in archive.files else None, None
    if isinstance(text, np.ndarray) and text.shape == () and text.dtype.kind == "U":
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: reported below as not ours
            manifest = json.loads(text.item())
    if not (isinstance(manifest, dict) and manifest.get("format") == MANIFEST
            and type(manifest.get("version")) is int and isinstance(manifest.get("tree"), dict)):
        raise _Unloadable(f"is not a minigrad checkpoint (no valid {MANIFEST!r} manifest among "
                          f"its entries {archive.files[:5]})")
    if manifest["version"] > FORMAT_VERSION:
        raise _Unloadable(f"has checkpoint format version {manifest['version']}; this minigrad "
                          f"reads up to version {FORMAT_VERSION}: upgrade minigrad")
    return manifest


def _restorer(archive, version, device):
    """`restore(kind, path)`: the leaf at `path`, from its entry (see the layout above), on `device`."""
    counter, used = itertools.count(), set()

    def restore(kind, path):
        name = _SEP.join((_ROOT,) + path) if version == 1 else f"{_ROOT}/{next(counter)}"
        if name in used:  # a crafted version 1 manifest ("a/b" beside "a": {"b"}) would read it twice
            raise _corrupt(f"entry {name!r} is named twice")
        used.add(name)
        return _RESTORE[kind](_entry(archive, name), device)
    return restore


def _unflatten(tree, prefix, restore):
    """Rebuild the nested dict that `_flatten` described in `tree`; `restore(kind, path)` makes a leaf."""
    result = {}
    for key, kind in tree.items():
        if isinstance(kind, dict):
            result[key] = _unflatten(kind, prefix + (key,), restore)
        elif isinstance(kind, str) and kind in _RESTORE:
            result[key] = restore(kind, prefix + (key,))
        else:
            raise _corrupt(f"the manifest gives {_SEP.join(prefix + (key,))!r} the unknown kind {kind!r}")
    return result
