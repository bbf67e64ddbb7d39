"""Compute expected values for the G2P and phoneme-tokenizer tests by running real NeMo 1.23 (not our code).

Run with a Python that has NeMo 1.23 installed, from any folder outside the repository:

    /tmp/nemo-ref/bin/python packages/nemo-tts/tests/g2p/data/generate_expected.py

It reads the small dictionaries next to this file (written by hand for these tests: ``arpabet_small.txt``,
``ipa_small.txt``, ``ipa_fr_small.txt``, ``ipa_de_small.txt``, ``heteronyms.txt``) and writes
``expected_g2p.json``: for each G2P case (class, arguments, texts) NeMo's output per text, and for each
tokenizer case (EnglishPhonemesTokenizer / IPATokenizer over a G2P case) the vocabulary and ids (or
``{"error": ...}`` where NeMo raises).

Spec conventions shared with the tests: a ``phoneme_dict`` or ``heteronyms`` string names a file in this
folder; ``apply_to_oov_word: "upper"`` means ``str.upper``; ``seed`` seeds the generator behind
``phoneme_probability`` (NeMo: ``g2p._rng = random.Random(seed)``; ours: the ``seed`` argument); ``calls``
repeats the texts that many times on the same object (the draws go on).
"""

import copy
import json
import pathlib
import random

from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (
    EnglishPhonemesTokenizer,
    IPATokenizer,
)
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p

HERE = pathlib.Path(__file__).parent

EN_TEXTS = [
    "Hello, world! It's the cat's time.",
    "The dogs READ, then live well-known lives in york.",
    "Jones's airport's airports: nvidia x-ray well-york!",
    "say |HH AY1| now (the cats) 'tis 42 times",
]
FR_TEXTS = ["L'homme et l'ami, qu'il été à Paris.", "J'eau l'Homme PARIS d'eau"]
DE_TEXTS = ["Straße über Köln, schön und gut!", "Scho\u0308n STRASSE \u00fcber-und"]
MIXED_TEXTS = ["hello Texas TEXAS texas", "CAT cat Cat jones's"]

ARPA = "arpabet_small.txt"
IPA = "ipa_small.txt"

G2P_CASES = {
    "en_default": {"model": "EnglishG2p", "kwargs": {"phoneme_dict": ARPA}, "texts": EN_TEXTS},
    "en_ambiguous_kept": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "ignore_ambiguous_words": False},
        "texts": EN_TEXTS,
    },
    "en_heteronyms_file": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "ignore_ambiguous_words": False, "heteronyms": "heteronyms.txt"},
        "texts": EN_TEXTS,
    },
    "en_heteronyms_list": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "ignore_ambiguous_words": False, "heteronyms": ["the", "cat"]},
        "texts": EN_TEXTS,
    },
    "en_oov_upper": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "apply_to_oov_word": "upper"},
        "texts": EN_TEXTS,
    },
    "en_dict_object": {
        "model": "EnglishG2p",
        "kwargs": {
            "phoneme_dict": {"cat": [["K", "AE1", "T"]], "time": [["T", "AY1", "M"], ["T", "IY1", "M"]]}
        },
        "texts": EN_TEXTS,
    },
    "en_prob_0": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "phoneme_probability": 0.0},
        "seed": 3,
        "texts": EN_TEXTS,
    },
    "en_prob_1": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "phoneme_probability": 1.0},
        "seed": 3,
        "texts": EN_TEXTS,
    },
    "en_prob_half": {
        "model": "EnglishG2p",
        "kwargs": {"phoneme_dict": ARPA, "phoneme_probability": 0.5},
        "seed": 1234,
        "calls": 3,
        "texts": EN_TEXTS,
    },
    "ipa_default": {"model": "IpaG2p", "kwargs": {"phoneme_dict": IPA}, "texts": EN_TEXTS},
    "ipa_no_stress_prefix": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "use_stresses": False, "grapheme_prefix": "#", "use_chars": True},
        "texts": EN_TEXTS,
    },
    "ipa_lower": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "grapheme_case": "lower", "heteronyms": "heteronyms.txt"},
        "texts": EN_TEXTS,
    },
    "ipa_mixed": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "grapheme_case": "mixed", "ignore_ambiguous_words": False},
        "texts": EN_TEXTS + MIXED_TEXTS,
    },
    "ipa_oov_upper_ambiguous_kept": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "apply_to_oov_word": "upper", "ignore_ambiguous_words": False},
        "texts": EN_TEXTS,
    },
    "ipa_dict_object": {
        "model": "IpaG2p",
        "kwargs": {
            "phoneme_dict": {"CAT": [["ˈ", "k", "æ", "t"]], "Scho\u0308n": [["ʃ", "o\u0308", "n"]]},
            "locale": None,
        },
        "texts": ["cat schön Scho\u0308n CAT"],
    },
    "ipa_prob_half": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "phoneme_probability": 0.5, "grapheme_prefix": "#"},
        "seed": 99,
        "calls": 3,
        "texts": EN_TEXTS,
    },
    "ipa_prob_0": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": IPA, "phoneme_probability": 0.0},
        "seed": 5,
        "texts": EN_TEXTS,
    },
    "ipa_fr": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": "ipa_fr_small.txt", "locale": "fr-FR", "grapheme_case": "lower"},
        "texts": FR_TEXTS,
    },
    "ipa_fr_upper": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": "ipa_fr_small.txt", "locale": "fr-FR"},
        "texts": FR_TEXTS,
    },
    "ipa_de": {
        "model": "IpaG2p",
        "kwargs": {"phoneme_dict": "ipa_de_small.txt", "locale": "de-DE", "grapheme_case": "mixed"},
        "texts": DE_TEXTS,
    },
}

TOKENIZER_CASES = {
    "arpa_default": {"tokenizer": "EnglishPhonemesTokenizer", "kwargs": {}, "g2p": "en_default"},
    "arpa_stresses_chars": {
        "tokenizer": "EnglishPhonemesTokenizer",
        "kwargs": {"stresses": True, "chars": True},
        "g2p": "en_default",
    },
    "arpa_nopunct_blank_pad": {
        "tokenizer": "EnglishPhonemesTokenizer",
        "kwargs": {"punct": False, "add_blank_at": True, "pad_with_space": True, "apostrophe": False},
        "g2p": "en_ambiguous_kept",
    },
    "arpa_silence_last_custom_punct": {
        "tokenizer": "EnglishPhonemesTokenizer",
        "kwargs": {
            "silence": "<sil>",
            "add_blank_at": "last",
            "non_default_punct_list": [",", "!"],
            "chars": True,
        },
        "g2p": "en_oov_upper",
    },
    "arpa_prob_half": {
        "tokenizer": "EnglishPhonemesTokenizer",
        "kwargs": {"stresses": True},
        "g2p": "en_prob_half",
    },
    "ipa_default": {"tokenizer": "IPATokenizer", "kwargs": {}, "g2p": "ipa_default"},
    "ipa_prefix_chars_apostrophe": {
        "tokenizer": "IPATokenizer",
        "kwargs": {"apostrophe": True, "pad_with_space": True, "add_blank_at": True},
        "g2p": "ipa_no_stress_prefix",
    },
    "ipa_nopunct_silence": {
        "tokenizer": "IPATokenizer",
        "kwargs": {"punct": False, "silence": "<sil>", "add_blank_at": "last"},
        "g2p": "ipa_lower",
    },
    "ipa_custom_punct": {
        "tokenizer": "IPATokenizer",
        "kwargs": {"non_default_punct_list": [",", "!", "'"]},
        "g2p": "ipa_oov_upper_ambiguous_kept",
    },
    "ipa_fr": {"tokenizer": "IPATokenizer", "kwargs": {"locale": "fr-FR"}, "g2p": "ipa_fr"},
    "ipa_de": {"tokenizer": "IPATokenizer", "kwargs": {"locale": "de-DE"}, "g2p": "ipa_de"},
    "ipa_fixed_vocab": {
        "tokenizer": "IPATokenizer",
        "kwargs": {
            "fixed_vocab": [
                "ˈ",
                "k",
                "æ",
                "t",
                "ɪ",
                "ð",
                "ə",
                "ɹ",
                "ɛ",
                "d",
                "i",
                "C",
                "A",
                "T",
                "D",
                "O",
                "G",
            ]
        },
        "g2p": "ipa_default",
    },
    "ipa_prob_half": {"tokenizer": "IPATokenizer", "kwargs": {}, "g2p": "ipa_prob_half"},
    "ipa_locale_none": {"tokenizer": "IPATokenizer", "kwargs": {"locale": None}, "g2p": "ipa_dict_object"},
}


def build_g2p(spec):
    kwargs = copy.deepcopy(spec["kwargs"])
    for key in ("phoneme_dict", "heteronyms"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = str(HERE / kwargs[key])
    if kwargs.get("apply_to_oov_word") == "upper":
        kwargs["apply_to_oov_word"] = str.upper
    g2p = {"EnglishG2p": EnglishG2p, "IpaG2p": IpaG2p}[spec["model"]](**kwargs)
    if "seed" in spec:
        g2p._rng = random.Random(spec["seed"])
    return g2p


def run_g2p(g2p, spec):
    return [g2p(text) for _ in range(spec.get("calls", 1)) for text in spec["texts"]]


def encode_or_error(tok, text):
    """The ids, or the exception's class name where NeMo fails (IPATokenizer with punct=False)."""
    try:
        return tok(text)
    except AttributeError as error:
        return {"error": type(error).__name__}


def replace_symbols():
    """``IpaG2p.replace_symbols`` without ``i`` (one of READ's two pronunciations) and the letter ``Y`` (YORK)."""
    out = {}
    for keep_alternate in (True, False):
        g2p = build_g2p({"model": "IpaG2p", "kwargs": {"phoneme_dict": IPA, "ignore_ambiguous_words": False}})
        symbols = (set(g2p.symbols) - {"i"}) | set("ABCDEFGHIJKLMNOPQRSTUVWXZ")
        g2p.replace_symbols(symbols, keep_alternate=keep_alternate)
        out[str(keep_alternate)] = {
            "removed": ["i", "Y"],
            "phoneme_dict": {w: p for w, p in sorted(g2p.phoneme_dict.items())},
            "read": g2p("read york"),
        }
    return out


def main():
    g2p_out = {}
    for name, spec in G2P_CASES.items():
        g2p = build_g2p(spec)
        g2p_out[name] = {"spec": spec, "outputs": run_g2p(g2p, spec)}
        if spec["model"] == "IpaG2p":
            g2p_out[name]["symbols"] = sorted(g2p.symbols)

    tok_out = {}
    for name, spec in TOKENIZER_CASES.items():
        g2p_spec = G2P_CASES[spec["g2p"]]
        g2p = build_g2p(g2p_spec)
        cls = {"EnglishPhonemesTokenizer": EnglishPhonemesTokenizer, "IPATokenizer": IPATokenizer}[
            spec["tokenizer"]
        ]
        tok = cls(g2p, **spec["kwargs"])
        ids = [
            encode_or_error(tok, text) for _ in range(g2p_spec.get("calls", 1)) for text in g2p_spec["texts"]
        ]
        entry = {
            "spec": spec,
            "tokens": tok.tokens,
            "pad": tok.pad,
            "blank": tok.blank,
            "oov": tok.oov,
            "space": tok.space,
            "ids": ids,
            "decoded": [tok.decode(i) if isinstance(i, list) else i for i in ids],
        }
        if spec["tokenizer"] == "IPATokenizer":
            entry["set_fixed_vocab"] = tok.set_fixed_vocab
            entry["g2p_dict_after"] = {w: p for w, p in sorted(g2p.phoneme_dict.items())}
        tok_out[name] = entry

    out = {
        "nemo_version": "1.23.0",
        "g2p": g2p_out,
        "tokenizers": tok_out,
        "replace_symbols": replace_symbols(),
    }
    path = HERE / "expected_g2p.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
