"""``DialogueS2SGenerationDataset``: sequence-to-sequence response generation.

Only its static helpers are built so far.
"""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting
from nemo.core.classes import Dataset

__all__ = ["DialogueS2SGenerationDataset"]


class DialogueS2SGenerationDataset(Dataset):
    """Dataset for sequence-to-sequence response generation.

    Building features from a processor is not implemented yet.
    """

    format_actions = staticmethod(formatting.format_actions)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} cannot build features yet (only its static helpers exist). "
            "Use NeMo 1.23 for this dataset."
        )
