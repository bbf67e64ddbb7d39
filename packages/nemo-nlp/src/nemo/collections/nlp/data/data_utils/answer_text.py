"""Answer-text normalization for question-answering scores (SQuAD rules, with Chinese split per character).

An answer is compared after lower-casing, dropping ASCII punctuation, dropping the articles ``a``/``an``/``the``
and collapsing whitespace. Runs of Chinese characters are compared character by character, with Chinese
punctuation dropped.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from itertools import groupby

__all__ = [
    "answer_tokens",
    "check_chinese_char",
    "chinese_punctuation",
    "is_whitespace",
    "normalize_answer",
    "normalize_chinese_answer",
    "remove_articles",
    "remove_punc",
    "token_f1",
    "white_space_fix",
]

# Punctuation marks NeMo counts as Chinese (one entry, the em-dash pair, is two characters long).
chinese_punctuation = frozenset(
    {
        "——",
        "‘",
        "’",
        "“",
        "”",
        "…",
        "、",
        "。",
        "〈",
        "〉",
        "《",
        "》",
        "「",
        "」",
        "『",
        "』",
        "【",
        "】",
        "〔",
        "〕",
    }
    | {"！", "（", "）", "，", "．", "：", "；", "？"}
)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCTUATION = frozenset(string.punctuation)
_SPLIT_WHITESPACE = frozenset({" ", "\t", "\r", "\n", "\u202f"})


def remove_articles(text: str) -> str:
    """Replace each whole-word ``a``, ``an`` or ``the`` with one space (other spaces are kept)."""
    return _ARTICLES.sub(" ", text)


def white_space_fix(text: str) -> str:
    """Collapse every run of whitespace into one space and strip both ends."""
    return " ".join(text.split())


def remove_punc(text: str) -> str:
    """Drop every ASCII punctuation character (``string.punctuation``)."""
    return "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation, drop articles, then collapse whitespace (in that order)."""
    return white_space_fix(remove_articles(remove_punc(text.lower())))


def check_chinese_char(ch: str) -> bool:
    """Whether ``ch`` is a CJK unified ideograph (U+4E00..U+9FFF) or a Chinese punctuation mark."""
    return "\u4e00" <= ch <= "\u9fff" or ch in chinese_punctuation


def normalize_chinese_answer(text: str) -> list[str]:
    """Drop Chinese punctuation and return the remaining characters one by one."""
    return [ch for ch in text if ch not in chinese_punctuation]


def is_whitespace(ch: str) -> bool:
    """Whether ``ch`` separates words in a QA context: space, tab, CR, LF or NARROW NO-BREAK SPACE."""
    return ch in _SPLIT_WHITESPACE


def answer_tokens(text: str | None) -> list[str]:
    """Normalized tokens of an answer: words for non-Chinese runs, single characters for Chinese runs."""
    if not text:
        return []
    tokens: list[str] = []
    for is_chinese, run in groupby(text, key=check_chinese_char):
        piece = "".join(run)
        tokens.extend(normalize_chinese_answer(piece) if is_chinese else normalize_answer(piece).split())
    return tokens


def token_f1(prediction_tokens: Sequence[str], truth_tokens: Sequence[str]) -> float:
    """Bag-of-tokens F1 of two token lists; when either list is empty, 1 if both are empty and 0 otherwise."""
    if not prediction_tokens or not truth_tokens:
        return int(list(prediction_tokens) == list(truth_tokens))
    overlap = sum((Counter(prediction_tokens) & Counter(truth_tokens)).values())
    if overlap == 0:
        return 0
    precision = overlap / len(prediction_tokens)
    recall = overlap / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)
