"""Transcript parsers: text -> label ids for character models (NeMo 1.23's ``parsers`` module).

``make_parser(labels, name="en")`` returns an :class:`ENCharParser`, which normalizes English text
first (ASCII folding, lowercasing, numbers and common abbreviations spelled out, punctuation that is
not a label turned into spaces) and then maps every character to its label index. ``name="base"``
gives a :class:`CharParser`, which only strips and lowercases.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from types import MappingProxyType

__all__ = ["CharParser", "ENCharParser", "make_parser", "NAME_TO_PARSER"]


class CharParser:
    """Maps each character of a transcript to the index of its label.

    Args:
        labels: the label of each index; labels longer than one character (``"<unk>"``) match whole
            space-separated words.
        unk_id: index given to characters that are no label.
        blank_id: index removed from the output. With NeMo's defaults (``unk_id == blank_id == -1``)
            characters that are no label are dropped.
        do_normalize: normalize the text first (see :meth:`_normalize`).
        do_lowercase: lowercase while normalizing.
        do_tokenize: return ids; ``False`` returns the normalized text.
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        unk_id: int = -1,
        blank_id: int = -1,
        do_normalize: bool = True,
        do_lowercase: bool = True,
        do_tokenize: bool = True,
    ) -> None:
        self._labels = list(labels)
        self._unk_id = unk_id
        self._blank_id = blank_id
        self._do_normalize = do_normalize
        self._do_lowercase = do_lowercase
        self._do_tokenize = do_tokenize
        self._labels_map = {label: index for index, label in enumerate(self._labels)}
        self._special_labels = {label for label in self._labels if len(label) > 1}

    def __call__(self, text: str) -> list[int] | str | None:
        """Parse one transcript: ids (or the normalized text when ``do_tokenize=False``)."""
        if self._do_normalize:
            text = self._normalize(text)
            if text is None:
                return None
        if not self._do_tokenize:
            return text
        return self._tokenize(text)

    def _normalize(self, text: str) -> str | None:
        text = text.strip()
        return text.lower() if self._do_lowercase else text

    def _tokenize(self, text: str) -> list[int]:
        labels_map, unk_id = self._labels_map, self._unk_id
        space_id = labels_map.get(" ", unk_id)
        tokens: list[int] = []
        for position, word in enumerate(text.split(" ")):
            if position:
                tokens.append(space_id)
            if word in self._special_labels:
                tokens.append(labels_map[word])
            else:
                tokens.extend(labels_map.get(char, unk_id) for char in word)
        tokens = [token for token in tokens if token != self._blank_id]
        if -1 in tokens:
            unknown = sorted({char for char in text if char not in labels_map})
            raise ValueError(
                f"Transcript {text!r} has characters that are no label: {unknown}, and unk_id is -1 while "
                f"blank_id is {self._blank_id}. Add them to the labels, set unk_index to a label index, or "
                "leave blank_index and unk_index at -1 to drop them."
            )
        return tokens


_NUMBER_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_NUMBER_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
}  # fmt: skip
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence")}
_NUMBER_PATTERN = re.compile(r"([$£]?)(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th)?")
_ABBREVIATIONS = tuple(
    (re.compile(rf"\b{short}\.", re.IGNORECASE), full)
    for short, full in (
        ("mrs", "misess"), ("ms", "miss"), ("mr", "mister"), ("drs", "doctors"), ("dr", "doctor"),
        ("st", "saint"), ("co", "company"), ("jr", "junior"), ("sr", "senior"), ("maj", "major"),
        ("gen", "general"), ("rev", "reverend"), ("lt", "lieutenant"), ("hon", "honorable"),
        ("sgt", "sergeant"), ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"), ("col", "colonel"),
        ("ft", "fort"), ("prof", "professor"), ("etc", "et cetera"),
    )
)  # fmt: skip


def _spell_integer(number: int) -> str:
    """English words for a non-negative integer ("one hundred one", "twenty-one")."""
    if number < 20:
        return _NUMBER_UNITS[number]
    if number < 100:
        tens, units = divmod(number, 10)
        return _NUMBER_TENS[tens] + (f"-{_NUMBER_UNITS[units]}" if units else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_NUMBER_UNITS[hundreds]} hundred" + (f" {_spell_integer(rest)}" if rest else "")
    for scale, name in _NUMBER_SCALES:
        if number >= scale:
            high, rest = divmod(number, scale)
            return f"{_spell_integer(high)} {name}" + (f" {_spell_integer(rest)}" if rest else "")
    raise AssertionError("unreachable: every integer >= 1000 has a scale")


def _spell_ordinal(number: int) -> str:
    """English ordinal words ("twenty-first", "one hundredth")."""
    head, last = re.fullmatch(r"(.*[ -])?([a-z]+)", _spell_integer(number)).groups()
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return (head or "") + last


def _spell_number(match: re.Match) -> str:
    currency, whole, fraction, ordinal_suffix = match.groups()
    whole_number = int(whole.replace(",", ""))
    if currency:
        unit, units, small_unit, small_units = _CURRENCIES[currency]
        words = f"{_spell_integer(whole_number)} {unit if whole_number == 1 else units}"
        if fraction and int(fraction):
            cents = int(fraction[:2].ljust(2, "0"))
            words += f" {_spell_integer(cents)} {small_unit if cents == 1 else small_units}"
        return f" {words} "
    if ordinal_suffix and not fraction:
        return f" {_spell_ordinal(whole_number)} "
    words = _spell_integer(whole_number)
    if fraction:
        words += " point " + " ".join(_NUMBER_UNITS[int(digit)] for digit in fraction)
    return f" {words} "


def clean_text(text: str, table: dict[int, str], punctuation_to_replace: dict[str, str]) -> str:
    """NeMo's English cleaning: ASCII-fold, lowercase, spell numbers and abbreviations, blank punctuation.

    Args:
        text: the raw transcript.
        table: ``str.translate`` table mapping punctuation to spaces.
        punctuation_to_replace: symbols spoken as words (``{"&": "and"}``).

    Returns:
        The cleaned text, single-spaced and stripped.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"\s+", " ", text.lower())
    text = _NUMBER_PATTERN.sub(_spell_number, text)
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    for symbol, word in punctuation_to_replace.items():
        text = text.replace(symbol, f" {word} ")
    text = text.translate(table)
    return re.sub(r"\s+", " ", text).strip()


class ENCharParser(CharParser):
    """English :class:`CharParser`: cleans text (numbers, abbreviations, punctuation) before tokenizing.

    Punctuation that is a label is kept; ``+``, ``&`` and ``%`` are spoken (``plus``, ``and``,
    ``percent``); other punctuation becomes a space.

    Args:
        abbreviation_version: accepted for NeMo's signature; one abbreviation table is used.
        make_table: build the punctuation table (NeMo's switch; always built here).
        *args, **kwargs: as :class:`CharParser`.
    """

    PUNCTUATION_TO_REPLACE = MappingProxyType({"+": "plus", "&": "and", "%": "percent"})

    def __init__(
        self, abbreviation_version: str | None = None, make_table: bool = True, *args, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.abbreviation_version = abbreviation_version
        blanked = [
            char
            for char in string.punctuation
            if char not in self.PUNCTUATION_TO_REPLACE and char not in self._labels
        ]
        self._table = str.maketrans("".join(blanked), " " * len(blanked))

    def _normalize(self, text: str) -> str | None:
        return clean_text(text, self._table, dict(self.PUNCTUATION_TO_REPLACE))


NAME_TO_PARSER = MappingProxyType({"base": CharParser, "en": ENCharParser})


def make_parser(labels: Sequence[str] | None = None, name: str = "en", **kwargs) -> CharParser:
    """Build a character parser.

    Args:
        labels: the label of each index; ``None`` uses ``string.printable``.
        name: ``"en"`` (:class:`ENCharParser`) or ``"base"`` (:class:`CharParser`).
        **kwargs: ``unk_id``, ``blank_id``, ``do_normalize``, ... (see :class:`CharParser`).

    Returns:
        The parser.

    Example:
        >>> parser = make_parser([" ", "a", "b"], name="base")
        >>> parser("Ab a")
        [1, 2, 0, 1]
    """
    if name not in NAME_TO_PARSER:
        raise ValueError(
            f"Parser name {name!r} is unknown; expected one of {sorted(NAME_TO_PARSER)} (config key 'parser')."
        )
    return NAME_TO_PARSER[name](labels=list(string.printable) if labels is None else labels, **kwargs)
