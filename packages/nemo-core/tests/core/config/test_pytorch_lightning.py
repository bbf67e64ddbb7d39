"""TrainerConfig mirrors Lightning 2's Trainer arguments and builds a Trainer."""

import dataclasses
import inspect

import pytorch_lightning as pl
from hydra.core.config_store import ConfigStore
from nemo.core.config.pytorch_lightning import TrainerConfig
from omegaconf import OmegaConf


def test_fields_are_trainer_arguments_with_lightnings_defaults():
    trainer_args = inspect.signature(pl.Trainer.__init__).parameters
    for field in dataclasses.fields(TrainerConfig):
        assert field.name in trainer_args, field.name
        assert field.default == trainer_args[field.name].default, field.name
    assert TrainerConfig().accelerator == "auto"


def test_every_trainer_argument_but_newer_ones_is_covered():
    names = {field.name for field in dataclasses.fields(TrainerConfig)}
    missing = set(inspect.signature(pl.Trainer.__init__).parameters) - names - {"self"}
    assert missing <= {"enable_autolog_hparams", "model_registry"}


def test_structured_config_builds_a_trainer():
    cfg = OmegaConf.structured(
        TrainerConfig(accelerator="cpu", max_steps=3, logger=False, enable_checkpointing=False)
    )
    trainer = pl.Trainer(**cfg)
    assert (trainer.max_steps, trainer.logger) == (3, None)


def test_registered_in_hydra_config_store():
    assert ConfigStore.instance().load("trainer/trainer.yaml").node.accelerator == "auto"
