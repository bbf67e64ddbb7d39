"""Reading NeMo's punctuation and capitalization files, with errors naming the file and line.

``text_file``: lower-case words without punctuation, a line per sentence. ``labels_file``: a label per word, two
characters each: the punctuation mark that follows the word (``O`` for none) and its capitalization (``U`` upper
case first letter, ``O`` otherwise), e.g. ``OU OO ,O OO .O``.

Both files are UTF-8 (a leading byte-order mark is ignored) with ``"\\n"`` (or ``"\\r\\n"``) line endings; a
line that is not UTF-8 is an error naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines

__all__ = [
    "PunctuationCapitalizationLines",
    "check_labels_known",
    "parse_punctuation_capitalization_lines",
    "read_punctuation_capitalization_files",
]


@dataclass
class PunctuationCapitalizationLines:
    """The text and labels of a punctuation and capitalization dataset.

    Attributes:
        text_lines: the text lines (without line endings when read from a file).
        punct_labels: each line's punctuation labels (first characters of the label pairs).
        capit_labels: each line's capitalization labels (second characters).
        punct_unique: every punctuation label of the file.
        capit_unique: every capitalization label of the file.
    """

    text_lines: list[str]
    punct_labels: list[tuple[str, ...]]
    capit_labels: list[tuple[str, ...]]
    punct_unique: set[str]
    capit_unique: set[str]


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(
            f"Punctuation and capitalization {what} file {path} was not found. Expected a text file (words "
            "separated by spaces, a sentence a line) and a labels file (one label pair such as OU or ,O per word); "
            "give existing paths."
        )


def parse_punctuation_capitalization_lines(
    text_lines: Sequence[str],
    label_lines: Sequence[str],
    text_file: Path,
    labels_file: Path,
    first_line_number: int = 1,
) -> PunctuationCapitalizationLines:
    """Split and check label lines against their text lines.

    Args:
        text_lines: lines of ``text_file``.
        label_lines: the matching lines of ``labels_file``.
        text_file: the text file, for messages.
        labels_file: the labels file, for messages.
        first_line_number: the file line number of ``text_lines[0]`` (a fragment of a large file starts later).

    Returns:
        The lines and labels.

    Raises:
        ValueError: a label is not two characters, a line's label count differs from its word count, or the line
            counts differ (messages name the file and line).
    """
    punct_lines: list[tuple[str, ...]] = []
    capit_lines: list[tuple[str, ...]] = []
    for index, (text, line) in enumerate(zip(text_lines, label_lines)):
        number = first_line_number + index
        pairs = line.split()
        for position, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(
                    f"{labels_file}:{number}: label {pair!r} (word {position + 1}) is not two characters. Expected "
                    "a punctuation character then a capitalization character, like 'OU' or ',O'; fix the line."
                )
        words = len(text.split())
        if words != len(pairs):
            raise ValueError(
                f"{labels_file}:{number}: {len(pairs)} labels for {words} words in {text_file}:{number}. "
                "Expected one label per word; fix that line."
            )
        punct_lines.append(tuple(pair[0] for pair in pairs))
        capit_lines.append(tuple(pair[1] for pair in pairs))
    if len(label_lines) != len(text_lines):
        longer = labels_file if len(label_lines) > len(text_lines) else text_file
        unmatched = first_line_number + min(len(label_lines), len(text_lines))
        raise ValueError(
            f"{labels_file} has {len(label_lines)} lines but {text_file} has {len(text_lines)} (from line "
            f"{first_line_number}): {longer}:{unmatched} has no matching line. Expected one label line per text "
            "line; fix the files."
        )
    punct_unique = {label for labels in punct_lines for label in labels}
    capit_unique = {label for labels in capit_lines for label in labels}
    return PunctuationCapitalizationLines(
        list(text_lines), punct_lines, capit_lines, punct_unique, capit_unique
    )


def read_punctuation_capitalization_files(
    text_file: Path, labels_file: Path
) -> PunctuationCapitalizationLines:
    """Read and check ``text_file`` and ``labels_file`` (see ``parse_punctuation_capitalization_lines``).

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a bad line or a line that is not UTF-8 (the message names the file and line), or the data is
            empty.
    """
    _require_file(text_file, "text")
    _require_file(labels_file, "labels")
    text_lines = [line for _, line in iter_text_lines(text_file, what="text file")]
    label_lines = [line for _, line in iter_text_lines(labels_file, what="labels file")]
    if not text_lines:
        raise ValueError(
            f"Dataset {text_file} with {labels_file} is empty; give files with at least one line."
        )
    return parse_punctuation_capitalization_lines(text_lines, label_lines, text_file, labels_file)


def check_labels_known(
    label_lines: Sequence[Sequence[str]],
    unique_labels: set[str],
    label_ids: Mapping[str, int],
    labels_file: Path,
    task: str,
    first_line_number: int = 1,
) -> None:
    """Raise if a label of ``labels_file`` is not in ``label_ids``, naming its first line.

    Args:
        label_lines: each line's labels for one task.
        unique_labels: all labels of ``label_lines`` (checked first, so that a clean file costs one set test).
        label_ids: label -> id of the task.
        labels_file: the file, for the message.
        task: ``punctuation`` or ``capitalization``.
        first_line_number: the file line number of ``label_lines[0]``.

    Raises:
        ValueError: a label is unknown.
    """
    unknown = unique_labels - set(label_ids)
    if not unknown:
        return
    for index, labels in enumerate(label_lines):
        for position, label in enumerate(labels):
            if label in unknown:
                raise ValueError(
                    f"{labels_file}:{first_line_number + index}: unknown {task} label {label!r} (word {position + 1}); expected one "
                    f"of {sorted(label_ids)}. Use the training label ids or fix the line."
                )
