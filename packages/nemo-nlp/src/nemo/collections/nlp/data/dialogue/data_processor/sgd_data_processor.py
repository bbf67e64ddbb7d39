"""``DialogueSGDDataProcessor``: the Schema-Guided Dialogue data (only its static helpers are built so far)."""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting
from nemo.collections.nlp.data.dialogue.data_processor.data_processor import DialogueDataProcessor

__all__ = ["DialogueSGDDataProcessor"]


class DialogueSGDDataProcessor(DialogueDataProcessor):
    """Reads SGD dialogues and schemas; file reading is not implemented yet."""

    convert_camelcase_to_lower = staticmethod(formatting.camelcase_to_words)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "DialogueSGDDataProcessor cannot read data files yet (only its static helpers exist). "
            "Use NeMo 1.23 for SGD dialogue data."
        )
