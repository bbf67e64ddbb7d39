"""``SmoothedCrossEntropyLoss``: token-level negative log-likelihood with label smoothing (NeMo 1.23's loss).

With smoothing ``s`` over ``V`` classes the per-token loss is ``-((1 - a) * log p(y) + a * mean_v log p(v))``
where ``a = V * s / (V - 1)``: the cross entropy against a target that puts ``1 - s`` on the label and spreads
``s`` evenly over the other classes. Padding positions (``labels == pad_id``) or those an ``output_mask``
zeroes add nothing; the sum is divided by the number of counted tokens.
"""

from __future__ import annotations

import torch
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LabelsType, LogprobsType, LossType, MaskType, NeuralType

__all__ = ["SmoothedCrossEntropyLoss"]


class SmoothedCrossEntropyLoss(Loss):
    """Mean label-smoothed NLL over the non-padding tokens of a batch of sequences.

    Args:
        pad_id: label id to leave out (used when ``forward`` gets no ``output_mask``).
        label_smoothing: probability mass ``s`` moved from the label to the other classes.
        predict_last_k: score only the last ``k`` positions of each sequence (0: all of them).
        eps: added to the token count before dividing.
        per_token_reduction: False returns the (B, T) masked per-token losses instead of their mean.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "log_probs": NeuralType(("B", "T", "D"), LogprobsType()),
            "labels": NeuralType(("B", "T"), LabelsType()),
            "output_mask": NeuralType(("B", "T"), MaskType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(
        self,
        pad_id: int | None = None,
        label_smoothing: float | None = 0.0,
        predict_last_k: int | None = 0,
        eps: float = 1e-6,
        per_token_reduction: bool = True,
    ) -> None:
        super().__init__()
        self._pad_id = pad_id
        self._label_smoothing = float(label_smoothing or 0.0)
        self._predict_last_k = int(predict_last_k or 0)
        self._eps = eps
        self._per_token_reduction = per_token_reduction

    @typecheck()
    def forward(
        self, log_probs: torch.Tensor, labels: torch.Tensor, output_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The loss.

        Args:
            log_probs: (B, T, V) log-probabilities.
            labels: (B, T) target ids.
            output_mask: (B, T), 1 where a token counts; default ``labels != pad_id``.

        Returns:
            A scalar, or (B, T') per-token losses with ``per_token_reduction=False``.
        """
        if output_mask is None:
            if self._pad_id is None:
                raise ValueError(
                    "SmoothedCrossEntropyLoss needs output_mask or a pad_id (set loss.pad_id in the config)."
                )
            output_mask = labels != self._pad_id
        output_mask = output_mask.to(log_probs.dtype)
        vocab_size = log_probs.shape[-1]
        weight = vocab_size * self._label_smoothing / (vocab_size - 1)
        label_log_probs = log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
        token_log_likelihood = (1.0 - weight) * label_log_probs + weight * log_probs.mean(dim=-1)
        if self._predict_last_k > 0:
            token_log_likelihood = token_log_likelihood[:, -self._predict_last_k :]
            output_mask = output_mask[:, -self._predict_last_k :]
        token_losses = -token_log_likelihood * output_mask
        if not self._per_token_reduction:
            return token_losses
        return token_losses.sum() / (output_mask.sum() + self._eps)
