"""Structured configs of a whole NeMo experiment."""

import pytest
import pytorch_lightning as pl
from nemo.core.config.modelPT import ModelConfig, ModelPTConfig, NemoConfig, OptimConfig, SchedConfig
from nemo.utils.exp_manager import ExpManagerConfig
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue, ValidationError


def test_nemo_config_defaults_suit_exp_manager_and_build_a_trainer():
    cfg = OmegaConf.structured(NemoConfig(name="run", model=ModelConfig()))
    assert OmegaConf.to_object(cfg.exp_manager) == ExpManagerConfig()
    assert (cfg.trainer.logger, cfg.trainer.enable_checkpointing) == (False, False)
    assert cfg.hydra.run.dir == "."
    cfg.trainer.max_steps = 1
    trainer = pl.Trainer(**cfg.trainer)
    assert trainer.logger is None


def test_yaml_merges_over_the_schema_with_type_checks():
    schema = OmegaConf.structured(NemoConfig)
    user = OmegaConf.create(
        {
            "name": "asr",
            "model": {
                "train_ds": {"batch_size": 4},
                "optim": {"name": "adam", "sched": {"name": "CosineAnnealing"}},
            },
        }
    )
    cfg = OmegaConf.merge(schema, user)
    assert cfg.model.train_ds.batch_size == 4
    assert cfg.model.train_ds.shuffle is False
    assert cfg.model.optim.sched == OmegaConf.structured(SchedConfig(name="CosineAnnealing"))
    with pytest.raises(ValidationError):
        OmegaConf.merge(schema, {"model": {"train_ds": {"batch_size": "four"}}})


def test_mandatory_fields_are_missing_until_set():
    cfg = OmegaConf.structured(NemoConfig)
    with pytest.raises(MissingMandatoryValue):
        _ = cfg.name
    with pytest.raises(MissingMandatoryValue):
        _ = OmegaConf.structured(OptimConfig).name


def test_model_pt_config_is_nemo_config():
    assert ModelPTConfig is NemoConfig
