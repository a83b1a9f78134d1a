"""SGD, Adam and AdamW against PyTorch (float64) over several steps, and exact resumption from a state_dict."""
import importlib

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn, optim
from tests.helpers import assert_close, copy_torch_weights, random_array


def make_problem(seed=0, dtype=np.float64):
    """Initial weight and bias arrays and a stream of inputs for loss = sum(tanh(x @ w + b)^2)."""
    rng = np.random.default_rng(seed)
    arrays = [random_array((3, 4), dtype, rng), random_array(4, dtype, rng)]
    batches = [random_array((5, 3), dtype, rng) for _ in range(8)]
    return arrays, batches


def train(params, optimizer, batches, lib):
    """Zero, backward and step once per batch, in minigrad or torch (`lib` supplies `tensor`)."""
    w, b = params
    for x in batches:
        optimizer.zero_grad()
        loss = ((lib.tensor(x) @ w + b).tanh() ** 2).sum()
        loss.backward()
        optimizer.step()


def run_both(name, kwargs, groups=None):
    arrays, batches = make_problem()
    mini = [nn.Parameter(minigrad.tensor(a)) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    params = (lambda p: [{"params": [p[0]], **groups}, {"params": [p[1]]}]) if groups else (lambda p: p)
    train(mini, getattr(optim, name)(params(mini), **kwargs), batches, minigrad)
    train(ref, getattr(torch.optim, name)(params(ref), **kwargs), batches, torch)
    for i, (m, r) in enumerate(zip(mini, ref)):
        assert_close(m, r, atol=1e-12, what=f"parameter {i} after {len(batches)} steps")


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), dict(lr=0.1, weight_decay=0.1), dict(),
])
def test_sgd_matches_torch(kwargs):
    run_both("SGD", kwargs)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kwargs", [
    dict(), dict(lr=0.01, betas=(0.5, 0.999)), dict(lr=0.01, weight_decay=0.1, eps=1e-6),
    dict(lr=0.2, betas=(0.0, 0.9)), dict(lr=0.1, amsgrad=True), dict(lr=0.1, weight_decay=0.3, amsgrad=True),
    dict(lr=0.05, maximize=True),
])
def test_adam_and_adamw_match_torch(name, kwargs):
    run_both(name, kwargs)


def test_adam_with_decoupled_weight_decay_is_adamw_as_torch():
    run_both("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_param_groups_override_defaults(name):
    run_both(name, dict(lr=0.01, weight_decay=0.01), groups=dict(lr=0.3, weight_decay=0))


def test_adam_on_a_complex_parameter_matches_torch():
    z0, target = np.array([1 + 2j, -0.5 + 0.1j, 3j]), np.array([0.2 - 1j, 1 + 1j, -2 + 0j])
    results = []
    for lib in (minigrad, torch):
        z = lib.tensor(z0, requires_grad=True)
        opt = (optim if lib is minigrad else torch.optim).Adam([z], lr=0.1)
        for _ in range(5):
            opt.zero_grad()
            error = (z - lib.tensor(target)) * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
            (error * error.conj()).real.sum().backward()
            opt.step()
        results.append(z)
    assert_close(*results, atol=1e-12, what="complex parameter")


def test_parameters_without_gradient_are_left_alone():
    used, unused = nn.Parameter(minigrad.ones(2)), nn.Parameter(minigrad.ones(2))
    opt = optim.Adam([used, unused], lr=0.1)
    (used * 3).sum().backward()
    opt.step()
    np.testing.assert_array_equal(unused.numpy(), [1, 1])
    assert len(opt.state) == 1 and next(iter(opt.state)) is used and (used.numpy() < 1).all()  # state[p], as PyTorch


def test_zero_grad():
    p = nn.Parameter(minigrad.ones(3))
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), 0)
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("name, kwargs", [("Adam", dict(lr=0.05, weight_decay=0.01)),
                                          ("AdamW", dict(lr=0.05, amsgrad=True)),
                                          ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True))])
def test_state_dict_round_trip_resumes_training_exactly(name, kwargs, tmp_path):
    arrays, batches = make_problem(dtype=np.float32)
    straight = [nn.Parameter(minigrad.tensor(a)) for a in arrays]
    train(straight, getattr(optim, name)(straight, **kwargs), batches, minigrad)

    first = [nn.Parameter(minigrad.tensor(a)) for a in arrays]
    opt = getattr(optim, name)(first, **kwargs)
    train(first, opt, batches[:4], minigrad)
    minigrad.save({"params": {str(i): p for i, p in enumerate(first)}, "optimizer": opt.state_dict()},
                  tmp_path / "checkpoint.npz")
    train(first, opt, batches[4:5], minigrad)  # keeps going: the checkpoint must not change with it

    checkpoint = minigrad.load(tmp_path / "checkpoint.npz")
    resumed = [nn.Parameter(checkpoint["params"][str(i)]) for i in range(2)]
    opt = getattr(optim, name)(resumed, lr=123.0)  # the loaded state restores lr as well
    opt.load_state_dict(checkpoint["optimizer"])
    train(resumed, opt, batches[4:], minigrad)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_rejects_a_different_model():
    opt = optim.Adam([nn.Parameter(minigrad.ones(3))])
    opt.param_groups[0]["params"][0].grad = minigrad.ones(3)
    opt.step()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([nn.Parameter(minigrad.ones(3)), nn.Parameter(minigrad.ones(1))]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"has shape \(3,\) but its parameter has shape \(4,\)"):
        optim.Adam([nn.Parameter(minigrad.ones(4))]).load_state_dict(opt.state_dict())


@pytest.mark.parametrize("make, error, message", [
    (lambda p: optim.SGD(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (lambda p: optim.SGD(p, momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda p: optim.SGD(p, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.Adam(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: optim.Adam(p, eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.Adam(p, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda p: optim.Adam([]), ValueError, "optimizer got an empty parameter list"),
    (lambda p: optim.Adam(p[0]), TypeError, "should be an iterable of Tensors or dicts"),
    (lambda p: optim.AdamW(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
    (lambda p: optim.AdamW(p, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
])
def test_bad_settings_raise_as_torch(make, error, message):
    with pytest.raises(error, match=message):
        make([nn.Parameter(minigrad.ones(2))])


def test_a_small_network_trains_like_torch():
    """Linear, BatchNorm1d, LeakyReLU, CrossEntropyLoss and Adam together, from the same weights."""
    def build(n, dtype):
        return n.Sequential(n.Linear(4, 8, dtype=dtype), n.BatchNorm1d(8, dtype=dtype), n.LeakyReLU(0.2),
                            n.Linear(8, 3, dtype=dtype))
    reference, model = build(torch.nn, torch.float64), build(nn, minigrad.float64)
    copy_torch_weights(reference, model)
    rng = np.random.default_rng(0)
    optimizers = optim.Adam(model.parameters(), lr=0.01), torch.optim.Adam(reference.parameters(), lr=0.01)
    for _ in range(5):
        x, y = random_array((16, 4), seed=rng), random_array(16, "int64", rng, (0, 3))
        for net, opt, lib, loss_fn in ((model, optimizers[0], minigrad, nn.CrossEntropyLoss()),
                                       (reference, optimizers[1], torch, torch.nn.CrossEntropyLoss())):
            opt.zero_grad()
            loss_fn(net(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
    for (name, mine), theirs in zip(model.state_dict().items(), reference.state_dict().values()):
        assert_close(mine, theirs, atol=1e-12, what=name)


def both(make):
    """make(lib, optim_module) run once with PyTorch and once with minigrad."""
    return make(torch, torch.optim), make(minigrad, optim)


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001  the exception is the result compared
        return type(error), str(error)
    return "ok", ""


def twice_in_groups(L):
    p = L.ones(2, requires_grad=True)
    return [{"params": [p]}, {"params": [p], "lr": 0.5}]


@pytest.mark.parametrize("params, message", [
    (twice_in_groups, "some parameters appear in more than one parameter group"),
    (lambda L: [L.ones(2, requires_grad=True) * 2], "can't optimize a non-leaf Tensor"),
    (lambda L: [L.ones(2, requires_grad=True), 3], "optimizer can only optimize Tensors, but one of the params is int"),
    (lambda L: 3, "'int' object is not iterable"),
])
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_bad_parameter_lists_raise_as_torch(params, message, name):
    theirs, mine = both(lambda L, O: outcome(lambda: getattr(O, name)(params(L))))
    assert theirs[0] != "ok" and mine[0] is theirs[0], (mine, theirs)
    assert message in theirs[1] and message in mine[1], (mine, theirs)


def test_a_duplicate_in_one_group_warns_as_torch():
    for L, O in ((torch, torch.optim), (minigrad, optim)):
        p = L.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate parameters"):
            O.SGD([p, p])


def test_zero_grad_sets_none_by_default_as_torch():
    for L, O in ((torch, torch.optim), (minigrad, optim)):
        p = L.ones(2, requires_grad=True)
        opt = O.AdamW([p])
        (p * 2).sum().backward()
        opt.zero_grad()
        assert p.grad is None


def test_lr_changed_in_param_groups_takes_effect_as_torch():
    arrays, batches = make_problem()
    results = []
    for L, O in ((torch, torch.optim), (minigrad, optim)):
        params = [L.tensor(a, requires_grad=True) for a in arrays]
        opt = O.AdamW(params, lr=0.01)
        train(params, opt, batches[:3], L)
        for group in opt.param_groups:
            group["lr"] = 0.3  # as a hand-written schedule does
        train(params, opt, batches[3:], L)
        results.append(params)
    for theirs, mine in zip(*results):
        assert_close(mine, theirs, atol=1e-12, what="after the lr change")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_a_parameter_without_grad_is_skipped_as_torch(name):
    """Not even AdamW's weight decay touches it; the state is keyed by parameter, as PyTorch's opt.state[p]."""
    results = []
    for L, O in ((torch, torch.optim), (minigrad, optim)):
        used, unused = (L.tensor(v, requires_grad=True, dtype=L.float64) for v in ([1.0, -2.0], [3.0, 4.0]))
        opt = getattr(O, name)([used, unused], lr=0.1, weight_decay=0.5, **({"momentum": 0.9} if name == "SGD" else {}))
        for _ in range(3):
            opt.zero_grad()
            (used * used).sum().backward()
            opt.step()
        assert all(p is not unused for p in opt.state)
        results.append((used, unused, opt.state[used]))
    (t_used, t_unused, t_state), (m_used, m_unused, m_state) = results
    np.testing.assert_array_equal(m_unused.numpy(), [3.0, 4.0])
    assert_close(m_used, t_used, atol=1e-12)
    assert sorted(m_state) == sorted(t_state)
    for key in m_state:
        assert_close(np.asarray(m_state[key]), t_state[key], atol=1e-12, what=key)


def test_add_param_group_as_torch():
    arrays, batches = make_problem()
    results = []
    for L, O in ((torch, torch.optim), (minigrad, optim)):
        params = [L.tensor(a, requires_grad=True) for a in arrays]
        opt = O.SGD(params[:1], lr=0.1, momentum=0.9)
        opt.add_param_group({"params": params[1], "lr": 0.01})  # e.g. unfreezing a layer while fine-tuning
        train(params, opt, batches, L)
        assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["momentum"] == 0.9
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            opt.add_param_group({"params": params[:1]})
        results.append(params)
    for theirs, mine in zip(*results):
        assert_close(mine, theirs, atol=1e-12)


SCHEDULES = {
    "StepLR": lambda s, opt: s.StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda s, opt: s.MultiStepLR(opt, milestones=[2, 5, 7], gamma=0.3),
    "ExponentialLR": lambda s, opt: s.ExponentialLR(opt, gamma=0.8),
    "LambdaLR": lambda s, opt: s.LambdaLR(opt, lr_lambda=lambda epoch: 1 / (1 + epoch)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_lr_schedulers_follow_torch(name):
    """The same loop with torch and minigrad: the learning rate of each epoch and the trained weights."""
    results = {}
    for lib in (torch, minigrad):
        schedulers = importlib.import_module(f"{lib.__name__}.optim.lr_scheduler")
        w = lib.nn.Parameter(lib.tensor([1.0, -2.0], dtype=lib.float64))
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
        scheduler = SCHEDULES[name](schedulers, opt)
        lrs = []
        for _ in range(10):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
        results[lib] = lrs, w.detach().numpy().copy()
    np.testing.assert_allclose(results[minigrad][0], results[torch][0], rtol=1e-12)
    np.testing.assert_allclose(results[minigrad][1], results[torch][1], rtol=1e-12)
