"""Token classification models (NeMo 1.23's ``nemo.collections.nlp.models.token_classification``).

``PunctuationCapitalizationModel`` and ``TokenClassificationModel`` resolve on first use, so importing this package
imports neither torch nor transformers.
"""

from nemo.utils.lazy_exports import lazy_exports

_PACKAGE = "nemo.collections.nlp.models.token_classification"
_EXPORTS = {
    "PunctuationCapitalizationModel": f"{_PACKAGE}.punctuation_capitalization_model",
    "TokenClassificationModel": f"{_PACKAGE}.token_classification_model",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
