"""``AggregatorLoss``: several scalar losses summed into one, optionally weighted (NeMo 1.23's)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LossType, NeuralType

__all__ = ["AggregatorLoss"]


class AggregatorLoss(Loss):
    """``loss_1 + loss_2 + ...`` (or ``w_1 * loss_1 + w_2 * loss_2 + ...``), called with keyword arguments.

    Args:
        num_inputs: how many losses ``forward`` takes, as ``loss_1`` ... ``loss_<num_inputs>``.
        weights: one coefficient per loss, in that order; ``None`` sums them unweighted.

    Raises:
        ValueError: ``weights`` does not have ``num_inputs`` entries.

    Example:
        >>> AggregatorLoss(num_inputs=2, weights=[1.0, 0.5])(loss_1=torch.tensor(2.0), loss_2=torch.tensor(4.0))
        tensor(4.)
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            f"loss_{index}": NeuralType(elements_type=LossType()) for index in range(1, self._num_losses + 1)
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    def __init__(self, num_inputs: int = 2, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if weights is not None and len(weights) != num_inputs:
            raise ValueError(
                f"AggregatorLoss(num_inputs={num_inputs}, weights={list(weights)}): expected one weight per "
                f"input loss ({num_inputs}), got {len(weights)}. Pass {num_inputs} weights or weights=None."
            )
        self._num_losses = num_inputs
        self._weights = None if weights is None else [float(weight) for weight in weights]

    @typecheck()
    def forward(self, **losses: torch.Tensor) -> torch.Tensor:
        """The (weighted) sum.

        Args:
            **losses: ``loss_1`` ... ``loss_<num_inputs>``, each a scalar tensor ``()``.

        Returns:
            A scalar tensor ``()``.
        """
        total = torch.zeros_like(losses["loss_1"])
        for index in range(1, self._num_losses + 1):
            weight = 1.0 if self._weights is None else self._weights[index - 1]
            total = total.add(losses[f"loss_{index}"], alpha=weight)
        return total
