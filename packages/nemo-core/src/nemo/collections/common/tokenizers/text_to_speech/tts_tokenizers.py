"""Text-to-token tokenizers for TTS models (NeMo 1.23's classes, arguments and token order).

Vocabulary layout of every tokenizer: its symbols (space first for the chars and ARPAbet tokenizers), then
``<pad>``, then ``<blank>`` if ``add_blank_at`` is set, then ``<oov>``; ``add_blank_at="last"`` swaps the last
two. ``tok(text) == tok.encode(text)`` gives a list of ids; ``tok.decode(ids)`` joins the symbols without pad,
blank and oov.

Example:
    >>> tok = EnglishCharsTokenizer()
    >>> tok.decode(tok("Hello, world!"))
    'hello, world!'
"""

from __future__ import annotations

import itertools
import string
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from nemo.collections.common.tokenizers.text_to_speech.ipa_lexicon import (
    DEFAULT_PUNCTUATION,
    get_grapheme_character_set,
    get_ipa_punctuation_list,
    validate_locale,
)
from nemo.collections.common.tokenizers.text_to_speech.tokenizer_utils import (
    any_locale_text_preprocessing,
    english_text_preprocessing,
    english_text_preprocessing_keep_case,
    french_text_preprocessing,
    italian_text_preprocessing,
    spanish_text_preprocessing,
)
from nemo.utils import logging

__all__ = [
    "BaseTokenizer",
    "BaseCharsTokenizer",
    "EnglishCharsTokenizer",
    "GermanCharsTokenizer",
    "SpanishCharsTokenizer",
    "FrenchCharsTokenizer",
    "ItalianCharsTokenizer",
    "GermanPhonemesTokenizer",
    "ItalianPhonemesTokenizer",
    "EnglishPhonemesTokenizer",
    "IPATokenizer",
]


_APOSTROPHE = frozenset("'")


def _identity(text: str) -> str:
    return text


class BaseTokenizer(ABC):
    """A vocabulary of string tokens plus the pad, blank and oov tokens.

    Args:
        tokens: the symbols, in id order.
        pad: pad token.
        blank: blank token (only in the vocabulary when ``add_blank_at`` is not None).
        oov: out-of-vocabulary token.
        sep: what :meth:`decode` puts between symbols.
        add_blank_at: None (no blank; ``self.blank`` is None), ``"last"`` (blank is the last id, after oov) or
            any other value (blank right after pad).
    """

    PAD, BLANK, OOV = "<pad>", "<blank>", "<oov>"

    def __init__(
        self,
        tokens: Sequence[str],
        *,
        pad: str = PAD,
        blank: str = BLANK,
        oov: str = OOV,
        sep: str = "",
        add_blank_at: Any = None,
    ) -> None:
        super().__init__()
        tokens = list(tokens)
        self.pad = len(tokens)
        tokens.append(pad)
        self.blank = None
        if add_blank_at is not None:
            self.blank = len(tokens)
            tokens.append(blank)
        self.oov = len(tokens)
        tokens.append(oov)
        if add_blank_at == "last":
            tokens[-2], tokens[-1] = tokens[-1], tokens[-2]
            self.blank, self.oov = self.oov, self.blank

        self.tokens = tokens
        self.sep = sep
        self._util_ids = {self.pad, self.blank, self.oov}
        self._token2id = {token: i for i, token in enumerate(tokens)}
        self._id2token = tokens

    def __call__(self, text: str) -> list[int]:
        return self.encode(text)

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Turn text into token ids."""

    def decode(self, tokens: Sequence[int]) -> str:
        """Turn token ids into text, leaving out pad, blank and oov.

        Args:
            tokens: ids, e.g. a list or a 1-D tensor's ``tolist()``.

        Returns:
            The symbols joined with ``self.sep``.
        """
        return self.sep.join(self._id2token[t] for t in tokens if t not in self._util_ids)

    def _keep_known(
        self, items: Iterable[str], extra: frozenset[str], on_unknown: Callable[[str], None]
    ) -> list[str]:
        """The symbols of ``items`` that encode: runs of spaces collapse to one, letters, digits and ``extra``
        symbols are kept when in the vocabulary, punctuation when punctuation is on; the rest go to
        ``on_unknown`` and are dropped.

        Used by the subclasses, which set ``self.space``, ``self._symbol_set`` and ``self._punct_set``.
        """
        space = self.tokens[self.space]
        symbols: list[str] = []
        known, punct = self._symbol_set, self._punct_set
        for p in items:
            if p == space:
                if symbols and symbols[-1] != space:
                    symbols.append(p)
            elif (p.isalnum() or p in extra) and p in known:
                symbols.append(p)
            elif p in punct:
                symbols.append(p)
            else:
                on_unknown(p)
        return symbols

    def _finish(self, symbols: list[str]) -> list[int]:
        """Drop trailing spaces, add the ``pad_with_space`` spaces and map symbols to ids.

        Used by the subclasses, which set ``self.space`` (the space token's id) and ``self.pad_with_space``.
        """
        space = self.tokens[self.space]
        while symbols and symbols[-1] == space:
            symbols.pop()
        if self.pad_with_space:
            symbols = [space, *symbols, space]
        token2id = self._token2id
        return [token2id[s] for s in symbols]


class BaseCharsTokenizer(BaseTokenizer):
    """Character tokenizer: space, the characters, apostrophe, punctuation, then pad/blank/oov.

    Args:
        chars: every character of the alphabet, in id order.
        punct: reserve tokens for punctuation (``PUNCT_LIST`` or ``non_default_punct_list``).
        apostrophe: reserve a token for ``'``.
        add_blank_at: see :class:`BaseTokenizer`.
        pad_with_space: add a space token at the start and end of every encoded text.
        non_default_punct_list: punctuation marks to use instead of ``PUNCT_LIST``.
        text_preprocessing_func: applied to the text before encoding.
    """

    PUNCT_LIST = DEFAULT_PUNCTUATION
    # Characters other than letters and digits that encode keeps when they are in the vocabulary.
    _EXTRA_SYMBOLS: frozenset[str] = _APOSTROPHE

    def __init__(
        self,
        chars: str | Sequence[str],
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = None,
        text_preprocessing_func: Callable[[str], str] = _identity,
    ) -> None:
        tokens = [" ", *chars]
        self.space = 0
        if apostrophe:
            tokens.append("'")
        if punct:
            if non_default_punct_list is not None:
                self.PUNCT_LIST = non_default_punct_list
            tokens.extend(self.PUNCT_LIST)
        super().__init__(tokens, add_blank_at=add_blank_at)

        self.punct = punct
        self.pad_with_space = pad_with_space
        self.text_preprocessing_func = text_preprocessing_func
        self._symbol_set = frozenset(self.tokens)
        self._punct_set = frozenset(self.PUNCT_LIST) if punct else frozenset()

    def encode(self, text: str) -> list[int]:
        """Encode characters; spaces collapse to one, unknown characters are skipped with a warning.

        Args:
            text: the input sentence.

        Returns:
            Token ids, one per kept character.
        """
        text = self.text_preprocessing_func(text)

        def warn(c: str) -> None:
            logging.warning(f"Text: [{text}] contains unknown char: [{c}]. Symbol will be skipped.")

        return self._finish(self._keep_known(text, self._EXTRA_SYMBOLS, warn))


class EnglishCharsTokenizer(BaseCharsTokenizer):
    """English letters ``a-z`` (text is lower-cased and stripped of accents first).

    Args: see :class:`BaseCharsTokenizer`; ``text_preprocessing_func`` defaults to
        :func:`english_text_preprocessing`.
    """

    def __init__(
        self,
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = None,
        text_preprocessing_func: Callable[[str], str] = english_text_preprocessing,
    ) -> None:
        super().__init__(
            chars=string.ascii_lowercase,
            punct=punct,
            apostrophe=apostrophe,
            add_blank_at=add_blank_at,
            pad_with_space=pad_with_space,
            non_default_punct_list=non_default_punct_list,
            text_preprocessing_func=text_preprocessing_func,
        )


class GermanCharsTokenizer(BaseCharsTokenizer):
    """German letters, upper and lower case; German punctuation by default; text is NFC-normalized.

    Args: see :class:`BaseCharsTokenizer`.
    """

    _LOCALE = "de-DE"
    _PUNCT_LIST = get_ipa_punctuation_list(_LOCALE)
    _CHARSET_STR = get_grapheme_character_set(locale=_LOCALE, case="mixed")

    def __init__(
        self,
        chars: str = _CHARSET_STR,
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = _PUNCT_LIST,
        text_preprocessing_func: Callable[[str], str] = any_locale_text_preprocessing,
    ) -> None:
        super().__init__(
            chars=chars,
            punct=punct,
            apostrophe=apostrophe,
            add_blank_at=add_blank_at,
            pad_with_space=pad_with_space,
            non_default_punct_list=non_default_punct_list,
            text_preprocessing_func=text_preprocessing_func,
        )


class _LowerCaseLocaleCharsTokenizer(BaseCharsTokenizer):
    """Chars tokenizer of a fixed lower-case alphabet and a locale's punctuation, lower-casing the text."""

    _ALPHABET = ""
    _PREPROCESS: Callable[[str], str] = staticmethod(_identity)

    def __init__(
        self,
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            chars=self._ALPHABET,
            punct=punct,
            apostrophe=apostrophe,
            add_blank_at=add_blank_at,
            pad_with_space=pad_with_space,
            non_default_punct_list=non_default_punct_list,
            text_preprocessing_func=type(self)._PREPROCESS,
        )


class SpanishCharsTokenizer(_LowerCaseLocaleCharsTokenizer):
    """Spanish letters ``a-z`` and ``áéíñóúü``; Spanish punctuation (``¿``, ``¡``, guillemets).

    Args: see :class:`BaseCharsTokenizer` (no ``chars`` nor ``text_preprocessing_func``; text is lower-cased).
    """

    PUNCT_LIST = get_ipa_punctuation_list("es-ES")
    _ALPHABET = string.ascii_lowercase + "áéíñóúü"
    _PREPROCESS = staticmethod(spanish_text_preprocessing)


class FrenchCharsTokenizer(_LowerCaseLocaleCharsTokenizer):
    """French letters (``get_grapheme_character_set("fr-FR", "lower")``); French punctuation.

    Args: see :class:`BaseCharsTokenizer` (no ``chars`` nor ``text_preprocessing_func``; text is lower-cased).
    """

    PUNCT_LIST = get_ipa_punctuation_list("fr-FR")
    _ALPHABET = get_grapheme_character_set(locale="fr-FR", case="lower")
    _PREPROCESS = staticmethod(french_text_preprocessing)


class ItalianCharsTokenizer(_LowerCaseLocaleCharsTokenizer):
    """Italian letters ``a-z`` and ``àèéìòùó``; Italian punctuation.

    Args: see :class:`BaseCharsTokenizer` (no ``chars`` nor ``text_preprocessing_func``; text is lower-cased).
    """

    PUNCT_LIST = get_ipa_punctuation_list("it-IT")
    _ALPHABET = string.ascii_lowercase + "àèéìòùó"
    _PREPROCESS = staticmethod(italian_text_preprocessing)


class GermanPhonemesTokenizer(BaseCharsTokenizer):
    """German IPA characters (one token per character, combining tilde included) and stress digits ``1``, ``2``.

    Args: see :class:`BaseCharsTokenizer`; ``text_preprocessing_func`` defaults to
        :func:`any_locale_text_preprocessing`.
    """

    _EXTRA_SYMBOLS = frozenset("'\u0303")

    def __init__(
        self,
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = None,
        text_preprocessing_func: Callable[[str], str] = any_locale_text_preprocessing,
    ) -> None:
        super().__init__(
            chars="abdefhijklmnoprstuvwxyzçðøŋœɐɑɒɔəɛɜɡɪɹɾʃʊʌʒː\u0303" + "12",
            punct=punct,
            apostrophe=apostrophe,
            add_blank_at=add_blank_at,
            pad_with_space=pad_with_space,
            non_default_punct_list=non_default_punct_list,
            text_preprocessing_func=text_preprocessing_func,
        )


class ItalianPhonemesTokenizer(BaseCharsTokenizer):
    """Italian IPA characters (one token per character, NeMo 1.23's list with its repeats) and extra quotes.

    Args: see :class:`BaseCharsTokenizer`; ``text_preprocessing_func`` defaults to lower-casing.
    """

    PUNCT_LIST = (*DEFAULT_PUNCTUATION, *"„“”‘’‒—«»‹›_")
    _EXTRA_SYMBOLS = frozenset("'\u0303")
    # NeMo 1.23's string, repeats included: they take ids too, and a repeated symbol encodes to its last id.
    _IPA = (
        "abcdefghijklmnopqrstuvwxyzàèéìòùóæɐɑɔəɚɜɬɹʌʔᵻðŋɛɡɣɪɲɾʃʊʎʒʝβθd\u0361't\u0361'øɒɕɓçɖɘɝɞɟʄɡɠɢʛɦɧħɥʜɨɬɫɮʟɱɯɰɳ"
        "ɵɸœɶʘɺɻʀʁɽʂʈʧʉʋⱱɤʍχʏʑʐʔʡʕʢǀǁǂᵻʃ'ː"
    )

    def __init__(
        self,
        punct: bool = True,
        apostrophe: bool = True,
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        non_default_punct_list: Sequence[str] | None = None,
        text_preprocessing_func: Callable[[str], str] = italian_text_preprocessing,
    ) -> None:
        super().__init__(
            chars=self._IPA,
            punct=punct,
            apostrophe=apostrophe,
            add_blank_at=add_blank_at,
            pad_with_space=pad_with_space,
            non_default_punct_list=non_default_punct_list,
            text_preprocessing_func=text_preprocessing_func,
        )


class _G2pTokenizerMixin:
    """``encode`` through a G2P and ``set_phone_prob`` for the phoneme tokenizers."""

    g2p: Callable[[str], list[str]]
    phoneme_probability: float | None
    text_preprocessing_func: Callable[[str], str]

    def encode(self, text: str) -> list[int]:
        """Preprocess ``text``, run the G2P on it and encode its output (see ``encode_from_g2p``)."""
        text = self.text_preprocessing_func(text)
        return self.encode_from_g2p(self.g2p(text), text)

    @contextmanager
    def set_phone_prob(self, prob: float | None) -> Iterator[None]:
        """Within the block, the G2P uses ``prob`` as its ``phoneme_probability``; restored afterwards.

        Args:
            prob: probability that a word is given as phonemes rather than graphemes.
        """
        has_prob = hasattr(self.g2p, "phoneme_probability")
        if has_prob:
            self.g2p.phoneme_probability = prob
        try:
            yield
        finally:
            if has_prob:
                self.g2p.phoneme_probability = self.phoneme_probability

    def _warn_unknown(self, symbol: str, g2p_text: Sequence[str], raw_text: str | None) -> None:
        message = f"Text: [{''.join(g2p_text)}] contains unknown char/phoneme: [{symbol}]."
        if raw_text is not None:
            message += f"Original text: [{raw_text}]. Symbol will be skipped."
        logging.warning(message)


class EnglishPhonemesTokenizer(_G2pTokenizerMixin, BaseTokenizer):
    """ARPAbet tokenizer: space, [silence], consonants, vowels (with stresses 0-2 if ``stresses``), [a-z], ', punct.

    Args:
        g2p: a G2P callable (``EnglishG2p``) returning a list of phonemes, graphemes, spaces and punctuation.
        punct: reserve tokens for punctuation.
        non_default_punct_list: punctuation to use instead of ``PUNCT_LIST``.
        stresses: keep vowel stresses (``AH0``) as separate tokens; otherwise they are dropped (``AH``).
        chars: add the letters ``a-z`` (for G2P output that spells words); forced on when the G2P has a
            ``phoneme_probability``.
        space: space token.
        silence: silence token, or None for none.
        apostrophe: reserve a token for ``'``.
        oov: oov token.
        sep: :meth:`decode` separator.
        add_blank_at: see :class:`BaseTokenizer`.
        pad_with_space: add a space token at the start and end.
        text_preprocessing_func: applied before the G2P (default keeps case: the G2P handles it).
    """

    PUNCT_LIST = DEFAULT_PUNCTUATION
    VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
    CONSONANTS = (
        *("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N"),
        *("NG", "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH"),
    )

    def __init__(
        self,
        g2p: Callable[[str], list[str]],
        punct: bool = True,
        non_default_punct_list: Sequence[str] | None = None,
        stresses: bool = False,
        chars: bool = False,
        *,
        space: str = " ",
        silence: str | None = None,
        apostrophe: bool = True,
        oov: str = BaseTokenizer.OOV,
        sep: str = "|",
        add_blank_at: Any = None,
        pad_with_space: bool = False,
        text_preprocessing_func: Callable[[str], str] = english_text_preprocessing_keep_case,
    ) -> None:
        self.phoneme_probability = getattr(g2p, "phoneme_probability", None)
        tokens = [space]
        self.space = 0
        if silence is not None:
            self.silence = len(tokens)
            tokens.append(silence)
        tokens.extend(self.CONSONANTS)
        if stresses:
            tokens.extend(f"{v}{s}" for v, s in itertools.product(self.VOWELS, (0, 1, 2)))
        else:
            tokens.extend(self.VOWELS)
        if chars or self.phoneme_probability is not None:
            if not chars:
                logging.warning(
                    "phoneme_probability was not None, characters will be enabled even though chars was set to False."
                )
            tokens.extend(string.ascii_lowercase)
        if apostrophe:
            tokens.append("'")
        if punct:
            if non_default_punct_list is not None:
                self.PUNCT_LIST = non_default_punct_list
            tokens.extend(self.PUNCT_LIST)
        super().__init__(tokens, oov=oov, sep=sep, add_blank_at=add_blank_at)

        self.chars = chars if self.phoneme_probability is None else True
        self.punct = punct
        self.stresses = stresses
        self.pad_with_space = pad_with_space
        self.text_preprocessing_func = text_preprocessing_func
        self.g2p = g2p
        self._symbol_set = frozenset(self.tokens)
        self._punct_set = frozenset(self.PUNCT_LIST) if punct else frozenset()

    def encode_from_g2p(self, g2p_text: Sequence[str], raw_text: str | None = None) -> list[int]:
        """Encode G2P output (e.g. ``["S", "IY1", " ", "o", "o", "v"]``); stresses are dropped if not kept.

        Args:
            g2p_text: the G2P's symbols.
            raw_text: the preprocessed input, only for the warning about skipped symbols.

        Returns:
            Token ids.
        """
        symbols = g2p_text
        if not self.stresses:
            symbols = [p[:2] if len(p) == 3 and p.isalnum() else p for p in g2p_text]
        kept = self._keep_known(symbols, _APOSTROPHE, lambda p: self._warn_unknown(p, g2p_text, raw_text))
        return self._finish(kept)


class IPATokenizer(_G2pTokenizerMixin, BaseTokenizer):
    """IPA tokenizer over the symbols of an ``IpaG2p``: the sorted symbols, apostrophe and punctuation, then space.

    Args:
        g2p: an ``IpaG2p`` (anything with ``symbols`` and ``replace_symbols``).
        locale: ``"en-US"``, ``"de-DE"``, ``"es-ES"``, ``"it-IT"``, ``"fr-FR"`` or None (custom locale); picks
            the default punctuation and text preprocessing.
        punct: reserve tokens for punctuation.
        non_default_punct_list: punctuation to use instead of the locale's.
        fixed_vocab: the exact symbols to use instead of the G2P's; the G2P is then restricted to them.
        space: space token.
        silence: silence token, or None.
        apostrophe: reserve a token for ``'``.
        oov: oov token.
        sep: :meth:`decode` separator.
        add_blank_at: see :class:`BaseTokenizer`.
        pad_with_space: add a space token at the start and end.

    Raises:
        ValueError: the G2P has no ``symbols`` or the locale is not supported.
    """

    def __init__(
        self,
        g2p: Any,
        locale: str | None = "en-US",
        punct: bool = True,
        non_default_punct_list: Sequence[str] | None = None,
        fixed_vocab: Sequence[str] | None = None,
        *,
        space: str = " ",
        silence: str | None = None,
        apostrophe: bool = False,
        oov: str = BaseTokenizer.OOV,
        sep: str = "|",
        add_blank_at: Any = None,
        pad_with_space: bool = False,
    ) -> None:
        if not hasattr(g2p, "symbols"):
            raise ValueError(
                f"The G2P given to IPATokenizer has no `symbols` attribute (got {type(g2p).__name__}); the vocabulary "
                "is built from it. Pass an IpaG2p (nemo.collections.tts.g2p.models.i18n_ipa.IpaG2p) or a subclass."
            )
        if locale is not None:
            validate_locale(locale)
        self.phoneme_probability = getattr(g2p, "phoneme_probability", None)
        self.text_preprocessing_func = (
            english_text_preprocessing_keep_case if locale == "en-US" else any_locale_text_preprocessing
        )

        self.set_fixed_vocab = False
        if fixed_vocab:
            symbols = {self.text_preprocessing_func(c) for c in fixed_vocab}
            if g2p.symbols == symbols:
                logging.info(
                    "Did not replace G2P valid symbol set since the given set is equivalent to the existing one."
                )
            else:
                self.set_fixed_vocab = True
                g2p.replace_symbols(symbols)
        else:
            symbols = set(g2p.symbols)
        if apostrophe:
            symbols.add("'")
        self.punct_list: Sequence[str] = ()
        if punct:
            self.punct_list = (
                non_default_punct_list
                if non_default_punct_list is not None
                else get_ipa_punctuation_list(locale)
            )
            symbols.update(self.punct_list)

        tokens = sorted(symbols)
        if space in g2p.symbols:
            self.space = tokens.index(space)
        else:
            self.space = len(tokens)
            tokens.append(space)
        if silence is not None:
            self.silence = len(tokens)
            tokens.append(silence)
        super().__init__(tokens, oov=oov, sep=sep, add_blank_at=add_blank_at)

        self.tokens_set = set(self.tokens)
        self.punct = punct
        self.pad_with_space = pad_with_space
        self.g2p = g2p
        self._symbol_set = frozenset(self.tokens)

    def encode_from_g2p(self, g2p_text: Sequence[str], raw_text: str | None = None) -> list[int]:
        """Encode G2P output (phonemes and ``#``-prefixed graphemes, e.g. ``["ˈ", "s", "i", " ", "#O"]``).

        Args:
            g2p_text: the G2P's symbols.
            raw_text: the preprocessed input, only for the warning about skipped symbols.

        Returns:
            Token ids.
        """
        # Unlike the other tokenizers, NeMo 1.23 keeps every space here, leading and repeated ones included:
        # the space is a vocabulary symbol like any other.
        symbols: list[str] = []
        known = self._symbol_set
        for p in g2p_text:
            if p in known or (self.punct and p in self.punct_list):
                symbols.append(p)
            else:
                self._warn_unknown(p, g2p_text, raw_text)
        return self._finish(symbols)
