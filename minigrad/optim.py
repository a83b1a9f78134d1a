"""Optimizers with PyTorch's names, update rules and checks: `opt = minigrad.optim.Adam(model.parameters())`.

Updates happen in place on each parameter's array (NumPy or CuPy), outside the graph. A complex
parameter is updated as pairs of reals (its real view), as PyTorch does.
"""
import math

import numpy as np

from .autograd import enable_grad
from .backend import device_of, get_array_module, to_device
from .nn.module import _zero_grad
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


def _real_view(array):
    """A complex array as interleaved (real, imag) floats; a real array as it is."""
    return array.view(array.real.dtype) if get_array_module(array).iscomplexobj(array) else array


def _check_non_negative(what, value):
    if not 0.0 <= value:  # written this way round so NaN fails too
        raise ValueError(f"Invalid {what}: {value}")


class Optimizer:
    """Parameter groups (dicts of "params" and hyperparameters) and one state dict per parameter.

    `params` is an iterable of Parameters, or of dicts {"params": [...], "lr": ...} for per-group settings.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        groups = groups if isinstance(groups[0], dict) else [{"params": groups}]
        self.defaults = defaults
        as_list = lambda params: [params] if isinstance(params, Tensor) else list(params)  # noqa: E731
        self.param_groups = [{**defaults, **group, "params": as_list(group["params"])} for group in groups]
        self.state = {}  # parameter index (counted over all groups, in order) -> that parameter's state

    def _indexed_params(self):
        params = ((p, group) for group in self.param_groups for p in group["params"])
        return ((index, p, group) for index, (p, group) in enumerate(params))

    def zero_grad(self, set_to_none=True):
        _zero_grad((p for _, p, _ in self._indexed_params()), set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for index, p, group in self._indexed_params():
            if p.grad is not None:
                self._update(_real_view(p.array), _real_view(p.grad.array), self.state.setdefault(index, {}), group)
        return loss

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    def state_dict(self):
        """A nested dict with str keys and NumPy arrays / numbers as leaves, so `minigrad.save` stores it:
        {"state": {"0": {"step": 3, "exp_avg": array}}, "param_groups": {"0": {"lr": 0.001, "params": array([0, 1])}}}.
        """
        host = lambda v: np.array(to_device(v, "cpu")) if hasattr(v, "shape") else v  # noqa: E731  a copy
        state = {str(index): {key: host(value) for key, value in s.items()} for index, s in self.state.items()}
        groups, first = {}, 0
        for g, group in enumerate(self.param_groups):
            settings = {k: np.array(v) if isinstance(v, tuple) else v for k, v in group.items() if k != "params"}
            groups[str(g)] = {**settings, "params": np.arange(first, first + len(group["params"]))}
            first += len(group["params"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what state_dict() returned (possibly through save / load) so training resumes exactly."""
        saved_groups = [state_dict["param_groups"][k] for k in sorted(state_dict["param_groups"], key=int)]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
            group.update({k: tuple(float(x) for x in v) if isinstance(group.get(k), tuple) else v
                          for k, v in saved.items() if k != "params"})
        params = [_real_view(p.array) for _, p, _ in self._indexed_params()]
        self.state = {int(index): {key: _like(value, params[int(index)], f"state {index}/{key}")
                                   for key, value in s.items()} for index, s in state_dict["state"].items()}


def _like(value, param, name):
    """A saved state value as a fresh array on the parameter's device and dtype (numbers stay numbers)."""
    if getattr(value, "ndim", 0) == 0:
        return value.item() if hasattr(value, "item") else value
    if tuple(value.shape) != param.shape:
        raise ValueError(f"loaded {name} has shape {tuple(value.shape)} but its parameter has shape {param.shape}")
    return to_device(value, device_of(param)).astype(param.dtype, copy=True)


class SGD(Optimizer):
    """p -= lr * d, d = grad + weight_decay * p, passed through momentum (optionally Nesterov's)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        _check_non_negative("learning rate", lr)
        _check_non_negative("momentum value", momentum)
        _check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # the first step starts the buffer at the gradient itself
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * grad


class Adam(Optimizer):
    """p -= lr * m_hat / (sqrt(v_hat) + eps), m and v running averages of grad and grad^2, bias-corrected."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        _check_non_negative("learning rate", lr)
        _check_non_negative("epsilon value", eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        if not state:
            xp = get_array_module(param)
            state.update(step=0, exp_avg=xp.zeros_like(param), exp_avg_sq=xp.zeros_like(param))
        state["step"] += 1
        exp_avg, exp_avg_sq, step = state["exp_avg"], state["exp_avg_sq"], state["step"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp form of beta1 * m + (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denominator = get_array_module(param).sqrt(exp_avg_sq) / math.sqrt(1 - beta2 ** step) + group["eps"]
        param -= (group["lr"] / (1 - beta1 ** step)) * exp_avg / denominator
