"""Leading/trailing silence trimming for TTS data preparation (NeMo 1.23's ``audio_trimming``).

Speech is found frame by frame (frame ``k`` centred on sample ``k * hop_length``); the utterance keeps the
span from the first to the last run of ``speech_frame_threshold`` consecutive speech frames, padded by
``pad_seconds`` on both sides.

:class:`EnergyAudioTrimmer` calls a frame speech when its RMS level is within ``db_threshold`` dB of
``ref_amplitude``, as ``librosa.effects.trim`` does (same framing: zero padding of ``win_length // 2`` on
both sides, ``1 + len // hop_length`` frames), computed here with numpy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from nemo.collections.tts.parts.utils.tts_dataset_utils import normalize_volume
from nemo.utils import logging

__all__ = [
    "AudioTrimmer",
    "EnergyAudioTrimmer",
    "frame_rms_db",
    "get_start_and_end_of_speech_frames",
    "pad_sample_indices",
]

# Amplitude floor of the dB conversion (librosa's ``amplitude_to_db`` default): -100 dB.
_AMPLITUDE_FLOOR = 1e-5


class AudioTrimmer(ABC):
    """Removes the silence before and after the speech of an utterance."""

    @abstractmethod
    def trim_audio(
        self, audio: np.ndarray, sample_rate: int, audio_id: str = ""
    ) -> tuple[np.ndarray, int, int]:
        """Trim ``audio``.

        Args:
            audio: (T,) float samples in [-1, 1].
            sample_rate: its sample rate.
            audio_id: name used in log messages (e.g. the file name).

        Returns:
            (trimmed audio, start sample, end sample (exclusive)) within ``audio``; ``(empty, 0, 0)`` when no
            speech was found.
        """


def frame_rms_db(
    audio: np.ndarray, frame_length: int, hop_length: int, ref_amplitude: float = 1.0
) -> np.ndarray:
    """RMS level of each centred frame in dB relative to ``ref_amplitude`` (floored at -100 dB).

    Args:
        audio: (T,) samples.
        frame_length: samples per frame.
        hop_length: samples between frame centres.
        ref_amplitude: the 0 dB amplitude.

    Returns:
        (1 + (T + 2 * (frame_length // 2) - frame_length) // hop_length,) levels in dB.
    """
    half = frame_length // 2
    padded = np.pad(np.asarray(audio, dtype=np.float64), (half, half))
    if padded.shape[0] < frame_length:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]
    rms = np.sqrt(np.mean(frames**2, axis=-1))
    ref = max(_AMPLITUDE_FLOOR, abs(ref_amplitude))
    return 20.0 * np.log10(np.maximum(_AMPLITUDE_FLOOR, rms)) - 20.0 * np.log10(ref)


class EnergyAudioTrimmer(AudioTrimmer):
    """Energy-based trimming: a frame is speech when its RMS level is above ``-db_threshold`` dB.

    Args:
        db_threshold: frames more than this many dB below ``ref_amplitude`` are silence.
        ref_amplitude: amplitude of 0 dB.
        speech_frame_threshold: consecutive speech frames needed to mark the start/end of speech (higher is
            more robust to short noises but may cut very short words).
        trim_win_length: frame length of the speech detection (independent of the model's STFT).
        trim_hop_length: hop of the speech detection.
        pad_seconds: silence kept before and after the speech.
        volume_norm: peak-normalise the audio to 1.0 before detecting speech (the trimmed audio returned is
            the normalised one, as in NeMo).
    """

    def __init__(
        self,
        db_threshold: int = 50,
        ref_amplitude: float = 1.0,
        speech_frame_threshold: int = 1,
        trim_win_length: int = 2048,
        trim_hop_length: int = 512,
        pad_seconds: float = 0.1,
        volume_norm: bool = True,
    ) -> None:
        checks = {
            "db_threshold": db_threshold >= 0,
            "ref_amplitude": ref_amplitude >= 0,
            "speech_frame_threshold": speech_frame_threshold > 0,
            "trim_win_length": trim_win_length > 0,
            "trim_hop_length": trim_hop_length > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(
                    f"EnergyAudioTrimmer: {name} must be positive (db_threshold, ref_amplitude >= 0)."
                )
        self.db_threshold = db_threshold
        self.ref_amplitude = ref_amplitude
        self.speech_frame_threshold = speech_frame_threshold
        self.trim_win_length = trim_win_length
        self.trim_hop_length = trim_hop_length
        self.pad_seconds = pad_seconds
        self.volume_norm = volume_norm

    def trim_audio(
        self, audio: np.ndarray, sample_rate: int, audio_id: str = ""
    ) -> tuple[np.ndarray, int, int]:
        if self.volume_norm:
            audio = normalize_volume(audio=audio, volume_level=1.0)
        levels = frame_rms_db(audio, self.trim_win_length, self.trim_hop_length, self.ref_amplitude)
        start_frame, end_frame = get_start_and_end_of_speech_frames(
            is_speech=levels > -self.db_threshold,
            speech_frame_threshold=self.speech_frame_threshold,
            audio_id=audio_id,
        )
        if start_frame == 0 and end_frame == 0:
            return np.array([]), 0, 0
        start_sample, end_sample = pad_sample_indices(
            start_sample=start_frame * self.trim_hop_length,
            end_sample=end_frame * self.trim_hop_length,
            max_sample=audio.shape[0],
            sample_rate=sample_rate,
            pad_seconds=self.pad_seconds,
        )
        return audio[start_sample:end_sample], start_sample, end_sample


def get_start_and_end_of_speech_frames(
    is_speech: np.ndarray, speech_frame_threshold: int, audio_id: str = ""
) -> tuple[int, int]:
    """First and last frames of speech, where speech needs ``speech_frame_threshold`` consecutive frames.

    Args:
        is_speech: (num_frames,) bool, True for speech frames.
        speech_frame_threshold: length of the run of speech frames that marks a boundary.
        audio_id: name used in the warning when no such run exists.

    Returns:
        (start, end): start of the first run (inclusive) and end of the last run (exclusive); ``(0, 0)``, with
        a warning, when no run is long enough.
    """
    flags = np.asarray(is_speech, dtype=bool)
    run = int(speech_frame_threshold)
    if flags.shape[0] >= run > 0:
        # A window starting at frame i is all speech when its count of speech frames equals its length.
        counts = np.convolve(flags.astype(np.int64), np.ones(run, dtype=np.int64), mode="valid")
        full = np.flatnonzero(counts == run)
        if full.size:
            return int(full[0]), int(full[-1]) + run
    logging.warning(f"Could not find start or end of speech for '{audio_id}'")
    return 0, 0


def pad_sample_indices(
    start_sample: int, end_sample: int, max_sample: int, sample_rate: int, pad_seconds: float
) -> tuple[int, int]:
    """Widen ``[start_sample, end_sample)`` by ``int(pad_seconds * sample_rate)`` each way, within ``[0, max_sample]``."""
    pad = int(pad_seconds * sample_rate)
    return max(0, start_sample - pad), min(max_sample, end_sample + pad)
