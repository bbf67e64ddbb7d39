"""G2P models (NeMo 1.23's import paths): ``EnglishG2p``, ``IpaG2p`` and their base ``BaseG2p``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "BaseG2p": "nemo.collections.tts.g2p.models.base",
    "EnglishG2p": "nemo.collections.tts.g2p.models.en_us_arpabet",
    "IpaG2p": "nemo.collections.tts.g2p.models.i18n_ipa",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
