"""The engine against PyTorch: every op's value and gradient in float64 and complex128."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minigrad
from tests.helpers import assert_close, compare_with_torch, random_array


def check_op(fn, shapes, dtype=np.float64, positive=False, device="cpu", mini_fn=None, seed=0):
    """Run fn on minigrad and torch tensors of the same random values; compare outputs and all input grads."""
    rng, between = np.random.default_rng(seed), (0.5, 2.0) if positive else None
    compare_with_torch(mini_fn or fn, fn, *[random_array(s, dtype, rng, between) for s in shapes], device=device)


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "rsub": lambda a, b: 2.5 - a * b,
    "rdiv": lambda a, b: 1.5 / b + a, "scalar_pow": lambda a, b: a ** 3 + b ** 0.5 + 2 ** a,
}
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 2))]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_binary_ops_broadcast(name, shapes, device):
    check_op(BINARY[name], shapes, positive=True, device=device)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_ops_complex(name):
    check_op(BINARY[name], [(3, 4), (4,)], dtype=np.complex128, positive=True)


UNARY = {
    "neg": lambda x: -x, "exp": lambda x: x.exp(), "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(), "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: (x - 1).relu(), "clamp": lambda x: x.clamp(min=0.8, max=1.5),
    "clamp_min": lambda x: x.clamp(min=1.0), "conj_mul": lambda x: x.conj() * x,
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops(name, device):
    check_op(UNARY[name], [(4, 5)], positive=True, device=device)


@pytest.mark.parametrize("name", ["neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "conj_mul"])
def test_unary_ops_complex(name):
    check_op(UNARY[name], [(4, 5)], dtype=np.complex128, positive=True)


def test_real_imag_complex():
    check_op(lambda z: z.real * 2 + z.imag ** 2, [(3, 3)], dtype=np.complex128)


def test_mixed_real_complex_gives_real_gradient():
    a, z = minigrad.tensor([1.0, 2.0], requires_grad=True, dtype="float64"), minigrad.tensor([1j, 2 + 1j], requires_grad=True)
    ta, tz = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True), torch.tensor([1j, 2 + 1j], requires_grad=True)
    (a * z).abs().sum().backward()
    (ta * tz).abs().sum().backward()
    assert a.grad.dtype == np.float64
    assert_close(a.grad, ta.grad, rtol=1e-6)
    assert_close(z.grad, tz.grad, rtol=1e-6)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 1, 3, 4), (5, 4, 2))])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_matmul(shapes, dtype, device):
    check_op(lambda a, b: a @ b, shapes, dtype=dtype, device=device)


@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(dim, keepdim, device):
    check_op(lambda x: x.sum(dim=dim, keepdim=keepdim) * x.mean(dim=dim, keepdim=keepdim), [(2, 3, 4)], device=device)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_dim(dim, keepdim):
    check_op(lambda x: x.max(dim=dim, keepdim=keepdim).values - x.min(dim=dim, keepdim=keepdim).values, [(3, 4, 5)])
    x = minigrad.randn(3, 4, 5)
    assert np.array_equal(x.max(dim=dim).indices.numpy(), torch.tensor(x.numpy()).max(dim=dim).indices.numpy())


def test_max_over_all_shares_ties():
    check_op(lambda x: x.max() * 2 + x.min(), [(3, 4)])
    x = minigrad.tensor([1.0, 3.0, 3.0], requires_grad=True, dtype="float64")
    t = torch.tensor([1.0, 3.0, 3.0], requires_grad=True, dtype=torch.float64)
    x.max().backward(), t.max().backward()
    assert_close(x.grad, t.grad)


SHAPE_OPS = {
    "reshape": lambda x: x.reshape(6, 4) * 2, "view": lambda x: x.view(-1, 3),
    "flatten": lambda x: x.flatten(1), "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2), "unsqueeze": lambda x: x.unsqueeze(1).unsqueeze(-1),
    "squeeze": lambda x: x[:, :1].squeeze(1), "squeeze_all": lambda x: x[:1, :1].squeeze(),
    "expand": lambda x: x[:, :1].expand(2, 3, 4) * x, "expand_new": lambda x: x.expand(5, 2, 3, 4),
    "slice": lambda x: x[1, ::2, 1:3], "ellipsis": lambda x: x[..., -1], "none": lambda x: x[None, :, 0],
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_ops(name, device):
    check_op(SHAPE_OPS[name], [(2, 3, 4)], device=device)


def test_advanced_indexing_with_repeats_adds_up():
    index = [0, 2, 0, 0]
    check_op(lambda x: x[index] * 3, [(3, 4)], mini_fn=lambda x: x[index] * 3)
    mask = np.array([True, False, True])
    check_op(lambda x: x[torch.tensor(mask)], [(3, 2)], mini_fn=lambda x: x[minigrad.tensor(mask)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("amounts", [(1, 2), (2, 1, 0, 2), (1, 1, 1, 1)])
def test_pad(mode, amounts):
    shape = (3, 4, 5) if len(amounts) == 2 else (2, 3, 4, 5)  # torch's non-constant modes need these ranks
    check_op(lambda x: torch.nn.functional.pad(x, amounts, mode=mode), [shape],
             mini_fn=lambda x: minigrad.pad(x, amounts, mode=mode))


def test_pad_negative_crops():
    check_op(lambda x: torch.nn.functional.pad(x, (-1, 2, 0, -2)), [(3, 4, 5)],
             mini_fn=lambda x: minigrad.pad(x, (-1, 2, 0, -2)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(dim):
    check_op(lambda a, b: torch.cat([a, b, a], dim=dim), [(2, 3), (2, 3)],
             mini_fn=lambda a, b: minigrad.cat([a, b, a], dim=dim))
    check_op(lambda a, b: torch.stack([a, b], dim=dim), [(2, 3), (2, 3)],
             mini_fn=lambda a, b: minigrad.stack([a, b], dim=dim))


def test_where():
    cond = np.array([[True, False, True]])
    check_op(lambda a, b: torch.where(torch.tensor(cond), a, b), [(2, 3), (3,)],
             mini_fn=lambda a, b: minigrad.where(minigrad.tensor(cond), a, b))


def test_node_used_twice_accumulates():
    """b = a + a; c = b + b: a naive recursion that overwrites instead of adding gets 2, not 4."""
    a = minigrad.tensor(-4.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0
    x = minigrad.tensor([2.0, 3.0], requires_grad=True)
    y = x * x
    (y * y + y).sum().backward()  # d/dx (x^4 + x^2) = 4x^3 + 2x
    assert np.allclose(x.grad.numpy(), [36.0, 114.0])


def test_gradients_accumulate_across_backward_calls():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert np.allclose(x.grad.numpy(), [6.0, 6.0])


def test_no_grad_and_detach_cut_the_graph():
    x = minigrad.tensor([1.0], requires_grad=True)
    with minigrad.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = x.detach() * 2
    assert not z.requires_grad
    w = (x * 2).detach() + x
    w.backward(minigrad.ones(1))
    assert x.grad.item() == 1.0


def test_deep_graph_does_not_recurse():
    x = minigrad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.data())
def test_broadcast_gradients_sum_back(shape, data):
    """Random pairs of broadcastable shapes: each gradient has its input's shape and torch's values."""
    other = [data.draw(st.sampled_from([n, 1])) for n in shape][data.draw(st.integers(0, len(shape))):]
    check_op(lambda a, b: a * b + b, [tuple(shape), tuple(other)])


def test_gradcheck_on_composites():
    rng = np.random.default_rng(1)
    x = minigrad.tensor(random_array((3, 4), seed=rng), requires_grad=True)
    w = minigrad.tensor(random_array((4, 2), seed=rng), requires_grad=True)
    assert minigrad.testing.gradcheck(lambda x, w: ((x @ w).tanh() ** 2).mean(dim=0).sigmoid(), [x, w])
    z = minigrad.tensor(random_array((2, 3), "complex128", seed=rng), requires_grad=True)
    assert minigrad.testing.gradcheck(lambda z: (z * z.conj().exp()).abs() + z.real, [z])


def test_gradcheck_reports_a_wrong_gradient():
    class WrongSquare(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.saved_tensors[0]  # should be 2x

    x = minigrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with pytest.raises(AssertionError, match=r"input 0 at index \(0,\)"):
        minigrad.testing.gradcheck(lambda x: WrongSquare.apply(x), [x])


# ---- creation, dtypes, devices ---------------------------------------------------------------
def test_creation_defaults_match_torch():
    assert minigrad.tensor([1.0, 2.0]).dtype == np.float32
    assert minigrad.tensor([1, 2]).dtype == np.int64
    assert minigrad.tensor([1j]).dtype == np.complex64
    assert minigrad.tensor(np.zeros(2)).dtype == np.float64
    assert minigrad.zeros(2, 3).shape == (2, 3) and minigrad.ones((2,)).dtype == np.float32
    assert minigrad.arange(5).dtype == np.int64 and minigrad.arange(0.0, 1.0, 0.5).shape == (2,)
    assert minigrad.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert minigrad.randn(3, 4, dtype="complex128").dtype == np.complex128
    assert minigrad.zeros_like(minigrad.randn(2, dtype="float64")).dtype == np.float64


def test_manual_seed_reproduces_draws():
    minigrad.manual_seed(7)
    a = minigrad.randn(5).numpy()
    minigrad.manual_seed(7)
    assert np.array_equal(a, minigrad.randn(5).numpy())
    assert 0 <= minigrad.rand(100).numpy().min() and minigrad.rand(100).numpy().max() < 1


def test_tensor_utilities():
    x = minigrad.tensor([[1.0, 2.0]], requires_grad=True)
    assert x.numpy().tolist() == [[1.0, 2.0]]
    assert (x.sum()).item() == 3.0 and f"{x.sum():.1f}" == "3.0"
    assert x.size() == (1, 2) and x.size(-1) == 2 and x.dim() == 2 and x.numel() == 2
    assert x.to("float64").dtype == np.float64 and x.device == "cpu" and x.cpu() is x
    assert "requires_grad=True" in repr(x)
    assert (x > 1).tolist() == [[False, True]] and not (x > 1).requires_grad
    copy = x.numpy()
    copy[0, 0] = 99
    assert x.numpy()[0, 0] == 1.0  # numpy() is a copy


def test_cast_is_differentiable():
    check_op(lambda x: x.to(torch.float32).double() * 2, [(3,)],
             mini_fn=lambda x: x.to("float32").double() * 2)


# ---- bad input -------------------------------------------------------------------------------
def test_errors_name_the_problem():
    a, b = minigrad.randn(2, 3), minigrad.randn(4, 3)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(2\) must match the size of tensor b \(4\)"):
        a + b
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        a @ b
    with pytest.raises(RuntimeError, match="same dtype"):
        a @ minigrad.randn(3, 2, dtype="float64")
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        minigrad.randn(2, requires_grad=True).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.randn(1).backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\)"):
        (minigrad.randn(2, requires_grad=True) * 2).backward(minigrad.ones(3))
    with pytest.raises(RuntimeError, match="floating point and complex"):
        minigrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        a.sum(dim=2)
    with pytest.raises(RuntimeError, match=r"shape \[4, 4\] is invalid"):
        a.reshape(4, 4)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        a[5]
    for target in ("tpu", None, 3.5):  # the same message from a Tensor and a Module
        for obj in (a, minigrad.nn.Linear(2, 2)):
            with pytest.raises(ValueError, match=r"to\(\) takes a device \(one of \('cpu', 'cuda'\)\) or a dtype"):
                obj.to(target)
    with pytest.raises(ValueError, match="size must be non-negative"):
        minigrad.zeros(-1, 2)
    with pytest.raises(TypeError, match="dtype must be a NumPy dtype"):
        minigrad.zeros(2, dtype=object() )
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        minigrad.randn(2, requires_grad=True).zero_()


def test_mixing_devices_is_an_error():
    class FakeCupyArray(np.ndarray):
        pass

    FakeCupyArray.__module__ = "cupy._core"
    from minigrad.backend import check_same_device
    with pytest.raises(RuntimeError, match=r"same device, but found \['cpu', 'cuda'\]"):
        check_same_device(np.zeros(2), np.zeros(2).view(FakeCupyArray))


def test_a_backward_returning_too_few_dimensions_is_named():
    class DropsADim(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad.sum(axis=0)

    x = minigrad.randn(4, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"<DropsADimBackward> returned a gradient of shape \(1,\) for an input of shape \(4, 1\)"):
        DropsADim.apply(x).sum().backward()
