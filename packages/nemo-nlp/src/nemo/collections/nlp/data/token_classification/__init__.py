"""Token classification and punctuation/capitalization data (NeMo 1.23's
``nemo.collections.nlp.data.token_classification``).

Names resolve on first use, so importing this package imports neither torch nor transformers.
"""

from nemo.utils.lazy_exports import lazy_exports

_PACKAGE = "nemo.collections.nlp.data.token_classification"
_EXPORTS = {
    "BertTokenClassificationDataset": f"{_PACKAGE}.token_classification_dataset",
    "BertTokenClassificationInferDataset": f"{_PACKAGE}.token_classification_dataset",
    "BertPunctuationCapitalizationDataset": f"{_PACKAGE}.punctuation_capitalization_dataset",
    "BertPunctuationCapitalizationInferDataset": f"{_PACKAGE}.punctuation_capitalization_infer_dataset",
    "BertPunctuationCapitalizationTarredDataset": f"{_PACKAGE}.punctuation_capitalization_tarred_dataset",
    "PunctuationCapitalizationDataConfigBase": f"{_PACKAGE}.punctuation_capitalization_data_config",
    "PunctuationCapitalizationEvalDataConfig": f"{_PACKAGE}.punctuation_capitalization_data_config",
    "PunctuationCapitalizationTrainDataConfig": f"{_PACKAGE}.punctuation_capitalization_data_config",
    "create_tarred_dataset": f"{_PACKAGE}.create_tarred_dataset",
    "get_label_ids": f"{_PACKAGE}.token_classification_utils",
    "create_text_and_labels": f"{_PACKAGE}.token_classification_utils",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
