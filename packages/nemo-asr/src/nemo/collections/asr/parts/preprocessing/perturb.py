"""Waveform augmentations applied to an ``AudioSegment`` before feature extraction (NeMo 1.23's ``perturb.py``).

A perturbation changes ``segment._samples`` in place: that attribute is where ``AudioSegment`` keeps its
(T,) or (T, C) float32 samples, and NeMo's own perturbations (and third-party ones written for NeMo)
write it directly. ``AudioAugmentor`` applies a list of ``(prob, perturbation)`` pairs, and
``process_augmentations`` builds one from the ``augmentor`` section of a dataset config:

    augmentor:
      speed: {prob: 0.5, sr: 16000, resample_type: kaiser_fast, min_speed_rate: 0.9, max_speed_rate: 1.1}
      white_noise: {prob: 0.5, min_level: -90, max_level: -46}
      noise: {prob: 0.5, manifest_path: noise_manifest.json, min_snr_db: 0, max_snr_db: 15}
      impulse: {prob: 0.3, manifest_path: rir_manifest.json, shift_impulse: true}

Randomness: each object draws from its own ``random.Random`` (``rng`` may be one, or an int seed), so
seeding one augmentor never touches Python's, numpy's or torch's global generators.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import random
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torchaudio.functional
from nemo.collections.asr.data.manifest import ManifestEntry, read_manifest_entries, split_manifest_paths
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf

__all__ = [
    "AudioAugmentor",
    "GainPerturbation",
    "ImpulsePerturbation",
    "NoisePerturbation",
    "Perturbation",
    "ShiftPerturbation",
    "SilencePerturbation",
    "SpeedPerturbation",
    "TimeStretchPerturbation",
    "WhiteNoisePerturbation",
    "perturbation_types",
    "process_augmentations",
    "register_perturbation",
]

RandomSource = random.Random | int | None
"""A ``random.Random``, an int seed, or ``None`` for a generator seeded from the OS."""

_KAISER_BEST = {
    "resampling_method": "sinc_interp_kaiser",
    "lowpass_filter_width": 64,
    "rolloff": 0.9475937167399596,
    "beta": 14.769656459379492,
}
_KAISER_FAST = {
    "resampling_method": "sinc_interp_kaiser",
    "lowpass_filter_width": 16,
    "rolloff": 0.85,
    "beta": 8.555504641634386,
}
_SINC_RESAMPLE_TYPES: dict[str, dict[str, Any]] = {"kaiser_best": _KAISER_BEST, "kaiser_fast": _KAISER_FAST}
_FFT_RESAMPLE_TYPES = ("fft", "scipy")
_RESAMPLE_TYPES = (*_SINC_RESAMPLE_TYPES, *_FFT_RESAMPLE_TYPES)

_MAX_RATIO_DENOMINATOR = 200
"""Sinc resampling approximates ``new_sr / sr`` by a fraction with at most this denominator (small kernels)."""


def _as_random(rng: RandomSource, owner: str) -> random.Random:
    """``rng`` as a ``random.Random``: an instance is shared, an int is a seed, ``None`` seeds from the OS."""
    if isinstance(rng, random.Random):
        return rng
    if rng is None or (isinstance(rng, int) and not isinstance(rng, bool)):
        return random.Random(rng)
    raise TypeError(
        f"{owner} got rng={rng!r} ({type(rng).__name__}); expected a random.Random, an int seed or None."
    )


def _check_rate_range(owner: str, min_speed_rate: float, max_speed_rate: float) -> None:
    if not 0.0 < min_speed_rate <= max_speed_rate:
        raise ValueError(
            f"{owner} needs 0 < min_speed_rate <= max_speed_rate, got min_speed_rate={min_speed_rate}, "
            f"max_speed_rate={max_speed_rate}. Fix the rates in the augmentor config."
        )


def _candidate_rates(min_speed_rate: float, max_speed_rate: float, num_rates: int) -> np.ndarray | None:
    """The ``num_rates`` evenly spaced rates to choose from, or ``None`` to draw uniformly (``num_rates <= 0``)."""
    if num_rates <= 0:
        return None
    return np.linspace(min_speed_rate, max_speed_rate, num_rates, endpoint=True)


def _draw_rate(rng: random.Random, rates: np.ndarray | None, min_rate: float, max_rate: float) -> float:
    return rng.uniform(min_rate, max_rate) if rates is None else float(rng.choice(rates))


def _fft_resample(waveform: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Resample (C, T) to (C, ``num_samples``) by truncating or zero-padding the spectrum (scipy's method)."""
    spectrum = torch.fft.rfft(waveform, dim=-1)
    bins = num_samples // 2 + 1
    if bins <= spectrum.shape[-1]:
        spectrum = spectrum[..., :bins]
    else:
        spectrum = torch.nn.functional.pad(spectrum, (0, bins - spectrum.shape[-1]))
    return torch.fft.irfft(spectrum, n=num_samples, dim=-1) * (num_samples / waveform.shape[-1])


def _as_channels_first(samples: np.ndarray) -> torch.Tensor:
    """(T,) -> (1, T) and (T, C) -> (C, T) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.atleast_2d(samples.T)))


def _as_segment_layout(waveform: torch.Tensor, like: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_as_channels_first`: back to (T,) or (T, C) like ``like``."""
    samples = waveform.numpy().astype(np.float32, copy=False)
    return np.ascontiguousarray(samples[0] if like.ndim == 1 else samples.T)


class Perturbation:
    """Base class: a random change applied in place to an :class:`AudioSegment`."""

    def max_augmentation_length(self, length: float) -> float:
        """Longest duration (same unit as ``length``) this perturbation can turn ``length`` into."""
        return length

    def perturb(self, data: AudioSegment) -> None:
        """Change ``data``'s samples in place.

        Args:
            data: the segment; its (T,) or (T, C) samples are replaced.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement perturb(data). "
            "Subclasses of Perturbation must override it."
        )


class SpeedPerturbation(Perturbation):
    """Change speed and pitch together by resampling, as playing a tape faster or slower.

    Like NeMo, the samples are resampled from ``sr`` to ``int(sr * rate)`` and kept at ``sr``, so the
    duration is multiplied by the drawn rate (a rate of 1.1 gives 10 % more samples, played lower and
    slower). A rate of exactly 1.0 leaves the segment untouched.

    Args:
        sr: sample rate of the audio the augmentor sees, in Hz.
        resample_type: ``"kaiser_best"``, ``"kaiser_fast"`` (windowed-sinc, with librosa's filter
            settings of those names) or ``"fft"`` / ``"scipy"`` (spectrum truncation or zero-padding).
        min_speed_rate: lowest rate.
        max_speed_rate: highest rate.
        num_rates: draw from this many evenly spaced rates in ``[min_speed_rate, max_speed_rate]``;
            ``<= 0`` draws uniformly from the interval.
        rng: ``random.Random`` or int seed.
    """

    def __init__(
        self,
        sr: int,
        resample_type: str,
        min_speed_rate: float = 0.9,
        max_speed_rate: float = 1.1,
        num_rates: int = 5,
        rng: RandomSource = None,
    ) -> None:
        _check_rate_range(type(self).__name__, min_speed_rate, max_speed_rate)
        if resample_type not in _RESAMPLE_TYPES:
            raise ValueError(
                f"SpeedPerturbation got resample_type={resample_type!r}; expected one of {_RESAMPLE_TYPES}. "
                "Fix `resample_type` in the speed augmentor config."
            )
        self._sr = sr
        self._min_rate = min_speed_rate
        self._max_rate = max_speed_rate
        self._num_rates = num_rates
        self._rates = _candidate_rates(min_speed_rate, max_speed_rate, num_rates)
        self._res_type = resample_type
        self._rng = _as_random(rng, type(self).__name__)

    def max_augmentation_length(self, length: float) -> float:
        return length * self._max_rate

    def perturb(self, data: AudioSegment) -> None:
        speed_rate = _draw_rate(self._rng, self._rates, self._min_rate, self._max_rate)
        if speed_rate == 1.0:
            return
        new_sr = int(self._sr * speed_rate)
        waveform = _as_channels_first(data._samples)
        if self._res_type in _FFT_RESAMPLE_TYPES:
            num_samples = math.ceil(waveform.shape[-1] * new_sr / self._sr)
            resampled = _fft_resample(waveform, num_samples)
        else:
            ratio = Fraction(new_sr, self._sr).limit_denominator(_MAX_RATIO_DENOMINATOR)
            resampled = torchaudio.functional.resample(
                waveform, ratio.denominator, ratio.numerator, **_SINC_RESAMPLE_TYPES[self._res_type]
            )
        data._samples = _as_segment_layout(resampled, data._samples)


class TimeStretchPerturbation(Perturbation):
    """Change speed but keep pitch, with a phase vocoder (``torchaudio.functional.phase_vocoder``).

    A rate above 1 speeds the audio up: the duration is divided by the drawn rate. A rate of exactly
    1.0 leaves the segment untouched.

    Args:
        min_speed_rate: lowest rate.
        max_speed_rate: highest rate.
        num_rates: draw from this many evenly spaced rates; ``<= 0`` draws uniformly.
        n_fft: STFT size of the vocoder (hop: ``n_fft // 4``, Hann window).
        rng: ``random.Random`` or int seed.
    """

    def __init__(
        self,
        min_speed_rate: float = 0.9,
        max_speed_rate: float = 1.1,
        num_rates: int = 5,
        n_fft: int = 512,
        rng: RandomSource = None,
    ) -> None:
        _check_rate_range(type(self).__name__, min_speed_rate, max_speed_rate)
        self._min_rate = min_speed_rate
        self._max_rate = max_speed_rate
        self._num_rates = num_rates
        self._rates = _candidate_rates(min_speed_rate, max_speed_rate, num_rates)
        self._n_fft = n_fft
        self._hop_length = n_fft // 4
        self._rng = _as_random(rng, type(self).__name__)

    def max_augmentation_length(self, length: float) -> float:
        return length / self._min_rate

    def perturb(self, data: AudioSegment) -> None:
        speed_rate = _draw_rate(self._rng, self._rates, self._min_rate, self._max_rate)
        if speed_rate == 1.0:
            return
        waveform = _as_channels_first(data._samples)
        window = torch.hann_window(self._n_fft)
        spec = torch.stft(
            waveform,
            self._n_fft,
            hop_length=self._hop_length,
            window=window,
            pad_mode="constant",
            return_complex=True,
        )
        phase_advance = torch.linspace(0, math.pi * self._hop_length, spec.shape[-2])[:, None]
        stretched = torchaudio.functional.phase_vocoder(spec, speed_rate, phase_advance)
        length = int(round(waveform.shape[-1] / speed_rate))
        audio = torch.istft(stretched, self._n_fft, hop_length=self._hop_length, window=window, length=length)
        data._samples = _as_segment_layout(audio, data._samples)


class SilencePerturbation(Perturbation):
    """Pad the audio with constant "silence" of random lengths at the start and at the end.

    The start and end lengths are drawn independently and uniformly from their ``[min, max]`` ranges (in
    seconds) and rounded down to whole samples; every channel is padded alike and the dtype is kept.

    Args:
        min_start_silence_secs: shortest silence before the audio.
        max_start_silence_secs: longest silence before the audio.
        min_end_silence_secs: shortest silence after the audio.
        max_end_silence_secs: longest silence after the audio.
        rng: ``random.Random`` or int seed.
        value: the sample value written as silence.
    """

    def __init__(
        self,
        min_start_silence_secs: float = 0,
        max_start_silence_secs: float = 0,
        min_end_silence_secs: float = 0,
        max_end_silence_secs: float = 0,
        rng: RandomSource = None,
        value: float = 0,
    ) -> None:
        for side, low, high in (
            ("start", min_start_silence_secs, max_start_silence_secs),
            ("end", min_end_silence_secs, max_end_silence_secs),
        ):
            if not 0 <= low <= high:
                raise ValueError(
                    f"SilencePerturbation needs 0 <= min_{side}_silence_secs <= max_{side}_silence_secs, got "
                    f"min_{side}_silence_secs={low}, max_{side}_silence_secs={high}. Fix the silence augmentor config."
                )
        self._min_start_silence_secs = min_start_silence_secs
        self._max_start_silence_secs = max_start_silence_secs
        self._min_end_silence_secs = min_end_silence_secs
        self._max_end_silence_secs = max_end_silence_secs
        self._value = value
        self._rng = _as_random(rng, type(self).__name__)

    def max_augmentation_length(self, length: float) -> float:
        """``length`` (in seconds) plus the longest silences that can be added."""
        return length + self._max_start_silence_secs + self._max_end_silence_secs

    def perturb(self, data: AudioSegment) -> None:
        start_secs = self._rng.uniform(self._min_start_silence_secs, self._max_start_silence_secs)
        end_secs = self._rng.uniform(self._min_end_silence_secs, self._max_end_silence_secs)
        samples = data._samples
        padding = [(int(start_secs * data.sample_rate), int(end_secs * data.sample_rate))]
        padding += [(0, 0)] * (samples.ndim - 1)  # channels of (T, C) audio are not padded
        data._samples = np.pad(
            samples, padding, mode="constant", constant_values=np.asarray(self._value, samples.dtype)
        )


class GainPerturbation(Perturbation):
    """Scale the audio by a gain drawn uniformly in ``[min_gain_dbfs, max_gain_dbfs]`` dB.

    Args:
        min_gain_dbfs: lowest gain in dB.
        max_gain_dbfs: highest gain in dB.
        rng: ``random.Random`` or int seed.
    """

    def __init__(
        self, min_gain_dbfs: float = -10, max_gain_dbfs: float = 10, rng: RandomSource = None
    ) -> None:
        self._min_gain_dbfs = min_gain_dbfs
        self._max_gain_dbfs = max_gain_dbfs
        self._rng = _as_random(rng, type(self).__name__)

    def perturb(self, data: AudioSegment) -> None:
        gain = self._rng.uniform(self._min_gain_dbfs, self._max_gain_dbfs)
        data._samples = data._samples * np.float32(10.0 ** (gain / 20.0))


class WhiteNoisePerturbation(Perturbation):
    """Add Gaussian white noise whose RMS level is an integer dBFS in ``[min_level, max_level)``.

    Args:
        min_level: lowest noise level in dBFS (``-90``: inaudible).
        max_level: the level is drawn below this (``-46``: faint hiss); equal to ``min_level`` fixes it.
        rng: ``random.Random`` or int seed (it also seeds the noise samples).
    """

    def __init__(self, min_level: int = -90, max_level: int = -46, rng: RandomSource = None) -> None:
        self.min_level = int(min_level)
        self.max_level = int(max_level)
        if self.min_level > self.max_level:
            raise ValueError(
                f"WhiteNoisePerturbation needs min_level <= max_level, got min_level={min_level}, "
                f"max_level={max_level}. Fix the white_noise augmentor config."
            )
        self._rng = _as_random(rng, type(self).__name__)

    def perturb(self, data: AudioSegment) -> None:
        noise_level_db = self._rng.randrange(self.min_level, max(self.max_level, self.min_level + 1))
        noise = np.random.default_rng(self._rng.getrandbits(64)).standard_normal(data._samples.shape)
        data._samples = data._samples + (noise * 10.0 ** (noise_level_db / 20.0)).astype(np.float32)


class ShiftPerturbation(Perturbation):
    """Shift the audio in time by up to a few ms, filling the gap with zeros; the length is unchanged.

    A positive shift moves the content earlier (zeros at the end), a negative one later (zeros at the
    start). A shift longer than the segment leaves it untouched.

    Args:
        min_shift_ms: lowest shift in ms.
        max_shift_ms: highest shift in ms.
        rng: ``random.Random`` or int seed.
    """

    def __init__(
        self, min_shift_ms: float = -5.0, max_shift_ms: float = 5.0, rng: RandomSource = None
    ) -> None:
        self._min_shift_ms = min_shift_ms
        self._max_shift_ms = max_shift_ms
        self._rng = _as_random(rng, type(self).__name__)

    def perturb(self, data: AudioSegment) -> None:
        shift_ms = self._rng.uniform(self._min_shift_ms, self._max_shift_ms)
        if abs(shift_ms) / 1000 > data.duration:
            return
        shift_samples = int(shift_ms * data.sample_rate // 1000)
        if shift_samples == 0:
            return
        shifted = np.zeros_like(data._samples)
        if shift_samples > 0:
            shifted[:-shift_samples] = data._samples[shift_samples:]
        else:
            shifted[-shift_samples:] = data._samples[:shift_samples]
        data._samples = shifted


def _check_manifest_audio_source(
    owner: str, config_key: str, manifest_path: str | None, audio_tar_filepaths: Any
) -> None:
    """Refuse tarred audio (not supported) and a missing ``manifest_path``."""
    if audio_tar_filepaths:
        raise ValueError(
            f"{owner} does not support tarred audio, got audio_tar_filepaths={audio_tar_filepaths!r}. "
            f"List the audio files in a JSON-lines manifest, set augmentor.{config_key}.manifest_path to it "
            f"and remove augmentor.{config_key}.audio_tar_filepaths."
        )
    if not manifest_path:
        raise ValueError(
            f"{owner} needs a manifest, got manifest_path={manifest_path!r}. Set "
            f"augmentor.{config_key}.manifest_path to a JSON-lines manifest "
            '({"audio_filepath": ..., "duration": ...} per line).'
        )


def _read_audio_manifest(owner: str, config_key: str, manifest_path: str) -> list[ManifestEntry]:
    """Entries of one or more (comma-separated) manifests, checked to be non-empty and to name existing files.

    Raises:
        FileNotFoundError: a manifest or an audio file it lists does not exist.
        ManifestError: a malformed line (the message names the file and line).
        ValueError: the manifests hold no entries.
    """
    paths = split_manifest_paths(manifest_path)
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{owner}: manifest {path!r} does not exist. Fix augmentor.{config_key}.manifest_path."
            )
    entries = [entry for path in paths for entry in read_manifest_entries(path)]
    if not entries:
        raise ValueError(
            f"{owner}: manifest {manifest_path!r} has no entries; expected one JSON line per audio file. "
            f"Add lines to it or fix augmentor.{config_key}.manifest_path."
        )
    for entry in entries:
        if not os.path.isfile(entry.audio_filepath):
            raise FileNotFoundError(
                f"{entry.where}: audio file {entry.audio_filepath!r} does not exist. "
                "Fix the path or remove the line from the manifest."
            )
    return entries


def _load_manifest_audio(
    entry: ManifestEntry, target_sr: int, offset: float, duration: float
) -> AudioSegment:
    """Read ``duration`` seconds of ``entry``'s file from ``offset``, at ``target_sr``; errors name the line."""
    try:
        return AudioSegment.from_file(
            entry.audio_filepath, target_sr=target_sr, offset=offset, duration=duration
        )
    except (FileNotFoundError, RuntimeError) as err:
        raise RuntimeError(f"{entry.where}: cannot load the audio this line lists. {err}") from err


def _reference_level(level: float | np.ndarray, ref_mic: int, owner: str) -> float:
    """A level in dB: ``level`` itself, or its ``ref_mic`` entry when it has one per channel."""
    if np.ndim(level) == 0:
        return float(level)
    levels = np.asarray(level)
    if not -len(levels) <= ref_mic < len(levels):
        raise ValueError(
            f"{owner} got ref_mic={ref_mic} for audio with {len(levels)} channels; "
            f"expected a channel index in [0, {len(levels)})."
        )
    return float(levels[ref_mic])


def _check_noise_matches(owner: str, data: AudioSegment, noise: AudioSegment, ref_mic: int) -> None:
    """Noise added to ``data`` directly must share its sample rate and channel count; ``ref_mic`` must index it."""
    if noise.sample_rate != data.sample_rate:
        raise ValueError(
            f"{owner}: noise sample rate {noise.sample_rate} Hz differs from the audio's "
            f"{data.sample_rate} Hz; load the noise with target_sr={data.sample_rate}."
        )
    if noise.num_channels != data.num_channels:
        raise ValueError(
            f"{owner}: the noise has {noise.num_channels} channels but the audio has {data.num_channels}; "
            f"pass noise with {data.num_channels} channels (e.g. select or repeat channels first)."
        )
    if not 0 <= ref_mic < data.num_channels:
        raise ValueError(
            f"{owner} got ref_mic={ref_mic} for audio with {data.num_channels} channels; "
            f"expected a channel index in [0, {data.num_channels})."
        )


def _noise_gain_db(
    data: AudioSegment,
    noise_level: float,
    data_rms: float | np.ndarray | None,
    ref_mic: int,
    snr_db: float,
    max_gain_db: float,
    owner: str,
) -> float:
    """Gain in dB that puts noise of level ``noise_level`` ``snr_db`` below ``data`` (on ``ref_mic``), capped."""
    data_level = _reference_level(data.rms_db if data_rms is None else data_rms, ref_mic, owner)
    return min(data_level - noise_level - snr_db, max_gain_db)


def _mixable_with(samples: np.ndarray, data: np.ndarray, owner: str, source: str) -> np.ndarray:
    """(K,) or (K, C') ``samples`` shaped to combine sample-wise with (T,) or (T, C) ``data``.

    Mono ``samples`` become (K, 1) for multi-channel ``data`` (applied to every channel); otherwise the
    channel counts must match.
    """
    if samples.ndim == data.ndim and (samples.ndim == 1 or samples.shape[1] == data.shape[1]):
        return samples
    if samples.ndim == 1:
        return samples[:, None]
    data_channels = 1 if data.ndim == 1 else data.shape[1]
    raise ValueError(
        f"{owner}: {source} has {samples.shape[1]} channels but the audio it is applied to has {data_channels}; "
        f"expected a mono file or one with {data_channels} channels. Replace it in the manifest."
    )


class NoisePerturbation(Perturbation):
    """Add background noise, drawn from the files of a manifest, at a random signal-to-noise ratio.

    For each call: pick a manifest entry; when it is longer than the audio, read a window of the audio's
    duration from a uniformly drawn offset, else read it whole (resampled to the audio's rate); draw
    ``snr_db`` uniformly in ``[min_snr_db, max_snr_db]``; scale the noise by
    ``min(data.rms_db - noise.rms_db - snr_db, max_gain_db)`` dB; add it sample-wise, or, when it is
    shorter than the audio, at a uniformly drawn start index.

    Multi-channel (T, C) audio: levels are measured on channel ``ref_mic``; the noise is added channel by
    channel and must have the audio's channel count (else a ``ValueError``, as in NeMo).

    Args:
        manifest_path: JSON-lines manifest (or comma-separated manifests) of noise files
            (``audio_filepath``, ``duration``, optional ``offset``); relative paths are resolved against the
            manifest's folder.
        min_snr_db: lowest signal-to-noise ratio in dB.
        max_snr_db: highest signal-to-noise ratio in dB.
        max_gain_db: the noise is never amplified by more than this many dB.
        rng: ``random.Random`` or int seed.
        audio_tar_filepaths: tarred noise audio; not supported (a ``ValueError`` when set).
        shuffle_n: shuffle buffer of tarred noise; accepted for config compatibility, unused.
        orig_sr: sample rate of the original noise recordings, in Hz (exposed as :attr:`orig_sr`).

    Raises:
        ValueError: ``audio_tar_filepaths`` is set, ``manifest_path`` is missing or lists no files.
        FileNotFoundError: the manifest or a noise file it lists does not exist.
    """

    def __init__(
        self,
        manifest_path: str | None = None,
        min_snr_db: float = 10,
        max_snr_db: float = 50,
        max_gain_db: float = 300.0,
        rng: RandomSource = None,
        audio_tar_filepaths: str | list[str] | None = None,
        shuffle_n: int = 100,
        orig_sr: int = 16000,
    ) -> None:
        owner = type(self).__name__
        _check_manifest_audio_source(owner, "noise", manifest_path, audio_tar_filepaths)
        if min_snr_db > max_snr_db:
            raise ValueError(
                f"{owner} needs min_snr_db <= max_snr_db, got min_snr_db={min_snr_db}, max_snr_db={max_snr_db}. "
                "Fix the noise augmentor config."
            )
        self._entries = _read_audio_manifest(owner, "noise", manifest_path)
        self._min_snr_db = min_snr_db
        self._max_snr_db = max_snr_db
        self._max_gain_db = max_gain_db
        self._orig_sr = orig_sr
        self._rng = _as_random(rng, owner)

    @property
    def orig_sr(self) -> int:
        """Sample rate of the original noise recordings, in Hz."""
        return self._orig_sr

    def get_one_noise_sample(self, target_sr: int) -> AudioSegment:
        """A whole noise entry of the manifest, drawn at random, read at ``target_sr`` Hz."""
        entry = self._rng.choice(self._entries)
        return _load_manifest_audio(entry, target_sr, entry.offset or 0.0, entry.duration)

    def perturb(self, data: AudioSegment, ref_mic: int = 0) -> None:
        """Add a random noise file to ``data`` in place.

        Args:
            data: the audio, (T,) or (T, C) samples.
            ref_mic: channel whose level sets the SNR of multi-channel audio.
        """
        entry = self._rng.choice(self._entries)
        offset = entry.offset or 0.0
        duration = entry.duration
        if entry.duration > data.duration:
            offset += self._rng.uniform(0.0, entry.duration - data.duration)
            duration = data.duration
        noise = _load_manifest_audio(entry, data.sample_rate, offset, duration)
        self.perturb_with_input_noise(data, noise, ref_mic=ref_mic)

    def perturb_with_input_noise(
        self,
        data: AudioSegment,
        noise: AudioSegment,
        data_rms: float | np.ndarray | None = None,
        ref_mic: int = 0,
    ) -> None:
        """Add ``noise`` to ``data`` in place at an SNR drawn in ``[min_snr_db, max_snr_db]``.

        A noise longer than ``data`` is cut to a window of ``data``'s length at a random start first; its
        level is measured on that window. ``noise`` itself is left unchanged. An all-zero noise adds nothing.

        Args:
            data: the audio, (T,) or (T, C) samples.
            noise: (K,) or (K, C) noise at ``data``'s sample rate.
            data_rms: level of ``data`` in dB (one per channel, or one number) to use instead of measuring it.
            ref_mic: channel whose level sets the SNR of multi-channel audio.

        Raises:
            ValueError: the sample rates or channel counts of ``data`` and ``noise`` do not match.
        """
        owner = type(self).__name__
        _check_noise_matches(owner, data, noise, ref_mic)
        snr_db = self._rng.uniform(self._min_snr_db, self._max_snr_db)
        surplus = noise.num_samples - data.num_samples
        if surplus > 0:
            start = self._rng.randint(0, surplus)
            noise = AudioSegment(noise.samples[start : start + data.num_samples], noise.sample_rate)
        noise_level = _reference_level(noise.rms_db, ref_mic, owner)
        if noise_level == -math.inf:
            return
        noise_gain_db = _noise_gain_db(data, noise_level, data_rms, ref_mic, snr_db, self._max_gain_db, owner)
        scaled = noise.samples * np.float32(10.0 ** (noise_gain_db / 20.0))
        mixed = data.samples.copy()
        if scaled.shape[0] < mixed.shape[0]:
            start = self._rng.randint(0, mixed.shape[0] - scaled.shape[0])
            mixed[start : start + scaled.shape[0]] += scaled
        else:
            mixed += scaled
        data._samples = mixed

    def perturb_with_foreground_noise(
        self,
        data: AudioSegment,
        noise: AudioSegment,
        data_rms: float | np.ndarray | None = None,
        max_noise_dur: float = 2,
        max_additions: int = 1,
        ref_mic: int = 0,
    ) -> None:
        """Add short random excerpts of ``noise`` at random places of ``data``, in place.

        One SNR is drawn in ``[min_snr_db, max_snr_db]`` and one gain computed from the levels of the whole
        ``data`` and ``noise`` (on channel ``ref_mic``), capped at ``max_gain_db``. Then, between 1 and
        ``max_additions`` times: draw an excerpt duration in ``[0, max_noise_dur]`` s and a start in
        ``[0, noise.duration]`` s, cut that excerpt (shorter at the end of ``noise``, and no longer than
        ``data``), scale it by the gain and add it to ``data`` at a uniformly drawn sample index.

        Args:
            data: the audio, (T,) or (T, C) samples.
            noise: (K,) or (K, C) noise at ``data``'s sample rate, with ``data``'s channel count.
            data_rms: level of ``data`` in dB (one per channel, or one number) to use instead of measuring it.
            max_noise_dur: longest excerpt, in seconds.
            max_additions: most excerpts added (at least 1).
            ref_mic: channel whose level sets the SNR of multi-channel audio.

        Raises:
            ValueError: the sample rates or channel counts differ, ``ref_mic`` is not a channel of ``data``,
                or ``max_additions`` < 1.
        """
        owner = type(self).__name__
        _check_noise_matches(owner, data, noise, ref_mic)
        if max_additions < 1:
            raise ValueError(
                f"{owner}.perturb_with_foreground_noise needs max_additions >= 1, got {max_additions}."
            )
        snr_db = self._rng.uniform(self._min_snr_db, self._max_snr_db)
        noise_level = _reference_level(noise.rms_db, ref_mic, owner)
        if noise_level == -math.inf:
            return
        gain = np.float32(
            10.0
            ** (_noise_gain_db(data, noise_level, data_rms, ref_mic, snr_db, self._max_gain_db, owner) / 20.0)
        )
        mixed = data.samples.copy()
        for _ in range(self._rng.randint(1, max_additions)):
            excerpt_secs = self._rng.uniform(0.0, max_noise_dur)
            start_secs = self._rng.uniform(0.0, noise.duration)
            first = int(round(start_secs * noise.sample_rate))
            last = int(round(min(noise.duration, start_secs + excerpt_secs) * noise.sample_rate))
            excerpt = noise.samples[first:last][: mixed.shape[0]] * gain
            at = self._rng.randint(0, mixed.shape[0] - excerpt.shape[0])
            mixed[at : at + excerpt.shape[0]] += excerpt
        data._samples = mixed


class ImpulsePerturbation(Perturbation):
    """Reverberate the audio with a room impulse response drawn from the files of a manifest.

    For each call: pick a manifest entry and read it at the audio's rate; with ``normalize_impulse``
    divide it by its L2 norm; convolve the audio with it ("full" convolution,
    ``torchaudio.functional.fftconvolve``); with ``shift_impulse`` drop the first
    ``argmax(|impulse|)`` output samples (the direct-path delay); keep the audio's original length; scale
    so the peak absolute value is 1 (NeMo does this to avoid overflow in fp16 training; silent output
    stays silent).

    Multi-channel (T, C) audio: a mono impulse response is applied to every channel, a C-channel one
    channel by channel (any other channel count is a ``ValueError``); the L2 norm, the direct-path index
    (the time of the largest absolute value over all channels) and the peak are taken over all
    channels, so the channels keep their relative delays and levels.

    Args:
        manifest_path: JSON-lines manifest (or comma-separated manifests) of impulse-response files
            (``audio_filepath``, ``duration``, optional ``offset``); relative paths are resolved against the
            manifest's folder.
        audio_tar_filepaths: tarred impulse responses; not supported (a ``ValueError`` when set).
        shuffle_n: shuffle buffer of tarred audio; accepted for config compatibility, unused.
        normalize_impulse: divide the impulse response by its L2 norm (as in NeMo, the final peak scaling
            makes the result the same either way; kept for config compatibility).
        shift_impulse: remove the direct-path delay (the samples before the impulse's peak).
        rng: ``random.Random`` or int seed.

    Raises:
        ValueError: ``audio_tar_filepaths`` is set, ``manifest_path`` is missing or lists no files.
        FileNotFoundError: the manifest or an impulse file it lists does not exist.
    """

    def __init__(
        self,
        manifest_path: str | None = None,
        audio_tar_filepaths: str | list[str] | None = None,
        shuffle_n: int = 128,
        normalize_impulse: bool = False,
        shift_impulse: bool = False,
        rng: RandomSource = None,
    ) -> None:
        owner = type(self).__name__
        _check_manifest_audio_source(owner, "impulse", manifest_path, audio_tar_filepaths)
        self._entries = _read_audio_manifest(owner, "impulse", manifest_path)
        self._normalize_impulse = normalize_impulse
        self._shift_impulse = shift_impulse
        self._rng = _as_random(rng, owner)

    def perturb(self, data: AudioSegment) -> None:
        """Convolve ``data`` in place with a random impulse response of the manifest.

        Raises:
            ValueError: the impulse response is all zeros, or its channel count does not fit ``data``.
        """
        owner = type(self).__name__
        entry = self._rng.choice(self._entries)
        impulse = _load_manifest_audio(entry, data.sample_rate, entry.offset or 0.0, entry.duration).samples
        source = f"impulse response {entry.audio_filepath!r} ({entry.where})"
        norm = float(np.linalg.norm(impulse))
        if norm == 0.0:
            raise ValueError(
                f"{owner}: {source} is all zeros; expected a room impulse response. Replace it in the manifest."
            )
        impulse = _mixable_with(impulse, data.samples, owner, source)
        if self._normalize_impulse:
            impulse = impulse / np.float32(norm)
        num_samples = data.num_samples
        reverberant = torchaudio.functional.fftconvolve(
            _as_channels_first(data.samples), _as_channels_first(impulse)
        )
        if self._shift_impulse:
            direct_path = int(np.argmax(np.abs(impulse).reshape(impulse.shape[0], -1).max(axis=1)))
            reverberant = reverberant[..., direct_path:]
        reverberant = reverberant[..., :num_samples]
        peak = reverberant.abs().max()
        if peak > 0:
            reverberant = reverberant / peak
        data._samples = _as_segment_layout(reverberant, data.samples)


perturbation_types: dict[str, type[Perturbation]] = {
    "speed": SpeedPerturbation,
    "time_stretch": TimeStretchPerturbation,
    "gain": GainPerturbation,
    "silence": SilencePerturbation,
    "white_noise": WhiteNoisePerturbation,
    "shift": ShiftPerturbation,
    "noise": NoisePerturbation,
    "impulse": ImpulsePerturbation,
}
"""Names usable as keys of an ``augmentor`` config, mapped to their classes."""


def register_perturbation(name: str, perturbation: type[Perturbation]) -> None:
    """Make ``perturbation`` usable under ``name`` in ``augmentor`` configs.

    Raises:
        KeyError: ``name`` is already registered.
    """
    if name in perturbation_types:
        raise KeyError(
            f"Perturbation name {name!r} is already registered (to {perturbation_types[name].__name__}). "
            "Register yours under another name."
        )
    perturbation_types[name] = perturbation


class AudioAugmentor:
    """Apply each perturbation of a pipeline with its own probability.

    Args:
        perturbations: ``(prob, perturbation)`` pairs, applied in order; each runs when a uniform draw
            is below its ``prob``.
        rng: ``random.Random`` or int seed for those draws.
    """

    def __init__(
        self, perturbations: Iterable[tuple[float, Perturbation]] | None = None, rng: RandomSource = None
    ) -> None:
        self._rng = _as_random(rng, type(self).__name__)
        self._pipeline = [(prob, perturbation) for prob, perturbation in (perturbations or [])]

    def perturb(self, segment: AudioSegment) -> None:
        """Apply the pipeline to ``segment`` in place."""
        for prob, perturbation in self._pipeline:
            if self._rng.random() < prob:
                perturbation.perturb(segment)

    def max_augmentation_length(self, length: float) -> float:
        """Longest duration the whole pipeline can turn ``length`` into."""
        for _, perturbation in self._pipeline:
            length = perturbation.max_augmentation_length(length)
        return length

    @classmethod
    def from_config(cls, config: Iterable[Mapping[str, Any]]) -> AudioAugmentor:
        """Build from NeMo's list form: ``[{"aug_type": "gain", "prob": 0.5, "cfg": {...}}, ...]``.

        Unknown ``aug_type`` entries are skipped with a warning, as in NeMo.
        """
        perturbations = []
        for entry in config:
            aug_type = entry["aug_type"]
            if aug_type not in perturbation_types:
                logging.warning(
                    f"Perturbation aug_type={aug_type!r} is not registered; skipping it. "
                    f"Known: {sorted(perturbation_types)}."
                )
                continue
            perturbations.append((entry["prob"], perturbation_types[aug_type](**entry.get("cfg", {}))))
        return cls(perturbations=perturbations)


def _build_perturbation(name: str, kwargs: dict[str, Any], global_rank: int, world_size: int) -> Perturbation:
    """Instantiate ``perturbation_types[name]`` from the kwargs of ``augmentor.<name>``."""
    perturbation_class = perturbation_types[name]
    parameters = inspect.signature(perturbation_class).parameters
    if "global_rank" in parameters:
        kwargs["global_rank"] = global_rank
    if "world_size" in parameters:
        kwargs["world_size"] = world_size
    try:
        return perturbation_class(**kwargs)
    except TypeError as err:
        raise TypeError(
            f"augmentor.{name}: cannot build {perturbation_class.__name__} from {kwargs}: {err}. "
            f"Its parameters are {list(parameters)} (plus `prob`)."
        ) from err


def process_augmentations(
    augmenter: AudioAugmentor | Mapping[str, Mapping[str, Any]] | DictConfig | None,
    global_rank: int = 0,
    world_size: int = 1,
) -> AudioAugmentor | None:
    """Build the ``AudioAugmentor`` described by a dataset config's ``augmentor`` section.

    Args:
        augmenter: ``None``, a ready ``AudioAugmentor`` (returned as is), or a mapping from a name in
            :data:`perturbation_types` to that perturbation's keyword arguments plus ``prob``, the
            probability in [0, 1] of applying it, e.g.
            ``{"gain": {"prob": 0.5, "min_gain_dbfs": -10, "max_gain_dbfs": 10}}``.
        global_rank: passed to perturbations that take a ``global_rank`` argument.
        world_size: passed to perturbations that take a ``world_size`` argument.

    Returns:
        The augmentor, or ``None`` when ``augmenter`` is ``None``.

    Raises:
        KeyError: an unknown perturbation name, or an entry without ``prob``.
        ValueError: ``augmenter`` is not a mapping, or a ``prob`` outside [0, 1].
    """
    if augmenter is None:
        return None
    if isinstance(augmenter, AudioAugmentor):
        return augmenter
    if isinstance(augmenter, DictConfig):
        augmenter = OmegaConf.to_container(augmenter, resolve=True)
    if not isinstance(augmenter, Mapping):
        raise ValueError(
            f"augmentor must be a mapping of perturbation name -> arguments or an AudioAugmentor, "
            f"got {type(augmenter).__name__}: {augmenter!r}."
        )
    augmentations = []
    for name, raw_kwargs in copy.deepcopy(dict(augmenter)).items():
        if name not in perturbation_types:
            raise KeyError(
                f"augmentor.{name}: unknown perturbation {name!r}. Valid names: {sorted(perturbation_types)}; "
                "register others with register_perturbation(name, cls)."
            )
        if not isinstance(raw_kwargs, Mapping):
            raise ValueError(
                f"augmentor.{name} must be a mapping of arguments with a `prob` key, got {raw_kwargs!r}."
            )
        kwargs = dict(raw_kwargs)
        if "prob" not in kwargs:
            raise KeyError(
                f"augmentor.{name} has no `prob`; add the probability in [0, 1] of applying this perturbation."
            )
        prob = kwargs.pop("prob")
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
            raise ValueError(f"augmentor.{name}.prob must be a number in [0, 1], got {prob!r}.")
        augmentations.append((prob, _build_perturbation(name, kwargs, global_rank, world_size)))
    return AudioAugmentor(perturbations=augmentations)
