"""The alignment encoder of FastPitch's learned alignment (RAD-TTS style): soft attention between
mel frames and text tokens from the distance of their projections, combined with a prior.

NeMo 1.23's ``AlignmentEncoder`` (same arguments and state-dict keys: ``key_proj.{0,2}.conv``,
``query_proj.{0,2,4}.conv``).
"""

from __future__ import annotations

import torch
from nemo.collections.tts.modules.submodules import ConditionalInput, ConvNorm
from nemo.collections.tts.parts.utils.helpers import binarize_attention_parallel
from torch import nn

__all__ = ["AlignmentEncoder"]


class AlignmentEncoder(nn.Module):
    """Soft alignment of mel frames (queries) to text tokens (keys).

    Args:
        n_mel_channels: mel channels of the queries.
        n_text_channels: channels of the text embeddings (keys).
        n_att_channels: width of the shared projection space.
        temperature: scale of the distance (0.0005 suits ``l2``, 15.0 suits ``cosine``).
        condition_types: conditioning of the keys by a speaker embedding (``add``, ``concat``).
        dist_type: ``"l2"`` (squared Euclidean) or ``"cosine"``.
    """

    def __init__(
        self,
        n_mel_channels: int = 80,
        n_text_channels: int = 512,
        n_att_channels: int = 80,
        temperature: float = 0.0005,
        condition_types: list[str] = (),
        dist_type: str = "l2",
    ):
        super().__init__()
        if dist_type not in ("l2", "cosine"):
            raise ValueError(
                f"Unknown alignment_module.dist_type {dist_type!r}; expected 'l2' or 'cosine'. Fix the config."
            )
        self.temperature = temperature
        self.dist_type = dist_type
        self.cond_input = ConditionalInput(n_text_channels, n_text_channels, list(condition_types))
        self.key_proj = nn.Sequential(
            ConvNorm(n_text_channels, n_text_channels * 2, kernel_size=3, bias=True, w_init_gain="relu"),
            nn.ReLU(),
            ConvNorm(n_text_channels * 2, n_att_channels, kernel_size=1, bias=True),
        )
        self.query_proj = nn.Sequential(
            ConvNorm(n_mel_channels, n_mel_channels * 2, kernel_size=3, bias=True, w_init_gain="relu"),
            nn.ReLU(),
            ConvNorm(n_mel_channels * 2, n_mel_channels, kernel_size=1, bias=True),
            nn.ReLU(),
            ConvNorm(n_mel_channels, n_att_channels, kernel_size=1, bias=True),
        )

    @staticmethod
    def get_euclidean_dist(queries_enc: torch.Tensor, keys_enc: torch.Tensor) -> torch.Tensor:
        """Squared L2 distances: (B, C, T1) queries, (B, C, T2) keys -> (B, 1, T1, T2).

        Computed as ``|q|^2 + |k|^2 - 2 q.k`` (a matmul) instead of materialising (B, C, T1, T2) differences.
        """
        q_sq = queries_enc.pow(2).sum(dim=1).unsqueeze(2)
        k_sq = keys_enc.pow(2).sum(dim=1).unsqueeze(1)
        cross = torch.bmm(queries_enc.transpose(1, 2), keys_enc)
        return (q_sq + k_sq - 2.0 * cross).clamp(min=0.0).unsqueeze(1)

    @staticmethod
    def get_cosine_dist(queries_enc: torch.Tensor, keys_enc: torch.Tensor) -> torch.Tensor:
        """Negative cosine similarity: (B, C, T1) queries, (B, C, T2) keys -> (B, 1, T1, T2)."""
        similarity = torch.nn.functional.cosine_similarity(
            queries_enc.unsqueeze(3), keys_enc.unsqueeze(2), dim=1
        )
        return -similarity.unsqueeze(1)

    def dist_fn(self, queries_enc: torch.Tensor, keys_enc: torch.Tensor) -> torch.Tensor:
        """The configured distance, (B, 1, T1, T2)."""
        if self.dist_type == "l2":
            return self.get_euclidean_dist(queries_enc, keys_enc)
        return self.get_cosine_dist(queries_enc, keys_enc)

    def get_dist(
        self, keys: torch.Tensor, queries: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Distances (B, T1, T2) between projected queries (B, C1, T1) and keys (B, C2, T2); ``mask``
        (B, T2, 1), True at padded tokens, sets theirs to +inf."""
        dist = self.dist_fn(self.query_proj(queries), self.key_proj(keys))
        if mask is not None:
            dist = dist.masked_fill(mask.transpose(1, 2).unsqueeze(1), float("inf"))
        return dist.squeeze(1)

    @staticmethod
    def get_durations(
        attn_soft: torch.Tensor, text_len: torch.Tensor, spect_len: torch.Tensor
    ) -> torch.Tensor:
        """Frames per token (B, T2) of the binarized (B, 1, T1, T2) ``attn_soft``."""
        attn_hard = binarize_attention_parallel(attn_soft, text_len, spect_len)
        return attn_hard.sum(2)[:, 0, :]

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor | None = None,
        attn_prior: torch.Tensor | None = None,
        conditioning: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft attention of mel frames over tokens.

        Args:
            queries: (B, n_mel_channels, T1) mel spectrograms.
            keys: (B, n_text_channels, T2) text embeddings.
            mask: (B, T2, 1) bool, True at padded tokens.
            attn_prior: (B, T1, T2) prior probabilities (e.g. beta-binomial).
            conditioning: (B, 1, n_text_channels) speaker embedding.

        Returns:
            attn: (B, 1, T1, T2) probabilities over the tokens (0 at padded tokens).
            attn_logprob: (B, 1, T1, T2) log-scores before masking (the forward-sum loss input).
        """
        keys = self.cond_input(keys.transpose(1, 2), conditioning).transpose(1, 2)
        distance = self.dist_fn(self.query_proj(queries), self.key_proj(keys))
        attn = -self.temperature * distance
        if attn_prior is not None:
            attn = torch.log_softmax(attn, dim=3) + torch.log(attn_prior.unsqueeze(1) + 1e-8)
        attn_logprob = attn
        if mask is not None:
            attn = attn.masked_fill(mask.transpose(1, 2).unsqueeze(1), -float("inf"))
        return torch.softmax(attn, dim=3), attn_logprob
