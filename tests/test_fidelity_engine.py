"""PyTorch habits, run twice from the same source text: once with `torch`, once with minigrad as `torch`.

Where PyTorch gives numbers, minigrad must give the same numbers; where PyTorch raises, minigrad must
raise the same exception type with the same key phrase (asserted in PyTorch's message too).
"""
import importlib
import re

import numpy as np
import pytest
import torch as real_torch

import minigrad


def plain(value):
    """Values of either library as NumPy arrays, names and Python numbers, so they can be compared."""
    if isinstance(value, (real_torch.Tensor, minigrad.Tensor)):
        return value.detach().numpy() if isinstance(value, real_torch.Tensor) else value.numpy()
    if isinstance(value, (real_torch.dtype, np.dtype)):
        return str(value).replace("torch.", "")
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, real_torch.device):
        return str(value)
    return value


def run(source, module):
    namespace = {"torch": module, "nn": module.nn, "np": np}
    exec(source, namespace)
    return plain(namespace["result"])


def assert_equal(actual, expected, atol, where="result"):
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_equal(a, e, atol, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and (actual.shape, actual.dtype) == (expected.shape, expected.dtype), \
            f"{where}: {actual!r} != {expected!r}"
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=1e-6, err_msg=where)
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def assert_same(source, phrase=None, atol=1e-6):
    """Run `source` with both libraries; it leaves `result`, or raises an error containing `phrase`."""
    try:
        expected = run(source, real_torch)
    except Exception as error:  # PyTorch raised: minigrad must raise the same kind of error
        assert phrase is not None and phrase in str(error), f"PyTorch raised {error!r}; expected phrase {phrase!r}"
        with pytest.raises(type(error), match=re.escape(phrase)):
            run(source, minigrad)
        return
    assert phrase is None, f"PyTorch did not raise; expected {phrase!r}"
    assert_equal(run(source, minigrad), expected, atol)


X = "x = torch.tensor([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]], requires_grad=True)\n"
IN_PLACE = {
    "augmented assignment updates the same parameter": X + """
loss = (x * x).sum()
loss.backward()
before = id(x)
with torch.no_grad():
    x -= 0.1 * x.grad
    x *= 2
    x /= 4
    x += 1
result = [x, id(x) == before, x.requires_grad, x.is_leaf, x.grad]""",
    "in-place methods chain on a plain tensor": """
x = torch.tensor([1.0, -2.0, 3.0]); y = x
x.add_(1).mul_(2).sub_(torch.tensor([1.0, 1.0, 1.0]), alpha=2).div_(4).clamp_(min=0)
z = torch.zeros(3).copy_(x).fill_(7).zero_()
result = [y, x is y, z]""",
    "manual SGD through .data": X + """
(x ** 2).sum().backward()
x.data.sub_(x.grad.data * 0.5)
x.grad.data.zero_()
result = [x, x.grad, x.requires_grad]""",
    "a non-leaf changed in place keeps its gradient right": X + """
c = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
b = x * 1
b.mul_(c)
b.add_(x)
b.sum().backward()
result = [b, x.grad, c.grad]""",
    "an earlier consumer of a tensor changed in place is not rerouted": X + """
h = x * 2
y = h * 3
h.mul_(5)
(y.sum() + h.sum()).backward()
result = [y, h, x.grad]""",
    "index assignment into a non-leaf": X + """
h = x * 2
h[0, 1] = 5.0
h[1] = h[1] * 3
h.sum().backward()
result = [h, x.grad]""",
    "index assignment of a value that requires grad": X + """
buffer = torch.zeros(2, 3)
buffer[0] = x[1] * 2
buffer[1, 1:] = torch.tensor(4.0)
(buffer * buffer).sum().backward()
result = [buffer, x.grad, buffer.requires_grad]""",
    "in-place changes through views reach the base tensor and its gradient": X + """
h = x * 2
h[0, 1].mul_(2)
row = h[1]
row += torch.tensor([1.0, 2.0, 3.0])
h.view(-1)[5].mul_(10)
h.T[0].mul_(3)
(h * torch.arange(6.0).reshape(2, 3)).sum().backward()
result = [h, row, x.grad]""",
    "a view of a plain buffer takes a value that requires grad": X + """
buffer = torch.zeros(2, 3)
buffer[0].copy_(x[1] * 2)
buffer.sum().backward()
result = [buffer, buffer.requires_grad, x.grad]""",
    "uniform_ and normal_ fill in place with the asked distribution": """
torch.manual_seed(0)
x = torch.empty(20000); y = x
x.uniform_(2.0, 3.0)
n = torch.zeros(20000).normal_(1.0, 2.0)
result = [y is x, bool(x.min() >= 2.0), bool(x.max() < 3.0), round(float(x.mean()), 1),
          round(float(n.mean()), 1), round(float(n.std()), 1), x.dtype]""",
    "clone copies, and its gradient flows back": """
x = torch.tensor([1.0, 2.0], requires_grad=True)
c = x.clone()
c.mul_(3)
c.sum().backward()
d = x.detach().clone()
d.add_(1)
result = [x, c, d, x.grad]""",
    ".data changes are hidden from autograd": """
x = torch.tensor([1.0, 2.0], requires_grad=True)
h = x.exp()
h.data.add_(1)
h.sum().backward()
result = x.grad""",
    "retain_graph allows a second backward": X + """
y = (x * x).sum()
y.backward(retain_graph=True)
y.backward()
result = x.grad""",
    "a graph without saved tensors can be run twice": X + """
y = (x + 1).sum()
y.backward()
y.backward()
result = x.grad""",
}

IN_PLACE_ERRORS = {
    "in-place on a leaf that requires grad": (X + "x.add_(1)", "a leaf Variable that requires grad is being used in an in-place operation"),
    "augmented assignment on a leaf outside no_grad": (X + "x -= 1", "a leaf Variable that requires grad is being used in an in-place operation"),
    "in-place on a view of such a leaf": (X + "x[0].fill_(1)", "a view of a leaf Variable that requires grad is being used in an in-place operation"),
    "index assignment into such a leaf": (X + "x[0, 0] = 1.0", "a leaf Variable that requires grad is being used in an in-place operation"),
    "a saved output modified": (X + "s = x.sigmoid()\ns.mul_(2)\ns.sum().backward()", "modified by an inplace operation"),
    "a saved input modified": (X + "h = x * 2\ny = h * h\nh.add_(1)\ny.sum().backward()", "modified by an inplace operation"),
    "a saved tensor modified through detach()": (X + "h = x.exp()\nh.detach().add_(1)\nh.sum().backward()", "modified by an inplace operation"),
    "a parameter stepped before a second backward": ("""
w = nn.Parameter(torch.tensor([1.0, 2.0]))
opt = torch.optim.SGD([w], lr=0.1)
y = (w * w).sum()
z = (w * w).sum()
y.backward()
opt.step()
z.backward()""", "modified by an inplace operation"),
    "backward twice": (X + "y = (x * x).sum()\ny.backward()\ny.backward()", "Trying to backward through the graph a second time"),
    "an integer tensor += a float": ("torch.ones(2, dtype=torch.long).add_(1.5)", "result type Float can't be cast to the desired output type Long"),
    "an in-place result that would need a larger shape": ("torch.ones(3).add_(torch.ones(2, 3))", "doesn't match the broadcast shape"),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_gives_pytorchs_numbers(name):
    assert_same(IN_PLACE[name])


@pytest.mark.parametrize("name", IN_PLACE_ERRORS)
def test_in_place_misuse_raises_pytorchs_error(name):
    assert_same(*IN_PLACE_ERRORS[name])


NUMERICS = {
    "sigmoid over the whole float32 range": """
x = torch.tensor([-104.0, -90.0, -30.0, -20.0, -17.0, 0.0, 17.0, 20.0, 90.0], requires_grad=True)
y = torch.sigmoid(x)
y.sum().backward()
result = [y, x.grad]""",
    "BCELoss on a saturated discriminator": """
logits = torch.tensor([-30.0, -20.0, 20.0, 30.0], requires_grad=True)
loss = nn.BCELoss()(torch.sigmoid(logits), torch.tensor([1.0, 1.0, 0.0, 0.0]))
loss.backward()
result = [loss, logits.grad]""",
    "NumPy and Python scalars are weak in promotion": """
f, i, b = torch.ones(2), torch.ones(2, dtype=torch.long), torch.ones(2, dtype=torch.bool)
result = [(f * np.float64(2)).dtype, (f * 2.0).dtype, (i * 2.5).dtype, (i * 2).dtype, (i / i).dtype,
          (f + i).dtype, (f + torch.tensor(1.0, dtype=torch.float64)).dtype, (b + 1).dtype, (f * 1j).dtype,
          (f.double() * 1j).dtype, (i + np.int32(3)).dtype, (2 - f).dtype, (i ** 2).dtype]""",
    "Python complex scalars in backward": """
x = torch.tensor([1.0, -2.0], requires_grad=True)
((x * (1 + 2j)) * (1 - 1j)).real.sum().backward()
g1 = x.grad.clone()
x.grad = None
(x * 1j).abs().sum().backward()
result = [g1, x.grad]""",
    "where with a scalar branch": """
x = torch.tensor([-1.0, 2.0], requires_grad=True)
y = torch.where(x > 0, x, 0.0)
y.sum().backward()
result = [y, x.grad, torch.where(x > 0, 1.0, x).dtype]""",
}
NUMERIC_ERRORS = {
    "where with a float condition": ("torch.where(torch.ones(2), torch.ones(2), torch.zeros(2))", "where expected condition to be a boolean tensor"),
    "randn of an integer dtype": ("torch.randn(2, dtype=torch.int64)", "not implemented for 'Long'"),
    "BCELoss target outside [0, 1]": ("nn.BCELoss()(torch.full((2,), 0.5), torch.tensor([2.0, 0.0]))", "all elements of target should be between 0 and 1"),
    "BCELoss input outside [0, 1]": ("nn.BCELoss()(torch.tensor([1.5, 0.5]), torch.tensor([1.0, 0.0]))", "all elements of input should be between 0 and 1"),
    "masked_fill with a float mask": ("torch.ones(2).masked_fill(torch.ones(2), 0.0)", "masked_fill_ only supports boolean masks"),
    "the same parameter in two groups": ("p = nn.Parameter(torch.ones(2))\ntorch.optim.SGD([{'params': [p]}, {'params': [p]}], lr=0.1)",
                                         "some parameters appear in more than one parameter group"),
    "a plain tensor over a parameter": ("m = nn.Linear(2, 2)\nm.weight = torch.ones(2, 2)", "as parameter 'weight'"),
    "a plain tensor over a bias that is None": ("m = nn.Linear(2, 2, bias=False)\nm.bias = torch.zeros(2)", "as parameter 'bias'"),
    "t() of a 3-D tensor": ("torch.ones(2, 2, 2).t()", "t() expects a tensor with <= 2 dimensions"),
}


@pytest.mark.parametrize("name", NUMERICS)
def test_numerics_match_pytorch(name):
    assert_same(NUMERICS[name], atol=1e-12 if "sigmoid" in name else 1e-6)


@pytest.mark.parametrize("name", NUMERIC_ERRORS)
def test_numeric_misuse_raises_pytorchs_error(name):
    assert_same(*NUMERIC_ERRORS[name])


def test_data_can_be_assigned():
    for torch in (real_torch, minigrad):
        conv = torch.nn.Conv2d(1, 1, 2, bias=False)
        conv.weight.data = torch.ones(1, 1, 2, 2)
        assert [n for n, _ in conv.named_parameters()] == ["weight"]
        out = conv(torch.ones(1, 1, 3, 3))
        assert float(out.sum().detach()) == 16.0 and conv.weight.requires_grad


A = "a = torch.tensor([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]], requires_grad=True)\n"
SURFACE = [  # expressions evaluated on `a` (2x3, requires grad); differentiable results are backpropagated
    "a.pow(2)", "a.matmul(a.T)", "a.mm(a.t())", "torch.matmul(a, a.T)", "a.sign()", "a.square()", "a.std()",
    "a.var(0)", "a.std(1, keepdim=True)", "a.var(unbiased=False)", "a.prod()", "a.prod(1)", "(a.detach() * 0).prod(0)",
    "(a > 0).all()", "(a > 0).any(1)", "a.eq(a)", "a.ne(0.5)", "a.lt(1)", "a.gt(1)", "a.le(1)", "a.ge(1)",
    "a.flip(0)", "a.flip(0, 1)", "a.repeat(2, 1, 3)", "a.chunk(2, 1)", "a.split([1, 2], 1)", "a.split(2, 1)",
    "a[0].expand_as(a)", "a.masked_fill(a > 0, 0.0)", "a.softmax(1)", "a.log_softmax(0)", "a.argmax(1)",
    "a.float()", "a.long()", "a.type(torch.float64)", "a.size()", "a.size(1)", "a.sum(1)", "torch.sum(a, 1)",
    "torch.mean(a)", "torch.reshape(a, (-1,))", "torch.flatten(a)", "torch.transpose(a, 0, 1)",
    "torch.permute(a, (1, 0))", "torch.squeeze(a[None])", "torch.unsqueeze(a, 0)", "torch.exp(a)", "torch.log(a.abs())",
    "torch.clamp(a, -0.5, 0.5)", "torch.allclose(a, a + 1e-9)", "torch.softmax(a, 1)", "torch.max(a)", "a.max(1)[0]",
    "a.min()", "torch.abs(a)", "abs(a)", "~(a > 0)", "(a > 0) & (a < 2)", "a.view_as(a.T)", "a.numel()", "a.dim()",
    "torch.from_numpy(np.ones(3))", "torch.as_tensor([1, 2])", "torch.as_tensor(np.ones(2, np.float32))",
    "torch.eye(3)", "torch.eye(2, 3)", "torch.empty(2, 3).shape", "torch.full_like(a, 7)", "torch.randn_like(a).shape",
    "torch.randint(0, 10, (5,)).dtype", "torch.randint(10, (5,)).shape", "sorted(torch.randperm(5).tolist())",
    "torch.is_tensor(a)", "torch.rand(size=(2, 3)).shape", "torch.randn(size=(2,)).shape", "torch.zeros(size=(2,))",
    "isinstance(torch.cuda.is_available(), bool)", "torch.device('cpu').type", "str(torch.device('cpu'))",
    "[torch.float, torch.double, torch.long, torch.int, torch.bool]", "torch.ones(2, dtype=torch.float).dtype",
    "torch.full((2,), 1.0).dtype", "torch.tensor([1, 2]).float().mean()", "a.add(1, alpha=2)", "a.sub(a, alpha=0.5)",
]


@pytest.mark.parametrize("expression", SURFACE)
def test_everyday_surface(expression):
    assert_same(A + f"""
out = {expression}
several = isinstance(out, tuple) and all(isinstance(o, torch.Tensor) for o in out)
outs = out if several else (out,)
for o in outs:
    if isinstance(o, torch.Tensor) and o.requires_grad:
        (o * torch.arange(o.numel(), dtype=o.dtype).reshape(o.shape)).sum().backward(retain_graph=True)
result = [list(outs) if several else out, a.grad]""")


def test_utils_data_batches_as_torch():
    outputs = {}
    for torch in (real_torch, minigrad):
        data = importlib.import_module(f"{torch.__name__}.utils.data")
        dataset = data.TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
        outputs[torch] = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in data.DataLoader(dataset, batch_size=2)]
        with torch.inference_mode():
            assert not (torch.ones(1, requires_grad=True) * 2).requires_grad
    assert outputs[minigrad] == outputs[real_torch] and len(outputs[real_torch]) == 3


def test_set_grad_enabled_as_call_and_context():
    for torch in (real_torch, minigrad):
        x = torch.ones(2, requires_grad=True)
        with torch.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad
        torch.set_grad_enabled(False)
        assert not (x * 2).requires_grad
        torch.set_grad_enabled(True)
        assert (x * 2).requires_grad
