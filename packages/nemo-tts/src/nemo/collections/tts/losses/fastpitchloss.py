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


class _ScalarLoss(Loss):
    """A loss whose single output is the scalar ``loss``."""

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}


class _ScaledTokenLoss(_ScalarLoss):
    """Masked MSE over the valid tokens of (B, T) predictions and targets, times ``loss_scale``.

    Subclasses name their three inputs (prediction, target, lengths) and the prediction/target element type in
    ``_PORTS``, and keep NeMo 1.23's ``forward`` argument names.

    Args:
        loss_scale: factor applied to the loss.
    """

    _PORTS: tuple[tuple[str, type], tuple[str, type], str]

    def __init__(self, loss_scale: float = 0.1):
        super().__init__()
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        (pred_name, pred_type), (tgt_name, tgt_type), len_name = self._PORTS
        return {
            pred_name: NeuralType(("B", "T"), pred_type()),
            tgt_name: NeuralType(("B", "T"), tgt_type()),
            len_name: NeuralType(("B",), LengthsType()),
        }

    def _scaled_masked_mse(
        self, predicted: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """(B, T) prediction and target, (B,) lengths -> scalar mean squared error over valid tokens, scaled."""
        mask = mask_from_lens(lengths, max_len=target.shape[1])
        loss = F.mse_loss(target, predicted, reduction="none")
        return _masked_mean(loss, mask) * self.loss_scale


class DurationLoss(_ScaledTokenLoss):
    """MSE between predicted log-durations and ``log(1 + durs_tgt)`` over valid tokens, times ``loss_scale``."""

    _PORTS = (("log_durs_predicted", TokenLogDurationType), ("durs_tgt", TokenDurationType), "len")

    @typecheck()
    def forward(
        self, log_durs_predicted: torch.Tensor, durs_tgt: torch.Tensor, len: torch.Tensor
    ) -> torch.Tensor:
        """(B, T) predictions and targets, (B,) lengths -> scalar loss."""
        return self._scaled_masked_mse(log_durs_predicted, torch.log(durs_tgt.float() + 1), len)


class PitchLoss(_ScaledTokenLoss):
    """MSE between per-token pitch prediction and target over valid tokens, times ``loss_scale``."""

    _PORTS = (("pitch_predicted", RegressionValuesType), ("pitch_tgt", RegressionValuesType), "len")

    @typecheck()
    def forward(
        self, pitch_predicted: torch.Tensor, pitch_tgt: torch.Tensor, len: torch.Tensor
    ) -> torch.Tensor:
        """(B, T) predictions (right-padded with 0 to the target's T), targets, (B,) lengths -> scalar."""
        pitch_predicted = F.pad(
            pitch_predicted, (0, pitch_tgt.shape[1] - pitch_predicted.shape[1]), value=0.0
        )
        return self._scaled_masked_mse(pitch_predicted, pitch_tgt, len)


class EnergyLoss(_ScaledTokenLoss):
    """MSE between per-token energy prediction and target over valid tokens, times ``loss_scale``; 0.0 when
    there is no target."""

    _PORTS = (("energy_predicted", RegressionValuesType), ("energy_tgt", RegressionValuesType), "length")

    @typecheck()
    def forward(
        self, energy_predicted: torch.Tensor | None, energy_tgt: torch.Tensor | None, length: torch.Tensor
    ) -> torch.Tensor | float:
        """(B, T) predictions and targets, (B,) lengths -> scalar (0.0 without a target)."""
        if energy_tgt is None:
            return 0.0
        return self._scaled_masked_mse(energy_predicted, energy_tgt, length)


class MelLoss(_ScalarLoss):
    """MSE between predicted and target mels over the target's non-zero cells (the prediction is cut or
    zero-padded to the target's length)."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "spect_predicted": NeuralType(("B", "D", "T"), MelSpectrogramType()),
            "spect_tgt": NeuralType(("B", "D", "T"), MelSpectrogramType()),
        }

    @typecheck()
    def forward(self, spect_predicted: torch.Tensor, spect_tgt: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T') prediction, (B, n_mels, T) target -> scalar."""
        spect_tgt = spect_tgt.detach()
        spect_predicted = F.pad(
            spect_predicted, (0, spect_tgt.shape[2] - spect_predicted.shape[2]), value=0.0
        )
        loss = F.mse_loss(spect_predicted, spect_tgt, reduction="none")
        return _masked_mean(loss, spect_tgt.ne(0))
