"""Our English normalizer against nemo_text_processing's outputs and against readings written by hand."""

from __future__ import annotations

import inspect
import json
import pickle
from pathlib import Path

import pytest
from nemo.collections.tts.parts.preprocessing.text_normalizer import Normalizer

_EXPECTED = json.loads(
    (Path(__file__).parent / "data" / "expected_nemo_text_processing.json").read_text(encoding="utf-8")
)
_CASED = [(kind, case) for kind, cases in _EXPECTED["cased"].items() for case in cases]


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(input_case="cased", lang="en")


@pytest.mark.parametrize(
    ("kind", "case"), _CASED, ids=[f"{kind}:{case['text'].strip()}" for kind, case in _CASED]
)
def test_matches_nemo_text_processing_as_fastpitch_calls_it(normalizer, kind, case):
    spoken = normalizer.normalize(
        case["text"], verbose=False, punct_pre_process=True, punct_post_process=True
    )
    assert spoken == case["fastpitch_call"], kind


@pytest.mark.parametrize(
    "case",
    [case for _, case in _CASED if case["default_call"] == case["fastpitch_call"]],
    ids=lambda case: case["text"].strip(),
)
def test_matches_nemo_text_processing_with_default_arguments(normalizer, case):
    assert normalizer.normalize(case["text"]) == case["default_call"]


@pytest.mark.parametrize("case", _EXPECTED["lower_cased"], ids=lambda case: case["text"])
def test_lower_cased_input_matches_nemo_text_processing(case):
    normalizer = Normalizer(input_case="lower_cased", lang="en")
    assert (
        normalizer.normalize(case["text"], punct_pre_process=True, punct_post_process=True)
        == case["fastpitch_call"]
    )


def test_cased_input_leaves_lower_case_abbreviations_and_months_alone(normalizer):
    assert normalizer.normalize("mr. smith, on may 5") == "mr. smith, on may five"


# Readings written by hand from English reading rules (an independent reference besides nemo_text_processing).
_BY_HAND = {
    "cardinal": (
        "I counted 1,234,567 stars and -42 stones.",
        "I counted one million two hundred thirty four "
        "thousand five hundred and sixty seven stars and minus forty two stones.",
    ),
    "decimal": (
        "Pi is 3.14 and e is 2.718.",
        "Pi is three point one four and e is two point seven one eight.",
    ),
    "ordinal": (
        "The 1st, 22nd and 103rd runners.",
        "The first, twenty second and one hundred third runners.",
    ),
    "money": (
        "$5, $5.50, $1.2 million, £3 and €7.25",
        "five dollars, five dollars fifty cents, one point two "
        "million dollars, three pounds and seven euros twenty five cents",
    ),
    "percent": ("Rates fell 12.5% to 40%.", "Rates fell twelve point five percent to forty percent."),
    "time": (
        "Lunch at 12:05 pm, tea at 4 pm, bed at 10:00.",
        "Lunch at twelve o five PM, tea at four PM, bed at ten o'clock.",
    ),
    "date": (
        "Born January 5, 1999; moved 3/12/2024.",
        "Born january fifth, nineteen ninety nine; moved march twelfth twenty twenty four.",
    ),
    "year": ("In 1905, 2000 and 2024.", "In nineteen oh five, two thousand and twenty twenty four."),
    "abbreviation": (
        "Mr. and Mrs. Lee met Dr. Roe vs. St. Clair, etc.",
        "mister and misses Lee met doctor Roe versus Saint Clair, etcetera.",
    ),
    "electronic": (
        "Write to bob_smith@x.co.uk or see https://www.nvidia.com/en-us/ now.",
        "Write to bob underscore smith at x dot co dot uk or see HTTPS colon slash slash WWW dot nvidia dot com "
        "slash en dash us slash now.",
    ),
    "measure": (
        "We walked 5 km with 1 kg of apples.",
        "We walked five kilometers with one kilogram of apples.",
    ),
}


@pytest.mark.parametrize(("written", "spoken"), _BY_HAND.values(), ids=_BY_HAND.keys())
def test_reads_each_class_as_written_by_hand(normalizer, written, spoken):
    assert normalizer.normalize(written) == spoken


@pytest.mark.parametrize(
    "text",
    [
        "Nothing to read here, just words.",
        "Is this unchanged? Yes!",
        "A vsop cognac, Drs. Who and Mrsmith.",
        "Punctuation: (a) [b] {c} -- 'quotes' \"double\".",
        "",
    ],
)
def test_text_without_anything_to_normalize_stays_unchanged(normalizer, text):
    assert normalizer.normalize(text) == text


def test_normalize_list_normalizes_each_text(normalizer):
    texts = ["$5", "Hello", "the 1990s"]
    assert normalizer.normalize_list(texts, verbose=False, batch_size=2, n_jobs=1) == [
        "five dollars",
        "Hello",
        "the nineteen nineties",
    ]


def test_constructor_and_normalize_take_nemo_text_processings_arguments():
    constructor = list(inspect.signature(Normalizer.__init__).parameters)[1:]
    assert constructor == [
        "input_case",
        "lang",
        "deterministic",
        "cache_dir",
        "overwrite_cache",
        "whitelist",
        "lm",
        "post_process",
        "max_number_of_permutations_per_split",
    ]
    normalize = list(inspect.signature(Normalizer.normalize).parameters)[1:]
    assert normalize == ["text", "verbose", "punct_pre_process", "punct_post_process"]
    Normalizer(
        input_case="cased",
        lang="en",
        deterministic=True,
        cache_dir="/nonexistent",
        overwrite_cache=True,
        lm=False,
        post_process=False,
        max_number_of_permutations_per_split=10,
    )


def test_pickled_normalizer_keeps_its_whitelist_and_case(tmp_path):
    whitelist = tmp_path / "whitelist.tsv"
    whitelist.write_text("dr.\tdrive\n", encoding="utf-8")
    normalizer = Normalizer(input_case="lower_cased", lang="en", whitelist=whitelist)
    restored = pickle.loads(pickle.dumps(normalizer))
    assert restored.normalize("DR. Lane, Jan. 5") == "drive Lane, january fifth"
    assert (restored.lang, restored.input_case) == ("en", "lower_cased")


def test_other_languages_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"lang='de'.*expected lang='en'.*nemo_text_processing"):
        Normalizer(input_case="cased", lang="de")


def test_unknown_input_case_is_refused():
    with pytest.raises(ValueError, match=r"input_case='upper'.*'cased', 'lower_cased'"):
        Normalizer(input_case="upper")


def test_whitelist_file_replaces_the_built_in_abbreviations(tmp_path):
    whitelist = tmp_path / "whitelist.tsv"
    whitelist.write_text("Dr.\tdrive\nNeMo\tnemo\n\n", encoding="utf-8")
    normalizer = Normalizer(input_case="cased", lang="en", whitelist=str(whitelist))
    assert normalizer.normalize("Dr. NeMo met Mr. Smith at 5 pm.") == "drive nemo met Mr. Smith at five PM."


def test_malformed_whitelist_line_names_the_file_and_line(tmp_path):
    whitelist = tmp_path / "whitelist.tsv"
    whitelist.write_text("Dr.\tdoctor\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"whitelist\.tsv:2: .*'written<TAB>spoken'.*'no tab here'"):
        Normalizer(input_case="cased", whitelist=whitelist)
