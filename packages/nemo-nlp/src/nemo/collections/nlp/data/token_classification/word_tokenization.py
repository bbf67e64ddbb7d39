"""Words to subword token ids, with the word each token came from, for whole corpora at once.

NeMo 1.23 tokenizes every word with its own ``tokenizer.text_to_tokens(word)`` call. The result is
reproduced here with far fewer Python calls:

- A Hugging Face fast tokenizer whose pipeline works word by word (WordPiece behind BERT's normalizer
  and pre-tokenizer: BERT, DistilBERT, MiniLM, ELECTRA, ...) gets whole queries in one batch call with
  ``is_split_into_words=True``; ``word_ids()`` maps tokens back to words. Each word goes through the
  normalizer, pre-tokenizer and model on its own, exactly as a per-word call would.
- Any other fast tokenizer tokenizes each distinct word once, in one batch call over the distinct words
  (RoBERTa's and GPT-2's, for example, accept split words only with a prefix space that a call on the word
  alone does not add).
- A tokenizer that is not a Hugging Face fast tokenizer calls ``text_to_ids`` once per distinct word.

A word that gives no token at all (a zero-width or control character alone) becomes ``unk_id``, as NeMo's
training datasets do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["WordTokens", "tokenize_words", "word_split_is_exact"]

# Queries per batch call: bounds the memory of one call's encodings on large corpora.
_CHUNK = 8192
_WORD_BY_WORD_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}
_WORD_BY_WORD_NORMALIZERS = {"NoneType", "BertNormalizer"}


@dataclass(frozen=True)
class WordTokens:
    """The subword tokens of one query's words.

    Attributes:
        ids: token ids, shape ``(T,)``, int64, in word order (no special tokens).
        word_index: the index of the word each token belongs to, shape ``(T,)``, int64, non-decreasing;
            every word has at least one token.
    """

    ids: np.ndarray
    word_index: np.ndarray

    @property
    def first_token_mask(self) -> np.ndarray:
        """``True`` where a token starts a word, shape ``(T,)``, bool."""
        mask = np.ones(self.word_index.shape, dtype=bool)
        mask[1:] = self.word_index[1:] != self.word_index[:-1]
        return mask


def _fast_tokenizer(tokenizer: Any) -> Any | None:
    """The Hugging Face fast tokenizer behind ``tokenizer`` (a NeMo ``AutoTokenizer``), or ``None``."""
    hf = getattr(tokenizer, "tokenizer", None)
    if hf is not None and getattr(hf, "is_fast", False) and hasattr(hf, "backend_tokenizer"):
        return hf
    return None


def word_split_is_exact(tokenizer: Any) -> bool:
    """Whether one ``is_split_into_words=True`` call gives each word the tokens of a call on that word alone.

    True for a fast tokenizer with a WordPiece model, BERT's normalizer (or none) and a pre-tokenizer that
    splits on whitespace and punctuation only.
    """
    hf = _fast_tokenizer(tokenizer)
    if hf is None:
        return False
    backend = hf.backend_tokenizer
    return (
        type(backend.model).__name__ == "WordPiece"
        and type(backend.normalizer).__name__ in _WORD_BY_WORD_NORMALIZERS
        and type(backend.pre_tokenizer).__name__ in _WORD_BY_WORD_PRE_TOKENIZERS
    )


def _batch_call(hf: Any, inputs: list[Any], split_into_words: bool) -> list[Any]:
    """The fast tokenizer's ``tokenizers.Encoding`` objects for ``inputs``, without special tokens."""
    encodings: list[Any] = []
    for start in range(0, len(inputs), _CHUNK):
        batch = hf(
            inputs[start : start + _CHUNK],
            is_split_into_words=split_into_words,
            add_special_tokens=False,
            truncation=False,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        encodings.extend(batch.encodings)
    return encodings


def _require_unk_id(unk_id: int | None, word: str) -> int:
    if unk_id is None or unk_id < 0:
        raise ValueError(
            f"The word {word!r} gives no token and the tokenizer has no unknown token (unk_id={unk_id}). "
            "Use a tokenizer with an unk token, or remove such words from the data."
        )
    return unk_id


def _with_unknown_for_empty_words(
    words: Sequence[str], ids: np.ndarray, word_index: np.ndarray, unk_id: int | None
) -> WordTokens:
    """Insert ``unk_id`` for each word that has no token, keeping word order."""
    counts = np.bincount(word_index, minlength=len(words))
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        unk = _require_unk_id(unk_id, words[int(empty[0])])
        starts = np.cumsum(counts) - counts
        ids = np.insert(ids, starts[empty], unk)
        word_index = np.insert(word_index, starts[empty], empty)
    return WordTokens(ids=ids, word_index=word_index)


def _tokenize_split_words(hf: Any, queries: Sequence[Sequence[str]], unk_id: int | None) -> list[WordTokens]:
    empty = WordTokens(ids=np.zeros(0, dtype=np.int64), word_index=np.zeros(0, dtype=np.int64))
    non_empty = [i for i, words in enumerate(queries) if len(words)]
    encodings = _batch_call(hf, [list(queries[i]) for i in non_empty], split_into_words=True)
    result = [empty] * len(queries)
    for i, encoding in zip(non_empty, encodings):
        ids = np.asarray(encoding.ids, dtype=np.int64)
        word_index = np.asarray(encoding.word_ids, dtype=np.int64)
        result[i] = _with_unknown_for_empty_words(queries[i], ids, word_index, unk_id)
    return result


def _distinct_word_ids(tokenizer: Any, words: list[str], unk_id: int | None) -> list[list[int]]:
    hf = _fast_tokenizer(tokenizer)
    if hf is not None:
        per_word = [encoding.ids for encoding in _batch_call(hf, words, split_into_words=False)]
    else:
        per_word = [list(tokenizer.text_to_ids(word)) for word in words]
    return [ids if ids else [_require_unk_id(unk_id, word)] for word, ids in zip(words, per_word)]


def _tokenize_distinct_words(
    tokenizer: Any, queries: Sequence[Sequence[str]], unk_id: int | None
) -> list[WordTokens]:
    vocabulary: dict[str, int] = {}
    for words in queries:
        for word in words:
            vocabulary.setdefault(word, len(vocabulary))
    word_ids = _distinct_word_ids(tokenizer, list(vocabulary), unk_id)
    lengths = np.array([len(ids) for ids in word_ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.fromiter((i for ids in word_ids for i in ids), dtype=np.int64, count=int(offsets[-1]))
    result = []
    for words in queries:
        codes = np.fromiter((vocabulary[w] for w in words), dtype=np.int64, count=len(words))
        counts = lengths[codes]
        word_index = np.repeat(np.arange(len(words), dtype=np.int64), counts)
        # Position of each token inside its word, added to the word's offset in ``flat``.
        within = np.arange(word_index.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        result.append(WordTokens(ids=flat[np.repeat(offsets[codes], counts) + within], word_index=word_index))
    return result


def tokenize_words(queries: Sequence[Sequence[str]], tokenizer: Any) -> list[WordTokens]:
    """Tokenize whitespace-split queries into subword token ids, as NeMo's per-word calls do.

    Args:
        queries: one list of words per query (``line.split()``); a query may have no word.
        tokenizer: a NeMo tokenizer (``TokenizerSpec``: ``text_to_ids``, ``unk_id``), for example
            ``nemo.collections.common.tokenizers.AutoTokenizer``.

    Returns:
        One ``WordTokens`` per query: ids ``(T,)`` and word index ``(T,)``.

    Raises:
        ValueError: a word gives no token and the tokenizer has no ``unk_id``.
    """
    unk_id = getattr(tokenizer, "unk_id", None)
    if word_split_is_exact(tokenizer):
        return _tokenize_split_words(_fast_tokenizer(tokenizer), queries, unk_id)
    return _tokenize_distinct_words(tokenizer, queries, unk_id)
