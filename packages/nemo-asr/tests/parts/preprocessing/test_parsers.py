import string

import pytest
from nemo.collections.asr.parts.preprocessing.parsers import CharParser, ENCharParser, make_parser

LABELS = [" "] + list(string.ascii_lowercase) + ["'"]


def ids_of(text: str) -> list[int]:
    return [LABELS.index(char) for char in text]


def test_make_parser_picks_the_class():
    assert type(make_parser(LABELS)) is ENCharParser
    assert type(make_parser(LABELS, name="base")) is CharParser
    with pytest.raises(ValueError, match="Parser name 'fr' is unknown.*config key 'parser'"):
        make_parser(LABELS, name="fr")


def test_base_parser_lowercases_and_drops_unknown_characters():
    parser = make_parser(LABELS, name="base")
    assert parser("  Don't STOP!  ") == ids_of("don't stop")


def test_en_parser_normalizes_numbers_abbreviations_and_punctuation():
    parser = make_parser(LABELS, name="en")
    assert parser("Dr. Who paid $3 & won 21st place, 50%!") == ids_of(
        "doctor who paid three dollars and won twenty first place fifty percent"
    )
    assert parser("Café 1,204.5") == ids_of("cafe one thousand two hundred four point five")


def test_punctuation_that_is_a_label_is_kept():
    labels = LABELS + [",", "-"]
    parser = make_parser(labels, name="en")
    assert parser("well, 21") == [labels.index(char) for char in "well, twenty-one"]


def test_normalize_off_keeps_the_text_as_is():
    parser = make_parser(LABELS, do_normalize=False, name="en")
    assert parser("Ab") == ids_of("b")


def test_unknown_characters_map_to_unk_id():
    parser = make_parser(LABELS, name="base", unk_id=28, blank_id=29)
    assert parser("a?b") == [1, 28, 2]


def test_special_labels_match_whole_words():
    parser = make_parser(LABELS + ["<noise>"], name="base")
    assert parser("a <noise> b") == [1, 0, 28, 0, 2]


def test_unknown_characters_without_unk_or_drop_raise():
    parser = make_parser(LABELS, name="base", blank_id=28)
    with pytest.raises(ValueError, match=r"characters that are no label: \['\?'\]"):
        parser("a?")


def test_do_tokenize_false_returns_text():
    assert make_parser(LABELS, do_tokenize=False)("Mr. X 2") == "mister x two"
