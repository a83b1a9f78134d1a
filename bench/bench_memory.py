"""Peak memory of one conv_transpose2d forward + backward: minigrad, PyTorch, and zero insertion.

    python -m bench.bench_memory [--device cuda] [--layout native] [--threads 1]

Zero insertion is the textbook recipe (minigrad.kernels.reference): enlarge the input with zeros,
then run minigrad's own conv2d on it, with autograd. Each measurement runs in a fresh process and
counts the memory the forward + backward adds on top of the inputs and the output gradient (the
output, the three gradients and every temporary), at its highest.

How, on the CPU: the same for all three, the process's peak resident memory (Linux VmHWM, reset
just before the step through /proc/self/clear_refs) minus its resident memory at that moment.
glibc is told to map every block over 64 KiB on its own and to give freed memory back at once
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), and NumPy not to ask for huge pages, so the
resident memory follows what is alive. A full-size warm-up step runs first (BLAS buffers, oneDNN
code). For the two NumPy contenders tracemalloc's peak (NumPy reports its allocations to it)
is printed too, as a check. On a GPU: PyTorch's max_memory_allocated, and for CuPy a memory hook
that adds up the blocks handed out by its pool.
"""
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import torch

import minigrad
import minigrad.nn.functional as F
from minigrad.autograd import Function
from minigrad.kernels.reference import zero_insertion_grid

from .bench_layers import LAYERS
from .common import machine, parse_args, set_threads, to_minigrad, to_torch_device

MiB = 2**20
CONTENDERS = ("minigrad", "torch", "zero insertion")
TRANSPOSED = [layer for layer in LAYERS if layer[1]]


class ZeroInsertionGrid(Function):
    """x: (N, C, H, W) -> the zero-inserted, padded grid; the gradient picks the x samples back out."""

    @staticmethod
    def forward(ctx, x, kernel_hw, stride, padding):
        edges = [k - 1 - p for k, p in zip(kernel_hw, padding)]
        if min(edges) < 0:
            raise ValueError("this benchmark's zero insertion needs padding <= kernel_size - 1")
        ctx.picks = (Ellipsis, slice(edges[0], None, stride[0]), slice(edges[1], None, stride[1]))
        ctx.size = x.shape[2:]
        return zero_insertion_grid(x, kernel_hw, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.picks][..., :ctx.size[0], :ctx.size[1]]


def zero_insertion_conv_transpose2d(x, w, b, stride, padding):
    """conv_transpose2d as a stride-1 conv2d of the zero-inserted input with the flipped, swapped kernel."""
    k = w.shape[2:]
    grid = ZeroInsertionGrid.apply(x, kernel_hw=k, stride=(stride, stride), padding=(padding, padding))
    return F.conv2d(grid, w.permute(1, 0, 2, 3)[:, :, ::-1, ::-1], b)


def step(contender, layer, device, layout, batch=None):
    """Inputs for one contender and a closure running its forward + backward; returns the gradients."""
    _, _, full_batch, c_in, c_out, size, kernel, stride, padding = layer
    batch = batch or full_batch
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s, dtype=np.float32)
               for s in ((batch, c_in, size, size), (c_in, c_out, kernel, kernel), (c_out,)))
    out = (size - 1) * stride - 2 * padding + kernel
    grad = rng.standard_normal((batch, c_out, out, out), dtype=np.float32)
    if contender == "torch":
        inputs = [to_torch_device(a, device).requires_grad_() for a in (x, w, b)]
        grad = to_torch_device(grad, device)
        function = torch.nn.functional.conv_transpose2d
    else:
        native = layout == "native"
        inputs = [to_minigrad(x, device, True, batch_last=native)] + [to_minigrad(a, device, True) for a in (w, b)]
        grad = to_minigrad(grad, device, batch_last=native)
        function = F.conv_transpose2d if contender == "minigrad" else zero_insertion_conv_transpose2d

    def run():
        function(*inputs, stride=stride, padding=padding).backward(grad)
        grads = [t.grad for t in inputs]  # the caller holds them, so the peak counts them
        for t in inputs:
            t.grad = None
        return grads
    return run


def resident_kib(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))


def cupy_peak(run):
    """Bytes that CuPy's pool hands out at most while `run` runs, above what was in use before."""
    cp = minigrad.backend.cupy()

    class Peak(cp.cuda.MemoryHook):
        name = "peak"
        live = peak = 0

        def malloc_postprocess(self, **block):  # CuPy passes device_id, size, mem_size, mem_ptr, pmem_id
            self.live += block["mem_size"]
            self.peak = max(self.peak, self.live)

        def free_postprocess(self, **block):
            self.live -= block["mem_size"]

    hook = Peak()
    with hook:
        result = run()
        cp.cuda.Device().synchronize()
    del result
    return hook.peak


def check(layer, device, layout):
    """Both minigrad contenders give PyTorch's gradients (on a batch of 2, to be quick)."""
    expected = [t.detach().cpu().numpy() for t in step("torch", layer, device, layout, batch=2)()]
    for contender in ("minigrad", "zero insertion"):
        for got, want in zip(step(contender, layer, device, layout, batch=2)(), expected):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-3, atol=1e-3, err_msg=f"{contender}, {layer[0]}")


def measure(name, layer_index, device, layout, threads):
    """Run in a fresh process: {"rss": MiB, "tracemalloc": MiB or None} for one contender and layer."""
    set_threads(threads)  # scratch buffers can grow with the thread count
    run = step(name, TRANSPOSED[layer_index], device, layout)
    run()  # warm-up at full size; its gradients are freed at once
    if device == "cuda":
        if name == "torch":
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            result = run()
            torch.cuda.synchronize()
            return {"rss": (torch.cuda.max_memory_allocated() - before) / MiB, "tracemalloc": None}
        return {"rss": cupy_peak(run) / MiB, "tracemalloc": None}
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")  # resets VmHWM to the current resident size
    before = resident_kib("VmRSS")
    result = run()
    rss = (resident_kib("VmHWM") - before) / 1024
    del result
    traced = None
    if name != "torch":
        tracemalloc.start()
        result = run()
        traced = tracemalloc.get_traced_memory()[1] / MiB
        tracemalloc.stop()
    return {"rss": rss, "tracemalloc": traced}


def in_fresh_process(name, layer_index, device, layout, threads):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0", NUMPY_MADVISE_HUGEPAGE="0")
    command = [sys.executable, "-m", "bench.bench_memory", "--child", json.dumps([name, layer_index, device, layout, threads])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(*json.loads(sys.argv[2]))))
        return
    args = parse_args(__doc__, layout=("native", "nchw"))
    threads = args.threads[0]  # one count: memory hardly depends on it
    print(f"{machine(args.device)}\n{threads} thread(s), layout {args.layout}; MiB added at the peak of one "
          f"forward + backward\n")
    print("| layer | inputs + grad_out MiB | minigrad | torch | zero insertion | minigrad / torch | "
          "zero insertion / torch | tracemalloc: minigrad, zero insertion |\n|---|---|---|---|---|---|---|---|")
    for index, layer in enumerate(TRANSPOSED):
        check(layer, args.device, args.layout)
        name, _, batch, c_in, c_out, size, kernel, stride, padding = layer
        out = (size - 1) * stride - 2 * padding + kernel
        given = 4 * (batch * c_in * size * size + c_in * c_out * kernel * kernel + batch * c_out * out * out) / MiB
        peaks = {c: in_fresh_process(c, index, args.device, args.layout, threads) for c in CONTENDERS}
        rss = {c: peaks[c]["rss"] for c in CONTENDERS}
        traced = ", ".join(f"{peaks[c]['tracemalloc']:.1f}" if peaks[c]["tracemalloc"] is not None else "-"
                           for c in ("minigrad", "zero insertion"))
        print(f"| {name} | {given:.1f} | {rss['minigrad']:.1f} | {rss['torch']:.1f} | {rss['zero insertion']:.1f} | "
              f"{rss['minigrad'] / rss['torch']:.2f} | {rss['zero insertion'] / rss['torch']:.2f} | {traced} |",
              flush=True)


if __name__ == "__main__":
    main()
