"""CTC loss over ``(B, T, V+1)`` log-probabilities with NeMo's ports and reductions."""

from __future__ import annotations

import torch
from nemo.collections.asr.losses.reduction import REDUCTIONS, reduce_losses
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import LabelsType, LengthsType, LogprobsType, LossType, NeuralType

__all__ = ["CTCLoss"]

# Reductions torch's CTCLoss does not know; computed here from its per-utterance losses.
_OWN_REDUCTIONS = ("mean_batch", "mean_volume")


class CTCLoss(torch.nn.CTCLoss, Serialization, Typing):
    """``torch.nn.CTCLoss`` taking batch-first log-probabilities; blank is the last class.

    Args:
        num_classes: vocabulary size ``V`` without blank; blank is index ``V``.
        zero_infinity: replace infinite losses (impossible alignments) and their gradients by zero.
        reduction: ``mean_batch`` (mean of per-utterance losses), ``mean`` (per-utterance loss
            divided by its target length, then averaged: torch's ``mean``), ``sum``,
            ``mean_volume`` (sum of losses / sum of target lengths) or ``none`` (``(B,)``).
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``log_probs`` (B, T, V+1), ``targets`` (B, U), ``input_lengths`` (B,), ``target_lengths`` (B,)."""
        return {
            "log_probs": NeuralType(("B", "T", "D"), LogprobsType()),
            "targets": NeuralType(("B", "T"), LabelsType()),
            "input_lengths": NeuralType(tuple("B"), LengthsType()),
            "target_lengths": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: scalar, or ``(B,)`` with ``reduction='none'``."""
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(self, num_classes: int, zero_infinity: bool = False, reduction: str = "mean_batch") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Unknown CTC loss reduction={reduction!r}; expected one of {REDUCTIONS}. "
                "Fix `reduction` (e.g. `loss.reduction` / `ctc_reduction`) in the model config."
            )
        self._blank = num_classes
        self.config_reduction = reduction
        self._apply_reduction = reduction in _OWN_REDUCTIONS
        super().__init__(
            blank=self._blank,
            reduction="none" if self._apply_reduction else reduction,
            zero_infinity=zero_infinity,
        )

    def reduce(self, losses: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
        """Apply ``mean_batch`` / ``mean_volume`` to per-utterance losses ``(B,)``."""
        if self.config_reduction in _OWN_REDUCTIONS:
            return reduce_losses(losses, target_lengths, self.config_reduction)
        return losses

    @typecheck()
    def forward(
        self,
        log_probs: torch.Tensor,
        targets: torch.Tensor,
        input_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """CTC loss.

        Args:
            log_probs: ``(B, T, V+1)`` log-probabilities.
            targets: ``(B, U)`` padded label ids (no blanks).
            input_lengths: ``(B,)`` valid frames.
            target_lengths: ``(B,)`` valid labels.

        Returns:
            Scalar loss, or ``(B,)`` with ``reduction='none'``.
        """
        target_lengths = target_lengths.long()
        loss = super().forward(
            log_probs=log_probs.transpose(0, 1),
            targets=targets.long(),
            input_lengths=input_lengths.long(),
            target_lengths=target_lengths,
        )
        if self._apply_reduction:
            loss = self.reduce(loss, target_lengths)
        return loss
