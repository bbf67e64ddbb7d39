"""The English normalizer's rules: one regular expression and one verbalizer per kind of written token.

Rules run in order over the whole text (money before plain numbers, dates before times before decimals, and
so on); each replaces what it matches with words, so a later rule never sees digits an earlier one read.
A verbalizer that finds its match out of range (month 13, minute 75) returns it unchanged, for the later
rules to read its numbers one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from nemo.collections.tts.parts.preprocessing._normalizer_tables import (
    CURRENCIES,
    LETTER_UNITS,
    MONTHS,
    UNITS,
    month_name,
)
from nemo.collections.tts.parts.preprocessing._number_words import (
    cardinal,
    decimal,
    digits,
    ordinal,
    plain_number,
    plural,
    year,
)

__all__ = ["Rule", "apply_rules", "build_rules"]

_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_LEFT = r"(?<![\w.,])"
_RIGHT = r"(?!\w|[.,]\d)"
_SIGNED_INT = rf"(?:(?P<sign>-)(?=\d))?(?P<int>{_INT})"
_SIGNED_NUMBER = rf"(?=-?\.?\d)(?P<sign>-)?(?P<int>{_INT})?(?:\.(?P<frac>\d+))?"
_SUFFIX = r"(?P<suffix>[aApP]\.[mM]\.|[aApP][mM]\b)"
_SCALES = "thousand|million|billion|trillion"
_LETTER_OR_DIGIT_RUNS = re.compile(r"[A-Za-z]+|\d+")
_ELECTRONIC_PIECES = re.compile(r"[A-Za-z]+|\d|[^A-Za-z\d]")
_ELECTRONIC_SYMBOLS = {".": "dot", "-": "dash", "_": "underscore", "@": "at", "/": "slash", ":": "colon"}
_DOMAIN = r"[A-Za-z\d-]+(?:\.[A-Za-z\d-]+)*\.[A-Za-z]{2,}"
_TOP_LEVEL_DOMAINS = "com|org|net|edu|gov|io"
_PATH = r"(?:/[\w-]+(?:\.[\w-]+)*)*/?"
_URL_LEFT = r"(?<![\w.@/-])"
_URL_RIGHT = r"(?![\w@/-]|\.\w)"


class Rule(NamedTuple):
    """One kind of written token: ``pattern`` finds it, ``verbalize`` returns its spoken words."""

    name: str
    pattern: re.Pattern[str]
    verbalize: Callable[[re.Match[str]], str]


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


def _month_pattern() -> str:
    full = [month_name(number).capitalize() for number in range(1, 13)]
    short = [name for name in MONTHS if name not in full]
    return rf"(?P<month>(?:{_alternation(full)})\b|(?:{_alternation(short)})\b\.?)"


def _month_number(written: str) -> int:
    return MONTHS[written.rstrip(".").capitalize()]


def _integer(text: str) -> int:
    return int(text.replace(",", ""))


def _count(match: re.Match[str]) -> str:
    """A signed integer or decimal read as a quantity (never as a year)."""
    sign = "minus " if match["sign"] else ""
    integer, fraction = match["int"], match["frac"]
    if fraction is None:
        return sign + cardinal(_integer(integer))
    return sign + decimal(str(_integer(integer)) if integer else "", fraction)


def _money(match: re.Match[str]) -> str:
    currency = CURRENCIES[match["currency"]]
    whole, fraction, scale = _integer(match["int"]), match["frac"], match["scale"]
    if scale:
        return f"{_count(match)} {scale} {currency.majors}"
    if fraction is not None and (len(fraction) > 2 or currency.minor is None):
        return f"{_count(match)} {currency.majors}"
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if whole or not cents:
        parts.append(f"{cardinal(whole)} {currency.major if whole == 1 else currency.majors}")
    if cents:
        parts.append(f"{cardinal(cents)} {currency.minor if cents == 1 else currency.minors}")
    return " ".join(parts)


def _year_words(text: str) -> str:
    return year(int(text)) if len(text) == 4 and text[0] != "0" else plain_number(text)


def _month_day_year(match: re.Match[str]) -> str:
    day = int(match["day"])
    if not 1 <= day <= 31:
        return match[0]
    words = f"{month_name(_month_number(match['month']))} {ordinal(day)}"
    if match["year"]:
        words += f"{match['comma'] or ''} {_year_words(match['year'])}"
    return words


def _month_year(match: re.Match[str]) -> str:
    return f"{month_name(_month_number(match['month']))} {_year_words(match['year'])}"


def _day_month_year(match: re.Match[str]) -> str:
    day = int(match["day"])
    if not 1 <= day <= 31:
        return match[0]
    words = f"the {ordinal(day)} of {month_name(_month_number(match['month']))}"
    return f"{words} {_year_words(match['year'])}" if match["year"] else words


def _numeric_date(match: re.Match[str]) -> str:
    first, second, year_text = int(match["a"]), int(match["b"]), match["year"]
    if 1 <= first <= 12 and 1 <= second <= 31:
        return f"{month_name(first)} {ordinal(second)} {_year_words(year_text)}"
    if 13 <= first <= 31 and 1 <= second <= 12:
        return f"the {ordinal(first)} of {month_name(second)} {_year_words(year_text)}"
    return match[0]


def _iso_date(match: re.Match[str]) -> str:
    month, day = int(match["month"]), int(match["day"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match[0]
    return f"{month_name(month)} {ordinal(day)} {_year_words(match['year'])}"


def _time(match: re.Match[str]) -> str:
    hour = int(match["hour"])
    minute_text = match.groupdict().get("minute")
    minute = int(minute_text) if minute_text else 0
    if hour > 24 or minute > 59:
        return match[0]
    suffix = match["suffix"]
    words = [cardinal(hour)]
    if minute:
        words.append(f"o {cardinal(minute)}" if minute < 10 else cardinal(minute))
    if suffix:
        words.append(suffix.replace(".", "").upper())
    elif not minute:
        words.append("o'clock")
    return " ".join(words)


def _percent(match: re.Match[str]) -> str:
    return f"{_count(match)} percent"


def _measure(match: re.Match[str]) -> str:
    unit = UNITS[match["unit"]]
    is_one = match["int"] == "1" and match["frac"] is None and not match["sign"]
    return f"{_count(match)} {unit.one if is_one else unit.many}"


def _letter_unit(match: re.Match[str]) -> str:
    return f"{_count(match)} {match['unit'].upper()}"


def _decade(match: re.Match[str]) -> str:
    return plural(year(int(match["year"])))


def _short_decade(match: re.Match[str]) -> str:
    return plural(cardinal(int(match["tens"])))


def _ordinal_suffix(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _ordinal(match: re.Match[str]) -> str:
    """``"22nd" -> "twenty second"``; a wrong suffix (``"42th"``) is read as written: ``"forty two th"``."""
    number, suffix = _integer(match["int"]), match["suffix"]
    if suffix == _ordinal_suffix(number):
        return ordinal(number)
    return f"{cardinal(number, use_and=False)} {suffix}"


def _fraction_words(numerator: int, denominator: int) -> str:
    if denominator == 1:
        return f"{cardinal(numerator)} over one"
    name = {2: "half", 4: "quarter"}.get(denominator) or ordinal(denominator)
    if numerator != 1:
        name = "halves" if name == "half" else plural(name)
    return f"{cardinal(numerator)} {name}"


def _fraction(match: re.Match[str]) -> str:
    """``"3/4" -> "three quarters"``; after a whole number ``"and"``, and one half is ``"and a half"``."""
    numerator, denominator = int(match["num"]), int(match["den"])
    if match["whole"] is None:
        return _fraction_words(numerator, denominator)
    words = "a half" if (numerator, denominator) == (1, 2) else _fraction_words(numerator, denominator)
    return f"{cardinal(int(match['whole']))} and {words}"


def _serial(match: re.Match[str]) -> str:
    """Letters and digits in one token: ``"221B" -> "two hundred twenty one B"``, ``"R2D2" -> "R two D two"``."""
    return " ".join(
        cardinal(int(run), use_and=False) if run.isdigit() else run
        for run in _LETTER_OR_DIGIT_RUNS.findall(match[0])
    )


def _electronic_words(text: str) -> str:
    """Spell an address: words as written, digits one by one, symbols by name (``"a1.b" -> "a one dot b"``)."""
    words = []
    for piece in _ELECTRONIC_PIECES.findall(text):
        words.append(digits(piece) if piece.isdigit() else _ELECTRONIC_SYMBOLS.get(piece, piece))
    return " ".join(words)


def _email(match: re.Match[str]) -> str:
    return _electronic_words(match[0])


def _url(match: re.Match[str]) -> str:
    scheme, www = match["scheme"], match["www"]
    words = [f"{scheme[:-3].upper()} colon slash slash"] if scheme else []
    if www:
        words.append("WWW dot")
    words.append(_electronic_words(match["address"]))
    return " ".join(words)


def _telephone(match: re.Match[str]) -> str:
    area = match["area"] or match["area_in_parentheses"]
    parts = ["one"] if match["country"] else []
    parts.append(cardinal(int(area)) if area.endswith("00") else digits(area))
    parts += [digits(match["exchange"]), digits(match["line"])]
    return ", ".join(parts)


def _integer_token(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    integer = match["int"]
    return sign + (cardinal(_integer(integer)) if "," in integer else plain_number(integer))


def build_rules(abbreviations: Mapping[str, str], *, ignore_case: bool = False) -> list[Rule]:
    """Compile the rules in the order they run.

    Args:
        abbreviations: written -> spoken tokens replaced as a whole (the whitelist), e.g. ``"Dr." -> "doctor"``.
        ignore_case: match month names and abbreviations in any case (``input_case="lower_cased"``).

    Returns:
        The rules, for :func:`apply_rules`.
    """
    flags = re.IGNORECASE if ignore_case else 0
    month = _month_pattern()
    day = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
    year_4 = rf"(?P<year>\d{{4}}){_RIGHT}"
    currencies = _alternation(CURRENCIES)
    units = _alternation(UNITS)
    specs: list[tuple[str, str, Callable[[re.Match[str]], str], int]] = [
        ("email", rf"(?<![\w.@-])[A-Za-z\d][\w.-]*@{_DOMAIN}(?![\w@-]|\.\w)", _email, 0),
        (
            "url",
            rf"{_URL_LEFT}(?P<scheme>https?://)(?P<www>www\.)?(?P<address>{_DOMAIN}{_PATH}){_URL_RIGHT}",
            _url,
            0,
        ),
        (
            "url_www",
            rf"{_URL_LEFT}(?P<scheme>)(?P<www>www\.)(?P<address>{_DOMAIN}{_PATH}){_URL_RIGHT}",
            _url,
            0,
        ),
        (
            "url_domain",
            rf"{_URL_LEFT}(?P<scheme>)(?P<www>)(?P<address>[A-Za-z\d-]+(?:\.[A-Za-z\d-]+)*\.(?:{_TOP_LEVEL_DOMAINS})"
            rf"{_PATH}){_URL_RIGHT}",
            _url,
            0,
        ),
        (
            "money",
            rf"(?<![\w.,])(?P<currency>{currencies})\s?(?P<sign>)(?P<int>{_INT})(?:\.(?P<frac>\d+))?"
            rf"(?:\s+(?P<scale>{_SCALES})\b)?{_RIGHT}",
            _money,
            0,
        ),
        (
            "date_month_day",
            rf"\b{month}\s+{day}{_RIGHT}(?:(?P<comma>,)?\s+{year_4})?",
            _month_day_year,
            flags,
        ),
        ("date_day_month", rf"{_LEFT}{day}\s+{month}(?:\s+{year_4})?", _day_month_year, flags),
        ("date_month_year", rf"\b{month}\s+{year_4}", _month_year, flags),
        (
            "date_numeric",
            r"(?<![\w./-])(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})"
            r"(?![\w/]|[.,]\d)",
            _numeric_date,
            0,
        ),
        (
            "date_iso",
            r"(?<![\w./-])(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?![\w-]|[.,]\d)",
            _iso_date,
            0,
        ),
        (
            "time_colon",
            rf"(?<![\w.,:])(?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?:\s*{_SUFFIX})?(?![\w:]|[.,]\d)",
            _time,
            0,
        ),
        ("time_dot", rf"{_LEFT}(?P<hour>\d{{1,2}})\.(?P<minute>\d{{2}})\s*{_SUFFIX}(?!\w)", _time, 0),
        ("time_hour", rf"{_LEFT}(?P<hour>\d{{1,2}})\s*{_SUFFIX}(?!\w)", _time, 0),
        ("percent", rf"{_LEFT}{_SIGNED_NUMBER}\s?%", _percent, 0),
        ("measure", rf"{_LEFT}{_SIGNED_NUMBER}\s?(?P<unit>{units})(?![\w/])", _measure, 0),
        (
            "measure_letters",
            rf"{_LEFT}{_SIGNED_NUMBER}\s(?P<unit>{_alternation(LETTER_UNITS)})(?![\w/])",
            _letter_unit,
            0,
        ),
        ("decade", r"(?<![\w.,'])(?P<year>[1-9]\d{2}0)s(?!\w)", _decade, 0),
        ("decade_short", r"(?<![\w.,])'?(?P<tens>[1-9]0)s(?!\w)", _short_decade, 0),
        ("ordinal", rf"{_LEFT}(?P<int>{_INT})(?P<suffix>st|nd|rd|th)(?!\w)", _ordinal, 0),
        (
            "fraction",
            r"(?<![\w.,/])(?:(?P<whole>\d+)\s+)?(?P<num>[1-9]\d*)/(?P<den>[1-9]\d*)(?![\w/]|[.,]\d)",
            _fraction,
            0,
        ),
        (
            "serial",
            rf"{_LEFT}(?=[A-Za-z\d]*[A-Za-z])(?=[A-Za-z\d]*\d)[A-Za-z\d]+{_RIGHT}",
            _serial,
            0,
        ),
        (
            "telephone",
            r"(?<![\w.,-])(?:(?P<country>1)[ -])?(?:\((?P<area_in_parentheses>\d{3})\) ?|(?P<area>\d{3})-)"
            r"(?P<exchange>\d{3})-(?P<line>\d{4})(?![\w-]|[.,]\d)",
            _telephone,
            0,
        ),
        ("decimal", rf"{_LEFT}(?=-?\.?\d)(?P<sign>-)?(?P<int>{_INT})?\.(?P<frac>\d+){_RIGHT}", _count, 0),
        ("integer", rf"{_LEFT}{_SIGNED_INT}{_RIGHT}", _integer_token, 0),
        ("saint", r"(?<![\w.])St\.(?=\s+[A-Z])", lambda match: "Saint", 0),
        ("hash", r"(?<![\w#])#(?=\w)", lambda match: "hash ", 0),
        ("at", r"(?<![\w.])@(?=[A-Za-z])", lambda match: "at ", 0),
    ]
    rules = [
        Rule(name, re.compile(pattern, pattern_flags), verbalize)
        for name, pattern, verbalize, pattern_flags in specs
    ]
    if abbreviations:
        pattern = re.compile(rf"(?<![\w.])(?:{_alternation(abbreviations)})(?!\w)", flags)
        table = (
            {key.lower(): value for key, value in abbreviations.items()}
            if ignore_case
            else dict(abbreviations)
        )
        rules.append(
            Rule("whitelist", pattern, lambda match: table[match[0].lower() if ignore_case else match[0]])
        )
    return rules


def apply_rules(text: str, rules: list[Rule]) -> str:
    """Run every rule over ``text`` in order and return the result."""
    for rule in rules:
        text = rule.pattern.sub(rule.verbalize, text)
    return text
