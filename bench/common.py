"""What every benchmark shares: devices, thread counts, interleaved timing, the machine's description.

Run the scripts by hand from the repository root (`python -m bench.bench_step`); they are never tests.
Timings alternate between the contenders (A B A B ...) so that a load spike on this shared machine
hits both alike, and each round's ratio is taken before the median, which ignores the spikes.
"""
import argparse
import datetime
import os
import platform
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import minigrad


def parse_args(description, **extra):
    """The options every script takes (--device, --threads, --repeats), plus `extra` {flag: default},
    where a tuple default means "one of these, the first unless told"."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="BLAS / torch thread counts to run with, one after the other (CPU only)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per contender")
    for flag, default in extra.items():
        if isinstance(default, tuple):
            parser.add_argument(f"--{flag}", choices=default, default=default[0])
        else:
            parser.add_argument(f"--{flag}", type=type(default), default=default)
    return parser.parse_args()


def set_threads(count):
    """Give NumPy's BLAS and PyTorch the same number of threads; return a context to leave it so."""
    torch.set_num_threads(count)
    return threadpool_limits(count, user_api="blas")


def blas_threads():
    """The thread counts of the BLAS libraries NumPy loaded, e.g. {'openblas': 2}."""
    return {lib["internal_api"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def synchronize(device):
    """Wait until the GPU has finished (the CPU returns from a kernel launch long before)."""
    if device == "cuda":
        minigrad.backend.cupy().cuda.Device().synchronize()
        torch.cuda.synchronize()


def time_once(fn, device):
    """Seconds one call of fn takes, the GPU's work included."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def interleaved(contenders, device="cpu", repeats=15, warmup=2):
    """contenders: {name: fn}. Call them in turn, `repeats` rounds after `warmup`; {name: [seconds]}."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(time_once(fn, device))
    return times


def median_ratio(numerator, denominator):
    """The median over rounds of numerator[i] / denominator[i] (rounds ran side by side)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def median_ms(seconds):
    return 1e3 * statistics.median(seconds)


def to_torch_device(array, device):
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def to_minigrad(array, device, requires_grad=False, batch_last=False):
    """A minigrad leaf on `device`; batch_last=True lays (N, ...) out as (..., N) in memory, as
    minigrad's conv layers leave their outputs (and so the gradients coming back to them)."""
    array = np.ascontiguousarray(np.moveaxis(array, 0, -1) if batch_last else array)
    array = minigrad.backend.to_device(array, device)
    xp = minigrad.backend.get_array_module(array)
    return minigrad.Tensor(xp.moveaxis(array, -1, 0) if batch_last else array, requires_grad=requires_grad)


def machine(device="cpu"):
    """One paragraph for RESULTS.md: date, CPU or GPU, load, library versions, BLAS threads."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    lines = [f"date: {datetime.date.today()}",
             f"cpu: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min)",
             f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
             f"numpy BLAS threads {blas_threads()}, torch threads {torch.get_num_threads()}"]
    if device == "cuda":
        cp = minigrad.backend.cupy()
        name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        lines.append(f"gpu: {name}, cupy {cp.__version__}, torch CUDA {torch.version.cuda}")
    return "\n".join(lines)
