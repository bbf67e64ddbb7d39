"""English transcript cleaning of NeMo 1.23's ``ENCharParser`` (NeMo's ``cleaners.clean_text``).

:func:`clean_text` folds the text to ASCII, lowercases it, spells numbers out (:func:`clean_numbers`),
expands abbreviations (:func:`clean_abbreviations`), speaks or blanks punctuation
(:func:`clean_punctuations`) and collapses whitespace. What NeMo 1.23 produces, this produces, e.g.
``"Dr. Smith paid $3.50 on the 21st at 10:30am"`` ->
``"doctor smith paid three dollars and fifty cents on the twenty-first at ten thirty am"``, including
NeMo's quirks: ``"$1"`` is ``"one dollars"`` and a number's trailing punctuation after an ordinal or a
time is dropped.

NeMo folds to ASCII with ``text_unidecode``; here Unicode's compatibility decomposition (NFKD) does it,
plus ``text_unidecode``'s spelling of the non-decomposable characters common in English text (curly quotes,
dashes, ``æ``, ``ß``, ``£`` -> ``ps``, ``€`` -> ``eur``, ...). Letters of other scripts, which
``text_unidecode`` would romanize, are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from nemo.collections.asr.parts.preprocessing.number_words import number_to_words
from nemo.utils import logging

__all__ = [
    "ABBREVIATION_VERSIONS",
    "clean_abbreviations",
    "clean_numbers",
    "clean_punctuations",
    "clean_text",
]

# text_unidecode's ASCII for characters that have no compatibility decomposition.
_TRANSLITERATIONS = str.maketrans(
    {
        "¡": "!", "¢": "C/", "£": "PS", "¥": "Y=", "¦": "|", "§": "SS", "©": "(c)", "«": "<<", "¬": "!",
        "®": "(r)", "°": "deg", "±": "+-", "µ": "u", "¶": "P", "·": "*", "»": ">>", "¼": "1/4", "½": "1/2",
        "¾": "3/4", "¿": "?", "Æ": "AE", "Ð": "D", "×": "x", "Ø": "O", "Þ": "Th", "ß": "ss", "æ": "ae",
        "ð": "d", "÷": "/", "ø": "o", "þ": "th", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ł": "L",
        "ł": "l", "Œ": "OE", "œ": "oe", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "--", "―": "--",
        "‘": "'", "’": "'", "‚": ",", "‛": "'", "“": '"', "”": '"', "„": ",,", "‟": '"', "•": "*",
        "′": "'", "″": "''", "‹": "<", "›": ">", "€": "EUR", "™": "tm", "\u200b": " ",
    }
)  # fmt: skip

# NeMo's abbreviation tables, applied in this order to lowercased text ("st." is "saint": its later
# "street" entry never matches).
_COMMON = (
    ("ms", "miss"), ("mrs", "misess"), ("mr", "mister"), ("messrs", "messeurs"), ("dr", "doctor"),
    ("drs", "doctors"), ("st", "saint"), ("co", "company"), ("jr", "junior"), ("sr", "senior"),
    ("rev", "reverend"), ("hon", "honorable"), ("sgt", "sergeant"), ("capt", "captain"), ("maj", "major"),
    ("col", "colonel"), ("lt", "lieutenant"), ("gen", "general"), ("prof", "professor"), ("lb", "pounds"),
    ("rep", "representative"), ("st", "street"), ("ave", "avenue"), ("etc", "et cetera"), ("jan", "january"),
    ("feb", "february"), ("mar", "march"), ("apr", "april"), ("jun", "june"), ("jul", "july"),
    ("aug", "august"), ("sep", "september"), ("oct", "october"), ("nov", "november"), ("dec", "december"),
)  # fmt: skip
_EXPANDED = (
    ("ltd", "limited"), ("fig", "figure"), ("figs", "figures"), ("gent", "gentlemen"), ("ft", "fort"),
    ("esq", "esquire"), ("prep", "preperation"), ("bros", "brothers"), ("ind", "independent"),
    ("mme", "madame"), ("pro", "professional"), ("vs", "versus"),
)  # fmt: skip
_FASTPITCH = tuple(pair for pair in _COMMON if pair[0] not in ("messrs", "etc")) + _EXPANDED
_ABBREVIATION_TABLES = {
    None: _COMMON,
    "fastpitch": _FASTPITCH,
    "expanded": _COMMON + _EXPANDED + (("inc", "include"),),
}
ABBREVIATION_VERSIONS = tuple(_ABBREVIATION_TABLES)
"""Values of ``abbreviation_version``: ``None``, ``"fastpitch"``, ``"expanded"``."""
_ABBREVIATIONS = {
    version: tuple((re.compile(rf"\b{short}\."), full) for short, full in table)
    for version, table in _ABBREVIATION_TABLES.items()
}

_TIME = re.compile(r"(\d{1,2}):(\d{2})(am|pm)?")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")
_THOUSANDS_CONTINUATION = re.compile(r"\d{3}(?:[.,]\d{1,2})?[!.?]?")
_CENTS = re.compile(r"[.,](\d{1,2})$")
_DIGIT_RUN = re.compile(r"[\d,]+")


def clean_text(
    string: str,
    table: Mapping[int, str] | None,
    punctuation_to_replace: Mapping[str, str],
    abbreviation_version: str | None = None,
) -> str:
    """Clean an English transcript as NeMo 1.23's ``ENCharParser`` does before tokenizing.

    Args:
        string: the raw transcript.
        table: ``str.translate`` table turning punctuation into spaces, or ``None`` to keep punctuation.
        punctuation_to_replace: symbols spoken as words, ``{"&": "and"}``.
        abbreviation_version: ``None`` (NeMo's common table), ``"fastpitch"`` or ``"expanded"``.

    Returns:
        The cleaned text: ASCII, lowercase, single-spaced, stripped.

    Raises:
        ValueError: a number cannot be read (``"$ .5"``, over 36 digits), or ``abbreviation_version`` is
            unknown.
    """
    if re.search(r"[£€]", string):
        logging.warning("Your transcript contains one of '£' or '€' which we do not currently handle")
    string = _to_ascii(string).lower()
    string = re.sub(r"\s+", " ", string)
    string = clean_numbers(string)
    string = clean_abbreviations(string, version=abbreviation_version)
    string = clean_punctuations(string, table, punctuation_to_replace)
    return re.sub(r"\s+", " ", string).strip()


def _to_ascii(text: str) -> str:
    text = text.translate(_TRANSLITERATIONS)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def clean_abbreviations(string: str, version: str | None = None) -> str:
    """Expand ``"dr."``, ``"mr."``, ``"jan."``, ... (lowercase, followed by a period) into words.

    Args:
        string: lowercased text.
        version: ``None`` (common table), ``"fastpitch"`` (TTS table) or ``"expanded"`` (common plus
            ``"ltd."``, ``"vs."``, ...; NeMo 1.23 fails on this value, which looks like a bug there).

    Raises:
        ValueError: ``version`` is none of those.
    """
    if version not in _ABBREVIATIONS:
        raise ValueError(
            f"abbreviation_version={version!r} is unknown; expected one of None, 'fastpitch', 'expanded' "
            "(ENCharParser's abbreviation_version)."
        )
    for pattern, replacement in _ABBREVIATIONS[version]:
        string = pattern.sub(replacement, string)
    return string


def clean_punctuations(
    string: str, table: Mapping[int, str] | None, punctuation_to_replace: Mapping[str, str]
) -> str:
    """Speak the symbols of ``punctuation_to_replace`` (``"&"`` -> ``" and "``), then apply ``table``."""
    for symbol, word in punctuation_to_replace.items():
        string = string.replace(symbol, f" {word} ")
    return string.translate(table) if table else string


def clean_numbers(string: str) -> str:
    """Spell out every whitespace-separated token that holds a digit, as NeMo 1.23 does.

    A token is read, in this order of precedence, as a time (``"10:30pm"`` -> ``"ten thirty pm"``, minutes
    ``00`` silent), an ordinal (``"21st"`` -> ``"twenty-first"``), or an amount: a token starting with ``$``
    or following a word that ends in ``$`` is dollars (``"$3.05"`` -> ``"three dollars and five cents"``),
    otherwise a two-digit fraction is read with ``point`` and other digit runs as integers
    (``"50%"`` -> ``"fifty %"``). A token followed by a token of exactly three digits is joined with it
    (``"1 000"`` -> ``"one thousand"``).

    Args:
        string: lowercased, single-spaced text.

    Returns:
        The text with numbers in words (spacing not normalized).
    """
    original = string.split(" ")
    tokens = list(original)
    pending: list[str] = []
    currency = False
    for index, token in enumerate(original):
        if not _has_digit(token):
            continue
        # A "$" ending the word before goes with the number, unless that word is a number itself.
        dollar_before = (
            index > 0 and original[index - 1].endswith("$") and not _has_digit(original[index - 1])
        )
        if dollar_before:
            tokens[index - 1] = tokens[index - 1][:-1]
        time = _TIME.match(token)
        if time:
            tokens[index] = _time_words(time)
            continue
        ordinal = _ORDINAL.match(token)
        if ordinal:
            tokens[index] = number_to_words(ordinal[0])
            continue
        currency = currency or dollar_before or token.startswith("$")
        following = original[index + 1] if index + 1 < len(original) else ""
        if _THOUSANDS_CONTINUATION.fullmatch(following):
            pending.append(token)
            tokens[index] = ""
            continue
        tokens[index] = _amount_words("".join(pending) + token, currency)
        pending, currency = [], False
    return " ".join(tokens)


def _has_digit(token: str) -> bool:
    return any(char.isdigit() for char in token)


def _time_words(time: re.Match) -> str:
    hours, minutes, half_day = time.groups()
    words = number_to_words(hours)
    if int(minutes):
        words += " " + number_to_words(minutes)
    return words + (f" {half_day}" if half_day else "")


def _amount_words(number: str, currency: bool) -> str:
    """``"$3.05"`` -> ``"three dollars and five cents"``; ``"3.14"`` -> ``"three point one four"``."""
    cents_match = _CENTS.search(number)
    cents = cents_match[1] if cents_match else None
    whole = (number[: cents_match.start()] if cents_match else number).replace(".", "")
    if currency:
        words = number_to_words(whole) + " dollars"
        if cents:
            # NeMo compares the strings of the two parts: "$ 5.5" says "five dollars and five cent".
            words += f" and {number_to_words(cents)} {'cent' if whole == cents else 'cents'}"
        return words
    if cents:
        return number_to_words(f"{whole}.{cents}")
    return _DIGIT_RUN.sub(lambda run: f" {number_to_words(run[0])} ", whole)
