"""Behaviour shared by the ASR models: tokenizer set-up and transcription inputs."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "ASRAdapterModelMixin": "nemo.collections.asr.parts.mixins.asr_adapter_mixins",
    "ASRBPEMixin": "nemo.collections.asr.parts.mixins.asr_bpe",
    "ASRModuleMixin": "nemo.collections.asr.parts.mixins.mixins",
    "InterCTCMixin": "nemo.collections.asr.parts.mixins.interctc_mixin",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
