"""ASR neural modules: ``from nemo.collections.asr.modules import ConformerEncoder, ConvASRDecoder``.

Names resolve on first access, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AudioToMelSpectrogramPreprocessor": "nemo.collections.asr.modules.audio_preprocessing",
    "AudioToMFCCPreprocessor": "nemo.collections.asr.modules.audio_preprocessing",
    "AudioToSpectrogram": "nemo.collections.asr.modules.audio_preprocessing",
    "SpectrogramToAudio": "nemo.collections.asr.modules.audio_preprocessing",
    "CropOrPadSpectrogramAugmentation": "nemo.collections.asr.modules.audio_preprocessing",
    "MaskedPatchAugmentation": "nemo.collections.asr.modules.audio_preprocessing",
    "SpectrogramAugmentation": "nemo.collections.asr.modules.audio_preprocessing",
    "MaskBasedBeamformer": "nemo.collections.asr.modules.audio_modules",
    "MaskEstimatorFlexChannels": "nemo.collections.asr.modules.audio_modules",
    "MaskEstimatorRNN": "nemo.collections.asr.modules.audio_modules",
    "MaskReferenceChannel": "nemo.collections.asr.modules.audio_modules",
    "ConformerEncoder": "nemo.collections.asr.modules.conformer_encoder",
    "ConformerEncoderAdapter": "nemo.collections.asr.modules.conformer_encoder",
    "ConvASRDecoder": "nemo.collections.asr.modules.conv_asr",
    "ConvASRDecoderClassification": "nemo.collections.asr.modules.conv_asr",
    "ConvASRDecoderReconstruction": "nemo.collections.asr.modules.conv_asr_reconstruction",
    "ConvASREncoder": "nemo.collections.asr.modules.conv_asr",
    "ConvASREncoderAdapter": "nemo.collections.asr.modules.conv_asr",
    "ECAPAEncoder": "nemo.collections.asr.modules.conv_asr",
    "SpeakerDecoder": "nemo.collections.asr.modules.conv_asr",
    "RNNTDecoder": "nemo.collections.asr.modules.rnnt",
    "RNNTJoint": "nemo.collections.asr.modules.rnnt",
    "HATJoint": "nemo.collections.asr.modules.rnnt",
    "SampledRNNTJoint": "nemo.collections.asr.modules.rnnt",
    "StatelessTransducerDecoder": "nemo.collections.asr.modules.rnnt",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
