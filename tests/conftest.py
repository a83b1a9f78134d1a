"""Shared fixtures: every test that takes `device` runs on the CPU and, where CuPy finds a GPU, on CUDA.

With MINIGRAD_BROWSER_TESTS=1 (CI) the browser test builds the book, and the build executes every
notebook under stricter rules than nbmake (jupyter-book -W: an error or any stderr output fails it);
nbmake's items for the same notebooks are then deselected, so that each notebook runs once.
"""
import os

import pytest

import minigrad
from minigrad.backend import cuda_is_available

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not cuda_is_available(), reason="needs CuPy and a GPU"))]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same random state, so a failure reproduces."""
    minigrad.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MINIGRAD_BROWSER_TESTS") != "1":
        return
    notebooks = [item for item in items if item.nodeid.endswith(".ipynb")]
    if notebooks and any("test_book_browser" in item.nodeid for item in items):
        config.hook.pytest_deselected(items=notebooks)
        items[:] = [item for item in items if not item.nodeid.endswith(".ipynb")]
