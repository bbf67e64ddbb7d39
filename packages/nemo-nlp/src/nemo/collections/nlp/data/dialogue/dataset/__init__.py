"""Dialogue datasets (NeMo 1.23's names). Resolved on first use, so importing this package does not import torch."""

from nemo.utils.lazy_exports import lazy_exports

_DATASET = "nemo.collections.nlp.data.dialogue.dataset"
_EXPORTS = {
    "DialogueGPTClassificationDataset": f"{_DATASET}.dialogue_gpt_classification_dataset",
    "DialogueS2SGenerationDataset": f"{_DATASET}.dialogue_s2s_generation_dataset",
    "DialogueSGDBERTDataset": f"{_DATASET}.dialogue_sgd_bert_dataset",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
