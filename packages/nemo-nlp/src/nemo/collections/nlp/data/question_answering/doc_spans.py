"""Sliding-window document spans for extractive QA, and the helpers that pick and filter them.

A long context is cut into overlapping windows (``DocSpan(start, length)`` in sub-word tokens); each window
becomes one model input. These helpers are exposed as static methods of ``QADataset`` and ``SquadDataset``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from nemo.collections.nlp.data.data_utils.answer_text import is_whitespace

__all__ = [
    "DocSpan",
    "DOCSPAN_MODES",
    "check_is_max_context",
    "get_average_dist_to_tok_start_and_end",
    "get_best_span_index",
    "get_docspans",
    "improve_answer_span",
    "keep_relevant_docspans",
    "split_into_words",
]

DocSpan = namedtuple("DocSpan", ["start", "length"])
DOCSPAN_MODES = ("all", "only_positive", "limited_negative")
_LIMITED_NEGATIVE_KEEP = 10


def split_into_words(context_text: str) -> tuple[list[str], list[int]]:
    """Split on QA whitespace and map each character to the index of its word.

    Returns:
        ``(words, char_to_word_offset)``; ``char_to_word_offset`` has ``len(context_text)`` entries, and a
        whitespace character maps to the word before it (``-1`` before the first word).
    """
    words: list[str] = []
    char_to_word: list[int] = []
    in_word = False
    for ch in context_text:
        if is_whitespace(ch):
            in_word = False
        elif in_word:
            words[-1] += ch
        else:
            words.append(ch)
            in_word = True
        char_to_word.append(len(words) - 1)
    return words, char_to_word


def get_docspans(all_doc_tokens: Sequence[Any], max_tokens_for_doc: int, doc_stride: int) -> list[DocSpan]:
    """Windows of at most ``max_tokens_for_doc`` tokens, each starting ``doc_stride`` after the previous one.

    The last window ends at the last token; windows never start past it.
    """
    if max_tokens_for_doc < 1 or doc_stride < 1:
        raise ValueError(
            f"max_tokens_for_doc ({max_tokens_for_doc}) and doc_stride ({doc_stride}) must both be positive: "
            "lower max_query_length or raise max_seq_length."
        )
    total = len(all_doc_tokens)
    spans: list[DocSpan] = []
    start = 0
    while start < total:
        length = min(total - start, max_tokens_for_doc)
        spans.append(DocSpan(start=start, length=length))
        if start + length == total:
            break
        start += min(length, doc_stride)
    return spans


@lru_cache(maxsize=10000)
def get_best_span_index(doc_spans: tuple, position: int) -> int | None:
    """Index of the span that gives token ``position`` the most context, or ``None`` if no span holds it.

    A span's score is ``min(left context, right context) + 0.01 * length``; the first best span wins ties.
    ``doc_spans`` must be hashable (a tuple) because results are cached.
    """
    best_index, best_score = None, None
    for index, span in enumerate(doc_spans):
        last = span.start + span.length - 1
        if not span.start <= position <= last:
            continue
        score = min(position - span.start, last - position) + 0.01 * span.length
        if best_score is None or score > best_score:
            best_index, best_score = index, score
    return best_index


def check_is_max_context(doc_spans: tuple, cur_span_index: int, position: int) -> bool:
    """Whether span ``cur_span_index`` is the one giving token ``position`` the most context."""
    return get_best_span_index(doc_spans, position) == cur_span_index


def get_average_dist_to_tok_start_and_end(
    doc_span: DocSpan, tok_start_position: int, tok_end_position: int
) -> int:
    """Mean (floored) distance of the span's first and last token to the answer's centre token."""
    centre = (tok_start_position + tok_end_position) // 2
    first = doc_span.start
    last = doc_span.start + doc_span.length - 1
    return (abs(first - centre) + abs(last - centre)) // 2


def _has_answer(tok_start_position: int | None, tok_end_position: int | None) -> bool:
    return tok_start_position not in (-1, None) and tok_end_position not in (-1, None)


def keep_relevant_docspans(
    doc_spans: list[DocSpan], tok_start_position: int | None, tok_end_position: int | None, mode: str
) -> list[DocSpan]:
    """Filter the windows of one example.

    Args:
        doc_spans: the example's windows.
        tok_start_position, tok_end_position: the answer's first and last token (``-1``/``None``: no answer).
        mode: ``"all"`` keeps every window; ``"only_positive"`` keeps the windows holding the whole answer
            (none when there is no answer); ``"limited_negative"`` keeps the 10 windows nearest the answer
            (the first 10 when there is no answer). ``"limited_negative"`` sorts ``doc_spans`` in place.
    """
    if mode == "all":
        return doc_spans
    if mode == "only_positive":
        if not _has_answer(tok_start_position, tok_end_position):
            return []
        return [
            span
            for span in doc_spans
            if span.start <= tok_start_position and tok_end_position <= span.start + span.length - 1
        ]
    if mode == "limited_negative":
        if _has_answer(tok_start_position, tok_end_position):
            doc_spans.sort(
                key=lambda span: get_average_dist_to_tok_start_and_end(
                    span, tok_start_position, tok_end_position
                )
            )
        return doc_spans[:_LIMITED_NEGATIVE_KEEP]
    raise ValueError(f"Unknown doc span mode {mode!r}: use one of {', '.join(DOCSPAN_MODES)}.")


def improve_answer_span(
    doc_tokens: Sequence[str], input_start: int, input_end: int, tokenizer: Any, orig_answer_text: str
) -> tuple[int, int]:
    """Shrink ``[input_start, input_end]`` to the first, longest sub-span whose tokens spell the tokenized answer.

    ``tokenizer`` needs ``text_to_tokens(text) -> list[str]``; the span is returned unchanged when nothing matches.
    """
    target = " ".join(tokenizer.text_to_tokens(orig_answer_text))
    for start in range(input_start, input_end + 1):
        for end in range(input_end, start - 1, -1):
            if " ".join(doc_tokens[start : end + 1]) == target:
                return start, end
    return input_start, input_end
