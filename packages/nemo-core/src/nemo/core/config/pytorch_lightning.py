"""``TrainerConfig``: the ``trainer`` section of a NeMo config, one field per Lightning 2 ``Trainer`` argument.

Field names and defaults are those of ``pytorch_lightning.Trainer.__init__`` (Lightning >= 2.1), so
``pytorch_lightning.Trainer(**cfg.trainer)`` builds the trainer the config describes. Arguments added in later
Lightning releases (``enable_autolog_hparams``, ``model_registry``) are left out so the config stays valid
across the supported range. Importing this module registers the dataclass in Hydra's ``ConfigStore`` as
group ``trainer``, name ``trainer`` (as NeMo does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class TrainerConfig:
    """Arguments of ``pytorch_lightning.Trainer``; ``None`` means "Lightning's own default"."""

    accelerator: Any = "auto"
    strategy: Any = "auto"
    devices: Any = "auto"
    num_nodes: int = 1
    precision: Any = None
    logger: Any = None
    callbacks: Any = None
    fast_dev_run: Any = False
    max_epochs: int | None = None
    min_epochs: int | None = None
    max_steps: int = -1
    min_steps: int | None = None
    max_time: Any = None
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    limit_predict_batches: Any = None
    overfit_batches: Any = 0.0
    val_check_interval: Any = None
    check_val_every_n_epoch: int | None = 1
    num_sanity_val_steps: int | None = None
    log_every_n_steps: int | None = None
    enable_checkpointing: bool | None = None
    enable_progress_bar: bool | None = None
    enable_model_summary: bool | None = None
    accumulate_grad_batches: int = 1
    gradient_clip_val: Any = None
    gradient_clip_algorithm: str | None = None
    deterministic: Any = None
    benchmark: bool | None = None
    inference_mode: bool = True
    use_distributed_sampler: bool = True
    profiler: Any = None
    detect_anomaly: bool = False
    barebones: bool = False
    plugins: Any = None
    sync_batchnorm: bool = False
    reload_dataloaders_every_n_epochs: int = 0
    default_root_dir: str | None = None


ConfigStore.instance().store(group="trainer", name="trainer", node=TrainerConfig)
