"""Batch normalization layers, as torch.nn, with the same parameters, buffers and state_dict keys."""
import numpy as np

from ..creation import ones, tensor, zeros
from . import functional as F
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Normalize each channel of (N, C, *) by the batch's statistics in training, by running ones in eval.

    momentum=None uses a cumulative average (1 / num_batches_tracked) instead of an exponential one.
    """

    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        # registered even when None (as PyTorch), so assigning a plain tensor there is refused
        self.register_parameter("weight", Parameter(ones(num_features, device=device, dtype=dtype)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(num_features, device=device, dtype=dtype))
                                if affine and bias else None)
        tracked = track_running_stats
        self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype) if tracked else None)
        self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", tensor(0, dtype=np.int64, device=device) if tracked else None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...], self.running_var.array[...], self.num_batches_tracked.array[...] = 0, 1, 0

    def forward(self, input):
        if input.ndim not in self.expected_dims:
            dims = " or ".join(f"{d}D" for d in self.expected_dims)
            raise ValueError(f"expected {dims} input (got {input.ndim}D input)")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.item())
        # without running statistics, eval mode normalizes by the batch's own statistics too
        use_batch_stats = self.training or self.running_mean is None
        update_running = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if update_running else None,
                            self.running_var if update_running else None, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """x: (N, C) or (N, C, L), statistics per channel C."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """x: (N, C, H, W), statistics per channel C."""

    expected_dims = (4,)
