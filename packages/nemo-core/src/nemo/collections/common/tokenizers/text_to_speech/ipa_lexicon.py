"""Per-locale character sets and punctuation lists used by the TTS tokenizers and G2P models.

The sets are NeMo 1.23's (same members, so tokenizers built from them give the same token ids); the
punctuation lists are returned sorted, which fixes their order in a vocabulary.
"""

from __future__ import annotations

__all__ = [
    "SUPPORTED_LOCALES",
    "DEFAULT_PUNCTUATION",
    "VITS_PUNCTUATION",
    "GRAPHEME_CHARACTER_SETS",
    "IPA_CHARACTER_SETS",
    "GRAPHEME_CHARACTER_CASES",
    "validate_locale",
    "get_grapheme_character_set",
    "get_ipa_character_set",
    "get_ipa_punctuation_list",
]

SUPPORTED_LOCALES = ["en-US", "de-DE", "es-ES", "it-IT", "fr-FR"]

DEFAULT_PUNCTUATION = tuple(',.!?-:;/"()[]{}')

VITS_PUNCTUATION = tuple(',.!?-:;"«»“”¡¿—…')

_LATIN_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

GRAPHEME_CHARACTER_SETS = {
    "en-US": tuple(_LATIN_UPPER),
    "es-ES": tuple(_LATIN_UPPER + "ÁÉÍÑÓÚÜ"),
    "de-DE": tuple(_LATIN_UPPER + "ÄÖÜẞ"),
    "fr-FR": tuple(_LATIN_UPPER + "ÀÂÄÆÇÈÉÊËÍÎÏÑÔÖÙÛÜŌŒ"),
    "it-IT": tuple(_LATIN_UPPER + "ÀÈÉÌÒÙ"),
}

_COMBINING_TILDE = "\u0303"
_COMBINING_VERTICAL_LINE_BELOW = "\u0329"

IPA_CHARACTER_SETS = {
    "en-US": tuple(
        "abdefhijklmnoprstuvwxzæðŋɐɑɔəɚɛɜɡɪɬɹɾʃʊʌʒʔʲ"
        + _COMBINING_TILDE
        + _COMBINING_VERTICAL_LINE_BELOW
        + "θᵻ"
    ),
    "es-ES": tuple("abdefhijklmnoprstuwxðŋɛɡɣɪɲɾʃʊʎʒʝβθ"),
    "de-DE": tuple("1abdefhijklmnoprstuvwxyzçøŋœɐɑɒɔəɛɜɡɪɹɾʃʊʌʒ" + _COMBINING_TILDE + "θ"),
    "fr-FR": tuple("abdefhijklmnoprstuvwyzðøŋœɐɑɒɔəɛɜɡɪɲɹʁʃʊʌʒθː" + _COMBINING_TILDE),
    "it-IT": (
        *"abdefhijklmnoprstuvwxzæɐɑɔəɚɜɬɹʌʔʲ",
        _COMBINING_TILDE,
        _COMBINING_VERTICAL_LINE_BELOW,
        *"ᵻðŋɛɡɣɪɲɾʃʊʎʒʝβθ",
        "d\u0361",
        "t\u0361",
        *"øɒɕɓçɖɘɝɞɟʄɠɢʛɦɧħɥʜɨɫɮʟɱɯɰɳɵɸœɶʘɺɻʀʁɽʂʈʧʉʋⱱɤʍχʏʑʐʡʕʢǀǁǂː",
    ),
}

GRAPHEME_CHARACTER_CASES = ["upper", "lower", "mixed"]

_GUILLEMETS = ("«", "»", "‹", "›")
_GERMAN_QUOTES_AND_DASHES = ("„", "“", "‚", "‘", "‒", "–", "—")
_ITALIAN_EXTRA = (
    *_GERMAN_QUOTES_AND_DASHES,
    *"ʴʰʱʲʷˠˤ",
    "˞↓",  # NeMo 1.23 lists these two characters as one punctuation token.
    *"↑→↗↘”’",
)
_SPANISH_EXTRA = ("¿", "¡")
_FRENCH_EXTRA = ("–", "“", "”", "…", "\u0300", "\u0301", "\u0302", "\u0308", "\u0327")


def validate_locale(locale: str | None) -> None:
    """Raise if ``locale`` is not one of :data:`SUPPORTED_LOCALES`.

    Args:
        locale: a locale code such as ``"en-US"``.

    Raises:
        ValueError: the locale is not supported.
    """
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(
            f"Unsupported locale '{locale}'. Supported locales {SUPPORTED_LOCALES}: pass one of them "
            "(or locale=None where the class allows custom logic)."
        )


def get_grapheme_character_set(locale: str, case: str = "upper") -> str:
    """The letters of a locale's alphabet as one string.

    Args:
        locale: a key of :data:`GRAPHEME_CHARACTER_SETS`.
        case: ``"upper"``, ``"lower"`` or ``"mixed"`` (upper case letters followed by lower case ones).

    Returns:
        The letters, in NeMo 1.23's order.

    Raises:
        ValueError: unknown locale or case.
    """
    if locale not in GRAPHEME_CHARACTER_SETS:
        raise ValueError(
            f"Grapheme character set not found for locale '{locale}'. "
            f"Supported locales {list(GRAPHEME_CHARACTER_SETS)}."
        )
    letters = "".join(GRAPHEME_CHARACTER_SETS[locale])
    # str.upper() maps 'ß' to 'SS'; the capital sharp s keeps one character per letter.
    upper = letters.replace("ß", "ẞ").upper()
    if case == "upper":
        return upper
    if case == "lower":
        return letters.lower()
    if case == "mixed":
        return upper + letters.lower()
    raise ValueError(
        f"Grapheme character case not found: '{case}'. Supported cases are {GRAPHEME_CHARACTER_CASES}"
    )


def get_ipa_character_set(locale: str) -> set[str]:
    """The IPA symbols of a locale.

    Args:
        locale: a key of :data:`IPA_CHARACTER_SETS`.

    Returns:
        The set of symbols.

    Raises:
        ValueError: unknown locale.
    """
    if locale not in IPA_CHARACTER_SETS:
        raise ValueError(
            f"IPA character set not found for locale '{locale}'. Supported locales {list(IPA_CHARACTER_SETS)}."
        )
    return set(IPA_CHARACTER_SETS[locale])


def get_ipa_punctuation_list(locale: str | None) -> list[str]:
    """The sorted punctuation marks a tokenizer reserves for ``locale``.

    Args:
        locale: a supported locale, or ``None`` for :data:`DEFAULT_PUNCTUATION` alone.

    Returns:
        The marks, sorted by code point.

    Raises:
        ValueError: unsupported locale.
    """
    punct = set(DEFAULT_PUNCTUATION)
    if locale is None:
        return sorted(punct)
    validate_locale(locale)
    if locale != "en-US":
        punct.update(_GUILLEMETS)
    extra = {
        "de-DE": _GERMAN_QUOTES_AND_DASHES,
        "it-IT": _ITALIAN_EXTRA,
        "es-ES": _SPANISH_EXTRA,
        "fr-FR": _FRENCH_EXTRA,
    }.get(locale, ())
    punct.update(extra)
    return sorted(punct)
