"""Text classification data: ``TextClassificationDataset`` and ``calc_class_weights`` (NeMo 1.23's names).

Resolved on first use, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_DATASET = "nemo.collections.nlp.data.text_classification.text_classification_dataset"
_EXPORTS = {
    "TextClassificationDataset": _DATASET,
    "calc_class_weights": _DATASET,
    "read_text_classification_file": "nemo.collections.nlp.data.text_classification.text_classification_file",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
