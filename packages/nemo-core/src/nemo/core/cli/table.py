"""Plain-text tables for the ``nemo`` subcommands' listings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _cell(value: object) -> str:
    return "-" if value is None else " ".join(str(value).split())


def format_table(rows: Iterable[Sequence[object]], headers: Sequence[str] | None = None) -> str:
    """Left-aligned columns separated by two spaces; ``None`` prints as ``-`` and newlines as spaces.

    Args:
        rows: one sequence of cells per line, all of the same length.
        headers: column titles printed first, or ``None`` for none.

    Returns:
        The table, one line per row, without a trailing newline.
    """
    lines = [[_cell(value) for value in row] for row in ([headers] if headers else []) + list(rows)]
    if not lines:
        return ""
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines
    )
