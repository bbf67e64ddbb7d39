"""Wall-clock timing shared by the benchmark scripts (importable as ``timing`` from this folder)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer sees it; nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(step: Callable[[], object], repeats: int, warmup: int, device: torch.device) -> list[float]:
    """Wall seconds of each of ``repeats`` calls of ``step()``, after ``warmup`` untimed calls.

    The samples are returned whole: ``run_all.py`` reports their median, range and count (``spread.py``).
    """
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def fit_step_times(
    model: torch.nn.Module, batches: list[object], device: torch.device, warmup: int
) -> list[float]:
    """Wall seconds of each ``training_step`` batch of a real Lightning ``Trainer.fit`` over ``batches``.

    One epoch over ``batches`` (the list is the dataloader, one item per step), on ``device``, with no logger,
    checkpoint, validation or scheduler (``optim.sched`` is dropped), so the optimizers come from the model's
    own ``configure_optimizers``. Each step is timed from batch start to batch end; the first ``warmup`` are
    dropped.
    """
    import pytorch_lightning as pl
    from omegaconf import open_dict

    times: list[float] = []

    class StepTimer(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            synchronize(device)
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            synchronize(device)
            times.append(time.perf_counter() - self.start)

    with open_dict(model.cfg):
        model.cfg.optim.pop("sched", None)
    loader = torch.utils.data.DataLoader(batches, batch_size=None)
    model._train_dl, model._validation_dl = loader, None  # these batches, not the config's datasets
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator=device.type,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[StepTimer()],
    )
    trainer.fit(model, train_dataloaders=loader)
    return times[warmup:]


# The convolution and matrix-product kernels: the work a compute floor counts, at the rates torch reaches.
KERNELS = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::mm", "aten::bmm", "aten::addmm")


def kernel_seconds(step: Callable[[], object]) -> float:
    """Self CPU seconds of the convolution and matrix-product kernels (``KERNELS``) in one call of ``step``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return sum(event.self_cpu_time_total for event in prof.key_averages() if event.key in KERNELS) / 1e6
