"""KERPLE logarithmic attention bias (Chi et al., https://arxiv.org/abs/2205.09921):
``-b_h * log(1 + a_h * |i - j| ** p_h)`` with learnable per-head ``a, b, p``."""

from __future__ import annotations

from typing import Any

import torch
from nemo.collections.nlp.modules.common.megatron.position_embedding.alibi_relative_position_embedding import (
    build_relative_position,
    build_slopes,
)

__all__ = ["KERPLERelativePositionEmbedding"]


class KERPLERelativePositionEmbedding(torch.nn.Module):
    """Learnable log-distance bias; ``forward(q_len, k_len)`` returns ``[1, num_heads, q_len, k_len]``.

    Parameters ``kerple_a``, ``kerple_b``, ``kerple_p`` have shape ``[num_heads, 1, 1]`` (NeMo's state-dict keys);
    ``b`` starts at the ALiBi slopes, ``a`` and ``p`` at 1. Causal: future positions get distance 0, so bias 0.
    """

    def __init__(
        self,
        bidirectional: bool,
        num_attention_heads: int,
        layer_type: Any,
        num_attention_heads_kerple: int | None = None,
        max_seq_len: int = 512,
    ):
        """
        Args:
            bidirectional: bias both directions; otherwise zero above the diagonal.
            num_attention_heads: number of heads.
            layer_type: a ``LayerType``; stored only.
            num_attention_heads_kerple: heads whose ``b`` starts non-zero; ``None`` or <= 0 means all.
            max_seq_len: length of the cached distance table; longer inputs compute it on the fly.
        """
        super().__init__()
        if num_attention_heads_kerple is None or num_attention_heads_kerple <= 0:
            num_attention_heads_kerple = num_attention_heads
        if num_attention_heads_kerple > num_attention_heads:
            raise ValueError(
                f"num_attention_heads_kerple={num_attention_heads_kerple} exceeds num_attention_heads="
                f"{num_attention_heads}; use at most num_attention_heads"
            )
        self.bidirectional = bidirectional
        self.num_attention_heads = num_attention_heads
        self.layer_type = layer_type
        self.num_attention_heads_kerple = num_attention_heads_kerple
        self.max_seq_len = max_seq_len
        start = build_slopes(num_attention_heads, num_attention_heads_kerple)
        self.kerple_b = torch.nn.Parameter(start)
        self.kerple_a = torch.nn.Parameter(torch.ones_like(start))
        self.kerple_p = torch.nn.Parameter(torch.ones_like(start))
        self.register_buffer(
            "relative_position", build_relative_position(max_seq_len, full=True), persistent=False
        )

    def forward(self, query_seq_length: int, key_seq_length: int) -> torch.Tensor:
        longest = max(query_seq_length, key_seq_length)
        if longest > self.max_seq_len:
            distance = build_relative_position(longest, full=True).to(self.kerple_b.device)
        else:
            distance = self.relative_position
        distance = distance[-query_seq_length:, -key_seq_length:]  # [q, k]
        if not self.bidirectional:
            distance = torch.tril(distance)
        return -self.kerple_b * torch.log1p(self.kerple_a * distance[None, None].pow(self.kerple_p))
