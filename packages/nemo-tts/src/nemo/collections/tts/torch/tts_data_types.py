"""The data types a ``TTSDataset`` can load, by NeMo 1.23's names (``sup_data_types`` config entries).

Each type is a class with a ``name`` (the config string and the key of the collated batch); types that
also return a length mix in ``WithLens`` (the batch then holds ``<name>_lens`` after ``<name>``).
"""

from __future__ import annotations

__all__ = [
    "DATA_STR2DATA_CLASS",
    "MAIN_DATA_TYPES",
    "VALID_SUPPLEMENTARY_DATA_TYPES",
    "AlignPriorMatrix",
    "Audio",
    "Durations",
    "Energy",
    "LMTokens",
    "LogMel",
    "P_voiced",
    "Pitch",
    "ReferenceAudio",
    "SpeakerID",
    "TTSDataType",
    "Text",
    "Voiced_mask",
    "WithLens",
]


class TTSDataType:
    """A kind of data a TTS dataset returns; ``name`` is its config string and batch key."""

    name: str | None = None


class WithLens:
    """Marks a data type whose batch also carries per-item lengths (``<name>_lens``)."""


class Audio(TTSDataType, WithLens):
    """Waveform, (B, T_audio)."""

    name = "audio"


class Text(TTSDataType, WithLens):
    """Token ids, (B, T_text)."""

    name = "text"


class LogMel(TTSDataType, WithLens):
    """Log mel spectrogram, (B, n_mels, T_spec)."""

    name = "log_mel"


class Durations(TTSDataType):
    """Token durations in frames, (B, T_text)."""

    name = "durations"


class AlignPriorMatrix(TTSDataType):
    """Beta-binomial alignment prior, (B, T_spec, T_text)."""

    name = "align_prior_matrix"


class Pitch(TTSDataType, WithLens):
    """Frame-level F0 in Hz (0 where unvoiced), or normalised with ``pitch_mean``/``pitch_std``, (B, T_spec)."""

    name = "pitch"


class Energy(TTSDataType, WithLens):
    """Frame-level L2 norm of the magnitude spectrogram, (B, T_spec)."""

    name = "energy"


class SpeakerID(TTSDataType):
    """Speaker index, (B,)."""

    name = "speaker_id"


class Voiced_mask(TTSDataType):  # noqa: N801 - NeMo's class name
    """Per-frame voicing decision, (B, T_spec)."""

    name = "voiced_mask"


class P_voiced(TTSDataType):  # noqa: N801 - NeMo's class name
    """Per-frame voicing probability, (B, T_spec)."""

    name = "p_voiced"


class LMTokens(TTSDataType):
    """Language-model token ids (Mixer-TTS-X), (B, T_lm)."""

    name = "lm_tokens"


class ReferenceAudio(TTSDataType, WithLens):
    """Reference waveform for a style encoder, (B, T_ref)."""

    name = "reference_audio"


MAIN_DATA_TYPES: list[type[TTSDataType]] = [Audio, Text]
VALID_SUPPLEMENTARY_DATA_TYPES: list[type[TTSDataType]] = [
    LogMel,
    Durations,
    AlignPriorMatrix,
    Pitch,
    Energy,
    SpeakerID,
    LMTokens,
    Voiced_mask,
    P_voiced,
    ReferenceAudio,
]
DATA_STR2DATA_CLASS: dict[str, type[TTSDataType]] = {
    data_type.name: data_type for data_type in MAIN_DATA_TYPES + VALID_SUPPLEMENTARY_DATA_TYPES
}
