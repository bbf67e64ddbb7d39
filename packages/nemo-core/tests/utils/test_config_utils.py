"""nemo.utils.config_utils: dataclass-vs-signature checks and laying a user config over a config dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from nemo.utils.config_utils import assert_dataclass_signature_match, update_model_config
from omegaconf import MISSING, OmegaConf


class Block:
    def __init__(self, size: int, dropout: float = 0.1, *args: Any, activation: str = "relu", **kwargs: Any):
        pass


@dataclass
class BlockConfig:
    _target_: str = "pkg.Block"
    size: int = 4
    dropout: float = 0.1
    activation: str = "relu"


@dataclass
class WrongBlockConfig:
    size: int = 4
    drop: float = 0.1


def test_matching_names_ignore_target_and_catch_alls() -> None:
    assert assert_dataclass_signature_match(Block, BlockConfig) == (True, None, None)


def test_mismatch_reports_both_sides_and_ignore_or_remap_fix_it() -> None:
    assert assert_dataclass_signature_match(Block, WrongBlockConfig) == (
        False,
        {"dropout", "activation"},
        {"drop"},
    )
    matched = assert_dataclass_signature_match(
        Block, WrongBlockConfig, ignore_args=["activation"], remap_args={"drop": "dropout"}
    )
    assert matched == (True, None, None)


def test_not_a_dataclass_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        assert_dataclass_signature_match(Block, Block)


@dataclass
class OptimConfig:
    name: str = "adam"
    lr: float = MISSING


@dataclass
class ModelConfig:
    layers: int = 2
    train_ds: dict = field(default_factory=lambda: {"batch_size": 8})
    optim: OptimConfig = field(default_factory=OptimConfig)


@dataclass
class Config:
    name: str = "model"
    model: ModelConfig = field(default_factory=ModelConfig)


def test_update_model_config_overrides_drops_missing_sections_and_keeps_extra_optim_keys() -> None:
    saved = OmegaConf.create(
        {
            "model": {
                "layers": 3,
                "target": "pkg.Model",
                "optim": {"name": "adam", "lr": 0.1, "weight_decay": 0.01},
            }
        }
    )
    merged = update_model_config(Config(), saved)
    assert merged.model.layers == 3
    assert "train_ds" not in merged.model  # the user's config has none
    assert merged.model.optim.lr == 0.1 and merged.model.optim.weight_decay == 0.01
    assert "target" not in merged.model  # a saved-model key the dataclass does not declare
    kept = update_model_config(Config(), {"model": {"layers": 1}}, drop_missing_subconfigs=False)
    assert kept.model.train_ds.batch_size == 8


def test_update_model_config_needs_a_model_section() -> None:
    with pytest.raises(KeyError, match="model"):
        update_model_config(Config(), {"layers": 1})
