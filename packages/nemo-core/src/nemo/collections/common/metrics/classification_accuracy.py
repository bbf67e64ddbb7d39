"""``TopKClassificationAccuracy``: top-k accuracies of class logits, and ``compute_topk_accuracy``."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torchmetrics import Metric

__all__ = ["TopKClassificationAccuracy", "compute_topk_accuracy"]


class TopKClassificationAccuracy(Metric):
    """Top-k accuracy of a batch of logits against integer labels, for several k at once.

    As in NeMo, the state holds one batch: ``update`` *replaces* ``correct_counts_k`` and
    ``total_counts_k`` (shape ``(K,)``, one entry per k) with the counts of the batch it is given.
    Across processes the counts are summed. To score an epoch, collect the counts of every step and
    sum them, then assign the sums to ``correct_counts_k`` / ``total_counts_k`` and call ``compute``::

        def validation_step(self, batch, batch_idx):
            self._accuracy(logits=logits, labels=labels)
            self.outputs.append((self._accuracy.correct_counts_k, self._accuracy.total_counts_k))

        def on_validation_epoch_end(self):
            self._accuracy.correct_counts_k = torch.stack([c for c, _ in self.outputs]).sum(dim=0)
            self._accuracy.total_counts_k = torch.stack([t for _, t in self.outputs]).sum(dim=0)
            for k, score in zip(self._accuracy.top_k, self._accuracy.compute()):
                self.log(f"val_epoch_top@{k}", score)
            self._accuracy.reset()

    Args:
        top_k: The k values, an ``int`` or an iterable of ``int``. ``None`` means ``[1]``.
        dist_sync_on_step: Synchronize the state across processes at each ``forward`` call, before
            returning the step's value.
    """

    full_state_update = True

    def __init__(self, top_k: int | Iterable[int] | None = None, dist_sync_on_step: bool = False) -> None:
        super().__init__(dist_sync_on_step=dist_sync_on_step)
        self.top_k = top_k
        num_k = len(self.top_k)
        self.add_state("correct_counts_k", default=torch.zeros(num_k), dist_reduce_fx="sum", persistent=False)
        self.add_state("total_counts_k", default=torch.zeros(num_k), dist_reduce_fx="sum", persistent=False)

    @property
    def top_k(self) -> list[int]:
        """The k values, always a list (an ``int`` or ``None`` given to the setter becomes one)."""
        return self._top_k

    @top_k.setter
    def top_k(self, value: int | Iterable[int] | None) -> None:
        if value is None:
            value = [1]
        self._top_k = [value] if isinstance(value, int) else list(value)

    @torch.no_grad()
    def top_k_predicted_labels(self, logits: torch.Tensor) -> torch.Tensor:
        """The ``max(top_k)`` highest-scoring classes of each example, best first.

        Args:
            logits: Tensor of shape ``(B, C)``.

        Returns:
            Integer tensor of shape ``(B, max(top_k))``.
        """
        max_k = max(self.top_k)
        if logits.dim() != 2 or logits.shape[1] < max_k:
            raise ValueError(
                f"TopKClassificationAccuracy needs logits of shape (B, C) with C >= max(top_k) = {max_k}, "
                f"got shape {tuple(logits.shape)}. Pass one row of class scores per example, or lower top_k."
            )
        return logits.topk(max_k, dim=1, largest=True, sorted=True).indices

    @torch.no_grad()
    def update(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Set the counts to this batch's: for each k, how many labels are among the top k logits.

        Args:
            logits: Tensor of shape ``(B, C)``: class scores.
            labels: Integer tensor of shape ``(B,)``: the true classes.
        """
        if labels.numel() != logits.shape[0]:
            raise ValueError(
                f"TopKClassificationAccuracy needs one label per row of logits, got {labels.numel()} labels "
                f"for logits of shape {tuple(logits.shape)}. Pass labels of shape (B,)."
            )
        hits = self.top_k_predicted_labels(logits).eq(labels.reshape(-1, 1))
        correct = [int(hits[:, :k].sum()) for k in self.top_k]
        self.correct_counts_k = torch.tensor(correct, dtype=labels.dtype, device=labels.device)
        self.total_counts_k = torch.full_like(self.correct_counts_k, labels.shape[0])

    def compute(self) -> list[torch.Tensor] | list[float]:
        """Top-k accuracies, ``correct_counts_k / total_counts_k``.

        Returns:
            One accuracy per entry of ``top_k``, in that order: with ``top_k == [1]`` (the default) a list
            holding one float tensor, otherwise a list of Python floats (NeMo's return types).

        Raises:
            ValueError: If the count tensors no longer have one entry per k (``top_k`` was changed, or
                counts of another length were assigned).
        """
        if not len(self.correct_counts_k) == len(self.top_k) == len(self.total_counts_k):
            raise ValueError(
                f"TopKClassificationAccuracy has {len(self.correct_counts_k)} correct counts and "
                f"{len(self.total_counts_k)} total counts for top_k={self.top_k}; expected one of each per k. "
                "Assign counts of shape (len(top_k),), or create a new metric after changing top_k."
            )
        if self.top_k == [1]:
            return [self.correct_counts_k.float() / self.total_counts_k]
        return compute_topk_accuracy(self.correct_counts_k, self.total_counts_k)


def compute_topk_accuracy(correct_counts_k: torch.Tensor, total_counts_k: torch.Tensor) -> list[float]:
    """Top-k accuracies from counts.

    Args:
        correct_counts_k: Tensor of shape ``(K,)``: correct predictions for each k.
        total_counts_k: Tensor of shape ``(K,)``: examples counted for each k.

    Returns:
        ``K`` Python floats, ``correct_counts_k[i] / total_counts_k[i]`` (NaN where the total is 0).
    """
    return [
        correct / total if total else float("nan")
        for correct, total in zip(correct_counts_k.tolist(), total_counts_k.tolist())
    ]
