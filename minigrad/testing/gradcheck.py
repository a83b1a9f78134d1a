"""`gradcheck`: compare autograd's gradients with central finite differences."""
import numpy as np

from ..tensor import Tensor


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Check d fn(*inputs) / d inputs against central differences; True, or AssertionError.

    fn: takes the tensors in `inputs` and returns a tensor. Inputs that require grad must be float64 or
    complex128 (differences in float32 are too coarse to mean anything). The check pushes a random
    output gradient v backwards and compares each entry of <v, d fn / d x> with
    (<v, fn(x + eps e)> - <v, fn(x - eps e)>) / (2 eps); for complex x it also steps along i*e.
    The error names the input, the index and both numbers.
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise ValueError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 or complex128")
    out = fn(*inputs)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(out.shape)
    if np.iscomplexobj(out.array):
        v = v + 1j * rng.standard_normal(out.shape)
    v = Tensor(v.astype(out.dtype)).to(out.device)
    for i in checked:
        inputs[i].grad = None
    out.backward(v)

    arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]

    def projected(i, index, delta):  # Re <v, fn(x)>, input i moved by delta at index: autograd's real scalar
        moved = arrays[i].copy()
        moved[index] += delta
        x = [Tensor(moved) if j == i else Tensor(a) if j in checked else inputs[j] for j, a in enumerate(arrays)]
        return float((v.array.conj() * fn(*x).array).real.sum())

    for i in checked:
        analytic = inputs[i].grad.numpy() if inputs[i].grad is not None else np.zeros(inputs[i].shape, inputs[i].dtype)
        steps = (1, 1j) if np.iscomplexobj(arrays[i]) else (1,)
        for index in np.ndindex(*inputs[i].shape):
            numeric = sum(step * (projected(i, index, eps * step) - projected(i, index, -eps * step)) / (2 * eps)
                          for step in steps)
            got = analytic[index]
            if not np.isclose(got, numeric, atol=atol, rtol=rtol):
                raise AssertionError(f"gradcheck: input {i} at index {index}: autograd gives {got:.6g}, "
                                     f"finite differences give {numeric:.6g} (difference {abs(got - numeric):.3g})")
    return True
