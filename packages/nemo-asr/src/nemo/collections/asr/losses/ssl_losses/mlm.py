"""Masked-language-model loss of self-supervised pre-training (NeMo 1.23's ``MLMLoss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.core import Loss, typecheck
from nemo.core.neural_types import (
    LabelsType,
    LengthsType,
    LogprobsType,
    LossType,
    NeuralType,
    SpectrogramType,
)

__all__ = ["MLMLoss"]


class MLMLoss(Loss):
    """Mean negative log-likelihood of the target ids at the masked steps.

    A step (``combine_time_steps`` spectrogram frames) is masked when more than ``mask_threshold`` of its mask
    values are set. Targets shorter than the decoder output are right-padded with id 0.

    Args:
        combine_time_steps: spectrogram frames per decoder step.
        mask_threshold: fraction of masked values above which a step counts as masked.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``spec_masks`` (B, D, T), ``decoder_outputs`` (B, T', V) log-probs, ``targets`` (B, T'), lengths."""
        return {
            "spec_masks": NeuralType(("B", "D", "T"), SpectrogramType()),
            "decoder_outputs": NeuralType(("B", "T", "D"), LogprobsType()),
            "targets": NeuralType(("B", "T"), LabelsType()),
            "decoder_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
            "target_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: scalar."""
        return {"loss": NeuralType(elements_type=LossType())}

    @property
    def needs_labels(self) -> bool:
        """True: the model passes target ids (from another loss's quantizer)."""
        return True

    def __init__(self, combine_time_steps: int = 1, mask_threshold: float = 0.8) -> None:
        super().__init__()
        self.combine_time_steps = combine_time_steps
        self.mask_threshold = mask_threshold

    @typecheck()
    def forward(
        self,
        spec_masks: torch.Tensor,
        decoder_outputs: torch.Tensor,
        targets: torch.Tensor,
        decoder_lengths: torch.Tensor | None = None,
        target_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """NLL of ``targets`` under ``decoder_outputs`` at the masked steps (lengths are not used)."""
        masks = spec_masks.transpose(-2, -1)
        masks = masks.reshape(masks.shape[0], masks.shape[1] // self.combine_time_steps, -1)
        masked = masks.mean(-1) > self.mask_threshold  # (B, T')
        targets = F.pad(targets, (0, masked.shape[-1] - targets.shape[-1]))
        return F.nll_loss(decoder_outputs[masked], targets[masked])
