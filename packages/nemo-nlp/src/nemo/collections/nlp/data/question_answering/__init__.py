"""Question answering data (NeMo 1.23's names). Resolved on first use, so importing this package does not import
torch. BERT and sequence-to-sequence QA datasets are not built yet.
"""

from nemo.utils.lazy_exports import lazy_exports

_QA = "nemo.collections.nlp.data.question_answering"
_EXPORTS = {
    "QAProcessor": f"{_QA}.data_processor.qa_processing",
    "QADataset": f"{_QA}.dataset.qa_dataset",
    "GPTQADataset": f"{_QA}.dataset.qa_gpt_dataset",
    "QAExample": f"{_QA}.input_example.qa_input_example",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
