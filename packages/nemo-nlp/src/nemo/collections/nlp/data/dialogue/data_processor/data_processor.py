"""``DialogueDataProcessor``: base of the dialogue data processors (raw files -> dialogue input examples)."""

from __future__ import annotations

from nemo.collections.nlp.data.dialogue import formatting

__all__ = ["DialogueDataProcessor"]


class DialogueDataProcessor:
    """Base of the processors that read one dialogue data source into model-independent examples.

    Subclasses implement ``__init__`` and ``get_dialog_examples(dataset_split)``.
    """

    get_relevant_idxs = staticmethod(formatting.split_indices)

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is abstract: use a processor for a data source.")

    def get_train_examples(self):
        """The train split's examples."""
        return self.get_dialog_examples("train")

    def get_dev_examples(self):
        """The dev split's examples."""
        return self.get_dialog_examples("dev")

    def get_test_examples(self):
        """The test split's examples."""
        return self.get_dialog_examples("test")

    def get_dialog_examples(self, dataset_split: str):
        """Examples of ``dataset_split`` (``train``, ``dev`` or ``test``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_dialog_examples.")
