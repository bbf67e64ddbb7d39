"""The chars and IPA-character tokenizers against ids computed by NeMo 1.23 (``data/generate_expected.py``)."""

import json
import pathlib
import pickle

import pytest
from nemo.collections.common.tokenizers.text_to_speech import tts_tokenizers
from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (
    EnglishCharsTokenizer,
    GermanPhonemesTokenizer,
)

EXPECTED = json.loads(
    (pathlib.Path(__file__).parent / "data" / "expected_tokenizers.json").read_text("utf-8")
)
CASES = EXPECTED["tokenizers"]


def _case_id(case: dict) -> str:
    return f"{case['class']}-{json.dumps(case['kwargs'], ensure_ascii=True)}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_vocabulary_and_ids_match_nemo(case):
    tok = getattr(tts_tokenizers, case["class"])(**case["kwargs"])
    assert tok.tokens == case["tokens"]
    assert (tok.pad, tok.blank, tok.oov) == (case["pad"], case["blank"], case["oov"])
    for item in case["encoded"]:
        assert tok.encode(item["text"]) == item["ids"], item["text"]
        assert tok(item["text"]) == item["ids"]
        assert tok.decode(item["ids"]) == item["decoded"]


def test_every_argument_variant_is_covered_for_every_class():
    classes = {c["class"] for c in CASES}
    assert classes == {
        "EnglishCharsTokenizer",
        "GermanCharsTokenizer",
        "SpanishCharsTokenizer",
        "FrenchCharsTokenizer",
        "ItalianCharsTokenizer",
        "GermanPhonemesTokenizer",
        "ItalianPhonemesTokenizer",
    }
    for name in classes:
        variants = [c["kwargs"] for c in CASES if c["class"] == name]
        assert {k for v in variants for k in v} == {
            "punct",
            "apostrophe",
            "pad_with_space",
            "add_blank_at",
            "non_default_punct_list",
        }


def test_blank_position_layout():
    """pad, then blank, then oov; ``add_blank_at="last"`` puts blank after oov."""
    plain = EnglishCharsTokenizer()
    assert plain.tokens[-2:] == ["<pad>", "<oov>"] and plain.blank is None
    after = EnglishCharsTokenizer(add_blank_at=True)
    assert after.tokens[-3:] == ["<pad>", "<blank>", "<oov>"]
    last = EnglishCharsTokenizer(add_blank_at="last")
    assert last.tokens[-3:] == ["<pad>", "<oov>", "<blank>"]
    assert (last.oov, last.blank) == (len(last.tokens) - 2, len(last.tokens) - 1)


def test_decode_drops_pad_blank_and_oov():
    tok = EnglishCharsTokenizer(add_blank_at=True)
    ids = tok("ab")
    assert tok.decode([tok.pad, ids[0], tok.blank, ids[1], tok.oov]) == "ab"


def test_custom_preprocessing_function_is_used():
    tok = EnglishCharsTokenizer(text_preprocessing_func=str.upper)
    # Upper-case letters are not in the vocabulary: only the space and punctuation survive.
    assert tok.decode(tok("ab, c")) == ","


def test_empty_phoneme_text_encodes_to_nothing():
    # NeMo 1.23 raises IndexError here; an empty list is what every other tokenizer returns.
    assert GermanPhonemesTokenizer().encode("") == []


def test_tokenizer_pickles_for_dataloader_workers():
    tok = EnglishCharsTokenizer(pad_with_space=True)
    clone = pickle.loads(pickle.dumps(tok))
    assert clone("Hi there") == tok("Hi there")


def test_unknown_character_is_skipped_with_warning(caplog):
    tok = EnglishCharsTokenizer()
    with caplog.at_level("WARNING"):
        ids = tok("a@b")
    assert tok.decode(ids) == "ab"
