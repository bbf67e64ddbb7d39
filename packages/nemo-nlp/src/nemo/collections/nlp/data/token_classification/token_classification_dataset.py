"""Token classification datasets (NER and the like): ``text.txt`` with ``labels.txt``, one label per word.

Batch items follow NeMo 1.23: ``input_ids``, ``segment_ids``, ``input_mask``, ``subtokens_mask``, ``loss_mask``
and ``labels``, every sequence padded to one length, the dataset's longest ``[CLS] ... [SEP]`` sequence capped at
``max_seq_length``. Features are computed in memory with one batch call of the fast tokenizer; no cache file is
written (``use_cache`` is accepted for NeMo's configs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.collections.nlp.data.data_utils.data_preprocessing import get_stats
from nemo.collections.nlp.data.token_classification.label_id_files import create_label_ids
from nemo.collections.nlp.data.token_classification.token_classification_utils import (
    read_label_lines,
    token_batch_types,
)
from nemo.collections.nlp.data.token_classification.word_tokenization import tokenize_words
from nemo.core.classes import Dataset
from nemo.core.neural_types import ChannelType, MaskType, NeuralType
from nemo.utils import logging

__all__ = ["BertTokenClassificationDataset", "BertTokenClassificationInferDataset", "get_features"]

_FEATURES = ("input_ids", "segment_ids", "input_mask", "subtokens_mask", "loss_mask", "labels")


def _effective_length(lengths: np.ndarray, max_seq_length: int) -> int:
    if max_seq_length == 1:
        raise ValueError(
            "max_seq_length=1 leaves no room for [CLS] and [SEP]. Expected -1 (the longest sequence of the data) "
            "or at least 2."
        )
    longest = int(lengths.max()) if lengths.size else 2
    return min(max_seq_length, longest) if max_seq_length > 0 else longest


def get_features(
    queries: Sequence[str],
    tokenizer,
    max_seq_length: int = -1,
    label_ids: Mapping[str, int] | None = None,
    pad_label: str = "O",
    raw_labels: Sequence[Sequence[str]] | None = None,
    ignore_extra_tokens: bool = False,
    ignore_start_end: bool = False,
) -> dict[str, np.ndarray]:
    """Tokenize queries word by word and build NeMo's token classification features.

    Each query becomes ``[CLS] tokens [SEP]``. A word's label goes to every token of the word. Sequences longer
    than the padded length keep ``[CLS]`` and their LAST ``length - 1`` tokens (NeMo's rule); shorter ones are
    padded on the right with id 0, masks 0 and the pad label.

    Args:
        queries: text lines; words are separated by whitespace.
        tokenizer: a NeMo tokenizer with ``cls_id``, ``sep_id``, ``unk_id`` (``AutoTokenizer``).
        max_seq_length: cap on the padded length, ``[CLS]`` and ``[SEP]`` included; ``-1`` (or any value below 1)
            uses the longest sequence of ``queries``.
        label_ids: label -> id; needed with ``raw_labels``.
        pad_label: the label of ``[CLS]``, ``[SEP]`` and padding.
        raw_labels: one label per word of each query, or ``None`` (inference).
        ignore_extra_tokens: loss only on the first token of each word.
        ignore_start_end: no loss on ``[CLS]`` and ``[SEP]``.

    Returns:
        int64 arrays of shape ``(N, T)``: ``input_ids``, ``segment_ids`` (zeros), ``input_mask``,
        ``subtokens_mask`` (1 on the first token of each word), ``loss_mask``, and ``labels`` when ``raw_labels``
        is given.
    """
    word_lists = [query.split() for query in queries]
    tokens = tokenize_words(word_lists, tokenizer)
    lengths = np.array([t.ids.size + 2 for t in tokens], dtype=np.int64)
    length = _effective_length(lengths, max_seq_length)
    logging.info(f"Setting max sequence length to {length}")
    get_stats(lengths)
    with_labels = raw_labels is not None
    pad_id = label_ids[pad_label] if with_labels else 0
    edge_loss = int(not ignore_start_end)
    out = {name: np.zeros((len(queries), length), dtype=np.int64) for name in _FEATURES[:5]}
    if with_labels:
        out["labels"] = np.full((len(queries), length), pad_id, dtype=np.int64)
    too_long = 0
    for i, t in enumerate(tokens):
        first = t.first_token_mask
        rows = {
            "input_ids": np.concatenate([[tokenizer.cls_id], t.ids, [tokenizer.sep_id]]),
            "input_mask": np.ones(t.ids.size + 2, dtype=np.int64),
            "subtokens_mask": np.concatenate([[0], first, [0]]),
            "loss_mask": np.concatenate([[edge_loss], first | (not ignore_extra_tokens), [edge_loss]]),
        }
        if with_labels:
            word_labels = np.array([label_ids[label] for label in raw_labels[i]], dtype=np.int64)
            rows["labels"] = np.concatenate([[pad_id], word_labels[t.word_index], [pad_id]])
        if lengths[i] > length:
            too_long += 1
            rows = {
                name: np.concatenate([row[:1], row[row.size - length + 1 :]]) for name, row in rows.items()
            }
        for name, row in rows.items():
            out[name][i, : row.size] = row
    logging.info(
        f"{too_long} of {len(queries)} sequences are longer than {length} tokens and lose their start."
    )
    return out


def _read_text_and_labels(
    text_file: Path, label_file: Path, num_samples: int
) -> tuple[list[str], list[list[str]]]:
    for path, what in ((text_file, "text"), (label_file, "label")):
        if not path.is_file():
            raise FileNotFoundError(
                f"Token classification {what} file {path} was not found. Expected text.txt (words separated by "
                "spaces, a sentence a line) and labels.txt (one label per word); give existing paths."
            )
    text_lines = [line for _, line in iter_text_lines(text_file, what="text file")]
    label_lines = read_label_lines(label_file)
    if len(label_lines) != len(text_lines):
        longer = label_file if len(label_lines) > len(text_lines) else text_file
        raise ValueError(
            f"{label_file} has {len(label_lines)} lines but {text_file} has {len(text_lines)}: "
            f"{longer}:{min(len(label_lines), len(text_lines)) + 1} has no matching line. Expected one label line "
            "per text line; fix the files."
        )
    for index, (text, labels) in enumerate(zip(text_lines, label_lines)):
        words = len(text.split())
        if words != len(labels):
            raise ValueError(
                f"{label_file}:{index + 1}: {len(labels)} labels for {words} words in {text_file}:{index + 1}. "
                "Expected one label per word; fix that line."
            )
    if num_samples > 0:
        text_lines, label_lines = text_lines[:num_samples], label_lines[:num_samples]
    return text_lines, label_lines


def _check_labels_known(label_lines: list[list[str]], label_ids: Mapping[str, int], label_file: Path) -> None:
    for index, labels in enumerate(label_lines):
        for label in labels:
            if label not in label_ids:
                raise ValueError(
                    f"{label_file}:{index + 1}: unknown label {label!r}; expected one of {sorted(label_ids)}. Add "
                    "the label to `label_ids` (the training labels) or fix the line."
                )


class BertTokenClassificationDataset(Dataset):
    """Token classification training and evaluation data with a pretrained (BERT-like) model.

    Args:
        text_file: ``.txt`` file, a sentence a line, words separated by spaces.
        label_file: the labels of ``text_file``, one per word, separated by spaces.
        max_seq_length: cap on the padded length (``[CLS]`` and ``[SEP]`` included); ``-1``: the longest sequence.
        tokenizer: a NeMo tokenizer (``AutoTokenizer``).
        num_samples: how many lines to use; ``-1`` uses all.
        pad_label: the label of special tokens and padding (id 0 in created ids).
        label_ids: label -> id; use the training data's ids for evaluation data. ``None`` creates them from
            ``label_file`` (``pad_label`` first, then sorted).
        ignore_extra_tokens: loss only on the first token of each word.
        ignore_start_end: no loss on ``[CLS]`` and ``[SEP]``.
        use_cache: accepted for NeMo's configs; features are computed in memory and never written.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: ``text_file`` is not a ``.txt``, ``num_samples`` is 0, the files' line counts differ, a
            line's label count differs from its word count, or a label is not in ``label_ids`` (messages name
            the file and line).
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Neural types of a collated batch, each ``(B, T)``."""
        return token_batch_types("labels")

    def __init__(
        self,
        text_file: str | os.PathLike[str],
        label_file: str | os.PathLike[str],
        max_seq_length: int,
        tokenizer,
        num_samples: int = -1,
        pad_label: str = "O",
        label_ids: Mapping[str, int] | None = None,
        ignore_extra_tokens: bool = False,
        ignore_start_end: bool = False,
        use_cache: bool = True,
    ) -> None:
        text_path, label_path = Path(text_file).expanduser(), Path(label_file).expanduser()
        if text_path.suffix != ".txt":
            raise ValueError(f"Text file {text_path} should have the extension .txt; rename it.")
        if num_samples == 0:
            raise ValueError(
                "num_samples=0 selects no data; expected a positive number, or -1 for all lines."
            )
        text_lines, label_lines = _read_text_and_labels(text_path, label_path, num_samples)
        if label_ids is None:
            label_ids = create_label_ids({label for labels in label_lines for label in labels}, pad_label)
        _check_labels_known(label_lines, label_ids, label_path)
        if pad_label not in label_ids:
            raise ValueError(f"Pad label {pad_label!r} is not in label_ids {dict(label_ids)}; add it (id 0).")
        self.label_ids = dict(label_ids)
        features = get_features(
            text_lines,
            tokenizer,
            max_seq_length=max_seq_length,
            label_ids=self.label_ids,
            pad_label=pad_label,
            raw_labels=label_lines,
            ignore_extra_tokens=ignore_extra_tokens,
            ignore_start_end=ignore_start_end,
        )
        self.all_input_ids = features["input_ids"]
        self.all_segment_ids = features["segment_ids"]
        self.all_input_mask = features["input_mask"]
        self.all_subtokens_mask = features["subtokens_mask"]
        self.all_loss_mask = features["loss_mask"]
        self.all_labels = features["labels"]

    def __len__(self) -> int:
        return len(self.all_input_ids)

    def __getitem__(self, idx: int) -> tuple[np.ndarray, ...]:
        """One sequence: ``(input_ids, segment_ids, input_mask, subtokens_mask, loss_mask, labels)``, each
        ``(T,)`` int64."""
        return (
            self.all_input_ids[idx],
            self.all_segment_ids[idx],
            self.all_input_mask[idx],
            self.all_subtokens_mask[idx],
            self.all_loss_mask[idx],
            self.all_labels[idx],
        )


class BertTokenClassificationInferDataset(Dataset):
    """Token classification inference data: queries without labels.

    Args:
        queries: text sequences, words separated by whitespace.
        max_seq_length: cap on the padded length; ``-1``: the longest sequence of ``queries``.
        tokenizer: a NeMo tokenizer (``AutoTokenizer``).
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Neural types of a collated batch, each ``(B, T)``."""
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "segment_ids": NeuralType(("B", "T"), ChannelType()),
            "input_mask": NeuralType(("B", "T"), MaskType()),
            "subtokens_mask": NeuralType(("B", "T"), MaskType()),
        }

    def __init__(self, queries: Sequence[str], max_seq_length: int, tokenizer) -> None:
        features = get_features(queries, tokenizer, max_seq_length=max_seq_length)
        self.all_input_ids = features["input_ids"]
        self.all_segment_ids = features["segment_ids"]
        self.all_input_mask = features["input_mask"]
        self.all_subtokens_mask = features["subtokens_mask"]

    def __len__(self) -> int:
        return len(self.all_input_ids)

    def __getitem__(self, idx: int) -> tuple[np.ndarray, ...]:
        """One query: ``(input_ids, segment_ids, input_mask, subtokens_mask)``, each ``(T,)`` int64."""
        return (
            self.all_input_ids[idx],
            self.all_segment_ids[idx],
            self.all_input_mask[idx],
            self.all_subtokens_mask[idx],
        )
