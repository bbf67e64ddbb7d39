"""Frame-level features precomputed for TTS training (NeMo 1.23's ``features``): mel spectrogram, energy,
pitch.

A featurizer computes its features for the whole audio file of a manifest entry, saves them as ``.npy``
under ``<feature_dir>/<feature_name>/<audio path relative to audio_dir>.npy``, and loads them back as
tensors; for an entry with ``offset``/``duration`` it loads only that segment's frames (memory-mapped).
Frame ``k`` is centred on sample ``k * hop_length``, so a file of ``T`` samples has ``1 + T // hop_length``
frames.

Pitch is ``librosa.pyin`` (probabilistic YIN), as in NeMo, so that features saved by either library can be
used by the other. librosa is imported only when pitch is computed. (The FastPitch data pipeline of this
package estimates pitch with WORLD instead: ``nemo.collections.tts.parts.preprocessing.pitch``.)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.collections.tts.parts.utils.tts_dataset_utils import (
    get_audio_filepaths,
    normalize_volume,
    stack_tensors,
)

__all__ = ["EnergyFeaturizer", "Featurizer", "MelSpectrogramFeaturizer", "PitchFeaturizer"]

# Frequencies of the notes C2 and C7 (MIDI 36 and 96, A4 = 440 Hz): pyin's default search range in NeMo.
_C2_HZ = 440.0 * 2.0 ** ((36 - 69) / 12)
_C7_HZ = 440.0 * 2.0 ** ((96 - 69) / 12)


class Featurizer(ABC):
    """Computes, saves and loads one kind of feature for manifest entries."""

    @abstractmethod
    def save(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path, overwrite: bool = True
    ) -> None:
        """Compute the entry's features and save them under ``feature_dir`` (skip existing ones unless
        ``overwrite``)."""

    @abstractmethod
    def load(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
    ) -> dict[str, torch.Tensor]:
        """Read the entry's saved features: ``{feature name: tensor}``."""

    @abstractmethod
    def collate_fn(self, train_batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Pad (along the last axis) and stack the features of a batch of examples."""


def _feature_path(
    manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path, feature_name: str
) -> Path:
    """``<feature_dir>/<feature_name>/<audio path relative to audio_dir, suffix .npy>``."""
    _, relative = get_audio_filepaths(manifest_entry=manifest_entry, audio_dir=audio_dir)
    return Path(feature_dir) / feature_name / relative.with_suffix(".npy")


def _all_saved(
    names: list[str | None], manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
) -> bool:
    return all(
        _feature_path(manifest_entry, audio_dir, feature_dir, name).exists()
        for name in names
        if name is not None
    )


def _save(
    name: str | None, values: np.ndarray, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
) -> None:
    """Write ``values`` as the entry's ``name`` feature (nothing when ``name`` is None)."""
    if name is None:
        return
    path = _feature_path(manifest_entry, audio_dir, feature_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, values)


def _load_into(
    features: dict[str, torch.Tensor],
    name: str | None,
    manifest_entry: dict[str, Any],
    audio_dir: Path,
    feature_dir: Path,
    frames: tuple[int, int] | None,
) -> None:
    """Read the entry's ``name`` feature (frames ``[start, end)`` of the last axis when given) into
    ``features``."""
    if name is None:
        return
    path = _feature_path(manifest_entry, audio_dir, feature_dir, name)
    if frames is None:
        values = np.load(path)
    else:
        values = np.array(np.load(path, mmap_mode="r")[..., frames[0] : frames[1]])
    features[name] = torch.from_numpy(values)


def _segment_frames(
    manifest_entry: dict[str, Any], sample_rate: int, hop_length: int
) -> tuple[int, int] | None:
    """Frame range ``[start, end)`` of the entry's ``offset``/``duration`` segment, or None without offset.

    ``start = int(offset * sr) // hop``, ``end = start + 1 + int(duration * sr) // hop``.
    """
    if "offset" not in manifest_entry:
        return None
    if "duration" not in manifest_entry:
        raise KeyError(
            f"Manifest entry for {manifest_entry.get('audio_filepath')} has an 'offset' but no 'duration'; "
            "add the segment's duration in seconds."
        )
    start = int(manifest_entry["offset"] * sample_rate) // hop_length
    length = int(manifest_entry["duration"] * sample_rate) // hop_length
    return start, start + 1 + length


def _collate(
    features: dict[str, torch.Tensor], name: str | None, train_batch: list[dict[str, torch.Tensor]]
) -> None:
    """Right-pad the ``name`` feature of each example with zeros to the longest and stack them."""
    if name is None:
        return
    tensors = [example[name] for example in train_batch]
    features[name] = stack_tensors(tensors, max_lens=[max(t.shape[-1] for t in tensors)])


def _read_audio(
    manifest_entry: dict[str, Any], audio_dir: Path, sample_rate: int, volume_norm: bool
) -> np.ndarray:
    """The entry's whole audio file, (T,) float32 at ``sample_rate``, peak-normalised to 0.95 if asked."""
    path, _ = get_audio_filepaths(manifest_entry=manifest_entry, audio_dir=audio_dir)
    audio = AudioSegment.from_file(path, target_sr=sample_rate).samples.astype(np.float32)
    return normalize_volume(audio) if volume_norm else audio


class MelSpectrogramFeaturizer(Featurizer):
    """Log-mel spectrogram (magnitude, not power) of the whole file, (mel_dim, T_spec) float32.

    Computed by ``AudioToMelSpectrogramPreprocessor`` with NeMo's TTS settings: Hann window of
    ``win_length`` (also the FFT size), no pre-emphasis, dither or normalisation.

    Args:
        feature_name: folder / dict key of the feature.
        sample_rate: audio is resampled to this rate.
        mel_dim: number of mel bands.
        win_length: window and FFT length in samples.
        hop_length: samples between frames.
        lowfreq, highfreq: mel filterbank range in Hz.
        log: take the log of the magnitudes.
        log_zero_guard_type: ``"add"`` or ``"clamp"`` (guard against log(0)).
        log_zero_guard_value: value added / clamped to.
        mel_norm: filterbank normalisation (``"slaney"`` or None).
        volume_norm: peak-normalise the audio to 0.95 first.
    """

    def __init__(
        self,
        feature_name: str = "mel_spec",
        sample_rate: int = 22050,
        mel_dim: int = 80,
        win_length: int = 1024,
        hop_length: int = 256,
        lowfreq: int = 0,
        highfreq: int = 8000,
        log: bool = True,
        log_zero_guard_type: str = "add",
        log_zero_guard_value: float = 1.0,
        mel_norm: str | int | None = None,
        volume_norm: bool = True,
    ) -> None:
        from nemo.collections.asr.modules import AudioToMelSpectrogramPreprocessor

        self.feature_name = feature_name
        self.sample_rate = sample_rate
        self.win_length = win_length
        self.hop_length = hop_length
        self.volume_norm = volume_norm
        self.preprocessor = AudioToMelSpectrogramPreprocessor(
            sample_rate=sample_rate,
            features=mel_dim,
            pad_to=1,
            n_window_size=win_length,
            n_window_stride=hop_length,
            window_size=None,
            window_stride=None,
            n_fft=win_length,
            lowfreq=lowfreq,
            highfreq=highfreq,
            mag_power=1.0,
            log=log,
            log_zero_guard_type=log_zero_guard_type,
            log_zero_guard_value=log_zero_guard_value,
            mel_norm=mel_norm,
            normalize=None,
            preemph=None,
            dither=0.0,
        )

    def compute_mel_spec(self, manifest_entry: dict[str, Any], audio_dir: Path) -> np.ndarray:
        """(mel_dim, 1 + T // hop_length) float32 spectrogram of the entry's whole audio file."""
        audio = _read_audio(manifest_entry, audio_dir, self.sample_rate, self.volume_norm)
        signal = torch.from_numpy(audio).unsqueeze(0)
        length = torch.tensor([audio.shape[0]], dtype=torch.int32)
        with torch.no_grad():
            spec, _ = self.preprocessor(input_signal=signal, length=length)
        return spec[0].numpy().astype(np.float32, copy=False)

    def save(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path, overwrite: bool = True
    ) -> None:
        if not overwrite and _all_saved([self.feature_name], manifest_entry, audio_dir, feature_dir):
            return
        spec = self.compute_mel_spec(manifest_entry=manifest_entry, audio_dir=audio_dir)
        _save(self.feature_name, spec, manifest_entry, audio_dir, feature_dir)

    def load(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
    ) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        frames = _segment_frames(manifest_entry, self.sample_rate, self.hop_length)
        _load_into(features, self.feature_name, manifest_entry, audio_dir, feature_dir, frames)
        return features

    def collate_fn(self, train_batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        _collate(features, self.feature_name, train_batch)
        return features


class EnergyFeaturizer(Featurizer):
    """Per-frame energy: the L2 norm over mel bands of a :class:`MelSpectrogramFeaturizer`'s output, (T_spec,).

    Args:
        spec_featurizer: the spectrogram it is computed from (also gives sample rate and hop length).
        feature_name: folder / dict key of the feature.
    """

    def __init__(self, spec_featurizer: MelSpectrogramFeaturizer, feature_name: str = "energy") -> None:
        self.feature_name = feature_name
        self.spec_featurizer = spec_featurizer

    def compute_energy(self, manifest_entry: dict[str, Any], audio_dir: Path) -> np.ndarray:
        """(T_spec,) float32 energy of the entry's whole audio file."""
        spec = self.spec_featurizer.compute_mel_spec(manifest_entry=manifest_entry, audio_dir=audio_dir)
        return np.linalg.norm(spec, axis=0)

    def save(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path, overwrite: bool = True
    ) -> None:
        if not overwrite and _all_saved([self.feature_name], manifest_entry, audio_dir, feature_dir):
            return
        energy = self.compute_energy(manifest_entry=manifest_entry, audio_dir=audio_dir)
        _save(self.feature_name, energy, manifest_entry, audio_dir, feature_dir)

    def load(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
    ) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        frames = _segment_frames(
            manifest_entry, self.spec_featurizer.sample_rate, self.spec_featurizer.hop_length
        )
        _load_into(features, self.feature_name, manifest_entry, audio_dir, feature_dir, frames)
        return features

    def collate_fn(self, train_batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        _collate(features, self.feature_name, train_batch)
        return features


class PitchFeaturizer(Featurizer):
    """Per-frame pitch with ``librosa.pyin``: pitch in Hz (0 where unvoiced), voiced mask and voiced
    probability, each (T_spec,).

    Args:
        pitch_name: folder / dict key of the pitch; None to not save it.
        voiced_mask_name: folder / dict key of the voiced mask; None to not save it.
        voiced_prob_name: folder / dict key of the voiced probability; None (default) to not save it.
        sample_rate: audio is resampled to this rate.
        win_length: pyin frame length.
        hop_length: samples between frames.
        pitch_fmin: lowest pitch searched (default C2, 65.4 Hz).
        pitch_fmax: highest pitch searched (default C7, 2093 Hz); lower is faster.
        volume_norm: peak-normalise the audio to 0.95 first.
        batch_seconds: run pyin on chunks of about this many seconds (a whole number of hops) to bound memory;
            None for the whole file at once.
        batch_padding: frames of context added on each inner side of a chunk and dropped afterwards.
    """

    def __init__(
        self,
        pitch_name: str | None = "pitch",
        voiced_mask_name: str | None = "voiced_mask",
        voiced_prob_name: str | None = None,
        sample_rate: int = 22050,
        win_length: int = 1024,
        hop_length: int = 256,
        pitch_fmin: float = _C2_HZ,
        pitch_fmax: float = _C7_HZ,
        volume_norm: bool = True,
        batch_seconds: float | None = 30.0,
        batch_padding: int = 10,
    ) -> None:
        self.pitch_name = pitch_name
        self.voiced_mask_name = voiced_mask_name
        self.voiced_prob_name = voiced_prob_name
        self.sample_rate = sample_rate
        self.win_length = win_length
        self.hop_length = hop_length
        self.pitch_fmin = pitch_fmin
        self.pitch_fmax = pitch_fmax
        self.volume_norm = volume_norm
        if batch_seconds:
            if batch_padding is None:
                raise ValueError("PitchFeaturizer: batch_seconds needs batch_padding (frames); got None.")
            self.batch_frames = int(math.ceil(int(batch_seconds * sample_rate) / hop_length))
            self.batch_samples = self.batch_frames * hop_length
            self.batch_padding_frames = batch_padding
            self.batch_padding_samples = batch_padding * hop_length
        else:
            self.batch_frames = None
            self.batch_samples = None
            self.batch_padding_frames = 0
            self.batch_padding_samples = 0

    def _pyin(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        try:
            import librosa
        except ImportError as err:
            raise ImportError(
                f"PitchFeaturizer computes pitch with librosa.pyin, but librosa cannot be imported ({err}). "
                "Install it with `pip install librosa`."
            ) from err
        return librosa.pyin(
            audio,
            fmin=self.pitch_fmin,
            fmax=self.pitch_fmax,
            sr=self.sample_rate,
            frame_length=self.win_length,
            hop_length=self.hop_length,
            fill_na=0.0,
        )

    def _pyin_in_chunks(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """pyin over ``batch_samples`` chunks, each widened by the padding on its inner sides; the padding
        frames are dropped before the chunks are joined."""
        num_chunks = math.ceil(audio.shape[0] / self.batch_samples)
        pieces: list[tuple[np.ndarray, ...]] = []
        for chunk in range(num_chunks):
            first, last = chunk == 0, chunk == num_chunks - 1
            start = chunk * self.batch_samples - (0 if first else self.batch_padding_samples)
            end = (chunk + 1) * self.batch_samples + (0 if last else self.batch_padding_samples)
            outputs = self._pyin(audio[start:end])
            lo = 0 if first else self.batch_padding_frames
            hi = None if last else lo + self.batch_frames
            pieces.append(tuple(values[lo:hi] for values in outputs))
        return tuple(np.concatenate(parts) for parts in zip(*pieces))

    def compute_pitch(
        self, manifest_entry: dict[str, Any], audio_dir: Path
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pitch (T_spec,) float32 Hz, voiced mask (T_spec,) bool, voiced probability (T_spec,) float32."""
        audio = _read_audio(manifest_entry, audio_dir, self.sample_rate, self.volume_norm)
        if not self.batch_samples or audio.shape[0] < self.batch_samples:
            pitch, voiced, voiced_prob = self._pyin(audio)
        else:
            pitch, voiced, voiced_prob = self._pyin_in_chunks(audio)
        return pitch.astype(np.float32), voiced.astype(bool), voiced_prob.astype(np.float32)

    def _names(self) -> list[str | None]:
        return [self.pitch_name, self.voiced_mask_name, self.voiced_prob_name]

    def save(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path, overwrite: bool = True
    ) -> None:
        if not overwrite and _all_saved(self._names(), manifest_entry, audio_dir, feature_dir):
            return
        values = self.compute_pitch(manifest_entry=manifest_entry, audio_dir=audio_dir)
        for name, value in zip(self._names(), values):
            _save(name, value, manifest_entry, audio_dir, feature_dir)

    def load(
        self, manifest_entry: dict[str, Any], audio_dir: Path, feature_dir: Path
    ) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        frames = _segment_frames(manifest_entry, self.sample_rate, self.hop_length)
        for name in self._names():
            _load_into(features, name, manifest_entry, audio_dir, feature_dir, frames)
        return features

    def collate_fn(self, train_batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        for name in self._names():
            _collate(features, name, train_batch)
        return features
