"""Module registration and state dicts, compared with PyTorch modules of the same shape."""
import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn


def make_pair():
    """The same little architecture in both libraries: parameters, a buffer, nesting, a None bias."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(minigrad.ones(3))
            self.register_buffer("count", minigrad.zeros(1))
            self.register_parameter("bias", None)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.layers = nn.Sequential(Block(), nn.ModuleList([Block()]))
            self.weight = nn.Parameter(minigrad.randn(2, 3))

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("count", torch.zeros(1))
            self.register_parameter("bias", None)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = TorchBlock()
            self.layers = torch.nn.Sequential(TorchBlock(), torch.nn.ModuleList([TorchBlock()]))
            self.weight = torch.nn.Parameter(torch.randn(2, 3))

    return Net(), TorchNet()


def test_names_and_state_dict_keys_match_torch():
    net, ref = make_pair()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert list(net.state_dict()) == list(ref.state_dict())
    assert net.first.bias is None and ref.first.bias is None  # registered as None: an attribute, not a key


def test_load_state_dict_from_torch_and_numpy():
    net, ref = make_pair()
    with torch.no_grad():
        ref.weight.normal_()
    net.load_state_dict(ref.state_dict())
    assert np.array_equal(net.weight.numpy(), ref.weight.detach().numpy())
    net.load_state_dict({k: v.numpy() * 2 for k, v in net.state_dict().items()})
    assert np.allclose(net.weight.numpy(), 2 * ref.weight.detach().numpy())
    back = ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in net.state_dict().items()})
    assert not back.missing_keys


def test_load_state_dict_errors_as_torch():
    """One RuntimeError lists every problem; what fits is copied anyway (as PyTorch)."""
    net, ref = make_pair()
    for model, lib in ((net, minigrad), (ref, torch)):
        bad = {"weight": lib.zeros(3, 3), "first.scale": lib.full((3,), 5.0), "extra": lib.zeros(1)}
        with pytest.raises(RuntimeError, match=r"Error\(s\) in loading state_dict for \w*Net:\n\t"
                           r"Missing key\(s\) in state_dict: \"first.count\", .*\n\t"
                           r"Unexpected key\(s\) in state_dict: \"extra\". \n\t"
                           r"size mismatch for weight: copying a param with shape"):
            model.load_state_dict(bad)
        assert (model.first.scale.detach().numpy() == 5).all()
        with pytest.raises(RuntimeError, match="size mismatch for weight"):
            model.load_state_dict(bad, strict=False)
        assert tuple(model.load_state_dict({"first.scale": lib.ones(3)}, strict=False).unexpected_keys) == ()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net.load_state_dict([1])


def test_train_eval_zero_grad_apply():
    net, _ = make_pair()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    (net.weight * 2).sum().backward()
    assert net.weight.grad is not None
    net.zero_grad()
    assert net.weight.grad is None
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Block") == 3


def test_sequential_runs_in_order_and_indexes():
    class AddOne(nn.Module):
        def forward(self, x):
            return x + 1

    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    seq = nn.Sequential(AddOne(), Double())
    assert seq(minigrad.tensor([1.0])).item() == 4.0
    assert len(seq) == 2 and isinstance(seq[1], Double) and len(seq[:1]) == 1
    assert "(0): AddOne()" in repr(seq)


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minigrad.ones(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_module_to_dtype_casts_floating_tensors_only():
    from minigrad.nn import BatchNorm2d
    bn = BatchNorm2d(3).double()
    assert bn.weight.dtype == np.float64 and bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    assert bn.float().weight.dtype == np.float32


def test_requires_grad_freezes_every_parameter():
    net, ref = make_pair()
    assert net.requires_grad_(False) is net and ref.requires_grad_(False) is ref
    assert not any(p.requires_grad for p in net.parameters())
    out, expected = (net.weight * 2).sum(), (ref.weight * 2).sum()
    assert (out.requires_grad, out.grad_fn) == (expected.requires_grad, expected.grad_fn) == (False, None)  # no graph
    for loss in (out, expected):
        with pytest.raises(RuntimeError, match="does not require grad"):
            loss.backward()
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())
