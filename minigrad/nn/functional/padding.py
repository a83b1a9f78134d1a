"""pad, as torch.nn.functional.pad: constant padding (negative amounts crop) and the reflect,
replicate and circular modes, which are gathers, so their gradient adds back into the source."""
import numpy as np

from ... import ops

__all__ = ["pad"]


def pad(input, pad, mode="constant", value=0.0):
    """Pad as torch.nn.functional.pad: `pad` = (left, right, top, bottom, ...) from the last dimension.

    mode 'constant' (negative amounts crop), 'reflect', 'replicate' or 'circular'.
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected an even number of amounts, at most 2 per dimension ({input.ndim} dims), got {pad}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        return ops.Pad.apply(input, widths=widths, value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    out = input
    for dim, (lo, hi) in enumerate(widths):
        if lo or hi:  # gather along this dimension: the gradient adds back into the source positions
            index = [slice(None)] * input.ndim
            index[dim] = _pad_positions(input.shape[dim], lo, hi, mode)
            out = out[tuple(index)]
    return out


def _pad_positions(n, lo, hi, mode):
    """For each padded position along a dimension of size n, the input position it copies."""
    if min(lo, hi) < 0:
        raise ValueError(f"pad: mode {mode!r} needs non-negative amounts, got ({lo}, {hi})")
    limit = n - 1 if mode == "reflect" else n
    if mode != "replicate" and max(lo, hi) > limit:
        raise ValueError(f"pad: mode {mode!r} allows at most {limit} per side for a dimension of size {n}, got ({lo}, {hi})")
    positions = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1)  # reflect: ... 2 1 [0 1 2 3] 2 1 0 ...
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= n, period - folded, folded)
