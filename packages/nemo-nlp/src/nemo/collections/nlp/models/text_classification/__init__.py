"""``TextClassificationModel``, resolved on first use (importing this package does not import torch)."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "TextClassificationModel": "nemo.collections.nlp.models.text_classification.text_classification_model",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
