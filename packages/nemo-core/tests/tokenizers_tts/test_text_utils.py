"""tokenizer_utils and ipa_lexicon against NeMo 1.23's outputs (``data/generate_expected.py``)."""

import json
import pathlib

import pytest
from nemo.collections.common.tokenizers.text_to_speech import ipa_lexicon, tokenizer_utils

EXPECTED = json.loads(
    (pathlib.Path(__file__).parent / "data" / "expected_tokenizers.json").read_text("utf-8")
)
UTILS = EXPECTED["tokenizer_utils"]
LEXICON = EXPECTED["ipa_lexicon"]


def _as_json(value):
    return json.loads(json.dumps(value))


def test_english_text_preprocessing():
    texts = UTILS["texts_en"]
    assert [tokenizer_utils.english_text_preprocessing(t) for t in texts] == UTILS[
        "english_text_preprocessing"
    ]
    assert [tokenizer_utils.english_text_preprocessing(t, lower=False) for t in texts] == UTILS[
        "english_text_preprocessing_keep_case"
    ]
    assert [tokenizer_utils.english_text_preprocessing_keep_case(t) for t in texts] == UTILS[
        "english_text_preprocessing_keep_case"
    ]


def test_any_locale_text_preprocessing():
    got = [tokenizer_utils.any_locale_text_preprocessing(t) for t in UTILS["texts_any"]]
    assert got == UTILS["any_locale_text_preprocessing"]


@pytest.mark.parametrize("name", ["english_word_tokenize", "any_locale_word_tokenize"])
def test_word_tokenizers(name):
    func = getattr(tokenizer_utils, name)
    assert [_as_json(func(t)) for t in UTILS["word_texts"]] == UTILS[name]


def test_latin_chars_all():
    assert tokenizer_utils.LATIN_CHARS_ALL == UTILS["LATIN_CHARS_ALL"]


def test_punctuation_lists():
    for locale, expected in LEXICON["punctuation"].items():
        assert ipa_lexicon.get_ipa_punctuation_list(None if locale == "None" else locale) == expected


def test_grapheme_and_ipa_sets():
    assert ipa_lexicon.SUPPORTED_LOCALES == LEXICON["SUPPORTED_LOCALES"]
    for locale, cases in LEXICON["graphemes"].items():
        for case, expected in cases.items():
            assert ipa_lexicon.get_grapheme_character_set(locale, case) == expected
    for locale, expected in LEXICON["ipa"].items():
        assert sorted(ipa_lexicon.get_ipa_character_set(locale)) == expected


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: ipa_lexicon.validate_locale("xx-XX"), "xx-XX"),
        (lambda: ipa_lexicon.get_grapheme_character_set("en-US", "title"), "title"),
        (lambda: ipa_lexicon.get_grapheme_character_set("xx-XX"), "xx-XX"),
        (lambda: ipa_lexicon.get_ipa_character_set("xx-XX"), "xx-XX"),
        (lambda: ipa_lexicon.get_ipa_punctuation_list("xx-XX"), "xx-XX"),
    ],
)
def test_errors_name_the_bad_value(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()
