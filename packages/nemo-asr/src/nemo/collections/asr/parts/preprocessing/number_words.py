"""Numbers in English words, as NeMo 1.23's text cleaning spells them.

NeMo 1.23 calls ``inflect.engine().number_to_words(text)`` with inflect's defaults; :func:`number_to_words`
gives the same words without the dependency: British "and" after hundreds (``"one hundred and twenty-three"``),
a comma between scale groups (``"one thousand, two hundred and four"``) except before a last group that is
one word (``"one thousand and one"``), fractions read digit by digit (``"three point one four"``), ordinals
from an ``st``/``nd``/``rd``/``th`` ending whatever its digits (``"21th"`` -> ``"twenty-first"``), and a
leading ``+``/``-`` read as ``plus``/``minus``. Characters other than digits are ignored, and a part with no
digit reads as zero (``"$"`` -> ``"zero"``).
"""

from __future__ import annotations

__all__ = ["number_to_words"]

_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    "", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion", "sextillion",
    "septillion", "octillion", "nonillion", "decillion",
)  # fmt: skip
_ORDINAL_SUFFIXES = ("st", "nd", "rd", "th")
# Word endings that change in the ordinal; every other word just takes "th".
_ORDINAL_ENDINGS = {
    "ty": "tieth", "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_DIGIT_WORDS = ("zero",) + _UNITS[1:]


def number_to_words(text: str) -> str:
    """Read a number written with digits as English words (inflect's ``number_to_words`` defaults).

    Args:
        text: a number such as ``"123"``, ``"1,204.5"``, ``"21st"`` or ``"-3.5"``; other characters are
            ignored.

    Returns:
        The words, e.g. ``"one hundred and twenty-three"``, ``"one thousand, two hundred and four point five"``,
        ``"twenty-first"``, ``"minus three point five"``.

    Raises:
        ValueError: ``text`` is blank, or its whole part has more than 36 digits (beyond decillions).

    Example:
        >>> number_to_words("1001")
        'one thousand and one'
    """
    if not text.strip():
        raise ValueError(f"number_to_words got {text!r}; expected a number written with digits, e.g. '123'.")
    sign = {"+": "plus ", "-": "minus "}.get(text.lstrip()[0], "")
    if text in _ORDINAL_SUFFIXES:
        text = "zero"
    ordinal = text[-2:] in _ORDINAL_SUFFIXES
    if ordinal:
        text = text[:-2]
    whole, point, fraction = text.partition(".")
    words = []
    if whole:
        whole_words = _integer_words(_digits(whole))
        words.append(_ordinal_words(whole_words) if ordinal else whole_words)
    if point:
        words.append("point")
    if fraction:
        words.extend(_DIGIT_WORDS[int(digit)] for digit in _digits(fraction))
    return sign + " ".join(words)


def _digits(text: str) -> str:
    """The digits of ``text``, or ``"0"`` when it has none."""
    return "".join(char for char in text if char.isdigit() and char.isascii()) or "0"


def _integer_words(digits: str) -> str:
    """``"1204"`` -> ``"one thousand, two hundred and four"``."""
    value = int(digits)
    if value == 0:
        return "zero"
    groups = []
    while value:
        value, group = divmod(value, 1000)
        groups.append(group)
    if len(groups) > len(_SCALES):
        raise ValueError(
            f"number_to_words got a {len(digits.lstrip('0'))}-digit number; numbers up to 36 digits (decillions) "
            "can be read. Shorten the number in the transcript."
        )
    parts = [
        _group_words(group) + (f" {_SCALES[scale]}" if scale else "")
        for scale, group in reversed(list(enumerate(groups)))
        if group
    ]
    last_is_one_word = groups[0] != 0 and " " not in parts[-1]
    if len(parts) > 1 and last_is_one_word:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return ", ".join(parts)


def _group_words(group: int) -> str:
    """Words for 1..999: ``"one hundred and twenty-three"``, ``"forty"``, ``"seven"``."""
    hundreds, rest = divmod(group, 100)
    tens, units = divmod(rest, 10)
    below_hundred = (
        _TEENS[units] if tens == 1 else _TENS[tens] + ("-" if tens and units else "") + _UNITS[units]
    )
    if not hundreds:
        return below_hundred
    return f"{_UNITS[hundreds]} hundred" + (f" and {below_hundred}" if rest else "")


def _ordinal_words(words: str) -> str:
    """``"twenty-one"`` -> ``"twenty-first"``, ``"one hundred"`` -> ``"one hundredth"``."""
    for ending, ordinal in _ORDINAL_ENDINGS.items():
        if words.endswith(ending):
            return words[: -len(ending)] + ordinal
    return words + "th"
