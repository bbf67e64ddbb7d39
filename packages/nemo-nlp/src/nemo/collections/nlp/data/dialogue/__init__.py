"""Dialogue data (NeMo 1.23's names). Only the processors' and datasets' static helpers are built so far.

Resolved on first use, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_DIALOGUE = "nemo.collections.nlp.data.dialogue"
_EXPORTS = {
    "DialogueSGDDataProcessor": f"{_DIALOGUE}.data_processor.sgd_data_processor",
    "DialogueGPTClassificationDataset": f"{_DIALOGUE}.dataset.dialogue_gpt_classification_dataset",
    "DialogueSGDBERTDataset": f"{_DIALOGUE}.dataset.dialogue_sgd_bert_dataset",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
