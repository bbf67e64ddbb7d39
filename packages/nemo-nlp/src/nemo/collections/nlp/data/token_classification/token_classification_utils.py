"""Label ids and class weights of token classification data, and NeMo's raw-text to text/labels conversion.

Unlike NeMo 1.23, nothing is written next to the data: the label-id file and label statistics go to the
directory the caller names (``label_info_save_dir``), and class weights are recomputed instead of pickled.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from pathlib import Path

from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.collections.nlp.data.data_utils.data_preprocessing import (
    fill_class_weights,
    get_freq_weights,
    get_label_stats,
)
from nemo.collections.nlp.data.token_classification.label_id_files import create_label_ids, save_label_ids
from nemo.core.neural_types import ChannelType, LabelsType, MaskType, NeuralType
from nemo.utils import logging

__all__ = ["create_text_and_labels", "get_label_ids", "read_label_lines", "remove_punctuation"]

_PUNCTUATION_BUT_APOSTROPHE = re.compile("[" + re.escape(string.punctuation.replace("'", "")) + "]")


def remove_punctuation(word: str) -> str:
    """``word`` without ASCII punctuation, except the apostrophe (``don't``, ``it's``)."""
    return _PUNCTUATION_BUT_APOSTROPHE.sub("", word)


def create_text_and_labels(
    output_dir: str | os.PathLike[str], file_path: str, punct_marks: str = ",.?"
) -> None:
    """Turn punctuated, capitalized text into NeMo's ``text_<name>`` and ``labels_<name>`` files.

    Each word's label is two characters: the punctuation mark that ends it (one of ``punct_marks``, else ``O``)
    and ``U`` if it starts with an upper-case letter (else ``O``). Words are lower-cased and stripped of
    punctuation but the apostrophe; words left empty are dropped.

    Args:
        output_dir: where to write ``text_<basename>`` and ``labels_<basename>`` (created if missing).
        file_path: the text file, one sentence or paragraph a line.
        punct_marks: the punctuation marks kept as labels.

    Raises:
        FileNotFoundError: ``file_path`` does not exist.
        ValueError: a line of ``file_path`` is not UTF-8 (the message names the file and line).
    """
    source = Path(file_path)
    if not source.is_file():
        raise FileNotFoundError(f"Text file {source} was not found; give the path of an existing text file.")
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_file, labels_file = out_dir / f"text_{source.name}", out_dir / f"labels_{source.name}"
    with (
        text_file.open("w", encoding="utf-8") as text_out,
        labels_file.open("w", encoding="utf-8") as labels_out,
    ):
        for _, line in iter_text_lines(source, what="text file"):
            words, labels = [], []
            for raw_word in line.split():
                punct = raw_word[-1] if raw_word[-1] in punct_marks else "O"
                word = remove_punctuation(raw_word)
                if word:
                    labels.append(punct + ("U" if word[0].isupper() else "O"))
                    words.append(word.lower())
            text_out.write(" ".join(words) + "\n")
            labels_out.write(" ".join(labels) + "\n")
    logging.info(f"{text_file} and {labels_file} created from {source}.")


def read_label_lines(label_file: str | os.PathLike[str]) -> list[list[str]]:
    """The whitespace-separated labels of each line of ``label_file``.

    The file is UTF-8 (a leading byte-order mark is ignored) with ``"\\n"`` (or ``"\\r\\n"``) line endings.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line is not UTF-8 (the message names the file and line).
    """
    path = Path(label_file)
    if not path.is_file():
        raise FileNotFoundError(
            f"Label file {path} was not found. Expected a labels.txt with one label per word, a line per "
            "sentence; give an existing path."
        )
    return [line.split() for _, line in iter_text_lines(path, what="labels file")]


def _check_known_labels(label_lines: list[list[str]], label_ids: Mapping[str, int], label_file: Path) -> None:
    known = set(label_ids)
    for index, labels in enumerate(label_lines):
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise ValueError(
                f"{label_file}:{index + 1}: label {unknown[0]!r} is not in the label ids {dict(label_ids)}. "
                "Expected only labels of the training data; add the label to the label ids (retrain) or fix "
                "the line."
            )


def get_label_ids(
    label_file: str | os.PathLike[str],
    is_training: bool = False,
    pad_label: str = "O",
    label_ids_dict: Mapping[str, int] | None = None,
    get_weights: bool = True,
    class_labels_file_artifact: str = "label_ids.csv",
    label_info_save_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, int], str | None, list[float] | None]:
    """Label ids of a token classification label file, checked or created; optionally class weights.

    With ``label_ids_dict`` every label of the file must be in it. Without it (training data only), ids are
    created: ``pad_label`` is 0 and the other labels follow in sorted order.

    Args:
        label_file: ``labels.txt``: one label per word, a line per sentence.
        is_training: whether the file is training data; training writes the label-id file.
        pad_label: the padding (and "outside") label, id 0 in created ids.
        label_ids_dict: label -> id; required unless ``is_training``.
        get_weights: also compute class weights (``total / (classes * count)`` per label id, 1.0 for ids absent
            from the file), for a weighted loss.
        class_labels_file_artifact: the file name of the label-id file (``class_labels.class_labels_file``).
        label_info_save_dir: the directory (run or cache directory) that receives the label-id file (training)
            and ``<labels file stem>_label_stats.tsv``. ``None`` writes nothing.

    Returns:
        ``(label_ids, label_ids_filename, class_weights)``: label -> id; the path of the label-id file
        (``None`` unless written); the weights indexed by label id up to the largest id in the file, or
        ``None`` without ``get_weights``.

    Raises:
        FileNotFoundError: ``label_file`` does not exist.
        ValueError: no ``label_ids_dict`` for non-training data, or a label of the file is not in it.
    """
    path = Path(label_file)
    label_lines = read_label_lines(path)
    logging.info(f"Processing {path}")
    if not is_training and label_ids_dict is None:
        raise ValueError(
            f"No label ids for {path}: non-training data needs `label_ids_dict`, the label ids created from the "
            "training data. Pass it, or call with is_training=True for training data."
        )
    if label_ids_dict:
        label_ids = dict(label_ids_dict)
        _check_known_labels(label_lines, label_ids, path)
    else:
        label_ids = create_label_ids({label for labels in label_lines for label in labels}, pad_label)

    save_dir = None if label_info_save_dir is None else Path(label_info_save_dir).expanduser()
    label_ids_filename = None
    if is_training and save_dir is not None:
        label_ids_filename = str(save_dir / class_labels_file_artifact)
        save_label_ids(label_ids, label_ids_filename)
        logging.info(f"Labels mapping {label_ids} saved to {label_ids_filename}")

    class_weights = None
    all_ids = [label_ids[label] for labels in label_lines for label in labels]
    if get_weights or save_dir is not None:
        stats_file = None if save_dir is None else save_dir / f"{path.stem}_label_stats.tsv"
        if stats_file is not None:
            stats_file.parent.mkdir(parents=True, exist_ok=True)
        logging.info(f"Three most popular labels in {path}:")
        total, frequencies, max_id = get_label_stats(all_ids, stats_file)
        logging.info(f"Total labels: {total}. Label frequencies - {frequencies}")
        if get_weights:
            class_weights = fill_class_weights(get_freq_weights(frequencies), max_id)
            logging.info(f"Class weights: {class_weights}")
    return label_ids, label_ids_filename, class_weights


def token_batch_types(*label_keys: str) -> dict[str, NeuralType]:
    """Neural types of a collated token classification batch, each ``(B, T)``: ``input_ids``, ``segment_ids``,
    the ``input_mask``, ``subtokens_mask`` and ``loss_mask`` masks, then one label tensor per ``label_keys``."""
    types = {
        "input_ids": NeuralType(("B", "T"), ChannelType()),
        "segment_ids": NeuralType(("B", "T"), ChannelType()),
        "input_mask": NeuralType(("B", "T"), MaskType()),
        "subtokens_mask": NeuralType(("B", "T"), MaskType()),
        "loss_mask": NeuralType(("B", "T"), MaskType()),
    }
    return {**types, **{key: NeuralType(("B", "T"), LabelsType()) for key in label_keys}}
