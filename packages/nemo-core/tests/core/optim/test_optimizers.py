"""The optimizer registry and NeMo's rules for optimizer arguments in configs."""

import dataclasses
import functools
from dataclasses import dataclass

import pytest
import torch
from nemo.core.config import optimizers as optimizer_configs
from nemo.core.optim import optimizers
from nemo.core.optim.novograd import Novograd
from nemo.core.optim.optimizers import (
    AVAILABLE_OPTIMIZERS,
    drop_unset_arguments,
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


def test_parse_optimizer_args_named_params_returns_every_field_as_nemo_does():
    # NeMo 1.23's test_optim_config_parse_arg_by_target: the keys are exactly the dataclass's fields, the unset
    # `lr` included (as "???").
    args = parse_optimizer_args("whatever", {"name": "novograd_params", "params": {"weight_decay": 0.001}})
    expected = {f: getattr(optimizer_configs.NovogradParams, f) for f in ("betas", "eps", "grad_averaging")}
    assert set(args) == {f.name for f in dataclasses.fields(optimizer_configs.NovogradParams)}
    assert args["lr"] == "???"
    assert args["weight_decay"] == 0.001
    assert {k: args[k] for k in expected} == expected


def test_parse_optimizer_args_names_the_keys_it_ignores_beside_params(caplog):
    config = {"name": "auto", "params": {"momentum": 0.9}, "weight_decay": 0.5}
    with caplog.at_level("WARNING"):
        args = parse_optimizer_args("sgd", config)
    assert args["momentum"] == 0.9 and args["weight_decay"] == 0  # NeMo's rule: only `params` is read
    assert "optim.args key(s) ['weight_decay']" in caplog.text


def test_drop_unset_arguments_leaves_the_optimizers_default_and_names_the_key(caplog):
    with caplog.at_level("WARNING"):
        args = drop_unset_arguments({"lr": "???", "momentum": 0.9}, "sgd")
    assert args == {"momentum": 0.9}
    assert "no value for ['lr']" in caplog.text


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


def _two_layer_params() -> list[torch.nn.Parameter]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    return list(model.parameters())


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "adagrad"])
def test_build_optimizer_picks_the_fused_kernel_when_the_config_leaves_it_open(name):
    optimizer = optimizers.build_optimizer(get_optimizer(name), _two_layer_params(), lr=0.01)
    assert optimizer.defaults["fused"] is True


@pytest.mark.parametrize("choice", [{"fused": False}, {"foreach": True}, {"foreach": False}])
def test_build_optimizer_keeps_the_configs_own_choice(choice):
    optimizer = optimizers.build_optimizer(torch.optim.AdamW, _two_layer_params(), lr=0.01, **choice)
    assert optimizer.defaults["fused"] in (None, False)
    assert {key: optimizer.defaults[key] for key in choice} == choice


def test_build_optimizer_leaves_optimizers_without_a_fused_kernel_alone():
    optimizer = optimizers.build_optimizer(get_optimizer("rmsprop"), _two_layer_params(), lr=0.01)
    assert "fused" not in optimizer.defaults or not optimizer.defaults["fused"]
    novograd = optimizers.build_optimizer(Novograd, _two_layer_params(), lr=0.01)
    assert "fused" not in novograd.defaults


def test_build_optimizer_skips_fused_for_non_float_parameters():
    params = [*_two_layer_params(), torch.zeros(3, dtype=torch.int64)]
    assert not optimizers._fused_kernel_fits(torch.optim.Adam, params)


def test_fused_adamw_steps_match_torchs_default_implementation():
    """Ten AdamW steps with the fused kernel land where torch's default (single-tensor) AdamW lands."""
    fused_params, plain_params = _two_layer_params(), _two_layer_params()
    fused = optimizers.build_optimizer(
        get_optimizer("adamw"), [{"params": fused_params}], lr=0.05, weight_decay=0.01
    )
    plain = torch.optim.AdamW(plain_params, lr=0.05, weight_decay=0.01, foreach=False)
    inputs = torch.randn(8, 6, generator=torch.Generator().manual_seed(1))
    for _ in range(10):
        for params, optimizer in ((fused_params, fused), (plain_params, plain)):
            optimizer.zero_grad()
            hidden = torch.tanh(inputs @ params[0].T + params[1])
            (hidden @ params[2].T + params[3]).square().sum().backward()
            optimizer.step()
    for got, expected in zip(fused_params, plain_params):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert not torch.equal(fused_params[0], _two_layer_params()[0])


def test_build_optimizer_reads_parameter_groups_given_as_iterators():
    model = torch.nn.Linear(3, 2)
    optimizer = optimizers.build_optimizer(torch.optim.Adam, [{"params": model.parameters()}], lr=0.1)
    assert optimizer.param_groups[0]["params"] == list(model.parameters())
    assert optimizer.defaults["fused"] is True
    plain = optimizers.build_optimizer(torch.optim.Adam, model.parameters(), lr=0.1)
    assert plain.param_groups[0]["params"] == list(model.parameters())


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_fused_steps_bump_the_version_counter_like_the_default_implementation(name):
    """Caches keyed on ``tensor._version`` must see the fused update (torch's fused kernels do not bump it)."""
    params = _two_layer_params()
    optimizer = optimizers.build_optimizer(get_optimizer(name), params, lr=0.1)
    assert optimizer.defaults["fused"] is True
    for p in params:
        p.grad = torch.ones_like(p)
    before = [p._version for p in params]
    optimizer.step()
    assert all(p._version > version for p, version in zip(params, before))


def test_parse_optimizer_args_target_with_values_nested_under_params():
    config = {
        "_target_": "nemo.core.config.NovogradParams",
        "params": {"weight_decay": 0.001, "betas": [0.8, 0.5]},
    }
    parsed = parse_optimizer_args("novograd", OmegaConf.create(config))
    assert parsed["weight_decay"] == 0.001 and list(parsed["betas"]) == [0.8, 0.5]


def test_unknown_params_key_is_an_omegaconf_key_error_and_a_value_error():
    from omegaconf.errors import ConfigKeyError

    for error in (ConfigKeyError, ValueError):
        with pytest.raises(error, match="betas"):
            parse_optimizer_args("sgd", {"name": "auto", "betas": [0.8, 0.5]})
