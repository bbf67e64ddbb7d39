"""The optimizer registry and NeMo's rules for optimizer arguments in configs."""

import functools
from dataclasses import dataclass

import pytest
import torch
from nemo.core.config import optimizers as optimizer_configs
from nemo.core.optim import optimizers
from nemo.core.optim.novograd import Novograd
from nemo.core.optim.optimizers import (
    AVAILABLE_OPTIMIZERS,
    get_optimizer,
    parse_optimizer_args,
    register_optimizer,
)
from omegaconf import OmegaConf

NEMO_NAMES = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "rprop": torch.optim.Rprop,
    "novograd": Novograd,
}


@pytest.mark.parametrize("name", sorted(NEMO_NAMES))
def test_get_optimizer_returns_partial_of_the_named_class(name):
    factory = get_optimizer(name, lr=0.25)
    assert isinstance(factory, functools.partial)
    optimizer = factory([torch.nn.Parameter(torch.zeros(2))])
    assert type(optimizer) is NEMO_NAMES[name]
    assert optimizer.param_groups[0]["lr"] == 0.25


def test_get_optimizer_unknown_name_lists_available():
    with pytest.raises(ValueError, match=r"Cannot resolve optimizer 'adamx'.*'adamw'"):
        get_optimizer("adamx")


def test_parse_optimizer_args_plain_dicts_and_none():
    assert parse_optimizer_args("adam", None) == {}
    assert parse_optimizer_args("adam", {"weight_decay": 0.1}) == {"weight_decay": 0.1}
    config = OmegaConf.create({"weight_decay": "${x}", "x": 0.5})
    assert parse_optimizer_args("adam", config) == {"weight_decay": 0.5, "x": 0.5}


def test_parse_optimizer_args_auto_resolves_the_optimizers_params_dataclass():
    config = OmegaConf.create({"name": "auto", "lr": 0.01, "betas": [0.8, 0.9]})
    args = parse_optimizer_args("adamw", config)
    assert args == {"lr": 0.01, "betas": [0.8, 0.9], "eps": 1e-08, "weight_decay": 0, "amsgrad": False}
    assert "name" in config  # the caller's config is left as it was


def test_parse_optimizer_args_named_params_with_params_section_drops_missing_lr():
    args = parse_optimizer_args("whatever", {"name": "novograd_params", "params": {"weight_decay": 0.001}})
    expected = {f: getattr(optimizer_configs.NovogradParams, f) for f in ("betas", "eps", "grad_averaging")}
    assert "lr" not in args
    assert args["weight_decay"] == 0.001
    assert {k: args[k] for k in expected} == expected


def test_parse_optimizer_args_target_instantiates_the_dataclass():
    config = {"_target_": "nemo.core.config.optimizers.SGDParams", "lr": 0.3, "momentum": 0.9}
    assert parse_optimizer_args("sgd", config) == {
        "lr": 0.3,
        "momentum": 0.9,
        "dampening": 0,
        "weight_decay": 0,
        "nesterov": False,
    }


def test_parse_optimizer_args_refuses_target_outside_allow_list():
    with pytest.raises(ValueError, match=r"'subprocess.run'.*optim.args._target_"):
        parse_optimizer_args("sgd", {"_target_": "subprocess.run", "args": ["true"]})


def test_parse_optimizer_args_bad_key_or_value_names_it():
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['momentun'\].*'momentum'"):
        parse_optimizer_args("sgd", {"name": "auto", "momentun": 0.9})
    with pytest.raises(
        ValueError,
        match="Invalid value for key .lr. of optimizer parameters .sgd_params.*could not be converted to Float",
    ):
        parse_optimizer_args("sgd", {"name": "auto", "lr": "fast"})
    with pytest.raises(ValueError, match="Cannot resolve optimizer parameters 'nope_params'"):
        parse_optimizer_args("nope", {"name": "auto"})


@dataclass
class ToyParams(optimizer_configs.OptimizerParams):
    momentum: float = 0.5


class Toy(torch.optim.SGD):
    pass


def test_register_optimizer_makes_name_and_auto_params_usable(monkeypatch):
    monkeypatch.setattr(optimizers, "AVAILABLE_OPTIMIZERS", dict(AVAILABLE_OPTIMIZERS))
    monkeypatch.setattr(
        optimizer_configs, "AVAILABLE_OPTIMIZER_PARAMS", dict(optimizer_configs.AVAILABLE_OPTIMIZER_PARAMS)
    )
    register_optimizer("toy", Toy, ToyParams)
    args = parse_optimizer_args("toy", {"name": "auto", "lr": 0.2})
    optimizer = get_optimizer("toy", **args)([torch.nn.Parameter(torch.zeros(1))])
    assert type(optimizer) is Toy
    assert (optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["momentum"]) == (0.2, 0.5)
    with pytest.raises(ValueError, match="Conflicting optimizer name = 'toy'"):
        register_optimizer("toy", Toy, ToyParams)
