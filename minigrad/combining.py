"""The ops that combine several tensors into one: `cat`, `stack`, `where`."""
import numpy as np

from . import dtypes
from . import ops
from .tensor import Tensor, _check_broadcast, normalize_dim, promote


def cat(tensors, dim=0):
    """Join tensors along an existing dimension; all other sizes must agree."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of tensors")
    first = tensors[0]
    dim = normalize_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != dim):
            raise RuntimeError(f"cat(): tensor {i} has shape {t.shape}, which does not match {first.shape} "
                               f"outside dimension {dim}")
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    """Join equally shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack(): every tensor must have the same shape, but tensor {i} has {t.shape} "
                               f"and tensor 0 has {tensors[0].shape}")
    dim = normalize_dim(dim, tensors[0].ndim, extra=1)
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def where(condition, input, other):
    """input where condition (a bool tensor) is true, else other; the gradient follows the branch taken."""
    condition = condition.array if isinstance(condition, Tensor) else condition
    if getattr(condition, "dtype", None) != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{getattr(condition, 'dtype', type(condition).__name__)}")
    if isinstance(input, Tensor):
        input, other = promote(input, other)
    elif isinstance(other, Tensor):  # a scalar first: promote from the other side
        other, input = promote(other, input)
    else:
        input, other = promote(Tensor(np.asarray(input, dtype=dtypes.result_type(input, other))), other)
    _check_broadcast(condition.shape, np.broadcast_shapes(*(getattr(x, "shape", ()) for x in (input, other))))
    return ops.Where.apply(condition, input, other)
