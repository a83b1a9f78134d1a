"""Checkpoints: `save` / `load` nested state dicts as a pickle-free `.npz` archive.

Layout of the archive (open it with `np.load` to look inside):
  - "minigrad_checkpoint": a JSON manifest {"format", "version", "tree"} where "tree" mirrors the saved
    dict and each leaf says what it was: "tensor", "array", "numpy_scalar" or "python" (int, float,
    complex, bool or str);
  - "state/<key>/<subkey>/...": one array per leaf. Keys may not contain "/", so these names never
    collide with each other, and none of them can be the manifest's name.
"""
import contextlib
import json
import numbers
import os
import secrets
import zipfile
import zlib

import numpy as np

from .backend import normalize_device, to_device
from .tensor import Tensor

MANIFEST = "minigrad_checkpoint"
FORMAT_VERSION = 1
_SEP = "/"
_ROOT = "state"
_PYTHON_SCALARS = (numbers.Number, str)  # bool is a Number too
# How `load` turns each kind of leaf back into what was saved.
_RESTORE = {"tensor": lambda array, device: Tensor(to_device(array, device)),
            "array": to_device,
            "numpy_scalar": lambda array, device: array[()],
            "python": lambda array, device: array.item()}


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file that replaces `path` only once it is completely written: all or nothing.

    The temporary file sits in the same directory, so that the final `os.replace` is one atomic rename.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def save(obj, path):
    """Write a (possibly nested) dict of name -> Tensor / array / number / str / dict to `path`.

    CuPy arrays are copied to the host; `requires_grad` is not saved (a checkpoint holds values).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"save expects a dict (e.g. model.state_dict()), got {type(obj).__name__}")
    arrays = {}
    manifest = {"format": MANIFEST, "version": FORMAT_VERSION, "tree": _flatten(obj, (), arrays)}
    arrays[MANIFEST] = np.array(json.dumps(manifest))
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def _flatten(node, prefix, arrays):
    """Fill `arrays` with one host array per leaf of `node`; return the manifest tree of leaf kinds."""
    tree = {}
    for key, value in node.items():
        if not isinstance(key, str) or _SEP in key:
            where = f" inside {_SEP.join(prefix)!r}" if prefix else ""
            raise ValueError(f"checkpoint keys must be str without {_SEP!r}, got {key!r}{where}")
        path = prefix + (key,)
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
        arrays[_SEP.join((_ROOT,) + path)] = array  # the root keeps data apart from the manifest
        tree[key] = kind
    return tree


def load(path, device="cpu"):
    """Read a checkpoint written by `save`: the same nested dict, with Tensors and arrays on `device`.

    Tensors come back as Tensors (requires_grad=False), arrays as arrays, numbers as numbers;
    `Module.load_state_dict` accepts either Tensors or arrays.
    """
    path, device = os.fspath(path), normalize_device(device)
    with open(path, "rb") as file:  # ours to close, also when np.load fails on a damaged file
        if file.read(4) != b"PK\x03\x04":
            raise ValueError(f"{path!r} is not a minigrad checkpoint (not an .npz archive)")
        file.seek(0)
        with _reporting_corruption(path):
            archive = np.load(file, allow_pickle=False)
        with archive:
            return _unflatten(_read_manifest(archive, path)["tree"], (_ROOT,), archive, device, path)


@contextlib.contextmanager
def _reporting_corruption(path):
    """Turn the many ways a damaged zip fails into one clear error."""
    try:
        yield
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error) as error:
        raise ValueError(f"{path!r} is a truncated or corrupt checkpoint ({error})") from error


def _entry(archive, name, path):
    """One array of the archive, or a clear error when it is missing or damaged."""
    if name not in archive.files:
        raise ValueError(f"{path!r} is a truncated or corrupt checkpoint (entry {name!r} is missing)")
    with _reporting_corruption(path):
        return archive[name]


def _read_manifest(archive, path):
    """The manifest dict, after checking that this archive is a checkpoint this version can read."""
    text, manifest = str(_entry(archive, MANIFEST, path)) if MANIFEST in archive.files else "", None
    with contextlib.suppress(ValueError):  # not JSON: reported below as not a checkpoint
        manifest = json.loads(text)
    if not (isinstance(manifest, dict) and manifest.get("format") == MANIFEST
            and isinstance(manifest.get("version"), int) and isinstance(manifest.get("tree"), dict)):
        raise ValueError(f"{path!r} is not a minigrad checkpoint (no valid {MANIFEST!r} manifest among "
                         f"its entries {archive.files[:5]})")
    if manifest["version"] > FORMAT_VERSION:
        raise ValueError(f"{path!r} has checkpoint format version {manifest['version']}; this minigrad "
                         f"reads up to version {FORMAT_VERSION}: upgrade minigrad")
    return manifest


def _unflatten(tree, prefix, archive, device, path):
    """Rebuild the nested dict that `_flatten` described in `tree`."""
    return {key: _unflatten(kind, prefix + (key,), archive, device, path) if isinstance(kind, dict)
            else _RESTORE[kind](_entry(archive, _SEP.join(prefix + (key,)), path), device)
            for key, kind in tree.items()}
