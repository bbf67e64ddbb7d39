"""Compute expected values for the TTS tokenizer tests by running real NeMo 1.23 (not our code).

Run with a Python that has NeMo 1.23 installed, from any folder outside the repository:

    /tmp/nemo-ref/bin/python packages/nemo-core/tests/tokenizers_tts/data/generate_expected.py

It writes ``expected_tokenizers.json`` next to this file: for each tokenizer case (class name, constructor
arguments, texts) the vocabulary, the pad/blank/oov ids, the ids of each text and their decoding; plus the
outputs of the text preprocessing and word tokenizing functions and of the ipa_lexicon helpers.
"""

import json
import pathlib

from nemo.collections.common.tokenizers.text_to_speech import ipa_lexicon, tokenizer_utils, tts_tokenizers

ENGLISH_TEXTS = [
    "Hello, World!",
    "don't  stop -- \u201cquoted\u201d \u2019apostrophe\u2019",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9",
    "  leading and trailing  ",
    "numbers 123 & symbols @#",
    "",
    "UPPER CASE TEXT.",
    '(a) [b] {c} d/e; f: g? "h"',
]
GERMAN_TEXTS = [
    "Gr\u00f6\u00dfe \u00fcber \u00c4pfel \u2014 \u201eZitat\u201c \u201ax\u2018 \u00aby\u00bb \u2039z\u203a",
    "Stra\u00dfe \u1e9e SCH\u00d6N",
    "Scho\u0308n und Mu\u0308ller",
    "Es ist 5 Uhr \u2013 oder? Ja! Don\u2019t",
    "",
]
SPANISH_TEXTS = [
    "\u00bfQu\u00e9 pas\u00f3? \u00a1Ni\u00f1o!",
    "\u00c1\u00c9\u00cd\u00d1\u00d3\u00da\u00dc ping\u00fcino",
    "\u00abhola\u00bb - adi\u00f3s",
]
FRENCH_TEXTS = [
    "L'\u00e9t\u00e9 \u00e0 No\u00ebl\u2026 \u00ab tr\u00e8s \u00bb \u0152uvre",
    "Ce\u0301sar \u2013 \u201cgar\u00e7on\u201d",
    "\u00c7A VA? oui!",
]
ITALIAN_TEXTS = [
    "Perch\u00e9 \u00e8 cos\u00ec? \u00abS\u00ec\u00bb",
    "CITT\u00c0 \u2014 caff\u00e8, perci\u00f2!",
    "l'uomo \u201cbuono\u201d",
]
GERMAN_IPA_TEXTS = [
    "\u02c8\u0283t\u0281a\u02d0s\u0259 \u0261\u0281\u00f8\u02d0s\u0259 1 2",
    "b\u0254\u0303 \u00e7 x, (\u0259)!",
    "Ab \u00df",
]
ITALIAN_IPA_TEXTS = [
    "\u02c8kaza d\u0361'\u0292 \u00abt\u0283\u00bb",
    "\u02c8\u028eo_\u0272o, \u201cz\u201d \u2018a\u2019",
    "MAIUSCOLO \u00e0",
]

PUNCT_VARIANTS = [
    {},
    {"punct": False},
    {"apostrophe": False},
    {"pad_with_space": True},
    {"add_blank_at": True},
    {"add_blank_at": "last"},
    {"non_default_punct_list": [",", ".", "?", "&"]},
]

CASES = []
for kwargs in PUNCT_VARIANTS:
    CASES.append(("EnglishCharsTokenizer", kwargs, ENGLISH_TEXTS))
    CASES.append(("GermanCharsTokenizer", kwargs, GERMAN_TEXTS))
    CASES.append(("SpanishCharsTokenizer", kwargs, SPANISH_TEXTS))
    CASES.append(("FrenchCharsTokenizer", kwargs, FRENCH_TEXTS))
    CASES.append(("ItalianCharsTokenizer", kwargs, ITALIAN_TEXTS))
    CASES.append(("GermanPhonemesTokenizer", kwargs, GERMAN_IPA_TEXTS))
    CASES.append(("ItalianPhonemesTokenizer", kwargs, ITALIAN_IPA_TEXTS))

WORD_TEXTS = [
    "Hello, World! It's well-known.",
    "say |HH AY1| now |UNCHANGED words| ok",
    "Gr\u00fc\u00dfe aus K\u00f6ln - caf\u00e9's x-y-",
    "--'quoted'-- 42 times",
]


def run_case(name, kwargs, texts):
    tok = getattr(tts_tokenizers, name)(**kwargs)
    encoded = []
    for text in texts:
        try:
            ids = tok.encode(text)
            encoded.append({"text": text, "ids": ids, "decoded": tok.decode(ids)})
        except Exception as error:  # NeMo fails on some inputs (empty phoneme text): record it
            encoded.append({"text": text, "error": type(error).__name__})
    return {
        "class": name,
        "kwargs": kwargs,
        "tokens": tok.tokens,
        "pad": tok.pad,
        "blank": tok.blank,
        "oov": tok.oov,
        "encoded": encoded,
    }


def main():
    utils = {
        "english_text_preprocessing": [tokenizer_utils.english_text_preprocessing(t) for t in ENGLISH_TEXTS],
        "english_text_preprocessing_keep_case": [
            tokenizer_utils.english_text_preprocessing(t, lower=False) for t in ENGLISH_TEXTS
        ],
        "any_locale_text_preprocessing": [
            tokenizer_utils.any_locale_text_preprocessing(t) for t in GERMAN_TEXTS + FRENCH_TEXTS
        ],
        "english_word_tokenize": [tokenizer_utils.english_word_tokenize(t) for t in WORD_TEXTS],
        "any_locale_word_tokenize": [tokenizer_utils.any_locale_word_tokenize(t) for t in WORD_TEXTS],
        "texts_en": ENGLISH_TEXTS,
        "texts_any": GERMAN_TEXTS + FRENCH_TEXTS,
        "word_texts": WORD_TEXTS,
        "LATIN_CHARS_ALL": tokenizer_utils.LATIN_CHARS_ALL,
    }
    lexicon = {
        "SUPPORTED_LOCALES": ipa_lexicon.SUPPORTED_LOCALES,
        "punctuation": {
            str(loc): ipa_lexicon.get_ipa_punctuation_list(loc)
            for loc in [None] + ipa_lexicon.SUPPORTED_LOCALES
        },
        "graphemes": {
            loc: {
                case: ipa_lexicon.get_grapheme_character_set(loc, case)
                for case in ("upper", "lower", "mixed")
            }
            for loc in ipa_lexicon.SUPPORTED_LOCALES
        },
        "ipa": {loc: sorted(ipa_lexicon.get_ipa_character_set(loc)) for loc in ipa_lexicon.SUPPORTED_LOCALES},
    }
    out = {
        "nemo_version": "1.23.0",
        "tokenizers": [run_case(*case) for case in CASES],
        "tokenizer_utils": utils,
        "ipa_lexicon": lexicon,
    }
    path = pathlib.Path(__file__).with_name("expected_tokenizers.json")
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
