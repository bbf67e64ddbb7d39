"""Character parsers against NeMo 1.23's behaviour.

Every expected string below is what NeMo 1.23's ``nemo.collections.common.parts.preprocessing.parsers``
(with its ``cleaners.clean_text``, ``inflect`` 7 and ``text_unidecode``) returns for the same input and
labels; the comment on each case names the NeMo behaviour it shows.
"""

import string

import pytest
from nemo.collections.asr.parts.preprocessing.parsers import CharParser, ENCharParser, make_parser

LABELS = [" "] + list(string.ascii_lowercase) + ["'"]
# Labels that keep the comma and hyphen inflect writes ("one thousand, two hundred", "twenty-one").
LABELS_WITH_PUNCTUATION = LABELS + [",", "-"]


def ids_of(text: str, labels: list[str] = LABELS) -> list[int]:
    return [labels.index(char) for char in text]


def test_make_parser_defaults_to_the_base_parser():
    # NeMo: make_parser(labels=None, name='base', **kwargs).
    assert type(make_parser(LABELS)) is CharParser
    assert type(make_parser(LABELS, name="en")) is ENCharParser
    assert type(make_parser(LABELS, name="base")) is CharParser
    with pytest.raises(ValueError, match="Parser name 'fr' is unknown.*config key 'parser'"):
        make_parser(LABELS, name="fr")


def test_base_parser_only_strips_and_lowercases():
    # NeMo's CharParser: no number spelling; characters that are no label get unk_id -1, which equals
    # blank_id -1, so they are dropped ("21", "," and "?" vanish, both spaces stay).
    parser = make_parser(LABELS)
    assert parser("  Room 21, OK?  ") == ids_of("room  ok")
    assert parser("  Don't STOP!  ") == ids_of("don't stop")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # abbreviations, $ amounts (always "dollars"), ordinals, "&" and "%" spoken, punctuation blanked
        (
            "Dr. Who paid $3 & won 21st place, 50%!",
            "doctor who paid three dollars and won twenty first place fifty percent",
        ),
        # inflect reads hundreds with "and"; unidecode folds "é"; the comma and hyphen are no labels here
        ("Café 1,204.5", "cafe one thousand two hundred and four point five"),
        ("123", "one hundred and twenty three"),
        # inflect's "and" before a one-word last group
        ("1001 1,000,001", "one thousand and one one million and one"),
        # NeMo compares the whole part (a str) with 1, so even $1 is "dollars"; cents follow "and"
        ("$1 $2.50 $3.05", "one dollars two dollars and fifty cents three dollars and five cents"),
        # times: zero minutes are silent, am/pm kept
        ("10:30pm 10:00 am 9:05", "ten thirty pm ten am nine five"),
        # a following token of three digits continues the number
        ("1 000", "one thousand"),
        ("12 345 678", "twelve million three hundred and forty five thousand six hundred and seventy eight"),
        # ... even after a decimal point, which is then dropped; leading zeros are not read
        ("3.14 007", "three hundred and fourteen thousand and seven"),
        ("3.14", "three point one four"),
        (
            "1st 2nd 3rd 11th 12th 22nd 101st 1000th",
            "first second third eleventh twelfth twenty second one hundred and first one thousandth",
        ),
        # the punctuation after an ordinal is dropped with it
        ("I have 21, you 1st.", "i have twenty one you first"),
        # text_unidecode: curly quotes, "ß", "Æ", em dash
        ("Don’t say “Straße” — Æsop", "don't say strasse aesop"),
        # the common table: "st." is "saint", months, no "ltd."
        ("Mr. Smith of St. Louis, Jan. 5, Ltd.", "mister smith of saint louis january five ltd"),
        ("a+b & 5%", "a plus b and five percent"),
    ],
)
def test_en_parser_cleans_like_nemo(text, expected):
    assert make_parser(LABELS, name="en", do_tokenize=False)(text) == expected
    assert make_parser(LABELS, name="en")(text) == ids_of(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,204", "one thousand, two hundred and four"), ("21", "twenty-one"), ("well, 21", "well, twenty-one")],
)
def test_punctuation_that_is_a_label_is_kept(text, expected):
    parser = make_parser(LABELS_WITH_PUNCTUATION, name="en")
    assert parser(text) == ids_of(expected, LABELS_WITH_PUNCTUATION)


def test_a_number_that_cannot_be_read_gives_none():
    # NeMo's ENCharParser returns None when cleaning raises (inflect refuses the empty whole part of
    # "$ .5"); datasets drop such transcripts.
    assert make_parser(LABELS, name="en")("$ .5 please") is None


def test_abbreviation_version_and_make_table():
    fastpitch = make_parser(LABELS, name="en", do_tokenize=False, abbreviation_version="fastpitch")
    assert fastpitch("Acme Ltd. vs. Mr. X etc.") == "acme limited versus mister x etc"
    # make_table=False: punctuation that is no label stays in the text.
    assert (
        make_parser(LABELS, name="en", do_tokenize=False, make_table=False)("Hi, there! 2")
        == "hi, there! two"
    )
    with pytest.raises(ValueError, match="abbreviation_version='tts'.*'fastpitch'"):
        make_parser(LABELS, name="en", abbreviation_version="tts")


def test_normalize_off_keeps_the_text_as_is():
    parser = make_parser(LABELS, do_normalize=False, name="en")
    assert parser("Ab") == ids_of("b")


def test_unknown_characters_map_to_unk_id():
    parser = make_parser(LABELS, unk_id=28, blank_id=29)
    assert parser("a?b") == [1, 28, 2]


def test_special_labels_match_whole_words():
    parser = make_parser(LABELS + ["<noise>"])
    assert parser("a <noise> b") == [1, 0, 28, 0, 2]


def test_unknown_characters_without_unk_or_drop_raise():
    parser = make_parser(LABELS, blank_id=28)
    with pytest.raises(ValueError, match=r"characters that are no label: \['\?'\]"):
        parser("a?")


def test_do_tokenize_false_returns_text():
    assert make_parser(LABELS, name="en", do_tokenize=False)("Mr. X 2") == "mister x two"
    assert make_parser(LABELS, do_tokenize=False)("  Mr. X 2 ") == "mr. x 2"
