"""ALiBi attention bias (Press et al., https://arxiv.org/abs/2108.12409): ``-slope_h * |i - j|`` per head."""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["ALiBiRelativePositionEmbedding", "alibi_slopes", "build_relative_position", "build_slopes"]


def alibi_slopes(num_heads: int) -> list[float]:
    """The ALiBi paper's head slopes: a geometric sequence starting at ``2**(-8/n)`` for ``n`` a power of two;
    otherwise those of the largest power of two below ``num_heads`` followed by every other slope of twice it."""
    if num_heads <= 0:
        return []
    base = 2 ** math.floor(math.log2(num_heads))
    first = 2.0 ** (-8.0 / base)
    slopes = [first * first**k for k in range(base)]
    if base != num_heads:
        slopes += alibi_slopes(2 * base)[0::2][: num_heads - base]
    return slopes


def build_slopes(num_attention_heads: int, num_attention_heads_alibi: int) -> torch.Tensor:
    """Slopes ``[num_attention_heads, 1, 1]``; heads past ``num_attention_heads_alibi`` get slope 0 (no bias)."""
    values = alibi_slopes(num_attention_heads_alibi) + [0.0] * (
        num_attention_heads - num_attention_heads_alibi
    )
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1)


def build_relative_position(max_seq_len: int, full: bool = True) -> torch.Tensor:
    """Distances between positions.

    Returns:
        ``full=True``: ``[max_seq_len, max_seq_len]`` with ``|i - j|``;
        ``full=False``: ``[1, max_seq_len]`` with the distance of every key to the last query,
        ``max_seq_len - 1 - j``.
    """
    if full:
        pos = torch.arange(max_seq_len)
        return (pos[:, None] - pos[None, :]).abs()
    return torch.arange(max_seq_len - 1, -1, -1)[None, :]


class ALiBiRelativePositionEmbedding(torch.nn.Module):
    """Fixed linear attention bias, symmetric in forward/backward distance when ``bidirectional``.

    ``forward(q_len, k_len)`` returns ``[1, num_heads, q_len, k_len]`` (bidirectional) or ``[1, num_heads, 1, k_len]``
    (causal: only the last query row, which broadcasts because the causal mask hides the rest and softmax is
    invariant to a per-row constant).
    """

    def __init__(
        self,
        bidirectional: bool,
        num_attention_heads: int,
        layer_type: Any,
        num_attention_heads_alibi: int | None = None,
        max_seq_len: int = 512,
    ):
        """
        Args:
            bidirectional: bias both directions (encoder) or only the causal last row (decoder).
            num_attention_heads: number of heads.
            layer_type: a ``LayerType``; stored only (NeMo uses it to pick a model-parallel group).
            num_attention_heads_alibi: heads that get a bias (the rest get 0); ``None`` or <= 0 means all.
            max_seq_len: length of the cached distance table; longer inputs compute it on the fly.
        """
        super().__init__()
        if num_attention_heads_alibi is None or num_attention_heads_alibi <= 0:
            num_attention_heads_alibi = num_attention_heads
        if num_attention_heads_alibi > num_attention_heads:
            raise ValueError(
                f"num_attention_heads_alibi={num_attention_heads_alibi} exceeds num_attention_heads="
                f"{num_attention_heads}; use at most num_attention_heads"
            )
        self.bidirectional = bidirectional
        self.num_attention_heads = num_attention_heads
        self.layer_type = layer_type
        self.num_attention_heads_alibi = num_attention_heads_alibi
        self.max_seq_len = max_seq_len
        # Non-persistent: NeMo's checkpoints hold no ALiBi tensors, but they follow .to(device).
        self.register_buffer(
            "slopes", build_slopes(num_attention_heads, num_attention_heads_alibi), persistent=False
        )
        self.register_buffer(
            "relative_position", build_relative_position(max_seq_len, full=bidirectional), persistent=False
        )

    def forward(self, query_seq_length: int, key_seq_length: int) -> torch.Tensor:
        longest = max(query_seq_length, key_seq_length)
        if longest > self.max_seq_len:
            distance = build_relative_position(longest, full=self.bidirectional).to(self.slopes.device)
        else:
            distance = self.relative_position
        distance = distance[-query_seq_length:, -key_seq_length:]  # [q or 1, k]
        return -(distance[None, None] * self.slopes[None])
