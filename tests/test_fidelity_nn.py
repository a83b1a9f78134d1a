"""nn and nn.functional as PyTorch code uses them: same numbers, gradients and errors (issue 10)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings, strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.nn.functional import activation, conv, loss, norm, pooling
from tests.helpers import assert_close, compare_with_torch, random_array


def assert_same_error(mini_call, torch_call, phrase):
    """Both raise the same exception type, and both messages contain `phrase` (checked on PyTorch's first)."""
    with pytest.raises(Exception) as expected:
        torch_call()
    assert phrase in str(expected.value), f"PyTorch now says: {expected.value}"
    with pytest.raises(expected.type) as actual:
        mini_call()
    assert phrase in str(actual.value), f"minigrad says: {actual.value}"


NEW_NAMES = {nn: ["Identity", "AvgPool2d", "Softmax", "LogSoftmax", "L1Loss", "NLLLoss"],
             F: ["avg_pool2d", "softmax", "log_softmax", "l1_loss", "nll_loss", "pad", "interpolate"]}


def test_new_names_exist_and_are_exported():
    for module, names in NEW_NAMES.items():
        for name in names:
            assert hasattr(module, name), name
    exported = pooling.__all__ + activation.__all__ + loss.__all__
    assert {"avg_pool2d", "softmax", "log_softmax", "l1_loss", "nll_loss"} <= set(exported)
    from minigrad.nn import layers, loss as loss_modules
    assert {"Identity", "AvgPool2d", "Softmax", "LogSoftmax"} <= set(layers.__all__)
    assert {"L1Loss", "NLLLoss"} <= set(loss_modules.__all__)


@pytest.mark.parametrize("make", [
    lambda n: n.Identity(), lambda n: n.Identity(3, key=4), lambda n: n.AvgPool2d(2),
    lambda n: n.AvgPool2d((2, 3), 1, 1), lambda n: n.Softmax(1), lambda n: n.Softmax(), lambda n: n.LogSoftmax(-1),
    lambda n: n.L1Loss(), lambda n: n.NLLLoss(), lambda n: n.MaxPool2d(2), lambda n: n.Upsample(scale_factor=2),
])
def test_new_module_reprs_match_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


def test_identity_passes_its_input_and_gradient_through():
    compare_with_torch(nn.Identity(54, unused=0.1), torch.nn.Identity(54, unused=0.1), random_array((2, 3)))


@settings(max_examples=60, deadline=None)
@given(size=st.tuples(st.integers(1, 7), st.integers(1, 7)), kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))), ceil_mode=st.booleans(),
       count_include_pad=st.booleans(), divisor_override=st.sampled_from([None, 1, 3]), data=st.data())
def test_avg_pool2d_matches_torch(size, kernel, stride, ceil_mode, count_include_pad, divisor_override, data):
    padding = data.draw(st.tuples(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2)))
    assume(all(k <= s + 2 * p for k, s, p in zip(kernel, size, padding)))  # some window fits
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=count_include_pad, divisor_override=divisor_override)
    x = random_array((2, 3) + size)
    compare_with_torch(lambda t: F.avg_pool2d(t, **kwargs), lambda t: TF.avg_pool2d(t, **kwargs), x)


def test_avg_pool2d_module_unbatched_float32_and_integer(device):
    x = random_array((3, 6, 7), "float32")  # (C, H, W)
    compare_with_torch(nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
                       torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), x, device=device,
                       atol=1e-6, rtol=1e-6)
    ints = np.array([[[[-1, 0, 3, 0], [5, -7, 2, 2]]]])  # integer means truncate toward zero in PyTorch
    assert_close(F.avg_pool2d(minigrad.tensor(ints), 2), TF.avg_pool2d(torch.tensor(ints), 2))


POOL_ERRORS = [  # (args, kwargs, PyTorch's key phrase); stride=None or [] means kernel_size
    ((0,), {}, "stride should not be zero"), ((0,), dict(stride=1), "kernel size should be greater than zero"),
    ((2,), dict(stride=-1), "stride should be greater than zero"), ((2,), dict(padding=-1), "pad must be non-negative"),
    ((3,), dict(padding=2), "pad should be at most half of effective kernel size"),
    (((3, 2),), dict(padding=(1, 2)), "pad should be at most half of effective kernel size"),
    ((5,), {}, "Output size is too small"), (((2, 2, 2),), {}, "kernel_size"),
]


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("args, kwargs, phrase", POOL_ERRORS)
def test_pool_errors_match_torch(name, args, kwargs, phrase):
    assert_same_error(lambda: getattr(F, name)(minigrad.zeros(1, 1, 4, 4), *args, **kwargs),
                      lambda: getattr(TF, name)(torch.zeros(1, 1, 4, 4), *args, **kwargs), phrase)


def test_pool_specific_errors_match_torch():
    x, t = minigrad.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    assert_same_error(lambda: F.max_pool2d(x, 2, 2, 2, dilation=3), lambda: TF.max_pool2d(t, 2, 2, 2, dilation=3),
                      "smaller than or equal to half of kernel size")
    assert_same_error(lambda: F.max_pool2d(x, 2, dilation=0), lambda: TF.max_pool2d(t, 2, dilation=0),
                      "dilation should be greater than zero")
    assert_same_error(lambda: F.avg_pool2d(x, 2, divisor_override=0), lambda: TF.avg_pool2d(t, 2, divisor_override=0),
                      "divisor must be not zero")
    for shape in [(1, 0, 4, 4), (0, 4, 4)]:
        assert_same_error(lambda: F.avg_pool2d(minigrad.zeros(*shape), 2),
                          lambda: TF.avg_pool2d(torch.zeros(*shape), 2), "Expected 3D or 4D (batch mode) tensor")
    assert F.avg_pool2d(minigrad.zeros(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)  # an empty batch is fine


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((2, 3, 4, 5), 1), ((6,), 0)])
def test_softmax_functions_and_modules(name, shape, dim, device):
    x = random_array(shape) * 30  # large logits: exp would overflow without the shift
    compare_with_torch(lambda t: getattr(F, name)(t, dim), lambda t: getattr(TF, name)(t, dim), x, device=device)
    module = {"softmax": "Softmax", "log_softmax": "LogSoftmax"}[name]
    compare_with_torch(getattr(nn, module)(dim), getattr(torch.nn, module)(dim), x, device=device)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_implicit_dim_warns_and_picks_torchs_dim(name, shape):
    x = random_array(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = getattr(F, name)(minigrad.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = getattr(TF, name)(torch.tensor(x))
    assert_close(ours, theirs)
    assert_close(F.softmax(minigrad.tensor(x), -1, dtype=minigrad.float32), TF.softmax(torch.tensor(x), -1,
                                                                                        dtype=torch.float32), atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_l1_loss(reduction, device):
    rng = np.random.default_rng(0)
    x, y = random_array((4, 5), seed=rng), random_array((4, 5), seed=rng)
    y[0] = x[0]  # |0| has PyTorch's gradient 0
    compare_with_torch(lambda a, b: F.l1_loss(a, b, reduction=reduction),
                       lambda a, b: TF.l1_loss(a, b, reduction=reduction), x, y, device=device)
    compare_with_torch(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), x, y, device=device)
    w = random_array((4, 5), seed=rng, between=(0.5, 2))
    compare_with_torch(lambda a, b, c: F.l1_loss(a, b, reduction=reduction, weight=c),
                       lambda a, b, c: TF.l1_loss(a, b, reduction=reduction, weight=c), x, y, w,
                       differentiable=[True, True, False], device=device)


def test_l1_and_mse_broadcast_warning_bad_weight_and_legacy_flags():
    rng = np.random.default_rng(0)
    x, y = random_array((3, 4), seed=rng), random_array(4, seed=rng)
    for name in ["l1_loss", "mse_loss"]:
        with pytest.warns(UserWarning, match="different to the input size"):
            compare_with_torch(getattr(F, name), lambda a, b: getattr(TF, name)(a, b), x, y)
        assert_same_error(lambda: getattr(F, name)(minigrad.tensor(x), minigrad.tensor(x), weight=minigrad.ones(3)),
                          lambda: getattr(TF, name)(torch.tensor(x), torch.tensor(x), weight=torch.ones(3)),
                          "Weights and input must have the same size")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "size_average and reduce args will be deprecated"
        for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
            a, b = minigrad.tensor(x), minigrad.tensor(x[::-1].copy())
            assert_close(nn.L1Loss(size_average, reduce)(a, b),
                         torch.nn.L1Loss(size_average, reduce)(torch.tensor(x), torch.tensor(x[::-1].copy())))


NLL_CASES = [((6, 4), (6,)), ((3, 4, 2, 5), (3, 2, 5)), ((4,), ())]


def class_loss_case(input_shape, target_shape, weighted, ignored):
    """Logits, int64 targets (the first one `ignored`, the ignore_index below) and maybe class weights."""
    rng = np.random.default_rng(0)
    x = random_array(input_shape, seed=rng)
    classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    target = random_array(target_shape, "int64", rng, (0, classes))
    if target.ndim:
        target.flat[0] = ignored
    return x, target, [random_array(classes, seed=rng, between=(0.5, 2))] if weighted else []


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("input_shape, target_shape", NLL_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, input_shape, target_shape, weighted, device):
    x, target, extras = class_loss_case(input_shape, target_shape, weighted, ignored=1)
    kwargs = dict(ignore_index=1, reduction=reduction)
    compare_with_torch(lambda a, t, *w: F.nll_loss(a, t, *w, **kwargs),
                       lambda a, t, *w: TF.nll_loss(a, t, *w, **kwargs), x, target, *extras,
                       differentiable=[True, False, False], device=device)
    compare_with_torch(lambda a, t: nn.NLLLoss(reduction=reduction)(a, t),
                       lambda a, t: torch.nn.NLLLoss(reduction=reduction)(a, t), x, target, device=device)
    compare_with_torch(lambda a, t: F.nll_loss(F.log_softmax(a, 0 if a.ndim == 1 else 1), t, reduction=reduction),
                       lambda a, t: TF.cross_entropy(a, t, reduction=reduction), x, target, device=device)


def test_nll_loss_uint8_target_and_all_ignored():
    x = random_array((3, 4))
    compare_with_torch(F.nll_loss, TF.nll_loss, x, np.array([0, 3, 2], dtype=np.uint8))
    assert np.isnan(F.nll_loss(minigrad.tensor(x), minigrad.tensor([-100, -100, -100])).item())


CLASS_LOSS_ERRORS = [  # (input shape, target, kwargs, PyTorch's key phrase)
    ((3, 4), np.array([0, 1, 2]), dict(weight=np.ones(3)), "weight tensor should be defined either for all 4 classes"),
    ((3, 4), np.array([0, 1, 2]), dict(weight=np.ones((2, 2))), "or no classes but got weight tensor of shape: [2, 2]"),
    ((3, 4), np.array([0, 1, 2], dtype=np.int32), {}, "expected target dtype to be Long or Byte, but got Int"),
    ((3, 4), np.array([0, 1, 5]), {}, "Target 5 is out of bounds."),
    ((3, 4), np.array([0, -1, 2]), {}, "Target -1 is out of bounds."),
    ((3, 4), np.array([0, 1]), {}, "Expected input batch_size (3) to match target batch_size (2)."),
    ((3, 4, 5), np.array([0, 1, 2]), {}, "Expected target size [3, 5], got [3]"),
    ((4,), np.array([0, 1]), {}, "For 1D input, 1D target must have size 1"),
    ((3, 4), np.array([0, 1, 2]), dict(reduction="avg"), "avg is not a valid value for reduction"),
]


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("shape, target, kwargs, phrase", CLASS_LOSS_ERRORS)
def test_class_loss_errors_match_torch(name, shape, target, kwargs, phrase):
    x = random_array(shape)
    mini_kwargs = {k: minigrad.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
    torch_kwargs = {k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
    assert_same_error(lambda: getattr(F, name)(minigrad.tensor(x), minigrad.tensor(target), **mini_kwargs),
                      lambda: getattr(TF, name)(torch.tensor(x), torch.tensor(target), **torch_kwargs), phrase)


def test_nll_loss_float_target_and_scalar_input_errors_match_torch():
    assert_same_error(lambda: F.nll_loss(minigrad.tensor(1.0), minigrad.tensor(1)),
                      lambda: TF.nll_loss(torch.tensor(1.0), torch.tensor(1)), "Expected 1 or more dimensions (got 0)")
    x = random_array((3, 4))
    assert_same_error(lambda: F.nll_loss(minigrad.tensor(x), minigrad.tensor([0.0, 1.0, 2.0])),
                      lambda: TF.nll_loss(torch.tensor(x), torch.tensor([0.0, 1.0, 2.0])),
                      "expected target dtype to be Long or Byte, but got Float")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("input_shape, target_shape", NLL_CASES)
def test_cross_entropy_label_smoothing(reduction, weighted, input_shape, target_shape):
    x, target, extras = class_loss_case(input_shape, target_shape, weighted, ignored=2)
    kwargs = dict(ignore_index=2, reduction=reduction, label_smoothing=0.2)
    compare_with_torch(lambda a, t, *w: F.cross_entropy(a, t, *w, **kwargs),
                       lambda a, t, *w: TF.cross_entropy(a, t, *w, **kwargs),
                       x, target, *extras, differentiable=[True, False, False])
    compare_with_torch(nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1),
                       x, target)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_class_loss_with_nothing_counted_is_nan_with_torchs_gradient(name):
    x = random_array((3, 4))
    for target, weight in [([0, 0, 0], None), ([0, 1, 1], [1.0, 0, 0, 0])]:  # all ignored; a zero total weight
        compare_with_torch(lambda a, t, *w: getattr(F, name)(a, t, *w, ignore_index=0),
                           lambda a, t, *w: getattr(TF, name)(a, t, *w, ignore_index=0),
                           x, np.array(target), *([np.array(weight)] if weight else []),
                           differentiable=[True, False, False])


@pytest.mark.parametrize("x, y, phrase", [
    ([0.5, 1.5], [0.0, 1.0], "all elements of input should be between 0 and 1"),
    ([0.5, np.nan], [0.0, 1.0], "all elements of input should be between 0 and 1"),
    ([0.5, 0.5], [0.0, 2.0], "all elements of target should be between 0 and 1"),
    ([0.5, 0.5], [-0.1, 1.0], "all elements of target should be between 0 and 1"),
    ([0.5, 0.5], [np.nan, 1.0], "all elements of target should be between 0 and 1"),
])
def test_binary_cross_entropy_range_errors_match_torch(x, y, phrase):
    assert_same_error(lambda: F.binary_cross_entropy(minigrad.tensor(x), minigrad.tensor(y)),
                      lambda: TF.binary_cross_entropy(torch.tensor(x), torch.tensor(y)), phrase)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_on_a_saturated_float32_discriminator(reduction, device):
    logits = np.array([-30, -20, 20, 30, -30, -20, 20, 30], dtype=np.float32)
    target = np.array([1, 1, 0, 0, 0, 0, 1, 1], dtype=np.float32)  # wrong and right, each far from 0.5
    out = compare_with_torch(lambda z, y: F.binary_cross_entropy(z.sigmoid(), y, reduction=reduction),
                             lambda z, y: TF.binary_cross_entropy(z.sigmoid(), y, reduction=reduction),
                             logits, target, differentiable=[True, False], device=device, atol=1e-6, rtol=1e-6)
    assert np.isfinite(out.numpy()).all()
    exact = np.array([0, 1, 0, 1], dtype=np.float32)  # probabilities of exactly 0 and 1: logs clamped at -100
    compare_with_torch(lambda p, y: F.binary_cross_entropy(p, y, reduction=reduction),
                       lambda p, y: TF.binary_cross_entropy(p, y, reduction=reduction),
                       exact, np.array([1, 0, 0, 1], dtype=np.float32), device=device, atol=1e-6, rtol=1e-6)


def _nn_ops():
    """One call of each Function in nn.functional that saves arrays, with reduction="none" so it is the output's."""
    rng = np.random.default_rng(0)
    x = random_array((2, 3, 4, 4), seed=rng, between=(0.1, 0.9))
    t = random_array((2, 3, 4, 4), seed=rng, between=(0, 1))
    labels = minigrad.tensor(random_array((2, 4, 4), "int64", rng, (0, 3)))
    w = minigrad.tensor(random_array((2, 3, 3, 3), seed=rng))
    return [
        (pooling.MaxPool2dFunction, lambda a: F.max_pool2d(a, 2)),
        (pooling.AvgPool2dFunction, lambda a: F.avg_pool2d(a, 3, 1, 1)),
        (activation._LeakyReLU, lambda a: F.leaky_relu(a, 0.2)),
        (loss._BinaryCrossEntropy, lambda a: F.binary_cross_entropy(a, minigrad.tensor(t), reduction="none")),
        (loss._BinaryCrossEntropyWithLogits, lambda a: F.binary_cross_entropy_with_logits(
            a, minigrad.tensor(t), reduction="none", pos_weight=minigrad.tensor(np.full((4,), 2.0)))),
        (loss._NLLLoss, lambda a: F.nll_loss(a, labels, reduction="none")),
        (loss._CrossEntropy, lambda a: F.cross_entropy(a, labels, reduction="none")),
        (norm._BatchNorm, lambda a: F.batch_norm(a, None, None, training=True)),
        (conv.Conv2dFunction, lambda a: F.conv2d(a, w, padding=1)),
        (conv.ConvTranspose2dFunction, lambda a: F.conv_transpose2d(a, w.transpose(0, 1))),
    ], x


@pytest.mark.parametrize("index", range(10))
def test_functions_keep_arrays_in_saved_tensors_only_and_free_them(index):
    ops, x = _nn_ops()
    function, call = ops[index]
    a = minigrad.tensor(x, requires_grad=True)
    out = call(a)
    assert out.grad_fn.function is function
    arrays = {k: type(v).__name__ for k, v in vars(out.grad_fn.ctx).items() if isinstance(v, np.ndarray)}
    assert set(arrays) <= {"_saved"}, f"{function.__name__} keeps arrays as ctx attributes: {arrays}"
    seed = minigrad.tensor(random_array(out.shape))
    out.backward(seed, retain_graph=True)
    first = a.grad.numpy()
    out.backward(seed)  # retained: a second backward works and accumulates
    np.testing.assert_allclose(a.grad.numpy(), 2 * first, rtol=1e-12)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        out.backward(seed)



@pytest.mark.parametrize("call", [
    lambda a, m: m.nn.functional.binary_cross_entropy(a, a.detach() * 0 + 0.5),  # saves its input
    lambda a, m: m.nn.functional.conv2d(a, m.ones(1, 1, 2, 2)),
])
def test_changing_a_saved_input_in_place_fails_backward_as_torch(call):
    for lib, x in [(torch, torch.full((1, 1, 3, 3), 0.3, requires_grad=True)),
                   (minigrad, minigrad.full((1, 1, 3, 3), 0.3, requires_grad=True))]:
        a = x * 1  # not a leaf, so it may change in place
        out = call(a, lib).sum()
        a.mul_(0.5)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.backward()


@pytest.mark.parametrize("name, args", [("relu", ()), ("leaky_relu", (0.2,)), ("dropout", (0.5, True))])
def test_inplace_activations_overwrite_the_input_as_torch(name, args):
    x = random_array((4, 6))
    results = []
    for lib, functional in [(torch, TF), (minigrad, F)]:
        lib.manual_seed(0)
        leaf = lib.tensor(x, requires_grad=True)
        a = leaf * 2  # not a leaf
        out = getattr(functional, name)(a, *args, inplace=True)
        assert out is a  # the same tensor, changed
        (out * lib.tensor(x)).sum().backward()
        results.append((a.detach().numpy() != 0, leaf.grad.numpy() != 0, out.detach().numpy()))
    (torch_kept, torch_grad, torch_out), (kept, grad, out) = results
    if name != "dropout":  # dropout's mask comes from each library's own generator
        np.testing.assert_allclose(out, torch_out)
        np.testing.assert_array_equal(grad, torch_grad)
    np.testing.assert_array_equal(kept, grad)  # the gradient flows exactly where the output is nonzero
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        getattr(F, name)(minigrad.tensor(x, requires_grad=True), *args, inplace=True)


def test_inplace_modules_give_torchs_result():
    for make in [lambda n: n.ReLU(inplace=True), lambda n: n.LeakyReLU(0.1, inplace=True)]:
        compare_with_torch(lambda t: make(nn)(t * 1), lambda t: make(torch.nn)(t * 1), random_array((3, 5)))
    assert F.dropout(minigrad.ones(3), 0.5, training=False, inplace=True).tolist() == [1.0, 1.0, 1.0]


CONV_ERRORS = [  # (function, input shape, weight shape, PyTorch's key phrase)
    ("conv2d", (1, 1, 5, 5), (0, 1, 3, 3), "expected weight to be at least 1 at dimension 0"),
    ("conv_transpose2d", (1, 0, 5, 5), (0, 2, 3, 3), "expected weight to be at least 1 at dimension 0"),
    ("conv_transpose2d", (1, 1, 5, 5), (1, 0, 3, 3), "non-empty 2D or 4D weight tensor expected"),
    ("conv2d", (1, 1, 5, 5), (2, 1, 0, 3), "kernel size should be greater than zero"),
    ("conv2d", (1, 0, 5, 5), (2, 1, 3, 3), "expected input[1, 0, 5, 5] to have 1 channels, but got 0 channels"),
]


@pytest.mark.parametrize("name, input_shape, weight_shape, phrase", CONV_ERRORS)
def test_zero_size_conv_errors_name_the_argument_as_torch(name, input_shape, weight_shape, phrase):
    assert_same_error(lambda: getattr(F, name)(minigrad.zeros(*input_shape), minigrad.zeros(*weight_shape)),
                      lambda: getattr(TF, name)(torch.zeros(*input_shape), torch.zeros(*weight_shape)), phrase)


def test_conv_groups_errors_and_zero_channel_input():
    assert_same_error(lambda: F.conv2d(minigrad.zeros(1, 4, 5, 5), minigrad.zeros(3, 2, 3, 3), groups=2),
                      lambda: TF.conv2d(torch.zeros(1, 4, 5, 5), torch.zeros(3, 2, 3, 3), groups=2),
                      "expected weight to be divisible by 2 at dimension 0")
    with pytest.raises(RuntimeError, match=r"input of size \[1, 0, 5, 5\] has 0 channels"):
        F.conv2d(minigrad.zeros(1, 0, 5, 5), minigrad.zeros(2, 0, 3, 3))  # PyTorch drops the filters: (1, 0, 3, 3)
    assert F.conv2d(minigrad.zeros(0, 1, 5, 5), minigrad.zeros(2, 1, 3, 3)).shape == (0, 2, 3, 3)


@pytest.mark.parametrize("input_shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_with_a_1d_weight_is_a_matrix_vector_product(input_shape, device):
    compare_with_torch(F.linear, TF.linear, random_array(input_shape, seed=1), random_array(3, seed=2), device=device)


@pytest.mark.parametrize("input_shape, weight_shape, bias_shape, phrase", [
    ((3, 4), (4,), (), "mat2 must be a matrix, got 1-D tensor"),
    ((3, 4), (5,), None, "size mismatch, got input (3), mat (3x4), vec (5)"),
    ((4,), (5,), None, "inconsistent tensor size, expected tensor [4] and src [5]"),
    ((3, 4), (2, 5), None, "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x2)"),
    ((4,), (2, 5), None, "mat1 and mat2 shapes cannot be multiplied (1x4 and 5x2)"),
    ((3, 4), (2, 3, 4), None, "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    ((), (2, 1), None, "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
])
def test_linear_errors_match_torch(input_shape, weight_shape, bias_shape, phrase):
    def call(lib, functional):
        bias = None if bias_shape is None else lib.zeros(bias_shape)
        return functional.linear(lib.zeros(input_shape), lib.zeros(weight_shape), bias)
    assert_same_error(lambda: call(minigrad, F), lambda: call(torch, TF), phrase)


@pytest.mark.parametrize("shape, kwargs", [
    ((2, 3, 4, 5), dict(size=(8, 15))), ((2, 3, 4, 5), dict(scale_factor=(2, 3))), ((1, 2, 5), dict(size=10)),
    ((1, 2, 2, 3, 2), dict(scale_factor=2.0)), ((1, 1, 3, 3), dict(scale_factor=2, recompute_scale_factor=True)),
])
def test_interpolate_nearest_values_and_gradients_float32(shape, kwargs, device):
    x = random_array(shape, "float32")
    compare_with_torch(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), x, device=device,
                       atol=1e-6, rtol=1e-6)


def test_interpolate_errors_are_clear():
    x, t = minigrad.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 3)
    assert_same_error(lambda: F.interpolate(x, scale_factor=2, align_corners=False),
                      lambda: TF.interpolate(t, scale_factor=2, align_corners=False),
                      "align_corners option can only be set with the interpolating modes")
    assert_same_error(lambda: F.interpolate(x, scale_factor=2, mode="nonsense"),
                      lambda: TF.interpolate(t, scale_factor=2, mode="nonsense"), "nonsense")
    for mode in ["bilinear", "bicubic", "area", "nearest-exact"]:  # PyTorch has them; minigrad says it has not
        with pytest.raises(NotImplementedError, match="mode='nearest' only"):
            F.interpolate(x, scale_factor=2, mode=mode)


@pytest.mark.parametrize("pad, mode", [((1, 2), "constant"), ((1, 1, 2, 0), "reflect"), ((2, 1, 1, 2), "replicate"),
                                       ((1, 2, -1, 1), "constant"), ((1, 1, 1, 1), "circular")])
def test_pad_is_torchs(pad, mode):
    x = random_array((1, 2, 3, 4))
    compare_with_torch(lambda t: F.pad(t, pad, mode), lambda t: TF.pad(t, pad, mode), x)
