"""Shared fixtures: every test that takes `device` runs on the CPU and, where CuPy finds a GPU, on CUDA."""
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
