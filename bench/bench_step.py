"""One DCGAN training step (discriminator update, then generator update), minigrad against PyTorch.

    python -m bench.bench_step [--device cuda] [--threads 1 2] [--repeats 15] [--profile 1]

Both libraries build the same networks (MNIST-sized, batch 64, float32, BCELoss, Adam); minigrad gets
PyTorch's initial weights, the first steps' losses are checked to agree, then steps are timed
alternately and the median ratio printed. --profile 1 also prints cProfile's view of minigrad's step.
"""
import cProfile
import pstats

import numpy as np
import torch

import minigrad

from .common import interleaved, machine, median_ms, median_ratio, parse_args, set_threads, to_minigrad, \
    to_torch_device

BATCH, LATENT = 64, 64


def dcgan(nn):
    """(generator, discriminator) from either library's nn module: z (N, 64, 1, 1) -> (N, 1, 28, 28) -> (N, 1, 1, 1)."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(LATENT, 128, 7, 1, 0), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 1, 7), nn.Sigmoid())
    return generator, discriminator


def trainer(library, generator, discriminator, real, noise):
    """A closure running one training step of the usual DCGAN recipe; returns (loss_d, loss_g) as floats."""
    optim, loss = library.optim, library.nn.BCELoss()
    opt_g = optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = library.ones_like(real[:, :, :1, :1]), library.zeros_like(real[:, :, :1, :1])

    def step():
        fake = generator(noise)
        opt_d.zero_grad()
        loss_d = loss(discriminator(real), ones) + loss(discriminator(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = loss(discriminator(fake), ones)  # the generator wants its fakes called real
        loss_g.backward()
        opt_g.step()
        return loss_d.item(), loss_g.item()
    return step


def build(device, seed=0):
    """{"minigrad": step, "torch": step} on identical weights and data."""
    torch.manual_seed(seed)
    torch_nets = dcgan(torch.nn)
    mini_nets = dcgan(minigrad.nn)
    for mini, ref in zip(mini_nets, torch_nets):
        mini.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
        mini.to(device), ref.to(device)
    rng = np.random.default_rng(seed)
    real = np.tanh(rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32))  # pixel values in (-1, 1)
    noise = rng.standard_normal((BATCH, LATENT, 1, 1), dtype=np.float32)
    return {"minigrad": trainer(minigrad, *mini_nets, to_minigrad(real, device), to_minigrad(noise, device)),
            "torch": trainer(torch, *torch_nets, to_torch_device(real, device), to_torch_device(noise, device))}


def check_losses(steps, count=3, rtol=2e-3):
    """The first `count` steps must give the same losses in both libraries (float32 rounding apart)."""
    for i in range(count):
        mini, ref = steps["minigrad"](), steps["torch"]()
        print(f"step {i}: minigrad losses (D, G) = ({mini[0]:.6f}, {mini[1]:.6f}), "
              f"torch = ({ref[0]:.6f}, {ref[1]:.6f})")
        np.testing.assert_allclose(mini, ref, rtol=rtol, err_msg=f"losses of step {i} differ")


def main():
    args = parse_args(__doc__, profile=0)
    thread_counts = args.threads if args.device == "cpu" else [torch.get_num_threads()]
    for threads in thread_counts:
        with set_threads(threads):
            print(f"\n### {threads} thread(s)\n\n{machine(args.device)}")
            steps = build(args.device)
            check_losses(steps)
            times = interleaved(steps, args.device, args.repeats)
            print(f"training step: minigrad {median_ms(times['minigrad']):.1f} ms, torch "
                  f"{median_ms(times['torch']):.1f} ms, ratio (median of {args.repeats} rounds) "
                  f"{median_ratio(times['minigrad'], times['torch']):.2f}", flush=True)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(lambda: [steps["minigrad"]() for _ in range(args.repeats)])
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
