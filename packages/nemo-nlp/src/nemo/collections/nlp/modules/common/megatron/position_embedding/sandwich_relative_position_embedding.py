"""Sandwich attention bias (Chi et al., https://arxiv.org/abs/2212.10356): the dot product of sinusoidal
position embeddings, ``sum_k cos(|i - j| * w_k)``, shifted by ``d/2`` and scaled per head."""

from __future__ import annotations

from typing import Any

import torch
from nemo.collections.nlp.modules.common.megatron.position_embedding.alibi_relative_position_embedding import (
    build_relative_position,
)

__all__ = ["SandwichRelativePositionEmbedding"]


class SandwichRelativePositionEmbedding(torch.nn.Module):
    """Fixed sinusoid-product bias; ``forward(q_len, k_len)`` returns ``[1, num_heads, q_len, k_len]``.

    Head ``h`` (1-based) is ``(sum_{k=1..d/2} cos(dist * 10000**(-2k/d)) - d/2) / (8h / num_heads)`` with
    ``d = hidden_size``; causal layers use distance 0 (bias 0) above the diagonal.
    """

    def __init__(
        self,
        bidirectional: bool,
        num_attention_heads: int,
        layer_type: Any,
        hidden_size: int,
        max_seq_len: int = 512,
    ):
        """
        Args:
            bidirectional: bias both directions; otherwise zero above the diagonal.
            num_attention_heads: number of heads.
            layer_type: a ``LayerType``; stored only.
            hidden_size: size ``d`` of the sinusoids (per attention head).
            max_seq_len: length of the cached distance table; longer inputs compute it on the fly.
        """
        super().__init__()
        self.bidirectional = bidirectional
        self.layer_type = layer_type
        self.num_attention_heads = num_attention_heads
        self.hidden_size = hidden_size
        self.max_seq_len = max_seq_len
        self.register_buffer(
            "relative_position", build_relative_position(max_seq_len, full=True), persistent=False
        )

    def forward(self, query_seq_length: int, key_seq_length: int) -> torch.Tensor:
        longest = max(query_seq_length, key_seq_length)
        if longest > self.max_seq_len:
            distance = build_relative_position(longest, full=True).to(self.relative_position.device)
        else:
            distance = self.relative_position
        distance = distance[-query_seq_length:, -key_seq_length:]  # [q, k]
        if not self.bidirectional:
            distance = torch.tril(distance)
        d = self.hidden_size
        k = torch.arange(1, d / 2 + 1, device=distance.device)
        freq = 1.0 / (10000 ** (2 * k / d))  # [d/2]
        similarity = torch.cos(distance[..., None] * freq).sum(dim=-1)  # [q, k]
        heads = torch.arange(1, self.num_attention_heads + 1, device=distance.device)
        divisor = (heads * 8 / self.num_attention_heads)[:, None, None]  # [H, 1, 1]
        return ((similarity[None] - d / 2) / divisor)[None]
