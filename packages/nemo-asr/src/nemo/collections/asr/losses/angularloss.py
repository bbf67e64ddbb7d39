"""Additive angular margin softmax loss (ArcFace), the loss of NeMo's TitaNet, ECAPA-TDNN and SpeakerNet configs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LabelsType, LogitsType, LossType, NeuralType

__all__ = ["AngularSoftmaxLoss"]


class AngularSoftmaxLoss(Loss):
    """ArcFace loss (Deng et al., 2019) over cosine logits.

    The true class's logit ``cos(theta)`` becomes ``cos(theta + margin)``; every logit is multiplied by
    ``scale``; the loss is the batch mean of the cross entropy of those logits. The true logit is clamped
    to ``[-1 + 1e-7, 1 - 1e-7]`` before ``acos``; the others are used as they are.

    Args:
        scale: ``s``, the inverse temperature of the softmax.
        margin: ``m``, the angle (radians) added to the true class's angle.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``logits`` (B, K), ``labels`` (B,)."""
        return {
            "logits": NeuralType(("B", "D"), LogitsType()),
            "labels": NeuralType(("B",), LabelsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: a scalar."""
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(self, scale: float = 20.0, margin: float = 1.35) -> None:
        super().__init__()
        self.eps = 1e-7
        self.scale = scale
        self.margin = margin

    @typecheck()
    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of a batch.

        Args:
            logits: cosine similarities to each class ``(B, K)``.
            labels: true class ids ``(B,)``.

        Returns:
            The mean loss, a scalar.
        """
        labels = labels.long()
        true_cosine = logits.gather(1, labels.unsqueeze(1)).clamp(-1.0 + self.eps, 1.0 - self.eps)
        true_logit = torch.cos(torch.acos(true_cosine) + self.margin)
        scaled = (self.scale * logits).scatter(1, labels.unsqueeze(1), self.scale * true_logit)
        return F.cross_entropy(scaled, labels)
