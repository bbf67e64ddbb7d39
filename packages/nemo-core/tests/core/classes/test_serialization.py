"""Serialization.from_config_dict / to_config_dict, and the `_target_` allow-list that guards them."""

from __future__ import annotations

import textwrap

import pytest
import torch
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.target_allowlist import (
    UnsafeTargetError,
    allow_target_prefixes,
    check_target,
    is_target_allowed,
)
from omegaconf import DictConfig, OmegaConf


class Builder(Serialization):
    """A plain Serialization user whose constructor takes the model config."""

    def __init__(self, cfg, trainer=None):
        self.cfg = cfg
        self.trainer = trainer


# ----------------------------------------------------------------------------------------- allow-list
@pytest.mark.parametrize(
    "path",
    [
        "nemo.core.classes.modelPT.ModelPT",
        "torch.nn.Linear",
        "torch.optim.AdamW",
        "torch.utils.data.DataLoader",
        "pytorch_lightning.callbacks.ModelCheckpoint",
        "lightning.pytorch.callbacks.EarlyStopping",
        "torchmetrics.MeanMetric",
    ],
)
def test_builtin_prefixes_are_allowed(path):
    assert is_target_allowed(path)
    check_target(path, source="test")


@pytest.mark.parametrize("path", ["os.system", "builtins.eval", "nemo_evil.Model", "torch.load", "", None, 3])
def test_other_paths_are_refused_with_source_and_fix(path):
    assert not is_target_allowed(path)
    with pytest.raises(UnsafeTargetError) as info:
        check_target(path, source="config key 'encoder._target_'")
    message = str(info.value)
    assert repr(path) in message
    assert "config key 'encoder._target_'" in message
    assert "allow_target_prefixes" in message and "nemo_register_target_prefixes" in message


def test_allow_target_prefixes_adds_and_context_removes():
    assert not is_target_allowed("my_models.TinyModel")
    with allow_target_prefixes("my_models."):
        assert is_target_allowed("my_models.TinyModel")
        assert not is_target_allowed("my_models_evil.TinyModel")
    assert not is_target_allowed("my_models.TinyModel")


def test_prefix_without_dot_allows_the_path_and_below_only():
    with allow_target_prefixes("pkg.Model"):
        assert is_target_allowed("pkg.Model")
        assert is_target_allowed("pkg.Model.Inner")
        assert not is_target_allowed("pkg.Model2")


@pytest.mark.parametrize("prefix", ["", ".", " pkg.", None])
def test_allow_target_prefixes_rejects_prefixes_that_allow_everything_or_nothing(prefix):
    with pytest.raises(ValueError, match="allow_target_prefixes"):
        allow_target_prefixes(prefix)


# ------------------------------------------------------------------------------------ from_config_dict
def test_target_config_instantiates_with_nested_targets():
    config = {
        "_target_": "torch.nn.Sequential",
        "_args_": [
            {"_target_": "torch.nn.Linear", "in_features": 3, "out_features": 5},
            {"_target_": "torch.nn.ReLU"},
        ],
    }
    module = Serialization.from_config_dict(config)
    assert isinstance(module, torch.nn.Sequential)
    assert isinstance(module[0], torch.nn.Linear) and module[0].out_features == 5
    assert isinstance(module[1], torch.nn.ReLU)
    assert isinstance(module._cfg, DictConfig) and module._cfg._target_ == "torch.nn.Sequential"


def test_dictconfig_with_interpolation_is_resolved_before_instantiation():
    config = OmegaConf.create(
        {"size": 7, "layer": {"_target_": "torch.nn.Linear", "in_features": "${size}", "out_features": 2}}
    )
    layer = Serialization.from_config_dict(config.layer)
    assert layer.in_features == 7


def test_legacy_cls_params_config_instantiates():
    layer = Serialization.from_config_dict(
        {"cls": "torch.nn.Linear", "params": {"in_features": 4, "out_features": 6}}
    )
    assert isinstance(layer, torch.nn.Linear) and (layer.in_features, layer.out_features) == (4, 6)


def test_model_config_without_target_builds_calling_class_with_trainer():
    built = Builder.from_config_dict({"hidden": 8}, trainer="a trainer")
    assert isinstance(built, Builder)
    assert built.cfg.hidden == 8 and built.trainer == "a trainer"
    assert OmegaConf.is_struct(built.cfg)


def test_model_config_target_naming_a_subclass_builds_that_subclass(tmp_path, monkeypatch):
    (tmp_path / "my_models_for_target.py").write_text(
        textwrap.dedent(
            """
            from nemo.core.classes.serialization import Serialization

            class Base(Serialization):
                def __init__(self, cfg):
                    self.cfg = cfg

            class Sub(Base):
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_models_for_target

    with allow_target_prefixes("my_models_for_target."):
        built = my_models_for_target.Base.from_config_dict({"target": "my_models_for_target.Sub"})
        assert type(built) is my_models_for_target.Sub
        # A target that is not a subclass of the calling class does not replace it.
        kept = Builder.from_config_dict({"target": "my_models_for_target.Sub"})
        assert type(kept) is Builder


def test_model_config_target_outside_allow_list_is_refused():
    with pytest.raises(UnsafeTargetError, match="os.system"):
        Builder.from_config_dict({"target": "os.system"})


def test_unimportable_target_falls_back_to_calling_class():
    built = Builder.from_config_dict({"target": "nemo.collections.does_not_exist.Model", "x": 1})
    assert type(built) is Builder and built.cfg.x == 1


HOSTILE_CONFIGS = {
    "plain": lambda marker: {"_target_": "os.system", "command": f"touch {marker}"},
    "re-exported-through-allowed-module": lambda marker: {
        "_target_": "nemo.utils.nemo_logging.os.system",
        "command": f"touch {marker}",
    },
    "legacy": lambda marker: {"cls": "os.system", "params": {"command": f"touch {marker}"}},
    "nested": lambda marker: {
        "_target_": "torch.nn.Sequential",
        "_args_": [{"_target_": "os.system", "command": f"touch {marker}"}],
    },
    "builtins": lambda marker: {"_target_": "builtins.exec", "_args_": [f"open({str(marker)!r}, 'w')"]},
    "special-attribute": lambda marker: {"_target_": "torch.nn.Module.__init__.__globals__"},
}


@pytest.mark.parametrize("make_config", HOSTILE_CONFIGS.values(), ids=HOSTILE_CONFIGS.keys())
def test_hostile_targets_are_refused_and_never_run(make_config, tmp_path):
    marker = tmp_path / "marker"
    with pytest.raises(UnsafeTargetError):
        Serialization.from_config_dict(OmegaConf.create(make_config(marker)))
    assert not marker.exists()


def test_non_mapping_config_gets_a_clear_error():
    with pytest.raises(TypeError, match="DictConfig or dict"):
        Serialization.from_config_dict(["not", "a", "config"])


# --------------------------------------------------------------------------------------- to_config_dict
def test_to_config_dict_returns_resolved_stored_config():
    built = Builder.from_config_dict(OmegaConf.create({"a": 2, "b": "${a}"}))
    config = built.to_config_dict()
    assert OmegaConf.to_container(config) == {"a": 2, "b": 2}
    assert OmegaConf.is_struct(config)


def test_to_config_dict_without_config_says_how_to_get_one():
    with pytest.raises(NotImplementedError, match="from_config_dict"):
        Serialization().to_config_dict()
