"""`Module`, `Parameter`, `Sequential`, `ModuleList`, `ModuleDict`: the containers of PyTorch's nn, with the
same registration rules, the same errors and the same state_dict keys, so weights move between the two."""
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Mapping

import numpy as np

from ..autograd import no_grad
from ..backend import device_or_dtype, get_array_module, to_device
from ..tensor import Tensor

_TABLES = ("_parameters", "_buffers", "_modules")
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])  # load_state_dict's result


def _zero_grad(parameters, set_to_none):
    """Module.zero_grad and Optimizer.zero_grad: drop the gradients, or zero them in place."""
    for p in parameters:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad.array[...] = 0


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def typename(value):
    """How PyTorch's errors name a value's type: 'int', 'minigrad.tensor.Tensor', 'minigrad.nn.layers.Linear'."""
    module = type(value).__module__
    return type(value).__qualname__ if module in ("builtins", "") else f"{module}.{type(value).__qualname__}"


def _cannot_assign(value, kind, name, expected):
    return TypeError(f"cannot assign {typename(value)!r} as {kind} {name!r} ({expected} or None expected)")


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
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- registration (PyTorch's rules, in PyTorch's order) --------------------------------
    def __setattr__(self, name, value):
        params, buffers, modules = (self.__dict__.get(table) for table in _TABLES)
        if isinstance(value, Parameter):
            self._forget(name, "parameters", keep=params)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise _cannot_assign(value, "parameter", name, "minigrad.nn.Parameter")
            params[name] = None  # still registered, as PyTorch: `m.bias = None` keeps the key
        elif isinstance(value, Module):
            self._forget(name, "module", keep=modules)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise _cannot_assign(value, "child module", name, "minigrad.nn.Module")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise _cannot_assign(value, "buffer", name, "minigrad.Tensor")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, kind, keep):
        """Before `name` is registered as a `kind`: drop it from every other table (`keep` keeps its place)."""
        if keep is None:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")
        for table in (self.__dict__, *(self.__dict__[t] for t in _TABLES)):
            if table is not keep:
                table.pop(name, None)
        self._non_persistent_buffers.discard(name)

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
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _check_new_name(self, kind, name, table):
        """PyTorch's refusals for a new entry's name: not a string, empty, dotted, or taken by another attribute."""
        if table not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {typename(name)}")
        if "." in name:  # dots separate the levels of state_dict keys
            raise KeyError(f"{kind} name can't contain \".\"" + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[table]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor saved in the state_dict (unless persistent=False) but not learned (BatchNorm's statistics)."""
        self._check_new_name("buffer", name, "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {typename(tensor)!r} object to buffer {name!r} "
                            "(minigrad Tensor or None required)")
        self._buffers[name] = tensor
        (self._non_persistent_buffers.discard if persistent else self._non_persistent_buffers.add)(name)

    def register_parameter(self, name, parameter):
        """A learnable Parameter, or None (e.g. `bias`, readable as None and absent from the state_dict)."""
        self._check_new_name("parameter", name, "_parameters")
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(f"cannot assign {typename(parameter)!r} object to parameter {name!r} "
                            "(minigrad.nn.Parameter or None required)")
        self._parameters[name] = parameter

    def add_module(self, name, module):
        """A child Module (or None) under `name`; its entries get the prefix `name.` in the state_dict."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{typename(module)} is not a Module subclass")
        self._check_new_name("module", name, "_modules")
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) of self and every submodule, depth first; a shared one once, unless told."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, _join(prefix, name), remove_duplicate)

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def _named(self, table, prefix, recurse, remove_duplicate):
        """(dotted name, value) of the entries of `table` in the tree (or in self only), each object once."""
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is not None and not (remove_duplicate and id(value) in seen):
                    seen.add(id(value))
                    yield _join(module_prefix, name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    modules = lambda self: (m for _, m in self.named_modules())  # noqa: E731
    children = lambda self: (m for _, m in self.named_children())  # noqa: E731
    parameters = lambda self, recurse=True: (p for _, p in self.named_parameters(recurse=recurse))  # noqa: E731
    buffers = lambda self, recurse=True: (b for _, b in self.named_buffers(recurse=recurse))  # noqa: E731

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
    def _state_entries(self):
        """(key, tensor) of every parameter and persistent buffer; a shared one under each of its names."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            buffers = [(n, b) for n, b in module._buffers.items() if n not in module._non_persistent_buffers]
            for name, value in [*module._parameters.items(), *buffers]:
                if value is not None:
                    yield _join(prefix, name), value

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name (the keys PyTorch gives the same architecture),
        detached but sharing memory with the model."""
        destination = OrderedDict() if destination is None else destination
        for key, value in self._state_entries():
            destination[prefix + key] = value if keep_vars else value.detach()
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in place from Tensors, NumPy arrays (or anything np.asarray takes).

        As PyTorch: every value that fits is copied, then one RuntimeError lists the size mismatches and
        (if strict) the missing and unexpected keys; returns (missing_keys, unexpected_keys)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = OrderedDict(self._state_entries())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        with no_grad():
            for key, target in own.items():
                if key not in state_dict:
                    continue
                value = state_dict[key]
                value = value.array if isinstance(value, Tensor) else value
                if not hasattr(value, "shape") or get_array_module(value) is np:
                    value = np.asarray(value)
                if tuple(value.shape) != target.shape:
                    errors.append(f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} from "
                                  f"checkpoint, the shape in current model is {target.shape}.")
                    continue
                target.array[...] = to_device(value, target.device).astype(target.dtype, copy=False)
                target._bump_version()  # a graph that saved the old value must refuse to backward
        quoted = lambda keys: ", ".join(f'"{key}"' for key in keys)  # noqa: E731
        if strict:
            errors[:0] = ([f"Missing key(s) in state_dict: {quoted(missing)}. "] if missing else []) + \
                         ([f"Unexpected key(s) in state_dict: {quoted(unexpected)}. "] if unexpected else [])
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        return IncompatibleKeys(missing, unexpected)

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
        self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):  # as PyTorch: a ModuleList renumbered, a Sequential keeping its keys
            items = list(self._modules.items())[index]
            return Sequential(OrderedDict(items)) if isinstance(self, Sequential) else ModuleList(m for _, m in items)
        return list(self._modules.values())[index]

    def __setitem__(self, index, module):
        setattr(self, list(self._modules)[index], module)  # setattr refuses a non-Module, as PyTorch

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (keys 0, 1, ...)."""

    def __init__(self, modules=()):
        super().__init__(modules)


class Sequential(_ModuleSequence):
    """Modules applied in order: Sequential(a, b)(x) == b(a(x)); Sequential(OrderedDict(name=module, ...))
    registers them under those names."""

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            super().__init__(())
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            super().__init__(modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered under their keys (state_dict 'key.weight').

    Built from a mapping or from (key, module) pairs, as PyTorch's nn.ModuleDict."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    keys = lambda self: self._modules.keys()  # noqa: E731
    items = lambda self: self._modules.items()  # noqa: E731
    values = lambda self: self._modules.values()  # noqa: E731
    clear = lambda self: self._modules.clear()  # noqa: E731

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        """Add or replace entries from a mapping (its order) or from an iterable of (key, module) pairs."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value pairs, "
                            f"but got {type(modules).__name__}")
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for j, pair in enumerate(pairs):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is{type(pair).__name__}")
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length {len(pair)}; 2 is required")
            self[pair[0]] = pair[1]
