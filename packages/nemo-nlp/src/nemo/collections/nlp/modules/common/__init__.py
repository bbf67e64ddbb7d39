"""NLP encoders, heads and helpers (NeMo 1.23's names), resolved on first use: importing this package needs
neither torch nor transformers."""

from nemo.utils.lazy_exports import lazy_exports

_COMMON = "nemo.collections.nlp.modules.common"
_EXPORTS = {
    "BertModule": f"{_COMMON}.bert_module",
    "AlbertEncoder": f"{_COMMON}.huggingface.encoders",
    "BertEncoder": f"{_COMMON}.huggingface.encoders",
    "CamembertEncoder": f"{_COMMON}.huggingface.encoders",
    "DistilBertEncoder": f"{_COMMON}.huggingface.encoders",
    "RobertaEncoder": f"{_COMMON}.huggingface.encoders",
    "get_lm_model": f"{_COMMON}.lm_utils",
    "get_pretrained_lm_models_list": f"{_COMMON}.lm_utils",
    "get_tokenizer": f"{_COMMON}.tokenizer_utils",
    "get_tokenizer_list": f"{_COMMON}.tokenizer_utils",
    "Classifier": f"{_COMMON}.classifier",
    "SequenceClassifier": f"{_COMMON}.sequence_classifier",
    "TokenClassifier": f"{_COMMON}.token_classifier",
    "BertPretrainingTokenClassifier": f"{_COMMON}.token_classifier",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
