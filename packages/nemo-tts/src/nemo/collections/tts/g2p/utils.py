"""Grapheme case handling shared by the G2P models (NeMo 1.23's names)."""

from __future__ import annotations

__all__ = ["GRAPHEME_CASE_UPPER", "GRAPHEME_CASE_LOWER", "GRAPHEME_CASE_MIXED", "set_grapheme_case"]

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
