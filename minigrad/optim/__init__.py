"""Optimizers with PyTorch's names, update rules and checks: `opt = minigrad.optim.Adam(model.parameters())`.

Updates happen in place on each parameter's array (NumPy or CuPy), outside the graph, and bump the
parameter's version, so a graph that saved the old value refuses to backward (as PyTorch). A complex
parameter is updated as pairs of reals (its real view), as PyTorch does.
"""
import math
import warnings
from collections import defaultdict

import numpy as np

from ..autograd import enable_grad
from ..backend import device_of, get_array_module, to_device
from ..nn.module import _zero_grad, typename
from ..tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


def _real_view(array):
    """A complex array as interleaved (real, imag) floats; a real array as it is."""
    return array.view(array.real.dtype) if get_array_module(array).iscomplexobj(array) else array


def _check_non_negative(what, value):
    if not 0.0 <= value:  # written this way round so NaN fails too
        raise ValueError(f"Invalid {what}: {value}")


class Optimizer:
    """Parameter groups (dicts of "params" and hyperparameters) and `state[p]`, a dict per parameter.

    `params` is an iterable of Parameters, or of dicts {"params": [...], "lr": ...} for per-group settings.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        self.defaults = defaults
        self.state = defaultdict(dict)  # parameter -> its state, as PyTorch's `optimizer.state[p]`
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add {"params": [...], setting: value, ...}; settings it does not give are the optimizer's defaults."""
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {typename(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len(set(params)) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        if not set(params).isdisjoint(p for group in self.param_groups for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")  # it would step twice
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none=True):
        _zero_grad(self._params(), set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = _real_view(p.grad.array)
                self._update(_real_view(p.array), -grad if group.get("maximize") else grad, self.state[p], group)
                p._bump_version()
        return loss

    def _update(self, param, grad, state, group):
        """Update `param` (an array) in place from `grad`, keeping running values in the dict `state`."""
        raise NotImplementedError

    def state_dict(self):
        """A nested dict with str keys and NumPy arrays / numbers as leaves, so `minigrad.save` stores it:
        {"state": {"0": {"step": 3, "exp_avg": array}}, "param_groups": {"0": {"lr": 0.001, "params": array([0, 1])}}},
        parameters numbered over all groups in order (as PyTorch's)."""
        host = lambda v: np.array(to_device(v, "cpu")) if hasattr(v, "shape") else v  # noqa: E731  a copy
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {str(index[id(p)]): {key: host(value) for key, value in s.items()} for p, s in self.state.items()}
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
        params = self._params()
        self.state = defaultdict(dict)
        for index, s in state_dict["state"].items():
            p = params[int(index)]
            self.state[p] = {key: _like(value, _real_view(p.array), f"state {index}/{key}") for key, value in s.items()}


def _like(value, param, name):
    """A saved state value as a fresh array on the parameter's device and dtype (numbers stay numbers)."""
    if getattr(value, "ndim", 0) == 0:
        return value.item() if hasattr(value, "item") else value
    if tuple(value.shape) != param.shape:
        raise ValueError(f"loaded {name} has shape {tuple(value.shape)} but its parameter has shape {param.shape}")
    return to_device(value, device_of(param)).astype(param.dtype, copy=True)


class SGD(Optimizer):
    """p -= lr * d, d = grad + weight_decay * p, passed through momentum (optionally Nesterov's)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False):
        _check_non_negative("learning rate", lr)
        _check_non_negative("momentum value", momentum)
        _check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

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
    """p -= lr * m_hat / (sqrt(v_hat) + eps), m and v running averages of grad and grad^2, bias-corrected.

    weight_decay adds weight_decay * p to the gradient (L2), or with decoupled_weight_decay=True (AdamW)
    shrinks p by lr * weight_decay * p before the step; amsgrad divides by the largest v_hat so far."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        _check_non_negative("learning rate", lr)
        _check_non_negative("epsilon value", eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        if weight_decay and group["decoupled_weight_decay"]:
            param *= 1 - lr * weight_decay  # AdamW: the decay bypasses the adaptive scaling
        elif weight_decay:
            grad = grad + weight_decay * param
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(param), exp_avg_sq=xp.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        exp_avg, exp_avg_sq, step = state["exp_avg"], state["exp_avg_sq"], state["step"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp form of beta1 * m + (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        second_moment = state["max_exp_avg_sq"] if group["amsgrad"] else exp_avg_sq
        denominator = xp.sqrt(second_moment) / math.sqrt(1 - beta2 ** step) + group["eps"]
        param -= (lr / (1 - beta1 ** step)) * exp_avg / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay, then Adam's step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)


from . import lr_scheduler  # noqa: E402,F401  (optim.lr_scheduler, as in PyTorch)
