"""``TokenizerSpec``: the interface every NeMo tokenizer implements (NeMo 1.23's names)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict


class TokenizerSpec(ABC):
    """Converts between text, tokens (sub-word strings) and ids.

    Subclasses implement the six conversions and also provide ``vocab_size`` and the special-token
    ids ``pad_id``, ``bos_id``, ``eos_id``, ``unk_id`` (``-1`` where the tokenizer has no such token, the
    convention sentencepiece uses). Those five are left to subclasses, as in NeMo, so that a subclass may
    define them as plain attributes (``self.vocab_size = ...``) or as properties.
    """

    @abstractmethod
    def text_to_tokens(self, text: str) -> list[str]:
        """Split ``text`` into tokens."""

    @abstractmethod
    def tokens_to_text(self, tokens: list[str]) -> str:
        """Join ``tokens`` back into text."""

    @abstractmethod
    def tokens_to_ids(self, tokens: str | list[str]) -> list[int]:
        """Map each token to its id."""

    @abstractmethod
    def ids_to_tokens(self, ids: list[int]) -> list[str]:
        """Map each id to its token."""

    @abstractmethod
    def text_to_ids(self, text: str) -> list[int]:
        """Tokenize ``text`` straight to ids."""

    @abstractmethod
    def ids_to_text(self, ids: list[int]) -> str:
        """Decode ``ids`` straight to text."""

    def add_special_tokens(self, special_tokens: list[str] | dict[str, str]) -> None:
        """Add tokens the model must never split; tokenizers that cannot do so raise."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot add special tokens {special_tokens!r}. "
            "Give them to the tokenizer when it is built or trained instead."
        )

    @property
    def name(self) -> str:
        """The tokenizer's class name."""
        return type(self).__name__

    @property
    def unique_identifiers(self) -> OrderedDict:
        """What identifies this tokenizer (its class path), used to key dataset caches."""
        return OrderedDict({"class": f"{type(self).__module__}.{type(self).__qualname__}"})
