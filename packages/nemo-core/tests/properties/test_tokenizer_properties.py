"""Property tests for nemo-core's tokenizers (issue 16, "Bad input, tried in bulk").

Arbitrary Unicode text goes through ``text_to_ids`` and back through ``ids_to_text`` without a crash, every id
is inside the vocabulary, and the round trip gives the text back where the tokenizer promises it:

- ``CharTokenizer``: exactly the characters of the text that are in its vocabulary, in order (characters
  outside it are skipped, or become ``unk_token``, which decoding drops with the other special tokens);
- ``SentencePieceTokenizer``: sentencepiece's normalized text (``normalize``: NFKC, spaces collapsed and
  stripped) when every character of it was seen in training; with ``byte_fallback`` for any text; in
  ``legacy`` mode with special tokens, the special tokens come out as their own ids;
- ``RegExTokenizer``: the text (minus newlines its pattern does not match) when every token is in the
  vocabulary, except that bos/eos tokens are dropped (decoding a flat id list treats each token as a
  sequence); unknown tokens decode as ``unk_token``.

Ids outside the vocabulary raise each tokenizer's documented error, naming the id: ``KeyError``
(``CharTokenizer``, as in NeMo), ``IndexError`` (``SentencePieceTokenizer``, as sentencepiece raises),
``ValueError`` (``RegExTokenizer``, as in NeMo).

The sentencepiece models are trained in the test (``create_spt_model``) on generated text.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from nemo.collections.common.tokenizers.char_tokenizer import CharTokenizer
from nemo.collections.common.tokenizers.regex_tokenizer import RegExTokenizer

sentencepiece = pytest.importorskip("sentencepiece")
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import (  # noqa: E402
    SentencePieceTokenizer,
    create_spt_model,
)

EXAMPLES_CHAR = 200
"""Texts (and vocabularies) for ``CharTokenizer``."""
EXAMPLES_SENTENCEPIECE = 200
"""Texts for the three sentencepiece tokenizers (unigram, BPE with byte fallback, legacy special tokens)."""
EXAMPLES_REGEX = 200
"""Texts for ``RegExTokenizer`` with a SMILES-like pattern."""
EXAMPLES_BAD_IDS = 200
"""Id lists (some outside the vocabulary) given to every tokenizer's ``ids_to_text``/``ids_to_tokens``."""

PROPERTY_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ALPHABET = "abcdefghijklmnop éüß"
"""Characters of the generated training text (space included)."""
SPECIAL_TOKENS = ["[SEP]", "[CLS]"]
"""Legacy-mode special tokens added to the unigram model."""
SMILES_REGEX = r"\[[^\]]+]|Br?|Cl?|N|O|c|\(|\)|=|[0-9]"

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
"""Any Unicode text (lone surrogates excluded: they cannot be UTF-8 encoded, so no tokenizer sees them)."""
alphabet_text = st.text(ALPHABET, max_size=40)


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two sentencepiece models trained on 300 generated lines of 2-8 words over ``ALPHABET``."""
    folder = tmp_path_factory.mktemp("tokenizer_properties")
    rng = random.Random(16)
    letters = ALPHABET.replace(" ", "")
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 6))) for _ in range(60)]
    corpus = folder / "corpus.txt"
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 8))) for _ in range(300)]
    lines.append(letters)  # every character at least once
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    unigram, _ = create_spt_model(
        str(corpus), vocab_size=60, sample_size=-1, do_lower_case=False, output_dir=str(folder / "unigram")
    )
    bpe, _ = create_spt_model(
        str(corpus),
        vocab_size=320,  # 256 byte pieces come first
        sample_size=-1,
        do_lower_case=False,
        tokenizer_type="bpe",
        byte_fallback=True,
        output_dir=str(folder / "bpe"),
    )
    return {"unigram": unigram, "bpe": bpe}


@pytest.fixture(scope="module")
def tokenizers(models: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("char_and_regex")
    char_vocab = folder / "chars.txt"
    CharTokenizer.build_vocab(str(char_vocab), characters=ALPHABET + "\n\t'\"\\")
    regex = RegExTokenizer(regex=SMILES_REGEX)
    smiles = folder / "smiles.txt"
    smiles.write_text("Br[C@H](Cl)c1ccN=O2\nC[NH+]CCO3456789\n", encoding="utf-8")
    regex.build_vocab_from_text(str(smiles))
    return {
        "char": CharTokenizer(str(char_vocab)),
        "char with unk": CharTokenizer(
            str(char_vocab),
            unk_token="<unk>",
            bos_token="<s>",
            eos_token="</s>",
            special_token_to_prepend="bos",
            special_token_to_append="eos",
        ),
        "unigram": SentencePieceTokenizer(models["unigram"]),
        "bpe": SentencePieceTokenizer(models["bpe"]),
        "legacy": SentencePieceTokenizer(models["unigram"], special_tokens=SPECIAL_TOKENS, legacy=True),
        "regex": regex,
    }


@pytest.fixture(scope="module")
def char_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the CharTokenizer property writes each example's vocabulary file."""
    return tmp_path_factory.mktemp("char_vocabularies")


def assert_ids_in_vocabulary(ids: list[int], vocab_size: int) -> None:
    assert all(isinstance(token_id, int) and 0 <= token_id < vocab_size for token_id in ids), ids


# ---------------------------------------------------------------------------------------- CharTokenizer
@settings(max_examples=EXAMPLES_CHAR, **PROPERTY_SETTINGS)
@given(vocabulary=any_text.filter(bool), text=any_text, unk=st.booleans())
@example(vocabulary="\n\r\u2028\x85'\"\\", text="a\u2028b\r\n'", unk=False)
def test_char_tokenizer_round_trips_the_characters_it_knows(char_folder, vocabulary, text, unk):
    """Any characters can be a vocabulary (build_vocab writes them, the reader reads them back), and decoding
    gives back exactly the known characters of any text."""
    path = char_folder / "vocab.txt"
    CharTokenizer.build_vocab(str(path), characters=vocabulary)
    tokenizer = CharTokenizer(str(path), unk_token="<unk>") if unk else CharTokenizer(str(path))
    assert set(tokenizer.vocab) - {"<unk>"} == set(vocabulary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown characters are skipped with a warning
        ids = tokenizer.text_to_ids(text)
    assert_ids_in_vocabulary(ids, tokenizer.vocab_size)
    known = "".join(char for char in text if char in set(vocabulary))
    assert tokenizer.ids_to_text(ids) == known
    event(f"char: {'all characters known' if known == text else 'some characters unknown'}")


@settings(max_examples=EXAMPLES_CHAR, **PROPERTY_SETTINGS)
@given(text=any_text, which=st.sampled_from(["char", "char with unk"]))
def test_char_tokenizer_with_special_tokens_drops_them_when_decoding(tokenizers, text, which):
    tokenizer = tokenizers[which]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ids = tokenizer.text_to_ids(text)
    assert_ids_in_vocabulary(ids, tokenizer.vocab_size)
    if which == "char with unk":
        assert ids[0] == tokenizer.bos_id and ids[-1] == tokenizer.eos_id and len(ids) == len(text) + 2
    assert tokenizer.ids_to_text(ids) == "".join(char for char in text if char in ALPHABET + "\n\t'\"\\")


# ---------------------------------------------------------------------------------------- sentencepiece
def promised_text(tokenizer: SentencePieceTokenizer, text: str) -> str:
    """What decoding promises: sentencepiece's own normalization of ``text`` (``▁`` for each run of spaces,
    one in front), shown with spaces and without that leading one."""
    return tokenizer.tokenizer.normalize(text).replace("\u2581", " ").removeprefix(" ")


@settings(max_examples=EXAMPLES_SENTENCEPIECE, **PROPERTY_SETTINGS)
@given(text=st.one_of(alphabet_text, any_text), which=st.sampled_from(["unigram", "bpe"]))
@example(text="  abc   def  ", which="unigram")
@example(text="ＡＢＣ ﬁ", which="bpe")  # NFKC folds these to ASCII
@example(text="汉字 🙂", which="bpe")  # never seen in training: bytes
def test_sentencepiece_round_trips_normalized_text(tokenizers, text, which):
    tokenizer = tokenizers[which]
    ids = tokenizer.text_to_ids(text)
    assert_ids_in_vocabulary(ids, tokenizer.vocab_size)
    decoded = tokenizer.ids_to_text(ids)
    assert isinstance(decoded, str)
    promised = promised_text(tokenizer, text)
    if which == "bpe" or set(promised) <= set(ALPHABET):
        event(f"{which}: round trip promised")
        assert decoded == promised
        assert tokenizer.ids_to_tokens(ids) == tokenizer.text_to_tokens(text)
    else:
        event(f"{which}: unseen characters")
        assert tokenizer.unk_id in ids and "⁇" in decoded  # sentencepiece's unknown piece


@settings(max_examples=EXAMPLES_SENTENCEPIECE, **PROPERTY_SETTINGS)
@given(
    parts=st.lists(st.one_of(alphabet_text, st.sampled_from(SPECIAL_TOKENS), any_text), max_size=5),
)
@example(parts=["[SEP]", "[SEP]", "ab[CLS]"])
def test_sentencepiece_legacy_special_tokens_keep_their_ids(tokenizers, parts):
    tokenizer = tokenizers["legacy"]
    text = "".join(parts)
    ids = tokenizer.text_to_ids(text)
    assert_ids_in_vocabulary(ids, tokenizer.vocab_size)
    special_ids = [tokenizer.token_to_id(token) for token in SPECIAL_TOKENS]
    expected = sum(text.count(token) for token in SPECIAL_TOKENS)
    assert sum(ids.count(token_id) for token_id in special_ids) == expected
    decoded = tokenizer.ids_to_text(ids)
    assert sum(decoded.count(token) for token in SPECIAL_TOKENS) == expected
    tokens = tokenizer.ids_to_tokens(ids)
    assert [token for token in tokens if token in SPECIAL_TOKENS] == [
        token for token in tokenizer.text_to_tokens(text) if token in SPECIAL_TOKENS
    ]


# ---------------------------------------------------------------------------------------- RegExTokenizer
KNOWN_SMILES = ["Br", "[C@H]", "(", "Cl", ")", "c", "N", "=", "O", "C", "[NH+]", *"123456789"]
"""Tokens of the regex tokenizer's vocabulary file (besides the six special tokens)."""
smiles_text = st.one_of(
    st.lists(st.sampled_from(KNOWN_SMILES), max_size=12).map("".join),  # only known tokens
    st.text("BrClNOc()=0123456789[]@H+ \n", max_size=30),  # near misses
)


@settings(max_examples=EXAMPLES_REGEX, **PROPERTY_SETTINGS)
@given(text=st.one_of(smiles_text, smiles_text, any_text))
@example(text="Br[C@H](Cl)c1\nccN=O")
@example(text="[unclosed")
def test_regex_tokenizer_round_trips_known_tokens(tokenizers, text):
    tokenizer = tokenizers["regex"]
    tokens = tokenizer.text_to_tokens(text)
    # Every character is in a token, except newlines the pattern does not match (the fallback '.' skips them).
    assert "".join(tokens).replace("\n", "") == text.replace("\n", ""), "the tokens do not cover the text"
    ids = tokenizer.text_to_ids(text)
    assert_ids_in_vocabulary(ids, tokenizer.vocab_size)
    decoded = "".join(tokenizer.ids_to_text(ids))
    known = [token if token in tokenizer.vocab else tokenizer.unk_token for token in tokens]
    # Documented per sequence (here: per token): a leading bos_token is dropped, and all from an eos_token on.
    expected = "".join(
        token.removeprefix(tokenizer.bos_token).split(tokenizer.eos_token, 1)[0] for token in known
    )
    event(f"regex: {'all tokens known' if known == tokens else 'unknown tokens'}")
    assert decoded == expected


# ---------------------------------------------------------------------------------------- bad ids
DOCUMENTED_ID_ERRORS = {
    "char": KeyError,
    "char with unk": KeyError,
    "unigram": IndexError,
    "bpe": IndexError,
    "legacy": IndexError,
    "regex": ValueError,
}


@settings(max_examples=EXAMPLES_BAD_IDS, **PROPERTY_SETTINGS)
@given(
    which=st.sampled_from(list(DOCUMENTED_ID_ERRORS)),
    ids=st.lists(st.integers(-(2**40), 2**40) | st.integers(-3, 100), max_size=6),
    method=st.sampled_from(["ids_to_text", "ids_to_tokens"]),
)
@example(which="unigram", ids=[2**31], method="ids_to_text")  # beyond int32: sentencepiece says TypeError
@example(which="legacy", ids=[10_000], method="ids_to_tokens")
@example(which="regex", ids=[1, [2]], method="ids_to_tokens")  # a list inside a flat id list
def test_ids_outside_the_vocabulary_raise_the_documented_error(tokenizers, which, ids, method):
    tokenizer = tokenizers[which]
    inside = all(isinstance(token_id, int) and 0 <= token_id < tokenizer.vocab_size for token_id in ids)
    try:
        decoded = getattr(tokenizer, method)(ids)
    except DOCUMENTED_ID_ERRORS[which] as error:
        event(f"bad ids: {type(error).__name__}")
        assert not inside, f"refused ids inside the vocabulary {ids}: {error}"
        bad = [
            token_id
            for token_id in ids
            if not (isinstance(token_id, int) and 0 <= token_id < tokenizer.vocab_size)
        ]
        assert any(repr(token_id) in str(error) for token_id in bad), (
            f"the message names none of {bad}: {error}"
        )
        assert "vocabulary" in str(error), f"the message does not say what is wrong: {error}"
    else:
        event("bad ids: decoded")
        assert inside, f"decoded ids outside the vocabulary {ids}: {decoded!r}"
