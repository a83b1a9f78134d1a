"""Loss functions as torch.nn.functional; reduction is "mean", "sum" or "none" (elementwise)."""
import warnings

import numpy as np

from ...autograd import Function
from ...backend import get_array_module

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "cross_entropy"]


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


class _BinaryCrossEntropy(Function):
    @staticmethod
    def forward(ctx, x, y):
        xp = get_array_module(x)
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected; the clamp below handles it
            # logs clamped at -100 as PyTorch, so probabilities of exactly 0 or 1 give a finite loss
            return -(y * xp.maximum(xp.log(x), -100) + (1 - y) * xp.maximum(xp.log1p(-x), -100))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        xp = get_array_module(x)
        # PyTorch's epsilon keeps the gradient finite at x = 0 and x = 1
        grad_x = grad * (x - y) / xp.maximum(x * (1 - x), 1e-12)
        if not ctx.needs_input_grad[1]:
            return grad_x, None
        with np.errstate(divide="ignore"):
            return grad_x, grad * (xp.log1p(-x) - xp.log(x))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """input: probabilities in [0, 1], any shape; target: same shape -> -w [y log x + (1 - y) log(1 - x)]."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    x = input.array
    if bool(get_array_module(x).any(~((x >= 0) & (x <= 1)))):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


class _BinaryCrossEntropyWithLogits(Function):
    @staticmethod
    def forward(ctx, z, y, pos_weight):
        xp = get_array_module(z)
        log_sigmoid = -xp.logaddexp(0, -z)  # log(sigmoid(z)) without overflow for any z
        # pos_weight p scales the positive term: log weight = 1 + (p - 1) y
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        ctx.save_for_backward(z, y, log_sigmoid)
        ctx.pos_weight = pos_weight
        return (1 - y) * z - log_weight * log_sigmoid

    @staticmethod
    def backward(ctx, grad):
        z, y, log_sigmoid = ctx.saved_tensors
        p = ctx.pos_weight
        sigmoid = get_array_module(z).exp(log_sigmoid)
        # d/dz = (1 + (p - 1) y) sigmoid(z) - p y, which is sigmoid(z) - y when p = 1
        grad_z = grad * (sigmoid - y if p is None else (1 + (p - 1) * y) * sigmoid - p * y)
        if not ctx.needs_input_grad[1]:
            return grad_z, None
        return grad_z, grad * (-z if p is None else -z - (p - 1) * log_sigmoid)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """input: logits z, any shape; target: same shape -> -w [p y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    pos_weight = None if pos_weight is None else pos_weight.array.astype(input.dtype, copy=False)
    loss = _BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)


def mse_loss(input, target, reduction="mean"):
    """input, target: same shape (broadcast with a warning, as PyTorch) -> (input - target)^2."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", stacklevel=2)
    difference = input - target
    return _reduce(difference * difference, reduction)


class _CrossEntropy(Function):
    @staticmethod
    def forward(ctx, x, target, sample_weight):
        xp = get_array_module(x)
        shifted = x - x.max(axis=1, keepdims=True)  # exp never overflows
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        target = xp.expand_dims(target, 1)
        ctx.save_for_backward(log_probs, target, sample_weight)
        return -sample_weight * xp.take_along_axis(log_probs, target, axis=1).squeeze(1)

    @staticmethod
    def backward(ctx, grad):
        log_probs, target, sample_weight = ctx.saved_tensors
        xp = get_array_module(grad)
        classes = xp.arange(log_probs.shape[1]).reshape((1, -1) + (1,) * (log_probs.ndim - 2))
        # d/dx of -log softmax(x)[t] is softmax(x) - one_hot(t)
        return (xp.exp(log_probs) - (classes == target)) * xp.expand_dims(grad * sample_weight, 1)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """input: logits (N, C, *) or (C,); target: class indices (N, *) or () -> -weight[t] log softmax(input)[t].

    Targets equal to ignore_index contribute 0; "mean" divides by the summed weight of the other targets.
    """
    _check_reduction(reduction)
    if np.dtype(target.dtype).kind not in "iu":
        raise TypeError(f"cross_entropy expects class indices (an integer target), got dtype {target.dtype}; "
                        f"class probabilities are not supported")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    xp, labels, classes = get_array_module(target.array), target.array, input.shape[1]
    kept = labels != ignore_index
    out_of_range = kept & ((labels < 0) | (labels >= classes))
    if bool(out_of_range.any()):
        raise IndexError(f"Target {int(labels[out_of_range][0])} is out of bounds.")
    safe_labels = xp.where(kept, labels, 0)
    sample_weight = kept if weight is None else kept * weight.array[safe_labels]
    sample_weight = sample_weight.astype(input.dtype)
    if reduction == "mean":  # a weighted mean over the targets that count
        with np.errstate(invalid="ignore"):  # every target ignored: 0 / 0 = nan, as PyTorch
            sample_weight = sample_weight / sample_weight.sum()
    loss = _CrossEntropy.apply(input, target=safe_labels, sample_weight=sample_weight)
    if reduction != "none":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
