"""number_to_words against inflect 7's ``engine().number_to_words`` (what NeMo 1.23's cleaning calls).

Expected strings are inflect's outputs for the same inputs with its default arguments.
"""

import pytest
from nemo.collections.asr.parts.preprocessing.number_words import number_to_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "zero"),
        ("7", "seven"),
        ("13", "thirteen"),
        ("40", "forty"),
        ("99", "ninety-nine"),
        ("100", "one hundred"),
        ("115", "one hundred and fifteen"),
        ("123", "one hundred and twenty-three"),
        ("1000", "one thousand"),
        ("1001", "one thousand and one"),
        ("1013", "one thousand and thirteen"),
        ("2021", "two thousand and twenty-one"),
        ("1,204", "one thousand, two hundred and four"),
        ("1000100", "one million, one hundred"),
        ("1,000,001", "one million and one"),
        ("1001000", "one million, one thousand"),
        (
            "12,345,678",
            "twelve million, three hundred and forty-five thousand, six hundred and seventy-eight",
        ),
        ("007", "seven"),
        ("3.14", "three point one four"),
        ("007.50", "seven point five zero"),
        ("1,204.5", "one thousand, two hundred and four point five"),
        ("1.2.3", "one point two three"),
        ("5.", "five point"),
        (".5", "point five"),
        ("-1.5", "minus one point five"),
        ("+5", "plus five"),
        ("1st", "first"),
        ("2nd", "second"),
        ("3rd", "third"),
        ("12th", "twelfth"),
        ("20th", "twentieth"),
        ("21th", "twenty-first"),
        ("0th", "zeroth"),
        ("1001st", "one thousand and first"),
        ("1000th", "one thousandth"),
        ("$", "zero"),
        ("th", "zero"),
        ("1e5", "fifteen"),
        ("1" + "0" * 33, "one decillion"),
        ("999" + "0" * 32 + "1", "nine hundred and ninety-nine decillion and one"),
    ],
)
def test_number_to_words_matches_inflect(text, expected):
    assert number_to_words(text) == expected


@pytest.mark.parametrize("text", ["", "  ", "1" + "0" * 36])
def test_unreadable_numbers_raise(text):
    with pytest.raises(ValueError, match="number_to_words got"):
        number_to_words(text)
