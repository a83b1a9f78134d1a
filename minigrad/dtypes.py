"""Dtypes as PyTorch names and promotes them. NumPy's own rules differ (float32 + int64 is float64
there, float32 here), so every binary op asks `result_type` first.

PyTorch's rule: the highest category wins (bool < integer < floating < complex). Tensors with
dimensions decide first; 0-d tensors only when their category is higher; Python and NumPy scalars
only when theirs is higher still, and then they bring the default dtype of their category.
"""
import numpy as np

float32, float64, complex64, complex128 = (np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))
float16, int8, int16, int32, int64, uint8 = (np.dtype(t) for t in (np.float16, np.int8, np.int16, np.int32, np.int64,
                                                                   np.uint8))
bool_ = np.dtype(np.bool_)
DEFAULT = float32

_TYPE_NAMES = {float32: "FloatTensor", float64: "DoubleTensor", float16: "HalfTensor", int64: "LongTensor",
               int32: "IntTensor", int16: "ShortTensor", int8: "CharTensor", uint8: "ByteTensor",
               bool_: "BoolTensor", complex64: "ComplexFloatTensor", complex128: "ComplexDoubleTensor"}
_SCALAR_DEFAULTS = {0: bool_, 1: int64, 2: DEFAULT, 3: complex64}
_CATEGORIES = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def resolve_dtype(dtype, default=DEFAULT):
    """np.dtype of `dtype` (a NumPy dtype, its name, or a minigrad alias); `default` for None."""
    if dtype is None:
        return default
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype or its name such as 'float32', got {dtype!r}") from None


def type_name(dtype):
    """PyTorch's legacy type string, as Tensor.type() prints it: 'minigrad.FloatTensor'."""
    return "minigrad." + _TYPE_NAMES.get(np.dtype(dtype), str(dtype))


def category(dtype):
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORIES[dtype.kind if isinstance(dtype, np.dtype) else np.dtype(dtype).kind]


def is_differentiable(dtype):
    return category(dtype) >= 2


def _promote(dtypes):
    """The result of tensors of these dtypes: the widest of the highest category (floats join complex)."""
    top = max(category(d) for d in dtypes)
    return np.result_type(*(d for d in dtypes if category(d) >= min(top, 2)))


def result_type(*operands):
    """The dtype PyTorch gives `a op b`: operands are arrays (the tensors' data) or Python/NumPy scalars."""
    ranks = {"tensor": [], "zero_dim": [], "scalar": []}
    for x in operands:
        kind = "scalar" if np.isscalar(x) or not hasattr(x, "ndim") else "tensor" if x.ndim else "zero_dim"
        ranks[kind].append(np.asarray(x).dtype if kind == "scalar" else x.dtype)
    dtype = _promote(ranks["tensor"]) if ranks["tensor"] else None
    if ranks["zero_dim"]:
        zero = _promote(ranks["zero_dim"])
        dtype = zero if dtype is None or category(zero) > category(dtype) else dtype
    if ranks["scalar"]:
        top = max(category(d) for d in ranks["scalar"])
        if dtype is None or top > category(dtype):
            # a complex scalar keeps a float64 tensor's precision (complex128), else the default
            dtype = complex128 if top == 3 and dtype == float64 else _SCALAR_DEFAULTS[top]
    return dtype
