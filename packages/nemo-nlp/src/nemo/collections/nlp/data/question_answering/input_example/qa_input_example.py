"""``QAExample``: one question with its context, as read from a SQuAD-format file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["QAExample"]


@dataclass
class QAExample:
    """One question about one context.

    Attributes:
        qas_id: the question's unique id.
        question_text: the question.
        context_text: the passage the answer comes from.
        context_id: id shared by every question on the same passage.
        answer_text: the first gold answer (``None`` when unanswerable or not loaded).
        start_position_character: 0-based character offset of ``answer_text`` in ``context_text``.
        title: the title of the article the passage belongs to.
        answers: every gold answer (``{"text": ..., "answer_start": ...}``), filled in evaluation mode.
        is_impossible: the question has no answer in the passage.
    """

    qas_id: str
    question_text: str
    context_text: str
    context_id: int
    answer_text: str | None
    start_position_character: int | None
    title: str
    answers: list[dict[str, Any]] | None = None
    is_impossible: bool = False
