"""Label-id dictionaries and NeMo's label-id files (one label a line, in id order, the pad label first)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines

__all__ = [
    "check_pad_label_id",
    "create_label_ids",
    "load_label_ids",
    "raise_not_equal_labels_error",
    "save_label_ids",
]


def create_label_ids(unique_labels: Iterable[str], pad_label: str) -> dict[str, int]:
    """Label ids with ``pad_label`` as 0 and the other labels in sorted order (NeMo's rule).

    Args:
        unique_labels: the labels found in the data; may contain ``pad_label``. Not modified.
        pad_label: the padding label, also the neutral label ("no punctuation", "lower case", "outside").

    Returns:
        label -> id.
    """
    label_ids = {pad_label: 0}
    for label in sorted(set(unique_labels) - {pad_label}):
        label_ids[label] = len(label_ids)
    return label_ids


def load_label_ids(file_path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a label-id file: line ``i`` (from 0) holds the label with id ``i``.

    The file is UTF-8 (a leading byte-order mark is ignored); lines end at ``"\\n"`` (or ``"\\r\\n"``) and
    each label is its line without surrounding whitespace.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line is empty or not UTF-8, or a label occurs twice; the message names the file and line.
    """
    path = Path(file_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Label-id file {path} was not found. Expected a file with one label a line, in id order "
            "(the pad label first); give an existing path."
        )
    label_ids: dict[str, int] = {}
    for number, line in iter_text_lines(path, what="label-id file"):
        label = line.strip()
        if not label:
            raise ValueError(
                f"{path}:{number}: empty line in a label-id file. Expected one label on every line; "
                "remove the empty line."
            )
        if label in label_ids:
            raise ValueError(
                f"{path}:{number}: label {label!r} already has id {label_ids[label]} "
                f"(line {label_ids[label] + 1}). Expected each label once; remove the duplicate."
            )
        label_ids[label] = number - 1
    return label_ids


def save_label_ids(label_ids: Mapping[str, int], file_path: str | os.PathLike[str]) -> None:
    """Write ``label_ids`` as a label-id file (labels in id order, no trailing newline, as NeMo writes).

    Args:
        label_ids: label -> id, ids ``0 .. n-1``.
        file_path: destination; missing parent folders are created.

    Raises:
        ValueError: the ids are not ``0 .. n-1``, or a label would not read back as itself (it is empty, holds a
            line break, starts or ends with whitespace, or starts with U+FEFF, which reads as a byte-order mark).
    """
    ordered = sorted(label_ids.items(), key=lambda item: item[1])
    for label, label_id in ordered:
        if (
            not isinstance(label, str)
            or not label
            or label != label.strip()
            or "\n" in label
            or label[0] == "\ufeff"
        ):
            raise ValueError(
                f"Label {label!r} (id {label_id}) cannot be written to the label-id file {file_path}: a label must "
                "be a non-empty string without line breaks, surrounding whitespace or a leading U+FEFF. Rename "
                "the label."
            )
    if [label_id for _, label_id in ordered] != list(range(len(ordered))):
        raise ValueError(
            f"Label ids {dict(label_ids)} cannot be written as a label-id file: expected ids 0..{len(ordered) - 1}, "
            f"got {sorted(label_ids.values())}. Renumber the labels from 0 without gaps."
        )
    path = Path(file_path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(label for label, _ in ordered))


def check_pad_label_id(label_ids: Mapping[str, int], pad_label: str, source: str) -> None:
    """Raise unless ``pad_label`` has id 0 in ``label_ids``.

    Args:
        label_ids: label -> id.
        pad_label: the padding label.
        source: where ``label_ids`` came from (a file path or parameter name), for the message.

    Raises:
        ValueError: ``pad_label`` is missing or its id is not 0.
    """
    if label_ids.get(pad_label) != 0:
        found = "missing" if pad_label not in label_ids else f"id {label_ids[pad_label]}"
        raise ValueError(
            f"Pad label {pad_label!r} is {found} in the label ids from {source}; expected id 0. Put the pad label "
            "first (id 0) or set `pad_label` to the label that has id 0."
        )


def raise_not_equal_labels_error(
    first_labels: Mapping[str, int],
    second_labels: Mapping[str, int],
    first_labels_desc: str,
    second_labels_desc: str,
) -> None:
    """Raise a ``ValueError`` describing how two label-id dictionaries differ.

    Call it when ``first_labels != second_labels``, for example label ids from a ``.nemo`` checkpoint against
    those of a tarred dataset or a config.

    Args:
        first_labels: label -> id from the first source.
        second_labels: label -> id from the second source.
        first_labels_desc: what the first source is (FIRST LABELS in the message).
        second_labels_desc: what the second source is (SECOND LABELS in the message).

    Raises:
        ValueError: always; the message lists up to three labels missing on each side and with different ids.
    """
    missing_in_first = {k: second_labels[k] for k in second_labels if k not in first_labels}
    missing_in_second = {k: first_labels[k] for k in first_labels if k not in second_labels}
    different = {
        k: {"FIRST LABELS": first_labels[k], "SECOND LABELS": second_labels[k]}
        for k in first_labels
        if k in second_labels and first_labels[k] != second_labels[k]
    }
    parts = [f"{first_labels_desc} (FIRST LABELS) are not equal to {second_labels_desc} (SECOND LABELS)."]
    if missing_in_first:
        parts.append(
            f"{len(missing_in_first)} SECOND LABELS are missing in the FIRST LABELS, for example "
            f"{dict(list(missing_in_first.items())[:3])}."
        )
    if missing_in_second:
        parts.append(
            f"{len(missing_in_second)} FIRST LABELS are missing in the SECOND LABELS, for example "
            f"{dict(list(missing_in_second.items())[:3])}."
        )
    if different:
        parts.append(
            f"{len(different)} labels have different ids, for example {dict(list(different.items())[:3])}."
        )
    parts.append("Use the same label ids in both places.")
    raise ValueError(" ".join(parts))
