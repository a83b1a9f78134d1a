"""Loss functions as torch.nn.functional; reduction is "mean", "sum" or "none" (elementwise)."""
import warnings

import numpy as np

from ...autograd import Function
from ...backend import get_array_module
from ...tensor import Tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "nll_loss",
           "cross_entropy"]

# PyTorch's names of dtypes, for messages that quote them
_TORCH_DTYPE_NAMES = {"int64": "Long", "uint8": "Byte", "int32": "Int", "int16": "Short", "int8": "Char",
                      "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double"}


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduction(size_average, reduce, reduction):
    """The reduction to use: PyTorch's deprecated size_average / reduce flags, when given, override `reduction`."""
    if size_average is not None or reduce is not None:
        reduce, size_average = reduce is None or reduce, size_average is None or size_average
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      f"instead.", stacklevel=3)
    _check_reduction(reduction)
    return reduction


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


def _check_in_unit_interval(name, t):
    x = t.array
    if bool(get_array_module(x).any(~((x >= 0) & (x <= 1)))):  # written so that NaN fails too
        raise RuntimeError(f"all elements of {name} should be between 0 and 1")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """input: probabilities in [0, 1], any shape; target: same shape -> -w [y log x + (1 - y) log(1 - x)]."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _check_in_unit_interval("input", input)
    _check_in_unit_interval("target", target)
    loss = _BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


class _BinaryCrossEntropyWithLogits(Function):
    @staticmethod
    def forward(ctx, z, y, pos_weight):
        xp = get_array_module(z)
        log_sigmoid = -xp.logaddexp(0, -z)  # log(sigmoid(z)) without overflow for any z
        # pos_weight p scales the positive term: log weight = 1 + (p - 1) y
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        ctx.save_for_backward(z, y, log_sigmoid, pos_weight)
        return (1 - y) * z - log_weight * log_sigmoid

    @staticmethod
    def backward(ctx, grad):
        z, y, log_sigmoid, p = ctx.saved_tensors
        sigmoid = get_array_module(z).exp(log_sigmoid)
        # d/dz = (1 + (p - 1) y) sigmoid(z) - p y, which is sigmoid(z) - y when p = 1
        grad_z = grad * (sigmoid - y if p is None else (1 + (p - 1) * y) * sigmoid - p * y)
        if not ctx.needs_input_grad[1]:
            return grad_z, None
        return grad_z, grad * (-z if p is None else -z - (p - 1) * log_sigmoid)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """input: logits z, any shape; target: same shape -> -w [p y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    pos_weight = None if pos_weight is None else pos_weight.array.astype(input.dtype, copy=False)
    loss = _BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _pointwise_loss(error, input, target, size_average, reduce, reduction, weight):
    """Shared by mse_loss and l1_loss: error(input - target), weighted and reduced as PyTorch."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", stacklevel=3)
    loss = error(input - target)
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)  # a weighted mean


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """input, target: same shape (broadcast with a warning, as PyTorch) -> (input - target)^2."""
    return _pointwise_loss(lambda d: d * d, input, target, size_average, reduce, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """input, target: same shape (broadcast with a warning, as PyTorch) -> |input - target|."""
    return _pointwise_loss(lambda d: d.abs(), input, target, size_average, reduce, reduction, weight)


def _class_targets(input, target, weight, ignore_index, reduction, float_means_probabilities):
    """Check an (input, class-index target) pair as PyTorch's nll_loss and cross_entropy do.

    input: (N, C, *) or (C,); target: (N, *) or () -> (input (N, C, *), safe labels (N, *), the per-target
    scale (N, *): 0 where ignored, else 1 or, for "mean", 1 / the summed weight of the kept targets; the per-target
    weight (N, *): weight[t] times that scale; and whether input was (C,)).
    """
    kind = np.dtype(target.dtype).kind
    if kind not in "iub" and float_means_probabilities:
        raise TypeError(f"cross_entropy expects class indices (an integer target), got dtype {target.dtype}; "
                        f"class probabilities are not supported")
    if target.dtype not in (np.int64, np.uint8):
        name = _TORCH_DTYPE_NAMES.get(np.dtype(target.dtype).name, str(target.dtype))
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {name}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    unbatched = input.ndim == 1
    if unbatched:
        if target.ndim == 1 and target.shape[0] != 1:  # a 0-D target is the usual; (1,) is accepted too
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        input, target = input.unsqueeze(0), target.reshape(1)
    if target.ndim == 0 or input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    classes = input.shape[1]
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    xp, labels = get_array_module(target.array), target.array.astype(np.int64, copy=False)
    kept = labels != ignore_index
    out_of_range = kept & ((labels < 0) | (labels >= classes))
    if bool(out_of_range.any()):
        raise IndexError(f"Target {int(labels[out_of_range][0])} is out of bounds.")
    safe_labels = xp.where(kept, labels, 0)
    scale = kept.astype(input.dtype)
    sample_weight = scale if weight is None else scale * weight.array[safe_labels]
    if reduction == "mean":  # a weighted mean over the targets that count; ignored ones stay 0, as PyTorch
        with np.errstate(invalid="ignore", divide="ignore"):  # a zero total weight gives nan, as PyTorch
            total = sample_weight.sum()
            scale, sample_weight = xp.where(kept, scale / total, 0), xp.where(kept, sample_weight / total, 0)
    return input, safe_labels, scale, sample_weight, unbatched


def _class_loss(loss, reduction, unbatched, scale):
    """The per-target losses (N, *), already weighted for "mean" -> PyTorch's result."""
    if reduction == "mean" and not bool(scale.any()):  # every target ignored: 0 / 0 = nan, gradient 0, as PyTorch
        return loss.sum() + float("nan")
    if reduction != "none":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss


class _NLLLoss(Function):
    @staticmethod
    def forward(ctx, x, target, sample_weight):
        xp = get_array_module(x)
        target = xp.expand_dims(target, 1)
        ctx.save_for_backward(target, sample_weight)
        ctx.classes = x.shape[1]
        return -sample_weight * xp.take_along_axis(x, target, axis=1).squeeze(1)

    @staticmethod
    def backward(ctx, grad):
        target, sample_weight = ctx.saved_tensors
        xp = get_array_module(grad)
        classes = xp.arange(ctx.classes).reshape((1, -1) + (1,) * (target.ndim - 2))
        # only the target's entry of each row was used: the gradient is -weight there and 0 elsewhere
        return xp.where(classes == target, xp.expand_dims(-grad * sample_weight, 1), 0)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """input: log-probabilities (N, C, *) or (C,); target: class indices (N, *) or () -> -weight[t] input[t].

    Targets equal to ignore_index contribute 0; "mean" divides by the summed weight of the other targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    input, labels, scale, sample_weight, unbatched = _class_targets(input, target, weight, ignore_index, reduction,
                                                                    False)
    loss = _NLLLoss.apply(input, target=labels, sample_weight=sample_weight)
    return _class_loss(loss, reduction, unbatched, scale)


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


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """input: logits (N, C, *) or (C,); target: class indices (N, *) or () -> -weight[t] log softmax(input)[t].

    Targets equal to ignore_index contribute 0; "mean" divides by the summed weight of the other targets.
    label_smoothing e mixes in e/C of the loss against every class, weighted, as PyTorch.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    input, labels, scale, sample_weight, unbatched = _class_targets(input, target, weight, ignore_index, reduction,
                                                                    True)
    loss = _CrossEntropy.apply(input, target=labels, sample_weight=sample_weight)
    if label_smoothing > 0:
        shape = (1, -1) + (1,) * (input.ndim - 2)
        log_probs = input.log_softmax(1)
        against_all = -(log_probs if weight is None else log_probs * weight.reshape(shape)).sum(1)
        # ignored targets drop out, and "mean" divides by the same total as the main term, as PyTorch
        loss = (1 - label_smoothing) * loss + (label_smoothing / input.shape[1]) * against_all * Tensor(scale)
    return _class_loss(loss, reduction, unbatched, scale)
