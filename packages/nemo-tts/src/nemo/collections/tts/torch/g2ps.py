"""Old import path of the G2P models (``IPAG2P`` is NeMo 1.23's alias of ``IpaG2p``)."""

from nemo.collections.tts.g2p.models.base import BaseG2p
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p

IPAG2P = IpaG2p

__all__ = ["BaseG2p", "EnglishG2p", "IPAG2P", "IpaG2p"]
