"""NLP models (NeMo 1.23's names): ``from nemo.collections.nlp.models import TextClassificationModel``.

Names resolve on first use, so importing this package needs neither torch nor transformers.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "NLPModel": "nemo.collections.nlp.models.nlp_model",
    "PunctuationCapitalizationModel": (
        "nemo.collections.nlp.models.token_classification.punctuation_capitalization_model"
    ),
    "TextClassificationModel": "nemo.collections.nlp.models.text_classification.text_classification_model",
    "text_classification": "nemo.collections.nlp.models.text_classification",
    "TokenClassificationModel": "nemo.collections.nlp.models.token_classification.token_classification_model",
    "token_classification": "nemo.collections.nlp.models.token_classification",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
