"""The model's network: a small residual stack of 1-D convolutions over time, and a pitch and a voicing head."""

from __future__ import annotations

import torch
from nemo.core.classes import NeuralModule, typecheck
from nemo.core.neural_types import LogitsType, NeuralType, SpectrogramType

__all__ = ["ConvPitchNetwork"]


class ConvBlock(torch.nn.Module):
    """Conv1d (same length) -> BatchNorm -> ReLU -> Dropout, on (B, C, T)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm = torch.nn.BatchNorm1d(out_channels)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T) -> (B, C_out, T)."""
        return self.dropout(torch.relu(self.norm(self.conv(x))))


class ConvPitchNetwork(NeuralModule):
    """Features -> per-frame scores over the pitch bins and a voicing score.

    The spectrogram's frequency bins are the channels; every layer looks ``kernel_size`` frames wide, so the
    receptive field is ``1 + num_layers * (kernel_size - 1)`` frames.

    Args:
        in_features: frequency bins of the input (D).
        hidden: channels of every layer (C).
        num_layers: convolution layers (the first maps D to C, the others are residual).
        kernel_size: frames seen by each layer (odd).
        dropout: dropout after each layer.
        n_bins: pitch bins (N).
    """

    def __init__(
        self, in_features: int, hidden: int, num_layers: int, kernel_size: int, dropout: float, n_bins: int
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1 or num_layers < 1:
            raise ValueError(
                f"the network needs an odd kernel_size and num_layers >= 1, got {kernel_size} and {num_layers}. "
                "Fix model.network."
            )
        self.input_norm = torch.nn.BatchNorm1d(in_features)
        self.first = ConvBlock(in_features, hidden, kernel_size, dropout)
        self.residual = torch.nn.ModuleList(
            ConvBlock(hidden, hidden, kernel_size, dropout) for _ in range(num_layers - 1)
        )
        self.pitch_head = torch.nn.Conv1d(hidden, n_bins, 1)
        self.voicing_head = torch.nn.Conv1d(hidden, 1, 1)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"features": NeuralType(("B", "D", "T"), SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "pitch_logits": NeuralType(("B", "T", "D"), LogitsType()),
            "voicing_logits": NeuralType(("B", "T"), LogitsType()),
        }

    @typecheck()
    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D, T) features -> (B, T, N) pitch-bin logits and (B, T) voicing logits."""
        x = self.first(self.input_norm(features))
        for block in self.residual:
            x = x + block(x)
        return self.pitch_head(x).transpose(1, 2), self.voicing_head(x).squeeze(1)
