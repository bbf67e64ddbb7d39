"""``QADataset``: the base of NeMo's QA datasets, with the span and caching helpers they share.

Subclasses build ``self.features`` (one per document window) from ``self.examples`` and implement
``__getitem__``.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from nemo.collections.nlp.data.question_answering import doc_spans
from nemo.collections.nlp.data.question_answering.data_processor.qa_processing import MODES
from nemo.core.classes import Dataset
from nemo.utils import logging

__all__ = ["QADataset"]

_MAX_MEMORY_PERCENT = 75.0


def _memory_used_percent() -> float:
    """Share of physical memory in use, in percent (from ``/proc/meminfo`` where it exists)."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = {line.split(":")[0]: int(line.split()[1]) for line in meminfo if ":" in line}
        return 100.0 * (1.0 - fields["MemAvailable"] / fields["MemTotal"])
    except (OSError, KeyError, ValueError):
        return 100.0 * (1.0 - os.sysconf("SC_AVPHYS_PAGES") / os.sysconf("SC_PHYS_PAGES"))


class QADataset(Dataset):
    """Examples of one SQuAD-format file, cut to ``num_samples``; subclasses turn them into features.

    Args:
        data_file: the SQuAD-format JSON file.
        processor: an object whose ``get_examples()`` returns the examples (a ``QAProcessor``).
        tokenizer: the model's tokenizer.
        mode: ``"train"``, ``"eval"`` or ``"infer"``.
        num_samples: keep the first ``num_samples`` examples; ``-1`` keeps all. ``0`` is an error.
    """

    split_into_words = staticmethod(doc_spans.split_into_words)
    get_docspans = staticmethod(doc_spans.get_docspans)
    get_best_span_index = staticmethod(doc_spans.get_best_span_index)
    check_is_max_context = staticmethod(doc_spans.check_is_max_context)
    get_average_dist_to_tok_start_and_end = staticmethod(doc_spans.get_average_dist_to_tok_start_and_end)
    keep_relevant_docspans = staticmethod(doc_spans.keep_relevant_docspans)
    improve_answer_span = staticmethod(doc_spans.improve_answer_span)

    def __init__(
        self, data_file: str, processor: Any, tokenizer: Any, mode: str, num_samples: int, **kwargs: Any
    ):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}.")
        if mode not in MODES:
            raise ValueError(f"mode is {mode!r}; use one of {', '.join(MODES)}.")
        if num_samples == 0:
            raise ValueError("num_samples is 0: give a positive number, or -1 to use the entire dataset.")
        self.mode = mode
        self.data_file = data_file
        self.processor = processor
        self.tokenizer = tokenizer
        self.features: list | None = None
        self.examples = processor.get_examples()
        if num_samples > 0:
            self.examples = self.examples[:num_samples]

    def __len__(self) -> int:
        if self.features is None:
            raise RuntimeError(f"{type(self).__name__} has no features yet: a subclass must build them.")
        return len(self.features)

    def __getitem__(self, idx: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    @staticmethod
    def load_features_from_cache(cached_filename: str | os.PathLike[str]) -> list:
        """Features pickled by :meth:`dump_features_to_cache` (only open caches you wrote yourself)."""
        logging.info(f"Loading QA features from {cached_filename}")
        with open(cached_filename, "rb") as reader:
            return pickle.load(reader)

    @staticmethod
    def dump_features_to_cache(cached_filename: str | os.PathLike[str], features: list) -> None:
        """Pickle ``features`` to ``cached_filename`` (on rank 0 only when torch.distributed is running)."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
            return
        logging.info(f"Saving QA features to {cached_filename}")
        with open(cached_filename, "wb") as writer:
            pickle.dump(features, writer)

    @staticmethod
    def check_if_sufficient_memory() -> None:
        """Stop feature building before it fills the host's memory (more than 75% in use raises)."""
        used = _memory_used_percent()
        if used > _MAX_MEMORY_PERCENT:
            raise MemoryError(
                f"{used:.0f}% of host memory is in use while building QA features (limit {_MAX_MEMORY_PERCENT:.0f}%): "
                "use a machine with more memory, a smaller dataset, or num_samples."
            )

    @staticmethod
    def get_doc_tokens_and_offset_from_context_id(
        context_id: int,
        start_position_character: int | None,
        is_impossible: bool,
        answer_text: str | None,
        context_id_to_context_text: dict[int, str],
    ) -> tuple[list[str], list[int], int, int, str]:
        """Words of a context and the answer's first and last word index (both 0 without an answer position).

        Returns:
            ``(doc_tokens, char_to_word_offset, start_position, end_position, context_text)``.
        """
        context_text = context_id_to_context_text[context_id]
        words, char_to_word = doc_spans.split_into_words(context_text)
        start_word = end_word = 0
        if start_position_character is not None and not is_impossible:
            last_char = min(start_position_character + len(answer_text) - 1, len(char_to_word) - 1)
            start_word = char_to_word[start_position_character]
            end_word = char_to_word[last_char]
        return words, char_to_word, start_word, end_word, context_text
