"""``Perplexity``: the mean perplexity of categorical distributions, accumulated over batches and processes."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric

__all__ = ["Perplexity"]


class Perplexity(Metric):
    """Mean perplexity ``exp(entropy)`` of the distributions along the last dimension of the inputs.

    Every ``update`` takes either ``probs`` or ``logits`` of shape ``(..., V)``; each of the ``prod(...)``
    distributions counts once. ``compute`` returns the sum of their perplexities divided by their number,
    over all updates since the last ``reset`` and, in distributed runs, over all processes (states are
    summed).

    Args:
        dist_sync_on_step: Synchronize the state across processes at each ``forward`` call, before
            returning the step's value.
        process_group: Process group to synchronize over. ``None`` selects the whole world.
        validate_args: If ``True``, ``update`` checks its input: ``logits`` must not contain NaN, and
            ``probs`` must be finite, non-negative and have a positive sum along the last dimension. Either
            way ``probs`` are normalized to sum to 1, as torch's ``Categorical`` (NeMo 1.23's) does.

    Example:
        >>> metric = Perplexity()
        >>> metric.update(probs=torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
        >>> metric.compute()  # (2.0 + 1.7548) / 2
        tensor(1.8774, dtype=torch.float64)
    """

    full_state_update = True

    def __init__(
        self, dist_sync_on_step: bool = False, process_group: Any | None = None, validate_args: bool = True
    ) -> None:
        super().__init__(dist_sync_on_step=dist_sync_on_step, process_group=process_group)
        self.validate_args = validate_args
        self.add_state("perplexities_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("num_distributions", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, probs: torch.Tensor | None = None, logits: torch.Tensor | None = None) -> None:
        """Add the perplexities of a batch of distributions.

        Args:
            probs: Tensor of shape ``(..., V)`` whose last dimension is a probability distribution.
            logits: Tensor of shape ``(..., V)`` of unnormalized log-probabilities. Give exactly one of
                ``probs`` and ``logits``.

        Raises:
            ValueError: If neither or both inputs are given, if the input has no dimension, or (with
                ``validate_args``) if it is not a valid distribution.
        """
        if (probs is None) == (logits is None):
            raise ValueError(
                "Perplexity.update needs exactly one of `probs` and `logits`, got "
                f"{'both' if probs is not None else 'neither'}. Pass `probs=` or `logits=`."
            )
        values = (probs if probs is not None else logits).detach()
        name = "probs" if probs is not None else "logits"
        if values.dim() < 1:
            raise ValueError(
                f"Perplexity.update got a 0-dimensional `{name}`; expected shape (..., V) with the "
                "distribution along the last dimension. Add a dimension with `unsqueeze(0)`."
            )
        if self.validate_args:
            _check_distribution(name, values)
        if probs is not None:
            probs_n = values / values.sum(dim=-1, keepdim=True)
            log_probs = probs_n.log()
        else:
            log_probs = torch.log_softmax(values, dim=-1)
            probs_n = log_probs.exp()
        log_probs = log_probs.clamp(min=torch.finfo(log_probs.dtype).min)
        perplexities = torch.exp(-(probs_n * log_probs).sum(dim=-1))
        self.num_distributions += perplexities.numel()
        self.perplexities_sum += perplexities.sum()

    def compute(self) -> torch.Tensor | None:
        """Mean perplexity over every distribution seen.

        Returns:
            Float64 tensor of shape ``()``, or ``None`` when no distribution was added.
        """
        if self.num_distributions.eq(0):
            return None
        return self.perplexities_sum / self.num_distributions


def _check_distribution(name: str, values: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``values`` (shape ``(..., V)``) are valid ``probs`` or ``logits``."""
    if name == "logits":
        num_nan = int(values.isnan().sum())
        if num_nan:
            raise ValueError(
                f"Perplexity.update got `logits` with {num_nan} NaN values out of {values.numel()}; "
                "expected real numbers. Check the model output for NaN, or pass "
                "Perplexity(validate_args=False) to skip this check."
            )
        return
    sums = values.sum(dim=-1)
    # As torch's Categorical (NeMo's): non-negative finite weights with a positive sum; they are normalized.
    invalid = (values < 0).any(dim=-1) | ~torch.isfinite(values).all(dim=-1) | (sums <= 0)
    if invalid.any():
        first = tuple(int(i) for i in invalid.nonzero()[0])
        where = f", the first at index {first}" if first else ""
        raise ValueError(
            f"Perplexity.update got `probs` whose last dimension is not a probability distribution: "
            f"{int(invalid.sum())} of {invalid.numel()} distributions are invalid{where} (minimum "
            f"{float(values[first].min()):.6g}, sum {float(sums[first]):.6g}); expected "
            "finite non-negative values with a positive sum (they are normalized to sum to 1). Pass `logits=` "
            "for unnormalized log-probabilities, or Perplexity(validate_args=False) to skip this check."
        )
