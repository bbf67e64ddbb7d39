"""Structured configs of the utterance classifiers (NeMo 1.23's ``classification_models_config``).

``OmegaConf.structured(EncDecClassificationConfig(labels=[...], timesteps=128, encoder=...))`` is a ``model``
section that ``EncDecClassificationModel(cfg=...)`` builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nemo.collections.asr.modules.audio_preprocessing import (
    AudioToMFCCPreprocessorConfig,
    CropOrPadSpectrogramAugmentationConfig,
    SpectrogramAugmentationConfig,
)
from nemo.collections.asr.modules.conv_asr import ConvASRDecoderClassificationConfig, ConvASREncoderConfig
from nemo.core.classes.dataset import DatasetConfig
from nemo.core.config.modelPT import ModelConfig, NemoConfig, OptimConfig, SchedConfig
from omegaconf import MISSING

__all__ = [
    "EncDecClassificationConfig",
    "EncDecClassificationDatasetConfig",
    "EncDecClassificationModelConfig",
]


@dataclass
class EncDecClassificationDatasetConfig(DatasetConfig):
    """``train_ds`` / ``validation_ds`` / ``test_ds`` of a classifier: audio + label manifests.

    ``trim_silence`` is the datasets' ``trim``; ``vad_stream`` with ``window_length_in_sec`` /
    ``shift_length_in_sec`` gives frame-level VAD windows; ``is_regression_task`` reads float targets.
    """

    manifest_filepath: str | None = None
    sample_rate: int = MISSING
    labels: list[str] = MISSING
    trim_silence: bool = False

    is_tarred: bool = False
    tarred_audio_filepaths: str | None = None
    tarred_shard_strategy: str = "scatter"
    shuffle_n: int = 0

    int_values: int | None = None
    augmentor: dict[str, Any] | None = None
    max_duration: float | None = None
    min_duration: float | None = None
    cal_labels_occurrence: bool | None = False

    vad_stream: bool | None = None
    window_length_in_sec: float = 0.31
    shift_length_in_sec: float = 0.01
    normalize_audio: bool = False
    is_regression_task: bool = False

    bucketing_strategy: str = "synced_randomized"
    bucketing_batch_size: Any | None = None
    bucketing_weights: list[int] | None = None


def _dataset(shuffle: bool, **overrides: Any) -> EncDecClassificationDatasetConfig:
    return EncDecClassificationDatasetConfig(manifest_filepath=None, shuffle=shuffle, **overrides)


def _optim_with_scheduler() -> OptimConfig:
    return OptimConfig(sched=SchedConfig())


@dataclass
class EncDecClassificationConfig(ModelConfig):
    """``model`` section of an ``EncDecClassificationModel`` (MatchboxNet-style: MFCC, crop/pad, ConvASR).

    ``timesteps`` is the fixed number of feature frames: it becomes ``crop_or_pad_augment.audio_length``
    when the dataclass is created. ``repeat``, ``dropout``, ``separable`` and ``kernel_size_factor`` are the
    knobs the config builders copy into the encoder blocks; the model itself does not read them.
    """

    sample_rate: int = 16000
    repeat: int = 1
    dropout: float = 0.0
    separable: bool = True
    kernel_size_factor: float = 1.0
    labels: list[str] = MISSING
    timesteps: int = MISSING

    train_ds: EncDecClassificationDatasetConfig = field(
        default_factory=lambda: _dataset(shuffle=True, trim_silence=False)
    )
    validation_ds: EncDecClassificationDatasetConfig = field(default_factory=lambda: _dataset(shuffle=False))
    test_ds: EncDecClassificationDatasetConfig = field(default_factory=lambda: _dataset(shuffle=False))

    optim: OptimConfig | None = field(default_factory=_optim_with_scheduler)

    preprocessor: AudioToMFCCPreprocessorConfig = field(default_factory=AudioToMFCCPreprocessorConfig)
    spec_augment: SpectrogramAugmentationConfig | None = field(default_factory=SpectrogramAugmentationConfig)
    crop_or_pad_augment: CropOrPadSpectrogramAugmentationConfig | None = field(
        default_factory=lambda: CropOrPadSpectrogramAugmentationConfig(audio_length=-1)
    )

    encoder: ConvASREncoderConfig = field(default_factory=ConvASREncoderConfig)
    decoder: ConvASRDecoderClassificationConfig = field(default_factory=ConvASRDecoderClassificationConfig)

    def __post_init__(self) -> None:
        if self.crop_or_pad_augment is not None:
            self.crop_or_pad_augment.audio_length = self.timesteps


@dataclass
class EncDecClassificationModelConfig(NemoConfig):
    """A whole training-script config whose ``model`` is an :class:`EncDecClassificationConfig`."""

    model: EncDecClassificationConfig = field(default_factory=EncDecClassificationConfig)
