"""TimingCallback with a real Lightning Trainer: what it logs is the reduced duration of real steps.

Two clock-reading callbacks sit on either side of the TimingCallback, so every hook the TimingCallback
sees is bracketed by their readings: each of its durations lies between (end read before it - start read
after it) and (end read after it - start read before it), however loaded the machine is. Expected values
follow NeMo 1.23's ``TimingCallback`` over ``NamedTimer``: ``<name> in s`` logged on every step, the
``reduction`` over the last ``buffer_size`` durations, or the last duration alone by default.
"""

import time

import pytest
import pytorch_lightning as pl
import torch
from nemo.utils.callbacks.step_timing import TimingCallback

# Seconds each training step sleeps: a long step followed by short ones tells the reductions apart.
TRAIN_SLEEPS = (0.12, 0.0, 0.0, 0.06)
SLACK = 1e-9
PHASES = {
    "train_step_timing": ("on_train_batch_start", "on_train_batch_end"),
    "train_backward_timing": ("on_before_backward", "on_after_backward"),
    "validation_step_timing": ("on_validation_batch_start", "on_validation_batch_end"),
    "test_step_timing": ("on_test_batch_start", "on_test_batch_end"),
}
REDUCE = {
    "mean": lambda values: sum(values) / len(values),
    "sum": sum,
    "min": min,
    "max": max,
}


class ClockReader(pl.Callback):
    """Reads ``time.perf_counter()`` in every hook that the TimingCallback times."""

    def __init__(self):
        self.readings = {hook: [] for hooks in PHASES.values() for hook in hooks}

    def _read(self, hook):
        self.readings[hook].append(time.perf_counter())

    def on_train_batch_start(self, *args):
        self._read("on_train_batch_start")

    def on_train_batch_end(self, *args):
        self._read("on_train_batch_end")

    def on_before_backward(self, *args):
        self._read("on_before_backward")

    def on_after_backward(self, *args):
        self._read("on_after_backward")

    def on_validation_batch_start(self, *args, **kwargs):
        self._read("on_validation_batch_start")

    def on_validation_batch_end(self, *args, **kwargs):
        self._read("on_validation_batch_end")

    def on_test_batch_start(self, *args, **kwargs):
        self._read("on_test_batch_start")

    def on_test_batch_end(self, *args, **kwargs):
        self._read("on_test_batch_end")


class SleepyRegression(pl.LightningModule):
    """One linear layer; training step ``i`` sleeps ``TRAIN_SLEEPS[i]``; validation reads two dataloaders."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.logged = {}

    def _loss(self, batch):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def training_step(self, batch, batch_idx):
        time.sleep(TRAIN_SLEEPS[batch_idx])
        return self._loss(batch)

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self.log("val_loss", self._loss(batch), add_dataloader_idx=True)

    def test_step(self, batch, batch_idx):
        self.log("test_loss", self._loss(batch))

    def log(self, name, value, *args, **kwargs):
        self.logged.setdefault(name, []).append(float(value))
        return super().log(name, value, *args, **kwargs)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def make_loader(samples):
    inputs = torch.randn(samples, 2, generator=torch.Generator().manual_seed(0))
    dataset = torch.utils.data.TensorDataset(inputs, inputs.sum(dim=1, keepdim=True))
    return torch.utils.data.DataLoader(dataset, batch_size=1)


def run(timing: TimingCallback) -> tuple[SleepyRegression, dict, ClockReader, ClockReader]:
    """Fit 4 steps (then validate on 2 loaders of 2 batches) and test on 2 batches.

    Returns:
        The model (with what it logged), the progress bar's metrics after fitting, and the two readers.
    """
    model, before, after = SleepyRegression(), ClockReader(), ClockReader()
    trainer = pl.Trainer(
        max_steps=len(TRAIN_SLEEPS),
        accelerator="cpu",
        callbacks=[before, timing, after],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, train_dataloaders=make_loader(len(TRAIN_SLEEPS)), val_dataloaders=[make_loader(2)] * 2)
    progress_bar = dict(trainer.progress_bar_metrics)
    trainer.test(model, dataloaders=make_loader(2), verbose=False)
    return model, progress_bar, before, after


def duration_bounds(name: str, before: ClockReader, after: ClockReader) -> list[tuple[float, float]]:
    """``(shortest, longest)`` possible duration of each timed ``name`` event, from the bracketing readings."""
    start, end = PHASES[name]
    return [
        (end_before - start_after, end_after - start_before)
        for start_before, start_after, end_before, end_after in zip(
            before.readings[start], after.readings[start], before.readings[end], after.readings[end]
        )
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "min", "max"])
def test_logged_values_reduce_the_measured_durations_over_the_buffer(reduction):
    model, progress_bar, before, after = run(TimingCallback({"reduction": reduction, "buffer_size": 2}))

    events = {
        "train_step_timing": 4,
        "train_backward_timing": 4,
        "validation_step_timing": 4,
        "test_step_timing": 2,
    }
    for name, count in events.items():
        bounds = duration_bounds(name, before, after)
        logged = model.logged[f"{name} in s"]
        assert len(bounds) == len(logged) == count, name
        for step, value in enumerate(logged):
            window = bounds[max(0, step - 1) : step + 1]  # the last buffer_size=2 durations
            shortest = REDUCE[reduction]([low for low, _ in window])
            longest = REDUCE[reduction]([high for _, high in window])
            assert shortest - SLACK <= value <= longest + SLACK, (name, step, window, value)
    # The steps really took their sleep: a step's own duration is at least what it slept.
    assert all(
        high >= sleep
        for (_, high), sleep in zip(duration_bounds("train_step_timing", before, after), TRAIN_SLEEPS)
    )
    # Only the training step time goes to the progress bar.
    assert "train_step_timing in s" in progress_bar and "validation_step_timing in s" not in progress_bar


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_default_logs_each_step_alone():
    # NeMo's TimingCallback() (buffer_size -1) resets the timer at every batch start: the last duration.
    model, _, before, after = run(TimingCallback())

    for name in PHASES:
        bounds = duration_bounds(name, before, after)
        logged = model.logged[f"{name} in s"]
        assert len(logged) == len(bounds) > 0
        assert all(low - SLACK <= value <= high + SLACK for value, (low, high) in zip(logged, bounds)), name
    sleeps = zip(model.logged["train_step_timing in s"], TRAIN_SLEEPS)
    assert all(value >= sleep for value, sleep in sleeps)


def test_unknown_timer_kwargs_and_reductions_are_rejected():
    with pytest.raises(ValueError, match=r"unknown timer_kwargs \['window'\]"):
        TimingCallback({"window": 3})
    with pytest.raises(
        ValueError, match=r"reduction='median'; expected one of \['max', 'mean', 'min', 'sum'\]"
    ):
        TimingCallback({"reduction": "median"})
