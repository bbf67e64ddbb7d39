"""TimingCallback with a real Lightning Trainer: every stage's step time is logged under NeMo's key."""

import pytest
import pytorch_lightning as pl
import torch
from nemo.utils.callbacks.step_timing import TimingCallback


class TinyRegression(pl.LightningModule):
    """One linear layer on 4 samples; validation reads two dataloaders, so hooks get ``dataloader_idx``."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.logged_keys = set()

    def _loss(self, batch):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self.log("val_loss", self._loss(batch), add_dataloader_idx=True)

    def test_step(self, batch, batch_idx):
        self.log("test_loss", self._loss(batch))

    def log(self, name, value, *args, **kwargs):
        self.logged_keys.add(name)
        return super().log(name, value, *args, **kwargs)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def make_loader():
    inputs = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    dataset = torch.utils.data.TensorDataset(inputs, inputs.sum(dim=1, keepdim=True))
    return torch.utils.data.DataLoader(dataset, batch_size=2)


def make_trainer(callback):
    return pl.Trainer(
        max_steps=2,
        accelerator="cpu",
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_train_validation_test_and_backward_timings_are_logged():
    model, callback = TinyRegression(), TimingCallback({"reduction": "max", "buffer_size": 8})
    trainer = make_trainer(callback)
    trainer.fit(model, train_dataloaders=make_loader(), val_dataloaders=[make_loader(), make_loader()])
    trainer.test(model, dataloaders=make_loader(), verbose=False)
    expected = {f"{stage}_step_timing in s" for stage in ("train", "validation", "test")}
    assert expected | {"train_backward_timing in s"} <= model.logged_keys
    assert callback._started == {}
    # One duration per batch: 2 training steps, 2 validation dataloaders of 2 batches, 2 test batches.
    assert {name: len(durations) for name, durations in callback._durations.items()} == {
        "train_step_timing": 2,
        "train_backward_timing": 2,
        "validation_step_timing": 4,
        "test_step_timing": 2,
    }
    assert all(duration >= 0 for durations in callback._durations.values() for duration in durations)


def test_unknown_timer_kwargs_are_rejected():
    with pytest.raises(ValueError, match=r"unknown timer_kwargs \['window'\]"):
        TimingCallback({"window": 3})
