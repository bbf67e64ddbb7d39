"""``WaveformFeaturizer``: NeMo 1.23's audio reader for label datasets (one file -> a float32 waveform).

NeMo's classification and speaker datasets take a ``featurizer`` and call
``featurizer.process(path_or_file, offset=..., duration=..., trim=...)``; NeMo users import it as
``nemo.collections.asr.parts.preprocessing.features.WaveformFeaturizer``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import torch
from nemo.collections.asr.parts.preprocessing.perturb import AudioAugmentor, process_augmentations
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment, ChannelSelectorType

__all__ = ["WaveformFeaturizer"]


class WaveformFeaturizer:
    """Reads audio at ``sample_rate`` (resampling other rates) and applies ``augmentor`` to every read.

    Args:
        sample_rate: the rate every waveform is returned at, in Hz.
        int_values: read integer PCM.
        augmentor: perturbations applied to each segment (``None``: none).
    """

    def __init__(
        self, sample_rate: int = 16000, int_values: bool = False, augmentor: AudioAugmentor | None = None
    ) -> None:
        self.sample_rate = sample_rate
        self.int_values = int_values
        self.augmentor = augmentor if augmentor is not None else AudioAugmentor()

    def max_augmentation_length(self, length: float) -> float:
        """The longest duration (seconds) the augmentor can turn ``length`` seconds into."""
        return self.augmentor.max_augmentation_length(length)

    def process(
        self,
        file_path: str | os.PathLike | BinaryIO,
        offset: float = 0,
        duration: float = 0,
        trim: bool = False,
        channel_selector: ChannelSelectorType = None,
        normalize_db: float | None = None,
    ) -> torch.Tensor:
        """Read ``duration`` seconds (0: to the end) from ``offset`` and augment them.

        Returns:
            (T,) float32 samples at ``sample_rate``.
        """
        segment = AudioSegment.from_file(
            file_path,
            target_sr=self.sample_rate,
            int_values=self.int_values,
            offset=offset or 0,
            duration=duration or 0,
            trim=trim,
            channel_selector=channel_selector,
            normalize_db=normalize_db,
        )
        return self.process_segment(segment)

    def process_segment(self, audio_segment: AudioSegment) -> torch.Tensor:
        """Augment ``audio_segment`` in place and return its (T,) float32 samples."""
        self.augmentor.perturb(audio_segment)
        return torch.as_tensor(audio_segment.samples, dtype=torch.float32)

    @classmethod
    def from_config(
        cls, input_config: Mapping[str, Any], perturbation_configs: Any = None
    ) -> WaveformFeaturizer:
        """From NeMo's keys ``sample_rate`` (default 16000) and ``int_values``, and an ``augmentor`` section."""
        augmentor = process_augmentations(perturbation_configs) if perturbation_configs is not None else None
        return cls(
            sample_rate=input_config.get("sample_rate", 16000),
            int_values=input_config.get("int_values", False),
            augmentor=augmentor,
        )
