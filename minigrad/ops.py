"""The engine's differentiable primitives, each an explicit `Function` on raw arrays.

Backward formulas follow PyTorch's convention for complex numbers: for y = f(x) the input gradient is
grad * conj(f'(x)). Broadcasting is undone by the engine (`autograd.unbroadcast`), not here. Each op
saves what PyTorch's saves (the output where f' is written from it), so an in-place change to
something saved is caught exactly where PyTorch catches it.
"""
import numpy as np

from .autograd import Function
from .backend import get_array_module


def _conj(x):
    return x.conj() if get_array_module(x).iscomplexobj(x) else x


# ---- linear ops: the input gradients depend on grad alone -----------------------------------
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


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Conj(Function):
    @staticmethod
    def forward(ctx, x):
        return _conj(x)

    @staticmethod
    def backward(ctx, grad):
        return _conj(grad)


class Real(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, x):
        return x.real

    @staticmethod
    def backward(ctx, grad):
        return grad


class Imag(Function):
    returns_view = True

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


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Sign(Function):
    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0  # piecewise constant


# ---- elementwise functions y = f(x) ---------------------------------------------------------
class Elementwise(Function):
    """y = f(x) elementwise. A subclass gives `compute(xp, x)` and `derivative(xp, saved)`, f' written
    from x, or from y when `saves_output` (whichever PyTorch saves); backward is grad * conj(f')."""

    saves_output = False

    @classmethod
    def forward(cls, ctx, x, **settings):
        y = cls.compute(get_array_module(x), x, **settings)
        ctx.save_for_backward(y if cls.saves_output else x)
        ctx.settings = settings
        return y

    @classmethod
    def backward(cls, ctx, grad):
        (saved,) = ctx.saved_tensors
        return grad * _conj(cls.derivative(get_array_module(saved), saved, **ctx.settings))


class Exp(Elementwise):
    saves_output = True

    @staticmethod
    def compute(xp, x):
        return xp.exp(x)

    @staticmethod
    def derivative(xp, y):
        return y


class Log(Elementwise):
    @staticmethod
    def compute(xp, x):
        return xp.log(x)

    @staticmethod
    def derivative(xp, x):
        return 1 / x


class Sqrt(Elementwise):
    saves_output = True

    @staticmethod
    def compute(xp, x):
        return xp.sqrt(x)

    @staticmethod
    def derivative(xp, y):
        return 0.5 / y


class Tanh(Elementwise):
    saves_output = True

    @staticmethod
    def compute(xp, x):
        return xp.tanh(x)

    @staticmethod
    def derivative(xp, y):
        return 1 - y * y


class Sigmoid(Elementwise):
    saves_output = True

    @staticmethod
    def compute(xp, x):
        with np.errstate(over="ignore"):  # exp(-x) = inf below -88 gives 1 / inf = 0, exactly as PyTorch
            return 1 / (1 + xp.exp(-x))

    @staticmethod
    def derivative(xp, y):
        return y * (1 - y)


class Relu(Elementwise):
    saves_output = True

    @staticmethod
    def compute(xp, x):
        return x * (x > 0)

    @staticmethod
    def derivative(xp, y):
        return y > 0


class Abs(Elementwise):
    @staticmethod
    def compute(xp, x):
        return xp.abs(x)

    @staticmethod
    def derivative(xp, x):
        # |z| is not holomorphic: the gradient points along z/|z| (0 at z = 0, as PyTorch); for real x, sign(x)
        return _conj(x) / xp.where(x == 0, 1, xp.abs(x))


class Clamp(Elementwise):
    """Real x only; the gradient passes where x is inside [low, high], ends included (as PyTorch)."""

    @staticmethod
    def compute(xp, x, low=None, high=None):
        return xp.clip(x, low, high).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(xp, x, low=None, high=None):
        return (low is None or x >= low) & (high is None or x <= high)


# ---- arithmetic ---------------------------------------------------------------------------
class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * _conj(b) if b is not None else None, grad * _conj(a) if a is not None else None


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        (a, b), (needs_a, needs_b) = ctx.saved_tensors, ctx.needs_input_grad
        return grad / _conj(b) if needs_a else None, -grad * _conj(a / (b * b)) if needs_b else None


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = a**b
        ctx.save_for_backward(a, b, y if ctx.needs_input_grad[1] else None)
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
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad @ _conj(b).swapaxes(-1, -2) if b is not None else None,
                _conj(a).swapaxes(-1, -2) @ grad if a is not None else None)


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


class Prod(Function):
    """The product over `dim` (an int) or all elements; each input's gradient is the product of the
    others, from prefix and suffix products, so a zero needs no division."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x)
        return x.prod(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = get_array_module(x)
        rows = x.reshape(-1) if ctx.dim is None else xp.moveaxis(x, ctx.dim, -1)
        ones = xp.ones_like(rows[..., :1])
        before = xp.cumprod(xp.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)  # x_0 ... x_(i-1)
        after = xp.cumprod(xp.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]  # x_(i+1) ...
        if ctx.dim is None:
            return (grad * _conj(before * after)).reshape(x.shape)
        grad = xp.moveaxis(_restore_dim(grad, ctx.dim, ctx.keepdim), ctx.dim, -1)
        return xp.moveaxis(grad * _conj(before * after), -1, ctx.dim)


class Max(Function):
    """Over all elements the gradient is shared among ties; along `dim` it goes to the index found."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        xp = get_array_module(x)
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x.shape
        if dim is None:
            y = x.max()
            ctx.save_for_backward(x == y)
            return y
        index = xp.expand_dims(x.argmax(axis=dim), dim)
        ctx.save_for_backward(index)
        y = xp.take_along_axis(x, index, axis=dim)
        return y if keepdim else y.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        if ctx.dim is None:
            (ties,) = ctx.saved_tensors
            return ties * (grad / ties.sum())
        xp, (index,) = get_array_module(grad), ctx.saved_tensors
        out = xp.zeros(ctx.shape, dtype=grad.dtype)
        xp.put_along_axis(out, index, _restore_dim(grad, ctx.dim, ctx.keepdim), axis=ctx.dim)
        return out


# ---- shapes -------------------------------------------------------------------------------
class Reshape(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(get_array_module(grad).argsort(ctx.dims).tolist())


class Expand(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine sums it back over the broadcast dimensions


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return get_array_module(x).flip(x, dims).copy()  # PyTorch's flip copies; NumPy's is a view

    @staticmethod
    def backward(ctx, grad):
        return get_array_module(grad).flip(grad, ctx.dims)


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Index(Function):
    """x[index]; basic indexing writes the gradient back by assignment, advanced indexing adds it up."""

    returns_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        parts = index if isinstance(index, tuple) else (index,)
        if _is_basic(index) and Ellipsis not in parts:
            return x[(*parts, Ellipsis)]  # a 0-d view, not NumPy's scalar copy, when every part is an int
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad)
        out = xp.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:  # repeated indices must add up, which plain assignment would not do
            xp.add.at(out, ctx.index, grad)
        return out


class IndexPut(Function):
    """A copy of x with x[index] = value: what every in-place write computes (index ... for all of x)."""

    @staticmethod
    def forward(ctx, x, value, index=Ellipsis):
        ctx.index = index
        out = x.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        kept = grad.copy()
        kept[ctx.index] = 0  # the overwritten values no longer reach the output
        return kept, grad[ctx.index]


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
