"""``CrossEntropyLoss``: torch's cross entropy over logits of any rank, with an optional mask (NeMo 1.23's)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import LabelsType, LogitsType, LossType, MaskType, NeuralType
from nemo.utils import logging

__all__ = ["CrossEntropyLoss"]


class CrossEntropyLoss(torch.nn.CrossEntropyLoss, Serialization, Typing):
    """Cross entropy between ``logits`` ``(B, ..., C)`` and integer ``labels`` ``(B, ...)``.

    Every axis but the last is flattened, so one class serves sequence (``(B, C)``) and token
    (``(B, T, C)``) classification.

    Args:
        logits_ndim: the rank of ``logits`` (2 for ``(B, C)``, 3 for ``(B, T, C)``).
        weight: a weight for each class (a list or tensor).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        ignore_index: label value that adds nothing to the loss.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "logits": NeuralType(["B"] + ["ANY"] * (self._logits_dim - 1), LogitsType()),
            "labels": NeuralType(["B"] + ["ANY"] * (self._logits_dim - 2), LabelsType()),
            "loss_mask": NeuralType(["B"] + ["ANY"] * (self._logits_dim - 2), MaskType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(
        self,
        logits_ndim: int = 2,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ignore_index: int = -100,
    ) -> None:
        if weight is not None and not torch.is_tensor(weight):
            weight = torch.tensor(list(weight), dtype=torch.float32)
            logging.info(f"Weighted cross entropy loss with class weights {weight.tolist()}")
        super().__init__(weight=weight, reduction=reduction, ignore_index=ignore_index)
        self._logits_dim = logits_ndim

    @typecheck()
    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, loss_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The loss.

        Args:
            logits: ``(B, ..., C)``.
            labels: ``(B, ...)`` class ids.
            loss_mask: ``(B, ...)``; positions where it is false (or ``<= 0.5``) are left out.

        Returns:
            The reduced loss (a scalar unless ``reduction='none'``); 0 when the mask leaves nothing.
        """
        logits_flat = logits.flatten(0, -2)
        labels_flat = labels.flatten()
        if loss_mask is not None:
            keep = _kept(loss_mask)
            logits_flat = logits_flat[keep]
            labels_flat = labels_flat[keep]
        if labels_flat.numel() == 0:
            # Every position masked: a zero loss that still belongs to the graph, so backward() works.
            return logits.sum() * 0.0
        return super().forward(logits_flat, labels_flat)

    def mean_denominator(self, labels: torch.Tensor, loss_mask: torch.Tensor | None = None) -> torch.Tensor:
        """What the ``mean`` reduction of :meth:`forward` divides by for these ``labels``: the positions counted
        (kept by ``loss_mask``, label not ``ignore_index``), each with its class weight when the loss has some.

        A batch's mean loss weighted by this gives the mean over many batches (or processes) exactly.

        Args:
            labels: ``(B, ...)`` class ids.
            loss_mask: ``(B, ...)``, as in :meth:`forward`.

        Returns:
            A float64 scalar on ``labels``' device.
        """
        counted = labels.flatten()
        if loss_mask is not None:
            counted = counted[_kept(loss_mask)]
        counted = counted[counted != self.ignore_index]
        if self.weight is None:
            return torch.tensor(counted.numel(), dtype=torch.float64, device=labels.device)
        return self.weight.to(labels.device, torch.float64)[counted].sum()


def _kept(loss_mask: torch.Tensor) -> torch.Tensor:
    """The flattened positions a loss mask keeps: true, or above 0.5 for a float mask."""
    return loss_mask.flatten() if loss_mask.dtype is torch.bool else loss_mask.flatten() > 0.5
