"""QuartzNet / Jasper CTC configs and their builder (NeMo 1.23's ``quartznet_config``).

Example:
    >>> builder = EncDecCTCModelConfigBuilder("quartznet_15x5")
    >>> builder.set_labels([" ", *"abcdefghijklmnopqrstuvwxyz", "'"])
    >>> model = EncDecCTCModel(cfg=OmegaConf.structured(builder.build()))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nemo.collections.asr.models.configs._builder import ConvASRConfigBuilder
from nemo.collections.asr.models.configs.asr_models_config import ASRDatasetConfig, EncDecCTCConfig
from nemo.collections.asr.modules.audio_preprocessing import (
    AudioToMelSpectrogramPreprocessorConfig,
    SpectrogramAugmentationConfig,
)
from nemo.collections.asr.modules.conv_asr import (
    ConvASRDecoderConfig,
    ConvASREncoderConfig,
    JasperEncoderConfig,
)
from nemo.core.config.modelPT import OptimConfig, SchedConfig
from omegaconf import MISSING

__all__ = [
    "EncDecCTCModelConfigBuilder",
    "JasperModelConfig",
    "QuartzNetModelConfig",
    "jasper_10x5_dr",
    "qn_15x5",
]

# One row per block: (filters, repeat, kernel, stride, dilation, dropout, residual, separable, residual_dense).
_Row = tuple[int, int, int, int, int, float, bool, bool, bool]

_QUARTZNET_15X5: tuple[_Row, ...] = (
    (256, 1, 33, 2, 1, 0.0, False, True, False),
    *[(256, 5, kernel, 1, 1, 0.0, True, True, False) for kernel in (33, 33, 33, 39, 39, 39)],
    *[(512, 5, kernel, 1, 1, 0.0, True, True, False) for kernel in (51, 51, 51, 63, 63, 63, 75, 75, 75)],
    (512, 1, 87, 1, 2, 0.0, False, True, False),
    (1024, 1, 1, 1, 1, 0.0, False, False, False),
)

_JASPER_10X5_DR: tuple[_Row, ...] = (
    (256, 1, 11, 2, 1, 0.2, False, False, False),
    *[
        (filters, 5, kernel, 1, 1, dropout, True, False, True)
        for filters, kernel, dropout in (
            (256, 11, 0.2),
            (256, 11, 0.2),
            (384, 13, 0.2),
            (384, 13, 0.2),
            (512, 17, 0.2),
            (512, 17, 0.2),
            (640, 21, 0.3),
            (640, 21, 0.3),
            (768, 25, 0.3),
            (768, 25, 0.3),
        )
    ],
    (896, 1, 29, 1, 2, 0.4, False, False, False),
    (1024, 1, 1, 1, 1, 0.4, False, False, False),
)


def blocks_from_rows(rows: tuple[_Row, ...]) -> list[JasperEncoderConfig]:
    """``encoder.jasper`` entries for a table of ``(filters, repeat, kernel, stride, dilation, dropout,
    residual, separable, residual_dense)`` rows; every other block option keeps its default."""
    return [
        JasperEncoderConfig(
            filters=filters,
            repeat=repeat,
            kernel=[kernel],
            stride=[stride],
            dilation=[dilation],
            dropout=dropout,
            residual=residual,
            separable=separable,
            residual_dense=residual_dense,
        )
        for filters, repeat, kernel, stride, dilation, dropout, residual, separable, residual_dense in rows
    ]


def qn_15x5() -> list[JasperEncoderConfig]:
    """QuartzNet 15x5: 18 blocks, 15 of them 5-times repeated separable residual blocks."""
    return blocks_from_rows(_QUARTZNET_15X5)


def jasper_10x5_dr() -> list[JasperEncoderConfig]:
    """Jasper 10x5 with dense residual connections."""
    return blocks_from_rows(_JASPER_10X5_DR)


@dataclass
class JasperModelConfig(EncDecCTCConfig):
    """``model`` section of a Jasper CTC model (mel features, ReLU ConvASR encoder, training data trimmed)."""

    sample_rate: int = 16000
    repeat: int = 1
    dropout: float = 0.0
    separable: bool = False
    labels: list[str] = MISSING

    train_ds: ASRDatasetConfig = field(
        default_factory=lambda: ASRDatasetConfig(manifest_filepath=None, shuffle=True, trim_silence=True)
    )
    validation_ds: ASRDatasetConfig = field(
        default_factory=lambda: ASRDatasetConfig(manifest_filepath=None, shuffle=False)
    )
    test_ds: ASRDatasetConfig = field(
        default_factory=lambda: ASRDatasetConfig(manifest_filepath=None, shuffle=False)
    )

    optim: OptimConfig | None = field(default_factory=lambda: OptimConfig(sched=SchedConfig()))

    preprocessor: AudioToMelSpectrogramPreprocessorConfig = field(
        default_factory=AudioToMelSpectrogramPreprocessorConfig
    )
    spec_augment: SpectrogramAugmentationConfig | None = field(default_factory=SpectrogramAugmentationConfig)
    encoder: ConvASREncoderConfig = field(default_factory=lambda: ConvASREncoderConfig(activation="relu"))
    decoder: ConvASRDecoderConfig = field(default_factory=ConvASRDecoderConfig)


@dataclass
class QuartzNetModelConfig(JasperModelConfig):
    """``model`` section of a QuartzNet CTC model: a Jasper model with separable convolutions."""

    separable: bool = True


class EncDecCTCModelConfigBuilder(ConvASRConfigBuilder):
    """Builds a QuartzNet 15x5 (``quartznet_15x5``, ``quartznet_15x5_zh``) or Jasper 10x5dr (``jasper_10x5dr``)
    CTC config.

    Args:
        name: one of :attr:`VALID_CONFIGS`; ``quartznet_15x5_zh`` also turns dataset text normalisation off.
        encoder_cfg_func: returns the ``encoder.jasper`` blocks to use instead of the named architecture's.
    """

    VALID_CONFIGS = ["quartznet_15x5", "quartznet_15x5_zh", "jasper_10x5dr"]

    def __init__(
        self, name: str = "quartznet_15x5", encoder_cfg_func: Callable[[], list[Any]] | None = None
    ) -> None:
        if name not in self.VALID_CONFIGS:
            raise ValueError(f"`name` must be one of : \n{self.VALID_CONFIGS}; got {name!r}.")
        self.name = name
        quartznet = name.startswith("quartznet_15x5")
        config_class = QuartzNetModelConfig if quartznet else JasperModelConfig
        blocks = (encoder_cfg_func or (qn_15x5 if quartznet else jasper_10x5_dr))()
        model_cfg = config_class(
            repeat=5,
            separable=quartznet,
            spec_augment=SpectrogramAugmentationConfig(rect_masks=5, rect_freq=50, rect_time=120),
            encoder=ConvASREncoderConfig(jasper=blocks, activation="relu"),
            decoder=ConvASRDecoderConfig(),
        )
        super().__init__(model_cfg)
        self.model_cfg: EncDecCTCConfig = model_cfg
        if name.endswith("_zh"):
            self.set_dataset_normalize(normalize=False)

    def set_dataset_normalize(self, normalize: bool) -> None:
        """Set ``normalize`` (transcript text normalisation) of every dataset config."""
        for dataset in self._datasets():
            dataset.normalize = normalize

    def build(self) -> EncDecCTCConfig:
        return super().build()
