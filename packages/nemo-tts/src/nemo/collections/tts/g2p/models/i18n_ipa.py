"""``IpaG2p``: words to IPA symbols with a NeMo IPA dictionary, for any supported locale (NeMo 1.23's class).

Example:
    >>> g2p = IpaG2p(phoneme_dict={"HELLO": [list("həˈloʊ")]}, grapheme_prefix="#")
    >>> g2p("hello bob")
    ['h', 'ə', 'ˈ', 'l', 'o', 'ʊ', ' ', '#B', '#O', '#B']
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nemo.collections.common.tokenizers.text_to_speech.ipa_lexicon import validate_locale
from nemo.collections.common.tokenizers.text_to_speech.tokenizer_utils import (
    LATIN_CHARS_ALL,
    any_locale_word_tokenize,
    english_word_tokenize,
    normalize_unicode_text,
)
from nemo.collections.tts.g2p.dictionaries import (
    PhonemeDict,
    merge_phoneme_dicts,
    read_ipa_dict,
    read_word_list,
)
from nemo.collections.tts.g2p.models.base import OOV_WARNING, BaseG2p
from nemo.collections.tts.g2p.utils import GRAPHEME_CASE_MIXED, GRAPHEME_CASE_UPPER, set_grapheme_case
from nemo.utils import logging

__all__ = ["IpaG2p"]

# French elided prefixes ("l'", "qu'") and their phonemes, tried before the dictionary for fr-FR.
_FRENCH_CONTRACTIONS = (
    ("l", "l"),
    ("c", "s"),
    ("d", "d"),
    ("j", "ʒ"),
    ("m", "m"),
    ("n", "n"),
    ("qu", "k"),
    ("s", "s"),
    ("t", "t"),
    ("puisqu", "pyisk"),
    ("lorsqu", "loʁsk"),
    ("jusqu", "ʒysk"),
)


def _load_ipa(phoneme_dict: Any) -> PhonemeDict:
    """A file path is read; a mapping is checked and NFC-normalized."""
    if isinstance(phoneme_dict, (str, os.PathLike)):
        return read_ipa_dict(phoneme_dict)
    if not isinstance(phoneme_dict, Mapping):
        raise TypeError(
            f"IpaG2p: phoneme_dict must be a file path or a dict {{word: [[symbol, ...], ...]}}, got "
            f"{type(phoneme_dict).__name__}. Pass a NeMo IPA dictionary file or such a dict."
        )
    entries: PhonemeDict = {}
    for word, prons in phoneme_dict.items():
        if isinstance(prons, str) or not isinstance(prons, Sequence):
            raise TypeError(
                f"IpaG2p: phoneme_dict[{word!r}] is a {type(prons).__name__}; expected a list of pronunciations, "
                "each a list of symbols. Convert it to a list."
            )
        entries[normalize_unicode_text(word)] = [[normalize_unicode_text(s) for s in pron] for pron in prons]
    return entries


class IpaG2p(BaseG2p):
    """IPA G2P for ``en-US``, ``de-DE``, ``es-ES``, ``it-IT``, ``fr-FR`` (or ``locale=None``).

    Words are matched in ``grapheme_case``; a word kept as graphemes becomes its letters, each prefixed with
    ``grapheme_prefix``. A word is, in this order: split into characters if it has no letter or digit; kept as
    graphemes with probability ``1 - phoneme_probability``; kept as graphemes if a heteronym; for ``en-US``,
    ``word's`` and ``words`` not in the dictionary get their stem's pronunciation plus ``s`` (after ``t``),
    ``ɪz`` (``'s`` after ``s``) or ``z``; for ``fr-FR``, elided prefixes (``l'``, ``qu'``...) are pronounced
    before the rest; a dictionary word gets its first pronunciation (unless ambiguous and ignored); otherwise
    ``apply_to_oov_word`` or graphemes. A hyphenated word left as graphemes is retried part by part.

    Args:
        phoneme_dict: a NeMo IPA dictionary file or a dict ``{word: [[symbol, ...], ...]}``.
        locale: picks the word tokenizer (English lower-cases words) and the special cases above.
        apply_to_oov_word: applied to words the dictionary does not handle.
        ignore_ambiguous_words: keep words with several pronunciations as graphemes.
        heteronyms: a file with one word a line, or a list of words.
        use_chars: add the graphemes of the dictionary words to ``symbols`` (forced on by ``phoneme_probability``).
        phoneme_probability: probability that a word is converted (one ``random()`` draw per word).
        use_stresses: keep the stress marks ``ˈ`` and ``ˌ``.
        grapheme_case: ``"upper"``, ``"lower"`` or ``"mixed"``.
        grapheme_prefix: prepended to every grapheme (``"#"`` keeps them apart from phonemes).
        mapping_file: kept for NeMo 1.23's signature.
        user_phoneme_dict: (ours) pronunciations that replace the ``phoneme_dict`` entries of the same words: a
            file in NeMo's IPA format or a dict.
        seed: (ours) seed of the generator behind ``phoneme_probability``; None seeds from the OS as NeMo does.

    Raises:
        ValueError: unsupported locale or an empty dictionary.
    """

    STRESS_SYMBOLS = ["ˈ", "ˌ"]
    CHAR_REGEX = re.compile(rf"[{LATIN_CHARS_ALL}\d]")
    PUNCT_REGEX = re.compile(rf"[^{LATIN_CHARS_ALL}\d]")

    def __init__(
        self,
        phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]],
        locale: str | None = "en-US",
        apply_to_oov_word: Callable[[str], Any] | None = None,
        ignore_ambiguous_words: bool = True,
        heteronyms: str | os.PathLike | Iterable[str] | None = None,
        use_chars: bool = False,
        phoneme_probability: float | None = None,
        use_stresses: bool | None = True,
        grapheme_case: str | None = GRAPHEME_CASE_UPPER,
        grapheme_prefix: str | None = "",
        mapping_file: str | None = None,
        *,
        user_phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]] | None = None,
        seed: int | None = None,
    ) -> None:
        self.use_stresses = use_stresses
        self.grapheme_case = grapheme_case
        self.grapheme_prefix = grapheme_prefix
        self.phoneme_probability = phoneme_probability
        self.locale = locale
        self._rng = random.Random(seed)
        if locale is not None:
            validate_locale(locale)
        self.use_chars = use_chars or phoneme_probability is not None
        if self.use_chars and not use_chars:
            logging.warning(
                "phoneme_probability was not None, characters will be enabled even though use_chars was set to False."
            )

        entries = self._parse_phoneme_dict(phoneme_dict)
        if user_phoneme_dict is not None:
            entries = merge_phoneme_dicts(entries, self._parse_phoneme_dict(user_phoneme_dict))
        if not entries:
            raise ValueError(
                f"IpaG2p: phoneme_dict {phoneme_dict!r} contains no entries. Expected lines 'Word  IPA' (a file) or "
                "a non-empty dict; check the phoneme_dict path or contents."
            )
        normalized, self.symbols = self._normalize_dict(entries)
        if apply_to_oov_word is None:
            logging.warning(OOV_WARNING)
        super().__init__(
            phoneme_dict=normalized,
            word_tokenize_func=english_word_tokenize if locale == "en-US" else any_locale_word_tokenize,
            apply_to_oov_word=apply_to_oov_word,
            mapping_file=mapping_file,
        )
        self.ignore_ambiguous_words = ignore_ambiguous_words
        if isinstance(heteronyms, (str, os.PathLike)):
            heteronyms = read_word_list(heteronyms)
        elif heteronyms is not None:
            heteronyms = list(heteronyms)
        self.heteronyms = (
            {set_grapheme_case(w, case=grapheme_case) for w in heteronyms} if heteronyms else None
        )

    @staticmethod
    def _parse_phoneme_dict(phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]]) -> PhonemeDict:
        """Read a dictionary file or validate a dict (see the class docstring)."""
        return _load_ipa(phoneme_dict)

    def replace_dict(self, phoneme_dict: str | os.PathLike | Mapping[str, list[list[str]]]) -> None:
        """Use another dictionary (as given: no case or stress normalization, ``symbols`` unchanged)."""
        self.phoneme_dict = self._parse_phoneme_dict(phoneme_dict)

    def _prepend_prefix_for_one_word(self, word: str) -> list[str]:
        return [f"{self.grapheme_prefix}{c}" for c in word]

    def _normalize_dict(self, entries: PhonemeDict) -> tuple[PhonemeDict, set[str]]:
        """Apply ``grapheme_case`` and ``use_stresses`` to the entries and collect the symbol set.

        Args:
            entries: ``{word: [[symbol, ...], ...]}``.

        Returns:
            The normalized dictionary (with upper-case copies of words for ``grapheme_case="mixed"``) and its
            symbols: every phoneme, plus the prefixed graphemes of the words when ``use_chars``.
        """
        normalized: PhonemeDict = {}
        symbols: set[str] = set()
        stresses = set(self.STRESS_SYMBOLS)
        for word, prons in entries.items():
            word = set_grapheme_case(word, case=self.grapheme_case)
            if self.use_chars:
                symbols.update(self._prepend_prefix_for_one_word(self.PUNCT_REGEX.sub("", word)))
            if not self.use_stresses:
                prons = [[s for s in pron if s not in stresses] for pron in prons]
            for pron in prons:
                symbols.update(pron)
            normalized[word] = prons
            if self.grapheme_case == GRAPHEME_CASE_MIXED and not word.isupper():
                normalized[word.upper()] = prons
        return normalized, symbols

    def replace_symbols(self, symbols: Iterable[str], keep_alternate: bool = True) -> None:
        """Restrict the vocabulary to ``symbols`` and drop dictionary entries that use anything else.

        Args:
            symbols: the valid graphemes (prefixed) and phonemes.
            keep_alternate: keep a word whose other pronunciations are valid (only those); False drops the word
                if any pronunciation is invalid.
        """
        valid = set(symbols)
        kept: PhonemeDict = {}
        for word, prons in self.phoneme_dict.items():
            graphemes = self._prepend_prefix_for_one_word(set_grapheme_case(word, self.grapheme_case))
            if not valid.issuperset(graphemes):
                continue
            legal = [pron for pron in prons if valid.issuperset(pron)]
            if legal and (keep_alternate or len(legal) == len(prons)):
                kept[word] = legal
        self.phoneme_dict = kept
        self.symbols = valid

    def is_unique_in_phoneme_dict(self, word: str) -> bool:
        """Whether ``word`` has exactly one pronunciation."""
        return len(self.phoneme_dict[word]) == 1

    def _find_stem(self, stem: str, word: str) -> str | None:
        """``stem`` (or its upper case) when ``word`` itself is not in the dictionary and the stem is usable."""
        if word in self.phoneme_dict or word.upper() in self.phoneme_dict:
            return None
        for candidate in (stem, stem.upper()):
            if candidate in self.phoneme_dict:
                if not self.ignore_ambiguous_words or self.is_unique_in_phoneme_dict(candidate):
                    return candidate
                return None
        return None

    def _english_suffix(self, word: str) -> list[str] | None:
        """Pronunciation of ``word's`` / ``words`` from the stem's (en-US)."""
        if len(word) > 2 and word[-2:] in ("'s", "'S"):
            stem = self._find_stem(word[:-2], word)
            if stem is not None:
                last = stem[-1].lower()
                suffix = ["s"] if last == "t" else ["ɪ", "z"] if last == "s" else ["z"]
                return self.phoneme_dict[stem][0] + suffix
        if len(word) > 1 and word[-1] in "sS":
            stem = self._find_stem(word[:-1], word)
            if stem is not None:
                return self.phoneme_dict[stem][0] + (["s"] if stem[-1] in "tT" else ["z"])
        return None

    def _french_contraction(self, word: str) -> list[str] | None:
        """Pronunciation of ``l'homme``-like words from the elided prefix and the rest (fr-FR)."""
        for graphemes, phonemes in _FRENCH_CONTRACTIONS:
            starter = graphemes + "'"
            if len(word) > 2 and (word.startswith(starter) or word.startswith(starter.upper())):
                rest = self._find_stem(word[len(starter) :], word)
                if rest is not None:
                    return list(phonemes) + self.phoneme_dict[rest][0]
        return None

    def parse_one_word(self, word: str) -> tuple[list[str], bool]:
        """Convert one word (or run of punctuation and spaces).

        Args:
            word: the word as the tokenizer gives it.

        Returns:
            ``(symbols, handled)``; ``handled`` is False only for an unknown word with ``apply_to_oov_word=None``.
        """
        word = set_grapheme_case(word, case=self.grapheme_case)
        if self.CHAR_REGEX.search(word) is None:
            return list(word), True
        if self.phoneme_probability is not None and self._rng.random() > self.phoneme_probability:
            return self._prepend_prefix_for_one_word(word), True
        if self.heteronyms and word in self.heteronyms:
            return self._prepend_prefix_for_one_word(word), True
        special = None
        if self.locale == "en-US":
            special = self._english_suffix(word)
        elif self.locale == "fr-FR":
            special = self._french_contraction(word)
        if special is not None:
            return special, True
        ignore_ambiguous = self.ignore_ambiguous_words
        if word in self.phoneme_dict and (not ignore_ambiguous or self.is_unique_in_phoneme_dict(word)):
            return self.phoneme_dict[word][0], True
        if self.grapheme_case == GRAPHEME_CASE_MIXED and word not in self.phoneme_dict:
            upper = word.upper()
            if upper in self.phoneme_dict:
                word = upper
                if not ignore_ambiguous or self.is_unique_in_phoneme_dict(word):
                    return self.phoneme_dict[word][0], True
        if self.apply_to_oov_word is not None:
            return self.apply_to_oov_word(word), True
        return self._prepend_prefix_for_one_word(word), False

    def __call__(self, text: str) -> list[str]:
        """Convert a sentence.

        Args:
            text: the sentence (NFC-normalized first).

        Returns:
            IPA symbols, prefixed graphemes, spaces and punctuation, one per item; ``|...|`` spans pass through
            split on spaces, each item prefixed with ``grapheme_prefix``.
        """
        prons: list[str] = []
        for words, without_changes in self.word_tokenize_func(normalize_unicode_text(text)):
            if without_changes:
                prons.extend(f"{self.grapheme_prefix}{w}" for w in words)
                continue
            if len(words) != 1:
                raise ValueError(
                    f"IpaG2p: the word tokenizer returned {words} for a changeable item; expected exactly one word. "
                    "Check word_tokenize_func."
                )
            word = words[0]
            prons.extend(self._parse_word_or_compound(word))
        return prons
