"""MatchboxNet speech-command / VAD configs and their builder (NeMo 1.23's ``matchboxnet_config``).

Example:
    >>> builder = EncDecClassificationModelConfigBuilder("matchboxnet_3x1x64")
    >>> builder.set_labels(["yes", "no", "up", "down"])
    >>> model = EncDecClassificationModel(cfg=OmegaConf.structured(builder.build()))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nemo.collections.asr.models.configs._builder import ConvASRConfigBuilder
from nemo.collections.asr.models.configs.classification_models_config import (
    EncDecClassificationConfig,
    EncDecClassificationDatasetConfig,
)
from nemo.collections.asr.models.configs.quartznet_config import blocks_from_rows
from nemo.collections.asr.modules.audio_preprocessing import (
    AudioToMFCCPreprocessorConfig,
    CropOrPadSpectrogramAugmentationConfig,
    SpectrogramAugmentationConfig,
)
from nemo.collections.asr.modules.conv_asr import (
    ConvASRDecoderClassificationConfig,
    ConvASREncoderConfig,
    JasperEncoderConfig,
)
from nemo.core.config.modelPT import OptimConfig, SchedConfig
from omegaconf import MISSING

__all__ = [
    "EncDecClassificationModelConfigBuilder",
    "MatchboxNetModelConfig",
    "MatchboxNetVADModelConfig",
    "matchboxnet_3x1x64",
    "matchboxnet_3x1x64_vad",
]

# (filters, repeat, kernel, stride, dilation, dropout, residual, separable, residual_dense) per block:
# a prologue, three residual 64-filter blocks (kernels 13/15/17), a dilated epilogue and a 1x1 block.
_MATCHBOXNET_3X1X64 = (
    (128, 1, 11, 1, 1, 0.0, False, True, False),
    *[(64, 1, kernel, 1, 1, 0.0, True, True, False) for kernel in (13, 15, 17)],
    (128, 1, 29, 1, 2, 0.0, False, True, False),
    (128, 1, 1, 1, 1, 0.0, False, False, False),
)


def matchboxnet_3x1x64() -> list[JasperEncoderConfig]:
    """MatchboxNet 3x1x64 encoder blocks (speech commands)."""
    return blocks_from_rows(_MATCHBOXNET_3X1X64)


def matchboxnet_3x1x64_vad() -> list[JasperEncoderConfig]:
    """MatchboxNet 3x1x64 encoder blocks for VAD (the same architecture)."""
    return blocks_from_rows(_MATCHBOXNET_3X1X64)


@dataclass
class MatchboxNetModelConfig(EncDecClassificationConfig):
    """``model`` section of a MatchboxNet classifier: MFCC, SpecAugment + SpecCutout, 128-frame crop/pad."""

    sample_rate: int = 16000
    repeat: int = 1
    dropout: float = 0.0
    separable: bool = True
    kernel_size_factor: float = 1.0
    timesteps: int = 128
    labels: list[str] = MISSING

    train_ds: EncDecClassificationDatasetConfig = field(
        default_factory=lambda: EncDecClassificationDatasetConfig(
            manifest_filepath=None, shuffle=True, trim_silence=False
        )
    )
    validation_ds: EncDecClassificationDatasetConfig = field(
        default_factory=lambda: EncDecClassificationDatasetConfig(manifest_filepath=None, shuffle=False)
    )
    test_ds: EncDecClassificationDatasetConfig = field(
        default_factory=lambda: EncDecClassificationDatasetConfig(manifest_filepath=None, shuffle=False)
    )

    optim: OptimConfig | None = field(default_factory=lambda: OptimConfig(sched=SchedConfig()))

    preprocessor: AudioToMFCCPreprocessorConfig = field(
        default_factory=lambda: AudioToMFCCPreprocessorConfig(window_size=0.025)
    )
    spec_augment: SpectrogramAugmentationConfig | None = field(
        default_factory=lambda: SpectrogramAugmentationConfig(
            freq_masks=2, time_masks=2, freq_width=15, time_width=25, rect_masks=5, rect_time=25, rect_freq=15
        )
    )
    crop_or_pad_augment: CropOrPadSpectrogramAugmentationConfig | None = field(
        default_factory=lambda: CropOrPadSpectrogramAugmentationConfig(audio_length=128)
    )

    encoder: ConvASREncoderConfig = field(default_factory=lambda: ConvASREncoderConfig(activation="relu"))
    decoder: ConvASRDecoderClassificationConfig = field(default_factory=ConvASRDecoderClassificationConfig)


@dataclass
class MatchboxNetVADModelConfig(MatchboxNetModelConfig):
    """MatchboxNet for voice activity detection: labels ``background``/``speech``, 64 frames, no crop/pad."""

    timesteps: int = 64
    labels: list[str] = field(default_factory=lambda: ["background", "speech"])
    crop_or_pad_augment: CropOrPadSpectrogramAugmentationConfig | None = None


class EncDecClassificationModelConfigBuilder(ConvASRConfigBuilder):
    """Builds a MatchboxNet 3x1x64 speech-command (``matchboxnet_3x1x64``) or VAD (``matchboxnet_3x1x64_vad``)
    config.

    Besides the ConvASR propagation (see :class:`ConvASRConfigBuilder`), ``build()`` sets
    ``crop_or_pad_augment.audio_length`` to ``timesteps`` and ``encoder.feat_in`` to the MFCC count.

    Args:
        name: one of :attr:`VALID_CONFIGS`.
        encoder_cfg_func: returns the ``encoder.jasper`` blocks to use instead of MatchboxNet's.
    """

    VALID_CONFIGS = ["matchboxnet_3x1x64", "matchboxnet_3x1x64_vad"]

    def __init__(
        self, name: str = "matchboxnet_3x1x64", encoder_cfg_func: Callable[[], list[Any]] | None = None
    ) -> None:
        if name not in self.VALID_CONFIGS:
            raise ValueError(f"`name` must be one of : \n{self.VALID_CONFIGS}; got {name!r}.")
        self.name = name
        if name == "matchboxnet_3x1x64_vad":
            blocks = (encoder_cfg_func or matchboxnet_3x1x64_vad)()
            model_cfg = MatchboxNetVADModelConfig(
                repeat=1,
                separable=True,
                encoder=ConvASREncoderConfig(jasper=blocks, activation="relu"),
                decoder=ConvASRDecoderClassificationConfig(),
            )
        else:
            blocks = (encoder_cfg_func or matchboxnet_3x1x64)()
            model_cfg = MatchboxNetModelConfig(
                repeat=1,
                separable=False,
                spec_augment=SpectrogramAugmentationConfig(rect_masks=5, rect_freq=50, rect_time=120),
                encoder=ConvASREncoderConfig(jasper=blocks, activation="relu"),
                decoder=ConvASRDecoderClassificationConfig(),
            )
        super().__init__(model_cfg)
        self.model_cfg: EncDecClassificationConfig = model_cfg

    def set_timesteps(self, timesteps: int) -> None:
        self.model_cfg.timesteps = timesteps

    def set_is_regression_task(self, is_regression_task: bool) -> None:
        """Refused: the classification config has no ``is_regression_task`` field to carry it.

        NeMo 1.23 sets a plain attribute that ``OmegaConf.structured`` then drops, so the built model stays a
        classifier. Build a regression model from an ``EncDecRegressionModel`` config instead.
        """
        raise NotImplementedError(
            "EncDecClassificationModelConfigBuilder.set_is_regression_task: MatchboxNet configs describe "
            f"classifiers only (got is_regression_task={is_regression_task!r}). Use EncDecRegressionModel with "
            "a config whose datasets set is_regression_task: true."
        )

    def _finalize_cfg(self) -> None:
        super()._finalize_cfg()
        if self.model_cfg.crop_or_pad_augment is not None:
            self.model_cfg.crop_or_pad_augment.audio_length = self.model_cfg.timesteps

    def build(self) -> EncDecClassificationConfig:
        return super().build()
