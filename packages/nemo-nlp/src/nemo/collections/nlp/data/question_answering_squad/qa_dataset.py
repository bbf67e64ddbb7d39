"""``SquadDataset``: NeMo's older BERT SQuAD dataset (only its span helpers are built so far)."""

from __future__ import annotations

from typing import Any

from nemo.collections.nlp.data.question_answering.dataset.qa_dataset import QADataset

__all__ = ["SquadDataset"]


class SquadDataset(QADataset):
    """SQuAD features for BERT-style extractive QA.

    Building features from a file is not implemented yet; the static helpers (``split_into_words``,
    ``get_docspans``, ``get_average_dist_to_tok_start_and_end``, ``keep_relevant_docspans``, ...) are, shared with
    :class:`~nemo.collections.nlp.data.question_answering.dataset.qa_dataset.QADataset`.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "SquadDataset cannot build features yet (only its static span helpers exist). "
            "Use NeMo 1.23 for SQuAD training."
        )
