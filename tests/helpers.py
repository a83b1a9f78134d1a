"""Moving values between minigrad and PyTorch (the oracle) and comparing them."""
import numpy as np
import torch

import minigrad


def to_torch(t, requires_grad=None):
    """A torch tensor with the same values (a leaf; requires_grad copied unless given)."""
    array = t.numpy() if isinstance(t, minigrad.Tensor) else np.asarray(t)
    flag = t.requires_grad if requires_grad is None and isinstance(t, minigrad.Tensor) else bool(requires_grad)
    return torch.tensor(array, requires_grad=flag)


def from_torch(t, requires_grad=None, device="cpu"):
    flag = t.requires_grad if requires_grad is None else requires_grad
    return minigrad.tensor(t.detach().numpy(), requires_grad=flag, device=device)


def assert_close(actual, expected, atol=1e-10, rtol=1e-7, what="values"):
    """actual: minigrad Tensor or array; expected: torch tensor or array. Shapes must match exactly."""
    actual = actual.numpy() if isinstance(actual, minigrad.Tensor) else np.asarray(actual)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=what)
