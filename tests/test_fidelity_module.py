"""Module's registration rules, containers and in-place writers, run in PyTorch and in minigrad side by side:
the same actions must register the same names or raise the same exception with the same key phrase."""
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import minigrad
import minigrad.nn.module
from minigrad import nn, optim
from tests.helpers import copy_torch_weights

NAMES = ["Module", "Parameter", "Linear", "Sequential", "ModuleList", "BatchNorm2d", "Conv2d", "ReLU"]
TORCH = SimpleNamespace(**{n: getattr(torch.nn, n) for n in NAMES}, ModuleDict=torch.nn.ModuleDict,
                        zeros=torch.zeros, ones=torch.ones, init=torch.nn.init, optim=torch.optim)
MINI = SimpleNamespace(**{n: getattr(nn, n) for n in NAMES}, ModuleDict=minigrad.nn.module.ModuleDict,
                       zeros=minigrad.zeros, ones=minigrad.ones, init=nn.init, optim=optim)


def block(L):
    """Linear(2, 2) (parameters weight, bias) with a buffer `running`, a child `child` and a plain attribute."""
    m = L.Linear(2, 2)
    m.register_buffer("running", L.zeros(2))
    m.child = L.Linear(2, 1)
    m.plain = 3
    return m


TENSOR, PARAM, MODULE = (lambda L: L.zeros(2, 2)), (lambda L: L.Parameter(L.zeros(2, 2))), (lambda L: L.Linear(1, 1))
INT, NONE = (lambda L: 3), (lambda L: None)


def setting(name, value):
    """The action `block.<name> = value`."""
    return lambda L: [m := block(L), setattr(m, name, value(L))][0]


def calling(method, name, value=NONE, **kwargs):
    """The action `block.<method>(name, value, **kwargs)`."""
    return lambda L: [m := block(L), getattr(m, method)(name, value(L), **kwargs)][0]


CASES = {  # action, and the phrase both libraries' error must contain (None: both must succeed alike)
    "tensor over parameter": (setting("weight", TENSOR), "as parameter 'weight' ("),
    "int over parameter": (setting("weight", INT), "cannot assign 'int' as parameter 'weight' ("),
    "module over parameter": (setting("weight", MODULE), "Parameter or None expected)"),
    "None over parameter": (setting("weight", NONE), None),
    "parameter over parameter": (setting("weight", PARAM), None),
    "tensor over child": (setting("child", TENSOR), "as child module 'child' ("),
    "int over child": (setting("child", INT), "Module or None expected)"),
    "None over child": (setting("child", NONE), None),
    "parameter over child": (setting("child", PARAM), None),
    "int over buffer": (setting("running", INT), "cannot assign 'int' as buffer 'running' ("),
    "tensor over buffer": (setting("running", TENSOR), None),
    "None over buffer": (setting("running", NONE), None),
    "parameter over buffer": (setting("running", PARAM), None),
    "module over buffer": (setting("running", MODULE), None),
    "parameter over plain": (setting("plain", PARAM), None),
    "tensor over plain": (setting("plain", TENSOR), None),
    **{f"{method} over {name}": (calling(method, name, value), f"attribute '{name}' already exists")
       for method, value in (("register_buffer", TENSOR), ("register_parameter", PARAM), ("add_module", MODULE))
       for name in ("plain", "weight", "running", "child", "forward", "training") if not (
           (method, name) in {("register_buffer", "running"), ("register_parameter", "weight"),
                              ("add_module", "child")})},
    **{f"{method} dotted": (calling(method, "a.b", value), "name can't contain \".\"")
       for method, value in (("register_buffer", TENSOR), ("register_parameter", PARAM), ("add_module", MODULE))},
    **{f"{method} empty": (calling(method, "", value), "name can't be empty string \"\"")
       for method, value in (("register_buffer", TENSOR), ("register_parameter", PARAM), ("add_module", MODULE))},
    **{f"{method} int name": (calling(method, 1, value), "name should be a string. Got int")
       for method, value in (("register_buffer", TENSOR), ("register_parameter", PARAM), ("add_module", MODULE))},
    **{f"{method} None": (calling(method, "new"), None) for method in ("register_buffer", "register_parameter",
                                                                       "add_module")},
    "register_buffer int": (calling("register_buffer", "new", INT), "cannot assign 'int' object to buffer 'new' ("),
    "register_parameter tensor": (calling("register_parameter", "new", TENSOR), "object to parameter 'new' ("),
    "add_module int": (calling("add_module", "new", INT), "int is not a Module subclass"),
    "re-register buffer": (calling("register_buffer", "running", TENSOR), None),
    "non-persistent buffer": (calling("register_buffer", "scratch", TENSOR, persistent=False), None),
    "Sequential(int)": (lambda L: L.Sequential(L.Linear(1, 1), 3), "int is not a Module subclass"),
    "Sequential(None)": (lambda L: L.Sequential(None), None),
    "ModuleList([int])": (lambda L: L.ModuleList([3]), "int is not a Module subclass"),
    "ModuleList.append(int)": (lambda L: L.ModuleList().append(3), "int is not a Module subclass"),
    "ModuleList[0] = int": (lambda L: [m := L.ModuleList([L.ReLU()]), m.__setitem__(0, 3)], "as child module '0' ("),
    "ModuleDict int value": (lambda L: L.ModuleDict({"a": 3}), "int is not a Module subclass"),
    "ModuleDict dotted key": (lambda L: L.ModuleDict({"a.b": L.ReLU()}), "module name can't contain \".\""),
    "ModuleDict key 'training'": (lambda L: L.ModuleDict({"training": L.ReLU()}), "attribute 'training' already"),
    "ModuleDict(int)": (lambda L: L.ModuleDict(3), "should be called with an iterable of key/value pairs"),
    "ModuleDict short pair": (lambda L: L.ModuleDict([("a",)]), "element #0 has length 1; 2 is required"),
    "ModuleDict non-pair": (lambda L: L.ModuleDict([3]), "element #0 should be Iterable"),
}


def outcome(action, L):
    """('ok', the registered names) or (exception type, message) of running action in library L."""
    try:
        m = action(L)
    except Exception as error:  # noqa: BLE001  the exception is the result compared
        return type(error), str(error.args[0]) if error.args else ""  # a KeyError's str() would add quotes
    tables = {t: [(k, v is None) for k, v in getattr(m, t).items()] for t in ("_parameters", "_buffers", "_modules")}
    return "ok", (tables, list(m.state_dict()), [n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()])


@pytest.mark.parametrize("case", CASES)
def test_registration_as_torch(case):
    action, phrase = CASES[case]
    theirs, mine = outcome(action, TORCH), outcome(action, MINI)
    assert mine[0] == theirs[0], f"{case}: minigrad {mine}, PyTorch {theirs}"
    if phrase is None:
        assert theirs[0] == "ok" and mine[1] == theirs[1]
    else:
        assert phrase in theirs[1] and phrase in mine[1], f"{case}: {phrase!r} in {theirs[1]!r} and {mine[1]!r}?"


def test_assigning_before_init_as_torch():
    for L in (TORCH, MINI):
        class Early(L.Module):
            def __init__(self):
                self.plain = 3  # allowed before Module.__init__, as in PyTorch
                self.weight = L.Parameter(L.ones(1))

        with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
            Early()


def test_module_dict_as_torch():
    def build(L):
        d = L.ModuleDict({"b": L.Linear(2, 3), "a": L.Linear(3, 1)})
        d.update([("c", L.ReLU()), ("b", L.Linear(2, 4))])  # replacing keeps b's place
        d["d"] = L.Linear(1, 1)
        del d["c"]
        popped = d.pop("d")
        report = [list(d), list(d.keys()), [type(m).__name__ for m in d.values()], [k for k, _ in d.items()],
                  len(d), "a" in d, "c" in d, [n for n, _ in d.named_parameters()], list(d.state_dict()),
                  type(popped).__name__]
        return d, report

    (theirs, expected), (mine, got) = build(TORCH), build(MINI)
    assert got == expected
    with torch.no_grad():
        theirs["b"].weight.normal_()
    copy_torch_weights(theirs, mine)
    np.testing.assert_array_equal(mine["b"].weight.numpy(), theirs["b"].weight.detach().numpy())
    for d in (theirs, mine):
        with pytest.raises(KeyError):
            d["missing"]
        d.clear()
        assert len(d) == 0 and list(d.state_dict()) == []


def test_traversal_of_shared_and_named_modules_as_torch():
    def report(L):
        shared = L.Linear(2, 2)
        net = L.Sequential(OrderedDict([("first", shared), ("act", L.ReLU()), ("again", shared),
                                        ("norm", L.BatchNorm2d(2))]))
        sliced = net[1:3]
        listed = L.ModuleList([L.ReLU(), shared, L.ReLU()])[1:]
        return [[n for n, _ in net.named_modules()], list(net.state_dict()), [n for n, _ in net.named_parameters()],
                [n for n, _ in net.named_parameters(prefix="model")], len(list(net.parameters(recurse=False))),
                [n for n, _ in net.named_buffers()], [n for n, _ in net.named_children()], len(list(net.modules())),
                list(sliced.state_dict()), list(listed.state_dict()), list(net.state_dict(prefix="p.")),
                net.state_dict(keep_vars=True)["first.weight"].requires_grad,
                net.state_dict()["first.weight"].requires_grad]

    assert report(MINI) == report(TORCH)


def test_dcgan_weights_init_through_data_changes_the_parameters():
    """The DCGAN tutorial's weights_init: nn.init on `m.weight.data` must write into the parameter."""
    def weights_init(m, L):
        if type(m).__name__.find("Conv") != -1:
            L.init.normal_(m.weight.data, 0.0, 0.02)
        elif type(m).__name__.find("BatchNorm") != -1:
            L.init.normal_(m.weight.data, 1.0, 0.02)
            L.init.constant_(m.bias.data, 0)

    for L in (TORCH, MINI):
        net = L.Sequential(L.Conv2d(3, 64, 4), L.BatchNorm2d(64), L.Conv2d(64, 64, 4, bias=False))
        net.apply(lambda m: weights_init(m, L))
        conv = np.concatenate([net[0].weight.detach().numpy().ravel(), net[2].weight.detach().numpy().ravel()])
        assert abs(conv.std() - 0.02) < 0.001 and abs(conv.mean()) < 0.001
        assert abs(net[1].weight.detach().numpy().mean() - 1) < 0.01 and (net[1].bias.detach().numpy() == 0).all()


def _write_with_optimizer(p, L):
    p.grad = L.ones(3)
    L.optim.SGD([p], lr=0.1).step()


def _write_with_init(p, L):
    L.init.normal_(p)


def _write_with_load_state_dict(p, L):
    holder = L.Module()
    holder.p = p
    holder.load_state_dict({"p": L.ones(3)})


@pytest.mark.parametrize("write", [_write_with_optimizer, _write_with_init, _write_with_load_state_dict])
def test_writing_a_saved_parameter_breaks_backward_as_torch(write):
    """A graph that saved p before an in-place write (opt.step, nn.init, load_state_dict) refuses to backward."""
    for L in (TORCH, MINI):
        p = L.Parameter(L.ones(3))
        loss = (p * p).sum()  # saves p for the gradient
        write(p, L)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
