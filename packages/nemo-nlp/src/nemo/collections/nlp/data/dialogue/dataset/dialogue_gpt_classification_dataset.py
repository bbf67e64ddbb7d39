"""``DialogueGPTClassificationDataset``: GPT intent/slot classification prompts.

Only its static helpers are built so far.
"""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting
from nemo.core.classes import Dataset

__all__ = ["DialogueGPTClassificationDataset"]


class DialogueGPTClassificationDataset(Dataset):
    """Dataset for GPT intent/slot classification prompts.

    Building features from a processor is not implemented yet.
    """

    linearize_slots = staticmethod(formatting.linearize_slots)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} cannot build features yet (only its static helpers exist). "
            "Use NeMo 1.23 for this dataset."
        )
