"""Whole PyTorch programs, stored once as source text in tests/pytorch_programs/, run with torch and with
minigrad bound to the names `torch`, `torch.nn`, `torch.nn.functional` and `torch.optim`: same weights,
same data, so they must give the same numbers.

Each program defines build() -> {name: model or plain value}, data(rng) -> {name: NumPy array} and
run(models, data) -> {name: what to compare}. The torch models' initial state is copied into the minigrad
models, because the two libraries' random generators differ.
"""
import builtins
import contextlib
import io
import pathlib

import numpy as np
import pytest
import torch as real_torch

import minigrad
from tests.helpers import copy_torch_weights

PROGRAMS = pathlib.Path(__file__).parent / "pytorch_programs"


def importer(library):
    """An __import__ that resolves `torch` and `torch.*` to `library` (its name `torch` or `minigrad`)."""
    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "torch" or name.startswith("torch.")):
            name = library + name[len("torch"):]
        return builtins.__import__(name, globals, locals, fromlist, level)
    return __import__


def load(program, library):
    """Exec the program's text with `import torch...` meaning `library`; sys.modules is left untouched."""
    namespace = {"__name__": f"pytorch_programs.{program}",
                 "__builtins__": {**vars(builtins), "__import__": importer(library)}}
    source = (PROGRAMS / f"{program}.py").read_text()
    exec(compile(source, str(PROGRAMS / f"{program}.py"), "exec"), namespace)
    return namespace


def plain(value):
    """Either library's results as NumPy arrays, lists, dicts and Python values, so they can be compared."""
    if isinstance(value, real_torch.Tensor):
        return value.detach().numpy().copy()
    if isinstance(value, minigrad.Tensor):
        return value.detach().numpy().copy()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def assert_close(actual, expected, rtol, atol, where):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), \
            f"{where}: keys {list(actual) if isinstance(actual, dict) else actual!r} != {list(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], rtol, atol, f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and (actual.shape, actual.dtype) == (expected.shape, expected.dtype), \
            f"{where}: {type(actual).__name__} {getattr(actual, 'shape', '')} != {expected.shape} {expected.dtype}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert isinstance(actual, float), f"{where}: {actual!r} is not a float like {expected!r}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


def run_both(program, seed=0):
    """Build with both libraries, copy torch's initial state into minigrad's models, run both on one data set."""
    namespaces = {library: load(program, library) for library in ("torch", "minigrad")}
    built, models = {}, {}
    for library, namespace in namespaces.items():
        real_torch.manual_seed(seed)
        minigrad.manual_seed(seed)
        built[library] = namespace["build"]()
        models[library] = {k: v for k, v in built[library].items()
                           if hasattr(v, "state_dict") and hasattr(v, "parameters")}
    for name, model in models["minigrad"].items():
        copy_torch_weights(models["torch"][name], model)
    results = {}
    for library, namespace in namespaces.items():
        data = namespace["data"](np.random.default_rng(seed))
        with contextlib.redirect_stdout(io.StringIO()):  # the tutorials print their progress
            out = namespace["run"](models[library], data)
        rest = {k: v for k, v in built[library].items() if k not in models[library]}
        results[library] = plain({"build": rest, "run": out})
    return results["minigrad"], results["torch"]


# float32 throughout, and both libraries compute the same sums in different orders. Measured: everything,
# the DCGAN's 6 Adam steps per network included, agrees to 1e-5 relative; a 0.1% change to one weight fails.
RTOL, ATOL = 1e-4, 1e-5
PROGRAM_NAMES = ["dcgan", "lenet", "transposed_conv"]


@pytest.mark.parametrize("program", PROGRAM_NAMES)
def test_pytorch_program_runs_unchanged(program):
    actual, expected = run_both(program)
    assert_close(actual, expected, RTOL, ATOL, program)


def test_every_program_is_tested_and_written_for_pytorch():
    files = sorted(p.stem for p in PROGRAMS.glob("*.py"))
    assert files == [getattr(name, "values", [name])[0] for name in PROGRAM_NAMES]
    for name in files:
        lines = (PROGRAMS / f"{name}.py").read_text().splitlines()
        imports = [line.split("  #")[0] for line in lines if line.startswith(("import ", "from "))]
        assert imports == ["import torch", "import torch.nn as nn", "import torch.nn.functional as F",
                           "import torch.optim as optim"], name
        assert "minigrad" not in "\n".join(lines), name


def test_the_programs_leave_sys_modules_alone():
    import sys
    before = {k: id(v) for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    load("lenet", "minigrad")
    assert sys.modules["torch"] is real_torch
    assert {k: id(v) for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")} == before
