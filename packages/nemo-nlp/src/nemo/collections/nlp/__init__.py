"""The NLP collection: ``import nemo.collections.nlp as nemo_nlp`` (NeMo 1.23's import paths).

Text classification on any Hugging Face encoder (``nemo_nlp.models.TextClassificationModel``), the encoders,
heads and tokenizer helpers (``nemo_nlp.modules``), datasets (``nemo_nlp.data``) and metrics
(``nemo_nlp.metrics``). Subpackages load on first use: importing this package imports neither torch nor
transformers.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "data": "nemo.collections.nlp.data",
    "metrics": "nemo.collections.nlp.metrics",
    "models": "nemo.collections.nlp.models",
    "modules": "nemo.collections.nlp.modules",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
