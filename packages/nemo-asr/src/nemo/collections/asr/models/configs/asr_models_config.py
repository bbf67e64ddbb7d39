"""Structured configs of the CTC speech recognisers (NeMo 1.23's ``asr_models_config``).

``OmegaConf.structured(EncDecCTCConfig(labels=[...], encoder=..., decoder=...))`` is a ``model`` section that
``EncDecCTCModel(cfg=...)`` builds; :class:`EncDecCTCModelConfig` wraps it in a whole training-script config
(``name``, ``model``, ``trainer``, ``exp_manager``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nemo.collections.asr.modules.audio_preprocessing import (
    AudioToMelSpectrogramPreprocessorConfig,
    SpectrogramAugmentationConfig,
)
from nemo.collections.asr.modules.conv_asr import ConvASRDecoderConfig, ConvASREncoderConfig
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecodingConfig
from nemo.core.classes.dataset import DatasetConfig
from nemo.core.config.modelPT import ModelConfig, NemoConfig, OptimConfig, SchedConfig
from omegaconf import MISSING

__all__ = ["ASRDatasetConfig", "CacheAwareStreamingConfig", "EncDecCTCConfig", "EncDecCTCModelConfig"]


@dataclass
class ASRDatasetConfig(DatasetConfig):
    """``train_ds`` / ``validation_ds`` / ``test_ds`` of a speech-to-text model (audio + transcript manifests).

    ``trim_silence`` is the datasets' ``trim``; the ``tarred_*``/``shard_*``/``shuffle_n`` keys describe tarred
    shards; ``bucketing_*`` keys describe bucketed (multi-manifest) training.
    """

    manifest_filepath: Any | None = None
    sample_rate: int = MISSING
    labels: list[str] = MISSING
    trim_silence: bool = False

    is_tarred: bool = False
    tarred_audio_filepaths: Any | None = None
    tarred_shard_strategy: str = "scatter"
    shard_manifests: bool = False
    shuffle_n: int = 0

    int_values: int | None = None
    augmentor: dict[str, Any] | None = None
    max_duration: float | None = None
    min_duration: float | None = None
    max_utts: int = 0
    blank_index: int = -1
    unk_index: int = -1
    normalize: bool = False
    trim: bool = True
    parser: str | None = "en"
    eos_id: int | None = None
    bos_id: int | None = None
    pad_id: int = 0
    use_start_end_token: bool = False
    return_sample_id: bool | None = False

    bucketing_strategy: str = "synced_randomized"
    bucketing_batch_size: Any | None = None
    bucketing_weights: list[int] | None = None


def _dataset(shuffle: bool, **overrides: Any) -> ASRDatasetConfig:
    return ASRDatasetConfig(manifest_filepath=None, shuffle=shuffle, **overrides)


def _optim_with_scheduler() -> OptimConfig:
    return OptimConfig(sched=SchedConfig())


@dataclass
class EncDecCTCConfig(ModelConfig):
    """``model`` section of an ``EncDecCTCModel`` with a ConvASR (Jasper/QuartzNet) encoder.

    ``repeat``, ``dropout`` and ``separable`` are the architecture knobs the config builders
    (``EncDecCTCModelConfigBuilder``) copy into every encoder block; the model itself does not read them.
    """

    sample_rate: int = 16000
    repeat: int = 1
    dropout: float = 0.0
    separable: bool = False
    labels: list[str] = MISSING

    train_ds: ASRDatasetConfig = field(default_factory=lambda: _dataset(shuffle=True))
    validation_ds: ASRDatasetConfig = field(default_factory=lambda: _dataset(shuffle=False))
    test_ds: ASRDatasetConfig = field(default_factory=lambda: _dataset(shuffle=False))

    optim: OptimConfig | None = field(default_factory=_optim_with_scheduler)

    preprocessor: AudioToMelSpectrogramPreprocessorConfig = field(
        default_factory=AudioToMelSpectrogramPreprocessorConfig
    )
    spec_augment: SpectrogramAugmentationConfig | None = field(default_factory=SpectrogramAugmentationConfig)
    encoder: ConvASREncoderConfig = field(default_factory=ConvASREncoderConfig)
    decoder: ConvASRDecoderConfig = field(default_factory=ConvASRDecoderConfig)
    decoding: CTCDecodingConfig = field(default_factory=CTCDecodingConfig)


@dataclass
class EncDecCTCModelConfig(NemoConfig):
    """A whole training-script config whose ``model`` is an :class:`EncDecCTCConfig`."""

    model: EncDecCTCConfig = field(default_factory=EncDecCTCConfig)


@dataclass
class CacheAwareStreamingConfig:
    """Step sizes and cache sizes of cache-aware streaming inference, in encoder input/output frames.

    Attributes:
        chunk_size: input frames consumed per step (an int, or ``[first_step, other_steps]``).
        shift_size: input frames the window moves per step (an int, or ``[first_step, other_steps]``).
        cache_drop_size: output steps dropped from the cache after each step.
        last_channel_cache_size: cache length of the attention (channel) layers.
        valid_out_len: output steps per chunk that equal the offline output.
        pre_encode_cache_size: input frames kept for the pre-encoder (subsampling) convolutions.
        drop_extra_pre_encoded: pre-encoded steps dropped after the pre-encoder.
        last_channel_num: number of attention layers that keep a cache.
        last_time_num: number of convolution (time) layers that keep a cache.
    """

    chunk_size: Any = 0
    shift_size: Any = 0
    cache_drop_size: int = 0
    last_channel_cache_size: int = 0
    valid_out_len: int = 0
    pre_encode_cache_size: Any = 0
    drop_extra_pre_encoded: int = 0
    last_channel_num: int = 0
    last_time_num: int = 0
