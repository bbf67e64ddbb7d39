"""Hugging Face encoders as NeMo modules: ``BertEncoder``, ``RobertaEncoder``, ... (NeMo 1.23's names).

Resolved on first use, so importing this package needs neither transformers nor torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_ENCODERS = "nemo.collections.nlp.modules.common.huggingface.encoders"
_UTILS = "nemo.collections.nlp.modules.common.huggingface.huggingface_utils"
_EXPORTS = {
    "AlbertEncoder": _ENCODERS,
    "BertEncoder": _ENCODERS,
    "CamembertEncoder": _ENCODERS,
    "DistilBertEncoder": _ENCODERS,
    "GPT2Encoder": _ENCODERS,
    "RobertaEncoder": _ENCODERS,
    "encoder_class_for": _ENCODERS,
    "get_huggingface_lm_model": _UTILS,
    "get_huggingface_pretrained_lm_models_list": _UTILS,
    "VOCAB_FILE_NAME": _UTILS,
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
