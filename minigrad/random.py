"""One global random generator, seeded by `minigrad.manual_seed`.

Every draw happens on the host with NumPy and is then moved to the tensor's device, so a seed gives
the same numbers on CPU and GPU.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Make every later random draw (randn, init, dropout, shuffling) reproducible."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator():
    """The global NumPy Generator that all of minigrad draws from."""
    return _generator
