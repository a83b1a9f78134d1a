"""The engine's differentiable primitives, each a `Function` on raw arrays.

Backward formulas follow PyTorch's convention for complex numbers: for y = f(x) the input gradient is
grad * conj(f'(x)). Broadcasting is undone by the engine (`autograd.unbroadcast`), not here.
"""
from .autograd import Function
from .backend import get_array_module


# ---- arithmetic ---------------------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _conj_times(grad, b, ctx.needs_input_grad[0]), _conj_times(grad, a, ctx.needs_input_grad[1])


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / _conj(b) if ctx.needs_input_grad[0] else None
        grad_b = -grad * _conj(a / (b * b)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = a**b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        grad_a = grad * _conj(b * a ** (b - 1)) if ctx.needs_input_grad[0] else None
        grad_b = grad * _conj(y * get_array_module(a).log(a)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class MatMul(Function):
    """a: (..., n, k) @ b: (..., k, m); batch dimensions broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad @ _conj(b).swapaxes(-1, -2) if ctx.needs_input_grad[0] else None
        grad_b = _conj(a).swapaxes(-1, -2) @ grad if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def _conj(x):
    return x.conj() if get_array_module(x).iscomplexobj(x) else x


def _conj_times(grad, other, needed):
    return grad * _conj(other) if needed else None


# ---- elementwise functions ----------------------------------------------------------------
class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad * _conj(ctx.saved_tensors[0])


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / _conj(ctx.saved_tensors[0])


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * _conj(ctx.saved_tensors[0]))


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = get_array_module(x)
        if xp.iscomplexobj(x):  # d|z| sends the gradient along z/|z| (0 at z = 0, as PyTorch)
            size = xp.abs(x)
            return grad * xp.where(size == 0, 0, x / xp.where(size == 0, 1, size))
        return grad * xp.sign(x)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * _conj(1 - y * y)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        if xp.iscomplexobj(x):
            y = 1 / (1 + xp.exp(-x))
        else:  # tanh form never overflows, whatever the sign of x
            y = 0.5 * (xp.tanh(0.5 * x) + 1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * _conj(y * (1 - y))


class Clamp(Function):
    """Real inputs only; the gradient passes where the input was inside [low, high] (PyTorch: ends included)."""

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        ctx.save_for_backward(inside)
        return xp.clip(x, low, high).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        positive = x > 0
        ctx.save_for_backward(positive)
        return x * positive

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return get_array_module(a, b).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = grad.dtype.type(0)
        return None, grad * condition, get_array_module(grad).where(condition, zero, grad)


class Conj(Function):
    @staticmethod
    def forward(ctx, x):
        return _conj(x)

    @staticmethod
    def backward(ctx, grad):
        return _conj(grad)


class Real(Function):
    @staticmethod
    def forward(ctx, x):
        return x.real

    @staticmethod
    def backward(ctx, grad):
        return grad


class Imag(Function):
    @staticmethod
    def forward(ctx, x):
        return x.imag

    @staticmethod
    def backward(ctx, grad):
        return grad * 1j  # d Im(z): a unit step along the imaginary axis


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine casts it back to the input's dtype


# ---- reductions ---------------------------------------------------------------------------
class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        return x.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        if not ctx.keepdim and ctx.dim is not None:
            grad = xp.expand_dims(grad, ctx.dim)
        return xp.broadcast_to(grad, ctx.shape)


class Max(Function):
    """Over all elements the gradient is shared among ties; along `dim` it goes to the index found."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        xp = get_array_module(x)
        ctx.dim, ctx.keepdim = dim, keepdim
        if dim is None:
            y = x.max()
            ctx.save_for_backward(x == y)
            return y
        index = xp.expand_dims(x.argmax(axis=dim), dim)
        ctx.save_for_backward(x, index)
        y = xp.take_along_axis(x, index, axis=dim)
        return y if keepdim else y.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        if ctx.dim is None:
            (ties,) = ctx.saved_tensors
            return ties * (grad / ties.sum())
        x, index = ctx.saved_tensors
        if not ctx.keepdim:
            grad = xp.expand_dims(grad, ctx.dim)
        out = xp.zeros(x.shape, dtype=grad.dtype)
        xp.put_along_axis(out, index, grad, axis=ctx.dim)
        return out


# ---- shapes -------------------------------------------------------------------------------
class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(get_array_module(grad).argsort(ctx.dims).tolist())


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine sums it back to the input's shape


class Index(Function):
    """x[index]; basic indexing writes the gradient back by assignment, advanced indexing adds it up."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        out = xp.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic_index(ctx.index):
            out[ctx.index] = grad
        else:  # repeated indices must add up, which plain assignment would not do
            xp.add.at(out, ctx.index, grad)
        return out


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Pad(Function):
    """Constant padding; negative amounts crop. `widths`: one (before, after) pair per dimension."""

    @staticmethod
    def forward(ctx, x, widths, value=0):
        xp = get_array_module(x)
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        if any(n <= 0 for n in out_shape):
            raise RuntimeError(f"pad: the padded size would be {out_shape}, which has a dimension <= 0 (input {x.shape})")
        ctx.source, ctx.target = _pad_windows(x.shape, widths), _pad_windows(out_shape, [(-lo, -hi) for lo, hi in widths])
        ctx.shape = x.shape
        out = xp.full(out_shape, value, dtype=x.dtype)
        out[ctx.target] = x[ctx.source]
        return out

    @staticmethod
    def backward(ctx, grad):
        out = get_array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        out[ctx.source] = grad[ctx.target]
        return out


def _pad_windows(shape, widths):
    """Slices of an array of `shape` that survive a padding of `widths` (cropped where negative)."""
    return tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(shape, widths))


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim, ctx.sizes = dim, [a.shape[dim] for a in arrays]
        return get_array_module(*arrays).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        return tuple(xp.split(grad, xp.cumsum(ctx.sizes)[:-1].tolist(), axis=ctx.dim))
