"""Rotary position embedding (RoPE, Su et al., https://arxiv.org/abs/2104.09864), half-split layout."""

from __future__ import annotations

import torch

__all__ = ["RotaryEmbedding", "apply_rotary_pos_emb"]


class RotaryEmbedding(torch.nn.Module):
    """Rotation angles per position: ``forward(n, offset)`` returns ``[n, 1, 1, dim]`` holding
    ``pos * inv_freq`` twice (``[theta, theta]``), ``pos = offset .. offset + n - 1``.

    ``inv_freq`` (``[dim/2]``, ``rotary_base ** (-2i/dim)``) is a persistent buffer, as in NeMo.
    """

    def __init__(
        self,
        dim: int,
        seq_len_interpolation_factor: float | None = None,
        rotary_base: int = 10000,
        pretrained_max_position_embeddings: int | None = None,
    ):
        """
        Args:
            dim: number of rotated channels (even).
            seq_len_interpolation_factor: divide positions by this factor (position interpolation,
                https://arxiv.org/abs/2306.15595). Applied only together with
                ``pretrained_max_position_embeddings``.
            rotary_base: base of the frequencies.
            pretrained_max_position_embeddings: training length; sequences longer than
                ``pretrained_max_position_embeddings * seq_len_interpolation_factor`` are squeezed into it
                (positions times ``pretrained / n``).
        """
        super().__init__()
        self.seq_len_interpolation_factor = seq_len_interpolation_factor
        self.rotary_base = rotary_base
        self.pretrained_max_position_embeddings = pretrained_max_position_embeddings
        exponent = torch.arange(0, dim, 2).float() / dim
        self.register_buffer("inv_freq", 1.0 / (rotary_base**exponent))

    def forward(self, max_seq_len: int, offset: int = 0) -> torch.Tensor:
        positions = (torch.arange(max_seq_len, device=self.inv_freq.device) + offset).type_as(self.inv_freq)
        factor = self.seq_len_interpolation_factor
        trained = self.pretrained_max_position_embeddings
        if trained is not None and factor is not None:
            if max_seq_len > trained * factor:
                positions *= 1 / (max_seq_len / trained)
            else:
                positions *= 1 / factor
        angles = torch.outer(positions, self.inv_freq)  # [n, dim/2]
        return torch.cat((angles, angles), dim=-1)[:, None, None, :]


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[a, b] -> [-b, a]`` over the two halves of the last dimension."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def apply_rotary_pos_emb(t: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``freqs.shape[-1]`` channels of ``t`` (``[seq, ..., dim]``) by the angles ``freqs``
    (``[seq, ..., rot_dim]``, from :class:`RotaryEmbedding`); remaining channels pass through."""
    rot_dim = freqs.shape[-1]
    rotated, passthrough = t[..., :rot_dim], t[..., rot_dim:]
    rotated = rotated * freqs.cos() + _rotate_half(rotated) * freqs.sin()
    return torch.cat((rotated, passthrough), dim=-1)
