"""Optimizer parameter dataclasses: they describe the real optimizers, and the registry resolves them."""

import functools
import inspect

import pytest
import torch
from nemo.core.config import optimizers as optimizer_configs
from nemo.core.config.optimizers import (
    AVAILABLE_OPTIMIZER_PARAMS,
    AdamParams,
    OptimizerParams,
    get_optimizer_config,
    register_optimizer_params,
)
from nemo.core.optim.optimizers import AVAILABLE_OPTIMIZERS


@pytest.mark.parametrize("name", sorted(AVAILABLE_OPTIMIZERS))
def test_each_optimizer_has_params_whose_fields_it_accepts(name):
    params_cls = AVAILABLE_OPTIMIZER_PARAMS[f"{name}_params"]
    accepted = set(inspect.signature(AVAILABLE_OPTIMIZERS[name]).parameters)
    fields = set(vars(params_cls(lr=0.1)))
    assert fields <= accepted, fields - accepted
    optimizer = AVAILABLE_OPTIMIZERS[name]([torch.nn.Parameter(torch.zeros(1))], **vars(params_cls(lr=0.1)))
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_get_optimizer_config_returns_partial_with_overrides():
    params = get_optimizer_config("adam_params", lr=0.01, weight_decay=0.1)
    assert isinstance(params, functools.partial)
    assert params() == AdamParams(lr=0.01, weight_decay=0.1)
    assert get_optimizer_config(None, lr=3) == {"lr": 3}


def test_get_optimizer_config_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"Cannot resolve optimizer parameters 'adm_params'.*'adam_params'"):
        get_optimizer_config("adm_params")
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['beta'\].*'betas'"):
        get_optimizer_config("adam_params", beta=0.9)


def test_register_optimizer_params(monkeypatch):
    monkeypatch.setattr(optimizer_configs, "AVAILABLE_OPTIMIZER_PARAMS", dict(AVAILABLE_OPTIMIZER_PARAMS))
    register_optimizer_params("plain_params", OptimizerParams)
    assert get_optimizer_config("plain_params", lr=1.0)() == OptimizerParams(lr=1.0)
    with pytest.raises(ValueError, match="Conflicting optimizer parameters name = 'plain_params'"):
        register_optimizer_params("plain_params", OptimizerParams)
    with pytest.raises(ValueError, match="expected a dataclass type"):
        register_optimizer_params("not_a_dataclass", dict)
