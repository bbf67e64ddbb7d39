"""Reading NeMo's text classification files: one ``sentence<TAB>label`` example a line.

The label is the line's last whitespace-separated field, an integer class id; the words before it are the
sentence (as NeMo splits them). A first line whose last field is not an integer is a header and is skipped;
blank lines are skipped. Any other line without an integer label, or with a label outside
``0 .. num_classes - 1``, is an error naming the file and line.

The file is UTF-8 (a leading byte-order mark is ignored) with ``"\\n"`` (or ``"\\r\\n"``) line endings; a
line that is not UTF-8 is an error naming it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from typing import NamedTuple

from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.utils import logging

__all__ = ["TextClassificationExample", "read_text_classification_file"]

_FORMAT = "Each line must be 'sentence<TAB>label', the label an integer class id"


class TextClassificationExample(NamedTuple):
    """One line of the file: its words, its label and its 1-based line number."""

    words: list[str]
    label: int
    line: int


def read_text_classification_file(
    path: str | os.PathLike[str], num_classes: int | None = None, num_samples: int = -1
) -> list[TextClassificationExample]:
    """The examples of a text classification file.

    Args:
        path: the ``.tsv`` file.
        num_classes: when given, labels must lie in ``0 .. num_classes - 1``.
        num_samples: read only the first ``num_samples`` lines (the header counts, as in NeMo); ``-1`` reads all.

    Returns:
        The examples, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line is not UTF-8, has no integer label, no text, or a label out of range (the message
            names the file and line).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Text classification file {path!r} does not exist. {_FORMAT}; set the dataset's file_path to such a file."
        )
    with contextlib.closing(iter_text_lines(path, what="text classification file")) as numbered:
        lines = [line for _, line in itertools.islice(numbered, num_samples if num_samples > 0 else None)]
    if num_samples > 0:
        logging.warning(
            f"num_samples is {num_samples}: only the first {len(lines)} lines of {path} are read."
        )
    examples = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            label = int(fields[-1])
        except ValueError:
            if number == 1:
                logging.info(
                    f"{path}:1 has no integer label ({fields[-1]!r}); it is read as a header and skipped."
                )
                continue
            raise ValueError(
                f"{path}:{number}: the label {fields[-1]!r} is not an integer. {_FORMAT} "
                f"(0 .. num_classes - 1). Fix or remove the line."
            ) from None
        if len(fields) == 1:
            raise ValueError(
                f"{path}:{number}: the line holds only the label {label} and no text. {_FORMAT}."
            )
        if label < 0 or (num_classes is not None and label >= num_classes):
            expected = f"0 .. {num_classes - 1}" if num_classes is not None else "0 or more"
            raise ValueError(
                f"{path}:{number}: unknown label {label}; expected a class id in {expected} "
                "(dataset.num_classes). Fix the label, or raise dataset.num_classes."
            )
        examples.append(TextClassificationExample(fields[:-1], label, number))
    logging.info(f"Read {len(examples)} examples from {path}.")
    return examples
