"""``GlobalAverageLossMetric``: the true mean of a loss over every measurement seen, on all processes."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric

__all__ = ["GlobalAverageLossMetric"]


class GlobalAverageLossMetric(Metric):
    """Mean loss over all measurements since the last ``reset``, summed across processes.

    Each ``update`` adds a loss and the number of measurements it covers; ``compute`` returns
    ``total loss / total measurements`` over every update on every process, a true average rather than a
    running one. The loss is detached: the result is for logging, not for optimization.

    Args:
        dist_sync_on_step: Synchronize the state across processes at each ``forward`` call, before
            returning the step's value.
        process_group: Process group to synchronize over. ``None`` selects the whole world.
        take_avg_loss: If ``True``, the ``loss`` given to ``update`` is a mean over its measurements;
            if ``False``, it is their sum.

    Example:
        >>> metric = GlobalAverageLossMetric(take_avg_loss=True)
        >>> metric.update(torch.tensor(2.0), torch.tensor(3))  # mean 2.0 over 3 measurements
        >>> metric.update(torch.tensor(6.0), torch.tensor(1))
        >>> metric.compute()  # (2.0 * 3 + 6.0) / 4
        tensor(3., dtype=torch.float64)
    """

    full_state_update = True

    def __init__(
        self, dist_sync_on_step: bool = False, process_group: Any | None = None, take_avg_loss: bool = True
    ) -> None:
        super().__init__(dist_sync_on_step=dist_sync_on_step, process_group=process_group)
        self.add_state("loss_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("num_measurements", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        self.take_avg_loss = take_avg_loss

    def update(self, loss: torch.Tensor, num_measurements: torch.Tensor | int) -> None:
        """Add one batch's loss to ``loss_sum`` and its measurement count to ``num_measurements``.

        Args:
            loss: Float tensor of shape ``()``: the mean (``take_avg_loss=True``) or the sum
                (``take_avg_loss=False``) of the batch's losses.
            num_measurements: Integer tensor of shape ``()`` (or an ``int``): how many measurements
                ``loss`` covers.
        """
        loss = loss.detach()
        self.loss_sum += loss * num_measurements if self.take_avg_loss else loss
        self.num_measurements += num_measurements

    def compute(self) -> torch.Tensor:
        """Mean loss over all measurements.

        Returns:
            Float64 tensor of shape ``()``: ``loss_sum / num_measurements``, or NaN when no measurement
            was added.
        """
        if self.num_measurements.eq(0):
            return torch.tensor(float("nan"))
        return self.loss_sum / self.num_measurements
