"""Novograd's update rule, checked step by step against the formulas of the paper written out here."""

import math

import pytest
import torch
from nemo.core.optim.novograd import Novograd


def reference_steps(weights, grads, lr, beta1, beta2, eps, weight_decay, grad_averaging, amsgrad):
    """Novograd on one tensor, in plain Python floats: returns the weights after each gradient."""
    w = list(weights)
    m = [0.0] * len(w)
    v = 0.0
    v_max = 0.0
    history = []
    for g in grads:
        norm_sq = sum(x * x for x in g)
        v = norm_sq if v == 0 else beta2 * v + (1 - beta2) * norm_sq
        v_max = max(v_max, v)
        denom = math.sqrt(v_max if amsgrad else v) + eps
        d = [gi / denom + weight_decay * wi for gi, wi in zip(g, w)]
        if grad_averaging:
            d = [(1 - beta1) * di for di in d]
        m = [beta1 * mi + di for mi, di in zip(m, d)]
        w = [wi - lr * mi for wi, mi in zip(w, m)]
        history.append(w)
    return history


GRADS = [[0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [-1.5, 0.7, 0.4]]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weight_decay": 0.1},
        {"grad_averaging": True},
        {"amsgrad": True},
        {"betas": (0.9, 0.5), "weight_decay": 0.01, "grad_averaging": True, "amsgrad": True},
    ],
)
def test_updates_match_the_reference_formulas(options):
    lr, eps = 0.1, 1e-8
    betas = options.get("betas", (0.95, 0.98))
    param = torch.nn.Parameter(torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64))
    optimizer = Novograd([param], lr=lr, eps=eps, **options)
    expected = reference_steps(
        [1.0, 2.0, -3.0],
        GRADS,
        lr,
        betas[0],
        betas[1],
        eps,
        options.get("weight_decay", 0.0),
        options.get("grad_averaging", False),
        options.get("amsgrad", False),
    )
    for grad, weights in zip(GRADS, expected):
        param.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        assert param.detach().tolist() == pytest.approx(weights, rel=1e-12)


def test_step_leaves_the_gradient_untouched_and_returns_closure_loss():
    param = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    optimizer = Novograd([param], lr=0.1, weight_decay=0.5)
    param.grad = torch.tensor([0.3, 0.4])
    loss = optimizer.step(closure=lambda: 7.0)
    assert loss == 7.0
    assert param.grad.tolist() == pytest.approx([0.3, 0.4])


def test_layer_wise_update_clipping_limits_the_step_size():
    param = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    optimizer = Novograd([param], lr=1.0, luc=True, luc_trust=1e-3)
    param.grad = torch.tensor([1.0, 0.0])
    optimizer.step()
    # first step: v = ||g||^2 = 1, m = g / 1 = [1, 0]; step = min(lr, 1e-3 * ||w|| / ||m||) = 5e-3
    assert param.detach().tolist() == pytest.approx([3.0 - 5e-3, 4.0])


def test_default_betas_and_state_dict_round_trip():
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = Novograd([param])
    assert optimizer.defaults["betas"] == (0.95, 0.98)
    param.grad = torch.ones(2)
    optimizer.step()
    restored = Novograd([param])
    restored.load_state_dict(optimizer.state_dict())
    assert restored.state[param]["step"] == 1
    assert torch.equal(restored.state[param]["exp_avg"], optimizer.state[param]["exp_avg"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "learning rate lr=-1.0"),
        ({"eps": -1.0}, "epsilon"),
        ({"betas": (0.9, 1.0)}, r"betas\[1\]=1.0"),
    ],
)
def test_invalid_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Novograd([torch.nn.Parameter(torch.ones(1))], **kwargs)


def test_sparse_gradients_are_rejected():
    embedding = torch.nn.Embedding(4, 2, sparse=True)
    embedding(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        Novograd(embedding.parameters()).step()
