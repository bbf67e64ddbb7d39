"""The TTS model roles, with NeMo 1.23's names: a spectrogram generator turns text into a mel spectrogram, a
vocoder turns a spectrogram into a waveform, and ``MelToSpec`` maps mel to linear spectrograms.

Each role is an abstract ``ModelPT``; ``FastPitchModel`` is a ``SpectrogramGenerator``, ``HifiGanModel`` a
``Vocoder``. Code written against the roles (``TwoStagesModel``, ``nemo synthesize``) works with any model of
the role, ours or a plugin's.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT

__all__ = ["MelToSpec", "SpectrogramGenerator", "Vocoder"]


def _tts_pretrained(model_cls: type) -> list[PretrainedModelInfo]:
    """Pretrained entries, from any installed plugin, whose class is ``model_cls`` or a subclass of it.

    An entry that names no class counts when nemo-tts's own plugin (``tts``) registered it.
    """
    from nemo.core.registry import list_pretrained
    from nemo.utils.model_utils import import_class_by_path

    tts_names = {info.pretrained_model_name for info in list_pretrained("tts")}
    found = []
    for info in list_pretrained():
        entry_cls = info.class_
        if isinstance(entry_cls, str):
            entry_cls = import_class_by_path(
                entry_cls, source=f"PretrainedModelInfo {info.pretrained_model_name!r}"
            )
        if entry_cls is None:
            if info.pretrained_model_name in tts_names:
                found.append(info)
        elif isinstance(entry_cls, type) and issubclass(entry_cls, model_cls):
            found.append(info)
    return found


class SpectrogramGenerator(ModelPT):
    """Base class of the models that turn text into a spectrogram (NeMo 1.23's name and methods)."""

    @abstractmethod
    def parse(self, str_input: str, **kwargs: Any) -> torch.Tensor:
        """Token ids of a text: a (1, T) int64 tensor on the model's device, ready for
        :meth:`generate_spectrogram`."""

    @abstractmethod
    def generate_spectrogram(self, tokens: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Mel spectrograms (B, n_mels, T_frames) from token ids (B, T_tokens)."""

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained spectrogram generators known locally (plugin-registered); nothing is downloaded."""
        return _tts_pretrained(cls)


class Vocoder(ModelPT):
    """Base class of the models that turn a (mel or linear) spectrogram into audio (NeMo 1.23's name)."""

    @abstractmethod
    def convert_spectrogram_to_audio(self, spec: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Waveforms (B, T_samples) from spectrograms (B, n_freq, T_frames)."""

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained vocoders known locally (plugin-registered); nothing is downloaded."""
        return _tts_pretrained(cls)


class MelToSpec(ModelPT):
    """Base class of the models that turn mel spectrograms into linear (magnitude) spectrograms."""

    @abstractmethod
    def convert_mel_spectrogram_to_linear(self, mel: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Linear magnitude spectrograms (B, n_fft // 2 + 1, T) from mel spectrograms (B, n_mels, T)."""

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained mel-to-linear models known locally (plugin-registered); nothing is downloaded."""
        return _tts_pretrained(cls)
