"""Reverse-mode automatic differentiation: `Function`, the graph it records, and `backward`.

A `Function` sees raw arrays only. `Function.apply` runs its forward on the arrays inside the given
tensors and, when some input needs a gradient (and grad mode is on), remembers the inputs and the
`ctx` so that `backward` can later call the function's backward. The op bodies never touch the graph.
"""
import contextlib

from .backend import check_same_device, get_array_module

_grad_enabled = True


def is_grad_enabled():
    """False inside `no_grad()`: then no graph is recorded."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


def no_grad():
    """Context manager (or decorator) in which no graph is recorded: for inference and updates."""
    return _GradMode(False)


def enable_grad():
    """Context manager (or decorator) that records the graph again inside a `no_grad()` block."""
    return _GradMode(True)


class Context:
    """What a Function's forward leaves for its backward."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Node:
    """One recorded call: which Function, its ctx, and the inputs to send gradients to."""

    __slots__ = ("function", "ctx", "inputs")

    def __init__(self, function, ctx, inputs):
        self.function, self.ctx, self.inputs = function, ctx, inputs

    def name(self):
        return f"<{self.function.__name__}Backward>"


class Function:
    """Base class of every differentiable op: subclass with static forward(ctx, *arrays, **settings)
    returning an array, and backward(ctx, grad) returning one gradient per positional input."""

    @staticmethod
    def forward(ctx, *arrays, **settings):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings):
        Tensor = tensor_module.Tensor
        arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]
        check_same_device(*(x.array for x in inputs if isinstance(x, Tensor)), what=f"inputs of {cls.__name__}")
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        record = _grad_enabled and any(needs)
        ctx = Context(needs)
        result = Tensor(cls.forward(ctx, *arrays, **settings))
        if record:
            result.requires_grad = True
            result.grad_fn = Node(cls, ctx, inputs)
        return result


def unbroadcast(grad, shape):
    """Sum `grad` over the dimensions that broadcasting added or stretched, back to `shape`."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _fit_to_input(grad, tensor, node):
    """The gradient an input receives: summed over broadcasting, real for a real input, its dtype."""
    if grad.ndim >= tensor.ndim:
        grad = unbroadcast(grad, tensor.shape)
    if grad.shape != tensor.shape:
        raise RuntimeError(f"{node.name()} returned a gradient of shape {grad.shape} for an input of shape {tensor.shape}")
    xp = get_array_module(grad)
    if xp.iscomplexobj(grad) and not xp.iscomplexobj(tensor.array):
        grad = grad.real  # a real input only moves along the real axis (PyTorch's convention)
    return grad.astype(tensor.dtype, copy=False)


def _topological_order(root):
    """Every tensor that `root` depends on, inputs before the tensors computed from them.

    Iterative depth-first search: a recursive one overflows on deep graphs, and the visited set is
    what makes a node used twice (b = a + a) get its gradient added, not overwritten.
    """
    Tensor = tensor_module.Tensor
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.grad_fn is not None:
            for x in tensor.grad_fn.inputs:
                if isinstance(x, Tensor) and x.requires_grad and id(x) not in visited:
                    stack.append((x, False))
    return order


def backward(root, gradient):
    """Send `gradient` (d loss / d root, an array shaped like root) to every leaf that requires grad.

    Leaves accumulate into `.grad` (as PyTorch does), so call `zero_grad()` between steps.
    """
    Tensor = tensor_module.Tensor
    grads = {id(root): gradient}
    for tensor in reversed(_topological_order(root)):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        node = tensor.grad_fn
        if node is None:  # a leaf: keep the gradient
            tensor.grad = Tensor(grad) if tensor.grad is None else Tensor(tensor.grad.array + grad)
            continue
        input_grads = node.function.backward(node.ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(f"{node.name()} returned {len(input_grads)} gradients for {len(node.inputs)} inputs")
        for x, g in zip(node.inputs, input_grads):
            if isinstance(x, Tensor) and x.requires_grad and g is not None:
                g = _fit_to_input(g, x, node)
                grads[id(x)] = grads[id(x)] + g if id(x) in grads else g


from . import tensor as tensor_module  # noqa: E402  (last: tensor.py builds on this module)
