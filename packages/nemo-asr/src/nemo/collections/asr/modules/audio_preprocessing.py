"""Audio front ends and spectrogram augmentation, as NeMo 1.23's ``modules/audio_preprocessing.py``.

* :class:`AudioToMelSpectrogramPreprocessor`: waveforms (B, T) -> log-mel features (B, D, T'),
  with NeMo's arguments and state dict (``featurizer.window``, ``featurizer.fb``);
* :class:`AudioToMFCCPreprocessor`: waveforms -> MFCCs (``torchaudio.transforms.MFCC``);
* :class:`SpectrogramAugmentation`: SpecAugment masks and SpecCutout rectangles, training only;
* :class:`CropOrPadSpectrogramAugmentation`: every spectrogram cropped or padded to a fixed number of frames.

Example:
    >>> preprocessor = AudioToMelSpectrogramPreprocessor(features=80, n_fft=512).eval()
    >>> mel, mel_len = preprocessor(input_signal=torch.randn(2, 16000), length=torch.tensor([16000, 8000]))
    >>> mel.shape, mel_len.tolist()
    (torch.Size([2, 80, 112]), [101, 51])
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torchaudio
from nemo.collections.asr.parts.preprocessing.features import FilterbankFeatures
from nemo.collections.asr.parts.submodules.spectr_augment import SpecAugment, SpecCutout, as_random
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    AudioSignal,
    LengthsType,
    MelSpectrogramType,
    MFCCSpectrogramType,
    NeuralType,
    SpectrogramType,
)

__all__ = [
    "AudioPreprocessor",
    "AudioToMFCCPreprocessor",
    "AudioToMelSpectrogramPreprocessor",
    "AudioToSpectrogram",
    "CropOrPadSpectrogramAugmentation",
    "MaskedPatchAugmentation",
    "SpectrogramAugmentation",
    "SpectrogramToAudio",
]


def _window_and_hop_in_samples(
    owner: str,
    sample_rate: int,
    window_size: float | None,
    window_stride: float | None,
    n_window_size: int | None,
    n_window_stride: int | None,
) -> tuple[int | None, int | None]:
    """``(win_length, hop_length)`` in samples, each given in seconds or in samples (not both).

    Raises:
        ValueError: both keys of the window (or of the hop) are set; the message names ``owner``.
    """
    in_samples = []
    for seconds, samples, seconds_key, samples_key in (
        (window_size, n_window_size, "window_size", "n_window_size"),
        (window_stride, n_window_stride, "window_stride", "n_window_stride"),
    ):
        if seconds and samples:
            raise ValueError(
                f"{owner} received both {seconds_key}={seconds} and {samples_key}={samples}; only one should "
                f"be specified. Set the other to null in the preprocessor config."
            )
        in_samples.append(int(seconds * sample_rate) if seconds else samples)
    return in_samples[0], in_samples[1]


class AudioPreprocessor(NeuralModule, ABC):
    """Base of the waveform -> features modules: float32 features, no gradients, output in the module's dtype.

    Subclasses set ``self._sample_rate`` (the ``freq`` of the ``input_signal`` port) and the class
    attribute ``_processed_signal_type``, the element type of the features they compute; the ports are
    declared here.

    Args:
        win_length: analysis window in samples.
        hop_length: hop between frames in samples.
    """

    _sample_rate: int
    _processed_signal_type: type[SpectrogramType]

    def __init__(self, win_length: int | None, hop_length: int | None) -> None:
        super().__init__()
        self.win_length = win_length
        self.hop_length = hop_length
        self.torch_windows: dict[str, Callable[..., torch.Tensor] | None] = {
            "hann": torch.hann_window,
            "hamming": torch.hamming_window,
            "blackman": torch.blackman_window,
            "bartlett": torch.bartlett_window,
            "ones": torch.ones,
            None: torch.ones,
        }
        # Follows .to(dtype) / .half() of the module, so the features come out in the module's dtype
        # while they are computed in float32.
        self.register_buffer("dtype_sentinel_tensor", torch.tensor((), dtype=torch.float32), persistent=False)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input_signal`` (B, T) at ``sample_rate`` and ``length`` (B,) in samples."""
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=self._sample_rate)),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``processed_signal`` (B, D, T') of ``_processed_signal_type``, ``processed_length`` (B,) frames."""
        return {
            "processed_signal": NeuralType(("B", "D", "T"), self._processed_signal_type()),
            "processed_length": NeuralType(tuple("B"), LengthsType()),
        }

    @typecheck()
    @torch.no_grad()
    def forward(self, input_signal: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute features.

        Args:
            input_signal: waveforms (B, T).
            length: valid samples per item (B,).

        Returns:
            ``(processed_signal (B, D, T'), processed_length (B,))``.
        """
        processed_signal, processed_length = self.get_features(input_signal.to(torch.float32), length)
        return processed_signal.to(self.dtype_sentinel_tensor.dtype), processed_length

    @abstractmethod
    def get_features(
        self, input_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, D, T') and their lengths (B,) for float32 waveforms (B, T) and lengths (B,)."""


class AudioToMelSpectrogramPreprocessor(AudioPreprocessor, Exportable):
    """Waveforms -> log-mel spectrogram features, NeMo 1.23's default ASR front end.

    State dict: ``featurizer.window`` (win_length,) and ``featurizer.fb`` (1, features, n_fft // 2 + 1).
    See :class:`~nemo.collections.asr.parts.preprocessing.features.FilterbankFeatures` for the
    computation.

    Args:
        sample_rate: audio sample rate in Hz.
        window_size: window length in seconds (or give ``n_window_size``).
        window_stride: hop in seconds (or give ``n_window_stride``).
        n_window_size: window length in samples.
        n_window_stride: hop in samples.
        window: ``hann``, ``hamming``, ``blackman``, ``bartlett`` or ``none``.
        normalize: ``per_feature``, ``all_features``, fixed statistics or ``None``.
        n_fft: FFT size (default: next power of two >= window length).
        preemph: pre-emphasis coefficient (``None``: none).
        features: number of mel bands.
        lowfreq: lowest mel frequency in Hz.
        highfreq: highest mel frequency in Hz (default ``sample_rate / 2``).
        log: log of the mel energies.
        log_zero_guard_type: ``add`` or ``clamp``.
        log_zero_guard_value: guard of the log: a number, ``"tiny"`` or ``"eps"``.
        dither: standard deviation of the noise added in training mode.
        pad_to: pad the time axis to a multiple of this (0: none) or ``"max"``.
        frame_splicing: stacked copies of the features (as NeMo).
        exact_pad: STFT padding giving ``ceil(T / hop)`` frames.
        pad_value: value of frames past each item's length.
        mag_power: exponent of the magnitude spectrum.
        rng: ``random.Random`` for the narrowband augmentation.
        nb_augmentation_prob: training-time probability of zeroing bins above ``nb_max_freq``.
        nb_max_freq: narrowband augmentation cut-off in Hz.
        mel_norm: ``"slaney"`` or ``None``.
        stft_exact_pad: deprecated, ignored (warns).
        stft_conv: deprecated, ignored (warns).
    """

    _processed_signal_type = MelSpectrogramType

    def __init__(
        self,
        sample_rate: int = 16000,
        window_size: float | None = 0.02,
        window_stride: float | None = 0.01,
        n_window_size: int | None = None,
        n_window_stride: int | None = None,
        window: str = "hann",
        normalize: str | Mapping[str, Any] | None = "per_feature",
        n_fft: int | None = None,
        preemph: float | None = 0.97,
        features: int = 64,
        lowfreq: float = 0,
        highfreq: float | None = None,
        log: bool = True,
        log_zero_guard_type: str = "add",
        log_zero_guard_value: float | str = 2**-24,
        dither: float = 1e-5,
        pad_to: int | str = 16,
        frame_splicing: int = 1,
        exact_pad: bool = False,
        pad_value: float = 0,
        mag_power: float = 2.0,
        rng: random.Random | None = None,
        nb_augmentation_prob: float = 0.0,
        nb_max_freq: int = 4000,
        mel_norm: str | None = "slaney",
        stft_exact_pad: bool = False,
        stft_conv: bool = False,
    ) -> None:
        super().__init__(
            *_window_and_hop_in_samples(
                type(self).__name__, sample_rate, window_size, window_stride, n_window_size, n_window_stride
            )
        )
        self._sample_rate = sample_rate
        self.featurizer = FilterbankFeatures(
            sample_rate=sample_rate,
            n_window_size=self.win_length,
            n_window_stride=self.hop_length,
            window=window,
            normalize=normalize,
            n_fft=n_fft,
            preemph=preemph,
            nfilt=features,
            lowfreq=lowfreq,
            highfreq=highfreq,
            log=log,
            log_zero_guard_type=log_zero_guard_type,
            log_zero_guard_value=log_zero_guard_value,
            dither=dither,
            pad_to=pad_to,
            frame_splicing=frame_splicing,
            exact_pad=exact_pad,
            pad_value=pad_value,
            mag_power=mag_power,
            rng=rng,
            nb_augmentation_prob=nb_augmentation_prob,
            nb_max_freq=nb_max_freq,
            mel_norm=mel_norm,
            stft_exact_pad=stft_exact_pad,
            stft_conv=stft_conv,
        )

    @property
    def filter_banks(self) -> torch.Tensor:
        """The mel filterbank (1, features, n_fft // 2 + 1)."""
        return self.featurizer.filter_banks

    def get_features(
        self, input_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel features (B, D, T') and frame counts (B,) of float32 waveforms (B, T)."""
        return self.featurizer(input_signal, length)

    def input_example(
        self, max_batch: int = 8, max_dim: int = 32000, min_length: int = 200
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch for tracing/export: waveforms (B, T) in [-1, 1) and lengths (B,), the first = T."""
        batch_size = int(torch.randint(low=1, high=max_batch, size=[1]))
        max_length = int(torch.randint(low=min_length, high=max_dim, size=[1]))
        signals = torch.rand(size=[batch_size, max_length]) * 2 - 1
        lengths = torch.randint(low=min_length, high=max_length + 1, size=[batch_size])
        lengths[0] = max_length
        return signals, lengths


# What torchaudio's MFCC adds to the mel power before its log.
_MFCC_LOG_OFFSET = 1e-6


class AudioToMFCCPreprocessor(AudioPreprocessor):
    """Waveforms -> MFCCs with ``torchaudio.transforms.MFCC`` (NeMo 1.23's arguments and state dict).

    Frame counts are ``ceil(length / hop_length)`` as in NeMo.

    Args:
        sample_rate: audio sample rate in Hz.
        window_size: window length in seconds (or give ``n_window_size``).
        window_stride: hop in seconds (or give ``n_window_stride``).
        n_window_size: window length in samples.
        n_window_stride: hop in samples.
        window: ``hann``, ``hamming``, ``blackman``, ``bartlett`` or ``ones``.
        n_fft: FFT size (default: next power of two >= window length).
        lowfreq: lowest mel frequency in Hz.
        highfreq: highest mel frequency in Hz (default ``sample_rate / 2``).
        n_mels: mel bands before the DCT.
        n_mfcc: cepstral coefficients kept.
        dct_type: DCT type (torchaudio supports 2).
        norm: DCT norm (``"ortho"`` or ``None``).
        log: log-mel (``True``) or dB-scaled mel (``False``) before the DCT.
    """

    _processed_signal_type = MFCCSpectrogramType

    def __init__(
        self,
        sample_rate: int = 16000,
        window_size: float | None = 0.02,
        window_stride: float | None = 0.01,
        n_window_size: int | None = None,
        n_window_stride: int | None = None,
        window: str = "hann",
        n_fft: int | None = None,
        lowfreq: float = 0.0,
        highfreq: float | None = None,
        n_mels: int = 64,
        n_mfcc: int = 64,
        dct_type: int = 2,
        norm: str | None = "ortho",
        log: bool = True,
    ) -> None:
        super().__init__(
            *_window_and_hop_in_samples(
                type(self).__name__, sample_rate, window_size, window_stride, n_window_size, n_window_stride
            )
        )
        self._sample_rate = sample_rate
        window_fn = self.torch_windows.get(window)
        if window_fn is None:
            raise ValueError(
                f"{type(self).__name__} got window={window!r}; expected one of "
                f"{sorted(k for k in self.torch_windows if k)}. Fix `window` in the preprocessor config."
            )
        mel_kwargs = {
            "f_min": lowfreq,
            "f_max": highfreq,
            "n_mels": n_mels,
            "n_fft": n_fft or 2 ** math.ceil(math.log2(self.win_length)),
            "win_length": self.win_length,
            "hop_length": self.hop_length,
            "window_fn": window_fn,
        }
        self.featurizer = torchaudio.transforms.MFCC(
            sample_rate=sample_rate,
            n_mfcc=n_mfcc,
            dct_type=dct_type,
            norm=norm,
            log_mels=log,
            melkwargs=mel_kwargs,
        )

    def get_features(
        self, input_signal: torch.Tensor, length: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """MFCCs (B, n_mfcc, T') and frame counts ``ceil(length / hop)`` (B,)."""
        features = self._mfcc(input_signal)
        seq_len = torch.ceil(length.to(torch.float32) / self.hop_length).to(dtype=torch.long)
        return features, seq_len

    def _mfcc(self, input_signal: torch.Tensor) -> torch.Tensor:
        """``self.featurizer(input_signal)`` (B, T) -> (B, n_mfcc, T'), with its own buffers and steps, but the power
        spectrum taken as re^2 + im^2: torchaudio's ``abs().pow(2)`` spends a third of a MatchboxNet's inference
        in the complex ``abs`` (a square root it then squares again)."""
        mfcc = self.featurizer
        spectrogram = mfcc.MelSpectrogram.spectrogram
        if spectrogram.power != 2.0:
            return mfcc(input_signal)
        spec = torchaudio.functional.spectrogram(
            input_signal,
            pad=spectrogram.pad,
            window=spectrogram.window,
            n_fft=spectrogram.n_fft,
            hop_length=spectrogram.hop_length,
            win_length=spectrogram.win_length,
            power=None,
            normalized=spectrogram.normalized,
            center=spectrogram.center,
            pad_mode=spectrogram.pad_mode,
            onesided=spectrogram.onesided,
        )
        mel = mfcc.MelSpectrogram.mel_scale(spec.real.square() + spec.imag.square())
        mel = torch.log(mel + _MFCC_LOG_OFFSET) if mfcc.log_mels else mfcc.amplitude_to_DB(mel)
        return torch.matmul(mel.transpose(-1, -2), mfcc.dct_mat).transpose(-1, -2)


class SpectrogramAugmentation(NeuralModule):
    """SpecCutout rectangles, then SpecAugment frequency/time masks; the identity in eval mode.

    Args:
        freq_masks: frequency masks per item.
        time_masks: time masks per item.
        freq_width: maximum frequency mask width in bins.
        time_width: maximum time mask width in frames (int) or as a fraction of each item's length
            (float in [0, 1]).
        rect_masks: SpecCutout rectangles per item.
        rect_time: maximum rectangle width in frames.
        rect_freq: maximum rectangle height in bins.
        rng: ``random.Random`` or int seed shared by both augmentations; ``None`` uses torch's
            global RNG (``torch.manual_seed``).
        mask_value: value of SpecAugment's masked cells (rectangles are zeroed).
        use_numba_spec_augment: accepted for config compatibility; the vectorized torch masks
            run on every device, so no numba kernel is used.
    """

    def __init__(
        self,
        freq_masks: int = 0,
        time_masks: int = 0,
        freq_width: int = 10,
        time_width: int | float = 10,
        rect_masks: int = 0,
        rect_time: int = 5,
        rect_freq: int = 20,
        rng: random.Random | int | None = None,
        mask_value: float = 0.0,
        use_numba_spec_augment: bool = True,
    ) -> None:
        super().__init__()
        rng = as_random(rng)
        self.spec_cutout = (
            SpecCutout(rect_masks=rect_masks, rect_time=rect_time, rect_freq=rect_freq, rng=rng)
            if rect_masks > 0
            else None
        )
        self.spec_augment = (
            SpecAugment(
                freq_masks=freq_masks,
                time_masks=time_masks,
                freq_width=freq_width,
                time_width=time_width,
                rng=rng,
                mask_value=mask_value,
            )
            if freq_masks + time_masks > 0
            else None
        )

    # SpecAugment's ports: ``input_spec`` (B, D, T) and ``length`` (B,) in, ``augmented_spec`` (B, D, T) out.
    input_types = SpecAugment.input_types
    output_types = SpecAugment.output_types

    @typecheck()
    def forward(self, input_spec: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Augment a batch in training mode; return it unchanged in eval mode.

        Args:
            input_spec: spectrogram (B, D, T).
            length: valid frames per item (B,).

        Returns:
            ``augmented_spec`` (B, D, T).
        """
        if not self.training:
            return input_spec
        augmented_spec = input_spec
        if self.spec_cutout is not None:
            augmented_spec = self.spec_cutout(input_spec=augmented_spec)
        if self.spec_augment is not None:
            augmented_spec = self.spec_augment(input_spec=augmented_spec, length=length)
        return augmented_spec


class CropOrPadSpectrogramAugmentation(NeuralModule):
    """Bring every spectrogram of a batch to ``audio_length`` frames (MatchboxNet's fixed input size).

    As NeMo 1.23 does, in training and in eval mode alike: when the batch is longer than ``audio_length``
    frames, each item is cut at its own random offset (``torch.randint``, so ``torch.manual_seed`` makes it
    reproducible); otherwise the batch is zero-padded on both sides, the odd frame going to the right.
    Lengths all become ``audio_length``.

    Args:
        audio_length: frames of every output spectrogram (non-negative).
    """

    def __init__(self, audio_length: int) -> None:
        super().__init__()
        if audio_length < 0:
            raise ValueError(
                f"CropOrPadSpectrogramAugmentation got audio_length={audio_length}; expected a non-negative "
                "number of frames. Fix crop_or_pad_augment.audio_length in the model config."
            )
        self.audio_length = audio_length

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input_signal`` (B, D, T) and ``length`` (B,)."""
        return {
            "input_signal": NeuralType(("B", "D", "T"), SpectrogramType()),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``processed_signal`` (B, D, audio_length) and ``processed_length`` (B,)."""
        return {
            "processed_signal": NeuralType(("B", "D", "T"), SpectrogramType()),
            "processed_length": NeuralType(tuple("B"), LengthsType()),
        }

    @typecheck()
    @torch.no_grad()
    def forward(self, input_signal: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop or pad ``input_signal`` (B, D, T) to (B, D, audio_length); lengths become ``audio_length``."""
        frames = input_signal.shape[-1]
        if frames > self.audio_length:
            starts = torch.randint(low=0, high=frames - self.audio_length + 1, size=[input_signal.shape[0]])
            output = torch.stack(
                [
                    item[:, start : start + self.audio_length]
                    for item, start in zip(input_signal, starts.tolist())
                ]
            )
        else:
            missing = self.audio_length - frames
            output = torch.nn.functional.pad(input_signal, [missing // 2, missing - missing // 2])
        return output, torch.full_like(length, self.audio_length)


def _padded_steps_mask(like: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """True at the padded steps of the last axis of ``like`` (B, ..., T); ``lengths`` (B,) counts valid steps."""
    steps = torch.arange(like.size(-1), device=like.device)
    padded = steps >= lengths.to(like.device).view(-1, 1)  # (B, T)
    return padded.view(padded.size(0), *([1] * (like.dim() - 2)), padded.size(1))


def _check_even_fft_length(owner: str, fft_length: int) -> None:
    if fft_length % 2:
        raise ValueError(
            f"{owner} needs an even fft_length, got {fft_length}. Set fft_length to an even number."
        )


class AudioToSpectrogram(NeuralModule):
    """Multi-channel waveforms (B, C, T) -> complex STFT spectrograms (B, C, F, N).

    The STFT (``torchaudio.transforms.Spectrogram``, state-dict key ``stft.window``) uses a periodic Hann
    window of ``fft_length`` samples, frames centred on multiples of ``hop_length`` with zero padding at both
    ends, and no normalization: ``F = fft_length // 2 + 1`` subbands and ``N = T // hop_length + 1`` frames.
    Computed in float32 (autocast off).

    Args:
        fft_length: FFT and window length in samples (even).
        hop_length: hop between frames in samples.
        power: ``None`` for the complex spectrogram, else the exponent of a magnitude spectrogram.

    Example:
        >>> spec, spec_len = AudioToSpectrogram(fft_length=512, hop_length=128)(input=torch.randn(2, 3, 16000))
        >>> spec.shape, spec_len.tolist()
        (torch.Size([2, 3, 257, 126]), [126, 126])
    """

    def __init__(self, fft_length: int, hop_length: int, power: float | None = None) -> None:
        super().__init__()
        _check_even_fft_length(type(self).__name__, fft_length)
        self.stft = torchaudio.transforms.Spectrogram(
            n_fft=fft_length, hop_length=hop_length, power=power, pad_mode="constant"
        )
        self.F = fft_length // 2 + 1

    @property
    def num_subbands(self) -> int:
        """F, the number of subbands."""
        return self.F

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input`` (B, C, T) and optional ``input_length`` (B,) in samples."""
        return {
            "input": NeuralType(("B", "C", "T"), AudioSignal()),
            "input_length": NeuralType(("B",), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``output`` (B, C, F, N) and ``output_length`` (B,) in frames."""
        return {
            "output": NeuralType(("B", "C", "D", "T"), SpectrogramType()),
            "output_length": NeuralType(("B",), LengthsType()),
        }

    @typecheck()
    def forward(
        self, input: torch.Tensor, input_length: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """STFT of every channel.

        Args:
            input: (B, C, T) waveforms (any leading layout that flattens to B x C channels).
            input_length: (B,) valid samples; frames past :meth:`get_output_length` are zeroed.

        Returns:
            ``(output, output_length)``: (B, C, F, N) spectrogram and (B,) valid frames.
        """
        batch, samples = input.size(0), input.size(-1)
        with torch.autocast(device_type=input.device.type, enabled=False):
            output = self.stft(input.reshape(batch, -1, samples).float())
        if input_length is None:
            return output, torch.full((batch,), output.size(-1), dtype=torch.long, device=output.device)
        output_length = self.get_output_length(input_length)
        return output.masked_fill(_padded_steps_mask(output, output_length), 0.0), output_length

    def get_output_length(self, input_length: torch.Tensor) -> torch.Tensor:
        """Valid frames (B,) of inputs with ``input_length`` (B,) valid samples: ``T // hop_length + 1``."""
        return torch.div(input_length, self.stft.hop_length, rounding_mode="floor").long() + 1


class SpectrogramToAudio(NeuralModule):
    """Complex STFT spectrograms (B, C, F, N) -> multi-channel waveforms (B, C, T), inverting :class:`AudioToSpectrogram`.

    ``torchaudio.transforms.InverseSpectrogram`` (state-dict key ``istft.window``), the same window and
    framing as :class:`AudioToSpectrogram`: ``T = (N - 1) * hop_length`` samples. Computed in complex64.

    Args:
        fft_length: FFT and window length in samples (even); ``F = fft_length // 2 + 1``.
        hop_length: hop between frames in samples.
    """

    def __init__(self, fft_length: int, hop_length: int) -> None:
        super().__init__()
        _check_even_fft_length(type(self).__name__, fft_length)
        self.istft = torchaudio.transforms.InverseSpectrogram(
            n_fft=fft_length, hop_length=hop_length, pad_mode="constant"
        )
        self.F = fft_length // 2 + 1

    @property
    def num_subbands(self) -> int:
        """F, the number of subbands."""
        return self.F

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input`` (B, C, F, N) and optional ``input_length`` (B,) in frames."""
        return {
            "input": NeuralType(("B", "C", "D", "T"), SpectrogramType()),
            "input_length": NeuralType(("B",), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``output`` (B, C, T) and ``output_length`` (B,) in samples."""
        return {
            "output": NeuralType(("B", "C", "T"), AudioSignal()),
            "output_length": NeuralType(("B",), LengthsType()),
        }

    @typecheck()
    def forward(
        self, input: torch.Tensor, input_length: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse STFT of every channel.

        Args:
            input: (B, C, F, N) complex spectrogram.
            input_length: (B,) valid frames; samples past :meth:`get_output_length` are zeroed.

        Returns:
            ``(output, output_length)``: (B, C, T) waveforms and (B,) valid samples.
        """
        batch, subbands, frames = input.size(0), input.size(-2), input.size(-1)
        if subbands != self.F:
            raise ValueError(
                f"{type(self).__name__} expects {self.F} subbands (fft_length // 2 + 1), got an input with "
                f"{subbands}. Use the fft_length of the analysis transform."
            )
        with torch.autocast(device_type=input.device.type, enabled=False):
            output = self.istft(input.reshape(batch, -1, subbands, frames).to(torch.complex64))
        if input_length is None:
            return output, torch.full((batch,), output.size(-1), dtype=torch.long, device=output.device)
        output_length = self.get_output_length(input_length)
        return output.masked_fill(_padded_steps_mask(output, output_length), 0.0), output_length

    def get_output_length(self, input_length: torch.Tensor) -> torch.Tensor:
        """Valid samples (B,) of spectrograms with ``input_length`` (B,) valid frames: ``(N - 1) * hop_length``."""
        return ((input_length - 1) * self.istft.hop_length).long()


class MaskedPatchAugmentation(NeuralModule):
    """Zero whole time patches of ``patch_size`` frames, the same number in every item; the identity in eval mode.

    Item ``i`` has ``length[i] // patch_size`` whole patches; ``mask_patches`` distinct ones are drawn uniformly
    (torch's RNG, so ``torch.manual_seed`` reproduces them). The count is capped so that the shortest item can
    supply it. Optional SpecAugment frequency masks follow.

    Args:
        patch_size: frames per patch.
        mask_patches: patches to zero per item when >= 1 (truncated to an int); when in [0, 1) the fraction of
            the shortest item's frames to cover, rounded up to whole patches.
        freq_masks: SpecAugment frequency masks per item (0: none).
        freq_width: maximum frequency mask width in bins.
    """

    input_types = SpectrogramAugmentation.input_types
    output_types = SpectrogramAugmentation.output_types

    def __init__(
        self, patch_size: int = 48, mask_patches: float = 10.0, freq_masks: int = 0, freq_width: int = 0
    ) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(
                f"MaskedPatchAugmentation got patch_size={patch_size}; it must be at least 1 frame."
            )
        if mask_patches < 0:
            raise ValueError(
                f"MaskedPatchAugmentation got mask_patches={mask_patches}; it cannot be negative (a count >= 1 or "
                "a fraction in [0, 1))."
            )
        self.patch_size = patch_size
        self.mask_patches = int(mask_patches) if mask_patches >= 1 else None
        self._mask_fraction = None if mask_patches >= 1 else float(mask_patches)
        self.spec_augment = (
            SpecAugment(freq_masks=freq_masks, time_masks=0, freq_width=freq_width, time_width=0)
            if freq_masks > 0
            else None
        )

    def _patches_per_item(self, shortest: int) -> int:
        """How many patches to zero in each item, given the shortest item's length in frames."""
        if self.mask_patches is None:
            covered = int(shortest * self._mask_fraction)
            count = math.ceil(covered / self.patch_size)
        else:
            count = self.mask_patches
        return min(count, shortest // self.patch_size)

    @typecheck()
    def forward(self, input_spec: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Zero the drawn patches of ``input_spec`` (B, D, T) with valid frames ``length`` (B,); a new tensor."""
        if not self.training:
            return input_spec
        batch, _, num_time = input_spec.shape
        lengths = length.to(device=input_spec.device, dtype=torch.long)
        count = self._patches_per_item(int(lengths.min())) if batch else 0
        augmented_spec = input_spec
        if count > 0:
            whole_patches = lengths // self.patch_size
            patch_index = torch.arange(int(whole_patches.max()), device=input_spec.device)
            # Random scores; patches past an item's whole patches score 2 and are never among the lowest `count`.
            scores = torch.rand(batch, patch_index.numel(), device=input_spec.device)
            scores = scores.masked_fill(patch_index >= whole_patches.unsqueeze(1), 2.0)
            chosen = scores.argsort(dim=1)[:, :count]
            frame_patch = torch.arange(num_time, device=input_spec.device) // self.patch_size
            frame_mask = (frame_patch.view(1, -1, 1) == chosen.unsqueeze(1)).any(dim=2)
            augmented_spec = input_spec.masked_fill(frame_mask.unsqueeze(1), 0.0)
        if self.spec_augment is not None:
            augmented_spec = self.spec_augment(input_spec=augmented_spec, length=length)
        return augmented_spec


# ------------------------------------------------------------------------------------ structured configs
# NeMo 1.23's config dataclasses of the modules above (``OmegaConf.structured(...)`` gives the model config
# section). Field names follow each class's arguments; defaults are NeMo's config defaults.


@dataclass
class AudioToMelSpectrogramPreprocessorConfig:
    """``preprocessor`` section for :class:`AudioToMelSpectrogramPreprocessor` (argument docs there).

    NeMo's ``use_torchaudio`` is absent: this preprocessor has a single (torch.stft) implementation.
    """

    _target_: str = "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor"
    sample_rate: int = 16000
    window_size: float = 0.02
    window_stride: float = 0.01
    n_window_size: int | None = None
    n_window_stride: int | None = None
    window: str = "hann"
    normalize: str = "per_feature"
    n_fft: int | None = None
    preemph: float = 0.97
    features: int = 64
    lowfreq: int = 0
    highfreq: int | None = None
    log: bool = True
    log_zero_guard_type: str = "add"
    log_zero_guard_value: float = 2**-24
    dither: float = 1e-5
    pad_to: int = 16
    frame_splicing: int = 1
    exact_pad: bool = False
    pad_value: int = 0
    mag_power: float = 2.0
    rng: str | None = None
    nb_augmentation_prob: float = 0.0
    nb_max_freq: int = 4000
    mel_norm: str = "slaney"
    stft_exact_pad: bool = False
    stft_conv: bool = False


@dataclass
class AudioToMFCCPreprocessorConfig:
    """``preprocessor`` section for :class:`AudioToMFCCPreprocessor` (argument docs there)."""

    _target_: str = "nemo.collections.asr.modules.AudioToMFCCPreprocessor"
    sample_rate: int = 16000
    window_size: float = 0.02
    window_stride: float = 0.01
    n_window_size: int | None = None
    n_window_stride: int | None = None
    window: str = "hann"
    n_fft: int | None = None
    lowfreq: float | None = 0.0
    highfreq: float | None = None
    n_mels: int = 64
    n_mfcc: int = 64
    dct_type: int = 2
    norm: str = "ortho"
    log: bool = True


@dataclass
class SpectrogramAugmentationConfig:
    """``spec_augment`` section for :class:`SpectrogramAugmentation`; every mask is off by default."""

    _target_: str = "nemo.collections.asr.modules.SpectrogramAugmentation"
    freq_masks: int = 0
    time_masks: int = 0
    freq_width: int = 0
    time_width: Any | None = 0
    rect_masks: int = 0
    rect_time: int = 0
    rect_freq: int = 0
    mask_value: float = 0
    rng: Any | None = None
    use_numba_spec_augment: bool = True


@dataclass
class CropOrPadSpectrogramAugmentationConfig:
    """``crop_or_pad_augment`` section for :class:`CropOrPadSpectrogramAugmentation` (frames to keep)."""

    audio_length: int
    _target_: str = "nemo.collections.asr.modules.CropOrPadSpectrogramAugmentation"


@dataclass
class MaskedPatchAugmentationConfig:
    """``spec_augment`` section for :class:`MaskedPatchAugmentation` (argument docs there)."""

    patch_size: int = 48
    mask_patches: float = 10.0
    freq_masks: int = 0
    freq_width: int = 0
    _target_: str = "nemo.collections.asr.modules.MaskedPatchAugmentation"
