"""``LogEpochTimeCallback``: the wall-clock seconds of each training epoch, sent to the trainer's loggers."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.utilities.rank_zero import rank_zero_only

__all__ = ["LogEpochTimeCallback"]


class LogEpochTimeCallback(pl.Callback):
    """Log ``epoch_time`` (seconds, float) at the end of every training epoch, on global rank zero.

    NeMo's TTS scripts (``examples/tts/fastpitch.py``) add it to their trainer. With no logger attached the
    measurement is still kept in ``last_epoch_time``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._started: float | None = None
        self.last_epoch_time: float | None = None

    @rank_zero_only
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._started = time.perf_counter()

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if self._started is None:
            return
        self.last_epoch_time = time.perf_counter() - self._started
        for logger in trainer.loggers:
            logger.log_metrics({"epoch_time": self.last_epoch_time}, step=trainer.global_step)
