"""Grapheme-to-phoneme models: ``nemo.collections.tts.g2p.models.en_us_arpabet.EnglishG2p`` and ``i18n_ipa.IpaG2p``."""
