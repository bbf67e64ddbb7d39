"""Dialogue data processors (NeMo 1.23's names). Resolved on first use."""

from nemo.utils.lazy_exports import lazy_exports

_PROCESSOR = "nemo.collections.nlp.data.dialogue.data_processor"
_EXPORTS = {
    "DialogueDataProcessor": f"{_PROCESSOR}.data_processor",
    "DialogueAssistantDataProcessor": f"{_PROCESSOR}.assistant_data_processor",
    "DialogueSGDDataProcessor": f"{_PROCESSOR}.sgd_data_processor",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
