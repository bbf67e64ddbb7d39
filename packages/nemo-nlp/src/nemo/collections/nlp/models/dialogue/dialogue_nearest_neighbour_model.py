"""``DialogueNearestNeighbourModel``: intent by nearest labelled sentence embedding (only pooling is built so far)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["DialogueNearestNeighbourModel"]


class DialogueNearestNeighbourModel:
    """Sentence-embedding nearest-neighbour intent model; the model itself is not implemented yet."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "DialogueNearestNeighbourModel is not built yet (only DialogueNearestNeighbourModel.mean_pooling exists). "
            "Use NeMo 1.23 for this model."
        )

    @staticmethod
    def mean_pooling(model_output: Any, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the token embeddings over attended positions.

        Args:
            model_output: a sequence whose first element is the token embeddings, shape ``(B, T, H)``.
            attention_mask: shape ``(B, T)``, 1 at real tokens.

        Returns:
            Float sentence embeddings, shape ``(B, H)`` (zeros for a row with no attended token).
        """
        embeddings = model_output[0]
        weights = attention_mask.unsqueeze(-1).to(torch.float32)
        return (embeddings * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
