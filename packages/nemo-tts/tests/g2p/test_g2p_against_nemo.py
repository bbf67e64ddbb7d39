"""EnglishG2p and IpaG2p against NeMo 1.23's outputs on hand-written dictionaries (``data/``)."""

import json
import pathlib

import pytest

EXPECTED = json.loads((pathlib.Path(__file__).parent / "data" / "expected_g2p.json").read_text("utf-8"))
G2P = EXPECTED["g2p"]


@pytest.mark.parametrize("name", sorted(G2P))
def test_outputs_match_nemo(name, build_g2p):
    case = G2P[name]
    spec = case["spec"]
    g2p = build_g2p(spec)
    got = [g2p(text) for _ in range(spec.get("calls", 1)) for text in spec["texts"]]
    assert got == case["outputs"]
    if "symbols" in case:
        assert sorted(g2p.symbols) == case["symbols"]


def test_cases_cover_the_arguments():
    used = {key for case in G2P.values() for key in case["spec"]["kwargs"]}
    assert used >= {
        "phoneme_dict",
        "apply_to_oov_word",
        "ignore_ambiguous_words",
        "heteronyms",
        "phoneme_probability",
        "use_chars",
        "use_stresses",
        "grapheme_case",
        "grapheme_prefix",
        "locale",
    }


@pytest.mark.parametrize("name", ["en_prob_half", "ipa_prob_half"])
def test_phoneme_probability_is_deterministic_under_a_seed(name, build_g2p):
    spec = G2P[name]["spec"]
    first, second = build_g2p(spec), build_g2p(spec)
    texts = spec["texts"] * 3
    assert [first(t) for t in texts] == [second(t) for t in texts]
    other = build_g2p({**spec, "seed": spec["seed"] + 1})
    assert [other(t) for t in texts] != [first(t) for t in texts]


def test_probability_extremes(build_g2p):
    """0 keeps every word as letters; 1 converts like no probability at all."""
    never = G2P["en_prob_0"]
    assert build_g2p(never["spec"])(never["spec"]["texts"][0]) == list("hello, world! it's the cat's time.")
    always = G2P["en_prob_1"]
    assert always["outputs"] == G2P["en_default"]["outputs"]


@pytest.mark.parametrize("keep_alternate", [True, False])
def test_replace_symbols_matches_nemo(keep_alternate, build_g2p):
    expected = EXPECTED["replace_symbols"][str(keep_alternate)]
    g2p = build_g2p(
        {"model": "IpaG2p", "kwargs": {"phoneme_dict": "ipa_small.txt", "ignore_ambiguous_words": False}}
    )
    symbols = (set(g2p.symbols) - {"i"}) | set("ABCDEFGHIJKLMNOPQRSTUVWXZ")
    g2p.replace_symbols(symbols, keep_alternate=keep_alternate)
    assert dict(sorted(g2p.phoneme_dict.items())) == expected["phoneme_dict"]
    assert g2p("read york") == expected["read"]
    assert g2p.symbols == symbols
