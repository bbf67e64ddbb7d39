"""QA input examples (NeMo 1.23's names). Resolved on first use."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "QAExample": "nemo.collections.nlp.data.question_answering.input_example.qa_input_example",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
