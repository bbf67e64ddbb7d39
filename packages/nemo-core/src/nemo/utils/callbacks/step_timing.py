"""``TimingCallback``: logs how long training, validation and test steps take (``train_step_timing in s``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

_REDUCTIONS = {
    "mean": lambda values: sum(values) / len(values),
    "sum": sum,
    "min": min,
    "max": max,
}


def _evaluation_batch_hooks(name: str) -> tuple[Callable[..., None], Callable[..., None]]:
    """Lightning's ``on_<stage>_batch_start`` / ``on_<stage>_batch_end`` for an evaluation stage, timing ``name``.

    Validation and test hooks take the same arguments (with ``dataloader_idx``) and differ only in what they time.

    Args:
        name: the timer, logged as ``<name> in s`` (``validation_step_timing``, ``test_step_timing``).

    Returns:
        The ``(start, end)`` hooks, to bind as methods of :class:`TimingCallback`.
    """

    def on_batch_start(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._start(name)

    def on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._stop(name, pl_module)

    return on_batch_start, on_batch_end


class TimingCallback(Callback):
    """Time each step and log it as ``<phase>_step_timing in s`` (and ``train_backward_timing in s``).

    Args:
        timer_kwargs: ``reduction`` (``mean``, ``sum``, ``min`` or ``max``) over the last ``buffer_size``
            steps (default ``mean`` over 1, i.e. the last step), and ``sync_cuda`` to synchronize CUDA before
            reading the clock so that asynchronous kernels are counted.
    """

    def __init__(self, timer_kwargs: dict[str, Any] | None = None) -> None:
        kwargs = dict(timer_kwargs or {})
        self.reduction = kwargs.pop("reduction", "mean")
        self.sync_cuda = kwargs.pop("sync_cuda", False)
        self.buffer_size = max(1, int(kwargs.pop("buffer_size", 1)))
        if kwargs:
            raise ValueError(
                f"TimingCallback got unknown timer_kwargs {sorted(kwargs)}; expected reduction, sync_cuda, "
                "buffer_size. Fix exp_manager.step_timing_kwargs."
            )
        if self.reduction not in _REDUCTIONS:
            raise ValueError(
                f"TimingCallback got reduction={self.reduction!r}; expected one of {sorted(_REDUCTIONS)}. "
                "Fix exp_manager.step_timing_kwargs.reduction."
            )
        self._started: dict[str, float] = {}
        self._durations: dict[str, deque[float]] = {}

    def _clock(self) -> float:
        if self.sync_cuda and torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def _start(self, name: str) -> None:
        self._started[name] = self._clock()

    def _stop(self, name: str, pl_module: pl.LightningModule) -> None:
        started = self._started.pop(name, None)
        if started is None:
            return
        durations = self._durations.setdefault(name, deque(maxlen=self.buffer_size))
        durations.append(self._clock() - started)
        pl_module.log(
            f"{name} in s",
            _REDUCTIONS[self.reduction](durations),
            on_step=True,
            on_epoch=False,
            batch_size=1,
            prog_bar=(name == "train_step_timing"),
        )

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._start("train_step_timing")

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._stop("train_step_timing", pl_module)

    on_validation_batch_start, on_validation_batch_end = _evaluation_batch_hooks("validation_step_timing")
    on_test_batch_start, on_test_batch_end = _evaluation_batch_hooks("test_step_timing")

    def on_before_backward(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor
    ) -> None:
        self._start("train_backward_timing")

    def on_after_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop("train_backward_timing", pl_module)
