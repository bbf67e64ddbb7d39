"""Number words, checked against readings written by hand from English reading rules."""

from __future__ import annotations

import pytest
from nemo.collections.tts.parts.preprocessing._number_words import (
    cardinal,
    decimal,
    digits,
    ordinal,
    plain_number,
    plural,
    year,
)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (15, "fifteen"),
        (40, "forty"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (305, "three hundred and five"),
        (1_001, "one thousand and one"),
        (20_000, "twenty thousand"),
        (700_018, "seven hundred thousand and eighteen"),
        (1_000_000_000_000, "one trillion"),
        (-3_010, "minus three thousand and ten"),
    ],
)
def test_cardinal(number, words):
    assert cardinal(number) == words


def test_cardinal_without_and():
    assert cardinal(2_305, use_and=False) == "two thousand three hundred five"


def test_cardinal_refuses_numbers_beyond_the_scale_words():
    with pytest.raises(ValueError, match="digits"):
        cardinal(10**21)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, "first"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (42, "forty second"),
        (100, "one hundredth"),
        (1_000_003, "one million third"),
    ],
)
def test_ordinal(number, words):
    assert ordinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1066, "ten sixty six"),
        (1200, "twelve hundred"),
        (1707, "seventeen oh seven"),
        (2000, "two thousand"),
        (2009, "two thousand nine"),
        (2011, "twenty eleven"),
        (3000, "three thousand"),
    ],
)
def test_year(number, words):
    assert year(number) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("8", "eight"),
        ("250", "two hundred and fifty"),
        ("1984", "nineteen eighty four"),
        ("4567", "four thousand five hundred and sixty seven"),
        ("31337", "three one three three seven"),
        ("05", "zero five"),
    ],
)
def test_plain_number(text, words):
    assert plain_number(text) == words


def test_digits_decimal_and_plural():
    assert digits("9020") == "nine zero two zero"
    assert decimal("12", "05") == "twelve point zero five"
    assert decimal("", "25") == "point two five"
    assert plural("nineteen twenty") == "nineteen twenties"
    assert plural("third") == "thirds"
