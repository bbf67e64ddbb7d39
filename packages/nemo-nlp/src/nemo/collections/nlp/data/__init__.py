"""NLP datasets (NeMo 1.23's names): ``from nemo.collections.nlp.data import TextClassificationDataset``.

Names resolve on first use, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_TOKEN = "nemo.collections.nlp.data.token_classification"
_EXPORTS = {
    "TextClassificationDataset": "nemo.collections.nlp.data.text_classification.text_classification_dataset",
    "BertTokenClassificationDataset": f"{_TOKEN}.token_classification_dataset",
    "BertTokenClassificationInferDataset": f"{_TOKEN}.token_classification_dataset",
    "BertPunctuationCapitalizationDataset": f"{_TOKEN}.punctuation_capitalization_dataset",
    "BertPunctuationCapitalizationInferDataset": f"{_TOKEN}.punctuation_capitalization_infer_dataset",
    "text_classification": "nemo.collections.nlp.data.text_classification",
    "token_classification": _TOKEN,
    "data_utils": "nemo.collections.nlp.data.data_utils",
    "language_modeling": "nemo.collections.nlp.data.language_modeling",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
