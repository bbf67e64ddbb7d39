"""Tokenizers: ``from nemo.collections.common.tokenizers import SentencePieceTokenizer``.

Names resolve on first use, so importing this package needs neither sentencepiece, transformers nor torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "TokenizerSpec": "nemo.collections.common.tokenizers.tokenizer_spec",
    "SentencePieceTokenizer": "nemo.collections.common.tokenizers.sentencepiece_tokenizer",
    "create_spt_model": "nemo.collections.common.tokenizers.sentencepiece_tokenizer",
    "CharTokenizer": "nemo.collections.common.tokenizers.char_tokenizer",
    "RegExTokenizer": "nemo.collections.common.tokenizers.regex_tokenizer",
    "AutoTokenizer": "nemo.collections.common.tokenizers.huggingface.auto_tokenizer",
    "AggregateTokenizer": "nemo.collections.common.tokenizers.aggregate_tokenizer",
    "CanaryTokenizer": "nemo.collections.common.tokenizers.canary_tokenizer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
