"""`Module`, `Parameter`, `Sequential`, `ModuleList`: the containers of PyTorch's nn, with the same
registration rules and the same state_dict keys, so weights move between the two."""
from collections import OrderedDict

import numpy as np

from ..autograd import no_grad
from ..backend import device_or_dtype, get_array_module, to_device
from ..tensor import Tensor

_TABLES = ("_parameters", "_buffers", "_modules")


def _zero_grad(parameters, set_to_none):
    """Module.zero_grad and Optimizer.zero_grad: drop the gradients, or zero them in place."""
    for p in parameters:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad.array[...] = 0


def _values(named):
    """modules(), parameters(), ...: the values of the (name, value) pairs that method `named` yields."""
    return lambda self: (value for _, value in getattr(self, named)())


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class Parameter(Tensor):
    """A tensor that a Module registers as learnable; requires grad unless told otherwise."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data.array if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: assign Parameters and Modules as attributes to register them."""

    def __init__(self):
        for table in _TABLES:
            object.__setattr__(self, table, OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration ---------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        for table in _TABLES:
            self.__dict__[table].pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        for table in _TABLES:
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in _TABLES:
            if name in self.__dict__[table]:
                del self.__dict__[table][name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """A tensor saved in the state_dict but not learned (BatchNorm's running statistics)."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor

    def register_parameter(self, name, parameter):
        if parameter is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)  # PyTorch keeps e.g. `bias = None` readable
        else:
            setattr(self, name, parameter)

    def add_module(self, name, module):
        self._modules[name] = module

    # ---- traversal ------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(_join(prefix, name))

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def _named(self, table):
        """(dotted name, value) of every entry of `table` in the tree, each object once (shared ones too)."""
        seen = set()
        for prefix, module in self.named_modules():
            for name, value in getattr(module, table).items():
                if value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(prefix, name), value

    named_parameters = lambda self: self._named("_parameters")  # noqa: E731
    named_buffers = lambda self: self._named("_buffers")  # noqa: E731
    modules, children = _values("named_modules"), _values("named_children")
    parameters, buffers = _values("named_parameters"), _values("named_buffers")

    def requires_grad_(self, requires_grad=True):
        """Switch gradient recording on or off for every parameter (e.g. to freeze a network)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call fn on every submodule, then on self (as PyTorch: for custom initialization)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self):
        """Parameters and buffers by dotted name (the keys PyTorch gives the same architecture)."""
        return OrderedDict((_join(prefix, name), value.detach()) for prefix, module in self.named_modules()
                           for name, value in [*module._parameters.items(), *module._buffers.items()]
                           if value is not None)

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in place from Tensors, NumPy arrays (or anything np.asarray takes)."""
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        with no_grad():
            for key, target in own.items():
                if key not in state_dict:
                    continue
                value = state_dict[key]
                value = value.array if isinstance(value, Tensor) else value
                if not hasattr(value, "shape") or get_array_module(value) is np:
                    value = np.asarray(value)
                if tuple(value.shape) != target.shape:
                    raise ValueError(f"load_state_dict: {key!r} has shape {tuple(value.shape)} in the state dict "
                                     f"but {target.shape} in the model")
                target.array[...] = to_device(value, target.device).astype(target.dtype, copy=False)
        return missing, unexpected

    # ---- modes and devices ----------------------------------------------------------------
    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        _zero_grad(self.parameters(), set_to_none)

    def to(self, target):
        """Move every parameter and buffer to a device ('cpu', 'cuda') or cast the floating ones to a
        dtype, in place (as PyTorch's Module.to); integer buffers keep their dtype."""
        device, dtype = device_or_dtype(target)
        if dtype is None:
            convert = lambda a: to_device(a, device)  # noqa: E731
        else:
            convert = lambda a: a.astype(dtype) if a.dtype.kind in "fc" else a  # noqa: E731
        for tensor in [*self.parameters(), *self.buffers()]:
            tensor.array = convert(tensor.array)
            if tensor.grad is not None:
                tensor.grad.array = convert(tensor.grad.array)
        return self

    float = lambda self: self.to(np.float32)  # noqa: E731
    double = lambda self: self.to(np.float64)  # noqa: E731
    cpu = lambda self: self.to("cpu")  # noqa: E731
    cuda = lambda self: self.to("cuda")  # noqa: E731

    # ---- printing -------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = f"{type(self).__name__}(" + (self.extra_repr() + "\n" if self.extra_repr() else "\n")
        return head + "".join(f"  {line}\n" for line in lines) + ")"


class _ModuleSequence(Module):
    """What ModuleList and Sequential share: modules registered under the keys 0, 1, ..."""

    def __init__(self, modules):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (keys 0, 1, ...)."""

    def __init__(self, modules=()):
        super().__init__(modules)


class Sequential(_ModuleSequence):
    """Modules applied in order: Sequential(a, b)(x) == b(a(x))."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def __getitem__(self, index):
        return Sequential(*super().__getitem__(index)) if isinstance(index, slice) else super().__getitem__(index)
