"""TTS models: ``nemo_tts.models.FastPitchModel.restore_from("fastpitch.nemo")``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "SpectrogramGenerator": "nemo.collections.tts.models.base",
    "Vocoder": "nemo.collections.tts.models.base",
    "MelToSpec": "nemo.collections.tts.models.base",
    "FastPitchModel": "nemo.collections.tts.models.fastpitch",
    "HifiGanModel": "nemo.collections.tts.models.hifigan",
    "GriffinLimModel": "nemo.collections.tts.models.two_stages",
    "MelPsuedoInverseModel": "nemo.collections.tts.models.two_stages",
    "TwoStagesModel": "nemo.collections.tts.models.two_stages",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
