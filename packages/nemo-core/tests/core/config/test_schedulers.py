"""Scheduler parameter dataclasses: each one builds its scheduler, and the registry resolves them."""

import pytest
import torch
from nemo.core.config import schedulers as scheduler_configs
from nemo.core.config.schedulers import (
    AVAILABLE_SCHEDULER_PARAMS,
    CosineAnnealingParams,
    SchedulerParams,
    get_scheduler_config,
    register_scheduler_params,
)
from nemo.core.optim.lr_scheduler import AVAILABLE_SCHEDULERS

# Arguments a scheduler needs that its params dataclass does not carry (or must not leave at the default).
EXTRA_ARGS = {
    "NoamAnnealing": {"d_model": 8},
    "NoamHoldAnnealing": {"warmup_steps": 2},
}
WITH_PARAMS = sorted(name for name in AVAILABLE_SCHEDULERS if f"{name}Params" in AVAILABLE_SCHEDULER_PARAMS)


def test_the_common_schedulers_have_params():
    assert {
        "CosineAnnealing",
        "NoamAnnealing",
        "PolynomialDecayAnnealing",
        "StepLR",
        "ReduceLROnPlateau",
    } <= set(WITH_PARAMS)


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_params_build_their_scheduler(name):
    params = vars(get_scheduler_config(f"{name}Params")())
    if "max_steps" in params:
        params["max_steps"] = 10
    params.update(EXTRA_ARGS.get(name, {}))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = AVAILABLE_SCHEDULERS[name](optimizer, **params)
    assert scheduler.optimizer is optimizer


def test_warmup_policy_params_are_registered_under_nemos_names():
    assert AVAILABLE_SCHEDULER_PARAMS["WarmupPolicyParams"] is scheduler_configs.WarmupSchedulerParams
    assert AVAILABLE_SCHEDULER_PARAMS["WarmupHoldPolicyParams"] is scheduler_configs.WarmupHoldSchedulerParams


def test_get_scheduler_config_checks_overrides():
    assert get_scheduler_config("CosineAnnealingParams", min_lr=1e-5)() == CosineAnnealingParams(min_lr=1e-5)
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['min_learning_rate'\].*'min_lr'"):
        get_scheduler_config("CosineAnnealingParams", min_learning_rate=1e-5)
    with pytest.raises(
        ValueError, match=r"Cannot resolve scheduler parameters 'CosineParams'.*'CosineAnnealingParams'"
    ):
        get_scheduler_config("CosineParams")


def test_register_scheduler_params(monkeypatch):
    monkeypatch.setattr(scheduler_configs, "AVAILABLE_SCHEDULER_PARAMS", dict(AVAILABLE_SCHEDULER_PARAMS))
    register_scheduler_params("MineParams", SchedulerParams)
    assert get_scheduler_config("MineParams", last_epoch=-1)() == SchedulerParams()
    with pytest.raises(ValueError, match="Conflicting scheduler parameters name = 'MineParams'"):
        register_scheduler_params("MineParams", SchedulerParams)
