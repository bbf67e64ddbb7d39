"""Text helpers shared by the G2P models (NeMo 1.23's names): grapheme case, punctuation removal and
heteronym span search."""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterable

__all__ = [
    "GRAPHEME_CASE_UPPER",
    "GRAPHEME_CASE_LOWER",
    "GRAPHEME_CASE_MIXED",
    "get_heteronym_spans",
    "remove_punctuation",
    "set_grapheme_case",
]

GRAPHEME_CASE_UPPER = "upper"
GRAPHEME_CASE_LOWER = "lower"
GRAPHEME_CASE_MIXED = "mixed"


def set_grapheme_case(text: str, case: str = GRAPHEME_CASE_UPPER) -> str:
    """Upper-case, lower-case or keep (``"mixed"``) ``text``.

    Args:
        text: a word or sentence.
        case: ``"upper"``, ``"lower"`` or ``"mixed"``.

    Returns:
        The text in that case.

    Raises:
        ValueError: unknown case.
    """
    if case == GRAPHEME_CASE_UPPER:
        return text.upper()
    if case == GRAPHEME_CASE_LOWER:
        return text.lower()
    if case == GRAPHEME_CASE_MIXED:
        return text
    raise ValueError(
        f"Case <{case}> is not supported. Expected one of '{GRAPHEME_CASE_UPPER}', '{GRAPHEME_CASE_LOWER}', "
        f"'{GRAPHEME_CASE_MIXED}': set grapheme_case to one of them."
    )


def remove_punctuation(
    text: str, remove_spaces: bool = False, do_lower: bool = False, exclude: Iterable[str] | None = None
) -> str:
    """Replace ASCII punctuation by spaces, collapse runs of spaces and strip the ends.

    Args:
        text: input text.
        remove_spaces: also drop every space (and no-break space).
        do_lower: lower-case the result.
        exclude: punctuation marks to keep, e.g. ``["'", "."]``.

    Returns:
        The cleaned text.
    """
    kept = set(exclude or ())
    marks = "".join(ch for ch in string.punctuation if ch not in kept)
    if marks:
        text = re.sub(f"[{re.escape(marks)}]", " ", text)
    text = re.sub(r" +", " ", text)
    if remove_spaces:
        text = text.replace(" ", "").replace("\u00a0", "")
    if do_lower:
        text = text.lower()
    return text.strip()


def get_heteronym_spans(
    sentences: Iterable[str], supported_heteronyms: Collection[str]
) -> tuple[list[list[tuple[int, int]]], list[list[str]]]:
    """Locate the heteronyms of each sentence.

    A sentence is split on whitespace and hyphens; a piece is a heteronym when, lower-cased and with its
    punctuation removed, it is one of ``supported_heteronyms`` (so ``"READ."`` matches ``"read"`` but
    ``"reads"`` does not).

    Args:
        sentences: the sentences to search.
        supported_heteronyms: lower-case heteronyms (a list, set or dict keyed by heteronym).

    Returns:
        (spans, heteronyms): per sentence, the ``(start, end)`` character offsets (end exclusive) of each
        heteronym found, and the matching lower-case heteronyms, in sentence order.
    """
    all_spans: list[list[tuple[int, int]]] = []
    all_words: list[list[str]] = []
    for sentence in sentences:
        lowered = sentence.lower()
        spans: list[tuple[int, int]] = []
        words: list[str] = []
        for piece in re.finditer(r"[^\s-]+", lowered):
            word = remove_punctuation(piece.group(), do_lower=True)
            if word and word in supported_heteronyms:
                start = lowered.index(word, piece.start())
                spans.append((start, start + len(word)))
                words.append(word)
        all_spans.append(spans)
        all_words.append(words)
    return all_spans, all_words
