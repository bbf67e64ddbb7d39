"""SQuAD-format QA file readers (NeMo 1.23's names). Resolved on first use."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "QAProcessor": "nemo.collections.nlp.data.question_answering.data_processor.qa_processing",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
