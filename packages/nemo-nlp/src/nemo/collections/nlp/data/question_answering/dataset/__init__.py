"""QA datasets (NeMo 1.23's names). Resolved on first use, so importing this package does not import torch."""

from nemo.utils.lazy_exports import lazy_exports

_DATASET = "nemo.collections.nlp.data.question_answering.dataset"
_EXPORTS = {
    "QADataset": f"{_DATASET}.qa_dataset",
    "GPTQADataset": f"{_DATASET}.qa_gpt_dataset",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
