"""``TextClassificationDataset``: sentences as ``[CLS] tokens [SEP]`` ids with one label each (NeMo 1.23's).

Tokenization runs once, in the constructor, through the fast tokenizer's batch call when the tokenizer has
one. Nothing is cached on disk and nothing is written next to the data (``use_cache`` is accepted and
ignored).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

import numpy as np
import torch
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.collections.nlp.data.data_utils.data_preprocessing import (
    fill_class_weights,
    get_freq_weights,
    get_label_stats,
    get_stats,
)
from nemo.collections.nlp.data.text_classification.text_classification_file import (
    read_text_classification_file,
)
from nemo.core.classes.dataset import Dataset
from nemo.core.neural_types import ChannelType, LabelsType, MaskType, NeuralType
from nemo.utils import logging

__all__ = ["TextClassificationDataset", "calc_class_weights", "encode_words"]


def encode_words(tokenizer: TokenizerSpec, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
    """Token ids of each sentence, its words tokenized one by one and concatenated (NeMo's rule).

    A Hugging Face fast tokenizer (``tokenizer.tokenizer``) encodes the whole list in one batch call: the
    joined sentences when the tokenizer is not space sensitive (WordPiece: the same tokens), else every word.

    Args:
        tokenizer: any ``TokenizerSpec``.
        sentences: each sentence as its words.

    Returns:
        The ids of each sentence, without special tokens.
    """
    backend = getattr(tokenizer, "tokenizer", None)
    if not getattr(backend, "is_fast", False):
        return [
            list(
                tokenizer.tokens_to_ids([token for word in words for token in tokenizer.text_to_tokens(word)])
            )
            for words in sentences
        ]
    options = {"add_special_tokens": False, "return_attention_mask": False, "return_token_type_ids": False}
    if not getattr(tokenizer, "space_sensitive", True):
        return backend([" ".join(words) for words in sentences], **options)["input_ids"] if sentences else []
    words = [word for sentence in sentences for word in sentence]
    word_ids = backend(words, **options)["input_ids"] if words else []
    encoded, start = [], 0
    for sentence in sentences:
        encoded.append([token for ids in word_ids[start : start + len(sentence)] for token in ids])
        start += len(sentence)
    return encoded


class TextClassificationDataset(Dataset):
    """Sentences and their labels, from a ``sentence<TAB>label`` file or from queries.

    Each item is ``(input_ids, segment_ids, input_mask, label)``: ``[CLS] tokens [SEP]`` ids (numpy
    ``int64``), zeros, ones, and the label (``-1`` for queries).

    Args:
        tokenizer: the tokenizer (``cls_token``/``sep_token``, ``pad_id``).
        input_file: a ``sentence<TAB>label`` file (see ``text_classification_file``).
        queries: sentences to classify, used when ``input_file`` is not given.
        max_seq_length: longest sequence, ``[CLS]`` and ``[SEP]`` included; longer ones lose their end. ``-1``
            keeps everything.
        num_samples: read only the first ``num_samples`` lines of ``input_file``; ``-1`` reads all.
        shuffle: shuffle the examples once after reading (Python's ``random``, as NeMo).
        use_cache: ignored: nothing is cached on disk (NeMo pickled features next to the data).
        num_classes: when given, labels outside ``0 .. num_classes - 1`` are errors naming the file and line.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "segment_ids": NeuralType(("B", "T"), ChannelType()),
            "input_mask": NeuralType(("B", "T"), MaskType()),
            "label": NeuralType(("B",), LabelsType()),
        }

    def __init__(
        self,
        tokenizer: TokenizerSpec,
        input_file: str | None = None,
        queries: Sequence[str] | None = None,
        max_seq_length: int = -1,
        num_samples: int = -1,
        shuffle: bool = False,
        use_cache: bool = False,
        num_classes: int | None = None,
    ) -> None:
        if not input_file and not queries:
            raise ValueError(
                "TextClassificationDataset needs input_file (a 'sentence<TAB>label' file) or queries (a list of "
                "sentences); got neither."
            )
        if use_cache:
            logging.info(
                "TextClassificationDataset: use_cache is ignored; features are never written to disk."
            )
        self.input_file = input_file
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.use_cache = use_cache
        self.vocab_size = tokenizer.vocab_size
        self.pad_id = tokenizer.pad_id
        if input_file:
            examples = read_text_classification_file(
                input_file, num_classes=num_classes, num_samples=num_samples
            )
            if shuffle:
                random.shuffle(examples)
            sentences = [example.words for example in examples]
            labels = [example.label for example in examples]
        else:
            sentences = [query.split() for query in queries]
            labels = [-1] * len(sentences)
        self.features = self.get_features(
            sentences, tokenizer, max_seq_length, labels, verbose=bool(input_file)
        )

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, idx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        input_ids, label = self.features[idx]
        return input_ids, np.zeros_like(input_ids), np.ones_like(input_ids), label

    def _collate_fn(
        self, batch: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, int]]
    ) -> tuple[torch.Tensor, ...]:
        """Pad a list of items to the longest.

        Returns:
            ``input_ids`` ``(B, T)`` padded with ``pad_id``, ``segment_ids`` and ``input_mask`` ``(B, T)`` padded
            with 0, and ``labels`` ``(B,)``.
        """
        length = max(len(item[0]) for item in batch)
        input_ids = np.full((len(batch), length), self.pad_id, dtype=np.int64)
        segment_ids = np.zeros((len(batch), length), dtype=np.int64)
        input_mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, (ids, segments, mask, _) in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            segment_ids[row, : len(ids)] = segments
            input_mask[row, : len(ids)] = mask
        labels = np.fromiter((item[3] for item in batch), dtype=np.int64, count=len(batch))
        return tuple(torch.from_numpy(array) for array in (input_ids, segment_ids, input_mask, labels))

    @staticmethod
    def get_features(
        all_sents: Sequence[Sequence[str]],
        tokenizer: TokenizerSpec,
        max_seq_length: int,
        labels: Sequence[int] | None = None,
        verbose: bool = True,
    ) -> list[tuple[np.ndarray, int]]:
        """Encode sentences (lists of words) as ``([CLS] ids [SEP], label)`` pairs.

        A sequence longer than ``max_seq_length`` (when positive) keeps its first ``max_seq_length - 1``
        entries and ``[SEP]``, as in NeMo.
        """
        cls_id, sep_id = tokenizer.tokens_to_ids([tokenizer.cls_token, tokenizer.sep_token])
        features, lengths, too_long = [], [], 0
        for index, ids in enumerate(encode_words(tokenizer, all_sents)):
            sequence = [cls_id, *ids]
            if max_seq_length > 0 and len(sequence) + 1 > max_seq_length:
                sequence = sequence[: max_seq_length - 1]
                too_long += 1
            sequence.append(sep_id)
            lengths.append(len(sequence))
            features.append((np.asarray(sequence, dtype=np.int64), labels[index] if labels else -1))
        if too_long:
            logging.warning(
                f"{too_long} of {len(features)} sentences had more than {max_seq_length} tokens and lost their end."
            )
        if verbose:
            get_stats(lengths)
        return features


def calc_class_weights(file_path: str, num_classes: int) -> list[float]:
    """Class weights for ``class_balancing: weighted_loss``: ``total / (classes present * count)`` per class.

    Args:
        file_path: the training ``sentence<TAB>label`` file.
        num_classes: number of classes; absent classes get weight 1.

    Returns:
        ``num_classes`` weights.

    Raises:
        ValueError: a label is not an integer in ``0 .. num_classes - 1`` (naming the file and line).
    """
    examples = read_text_classification_file(file_path, num_classes=num_classes)
    logging.info(f"Calculating the class weights of {os.fspath(file_path)}")
    _, frequencies, _ = get_label_stats([example.label for example in examples], outfile=None, verbose=False)
    weights = fill_class_weights(get_freq_weights(frequencies), max_id=num_classes - 1)
    logging.info(f"Class weights: {weights}")
    return weights
