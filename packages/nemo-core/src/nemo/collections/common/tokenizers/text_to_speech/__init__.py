"""TTS tokenizers: ``from nemo.collections.common.tokenizers.text_to_speech import EnglishCharsTokenizer``.

Names resolve on first use (``tts_tokenizers``, ``tokenizer_utils``, ``ipa_lexicon``).
"""

from nemo.utils.lazy_exports import lazy_exports

_TOKENIZERS = "nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers"
_EXPORTS = {
    name: _TOKENIZERS
    for name in (
        "BaseTokenizer",
        "BaseCharsTokenizer",
        "EnglishCharsTokenizer",
        "GermanCharsTokenizer",
        "SpanishCharsTokenizer",
        "FrenchCharsTokenizer",
        "ItalianCharsTokenizer",
        "GermanPhonemesTokenizer",
        "ItalianPhonemesTokenizer",
        "EnglishPhonemesTokenizer",
        "IPATokenizer",
    )
}
_EXPORTS.update(
    {
        "tts_tokenizers": _TOKENIZERS,
        "tokenizer_utils": "nemo.collections.common.tokenizers.text_to_speech.tokenizer_utils",
        "ipa_lexicon": "nemo.collections.common.tokenizers.text_to_speech.ipa_lexicon",
    }
)

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
