"""The reductions NeMo's ASR losses apply to per-utterance losses ``(B,)`` (config keys
``ctc_reduction`` / ``rnnt_reduction``)."""

from __future__ import annotations

import torch

__all__ = ["REDUCTIONS", "reduce_losses"]

REDUCTIONS = ("none", "mean", "sum", "mean_batch", "mean_volume")


def reduce_losses(losses: torch.Tensor, target_lengths: torch.Tensor, reduction: str | None) -> torch.Tensor:
    """Reduce per-utterance losses.

    Args:
        losses: (B,) loss of each utterance.
        target_lengths: (B,) valid labels of each utterance.
        reduction: ``mean_batch`` (mean of the losses), ``mean`` (each loss divided by its target length,
            then averaged), ``sum``, ``mean_volume`` (sum of losses / sum of target lengths), or
            ``none`` / None (the losses unchanged).

    Returns:
        A scalar, or the (B,) losses with ``none`` / None.
    """
    if reduction == "mean_batch":
        return losses.mean()
    if reduction == "mean":
        return torch.div(losses, target_lengths).mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean_volume":
        return losses.sum() / target_lengths.sum()
    return losses
