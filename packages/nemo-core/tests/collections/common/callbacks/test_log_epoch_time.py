"""LogEpochTimeCallback with a real Trainer: one `epoch_time` row per epoch in the CSV log, in seconds."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from nemo.collections.common.callbacks import LogEpochTimeCallback
from pytorch_lightning.loggers import CSVLogger


class SlowRegression(pl.LightningModule):
    """One linear layer; each training step sleeps 50 ms so an epoch of 2 steps lasts at least 0.1 s."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        time.sleep(0.05)
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(torch.randn(4, 2), torch.randn(4, 1))
        return torch.utils.data.DataLoader(data, batch_size=2)


def test_each_epoch_logs_its_duration(tmp_path: Path) -> None:
    callback = LogEpochTimeCallback()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=2,
        logger=CSVLogger(tmp_path, name="run"),
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    trainer.fit(SlowRegression())
    rows = list(csv.DictReader(open(Path(trainer.logger.log_dir) / "metrics.csv")))
    times = [float(row["epoch_time"]) for row in rows if row.get("epoch_time")]
    assert len(times) == 2
    assert all(0.1 <= seconds < 30 for seconds in times)
    assert callback.last_epoch_time == times[-1]
