"""Word tables of the English text normalizer: months, currencies, units and abbreviations.

Each reading is the one nemo_text_processing's English normalizer (``input_case="cased"``) gives.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ABBREVIATIONS", "CURRENCIES", "LETTER_UNITS", "MONTHS", "UNITS", "Currency", "Unit", "month_name"]

_MONTH_NAMES = "january february march april may june july august september october november december".split()

MONTHS: dict[str, int] = {name.capitalize(): number for number, name in enumerate(_MONTH_NAMES, 1)}
"""Written month (full name or abbreviation, capitalized) -> its number; readings are ``month_name()``."""
MONTHS.update({"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8})
MONTHS.update({"Sep": 9, "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12})


def month_name(number: int) -> str:
    """The spoken month, lower case as NeMo's normalizer says it: ``1 -> "january"``."""
    return _MONTH_NAMES[number - 1]


class Currency(NamedTuple):
    """How an amount in one currency is read; ``minor`` is None when it has no hundredths (yen)."""

    major: str
    majors: str
    minor: str | None
    minors: str | None


CURRENCIES: dict[str, Currency] = {
    "$": Currency("dollar", "dollars", "cent", "cents"),
    "£": Currency("pound", "pounds", "penny", "pence"),
    "€": Currency("euro", "euros", "cent", "cents"),
    "¥": Currency("yen", "yen", None, None),
}


class Unit(NamedTuple):
    """A unit of measure read after a number: ``one`` after exactly 1, ``many`` otherwise."""

    one: str
    many: str


UNITS: dict[str, Unit] = {
    "km": Unit("kilometer", "kilometers"),
    "cm": Unit("centimeter", "centimeters"),
    "kg": Unit("kilogram", "kilograms"),
    "mi": Unit("mile", "miles"),
    "ft": Unit("foot", "feet"),
    "lb": Unit("pound", "pounds"),
    "lbs": Unit("pound", "pounds"),
    "mph": Unit("mile per hour", "miles per hour"),
    "min": Unit("minute", "minutes"),
    "sec": Unit("second", "seconds"),
    "°": Unit("degree", "degrees"),
    "°C": Unit("degree Celsius", "degrees Celsius"),
    "°F": Unit("degree Fahrenheit", "degrees Fahrenheit"),
}

LETTER_UNITS: tuple[str, ...] = ("m", "g", "s", "h", "ms", "mm", "kb")
"""Units NeMo's normalizer reads as upper-case letters after a number and a space: ``"5 m" -> "five M"``."""

ABBREVIATIONS: dict[str, str] = {
    "Mr.": "mister",
    "Mrs.": "misses",
    "Ms.": "miss",
    "Dr.": "doctor",
    "Jr.": "junior",
    "Lt.": "lieutenant",
    "Gen.": "general",
    "Capt.": "captain",
    "Sgt.": "sergeant",
    "Gov.": "governor",
    "Mt.": "Mount",
    "Rev.": "Reverend",
    "vs.": "versus",
    "vs": "versus",
    "etc.": "etcetera.",
    "e.g.": "for example",
    "i.e.": "that is",
    "U.S.": "US",
    "U.S.A.": "USA",
    "a.m.": "AM",
    "p.m.": "PM",
    "World War I": "World War one",
    "World War II": "World War two",
    "&": "and",
    "+": "plus",
}
"""Written -> spoken, matched case-sensitively as whole tokens. ``St.`` (Saint before a name) is a rule."""
