"""Structured (dataclass) configs of the ASR models and their config builders, as NeMo 1.23's
``nemo.collections.asr.models.configs``; the module configs (preprocessor, encoder, ...) are re-exported.

Example:
    >>> from nemo.collections.asr.models import configs
    >>> cfg = configs.EncDecCTCModelConfigBuilder("quartznet_15x5")
"""

from nemo.utils.lazy_exports import lazy_exports

_PACKAGE = "nemo.collections.asr.models.configs"
_EXPORTS = {
    "ASRDatasetConfig": f"{_PACKAGE}.asr_models_config",
    "CacheAwareStreamingConfig": f"{_PACKAGE}.asr_models_config",
    "EncDecCTCConfig": f"{_PACKAGE}.asr_models_config",
    "EncDecCTCModelConfig": f"{_PACKAGE}.asr_models_config",
    "EncDecClassificationConfig": f"{_PACKAGE}.classification_models_config",
    "EncDecClassificationDatasetConfig": f"{_PACKAGE}.classification_models_config",
    "EncDecClassificationModelConfig": f"{_PACKAGE}.classification_models_config",
    "EncDecClassificationModelConfigBuilder": f"{_PACKAGE}.matchboxnet_config",
    "MatchboxNetModelConfig": f"{_PACKAGE}.matchboxnet_config",
    "MatchboxNetVADModelConfig": f"{_PACKAGE}.matchboxnet_config",
    "EncDecCTCModelConfigBuilder": f"{_PACKAGE}.quartznet_config",
    "JasperModelConfig": f"{_PACKAGE}.quartznet_config",
    "QuartzNetModelConfig": f"{_PACKAGE}.quartznet_config",
    "AudioToMelSpectrogramPreprocessorConfig": "nemo.collections.asr.modules.audio_preprocessing",
    "AudioToMFCCPreprocessorConfig": "nemo.collections.asr.modules.audio_preprocessing",
    "CropOrPadSpectrogramAugmentationConfig": "nemo.collections.asr.modules.audio_preprocessing",
    "SpectrogramAugmentationConfig": "nemo.collections.asr.modules.audio_preprocessing",
    "ConvASRDecoderClassificationConfig": "nemo.collections.asr.modules.conv_asr",
    "ConvASRDecoderConfig": "nemo.collections.asr.modules.conv_asr",
    "ConvASREncoderConfig": "nemo.collections.asr.modules.conv_asr",
    "JasperEncoderConfig": "nemo.collections.asr.modules.conv_asr",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
