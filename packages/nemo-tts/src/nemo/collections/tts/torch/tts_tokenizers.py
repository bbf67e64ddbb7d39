"""Old import path of the TTS tokenizers; they live in ``nemo.collections.common.tokenizers.text_to_speech``."""

from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (
    BaseCharsTokenizer,
    BaseTokenizer,
    EnglishCharsTokenizer,
    EnglishPhonemesTokenizer,
    FrenchCharsTokenizer,
    GermanCharsTokenizer,
    GermanPhonemesTokenizer,
    IPATokenizer,
    ItalianCharsTokenizer,
    ItalianPhonemesTokenizer,
    SpanishCharsTokenizer,
)

__all__ = [
    "BaseCharsTokenizer",
    "BaseTokenizer",
    "EnglishCharsTokenizer",
    "EnglishPhonemesTokenizer",
    "FrenchCharsTokenizer",
    "GermanCharsTokenizer",
    "GermanPhonemesTokenizer",
    "IPATokenizer",
    "ItalianCharsTokenizer",
    "ItalianPhonemesTokenizer",
    "SpanishCharsTokenizer",
]
