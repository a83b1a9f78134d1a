"""Batch normalization as torch.nn.functional.batch_norm, one fused op with its closed-form backward."""
from ...autograd import Function
from ...backend import get_array_module

__all__ = ["batch_norm"]


def _per_channel(values, ndim):
    """(C,) -> (1, C, 1, ...) so it broadcasts against an (N, C, *) input."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


class _BatchNorm(Function):
    # Written for few passes over the (large) input: the affine map is folded into one scale per
    # channel, and `normalized` is never stored; backward rebuilds what it needs from `centered`.
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        if training:
            mean = x.mean(axis=axes)
            centered = x - _per_channel(mean, x.ndim)
            var = (centered * centered).mean(axis=axes)  # biased: normalizes the batch itself
            if running_mean is not None:
                count = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (count / (count - 1))  # unbiased, as PyTorch stores it
        else:
            centered = x - _per_channel(running_mean, x.ndim)
            var = running_var
        inv_std = 1 / xp.sqrt(var + eps)
        scale = inv_std if weight is None else inv_std * weight
        ctx.save_for_backward(centered, inv_std, scale)
        ctx.training = training
        output = centered * _per_channel(scale, x.ndim)  # normalized * weight, in one pass
        if bias is not None:
            output += _per_channel(bias, x.ndim)
        return output

    @staticmethod
    def backward(ctx, grad):
        centered, inv_std, scale = ctx.saved_tensors
        axes = (0,) + tuple(range(2, grad.ndim))
        grad_sum = grad.sum(axis=axes)
        grad_dot_normalized = (grad * centered).sum(axis=axes) * inv_std  # normalized = centered * inv_std
        grad_x = grad * _per_channel(scale, grad.ndim)
        if ctx.training:
            # batch statistics depend on x: remove the gradient's mean and its component along `normalized`
            count = grad.size // grad.shape[1]
            grad_x -= centered * _per_channel(scale * inv_std * grad_dot_normalized / count, grad.ndim)
            grad_x -= _per_channel(scale * grad_sum / count, grad.ndim)
        needs_weight, needs_bias = ctx.needs_input_grad[1:]
        return grad_x, grad_dot_normalized if needs_weight else None, grad_sum if needs_bias else None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """input: (N, C, *) -> (input - mean) / sqrt(var + eps) * weight + bias, statistics per channel C.

    training=True normalizes with the batch's statistics and, when running_mean / running_var are given,
    updates them in place: running = (1 - momentum) * running + momentum * batch (variance unbiased).
    training=False normalizes with running_mean / running_var.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C, *), got {input.ndim}D input")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    if training and input.numel() // channels <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(input.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return _BatchNorm.apply(input, weight, bias, training=training, momentum=momentum, eps=eps,
                            running_mean=None if running_mean is None else running_mean.array,
                            running_var=None if running_var is None else running_var.array)
