"""Batch word tokenization against NeMo 1.23's per-word ``text_to_tokens`` (real BBC text and tricky words)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from nemo.collections.nlp.data.token_classification import word_tokenization
from nemo.collections.nlp.data.token_classification.word_tokenization import (
    tokenize_words,
    word_split_is_exact,
)

UNK_ID = 100  # [UNK] in the MiniLM vocabulary


def nemo_expected(reference: dict) -> list[tuple[list[str], list[int], list[int]]]:
    """NeMo's per-word ids, with NeMo's training rule for a word that gives no token: one [UNK]."""
    cases = []
    for words, ids, counts in zip(
        reference["word_tokens"]["queries"],
        reference["word_tokens"]["ids"],
        reference["word_tokens"]["counts"],
    ):
        expected_ids, expected_index, position = [], [], 0
        for index, count in enumerate(counts):
            word_ids = ids[position : position + count] or [UNK_ID]
            position += count
            expected_ids.extend(word_ids)
            expected_index.extend([index] * len(word_ids))
        cases.append((words, expected_ids, expected_index))
    return cases


def test_word_split_is_exact_for_minilm(tokenizer) -> None:
    assert word_split_is_exact(tokenizer)


@pytest.mark.parametrize("path", ["public", "split_words", "distinct_words"])
def test_matches_nemo_per_word_tokens_on_bbc_and_tricky_words(
    tokenizer, nemo_reference: dict, path: str
) -> None:
    cases = nemo_expected(nemo_reference)
    queries = [words for words, _, _ in cases]
    assert sum(len(q) for q in queries) > 6000  # real BBC paragraphs plus the tricky words
    if path == "public":
        result = tokenize_words(queries, tokenizer)
    elif path == "split_words":
        result = word_tokenization._tokenize_split_words(tokenizer.tokenizer, queries, tokenizer.unk_id)
    else:
        result = word_tokenization._tokenize_distinct_words(tokenizer, queries, tokenizer.unk_id)
    for (words, expected_ids, expected_index), tokens in zip(cases, result):
        assert tokens.ids.tolist() == expected_ids, words
        assert tokens.word_index.tolist() == expected_index, words
        assert tokens.ids.dtype == np.int64 and tokens.word_index.dtype == np.int64


def test_tricky_words_include_the_hard_cases(nemo_reference: dict) -> None:
    tricky = nemo_reference["word_tokens"]["queries"][-1]
    for word in [
        "naïve",
        "İstanbul",
        "日本語テキスト",
        "😀",
        "\u200b",
        "[SEP]",
        "a" * 101,
        "£1.13bn",
        "don't",
    ]:
        assert word in tricky


def test_hand_worked_example(tokenizer) -> None:
    # MiniLM vocabulary: hello 7592, world 2088, ' 1005, s 1055, naive 15743 (accent stripped), token 19204,
    # ##ization 3989; the zero-width space gives no token and becomes [UNK] 100.
    [tokens, empty] = tokenize_words([["Hello", "world's", "naïve", "\u200b", "tokenization"], []], tokenizer)
    assert tokens.ids.tolist() == [7592, 2088, 1005, 1055, 15743, 100, 19204, 3989]
    assert tokens.word_index.tolist() == [0, 1, 1, 1, 2, 3, 4, 4]
    assert tokens.first_token_mask.tolist() == [True, True, False, False, True, True, True, False]
    assert empty.ids.size == 0 and empty.word_index.size == 0 and empty.first_token_mask.size == 0


def test_split_call_matches_per_word_fast_calls_on_many_bbc_articles(tokenizer, bbc_dir: Path) -> None:
    articles = sorted(bbc_dir.glob("*/*.txt"))
    chosen = random.Random(0).sample(articles, 150)
    queries = [
        line.split()
        for path in chosen
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]
    result = tokenize_words(queries, tokenizer)
    for words, tokens in zip(queries, result):
        expected = [tokenizer.text_to_ids(word) or [UNK_ID] for word in words]
        assert tokens.ids.tolist() == [i for ids in expected for i in ids], words
        assert np.bincount(tokens.word_index, minlength=len(words)).tolist() == [len(ids) for ids in expected]


@pytest.fixture(scope="module")
def bpe_tokenizer(tmp_path_factory: pytest.TempPathFactory, offline_hub: None):
    """A byte-level BPE fast tokenizer (not WordPiece), trained here and loaded by ``AutoTokenizer``."""
    from nemo.collections.common.tokenizers import AutoTokenizer
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(
        ["the quick brown fox jumps over the lazy dog", "tokenization of words"] * 50, trainer
    )
    directory = tmp_path_factory.mktemp("bpe")
    PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    ).save_pretrained(directory)
    return AutoTokenizer(str(directory))


def test_other_fast_tokenizers_tokenize_each_distinct_word_alone(bpe_tokenizer) -> None:
    assert not word_split_is_exact(bpe_tokenizer)
    queries = [["the", "quick", "tokenization"], ["fox", "the", "unseen", "Zürich"], []]
    result = tokenize_words(queries, bpe_tokenizer)
    for words, tokens in zip(queries, result):
        expected = [bpe_tokenizer.text_to_ids(word) for word in words]
        assert tokens.ids.tolist() == [i for ids in expected for i in ids]
        assert tokens.word_index.tolist() == [w for w, ids in enumerate(expected) for _ in ids]


def test_tokenizers_without_hugging_face_call_text_to_ids_per_word(tmp_path: Path) -> None:
    from nemo.collections.common.tokenizers import CharTokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(repr(c) + "\n" for c in "abcdefgh"), encoding="utf-8")
    chars = CharTokenizer(str(vocab), unk_token="<unk>")
    assert not word_split_is_exact(chars)
    [tokens] = tokenize_words([["abc", "hz", "a"]], chars)
    expected = [chars.text_to_ids("abc"), chars.text_to_ids("hz"), chars.text_to_ids("a")]
    assert tokens.ids.tolist() == [i for ids in expected for i in ids]
    assert tokens.word_index.tolist() == [0, 0, 0, 1, 1, 2]


def test_word_without_tokens_needs_an_unknown_token(tmp_path: Path) -> None:
    from nemo.collections.common.tokenizers import CharTokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("'a'\n'b'\n", encoding="utf-8")
    chars = CharTokenizer(str(vocab))  # no unk token: unk_id is -1
    with (
        pytest.warns(UserWarning),
        pytest.raises(
            ValueError,
            match=r"The word .z. gives no token and the tokenizer has no unknown token \(unk_id=-1\)",
        ),
    ):
        tokenize_words([["ab", "z"]], chars)
