"""The model's input features: a log-power spectrogram on the reference tracks' frame grid, computed in torch."""

from __future__ import annotations

import torch
from nemo.core.classes import NeuralModule, typecheck
from nemo.core.neural_types import AudioSignal, LengthsType, NeuralType, SpectrogramType

__all__ = ["LogSpectrogram"]


class LogSpectrogram(NeuralModule):
    """``log(|STFT|^2 + floor)`` with a Hann window, frequency bins up to ``max_freq_hz``.

    Frames follow the reference tracks' grid (``torch.stft(center=True)``): ``1 + T // hop_length`` frames,
    frame ``k`` centred on sample ``k * hop_length``; padded frames are set to 0.

    Args:
        sample_rate: audio sample rate in Hz.
        n_fft: FFT size (and window length) in samples.
        hop_length: samples between frames.
        max_freq_hz: the highest frequency bin kept.
        log_floor: added to the power before the log.
    """

    def __init__(
        self, sample_rate: int, n_fft: int, hop_length: int, max_freq_hz: float, log_floor: float = 1e-6
    ) -> None:
        super().__init__()
        if not 0 < max_freq_hz <= sample_rate / 2:
            raise ValueError(
                f"max_freq_hz must be in (0, {sample_rate / 2}] (half the sample rate), got {max_freq_hz}. "
                "Fix model.features.max_freq_hz."
            )
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_bins = 1 + int(max_freq_hz * n_fft // sample_rate)
        self.log_floor = log_floor
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=self.sample_rate)),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "features": NeuralType(("B", "D", "T"), SpectrogramType()),
            "feature_lengths": NeuralType(tuple("B"), LengthsType()),
        }

    def frame_lengths(self, length: torch.Tensor) -> torch.Tensor:
        """(B,) frames of clips of ``length`` samples: ``1 + length // hop_length``."""
        return 1 + torch.div(length, self.hop_length, rounding_mode="floor")

    @typecheck()
    def forward(self, input_signal: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) waveforms and their (B,) lengths in samples -> (B, n_bins, F) features and (B,) frame counts."""
        spectrum = torch.stft(
            input_signal.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spectrum[:, : self.n_bins].abs().pow(2)
        features = torch.log(power + self.log_floor)
        lengths = self.frame_lengths(length)
        inside = torch.arange(features.shape[-1], device=features.device) < lengths.unsqueeze(1)
        return features * inside.unsqueeze(1), lengths
