"""xPos: rotary embedding with exponential decay (Sun et al., https://arxiv.org/abs/2212.10554),
interleaved-pair layout."""

from __future__ import annotations

import torch

__all__ = ["XPOSPositionEmbedding"]


def _sin_cos(scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sinusoids of ``pos * 10000 ** (-i / m)`` for a ``[n, m]`` table: two ``[n, m]`` tensors."""
    n, m = scale.shape
    inv_freq = 1.0 / (10000 ** (torch.arange(0, m) / m))
    angles = torch.outer(torch.arange(0, n, dtype=torch.float), inv_freq).to(scale)
    return torch.sin(angles), torch.cos(angles)


def _rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """``(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...)`` over the last dimension."""
    return torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).flatten(-2)


class XPOSPositionEmbedding(torch.nn.Module):
    """Applies xPos to ``x`` of shape ``[seq, batch, heads, head_dim]`` and returns the same shape.

    ``forward(x, offset)`` treats ``x`` as positions ``offset .. offset + seq - 1``; ``downscale=True`` uses the
    inverse decay (for keys). ``scale`` (``[head_dim/2]``) is a persistent buffer, as in NeMo.
    """

    def __init__(self, head_dim: int, scale_base: int = 2048):
        """
        Args:
            head_dim: channels per head (even).
            scale_base: length over which the decay ``scale ** (pos / scale_base)`` grows.
        """
        super().__init__()
        self.head_dim = head_dim
        self.scale_base = scale_base
        self.register_buffer("scale", (torch.arange(0, head_dim, 2) + 0.4 * head_dim) / (1.4 * head_dim))

    def forward(self, x: torch.Tensor, offset: int = 0, downscale: bool = False) -> torch.Tensor:
        length = x.shape[0]
        total = length + offset
        low = -total // 2  # positions centred on zero
        positions = torch.arange(low, total + low, 1).to(self.scale).div(self.scale_base)
        decay = self.scale ** positions[:, None]  # [total, head_dim/2]
        sin, cos = _sin_cos(decay)
        decay, sin, cos = decay[-length:], sin[-length:], cos[-length:]
        if downscale:
            decay = 1 / decay
        # [length, head_dim], each value repeated for its pair, broadcast over batch and heads.
        sin = torch.repeat_interleave(sin * decay, 2, dim=-1)[:, None, None, :]
        cos = torch.repeat_interleave(cos * decay, 2, dim=-1)[:, None, None, :]
        return x * cos + _rotate_pairs(x) * sin
