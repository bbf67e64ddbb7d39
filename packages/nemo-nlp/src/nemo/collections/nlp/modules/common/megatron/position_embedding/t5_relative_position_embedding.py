"""T5 bucketed relative-position bias (Raffel et al., https://arxiv.org/abs/1910.10683)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["T5RelativePositionEmbedding", "relative_position_bucket"]


def relative_position_bucket(
    relative_position: torch.Tensor,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
) -> torch.Tensor:
    """Map ``key_pos - query_pos`` (integer tensor, any shape) to T5 buckets in ``[0, num_buckets)``.

    Bidirectional: half of the buckets for keys after the query, half for the rest. Causal: keys after the
    query fall in bucket 0. Within a half, distances below ``n/2`` get a bucket each; larger ones share
    log-spaced buckets up to ``max_distance``, beyond which all fall into the last bucket.
    """
    if bidirectional:
        num_buckets //= 2
        offset = (relative_position > 0).long() * num_buckets
        distance = relative_position.abs()
    else:
        offset = torch.zeros_like(relative_position, dtype=torch.long)
        distance = (-relative_position).clamp(min=0)
    exact = num_buckets // 2
    # Clamp to 1 only to keep log() finite where the exact branch is used anyway.
    log_ratio = torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact)
    far = (exact + (log_ratio * (num_buckets - exact)).long()).clamp(max=num_buckets - 1)
    return offset + torch.where(distance < exact, distance, far)


class T5RelativePositionEmbedding(torch.nn.Module):
    """Learned bias per (bucket, head); ``forward(q_len, k_len)`` returns ``[1, num_heads, q_len, k_len]``.

    The table is ``relative_position_embedding`` (``torch.nn.Embedding(num_buckets, num_heads)``), NeMo's key.
    """

    def __init__(
        self,
        init_method: Callable[[torch.Tensor], Any],
        bidirectional: bool,
        num_attention_heads: int,
        layer_type: Any,
        relative_position_num_buckets: int = 32,
        relative_position_max_distance: int = 128,
    ):
        """
        Args:
            init_method: in-place initialiser applied to the bucket table, e.g. ``init_method_normal(0.02)``.
            bidirectional: separate buckets for keys before and after the query (encoder) or causal buckets.
            num_attention_heads: number of heads.
            layer_type: a ``LayerType``; stored only.
            relative_position_num_buckets: number of buckets.
            relative_position_max_distance: distance from which all positions share the last bucket.
        """
        super().__init__()
        self.relative_position_num_buckets = relative_position_num_buckets
        self.relative_position_max_distance = relative_position_max_distance
        self.bidirectional = bidirectional
        self.layer_type = layer_type
        self.relative_position_embedding = torch.nn.Embedding(
            relative_position_num_buckets, num_attention_heads
        )
        self._relative_position_embedding_key = "relative_position_embedding"
        init_method(self.relative_position_embedding.weight)

    def _compute_relative_position_bucket(self, query_length: int, key_length: int) -> torch.Tensor:
        """Buckets ``[query_length, key_length]`` of ``key_pos - query_pos``."""
        device = self.relative_position_embedding.weight.device
        query = torch.arange(query_length, device=device)
        key = torch.arange(key_length, device=device)
        return relative_position_bucket(
            key[None, :] - query[:, None],
            bidirectional=self.bidirectional,
            num_buckets=self.relative_position_num_buckets,
            max_distance=self.relative_position_max_distance,
        )

    def forward(self, query_seq_length: int, key_seq_length: int) -> torch.Tensor:
        buckets = self._compute_relative_position_bucket(query_seq_length, key_seq_length)
        return self.relative_position_embedding(buckets).permute(2, 0, 1)[None]  # [1, H, q, k]
