"""FastPitch's training losses (NeMo 1.23's names, arguments and reductions): masked MSE on mel frames,
on log-durations, on per-token pitch and on per-token energy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.collections.tts.parts.utils.helpers import mask_from_lens
from nemo.core.classes import Loss, typecheck
from nemo.core.neural_types import (
    LengthsType,
    LossType,
    MelSpectrogramType,
    NeuralType,
    RegressionValuesType,
    TokenDurationType,
    TokenLogDurationType,
)

__all__ = ["DurationLoss", "EnergyLoss", "MelLoss", "PitchLoss"]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum()


class DurationLoss(Loss):
    """MSE between predicted log-durations and ``log(1 + durs_tgt)`` over valid tokens, times ``loss_scale``."""

    def __init__(self, loss_scale: float = 0.1):
        super().__init__()
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "log_durs_predicted": NeuralType(("B", "T"), TokenLogDurationType()),
            "durs_tgt": NeuralType(("B", "T"), TokenDurationType()),
            "len": NeuralType(("B",), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self, log_durs_predicted: torch.Tensor, durs_tgt: torch.Tensor, len: torch.Tensor
    ) -> torch.Tensor:
        """(B, T) predictions and targets, (B,) lengths -> scalar loss."""
        mask = mask_from_lens(len, max_len=durs_tgt.shape[1])
        loss = F.mse_loss(log_durs_predicted, torch.log(durs_tgt.float() + 1), reduction="none")
        return _masked_mean(loss, mask) * self.loss_scale


class PitchLoss(Loss):
    """MSE between per-token pitch prediction and target over valid tokens, times ``loss_scale``."""

    def __init__(self, loss_scale: float = 0.1):
        super().__init__()
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "pitch_predicted": NeuralType(("B", "T"), RegressionValuesType()),
            "pitch_tgt": NeuralType(("B", "T"), RegressionValuesType()),
            "len": NeuralType(("B",), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self, pitch_predicted: torch.Tensor, pitch_tgt: torch.Tensor, len: torch.Tensor
    ) -> torch.Tensor:
        """(B, T) predictions (right-padded with 0 to the target's T), targets, (B,) lengths -> scalar."""
        mask = mask_from_lens(len, max_len=pitch_tgt.shape[1])
        pitch_predicted = F.pad(
            pitch_predicted, (0, pitch_tgt.shape[1] - pitch_predicted.shape[1]), value=0.0
        )
        loss = F.mse_loss(pitch_tgt, pitch_predicted, reduction="none")
        return _masked_mean(loss, mask) * self.loss_scale


class EnergyLoss(Loss):
    """MSE between per-token energy prediction and target over valid tokens, times ``loss_scale``; 0.0 when
    there is no target."""

    def __init__(self, loss_scale: float = 0.1):
        super().__init__()
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "energy_predicted": NeuralType(("B", "T"), RegressionValuesType()),
            "energy_tgt": NeuralType(("B", "T"), RegressionValuesType()),
            "length": NeuralType(("B",), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self, energy_predicted: torch.Tensor | None, energy_tgt: torch.Tensor | None, length: torch.Tensor
    ) -> torch.Tensor | float:
        """(B, T) predictions and targets, (B,) lengths -> scalar (0.0 without a target)."""
        if energy_tgt is None:
            return 0.0
        mask = mask_from_lens(length, max_len=energy_tgt.shape[1])
        loss = F.mse_loss(energy_tgt, energy_predicted, reduction="none")
        return _masked_mean(loss, mask) * self.loss_scale


class MelLoss(Loss):
    """MSE between predicted and target mels over the target's non-zero cells (the prediction is cut or
    zero-padded to the target's length)."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "spect_predicted": NeuralType(("B", "D", "T"), MelSpectrogramType()),
            "spect_tgt": NeuralType(("B", "D", "T"), MelSpectrogramType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(self, spect_predicted: torch.Tensor, spect_tgt: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T') prediction, (B, n_mels, T) target -> scalar."""
        spect_tgt = spect_tgt.detach()
        spect_predicted = F.pad(
            spect_predicted, (0, spect_tgt.shape[2] - spect_predicted.shape[2]), value=0.0
        )
        loss = F.mse_loss(spect_predicted, spect_tgt, reduction="none")
        return _masked_mean(loss, spect_tgt.ne(0))
