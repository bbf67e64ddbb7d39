"""EchoModel: the smallest useful nemo ``ModelPT``, which learns to reproduce its input vectors.

It is the model a plugin author can copy: data comes from ``cfg.train_ds`` / ``cfg.validation_ds``,
the optimizer from ``cfg.optim`` (handled by ``ModelPT``), and ``save_to`` / ``restore_from`` work
unchanged because everything the model needs is in ``cfg``.
"""

from __future__ import annotations

import torch
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from omegaconf import DictConfig
from pytorch_lightning import Trainer
from torch.utils.data import DataLoader, TensorDataset


def random_vectors_loader(cfg: DictConfig) -> DataLoader:
    """A loader over ``cfg.num_samples`` vectors of size ``cfg.dim`` drawn from N(0, 1).

    Args:
        cfg: ``num_samples``, ``batch_size``, ``dim``, and optionally ``seed`` (default 0) and
            ``shuffle`` (default false).

    Returns:
        Batches of one tensor each, shape (B, D).
    """
    generator = torch.Generator().manual_seed(int(cfg.get("seed", 0)))
    vectors = torch.randn(int(cfg.num_samples), int(cfg.dim), generator=generator)
    return DataLoader(
        TensorDataset(vectors), batch_size=int(cfg.batch_size), shuffle=bool(cfg.get("shuffle", False))
    )


class EchoModel(ModelPT):
    """A two-layer network trained with mean squared error to output its input.

    Config keys (``cfg``): ``dim`` (D), ``hidden`` (H), ``train_ds`` and ``validation_ds`` (see
    ``random_vectors_loader``), ``optim``.
    """

    def __init__(self, cfg: DictConfig, trainer: Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        self.encoder = torch.nn.Linear(self.cfg.dim, self.cfg.hidden)
        self.decoder = torch.nn.Linear(self.cfg.hidden, self.cfg.dim)
        self.loss = torch.nn.MSELoss()

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """EchoModel has no published checkpoints."""
        return []

    def forward(self, input_signal: torch.Tensor) -> torch.Tensor:
        """Reconstruct the input.

        Args:
            input_signal: (B, D) vectors.

        Returns:
            (B, D) reconstructions.
        """
        return self.decoder(torch.relu(self.encoder(input_signal)))

    def setup_training_data(self, train_data_config: DictConfig) -> None:
        self._train_dl = random_vectors_loader(train_data_config)

    def setup_validation_data(self, val_data_config: DictConfig) -> None:
        self._validation_dl = random_vectors_loader(val_data_config)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        (vectors,) = batch
        loss = self.loss(self(input_signal=vectors), vectors)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        (vectors,) = batch
        loss = self.loss(self(input_signal=vectors), vectors)
        self.log("val_loss", loss, prog_bar=True)
        return loss
