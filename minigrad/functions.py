"""The engine's differentiable primitives, each a `Function` on raw arrays.

Backward formulas follow PyTorch's convention for complex numbers: for y = f(x) the input gradient is
grad * conj(f'(x)). Broadcasting is undone by the engine (`autograd.unbroadcast`), not here.
"""
import operator

from .autograd import Function
from .backend import get_array_module


def _conj(x):
    return x.conj() if get_array_module(x).iscomplexobj(x) else x


def _conj_times(grad, other, needed):
    return grad * _conj(other) if needed else None


def _function(name, forward, backward):
    """A Function subclass from forward(ctx, *arrays, **settings) and backward(ctx, grad)."""
    return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


# ---- linear ops: the input gradients depend on grad alone -----------------------------------
def _linear(name, forward, backward):
    """forward(*arrays, **settings) -> array; backward(grad) -> one gradient per input."""
    return _function(name, lambda ctx, *arrays, **settings: forward(*arrays, **settings),
                     lambda ctx, grad: backward(grad))


Add = _linear("Add", operator.add, lambda grad: (grad, grad))
Sub = _linear("Sub", operator.sub, lambda grad: (grad, -grad))
Neg = _linear("Neg", operator.neg, operator.neg)
Conj = _linear("Conj", _conj, _conj)
Real = _linear("Real", lambda x: x.real, lambda grad: grad)
Imag = _linear("Imag", lambda x: x.imag, lambda grad: grad * 1j)  # d Im(z): a unit step along the imaginary axis
Cast = _linear("Cast", lambda x, dtype: x.astype(dtype), lambda grad: grad)  # the engine casts grad back to x's dtype
# the engine sums the gradient back over the broadcast dimensions
Expand = _linear("Expand", lambda x, shape: get_array_module(x).broadcast_to(x, shape), lambda grad: grad)


# ---- elementwise functions y = f(x): backward is grad * conj(f'(x)), f' written from x or y ------
def _elementwise(name, forward, derivative):
    """forward(xp, x, **settings) -> y; derivative(xp, x, y, **settings) -> f'(x).
    Saving x and y costs nothing: the graph keeps both alive anyway."""
    def forward_saving(ctx, x, **settings):
        y = forward(get_array_module(x), x, **settings)
        ctx.save_for_backward(x, y)
        ctx.settings = settings
        return y

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * _conj(derivative(get_array_module(x), x, y, **ctx.settings))
    return _function(name, forward_saving, backward)


def _sigmoid(xp, x):
    if xp.iscomplexobj(x):
        return 1 / (1 + xp.exp(-x))
    return 0.5 * (xp.tanh(0.5 * x) + 1)  # the tanh form never overflows, whatever the sign of x


Exp = _elementwise("Exp", lambda xp, x: xp.exp(x), lambda xp, x, y: y)
Log = _elementwise("Log", lambda xp, x: xp.log(x), lambda xp, x, y: 1 / x)
Sqrt = _elementwise("Sqrt", lambda xp, x: xp.sqrt(x), lambda xp, x, y: 0.5 / y)
Tanh = _elementwise("Tanh", lambda xp, x: xp.tanh(x), lambda xp, x, y: 1 - y * y)
Sigmoid = _elementwise("Sigmoid", _sigmoid, lambda xp, x, y: y * (1 - y))
Relu = _elementwise("Relu", lambda xp, x: x * (x > 0), lambda xp, x, y: x > 0)
# |z| is not holomorphic: the gradient points along z/|z| (0 at z = 0, as PyTorch); for real x, sign(x)
Abs = _elementwise("Abs", lambda xp, x: xp.abs(x), lambda xp, x, y: _conj(x) / xp.where(y == 0, 1, y))
# real x only; the gradient passes where x is inside [low, high], ends included (as PyTorch)
Clamp = _elementwise("Clamp", lambda xp, x, low=None, high=None: xp.clip(x, low, high).astype(x.dtype, copy=False),
                     lambda xp, x, y, low=None, high=None: (low is None or x >= low) & (high is None or x <= high))


# ---- arithmetic ---------------------------------------------------------------------------
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
        (a, b), (needs_a, needs_b) = ctx.saved_tensors, ctx.needs_input_grad
        return grad / _conj(b) if needs_a else None, -grad * _conj(a / (b * b)) if needs_b else None


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = a**b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (a, b, y), (needs_a, needs_b) = ctx.saved_tensors, ctx.needs_input_grad
        return (grad * _conj(b * a ** (b - 1)) if needs_a else None,
                grad * _conj(y * get_array_module(a).log(a)) if needs_b else None)


class MatMul(Function):
    """a: (..., n, k) @ b: (..., k, m); batch dimensions broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        (a, b), (needs_a, needs_b) = ctx.saved_tensors, ctx.needs_input_grad
        return (grad @ _conj(b).swapaxes(-1, -2) if needs_a else None,
                _conj(a).swapaxes(-1, -2) @ grad if needs_b else None)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return get_array_module(a, b).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        return None, grad * condition, get_array_module(grad).where(condition, grad.dtype.type(0), grad)


# ---- reductions ---------------------------------------------------------------------------
def _restore_dim(grad, dim, keepdim):
    """A reduction's gradient with the reduced dimensions put back as size 1."""
    return grad if keepdim or dim is None else get_array_module(grad).expand_dims(grad, dim)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        return x.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return get_array_module(grad).broadcast_to(_restore_dim(grad, ctx.dim, ctx.keepdim), ctx.shape)


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
        if ctx.dim is None:
            (ties,) = ctx.saved_tensors
            return ties * (grad / ties.sum())
        xp, (x, index) = get_array_module(grad), ctx.saved_tensors
        out = xp.zeros(x.shape, dtype=grad.dtype)
        xp.put_along_axis(out, index, _restore_dim(grad, ctx.dim, ctx.keepdim), axis=ctx.dim)
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
        parts = ctx.index if isinstance(ctx.index, tuple) else (ctx.index,)
        if all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts):  # basic indexing
            out[ctx.index] = grad
        else:  # repeated indices must add up, which plain assignment would not do
            xp.add.at(out, ctx.index, grad)
        return out


class Pad(Function):
    """Constant padding; negative amounts crop. `widths`: one (before, after) pair per dimension."""

    @staticmethod
    def forward(ctx, x, widths, value=0):
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        if any(n <= 0 for n in out_shape):
            raise RuntimeError(f"pad: the padded size would be {out_shape}, which has a dimension <= 0 (input {x.shape})")
        # the slices of each side that survive: the input's uncropped part lands in the output's unpadded part
        ctx.source, ctx.target = _kept(x.shape, widths), _kept(out_shape, [(-lo, -hi) for lo, hi in widths])
        ctx.shape = x.shape
        out = get_array_module(x).full(out_shape, value, dtype=x.dtype)
        out[ctx.target] = x[ctx.source]
        return out

    @staticmethod
    def backward(ctx, grad):
        out = get_array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        out[ctx.source] = grad[ctx.target]
        return out


def _kept(shape, widths):
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
