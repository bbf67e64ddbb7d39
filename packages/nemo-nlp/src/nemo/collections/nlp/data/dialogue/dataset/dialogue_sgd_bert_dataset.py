"""``DialogueSGDBERTDataset``: BERT features for SGD dialogue state tracking.

Only its static helpers are built so far.
"""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting
from nemo.core.classes import Dataset

__all__ = ["DialogueSGDBERTDataset"]


class DialogueSGDBERTDataset(Dataset):
    """Dataset for BERT features for SGD dialogue state tracking.

    Building features from a processor is not implemented yet.
    """

    _naive_tokenize = staticmethod(formatting.naive_tokenize)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} cannot build features yet (only its static helpers exist). "
            "Use NeMo 1.23 for this dataset."
        )
