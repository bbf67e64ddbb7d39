"""Spectrogram-based supplementary data of ``TTSDataset``: magnitude spectrogram, log mel and energy.

Computed as NeMo 1.23's ``TTSDataset`` does: ``torch.stft`` (centred, reflect padding) with a symmetric
window (``periodic=False``), magnitude ``sqrt(re^2 + im^2 + 1e-9)``, a Slaney mel filterbank equal to
``librosa.filters.mel`` (nemo-asr's ``mel_filterbank``), log with the float32 ``tiny`` floor, and energy as
the L2 norm of each magnitude frame.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.preprocessing.features import mel_filterbank

__all__ = ["EPSILON", "WINDOW_FN_SUPPORTED", "SpectrogramFeatures"]

EPSILON = 1e-9
WINDOW_FN_SUPPORTED = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
    "none": None,
}


class SpectrogramFeatures:
    """STFT magnitude, log mel and energy of one waveform, with NeMo's TTSDataset settings.

    Args:
        sample_rate: audio sample rate in Hz.
        n_fft: FFT size.
        win_length: window length in samples.
        hop_length: hop in samples.
        window: one of ``WINDOW_FN_SUPPORTED`` (config key ``window``).
        n_mels: mel bands.
        lowfreq: lowest mel frequency in Hz.
        highfreq: highest mel frequency in Hz (``None``: ``sample_rate / 2``).

    Raises:
        NotImplementedError: an unknown ``window``.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int,
        win_length: int,
        hop_length: int,
        window: str,
        n_mels: int,
        lowfreq: float,
        highfreq: float | None,
    ) -> None:
        if window not in WINDOW_FN_SUPPORTED:
            raise NotImplementedError(
                f"window={window!r} is not supported. Set the dataset's 'window' to one of "
                f"{list(WINDOW_FN_SUPPORTED)}."
            )
        window_fn = WINDOW_FN_SUPPORTED[window]
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.window = window_fn(win_length, periodic=False).to(torch.float) if window_fn else None
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.lowfreq = lowfreq
        self.highfreq = highfreq
        self._fb: torch.Tensor | None = None

    @property
    def fb(self) -> torch.Tensor:
        """(1, n_mels, n_fft // 2 + 1) mel filterbank, built on first use."""
        if self._fb is None:
            fmax = self.highfreq if self.highfreq is not None else self.sample_rate / 2.0
            self._fb = mel_filterbank(
                self.sample_rate, self.n_fft, self.n_mels, self.lowfreq, fmax, "slaney"
            )[None]
        return self._fb

    def n_frames(self, n_samples: int) -> int:
        """Frames of the centred STFT of ``n_samples`` samples."""
        return 1 + n_samples // self.hop_length

    def spec(self, audio: torch.Tensor) -> torch.Tensor:
        """Magnitude spectrogram.

        Args:
            audio: (T,) waveform.

        Returns:
            (n_fft // 2 + 1, T_spec) float32.
        """
        window = self.window.to(audio.device) if self.window is not None else None
        stft = torch.stft(
            audio.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=window,
            return_complex=True,
        )
        return torch.sqrt(torch.view_as_real(stft).pow(2).sum(-1) + EPSILON)

    def log_mel(self, spec: torch.Tensor) -> torch.Tensor:
        """Log mel of a magnitude spectrogram (F, T_spec) -> (1, n_mels, T_spec), NeMo's saved layout."""
        mel = torch.matmul(self.fb.to(spec.device, spec.dtype), spec)
        return torch.log(torch.clamp(mel, min=torch.finfo(mel.dtype).tiny))

    @staticmethod
    def energy(spec: torch.Tensor) -> torch.Tensor:
        """L2 norm of each frame of a magnitude spectrogram (F, T_spec) -> (T_spec,) float32."""
        return torch.linalg.norm(spec, dim=0).float()
