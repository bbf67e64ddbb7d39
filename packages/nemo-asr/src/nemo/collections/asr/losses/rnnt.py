"""RNN-T loss over joint outputs ``(B, T, U+1, V+1)``, computed by ``torchaudio.functional.rnnt_loss``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torchaudio
from nemo.collections.asr.losses.reduction import REDUCTIONS, reduce_losses
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LabelsType, LengthsType, LogprobsType, LossType, NeuralType

__all__ = ["RNNTLoss"]

_REDUCTIONS = (None, *REDUCTIONS)
# NeMo's names of the plain RNN-T loss; all compute the same quantity, here with torchaudio.
_RNNT_LOSS_NAMES = ("default", "warprnnt_numba", "warprnnt", "pytorch")
_LOSS_KWARGS = ("clamp", "fastemit_lambda")


class RNNTLoss(Loss):
    """Negative log-likelihood of the targets under an RNN-T lattice; blank is the last class.

    The joint output may be logits or log-probabilities: a log-softmax is applied first either way.

    Args:
        num_classes: vocabulary size ``V`` without blank; blank is index ``V``.
        reduction: ``mean_batch`` (mean of per-utterance losses), ``mean`` (per-utterance loss
            divided by its target length, then averaged), ``sum``, ``mean_volume`` (sum of losses
            / sum of target lengths), or None / ``none`` (``(B,)``).
        loss_name: ``default``, ``warprnnt_numba``, ``warprnnt`` or ``pytorch``.
        loss_kwargs: ``clamp`` (gradient clamp, -1 for none) and ``fastemit_lambda`` (FastEmit, Yu et al.
            2021: the gradient of every label emission is scaled by ``1 + fastemit_lambda`` and the reported
            loss is ``(1 + fastemit_lambda)`` times the negative log-likelihood, as NeMo's numba loss does).
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``log_probs`` (B, T, U+1, V+1), ``targets`` (B, U), ``input_lengths`` (B,), ``target_lengths`` (B,)."""
        return {
            "log_probs": NeuralType(("B", "T", "T", "D"), LogprobsType()),
            "targets": NeuralType(("B", "T"), LabelsType()),
            "input_lengths": NeuralType(tuple("B"), LengthsType()),
            "target_lengths": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: scalar, or ``(B,)`` without reduction."""
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(
        self,
        num_classes: int,
        reduction: str | None = "mean_batch",
        loss_name: str = "default",
        loss_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"Unknown RNN-T loss reduction={reduction!r}; expected one of {_REDUCTIONS}. "
                "Fix `rnnt_reduction` in the model config."
            )
        if loss_name not in _RNNT_LOSS_NAMES:
            raise ValueError(
                f"Unsupported RNN-T loss_name={loss_name!r}; this package computes the plain RNN-T loss, "
                f"named one of {_RNNT_LOSS_NAMES}. Set `loss.loss_name` to one of them."
            )
        kwargs = dict(loss_kwargs or {})
        unknown = sorted(set(kwargs) - set(_LOSS_KWARGS))
        if unknown:
            raise ValueError(
                f"Unknown RNN-T loss_kwargs {unknown}; expected only {list(_LOSS_KWARGS)}. "
                f"Remove them from `loss.{loss_name}_kwargs` in the model config."
            )
        fastemit_lambda = float(kwargs.get("fastemit_lambda", 0.0))
        if fastemit_lambda < 0.0:
            raise ValueError(
                f"fastemit_lambda={fastemit_lambda} must be >= 0 (0 turns FastEmit off); fix it in the loss kwargs."
            )
        self._fastemit_lambda = fastemit_lambda
        self._blank = num_classes
        self.reduction = reduction
        self._clamp = float(kwargs.get("clamp", -1.0))

    def reduce(
        self,
        losses: torch.Tensor | Sequence[torch.Tensor],
        target_lengths: torch.Tensor | Sequence[torch.Tensor],
    ) -> torch.Tensor:
        """Reduce per-utterance losses ``(B,)`` (or lists of sub-batch losses) with ``self.reduction``."""
        if not isinstance(losses, torch.Tensor):
            losses = torch.cat(list(losses), 0)
            target_lengths = torch.cat(list(target_lengths), 0)
        return reduce_losses(losses, target_lengths, self.reduction)

    @typecheck()
    def forward(
        self,
        log_probs: torch.Tensor,
        targets: torch.Tensor,
        input_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """RNN-T loss.

        Args:
            log_probs: joint output ``(B, T, U+1, V+1)`` (logits or log-probabilities), any float
                dtype (computed in float32); padding beyond the longest lengths is trimmed.
            targets: ``(B, U)`` padded label ids.
            input_lengths: ``(B,)`` valid encoder frames.
            target_lengths: ``(B,)`` valid labels.

        Returns:
            Scalar loss, or ``(B,)`` without reduction.
        """
        max_logit_len = int(input_lengths.max())
        max_targets_len = int(target_lengths.max())
        log_probs = log_probs.narrow(1, 0, max_logit_len).narrow(2, 0, max_targets_len + 1).float()
        fastemit = self._fastemit_lambda > 0.0
        if fastemit:
            # Normalise here so the lattice gradient reaches the log-probabilities, where emissions are scaled.
            log_probs = _ScaleEmissionGrad.apply(
                log_probs.log_softmax(dim=-1), self._blank, 1.0 + self._fastemit_lambda
            )
        loss = torchaudio.functional.rnnt_loss(
            logits=log_probs.contiguous(),
            targets=targets.narrow(1, 0, max_targets_len).to(torch.int32).contiguous(),
            logit_lengths=input_lengths.to(torch.int32),
            target_lengths=target_lengths.to(torch.int32),
            blank=self._blank,
            clamp=self._clamp,
            reduction="none",
            fused_log_softmax=not fastemit,
        )
        if fastemit:
            # Reported value (1 + lambda) * NLL; its gradient stays the (emission-scaled) NLL gradient.
            loss = loss + self._fastemit_lambda * loss.detach()
        return self.reduce(loss, target_lengths.long())


class _ScaleEmissionGrad(torch.autograd.Function):
    """Identity on log-probabilities ``(B, T, U+1, V+1)``; the backward scales every non-blank column by ``scale``."""

    @staticmethod
    def forward(ctx: Any, log_probs: torch.Tensor, blank: int, scale: float) -> torch.Tensor:
        ctx.blank, ctx.scale = blank, scale
        return log_probs.view_as(log_probs)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        scaled = grad * ctx.scale
        scaled[..., ctx.blank] = grad[..., ctx.blank]
        return scaled, None, None
