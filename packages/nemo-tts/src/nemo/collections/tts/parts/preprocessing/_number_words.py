"""English number words as nemo_text_processing's English normalizer reads them.

Pure functions from digits to words, used by the normalizer's rules (``_normalizer_rules.py``):

- :func:`cardinal`: ``1234 -> "one thousand two hundred and thirty four"`` ("and" before the last part
  under a hundred when something bigger comes first, as NeMo's normalizer says it);
- :func:`ordinal`: ``103 -> "one hundred third"`` (no "and");
- :func:`digits`: ``"007" -> "zero zero seven"``;
- :func:`year`: ``1905 -> "nineteen oh five"``, ``2024 -> "twenty twenty four"``, ``2001 -> "two thousand one"``;
- :func:`plain_number`: a bare integer as NeMo reads it out of context (1000 to 2999 a year, longer runs or a
  leading zero digit by digit, anything else a count);
- :func:`decimal`: ``"3.14" -> "three point one four"``.
"""

from __future__ import annotations

__all__ = ["cardinal", "decimal", "digits", "ordinal", "plain_number", "plural", "year"]

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion")
_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _under_hundred(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    tens, units = divmod(n, 10)
    return _TENS[tens] if units == 0 else f"{_TENS[tens]} {_UNITS[units]}"


def _group_words(n: int, *, use_and: bool) -> list[str]:
    """Words of ``0 < n < 1000``; ``use_and`` puts "and" between the hundreds and the rest."""
    hundreds, rest = divmod(n, 100)
    words = [_UNITS[hundreds], "hundred"] if hundreds else []
    if rest:
        if hundreds and use_and:
            words.append("and")
        words.append(_under_hundred(rest))
    return words


def cardinal(n: int, *, use_and: bool = True) -> str:
    """Read a whole number as a count.

    Args:
        n: the number; negative numbers start with "minus".
        use_and: say "and" before the last part under a hundred when a bigger part comes first
            (``1001 -> "one thousand and one"``, ``101 -> "one hundred and one"``); ordinals say it without.

    Returns:
        The words, e.g. ``"one million two hundred thirty four thousand five hundred and sixty seven"``.

    Raises:
        ValueError: ``n`` has more digits than the largest scale word covers (21).
    """
    if n < 0:
        return "minus " + cardinal(-n, use_and=use_and)
    if n == 0:
        return "zero"
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    if len(groups) > len(_SCALES):
        raise ValueError(
            f"cardinal() got a number with {len(groups) * 3} digits; at most {len(_SCALES) * 3} can be read as "
            "a count. Read it digit by digit with digits()."
        )
    words: list[str] = []
    for scale in range(len(groups) - 1, -1, -1):
        group = groups[scale]
        if not group:
            continue
        is_last_part = scale == 0
        if is_last_part and use_and and words and group < 100:
            words.append("and")
        words.extend(_group_words(group, use_and=use_and and is_last_part))
        if _SCALES[scale]:
            words.append(_SCALES[scale])
    return " ".join(words)


def _ordinal_word(word: str) -> str:
    if word in _IRREGULAR_ORDINALS:
        return _IRREGULAR_ORDINALS[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal(n: int) -> str:
    """Read a whole number as a position: ``22 -> "twenty second"``, ``1000 -> "one thousandth"``."""
    words = cardinal(n, use_and=False).split(" ")
    words[-1] = _ordinal_word(words[-1])
    return " ".join(words)


def plural(words: str) -> str:
    """Make the last word plural: ``"nineteen ninety" -> "nineteen nineties"``, ``"third" -> "thirds"``."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


def digits(text: str) -> str:
    """Read a string of digits one by one: ``"0123" -> "zero one two three"``."""
    return " ".join(_UNITS[int(char)] for char in text)


def year(n: int) -> str:
    """Read ``1000 <= n <= 9999`` as a year.

    ``1999 -> "nineteen ninety nine"``, ``1905 -> "nineteen oh five"``, ``1800 -> "eighteen hundred"``,
    ``2000 -> "two thousand"``, ``2001 -> "two thousand one"``, ``2010 -> "twenty ten"``.
    """
    century, rest = divmod(n, 100)
    if rest == 0:
        return cardinal(n) if century % 10 == 0 else f"{_under_hundred(century)} hundred"
    if century % 10 == 0 and rest < 10:
        return f"{_UNITS[century // 10]} thousand {_UNITS[rest]}"
    tail = f"oh {_UNITS[rest]}" if rest < 10 else _under_hundred(rest)
    return f"{_under_hundred(century)} {tail}"


def plain_number(text: str) -> str:
    """Read a bare run of digits (no sign, no separators) as NeMo's normalizer does out of context.

    Args:
        text: ASCII digits, e.g. ``"42"``, ``"1999"``, ``"12345"``.

    Returns:
        ``"forty two"``; 1000 to 2999 as a year (``"nineteen ninety nine"``); five digits or more, or a
        leading zero, digit by digit (``"one two three four five"``).
    """
    if len(text) > 1 and text[0] == "0" or len(text) > 4:
        return digits(text)
    number = int(text)
    return year(number) if 1000 <= number <= 2999 else cardinal(number)


def decimal(integer_part: str, fraction_part: str) -> str:
    """Read a decimal number: ``("3", "14") -> "three point one four"``, ``("", "5") -> "point five"``.

    Args:
        integer_part: digits before the point, thousands separators removed; may be empty.
        fraction_part: digits after the point, read one by one.
    """
    head = f"{cardinal(int(integer_part))} " if integer_part else ""
    return f"{head}point {digits(fraction_part)}"
