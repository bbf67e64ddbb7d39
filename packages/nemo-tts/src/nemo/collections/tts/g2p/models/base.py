"""``BaseG2p``: the interface of NeMo 1.23's grapheme-to-phoneme modules."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

__all__ = ["BaseG2p"]


def _identity(text: Any) -> Any:
    return text


class BaseG2p(ABC):
    """Turns text into a list of phonemes (words it cannot convert are left as is or given to ``apply_to_oov_word``).

    Args:
        phoneme_dict: the pronunciations of known words (``{word: [[phoneme, ...], ...]}`` in the subclasses).
        word_tokenize_func: splits text into ``[(words, is_unchanged), ...]``.
        apply_to_oov_word: applied to a word the dictionary does not have; None leaves it as graphemes.
        mapping_file: kept for NeMo 1.23's signature (used by its heteronym models).
    """

    def __init__(
        self,
        phoneme_dict: Any = None,
        word_tokenize_func: Callable[[str], Any] = _identity,
        apply_to_oov_word: Callable[[str], Any] | None = None,
        mapping_file: str | None = None,
    ) -> None:
        self.phoneme_dict = phoneme_dict
        self.word_tokenize_func = word_tokenize_func
        self.apply_to_oov_word = apply_to_oov_word
        self.mapping_file = mapping_file
        self.heteronym_model = None

    @abstractmethod
    def __call__(self, text: str) -> list[str]:
        """Convert text to phonemes, graphemes, spaces and punctuation, one symbol per item."""
