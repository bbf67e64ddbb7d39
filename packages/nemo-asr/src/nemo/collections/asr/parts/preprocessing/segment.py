"""``AudioSegment``: audio samples read with soundfile, resampled, channel-selected and trimmed (NeMo 1.23 API).

Samples are float32 numpy arrays, (T,) for one channel or (T, C) for several. Resampling uses
``torchaudio.functional.resample``; trimming reimplements librosa's ``effects.trim`` rule (frames
whose energy is more than ``trim_top_db`` below the loudest frame are silent) with torch ops.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import BinaryIO

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional
from nemo.utils import logging

__all__ = ["AudioSegment", "ChannelSelectorType", "select_channels"]

ChannelSelectorType = int | Iterable[int] | str | None
"""``None`` keeps every channel, ``"average"`` mixes down to mono, an int or a list picks channels."""


def select_channels(signal: np.ndarray, channel_selector: ChannelSelectorType = None) -> np.ndarray:
    """Pick or mix channels of a (T,) or (T, C) signal.

    Args:
        signal: (T,) or (T, C) samples.
        channel_selector: ``None`` (keep all), ``"average"`` (mono mixdown), an int (one channel, result
            (T,)) or a list of ints (those channels; one channel gives (T,)).

    Returns:
        The selected samples.
    """
    if signal.ndim == 1:
        if channel_selector not in (None, 0, "average"):
            raise ValueError(
                f"channel_selector={channel_selector!r} cannot be used on a one-channel signal. "
                "Use None, 0 or 'average' for mono audio."
            )
        return signal
    num_samples, num_channels = signal.shape
    if num_channels >= num_samples:
        logging.warning(
            f"Signal has {num_channels} channels and only {num_samples} samples; "
            "expected (T, C) samples. Check whether it is transposed."
        )
    if channel_selector is None:
        return signal
    if channel_selector == "average":
        return signal.mean(axis=1)
    if isinstance(channel_selector, int):
        if not -num_channels <= channel_selector < num_channels:
            raise ValueError(
                f"channel_selector={channel_selector} is out of range for a signal with {num_channels} channels."
            )
        return signal[:, channel_selector]
    if isinstance(channel_selector, str):
        raise ValueError(
            f"channel_selector={channel_selector!r} is unknown; expected None, 'average', an int or a list."
        )
    channels = list(channel_selector)
    if not channels or max(channels) >= num_channels:
        raise ValueError(f"Cannot select channels {channels} from a signal with {num_channels} channels.")
    selected = signal[:, channels]
    return selected[:, 0] if len(channels) == 1 else selected


def _trim_silence(
    samples: np.ndarray,
    top_db: float,
    ref: Callable[[np.ndarray], float] | float,
    frame_length: int,
    hop_length: int,
) -> np.ndarray:
    """Cut leading and trailing silence the way ``librosa.effects.trim`` does (centred RMS frames)."""
    signal = torch.from_numpy(samples)
    mono = signal if signal.dim() == 1 else signal.mean(dim=1)
    padded = torch.nn.functional.pad(mono[None], (frame_length // 2, frame_length // 2))[0]
    power = padded.unfold(0, frame_length, hop_length).pow(2).mean(dim=-1).numpy()
    amin = 1e-10
    # As librosa: ``ref`` is an RMS amplitude, or a function of the frames' RMS amplitudes.
    ref_power = (float(ref(np.sqrt(power))) if callable(ref) else abs(float(ref))) ** 2
    db = 10.0 * np.log10(np.maximum(amin, power)) - 10.0 * np.log10(max(amin, ref_power))
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return samples[:0]
    start = int(loud[0]) * hop_length
    end = min(samples.shape[0], (int(loud[-1]) + 1) * hop_length)
    return samples[start:end]


class AudioSegment:
    """Audio samples and their sample rate.

    Args:
        samples: (T,) or (T, C) samples; integer samples are scaled to [-1, 1).
        sample_rate: rate of ``samples`` in Hz.
        target_sr: resample to this rate when it differs.
        trim: cut leading and trailing silence.
        trim_ref: reference RMS amplitude for trimming: a number, or a function of the frames' RMS
            amplitudes (default: the loudest frame).
        trim_top_db: frames this many dB below the reference are silence.
        trim_frame_length: frame length for trimming, in samples.
        trim_hop_length: hop between trimming frames, in samples.
        orig_sr: rate of the original recording, when ``samples`` were already resampled.
        channel_selector: see :func:`select_channels`.
        normalize_db: scale the audio to this RMS level (dBFS).
        ref_channel: channel whose level ``normalize_db`` measures (multi-channel audio).
    """

    def __init__(
        self,
        samples: np.ndarray,
        sample_rate: int,
        target_sr: int | None = None,
        trim: bool = False,
        trim_ref: Callable[[np.ndarray], float] | float = np.max,
        trim_top_db: float = 60,
        trim_frame_length: int = 2048,
        trim_hop_length: int = 512,
        orig_sr: int | None = None,
        channel_selector: ChannelSelectorType = None,
        normalize_db: float | None = None,
        ref_channel: int | None = None,
    ) -> None:
        samples = self._convert_samples_to_float32(np.asarray(samples))
        if samples.ndim > 2:
            raise ValueError(f"AudioSegment expects (T,) or (T, C) samples, got shape {samples.shape}.")
        samples = select_channels(samples, channel_selector)
        if target_sr is not None and target_sr != sample_rate:
            waveform = torch.from_numpy(np.ascontiguousarray(samples.T))
            samples = torchaudio.functional.resample(waveform, sample_rate, target_sr).numpy().T
            sample_rate = target_sr
        if trim:
            samples = _trim_silence(samples, trim_top_db, trim_ref, trim_frame_length, trim_hop_length)
        self._samples = np.ascontiguousarray(samples)
        self._sample_rate = sample_rate
        self._orig_sr = orig_sr if orig_sr is not None else sample_rate
        self._ref_channel = ref_channel
        self._normalize_db = normalize_db
        if normalize_db is not None:
            self.normalize_db(normalize_db, ref_channel)

    @staticmethod
    def _convert_samples_to_float32(samples: np.ndarray) -> np.ndarray:
        if np.issubdtype(samples.dtype, np.integer):
            return samples.astype(np.float32) * (1.0 / 2 ** (np.iinfo(samples.dtype).bits - 1))
        if np.issubdtype(samples.dtype, np.floating):
            return samples.astype(np.float32, copy=False)
        raise TypeError(
            f"AudioSegment got samples of dtype {samples.dtype}; expected integer or float samples."
        )

    @classmethod
    def from_file(
        cls,
        audio_file: str | os.PathLike[str] | BinaryIO,
        target_sr: int | None = None,
        int_values: bool = False,
        offset: float = 0,
        duration: float = 0,
        trim: bool = False,
        trim_ref: Callable[[np.ndarray], float] | float = np.max,
        trim_top_db: float = 60,
        trim_frame_length: int = 2048,
        trim_hop_length: int = 512,
        orig_sr: int | None = None,
        channel_selector: ChannelSelectorType = None,
        normalize_db: float | None = None,
        ref_channel: int | None = None,
    ) -> AudioSegment:
        """Read audio (any format soundfile reads: WAV, FLAC, OGG, ...) from a path or a binary file object.

        Args:
            audio_file: path, or an open binary file (e.g. a tar member).
            target_sr: resample to this rate; ``None`` keeps the file's rate.
            int_values: read integer PCM (then scaled to float like any integer samples).
            offset: seconds to skip at the start.
            duration: seconds to read; 0 reads to the end.
            trim, trim_ref, trim_top_db, trim_frame_length, trim_hop_length, orig_sr, channel_selector,
            normalize_db, ref_channel: as in :class:`AudioSegment`.

        Returns:
            The segment.
        """
        if isinstance(audio_file, list):
            return cls.from_file_list(
                audio_file,
                target_sr=target_sr,
                int_values=int_values,
                offset=offset,
                duration=duration,
                trim=trim,
                trim_ref=trim_ref,
                trim_top_db=trim_top_db,
                trim_frame_length=trim_frame_length,
                trim_hop_length=trim_hop_length,
                orig_sr=orig_sr,
                channel_selector=channel_selector,
                normalize_db=normalize_db,
                ref_channel=ref_channel,
            )
        name = (
            audio_file
            if isinstance(audio_file, (str, os.PathLike))
            else getattr(audio_file, "name", audio_file)
        )
        if isinstance(audio_file, (str, os.PathLike)) and not os.path.isfile(audio_file):
            raise FileNotFoundError(f"Audio file {os.fspath(audio_file)!r} does not exist. Check the path.")
        try:
            with sf.SoundFile(audio_file, "r") as f:
                sample_rate = f.samplerate
                if offset > 0:
                    f.seek(int(offset * sample_rate))
                frames = int(duration * sample_rate) if duration > 0 else -1
                samples = f.read(frames, dtype="int32" if int_values else "float32")
        except (sf.LibsndfileError, RuntimeError, TypeError) as err:
            raise RuntimeError(
                f"Could not decode audio file {name!r} with soundfile: {err}. "
                "Expected a WAV, FLAC or OGG file; convert it, or remove it from the manifest."
            ) from err
        return cls(
            samples,
            sample_rate,
            target_sr=target_sr,
            trim=trim,
            trim_ref=trim_ref,
            trim_top_db=trim_top_db,
            trim_frame_length=trim_frame_length,
            trim_hop_length=trim_hop_length,
            orig_sr=orig_sr,
            channel_selector=channel_selector,
            normalize_db=normalize_db,
            ref_channel=ref_channel,
        )

    @classmethod
    def from_file_list(
        cls,
        audio_file_list: list[str | os.PathLike[str]],
        target_sr: int | None = None,
        int_values: bool = False,
        offset: float = 0,
        duration: float = 0,
        trim: bool = False,
        channel_selector: ChannelSelectorType = None,
        **kwargs,
    ) -> AudioSegment:
        """Read one single-channel file per channel and stack them into a (T, C) segment.

        Every file is read (and resampled) like :meth:`from_file`; trimming, channel selection,
        ``orig_sr`` and ``normalize_db`` then apply to the stacked signal. An int ``channel_selector``
        reads only that file.

        Raises:
            RuntimeError: a file has several channels, the files differ in length, or the channel
                selector is past the number of files.
        """
        if isinstance(channel_selector, int):
            if not 0 <= channel_selector < len(audio_file_list):
                raise RuntimeError(
                    f"Channel cannot be selected: channel_selector={channel_selector} with "
                    f"{len(audio_file_list)} audio files (one per channel)."
                )
            audio_file_list, channel_selector = [audio_file_list[channel_selector]], None
        channels, sample_rate = [], target_sr
        for channel_file in audio_file_list:
            channel = cls.from_file(
                channel_file, target_sr=sample_rate, int_values=int_values, offset=offset, duration=duration
            )
            if channel.num_channels != 1:
                raise RuntimeError(
                    f"Expecting a single-channel audio signal in every file of a list, but {channel_file!r} has "
                    f"{channel.num_channels} channels."
                )
            if channels and channel.num_samples != len(channels[0]):
                raise RuntimeError(
                    f"All files of a multi-channel list must have the same length: {channel_file!r} has "
                    f"{channel.num_samples} samples, the first file {len(channels[0])}."
                )
            sample_rate = channel.sample_rate
            channels.append(channel.samples)
        samples = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
        return cls(samples, sample_rate, trim=trim, channel_selector=channel_selector, **kwargs)

    def __eq__(self, other: object) -> bool:
        """Same type, sample rate and samples."""
        return (
            type(other) is type(self)
            and self._sample_rate == other._sample_rate
            and self._samples.shape == other._samples.shape
            and bool(np.all(self._samples == other._samples))
        )

    @property
    def samples(self) -> np.ndarray:
        """(T,) or (T, C) float32 samples."""
        return self._samples

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def orig_sr(self) -> int:
        return self._orig_sr

    @property
    def num_channels(self) -> int:
        return 1 if self._samples.ndim == 1 else self._samples.shape[1]

    @property
    def num_samples(self) -> int:
        return self._samples.shape[0]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_samples / float(self._sample_rate)

    @property
    def rms_db(self) -> float | np.ndarray:
        """RMS level in dB (one value per channel for multi-channel audio)."""
        mean_square = np.mean(np.square(self._samples), axis=0)
        return 10 * np.log10(mean_square)

    def gain_db(self, gain: float) -> None:
        """Scale the samples by ``gain`` dB, in place."""
        self._samples = self._samples * np.float32(10.0 ** (gain / 20.0))

    def normalize_db(self, target_db: float = -20, ref_channel: int | None = None) -> None:
        """Scale so that the RMS level (of ``ref_channel`` for multi-channel audio) is ``target_db``."""
        level = self.rms_db
        if self.num_channels > 1:
            if ref_channel is None:
                raise ValueError(
                    f"normalize_db on {self.num_channels}-channel audio needs ref_channel (the channel to measure)."
                )
            level = level[ref_channel]
        self.gain_db(target_db - float(level))

    def pad(self, pad_size: int, symmetric: bool = False) -> None:
        """Append ``pad_size`` zero samples (half before, half after when ``symmetric``), in place."""
        before = pad_size // 2 if symmetric else 0
        after = pad_size - before
        widths = [(before, after)] + [(0, 0)] * (self._samples.ndim - 1)
        self._samples = np.pad(self._samples, widths, mode="constant")

    def subsegment(self, start_time: float | None = None, end_time: float | None = None) -> None:
        """Keep only ``[start_time, end_time)`` seconds (negative times count from the end), in place."""
        duration = self.duration
        start_time = 0.0 if start_time is None else start_time
        end_time = duration if end_time is None else end_time
        start_time = start_time + duration if start_time < 0 else start_time
        end_time = end_time + duration if end_time < 0 else end_time
        if not 0 <= start_time <= end_time <= duration:
            raise ValueError(
                f"subsegment [{start_time}, {end_time}) s is outside the {duration:.3f} s audio or reversed."
            )
        self._samples = self._samples[
            int(round(start_time * self._sample_rate)) : int(round(end_time * self._sample_rate))
        ]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_samples={self.num_samples}, num_channels={self.num_channels}, "
            f"sample_rate={self.sample_rate}, duration={self.duration:.2f}s)"
        )
