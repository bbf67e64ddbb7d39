"""Text preprocessing and word splitting for the TTS tokenizers and G2P models (NeMo 1.23's functions).

A word tokenizer returns ``[(words, is_unchanged), ...]``: a run of letters (with inner ``-`` or ``'``) is
one word, a run of anything else (spaces, punctuation) is one item, and text between two ``|`` is kept as is
(split on spaces, ``is_unchanged=True``) so that phonemes can be written inline: ``"say |S EY1| now"``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "french_text_preprocessing",
    "chinese_text_preprocessing",
    "english_text_preprocessing",
    "any_locale_text_preprocessing",
    "spanish_text_preprocessing",
    "italian_text_preprocessing",
    "any_locale_word_tokenize",
    "english_word_tokenize",
    "LATIN_CHARS_ALL",
    "normalize_unicode_text",
]

LATIN_ALPHABET_BASIC = "A-Za-z"
ACCENTED_CHARS = "À-ÖØ-öø-ÿ"
LATIN_CHARS_ALL = f"{LATIN_ALPHABET_BASIC}{ACCENTED_CHARS}"

# Typographic quotes that English text preprocessing turns into their ASCII form.
SYNOGLYPH2ASCII = {"’": "'", "”": '"', "“": '"'}
_SYNOGLYPH_TABLE = str.maketrans(SYNOGLYPH2ASCII)


def _words_pattern(letters: str) -> re.Pattern[str]:
    """Three alternatives: a word, a ``|...|`` span, anything else up to the next letter or ``|``."""
    word = rf"[{letters}]+(?:[{letters}\-']*[{letters}]+)*"
    return re.compile(rf"({word})|(\|[^|]*\|)|([^{letters}|]+)")


_WORDS_RE_EN = _words_pattern(LATIN_ALPHABET_BASIC)
_WORDS_RE_ANY_LOCALE = _words_pattern(LATIN_CHARS_ALL)


def english_text_preprocessing(text: str, lower: bool = True) -> str:
    """Strip accents (NFD, drop combining marks), make curly quotes ASCII, and optionally lower-case.

    Args:
        text: the input sentence.
        lower: whether to lower-case the result.

    Returns:
        The preprocessed sentence.
    """
    decomposed = unicodedata.normalize("NFD", str(text))
    text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn").translate(_SYNOGLYPH_TABLE)
    return text.lower() if lower else text


def english_text_preprocessing_keep_case(text: str) -> str:
    """:func:`english_text_preprocessing` without lower-casing (phoneme tokenizers leave case to the G2P)."""
    return english_text_preprocessing(text, lower=False)


def normalize_unicode_text(text: str) -> str:
    """Compose characters with NFC, so that ``'o' + U+0308`` reads as the single letter ``'ö'``.

    Args:
        text: the input sentence.

    Returns:
        The NFC form of ``text``.
    """
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def any_locale_text_preprocessing(text: str) -> str:
    """NFC-normalize and turn the right single quotation mark (U+2019) into an apostrophe.

    Args:
        text: the input sentence.

    Returns:
        The preprocessed sentence.
    """
    return normalize_unicode_text(text).replace("’", "'")


def spanish_text_preprocessing(text: str) -> str:
    """Lower-case (Spanish chars tokenizer)."""
    return text.lower()


def italian_text_preprocessing(text: str) -> str:
    """Lower-case (Italian tokenizers)."""
    return text.lower()


def french_text_preprocessing(text: str) -> str:
    """Lower-case (French chars tokenizer)."""
    return text.lower()


def chinese_text_preprocessing(text: str) -> str:
    """Identity (Chinese text is left to the G2P)."""
    return text


def _word_tokenize(
    matches: list[tuple[str, str, str]], is_lower: bool = False
) -> list[tuple[list[str], bool]]:
    """Turn regex matches ``(word, unchanged_span, other)`` into ``(tokens, is_unchanged)`` items.

    Args:
        matches: ``re.findall`` output of one of the word patterns; exactly one group of each is non-empty.
        is_lower: lower-case the words (not the ``|...|`` spans nor the other items).

    Returns:
        One ``(tokens, is_unchanged)`` per match; a ``|...|`` span is split on spaces.
    """
    result = []
    for word, unchanged, other in matches:
        if word:
            result.append(([word.lower() if is_lower else word], False))
        elif other:
            result.append(([other], False))
        elif unchanged:
            result.append((unchanged[1:-1].split(" "), True))
        else:
            raise ValueError(
                f"A word pattern matched an empty string: {(word, unchanged, other)}. Expected one non-empty "
                "group; check _WORDS_RE_EN / _WORDS_RE_ANY_LOCALE in tokenizer_utils.py."
            )
    return result


def english_word_tokenize(text: str) -> list[tuple[list[str], bool]]:
    """Split English text into lower-cased words, other runs and ``|...|`` spans.

    Example:
        >>> english_word_tokenize("Hi, |HH AY1|!")
        [(['hi'], False), ([', '], False), (['HH', 'AY1'], True), (['!'], False)]
    """
    return _word_tokenize(_WORDS_RE_EN.findall(text), is_lower=True)


def any_locale_word_tokenize(text: str) -> list[tuple[list[str], bool]]:
    """Split text into words (Latin letters with accents, case kept), other runs and ``|...|`` spans."""
    return _word_tokenize(_WORDS_RE_ANY_LOCALE.findall(text))
