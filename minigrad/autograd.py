"""Reverse-mode automatic differentiation: `Function`, the graph it records, and `backward`.

A `Function` sees raw arrays only. `Function.apply` runs its forward on the arrays inside the given
tensors and, when some input needs a gradient (and grad mode is on), remembers the inputs and the
`ctx` so that `backward` can later call the function's backward. The op bodies never touch the graph.

This module never imports `tensor.py`: tensor.py tells `Function` which class wraps results.
"""
import contextlib

from .backend import check_same_device, get_array_module
from .dtypes import type_name

_grad_enabled = True


def is_grad_enabled():
    """False inside `no_grad()`: then no graph is recorded."""
    return _grad_enabled


class set_grad_enabled:
    """Turn graph recording on or off, now; as a context manager, until the block ends (as PyTorch's)."""

    def __init__(self, mode):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, bool(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


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


_FREED_MESSAGE = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
                  "have already been freed). Saved intermediate values of the graph are freed when you call "
                  ".backward(). Specify retain_graph=True if you need to backward through the graph a second time.")


class Context:
    """What a Function's forward leaves for its backward: arrays in `saved_tensors`, settings as attributes."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved, self._freed = (), False

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        return self._saved

    def free(self):
        """After backward: drop the saved arrays (PyTorch frees them too, which is what bounds memory)."""
        if any(a is not None for a in self._saved):
            self._saved, self._freed = (), True


class Node:
    """One recorded call: which Function, its ctx, and per input an edge: the input's own Node (its
    grad_fn when the call happened), the leaf tensor itself, or None when it needs no gradient. Edges
    point at nodes, not tensors, so a later in-place op on an input does not reroute this one.
    `saved_versions`: the version each saved tensor had (an in-place change after it would make the
    backward wrong)."""

    __slots__ = ("function", "ctx", "edges", "input_shapes", "saved_versions", "retained_by")

    def __init__(self, function, ctx, inputs, saved_versions):
        self.function, self.ctx, self.saved_versions = function, ctx, saved_versions
        self.retained_by = []  # non-leaf tensors that asked for their .grad (retain_grad)
        self.edges = tuple((x.grad_fn or x) if getattr(x, "requires_grad", False) else None for x in inputs)
        self.input_shapes = tuple((x.shape, x.dtype) if edge is not None else None
                                  for x, edge in zip(inputs, self.edges))

    def name(self):
        return f"<{self.function.__name__}Backward>"

    def check_versions(self):
        for counter, version, dtype, shape in self.saved_versions:
            if counter[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{type_name(dtype)} {list(shape)}], which is saved by {self.name()}, is at "
                    f"version {counter[0]}; expected version {version} instead")


class Function:
    """Base class of every differentiable op: subclass with static forward(ctx, *arrays, **settings)
    returning an array, and backward(ctx, grad) returning one gradient per positional input."""

    tensor_class = None  # set by tensor.py to Tensor: what apply wraps its result in
    returns_view = False  # True where forward may return a view of its first input (reshape, index, ...)

    @staticmethod
    def forward(ctx, *arrays, **settings):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings):
        Tensor = Function.tensor_class
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if len({type(x.array) for x in tensors}) > 1:  # NumPy and CuPy arrays mixed
            check_same_device(*(x.array for x in tensors), what=f"inputs of {cls.__name__}")
        needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        ctx = Context(needs)
        output = cls.forward(ctx, *(x.array if isinstance(x, Tensor) else x for x in inputs), **settings)
        result = Tensor(output)
        if cls.returns_view and get_array_module(output).may_share_memory(output, inputs[0].array):
            result._share_memory_with(inputs[0], (cls, settings))  # an in-place change to one changes both
        if _grad_enabled and any(needs) and output.dtype.kind in "fc":  # integer results have no gradient
            saved = [a for a in ctx._saved if a is not None]
            watched = [t for t in (*tensors, result) if any(a is t.array for a in saved)]
            result.requires_grad = True
            # the counters, not the tensors: holding a saved output would keep it alive in a reference cycle
            result.grad_fn = Node(cls, ctx, inputs, [(t._version_counter, t._version, t.dtype, t.shape) for t in watched])
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


def _fit_to_input(grad, shape, dtype, node):
    """The gradient an input receives: summed over broadcasting, real for a real input, its dtype."""
    if grad.ndim >= len(shape):
        grad = unbroadcast(grad, shape)
    if grad.shape != shape:
        raise RuntimeError(f"{node.name()} returned a gradient of shape {grad.shape} for an input of shape {shape}")
    if get_array_module(grad).iscomplexobj(grad) and dtype.kind != "c":
        grad = grad.real  # a real input only moves along the real axis (PyTorch's convention)
    return grad.astype(dtype, copy=False)


def _topological_order(root):
    """Every node that `root` depends on, each after all the nodes that consume its output.

    Iterative depth-first search: a recursive one overflows on deep graphs, and the visited set is
    what makes a node used twice (b = a + a) get its gradient added, not overwritten.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((edge, False) for edge in node.edges if isinstance(edge, Node) and id(edge) not in visited)
    return order[::-1]


def backward(root, gradient, retain_graph=False):
    """Send `gradient` (d loss / d root, an array shaped like root) to every leaf that requires grad.

    Leaves accumulate into `.grad` (as PyTorch does), so call `zero_grad()` between steps. Without
    `retain_graph` the saved arrays are freed at the end, so a second backward raises.
    """
    if root.grad_fn is None:
        return _accumulate(root, gradient)
    grads, order = {id(root.grad_fn): gradient}, _topological_order(root.grad_fn)
    for node in order:
        grad = grads.pop(id(node), None)
        if grad is None:
            continue
        for tensor in node.retained_by:
            _accumulate(tensor, grad)
        node.check_versions()
        input_grads = node.function.backward(node.ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.edges):
            raise RuntimeError(f"{node.name()} returned {len(input_grads)} gradients for {len(node.edges)} inputs")
        for edge, shape_dtype, g in zip(node.edges, node.input_shapes, input_grads):
            if edge is None or g is None:
                continue
            g = _fit_to_input(g, *shape_dtype, node)
            if isinstance(edge, Node):
                grads[id(edge)] = grads[id(edge)] + g if id(edge) in grads else g
            else:
                _accumulate(edge, g)
    if not retain_graph:  # after the walk, not during it: freeing as we go made NumPy re-fault fresh memory
        for node in order:
            node.ctx.free()
            node.saved_versions = ()


def _accumulate(leaf, grad):
    """leaf.grad += grad, in place after the first time (as PyTorch); the first is a private copy,
    since backward may hand the same (or a read-only broadcast) array to several inputs."""
    if leaf.grad is None:
        leaf.grad = Function.tensor_class(get_array_module(grad).array(grad, copy=True))
    else:
        leaf.grad.array += grad
