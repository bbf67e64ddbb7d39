"""``DialogueAssistantDataProcessor``: the Assistant intent/slot data (only its static helpers are built so far)."""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting
from nemo.collections.nlp.data.dialogue.data_processor.data_processor import DialogueDataProcessor

__all__ = ["DialogueAssistantDataProcessor"]


class DialogueAssistantDataProcessor(DialogueDataProcessor):
    """Reads the Assistant benchmark (intent and BIO slot files); file reading is not implemented yet."""

    normalize_zero_shot_intent = staticmethod(formatting.normalize_zero_shot_intent)
    get_continuous_slots = staticmethod(formatting.continuous_slot_spans)
    map_bio_format_slots_to_unified_slots = staticmethod(formatting.unify_bio_slots)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "DialogueAssistantDataProcessor cannot read data files yet (only its static helpers exist). "
            "Use NeMo 1.23 for Assistant dialogue data."
        )
