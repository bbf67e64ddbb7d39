"""``BaseG2p``: the interface of NeMo 1.23's grapheme-to-phoneme modules."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BaseG2p"]

# NeMo 1.23's warning when a G2P is built with apply_to_oov_word=None.
OOV_WARNING = (
    "apply_to_oov_word=None, This means that some of words will remain unchanged if they are not handled by any of "
    "the rules in self.parse_one_word(). This may be intended if phonemes and chars are both valid inputs, "
    "otherwise, you may see unexpected deletions in your input."
)


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

    def _parse_word_or_compound(self, word: str) -> Sequence[Any]:
        """Symbols of ``word`` by the subclass's ``parse_one_word``; a hyphenated word that no rule handles is
        converted part by part, the parts joined by ``-``.

        Args:
            word: one word from ``word_tokenize_func``.

        Returns:
            Its phonemes (or graphemes: a string is a sequence of letters), one per item.
        """
        pron, handled = self.parse_one_word(word)
        parts = word.split("-")
        if handled or len(parts) == 1:
            return pron
        compound: list[Any] = []
        for part in parts:
            compound.extend(self.parse_one_word(part)[0])
            compound.append("-")
        compound.pop()
        return compound

    @abstractmethod
    def __call__(self, text: str) -> list[str]:
        """Convert text to phonemes, graphemes, spaces and punctuation, one symbol per item."""
