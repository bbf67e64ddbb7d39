"""Label statistics, class weights, label files and sequence-length statistics, as NeMo 1.23 computes them."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.utils import logging

__all__ = [
    "fill_class_weights",
    "get_freq_weights",
    "get_label_stats",
    "get_labels_to_labels_id_mapping",
    "get_stats",
]


def get_stats(lengths: Sequence[int] | np.ndarray) -> None:
    """Log the minimum, maximum, mean, median, 75th and 99th percentiles of sequence lengths."""
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        logging.info("No sequences: no length statistics.")
        return
    logging.info(
        f"Sequence lengths: min {lengths.min()} | max {lengths.max()} | mean {lengths.mean():.2f} | "
        f"median {np.median(lengths)} | 75th percentile {np.percentile(lengths, 75):.2f} | "
        f"99th percentile {np.percentile(lengths, 99):.2f}"
    )


def get_label_stats(
    labels: Iterable[int], outfile: str | os.PathLike[str] | None = None, verbose: bool = True
) -> tuple[int, dict[int, int], int]:
    """Count labels, log the three most frequent, and write ``label<TAB><TAB>share<TAB><TAB>count`` lines.

    Args:
        labels: label ids, one per labelled token.
        outfile: where to write the table (most frequent first); ``None`` writes nothing.
        verbose: log the three most frequent labels.

    Returns:
        ``(total, frequencies, max_id)``: the number of labels, each label's count (most frequent first), and the
        largest label id seen.

    Raises:
        ValueError: ``labels`` is empty.
    """
    counts = Counter(labels)
    if not counts:
        raise ValueError("No labels to count: the label file or dataset is empty. Give data with labels.")
    total = sum(counts.values())
    frequencies = dict(counts.most_common())
    if verbose:
        for label, count in list(frequencies.items())[:3]:
            logging.info(f"label: {label}, {count} out of {total} ({count / total * 100.0:.2f}%).")
    if outfile is not None:
        with open(outfile, "w", encoding="utf-8") as out:
            out.writelines(
                f"{label}\t\t{round(count / total, 5)}\t\t{count}\n" for label, count in frequencies.items()
            )
    return total, frequencies, max(counts)


def get_freq_weights(label_freq: Mapping[int, int]) -> dict[int, float]:
    """Class weights inversely proportional to frequency: ``total / (number_of_classes * count)``."""
    total = sum(label_freq.values())
    return {label: total / (len(label_freq) * count) for label, count in label_freq.items()}


def fill_class_weights(weights: Mapping[int, float], max_id: int = -1) -> list[float]:
    """A weight list indexed by label id, ``1.0`` for labels missing from ``weights``.

    Args:
        weights: label id -> weight.
        max_id: the largest label id; ``-1`` takes the largest key of ``weights``.

    Returns:
        ``max_id + 1`` weights.
    """
    if max_id < 0:
        max_id = max(weights, default=0)
    return [float(weights.get(label, 1.0)) for label in range(max_id + 1)]


def get_labels_to_labels_id_mapping(file: str | os.PathLike[str]) -> dict[str, int]:
    """Label -> id from a file of one label a line (blank lines skipped), ids in line order from 0.

    The file is UTF-8 (a leading byte-order mark is ignored) with ``"\\n"`` (or ``"\\r\\n"``) line endings.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a label occurs twice or a line is not UTF-8 (the message names the file and line).
    """
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"Label file {path} was not found; give a file with one label a line.")
    label_ids: dict[str, int] = {}
    for number, line in iter_text_lines(path, what="label file"):
        label = line.strip()
        if not label:
            continue
        if label in label_ids:
            raise ValueError(f"{path}:{number}: label {label!r} appears a second time; list each label once.")
        label_ids[label] = len(label_ids)
    return label_ids
