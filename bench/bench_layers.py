"""Forward + backward of single conv2d / conv_transpose2d layers, minigrad against PyTorch.

    python -m bench.bench_layers [--device cuda] [--threads 1 2] [--repeats 15] [--layout native]

Shapes: the DCGAN's six layers (batch 64, 28x28 MNIST) and a few larger ones (batch 128, 64x64
images). For each: median milliseconds of both, the median ratio, and the share of the machine's
float32 matrix-multiply rate (measured here, same thread count) that each reaches.

--layout native gives each library its input and output gradient laid out as its own layers produce
them inside a network: contiguous (N, C, H, W) for PyTorch, batch-last (C, H, W, N) memory for
minigrad. --layout nchw gives both contiguous (N, C, H, W) arrays (minigrad then transposes them).
"""
import numpy as np
import torch

import minigrad
import minigrad.nn.functional as F

from .common import interleaved, machine, median_ms, median_ratio, parse_args, set_threads, to_minigrad, \
    to_torch_device

# (name, transposed, batch, in_channels, out_channels, input size, kernel, stride, padding)
LAYERS = [
    ("G1 convT 64->128 k7 s1 p0, 1x1", True, 64, 64, 128, 1, 7, 1, 0),
    ("G2 convT 128->64 k4 s2 p1, 7x7", True, 64, 128, 64, 7, 4, 2, 1),
    ("G3 convT 64->1 k4 s2 p1, 14x14", True, 64, 64, 1, 14, 4, 2, 1),
    ("D1 conv 1->64 k4 s2 p1, 28x28", False, 64, 1, 64, 28, 4, 2, 1),
    ("D2 conv 64->128 k4 s2 p1, 14x14", False, 64, 64, 128, 14, 4, 2, 1),
    ("D3 conv 128->1 k7 s1 p0, 7x7", False, 64, 128, 1, 7, 7, 1, 0),
    ("conv 3->64 k4 s2 p1, 64x64 (N=128)", False, 128, 3, 64, 64, 4, 2, 1),
    ("conv 64->128 k4 s2 p1, 32x32 (N=128)", False, 128, 64, 128, 32, 4, 2, 1),
    ("conv 64->64 k3 s1 p1, 32x32 (N=128)", False, 128, 64, 64, 32, 3, 1, 1),
    ("convT 128->64 k4 s2 p1, 16x16 (N=128)", True, 128, 128, 64, 16, 4, 2, 1),
    ("convT 64->3 k4 s2 p1, 32x32 (N=128)", True, 128, 64, 3, 32, 4, 2, 1),
]


def matmul_gflops(device, size=2048, repeats=9):
    """The float32 matrix-multiply rate of the array library minigrad runs on: (median, best) GFLOP/s."""
    a, b = (minigrad.backend.to_device(np.random.default_rng(i).standard_normal((size, size), dtype=np.float32), device)
            for i in (0, 1))
    times = interleaved({"matmul": lambda: a @ b}, device, repeats)["matmul"]
    return 2 * size**3 / np.median(times) / 1e9, 2 * size**3 / min(times) / 1e9


def layer_flops(transposed, batch, c_in, c_out, size, kernel, stride, padding):
    """Multiply-adds x 2 of forward + both backward products (each the same count as the forward)."""
    out = (size - 1) * stride - 2 * padding + kernel if transposed else (size + 2 * padding - kernel) // stride + 1
    pixels = size if transposed else out  # the side where every pixel meets every tap once
    return 3 * 2 * batch * pixels * pixels * c_in * c_out * kernel * kernel


def contenders(transposed, batch, c_in, c_out, size, kernel, stride, padding, device, layout):
    """Two closures running one forward + backward, minigrad's and PyTorch's, on the same values."""
    rng = np.random.default_rng(0)
    w_shape = (c_in, c_out, kernel, kernel) if transposed else (c_out, c_in, kernel, kernel)
    x, w, b = (rng.standard_normal(s, dtype=np.float32) for s in ((batch, c_in, size, size), w_shape, (c_out,)))
    native = layout == "native"
    mini = [to_minigrad(x, device, True, batch_last=native)] + [to_minigrad(a, device, True) for a in (w, b)]
    ref = [to_torch_device(a, device).requires_grad_() for a in (x, w, b)]
    mini_fn = F.conv_transpose2d if transposed else F.conv2d
    torch_fn = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
    y = torch_fn(*ref, stride=stride, padding=padding)
    grad = rng.standard_normal(tuple(y.shape), dtype=np.float32)
    mini_grad, torch_grad = to_minigrad(grad, device, batch_last=native), to_torch_device(grad, device)
    np.testing.assert_allclose(mini_fn(*mini, stride=stride, padding=padding).numpy(), y.detach().cpu().numpy(),
                               rtol=1e-3, atol=1e-3)

    def run_minigrad():
        for t in mini:
            t.grad = None
        mini_fn(*mini, stride=stride, padding=padding).backward(mini_grad)

    def run_torch():
        for t in ref:
            t.grad = None
        torch_fn(*ref, stride=stride, padding=padding).backward(torch_grad)

    return {"minigrad": run_minigrad, "torch": run_torch}


def main():
    args = parse_args(__doc__, layout=("native", "nchw"))
    thread_counts = args.threads if args.device == "cpu" else [torch.get_num_threads()]
    for threads in thread_counts:
        with set_threads(threads):
            print(f"\n### {threads} thread(s), layout {args.layout}\n\n{machine(args.device)}")
            rate, best = matmul_gflops(args.device)
            print(f"float32 matmul 2048^3: {rate:.0f} GFLOP/s median, {best:.0f} best; the shares below are of "
                  f"the median\n")
            print("| layer (fwd+bwd) | minigrad ms | torch ms | ratio (median) | minigrad % of matmul | "
                  "torch % of matmul |\n|---|---|---|---|---|---|")
            for name, *shape in LAYERS:
                times = interleaved(contenders(*shape, args.device, args.layout), args.device, args.repeats)
                flops = layer_flops(*shape)
                share = {k: 100 * flops / (np.median(v) * 1e9) / rate for k, v in times.items()}
                print(f"| {name} | {median_ms(times['minigrad']):.2f} | {median_ms(times['torch']):.2f} | "
                      f"{median_ratio(times['minigrad'], times['torch']):.2f} | {share['minigrad']:.0f} | "
                      f"{share['torch']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
