"""Test data, moving values and weights between minigrad and PyTorch (the oracle), and comparing them."""
import numpy as np
import torch

import minigrad


def random_array(shape, dtype="float64", seed=0, between=None):
    """A NumPy array of test values: standard normal, or uniform in [low, high) with between=(low, high).

    Complex dtypes get an imaginary part drawn the same way; integer dtypes need `between` (high excluded).
    seed: an int, or a np.random.Generator to draw several different arrays from one stream.
    """
    rng, dtype = np.random.default_rng(seed), np.dtype(dtype)
    if dtype.kind in "iu":
        if between is None:
            raise ValueError("an integer random_array needs between=(low, high)")
        return rng.integers(*between, size=shape).astype(dtype)

    def draw():
        return rng.standard_normal(shape) if between is None else rng.uniform(*between, shape)

    values = draw()
    if dtype.kind == "c":
        values = values + 1j * draw()
    return values.astype(dtype)


def copy_torch_weights(torch_module, minigrad_module):
    """Load a torch module's parameters and buffers into a minigrad module of the same architecture
    (strict: the same state_dict keys and shapes, as PyTorch's load_state_dict). Returns the minigrad module."""
    minigrad_module.load_state_dict({k: v.detach().cpu().numpy() for k, v in torch_module.state_dict().items()})
    return minigrad_module


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


def compare_with_torch(mini_fn, torch_fn, *arrays, device="cpu", differentiable=None, atol=1e-10, rtol=1e-7):
    """Run both functions on tensors of the same values; compare outputs and every input gradient.

    differentiable: which inputs get requires_grad (default: every floating-point or complex input).
    The output gradient is random (complex when the output is). Returns the minigrad output.
    """
    arrays = [np.asarray(a) for a in arrays]
    if differentiable is None:
        differentiable = [a.dtype.kind in "fc" for a in arrays]
    mini = [minigrad.tensor(a, requires_grad=d, device=device) for a, d in zip(arrays, differentiable)]
    ref = [torch.tensor(a, requires_grad=bool(d)) for a, d in zip(arrays, differentiable)]
    out, expected = mini_fn(*mini), torch_fn(*ref)
    assert_close(out, expected, atol=atol, rtol=rtol, what="forward")
    if expected.requires_grad:
        seed = random_array(tuple(expected.shape), expected.detach().numpy().dtype, seed=7)
        out.backward(minigrad.tensor(seed, device=device))
        expected.backward(torch.tensor(seed))
        for i, (m, r) in enumerate(zip(mini, ref)):
            if r.requires_grad:
                assert_close(m.grad, r.grad, atol=atol, rtol=rtol, what=f"gradient of input {i}")
                assert m.grad.dtype == m.dtype, f"gradient of input {i} has dtype {m.grad.dtype}, input {m.dtype}"
    return out
