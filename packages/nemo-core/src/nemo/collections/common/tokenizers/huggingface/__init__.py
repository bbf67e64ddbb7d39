"""Hugging Face tokenizers: ``from nemo.collections.common.tokenizers.huggingface import AutoTokenizer``.

Resolved on first use, so importing this package needs neither transformers nor torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {"AutoTokenizer": "nemo.collections.common.tokenizers.huggingface.auto_tokenizer"}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
