"""Old import path of the G2P models: configs of older checkpoints name ``nemo_text_processing.g2p.modules.*``,
which NeMo 1.23 (``g2p_backward_compatible_support``) rewrites to this module. ``IPAG2P`` is ``IpaG2p``."""

from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p

IPAG2P = IpaG2p

__all__ = ["EnglishG2p", "IPAG2P", "IpaG2p"]
