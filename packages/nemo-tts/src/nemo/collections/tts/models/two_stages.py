"""Vocoding in two stages, with NeMo 1.23's classes and config keys: a :class:`MelToSpec` model turns a mel
spectrogram into a linear magnitude spectrogram, and a linear vocoder (Griffin-Lim) turns that into audio.

- :class:`MelPsuedoInverseModel` (NeMo's spelling; keys ``sampling_rate``, ``n_fft``, ``mel_fmin``,
  ``mel_fmax``, ``mel_freq``): multiplies by the transposed slaney mel filterbank, as NeMo does.
- :class:`GriffinLimModel` (keys ``n_iters``, ``n_fft``, ``l_hop``): Griffin-Lim phase reconstruction with
  librosa's defaults (hann window, hop ``n_fft // 4``, centred frames), in torch, batched.
- :class:`TwoStagesModel` (keys ``mel2spec``, ``linvocoder``: each ``{_target_: <model class>, cfg: {...}}``,
  built as Hydra builds them in NeMo, or empty and set later).

Example:
    >>> mel2spec = MelPsuedoInverseModel({"sampling_rate": 22050, "n_fft": 1024, "mel_fmin": 0,
    ...                                   "mel_fmax": 8000, "mel_freq": 80})
    >>> model = TwoStagesModel({"mel2spec": {}, "linvocoder": {}})
    >>> model.set_mel_to_spec_model(mel2spec)
    >>> model.set_linear_vocoder(GriffinLimModel({"n_iters": 32, "n_fft": 1024, "l_hop": 256}))
    >>> audio = model.convert_spectrogram_to_audio(spec=log_mel)  # (B, 80, T) -> (B, (T - 1) * 256)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from nemo.collections.asr.parts.preprocessing.features import mel_filterbank
from nemo.collections.tts.models.base import MelToSpec, Vocoder
from nemo.core.neural_types.elements import AudioSignal, MelSpectrogramType
from nemo.core.neural_types.neural_type import NeuralType
from omegaconf import DictConfig, OmegaConf

__all__ = ["GriffinLimModel", "MelPsuedoInverseModel", "TwoStagesConfig", "TwoStagesModel", "griffin_lim"]


def _require_keys(cfg: DictConfig, keys: Sequence[str], owner: str) -> None:
    missing = [key for key in keys if key not in cfg]
    if missing:
        raise ValueError(
            f"{owner}: the config has no {missing}; it needs {list(keys)}. Add the missing keys to the model config."
        )


class _NoTrainingData:
    """``setup_training_data``/``setup_validation_data`` for the models here, which have nothing to train."""

    def setup_training_data(self, cfg: DictConfig) -> None:
        """Nothing to train."""

    def setup_validation_data(self, cfg: DictConfig) -> None:
        """Nothing to validate."""


def _stft_frames(signal: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Centred STFT, zero padded (librosa's default frames): ``signal`` (B, L) -> (B, T, n_fft // 2 + 1)."""
    padded = torch.nn.functional.pad(signal, (n_fft // 2, n_fft // 2))
    return torch.fft.rfft(padded.unfold(-1, n_fft, hop) * window)


class _InverseStft:
    """``torch.istft`` (centred, hann) for one frame count and a hop that divides ``n_fft``.

    The windowed inverse FFTs are overlap-added as ``n_fft // hop`` shifted sums of hop-long pieces and divided
    by the summed squared window, computed once: the same signal as ``torch.istft`` without its per-call
    set-up, which is most of its time at Griffin-Lim's sizes.
    """

    def __init__(self, frames: int, n_fft: int, hop: int, window: torch.Tensor) -> None:
        if n_fft % hop:
            raise ValueError(f"_InverseStft needs a hop that divides n_fft; got n_fft={n_fft}, hop={hop}.")
        self.n_fft, self.hop, self.window, self.frames = n_fft, hop, window, frames
        envelope = self._overlap_add((window * window).expand(1, frames, n_fft))
        self.inverse_envelope = torch.where(envelope > 1e-11, 1.0 / envelope, torch.zeros_like(envelope))

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, n_fft) -> (B, n_fft + hop * (T - 1))."""
        pieces = self.n_fft // self.hop
        batch = frames.shape[0]
        split = frames.reshape(batch, self.frames, pieces, self.hop)
        summed = frames.new_zeros(batch, self.frames + pieces - 1, self.hop)
        for piece in range(pieces):
            summed[:, piece : piece + self.frames] += split[:, :, piece]
        return summed.reshape(batch, -1)

    def __call__(self, spectrum: torch.Tensor) -> torch.Tensor:
        """(B, T, n_fft // 2 + 1) complex -> audio (B, hop * (T - 1))."""
        frames = torch.fft.irfft(spectrum, n=self.n_fft) * self.window
        signal = self._overlap_add(frames) * self.inverse_envelope
        return signal[:, self.n_fft // 2 : signal.shape[1] - self.n_fft // 2]


def griffin_lim(
    magnitudes: torch.Tensor,
    n_iters: int = 50,
    n_fft: int = 1024,
    generator: torch.Generator | None = None,
    momentum: float = 0.0,
) -> torch.Tensor:
    """Audio whose STFT magnitude approximates ``magnitudes``, by Griffin-Lim from a random phase.

    The STFT is librosa's default one (as in NeMo's helper): hann window of ``n_fft``, hop ``n_fft // 4``,
    centred frames with zero padding. (A bin whose re-analysis is exactly 0 gets phase 0 here, 1 in NeMo: only
    a frame of exact digital silence has one, and that test per bin is a third of an iteration.) With
    ``momentum`` > 0 each phase update overshoots towards the new estimate (the "fast Griffin-Lim" of Perraudin,
    Balazs and Sondergaard, 2013, as torchaudio's ``GriffinLim(momentum=...)``), which converges in fewer
    iterations.

    Args:
        magnitudes: linear magnitudes (n_fft // 2 + 1, T) or (B, n_fft // 2 + 1, T).
        n_iters: phase-update iterations after the random start.
        n_fft: FFT size of the re-analysis.
        generator: random generator of the initial phase (default: torch's global one).
        momentum: 0 for NeMo's plain Griffin-Lim; in [0, 1) otherwise (0.99 is torchaudio's default).

    Returns:
        Audio (B, (T - 1) * (n_fft // 4)), or ((T - 1) * (n_fft // 4),) for 2-D input.
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"griffin_lim: momentum must be in [0, 1), got {momentum}.")
    squeeze = magnitudes.dim() == 2
    if squeeze:
        magnitudes = magnitudes.unsqueeze(0)
    freq_bins = magnitudes.shape[1]
    if freq_bins != n_fft // 2 + 1:
        raise ValueError(
            f"griffin_lim: the spectrogram has {freq_bins} frequency bins; n_fft={n_fft} needs {n_fft // 2 + 1}. "
            "Set the GriffinLimModel's n_fft to 2 * (bins - 1), or check the MelToSpec model's n_fft."
        )
    magnitudes = magnitudes.float()
    hop = n_fft // 4
    window = torch.hann_window(n_fft, device=magnitudes.device)
    angles = torch.rand(magnitudes.shape, generator=generator, device=magnitudes.device) * (2 * math.pi)
    magnitudes = magnitudes.transpose(1, 2).contiguous()  # (B, T, F): the layout of the framed FFTs
    inverse = _InverseStft(magnitudes.shape[1], n_fft, hop, window)
    signal = inverse(magnitudes * torch.polar(torch.ones_like(angles), angles).transpose(1, 2))
    previous = None
    for _ in range(n_iters):
        spectrum = _stft_frames(signal, n_fft, hop, window)
        target = spectrum
        if momentum and previous is not None:
            target = spectrum - (momentum / (1.0 + momentum)) * previous
        previous = spectrum
        signal = inverse(magnitudes * torch.sgn(target))
    return signal[0] if squeeze else signal


class MelPsuedoInverseModel(_NoTrainingData, MelToSpec):
    """Mel -> linear magnitudes through the transposed slaney mel filterbank (NeMo 1.23's behaviour and name).

    Buffer ``mel_pseudo_inverse`` (mel_freq, n_fft // 2 + 1) is not saved in the state dict (as in NeMo).
    Our optional key ``inverse``: ``"transpose"`` (default, NeMo's) or ``"pinv"``, the filterbank's
    Moore-Penrose pseudo-inverse with negative magnitudes set to 0, which keeps the audio's level (the
    transpose of slaney-normalized filters scales it down by about 1000) and its spectral envelope.
    """

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        _require_keys(
            self._cfg, ("sampling_rate", "n_fft", "mel_fmin", "mel_fmax", "mel_freq"), type(self).__name__
        )
        weights = mel_filterbank(
            int(self._cfg.sampling_rate),
            int(self._cfg.n_fft),
            int(self._cfg.mel_freq),
            float(self._cfg.mel_fmin),
            float(self._cfg.mel_fmax) if self._cfg.mel_fmax is not None else self._cfg.sampling_rate / 2,
            "slaney",
        )
        self.inverse = str(self._cfg.get("inverse", "transpose"))
        if self.inverse == "pinv":
            weights = torch.linalg.pinv(weights.double()).T.float()
        elif self.inverse != "transpose":
            raise ValueError(
                f"MelPsuedoInverseModel: inverse={self.inverse!r}; use 'transpose' (NeMo's) or 'pinv'."
            )
        self.register_buffer("mel_pseudo_inverse", weights, persistent=False)

    def convert_mel_spectrogram_to_linear(self, mel: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Linear magnitudes (B, n_fft // 2 + 1, T) from (non-log) mel energies ``mel`` (B, mel_freq, T)."""
        linear = torch.tensordot(mel, self.mel_pseudo_inverse, dims=([1], [0])).transpose(1, 2)
        return linear.clamp_min(0.0) if self.inverse == "pinv" else linear


class GriffinLimModel(_NoTrainingData, Vocoder):
    """Griffin-Lim vocoder for linear magnitude spectrograms (config keys ``n_iters``, ``n_fft``, ``l_hop``; ours:
    ``momentum``, default 0, NeMo's plain Griffin-Lim)."""

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        _require_keys(self._cfg, ("n_iters", "n_fft", "l_hop"), type(self).__name__)
        self.n_iters = int(self._cfg.n_iters)
        self.momentum = float(self._cfg.get("momentum", 0.0))  # ours; 0 is NeMo's plain Griffin-Lim
        self.n_fft = int(self._cfg.n_fft)
        self.l_hop = int(self._cfg.l_hop)

    def convert_spectrogram_to_audio(
        self, spec: torch.Tensor, Ts: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Audio (B, (max(Ts) - 1) * l_hop) from linear magnitudes ``spec`` (B, n_fft // 2 + 1, T).

        Args:
            spec: magnitudes; frames past an item's length are ignored when ``Ts`` is given.
            Ts: frames of each item (default: all ``T``); shorter items end with zeros.
        """
        batch, _, max_frames = spec.shape
        lengths = [max_frames] * batch if Ts is None else [int(t) for t in Ts]
        audios = torch.zeros(batch, (max(lengths) - 1) * self.l_hop, device=spec.device)
        settings = {"n_iters": self.n_iters, "n_fft": self.n_fft, "momentum": self.momentum}
        if all(length == max_frames for length in lengths):
            signals = [griffin_lim(spec, **settings)]
            rows = [slice(None)]
        else:
            signals = [
                griffin_lim(spec[i : i + 1, :, :length], **settings) for i, length in enumerate(lengths)
            ]
            rows = [slice(i, i + 1) for i in range(batch)]
        for row, signal in zip(rows, signals):
            size = min(signal.shape[-1], audios.shape[-1])
            audios[row, :size] = signal[..., :size]
        return audios


@dataclass
class TwoStagesConfig:
    """The keys of a :class:`TwoStagesModel` config: the two models' ``_target_`` configs (may be empty)."""

    mel2spec: dict[Any, Any] = field(default_factory=dict)
    linvocoder: dict[Any, Any] = field(default_factory=dict)


class TwoStagesModel(_NoTrainingData, Vocoder):
    """Log-mel -> (exp) mel -> linear magnitudes (``mel2spec``) -> audio (``linvocoder``).

    ``mel2spec`` / ``linvocoder`` configs with a ``_target_`` are built; otherwise set the models with
    :meth:`set_mel_to_spec_model` and :meth:`set_linear_vocoder`.
    """

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        _require_keys(self._cfg, ("mel2spec", "linvocoder"), type(self).__name__)
        self.mel2spec = self._build(self._cfg.mel2spec)
        self.linvocoder = self._build(self._cfg.linvocoder)

    def _build(self, cfg: DictConfig | None) -> Any:
        if cfg is None or "_target_" not in cfg:
            return None
        return self.from_config_dict(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True)))

    def set_mel_to_spec_model(self, mel2spec: MelToSpec) -> None:
        """Use ``mel2spec`` for the first stage."""
        self.mel2spec = mel2spec

    def set_linear_vocoder(self, linvocoder: Vocoder) -> None:
        """Use ``linvocoder`` for the second stage."""
        self.linvocoder = linvocoder

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"mel": NeuralType(("B", "D", "T"), MelSpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"wave": NeuralType(("B", "T"), AudioSignal())}

    def forward(self, *, mel: torch.Tensor) -> torch.Tensor:
        """Audio (B, T_audio) from log-mel spectrograms ``mel`` (B, n_mels, T)."""
        return self.convert_spectrogram_to_audio(mel)

    def convert_spectrogram_to_audio(self, spec: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Audio from log-mel spectrograms ``spec`` (B, n_mels, T); ``kwargs`` go to the linear vocoder."""
        if self.mel2spec is None or self.linvocoder is None:
            raise ValueError(
                "TwoStagesModel needs both stages: set mel2spec._target_ and linvocoder._target_ in the config, "
                "or call set_mel_to_spec_model() and set_linear_vocoder()."
            )
        self.eval()
        with torch.no_grad():
            linear_spec = self.mel2spec.convert_mel_spectrogram_to_linear(torch.exp(spec))
            return self.linvocoder.convert_spectrogram_to_audio(linear_spec, **kwargs)
