"""StatelessTimer and exp_manager's max_time_per_run / ema keys, with a real Lightning Trainer."""

from datetime import timedelta

import pytest
import pytorch_lightning as pl
import torch
from nemo.collections.common.callbacks import EMA
from nemo.utils.exp_manager import StatelessTimer, exp_manager
from pytorch_lightning.callbacks import Timer


class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.zeros(50, 1), batch_size=1)

    def training_step(self, batch, batch_idx):
        return self.w.sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def make_trainer(**kwargs) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        **kwargs,
    )


def test_elapsed_time_is_not_saved_nor_restored():
    timer = StatelessTimer("00:00:01:00")
    assert timer.state_dict() == {}
    timer.load_state_dict({"time_elapsed": {"train": 1e6}})
    assert timer.time_elapsed("train") == 0.0
    lightning_timer = Timer("00:00:01:00")  # for contrast: Lightning's timer carries the time over
    lightning_timer.load_state_dict({"time_elapsed": {"train": 30.0}})
    assert lightning_timer.time_elapsed("train") == 30.0


def test_time_up_saves_last_checkpoint_and_ends_fit(tmp_path):
    trainer = make_trainer()
    config = {
        "explicit_log_dir": str(tmp_path),
        "create_tensorboard_logger": False,
        "max_time_per_run": "00:00:00:00",  # no time at all: Lightning checks it when fitting starts
        "checkpoint_callback_params": {
            "monitor": None,
            "save_top_k": 1,
            "filename": "{step}",
            "save_nemo_on_train_end": False,
        },
    }
    exp_manager(trainer, config)
    assert sum(isinstance(callback, StatelessTimer) for callback in trainer.callbacks) == 1
    trainer.fit(Tiny())
    assert trainer.global_step == 0
    assert [path.name for path in (tmp_path / "checkpoints").glob("*last.ckpt")] == ["step=0-last.ckpt"]


def test_max_time_per_run_replaces_the_trainer_timer(tmp_path):
    trainer = make_trainer(max_time=timedelta(hours=1))
    exp_manager(trainer, {"explicit_log_dir": str(tmp_path), "max_time_per_run": "00:02:00:00"})
    timers = [callback for callback in trainer.callbacks if isinstance(callback, Timer)]
    assert len(timers) == 1 and isinstance(timers[0], StatelessTimer)
    assert timers[0]._duration == timedelta(hours=2).total_seconds()


def test_ema_section_adds_the_callback_and_checks_its_keys(tmp_path):
    trainer = make_trainer()
    exp_manager(
        trainer,
        {"explicit_log_dir": str(tmp_path), "ema": {"enable": True, "decay": 0.9, "every_n_steps": 3}},
    )
    (ema,) = [callback for callback in trainer.callbacks if isinstance(callback, EMA)]
    assert (ema.decay, ema.every_n_steps, ema.cpu_offload, ema.validate_original_weights) == (
        0.9,
        3,
        False,
        False,
    )
    with pytest.raises(ValueError, match="exp_manager.ema.decy"):
        exp_manager(make_trainer(), {"explicit_log_dir": str(tmp_path), "ema": {"decy": 0.9}})
