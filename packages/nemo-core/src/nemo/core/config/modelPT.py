"""Structured configs of a NeMo experiment: ``model`` (with ``optim``/``sched``), ``trainer``, ``exp_manager``, ``hydra``.

``NemoConfig`` is the schema of a whole training script config; pass it to
:func:`nemo.core.config.hydra_runner.hydra_runner` as ``schema`` or build one in code with
``OmegaConf.structured(NemoConfig(name="run", model=...))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nemo.core.classes.dataset import DatasetConfig
from nemo.core.config.pytorch_lightning import TrainerConfig
from nemo.utils.exp_manager import ExpManagerConfig
from omegaconf import MISSING


@dataclass
class SchedConfig:
    """``model.optim.sched``: the scheduler's name plus the arguments most schedulers share."""

    name: str = MISSING
    min_lr: float = 0.0
    last_epoch: int = -1


@dataclass
class OptimConfig:
    """``model.optim``: the optimizer's name and an optional scheduler."""

    name: str = MISSING
    sched: SchedConfig | None = None


@dataclass
class ModelConfig:
    """``model``: the data and optimization sections every ``ModelPT`` reads."""

    train_ds: DatasetConfig | None = None
    validation_ds: DatasetConfig | None = None
    test_ds: DatasetConfig | None = None
    optim: OptimConfig | None = None


@dataclass
class HydraConfig:
    """``hydra``: run in the current directory and leave logging to NeMo (as NeMo's scripts do)."""

    run: dict[str, Any] = field(default_factory=lambda: {"dir": "."})
    job_logging: dict[str, Any] = field(default_factory=lambda: {"root": {"handlers": None}})


def _nemo_trainer_defaults() -> TrainerConfig:
    """Trainer defaults for scripts driven by ``exp_manager``, which creates the logger and checkpointing."""
    return TrainerConfig(enable_checkpointing=False, logger=False, log_every_n_steps=1)


@dataclass
class NemoConfig:
    """Schema of a whole NeMo training script config."""

    name: str = MISSING
    model: ModelConfig = MISSING
    trainer: TrainerConfig = field(default_factory=_nemo_trainer_defaults)
    exp_manager: ExpManagerConfig | None = field(default_factory=ExpManagerConfig)
    hydra: HydraConfig = field(default_factory=HydraConfig)


ModelPTConfig = NemoConfig
